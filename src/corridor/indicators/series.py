"""The series of a data element in one output: one count per element and row, or a count apart.

An indicator takes its numerator and denominator only where a place reports both (the pairs of
``docs/indicators.md``), so one data element can be counted differently by two indicators of the
same output: viral-load tests over the places that also report viral suppression, and over those
that report people on ART two quarters earlier; HIV tests of every age band, and of the bands
offered testing. Such a *series* of the element is known by the element, its role and the
element it is paired with. The two counts of one row then differ by a count of their own (the
tests of children, the tests at places without an ART report) that is in no row of the output,
and showing both would show it.

Suppression therefore treats the series with the most counts in the output (on a tie, the one
whose pair of elements has the smaller code) as the element's counts: its *main series*. A count
of another series is the same cell as the main count of its row where it cannot differ from it,
that is where every count of the series at or below it (the same coordinates, or finer on each
axis of its block) is there and equal to the main one, and both are there or both absent.
Elsewhere it is a count *apart*: withheld, and not a cell of the relations (a sum of withheld
main counts, as on any line whose margin is shown).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from corridor.indicators.codes import combine, dense


class Rows(Protocol):
    """Where the rows of the output lie (:class:`corridor.indicators.suppresscells._Placer`)."""

    def rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def over_periods(self, elem: np.ndarray) -> np.ndarray: ...


def one_series(
    sel: np.ndarray,
    elem_c: np.ndarray,
    cid: np.ndarray,
    values: np.ndarray,
    where: Rows,
) -> tuple[np.ndarray, Later | None]:
    """Per position of ``sel`` (``2 * row + role``, each holding a count): whether it stays a
    cell (a count of its element's main series, or one that cannot differ from it) rather than
    a count apart; and what to withhold once the cells are (:class:`Later`). ``elem_c``: the
    element code of every position; ``cid``: per position of ``sel``, the id 0.. of its
    element and row coordinates; ``where``: where the rows lie (asked only when an element has
    two series)."""
    m = len(sel)
    keep = np.ones(m, bool)
    if m == 0:
        return keep, None
    elem = elem_c[sel]
    # a series: the element, the element it is paired with, and its role (the pair of a row
    # once per row, then per position)
    n = len(elem_c) // 2
    pair = dense(combine([elem_c[0::2], elem_c[1::2]], n))
    sid = pair[sel >> 1]  # (some ids may have no count: they are left out)
    sid <<= 1
    sid |= sel & 1
    counts = np.bincount(sid)
    elem_of = np.full(len(counts), -1, np.int64)
    elem_of[sid] = elem
    # per element, the series with the most counts (on a tie, the smallest code)
    order = np.lexsort((np.arange(len(counts)), -counts, elem_of))
    lead = np.ones(len(order), bool)
    lead[1:] = elem_of[order[1:]] != elem_of[order[:-1]]
    main_of = dict(zip(elem_of[order[lead]].tolist(), order[lead].tolist(), strict=True))
    others = [s for s in np.flatnonzero(counts).tolist() if main_of[int(elem_of[s])] != s]
    if not others:
        return keep, None
    ncid = int(cid.max()) + 1
    main_value = np.full(ncid, np.nan)  # per (element, row): the main count there (or NaN)
    slow: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    for t in sorted({main_of[int(elem_of[s])] for s in others}):
        ref = np.flatnonzero(sid == t)
        main_value[cid[ref]] = values[sel[ref]]
        for s in (s for s in others if main_of[int(elem_of[s])] == t):
            mine = np.flatnonzero(sid == s)
            differs = ~(main_value[cid[mine]] == values[sel[mine]])
            # (a count at every main count, each equal to it: the same counts)
            if differs.any() or not _marks(ncid, cid[mine])[cid[ref]].all():
                slow.append((s, ref, mine, differs))
    if not slow:
        return keep, None
    # where the rows of those series' counts lie (numbered 0.. among them)
    marked = np.zeros(len(elem_c) // 2, bool)
    for _s, ref, mine, _d in slow:
        marked[sel[ref] // 2] = True
        marked[sel[mine] // 2] = True
    need = np.flatnonzero(marked)
    coords, fixed, period = where.rows(need)
    try:
        radix_of = _Radix(fixed, period, coords)
    except OverflowError:  # (coordinates too many to number: every such count apart)
        for _s, _ref, mine, _d in slow:
            keep[mine] = False
        return keep, None
    later = Later(sel, cid, ncid, need, radix_of)
    radix, rows = later.radix, later.rows
    for s, ref, mine, differs in slow:
        # main counts that the series lacks, in the blocks where it has counts
        adds = bool(where.over_periods(elem_of[s : s + 1])[0])
        block_ref = radix.block(rows(ref), adds)
        has = np.zeros(radix.blocks, bool)
        has[radix.block(rows(mine), adds)] = True
        missing = ~_marks(ncid, cid[mine])[cid[ref]] & has[block_ref]
        # a zero it lacks changes none of its sums: only if that zero is withheld would the
        # series' sums above it tell what the output withholds (Later)
        zero = missing & (values[sel[ref]] == 0)
        if zero.any():
            later.add(ref[zero], ref, mine[~differs], adds)
        seeds = np.concatenate([mine[differs], ref[missing & ~zero]])
        if len(seeds) == 0:
            continue
        seed_codes = radix.codes(radix.block(rows(seeds), adds), rows(seeds))
        under = radix.reach(seed_codes, radix.codes(block_ref, rows(ref)))
        keep[mine] = ~(differs | _marks(ncid, cid[ref[under]])[cid[mine]])
    return keep, later if later.todo else None


class Later:
    """The counts of a series that are cells (they equal the main counts) but leave out zeros
    of the main series: where such a zero is withheld, the series' counts at or above it are
    withheld too (else, being equal to the main counts while leaving that zero out, they would
    show it is zero)."""

    def __init__(
        self, sel: np.ndarray, cid: np.ndarray, ncid: int, need: np.ndarray, radix: _Radix
    ) -> None:
        self.sel, self.cid, self.ncid, self.need, self.radix = sel, cid, ncid, need, radix
        self.todo: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []

    def rows(self, at: np.ndarray) -> np.ndarray:
        """The rows of the counts at ``at`` (positions of ``sel``), numbered among ``need``."""
        return np.searchsorted(self.need, self.sel[at] // 2)

    def add(self, zeros: np.ndarray, ref: np.ndarray, mine: np.ndarray, adds: bool) -> None:
        self.todo.append((zeros, ref, mine, adds))

    def withhold(self, hidden_at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The positions (``2 * row + role``) to withhold, given which positions' cells are
        withheld (``hidden_at``)."""
        radix, rows, cid, sel = self.radix, self.rows, self.cid, self.sel
        out = [np.zeros(0, np.int64)]
        for zeros, ref, mine, adds in self.todo:
            seeds = zeros[hidden_at(sel[zeros])]
            if len(seeds) == 0:
                continue
            seed_codes = radix.codes(radix.block(rows(seeds), adds), rows(seeds))
            block_ref = radix.block(rows(ref), adds)
            under = radix.reach(seed_codes, radix.codes(block_ref, rows(ref)))
            out.append(sel[mine[_marks(self.ncid, cid[ref[under]])[cid[mine]]]])
        return np.concatenate(out)


class _Radix:
    """One integer per (block of one element, coordinates): the block (the row's corridor and
    other dimensions, and its period unless the element adds over periods), then each axis, in
    a mixed radix whose digits hold every coordinate of the output (so that the coordinates
    made by setting some to the margin have codes in the same radix)."""

    def __init__(self, fixed: np.ndarray, period: np.ndarray, coords: np.ndarray) -> None:
        self.coords = coords
        self.fixed = fixed
        self.period = period
        self.periods = int(period.max()) + 2 if len(period) else 1
        self.blocks = (int(fixed.max()) + 1 if len(fixed) else 1) * self.periods
        radix = [self.blocks, *(int(c.max()) + 1 if len(c) else 1 for c in coords.T)]
        if np.prod([float(r) for r in radix]) >= 2.0**62:
            raise OverflowError("suppression: too many blocks and coordinates to number")
        # the value of one unit of each digit
        self.mult = [int(np.prod(radix[j + 1 :], dtype=np.int64)) for j in range(len(radix))]
        self.radix = radix

    def block(self, rows: np.ndarray, over_periods: bool) -> np.ndarray:
        part = 0 if over_periods else self.period[rows] + 1
        return self.fixed[rows] * self.periods + part

    def codes(self, block: np.ndarray, rows: np.ndarray) -> np.ndarray:
        code = block.astype(np.int64) * self.mult[0]
        for j in range(self.coords.shape[1]):
            code += self.coords[rows, j] * self.mult[j + 1]
        return code

    def reach(self, seeds: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Per code of ``codes``: whether it is at or above one of ``seeds`` (on each axis the
        seed's coordinate or the margin, 0). Marked in a table where the codes' range is small
        (each code once), else gathered and sorted."""
        top = int(np.prod([float(r) for r in self.radix]))
        table = np.zeros(top, bool) if top <= 1 << 26 else None
        seen = np.unique(seeds)
        if table is not None:
            table[seen] = True
        for j in range(1, len(self.radix)):
            digit = (seen // self.mult[j]) % self.radix[j]
            up = (seen - digit * self.mult[j])[digit != 0]  # (a margin already: no new code)
            if table is not None:
                up = np.unique(up[~table[up]])
                table[up] = True
            seen = np.concatenate([seen, up])
        return table[codes] if table is not None else np.isin(codes, seen)


def _marks(size: int, at: np.ndarray) -> np.ndarray:
    """A table of ``size`` flags, set at ``at``."""
    out = np.zeros(size, bool)
    out[at] = True
    return out
