"""Lines of an export gathered from texts by one Arrow ``take`` a batch, never row by row.

A line of the DHIS2 and ADX exports is a few pieces: texts keyed by codes (each distinct text
formatted once: the element, the place, the dimensions...) and a number. All fixed texts sit in
one Arrow string array, with a table of the whole numbers 0-65,535 and one of the decimal parts
(".5", ".25"..., each followed by the line's ``suffix``); a batch of lines is the matrix of the
positions of its pieces in that array, and one ``take`` over the flattened matrix returns the
batch's bytes back to back, ready to write. No join, no cast for the usual numbers: a
gather is the cheapest Arrow kernel per value.

Numbers are written as ``str(number(v, digits))`` would write them: a whole number from the
table (cast by Arrow where past it); a positive fraction as its whole part and its decimal part
(``k mod 10**digits`` of ``k = rint(v * 10**digits)``, trailing zeros dropped): that is what
Python writes for ``round(v, digits)``, the nearest double to ``k / 10**digits``, whose shortest
text it is. Negative fractions are cast by Arrow; Python writes the few values that Arrow or the
tables could write otherwise (halfway roundings, huge, infinite).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import BinaryIO, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.indicators.exportcells import number, write_array

_STRING: Final = pa.string()
#: whole numbers below this are taken from a table, not cast
SMALL: Final = 1 << 16


@functools.cache
def _number_tables(digits: int, suffix: str) -> tuple[pa.Array, pa.Array]:
    """The texts of the whole numbers below ``SMALL``; the decimal parts, each with ``suffix``."""
    decimals = [
        ("." + f"{k:0{digits}d}".rstrip("0") if k else "") + suffix for k in range(10**digits)
    ]
    whole = pc.cast(pa.array(np.arange(SMALL, dtype=np.int64)), _STRING)
    return whole, pa.array(decimals, _STRING)


class LineTexts:
    """The fixed texts that lines are gathered from: the keyed texts of each piece, then the
    numbers' tables (whole numbers; decimal parts, each with ``suffix``; ``null_text``, for NaN;
    nothing)."""

    def __init__(
        self, keyed: Sequence[pa.Array], digits: int, null_text: str, suffix: str = ""
    ) -> None:
        self.digits = digits
        self.scale = 10**digits
        self.null_text = null_text
        self.suffix = suffix
        tables = [
            *keyed,
            *_number_tables(digits, suffix),
            pa.array([null_text, ""], _STRING),  # (the suffix follows)
        ]
        sizes = np.array([len(t) for t in tables], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.bases = starts[: len(keyed)]
        self.whole, self.decimal, self.null = (int(s) for s in starts[len(keyed) :])
        self.empty = self.null + 1
        self.fixed = pa.concat_arrays([t.cast(_STRING) for t in tables])

    def write(
        self,
        keys: Sequence[np.ndarray],
        at: int,
        x: np.ndarray,
        stream: BinaryIO,
        *,
        blank: np.ndarray | None = None,
        drop_tail: int = 0,
    ) -> None:
        """Write a batch of lines: the keyed texts (``keys[j]``: codes into ``keyed[j]``) with
        the number of ``x`` between the first ``at`` of them and the rest (nothing where
        ``blank``, not even the suffix)."""
        n = len(x)
        pieces = np.empty((n, len(keys) + 2), dtype=np.int32)
        for j, key in enumerate(keys):
            pieces[:, j if j < at else j + 2] = key + self.bases[j]
        extra = self._numbers(x, blank, pieces[:, at], pieces[:, at + 1])
        source = self.fixed if extra is None else pa.concat_arrays([self.fixed, extra])
        lines = source.take(pa.array(pieces.reshape(-1)))
        write_array(lines, stream, drop_tail=drop_tail)

    def _numbers(
        self, x: np.ndarray, blank: np.ndarray | None, first: np.ndarray, second: np.ndarray
    ) -> pa.Array | None:
        """Fill the two pieces of each number (``first``: the whole part or the number's own
        text; ``second``: the decimal part and the suffix); the texts made for this batch, at
        ``len(fixed)`` on, or None."""
        scale = self.scale
        with np.errstate(invalid="ignore", over="ignore"):
            nan = np.isnan(x)
            finite = np.isfinite(x)
            whole = finite & (np.floor(x) == x)
            scaled = x * float(scale)
            k = np.rint(scaled)  # as np.round(x, digits), half to even
            frac = scaled - np.floor(scaled)
            special = ~finite & ~nan | (np.abs(x) >= 1e9)
            fraction = ~whole & finite & ~special
            ki = np.where(fraction, k, 0).astype(np.int64)
            low = ki % scale
            # halfway cases (Python rounds the exact decimal) and values that round to a whole
            # number or zero ("9.0", "-0.0")
            special |= fraction & ((np.abs(frac - 0.5) < 1e-6) | (low == 0))
        fraction &= ~special
        positive = fraction & (x > 0)
        negative = fraction & (x < 0)
        integral = whole & ~special | positive
        value = np.where(positive, ki // scale, np.where(integral, x, 0).astype(np.int64))
        small = integral & (value >= 0) & (value < SMALL)
        first[:] = np.where(small, value + self.whole, self.null)  # NaN: null_text
        second[:] = self.decimal + np.where(positive, low, 0)  # the suffix alone: decimal 0
        texts: list[pa.Array] = []
        made = len(self.fixed)

        def own(where: np.ndarray, arr: pa.Array) -> None:
            nonlocal made
            first[where] = made + np.arange(len(where))
            made += len(where)
            texts.append(arr)

        big = np.flatnonzero(integral & ~small)
        if len(big):
            own(big, pc.cast(pa.array(value[big]), _STRING))
        below = np.flatnonzero(negative)
        if len(below):
            own(below, pc.cast(pa.array(k[below] / scale), _STRING))
        odd = np.flatnonzero(special)
        if len(odd):
            own(odd, pa.array([str(number(float(x[i]), self.digits)) for i in odd], _STRING))
        if blank is not None:
            first[blank] = self.empty
            second[blank] = self.empty
        return pa.concat_arrays(texts) if texts else None


__all__ = ("SMALL", "LineTexts")
