"""The values that go out to DHIS2/ADX, picked as dictionary codes, never row by row.

Only the finest cells go out (no margins): each count of a data element once, where it first
appears (row by row, numerator before denominator), then the indicator values in row order. A
DHIS2/ADX value is keyed by org unit, period, data element and category option combo only, so a
grouping that is none of these (corridor, place type) is refused (:func:`check_exchange_by`), and
the cells of places with no admin1 area (``none``, not an org unit) are left out and counted. Every
text column is dictionary-encoded once; the picking works on integer codes (numpy, and polars for
the first of each key), and the writers format each distinct text once and gather it by code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL
from corridor.errors import QueryError
from corridor.indicators.disclosure import is_suppressed
from corridor.indicators.exportcells import one_array
from corridor.indicators.places import ALL, NONE, place_code_dim

DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
COUNTS: Final = ("numerator", "denominator")
KEY: Final = ("period", "place_code", *DISAGGREGATIONS)
COMPLETENESS: Final = ("places_reporting", "places_expected", "incomplete")
#: groupings a DHIS2/ADX value cannot carry (neither an org unit nor a category): their names
NOT_EXCHANGED: Final[dict[str, str]] = {"corridor": "a corridor", "place_type": "a place type"}
_STRING: Final = pa.string()
_WIDE: Final = 1 << 62  # a combined key stays below this (int64)
_RUNS_FROM: Final = 4096  # columns of this many values or more are looked at for runs
_RUN_LENGTH: Final = 4  # the runs' mean length from which they are encoded by runs


@dataclass(frozen=True)
class Coded:
    """A text column as integer codes into ``texts`` (None stands for null)."""

    codes: np.ndarray
    texts: Sequence[Any]  # str or None; bool for the flags the writers make

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes[rows], self.texts)

    def arrow(self) -> pa.Array:
        return pa.array(self.texts, _STRING).take(pa.array(self.codes))

    def formatted(self, fmt: Callable[[Any], str], rows: np.ndarray | None = None) -> Texts:
        """``fmt`` of each value, formatted once per distinct value used (by ``rows``)."""
        return formatted([self], fmt, rows)


@dataclass(frozen=True)
class Texts:
    """A text per row, ``texts[key[row]]``: gathered for a batch of rows at a time."""

    texts: pa.Array
    key: np.ndarray

    def at(self, rows: np.ndarray) -> pa.Array:
        return self.texts.take(pa.array(self.key[rows]))


def formatted(
    columns: Sequence[Coded], fmt: Callable[..., str], rows: np.ndarray | None = None
) -> Texts:
    """``fmt(a, b, ...)`` of the rows' values of ``columns``, once per distinct combination.

    Only the combinations of ``rows`` (default: all) are formatted: those are the rows to write.
    """
    n = len(columns[0].codes)
    span = math.prod(max(len(c.texts), 1) for c in columns)
    key = combined([(c.codes, len(c.texts)) for c in columns])
    if span <= max(1 << 16, 2 * n):  # small: a table indexed by the key itself
        size = span
    else:
        uniq, key = np.unique(key, return_inverse=True)
        size = len(uniq)
    if rows is None:
        rows = np.arange(n, dtype=np.int64)
    where = np.full(size, -1, dtype=np.int64)
    where[key[rows]] = rows  # a row of each combination used
    texts = [""] * size
    for j in np.flatnonzero(where >= 0).tolist():
        r = int(where[j])
        texts[j] = fmt(*(c.texts[c.codes[r]] for c in columns))
    return Texts(pa.array(texts, _STRING), key)


def encode(arr: pa.Array | pa.ChunkedArray) -> Coded:
    """Dictionary codes of a column (nulls get a code of their own, whose text is None).

    A column in runs of equal values (an output sorted by place and period, one indicator's
    data elements, flags mostly null) is encoded by its runs: comparing neighbours is several
    times cheaper than hashing every value.
    """
    arr = one_array(arr)
    if arr.null_count == len(arr):
        return Coded(np.zeros(len(arr), dtype=np.int32), [None])
    plain = not pa.types.is_dictionary(arr.type) and arr.null_count < len(arr) // 2
    heads = _run_heads(arr) if plain else None  # (nulls are not hashed anyway)
    if heads is not None:
        runs = encode(arr.take(pa.array(heads)))
        return Coded(np.repeat(runs.codes, np.diff(heads, append=len(arr))), runs.texts)
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    texts: list[str | None] = [None if v is None else str(v) for v in arr.dictionary.to_pylist()]
    indices = arr.indices
    if arr.null_count:
        indices = pc.fill_null(indices, len(texts))
        texts.append(None)
    return Coded(indices.to_numpy(), texts)  # int32 as Arrow has them: no copy


def _run_heads(arr: pa.Array) -> np.ndarray | None:
    """Where each run of equal values (nulls equal) starts, if the runs are long enough to pay
    (a sample of the first values says whether to look)."""
    n = len(arr)
    if n < _RUNS_FROM:
        return None
    heads = _changes(arr.slice(0, _RUNS_FROM))
    if len(heads) > _RUNS_FROM // _RUN_LENGTH:
        return None
    heads = _changes(arr)
    return heads if len(heads) <= n // _RUN_LENGTH else None


def _changes(arr: pa.Array) -> np.ndarray:
    """The positions where a value differs from the one before (0 included)."""
    n = len(arr)
    differ = pc.not_equal(arr.slice(1), arr.slice(0, n - 1))
    change = pc.fill_null(differ, False).to_numpy(zero_copy_only=False)
    if arr.null_count:
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        change |= valid[1:] != valid[:-1]
    return np.concatenate([[0], np.flatnonzero(change) + 1])


def combined(columns: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """One int64 key per row from several (codes, size) columns: equal keys, equal rows."""
    if not columns:
        return np.zeros(0, dtype=np.int64)
    key = columns[0][0].astype(np.int64)  # (a copy: updated in place below)
    span = max(columns[0][1], 1)
    for codes, size in columns[1:]:
        size = max(size, 1)
        if span * size >= _WIDE:  # renumber the keys so far densely before going on
            uniq, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
            span = len(uniq)
        key *= size
        key += codes
        span *= size
    return key


@dataclass(frozen=True)
class Values:
    """The exchange values: one row per value, columns as codes (see ``exchange_table``)."""

    element: Coded
    period: Coded
    place: Coded
    sex: Coded
    age_band: Coded
    population_group: Coded
    value: pa.Array  # float64
    flag: Coded
    indicator: np.ndarray  # bool: an indicator value (else a count)
    note: Coded  # the completeness note of an indicator value ("" for counts)
    unplaced: int = 0  # values of places with no admin1 area, left out (see unplaced_note)

    @property
    def num_rows(self) -> int:
        return len(self.indicator)

    def dims(self) -> tuple[Coded, Coded, Coded]:
        return (self.sex, self.age_band, self.population_group)


def _column(t: pa.Table, name: str, type_: pa.DataType = _STRING) -> pa.Array:
    if name not in t.column_names:
        return pa.nulls(t.num_rows, type_)
    arr = one_array(t.column(name))
    if pa.types.is_dictionary(arr.type) and type_ == _STRING:
        return arr
    return arr.cast(type_)


def first_of_each(key: np.ndarray) -> np.ndarray:
    """Where each distinct key appears first (a bool mask over ``key``)."""
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=bool)
    at = np.arange(n, dtype=np.int64)
    span = int(key.max()) + 1
    if span <= 8 * n:  # a table addressed by the key: the first write of a repeated index wins
        # when the writes go backwards (numpy assigns the last of repeated indices)
        seen = np.empty(span, dtype=np.int64)
        seen[key[::-1]] = at[::-1]
        return seen[key] == at
    first = np.zeros(n, dtype=bool)
    first[np.unique(key, return_index=True)[1]] = True
    return first


def numbered(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys numbered in order of first appearance: (each row's number, where each
    number first appears)."""
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    span = int(key.max()) + 1
    if span <= 8 * n:  # a table addressed by the key
        heads = np.flatnonzero(first_of_each(key))
        table = np.empty(span, dtype=np.int64)
        table[key[heads]] = np.arange(len(heads))
        return table[key], heads
    uniq, index, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(index)] = np.arange(len(uniq))
    return rank[inverse.reshape(-1)], np.sort(index)


def unified(columns: Sequence[Coded]) -> tuple[np.ndarray, list[str | None]]:
    """Codes of several columns in one shared list of texts: (codes stacked by column, texts)."""
    texts: list[str | None] = []
    index: dict[str | None, int] = {}
    out = np.empty((len(columns), len(columns[0].codes) if columns else 0), dtype=np.int32)
    for i, c in enumerate(columns):
        remap = np.array([index.setdefault(t, len(index)) for t in c.texts], dtype=np.int32)
        if not len(remap):
            out[i] = 0
        elif (remap == np.arange(len(remap))).all():  # the column's own codes (the first)
            out[i] = c.codes
        else:
            out[i] = remap[c.codes]
    texts = list(index)
    return out, texts


def check_exchange_by(by: Collection[str]) -> None:
    """Refuse a grouping that DHIS2/ADX cannot carry (a :class:`QueryError`, exit 2).

    A DHIS2 or ADX value is keyed by org unit, period, data element and category option combo:
    the output needs an org unit (place, admin1 or country) and nothing that is neither an org
    unit nor a category (corridor, place_type), whose values would go out under the same key.
    """
    if not any(d in by for d in ("place", "admin1", "country")):
        raise QueryError(
            "DHIS2 and ADX exports need organisation units: add place (or admin1, country) to --by"
        )
    for dim, what in NOT_EXCHANGED.items():
        if dim in by:
            raise QueryError(
                f"DHIS2 and ADX exports cannot be grouped by {dim}: a DHIS2/ADX value is keyed "
                f"by org unit, period, data element and category option combo, and {what} is "
                "not an org unit, so the values of several groups would go out under one key. "
                f"Drop {dim} from --by, or use --format csv, json or hxl"
            )


def unplaced_note(n: int) -> str:
    """What a DHIS2/ADX export says of the values it left out for having no org unit."""
    return (
        f"{n} value(s) of places with no admin1 area (admin1 'none', not an org unit) are left "
        "out: give those places an admin1 area on their parent_code chain in the place "
        "registry, or group by country or place"
    )


def exchange_values(table: pa.Table, *, unsuppressed: bool = False) -> Values:
    """The finest cells of the output (no margins), counts once each, then indicator values.

    Grouped by admin1, the values of places with no admin1 area (``none``) are left out and
    counted in ``unplaced``.
    """
    if not unsuppressed and not is_suppressed(table):
        raise ValueError("refusing to export an unsuppressed table: pass it through suppress()")
    meta = table.schema.metadata or {}
    by = json.loads(meta.get(b"corridor.by", b"[]"))
    grouped = [d for d in DISAGGREGATIONS if d in by]
    check_exchange_by(by)
    n = table.num_rows
    keys = {k: encode(_column(table, k)) for k in KEY}
    # a margin (all places, or a total of a grouped dimension) does not go out
    keep = np.ones(n, dtype=bool)
    for k, margin in (("place_code", ALL), *((d, TOTAL) for d in grouped)):
        c = keys[k]
        if margin in c.texts:
            keep &= ~np.array([v == margin for v in c.texts], dtype=bool)[c.codes]
    rows = np.flatnonzero(keep)
    every = len(rows) == n

    def kept(codes: np.ndarray) -> np.ndarray:  # the kept rows' (last axis)
        return codes if every else codes[..., rows]

    m = len(rows)
    # the three roles of a row: numerator (0), denominator (1) and indicator value (2)
    roles = (*COUNTS, "value")
    elements, element_texts = unified(
        [encode(_column(table, f"{r}_element")) for r in COUNTS]
        + [encode(_column(table, "indicator"))]
    )
    elements = kept(elements)
    flags, flag_texts = unified([encode(_column(table, f"{r}_flag")) for r in roles])
    flags = kept(flags)
    numbers = [_column(table, r, pa.float64()) for r in roles]
    x = np.empty((3, m), dtype=np.float64)
    valid = np.ones((3, m), dtype=bool)
    for i, c in enumerate(numbers):
        x[i] = kept(c.to_numpy(zero_copy_only=False))  # nulls as NaN
        if c.null_count:
            valid[i] = kept(c.is_valid().to_numpy(zero_copy_only=False))
    is_flag = np.array([f is not None for f in flag_texts], dtype=bool)
    present = valid | is_flag[flags]
    # counts: numerator and denominator of kept row r at 2r and 2r + 1 (the order they appear
    # in); only data elements (not another period's value or a part of a count), each once
    is_element = np.array([t in DATA_ELEMENTS for t in element_texts], dtype=bool)
    both = (is_element[elements[:2]] & present[:2]).T.ravel()
    at = np.flatnonzero(both)
    codes = {k: kept(keys[k].codes) for k in KEY}
    key = combined([(codes[k], len(keys[k].texts)) for k in KEY])
    if first_of_each(key).all():  # each row a cell of its own: a count repeats only in its row
        r = at // 2
        same = (at % 2 == 1) & (elements[0, r] == elements[1, r]) & both[2 * r]
        at = at[~same]
    else:
        key = combined(
            [
                (key[at // 2], int(key.max(initial=0)) + 1),
                (elements[:2].T.ravel()[at], len(element_texts)),
            ]
        )
        at = at[first_of_each(key)]
    shown = np.flatnonzero(present[2])
    row = np.concatenate([at // 2, shown])  # of the kept rows
    role = np.concatenate([at % 2, np.full(len(shown), 2, dtype=np.int64)])
    unplaced = 0
    places = keys["place_code"]
    if place_code_dim(by) == "admin1" and NONE in places.texts:  # no org unit: left out
        off = np.array([t == NONE for t in places.texts], dtype=bool)[codes["place_code"][row]]
        unplaced = int(off.sum())
        row, role = row[~off], role[~off]
    notes = _notes(table)
    blank = notes.texts.index("")
    indicator = role == 2
    flat = role * m + row
    return Values(
        element=Coded(elements.ravel()[flat], element_texts),
        period=Coded(codes["period"][row], keys["period"].texts),
        place=Coded(codes["place_code"][row], keys["place_code"].texts),
        sex=Coded(codes["sex"][row], keys["sex"].texts),
        age_band=Coded(codes["age_band"][row], keys["age_band"].texts),
        population_group=Coded(codes["population_group"][row], keys["population_group"].texts),
        value=pa.array(x.ravel()[flat], mask=~valid.ravel()[flat]),
        flag=Coded(flags.ravel()[flat], flag_texts),
        indicator=indicator,
        note=Coded(
            np.where(indicator, kept(notes.codes)[row], blank)
            if len(notes.texts) > 1
            else np.zeros(len(row), dtype=np.int32),  # (no notes: all blank)
            notes.texts,
        ),
        unplaced=unplaced,
    )


def _notes(t: pa.Table) -> Coded:
    """The completeness note of each row ("" where reporting is complete or not measured)."""
    n = t.num_rows
    none = Coded(np.zeros(n, dtype=np.int64), [""])
    if "incomplete" not in t.column_names:
        return none
    flagged = pc.fill_null(one_array(t.column("incomplete")).cast(pa.bool_()), False)
    if not pc.any(flagged).as_py():
        return none

    def text(name: str) -> pa.Array:
        if name not in t.column_names:
            return pa.array(["None"] * n, _STRING)
        coded = encode(t.column(name))
        return coded.formatted(str).at(np.arange(n))  # str(None) is "None", as Python writes

    note = pc.binary_join_element_wise(
        "incomplete: ",
        text("places_reporting"),
        " of ",
        text("places_expected"),
        " expected places reported",
        "",
    )
    coded = encode(pc.if_else(flagged, note, ""))
    return coded if "" in coded.texts else Coded(coded.codes, [*coded.texts, ""])


def exchange_table(table: pa.Table, *, unsuppressed: bool = False) -> pa.Table:
    """The exchange values as an Arrow table, one row per value.

    Columns: data_element, period, place, sex, age_band, population_group, value, flag, kind,
    note.
    """
    v = exchange_values(table, unsuppressed=unsuppressed)
    kind = pa.array(["count", "indicator"], _STRING).take(pa.array(v.indicator.astype(np.int8)))
    return pa.table(
        {
            "data_element": v.element.arrow(),
            "period": v.period.arrow(),
            "place": v.place.arrow(),
            "sex": v.sex.arrow(),
            "age_band": v.age_band.arrow(),
            "population_group": v.population_group.arrow(),
            "value": v.value,
            "flag": v.flag.arrow(),
            "kind": kind,
            "note": v.note.arrow(),
        }
    )


__all__ = (
    "Coded",
    "Texts",
    "Values",
    "check_exchange_by",
    "combined",
    "encode",
    "exchange_table",
    "exchange_values",
    "formatted",
    "numbered",
    "unplaced_note",
)
