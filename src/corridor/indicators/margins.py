"""From cells to output rows: numerator and denominator pairs, place groups and margins.

4. **paired** (:func:`paired_sql`) - per place x output period x disaggregation, each
   indicator's numerator and denominator, taken only where the place reports both: a place
   whose denominator is missing never contributes its numerator; a place whose numerator is
   missing while its denominator is reported counts it as zero only where its source drops
   zeros (DHIS2), and is otherwise left out. Where both elements are sums, the pairs are taken
   per slot (reported quarter), so that a year built from quarters adds only the quarters that
   report both.
5. **grouped** (:func:`grouped_sql`) - pairs summed over the places of each place group (and,
   with totals, the margins), with the number of places that reported a pair; where the rows
   sum places that have no row of their own in the output, also each place's own cell of every
   such row (``sources``: :func:`place_cells`, for ``publish``).
6. the final SELECT (:func:`cells_out_sql`), in reading order (period, places, code lists).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DISAGGREGATIONS, TOTAL
from corridor.indicators.cellkey import row_keys
from corridor.indicators.cells import col, kcol, lit
from corridor.indicators.order import UNALLOCATED, code_rank, order_indices, text_order
from corridor.indicators.places import ALL
from corridor.indicators.registry import Indicator
from corridor.storage.dialect import Dialect
from corridor.storage.recordkeys import KEY_MODULUS

#: the leading columns of ordered cells: the sort keys (dropped after the query)
SORT_PREFIX = "sort_"
#: the column of the place whose own cell a row of ``sources`` is (:func:`grouped_sql`)
SOURCE: Final = "src_place"


def num(k: int) -> str:
    return f"n_{k}"


def den(k: int) -> str:
    return f"d_{k}"


def knum(k: int) -> str:
    """The cell key of indicator k's numerator (sum of its rows' record keys mod 2^32)."""
    return f"kn_{k}"


def kden(k: int) -> str:
    return f"kd_{k}"


def reporting(k: int) -> str:
    return f"r_{k}"


def present(k: int) -> str:
    return f"x_{k}"


def zero_col(element: str) -> str:
    return f"z_{element}"


def _zero_flag(ind: Indicator, zeros: Mapping[str, object], alias: str, agg: bool) -> str:
    """SQL: the place's denominator source drops zeros (so a missing numerator is zero)."""
    element = ind.denominator
    if element not in zeros:
        return "1 = 0"
    expr = f"COALESCE({alias}.{zero_col(element)}, 0)"
    return f"MAX({expr}) = 1" if agg else f"{expr} = 1"


def has(series: str) -> str:
    """Column of step ``ps``/``pb``: 1 where the place reports the series in the slot/period."""
    return f"h_{series}"


def alloc(series: str) -> str:
    """Column of step ``ps``/``pb``: 1 where the place's value of the series is broken down
    into the grouped cells (some cell of it besides the ``unallocated`` remainder)."""
    return f"g_{series}"


#: SQL: the cell ``c`` is not the ``unallocated`` remainder of a unit
_ALLOCATED: Final = " AND ".join(f"c.{d} <> '{UNALLOCATED}'" for d in DISAGGREGATIONS)


def presence_sql(name: str, keys: Sequence[str], series: Sequence[str]) -> str:
    """Step ``name``: per place and ``keys`` (output period, and slot), which series the place
    reports at all (``h_s``) and which it breaks down into the grouped cells (``g_s``)."""
    cols = []
    for s in series:
        cols.append(f"MAX(CASE WHEN c.{col(s)} IS NOT NULL THEN 1 ELSE 0 END) AS {has(s)}")
        cols.append(
            f"MAX(CASE WHEN c.{col(s)} IS NOT NULL AND {_ALLOCATED} THEN 1 ELSE 0 END) "
            f"AS {alloc(s)}"
        )
    group = ", ".join(f"c.{k}" for k in keys)
    return f"{name} AS (SELECT {group}, {', '.join(cols)} FROM cells c GROUP BY {group})"


def paired_sql(
    indicators: Sequence[Indicator], zeros: Mapping[str, object], unique: bool = False
) -> list[str]:
    """Step ``paired``: one row per place x output period x disaggregation, with per indicator
    ``n_k`` / ``d_k`` (the numerator and denominator where the place reports both, else null)
    and ``x_k`` (1 where the place reports either).

    Whether a place reports both is decided for the place (per slot where both elements are
    sums, else per output period), not per cell: a cell of a place that reports both keeps its
    numerator where its denominator has no value in that cell (a zero that the source dropped,
    or a denominator not broken down this way, such as a population estimate without age
    bands), so that the cells of every grouping add up to the place's totals. Within such a
    place, a part with no value in a cell is 0 where the source drops zeros and that part is
    broken down into the cells (or, for the numerator, missing altogether), else null; the
    ``unallocated`` remainder of a part broken down into the cells is 0.

    ``zeros``: the denominator elements for which some place's source drops zeros; the step
    ``dz`` (place_code, ``z_<element>`` ...) says which places (see :func:`zeros_sql`).
    ``unique``: the cells have one slot per output period (a quarter's months, say), so each
    cell is already one row per place, output period and disaggregation: the pairs are taken
    row by row, without adding up slots.
    """
    by_slot = [ind for ind in indicators if unique or ind.pairs_by_slot]
    by_period = [ind for ind in indicators if not (unique or ind.pairs_by_slot)]
    steps: list[str] = []
    if by_slot:
        keys = sorted({s.key for ind in by_slot for s in ind.series})
        steps.append(presence_sql("ps", ["place_code", "bucket", "slot"], keys))
    if by_period:
        keys = sorted({s.key for ind in by_period for s in ind.series})
        steps.append(presence_sql("pb", ["place_code", "bucket"], keys))
    cols: list[str] = []
    for k, ind in enumerate(indicators):
        a, b = (s.key for s in ind.series)
        va, vb = col(a), col(b)
        ka, kb = kcol(a), kcol(b)
        slotted = unique or ind.pairs_by_slot
        agg = not slotted
        h = "s" if slotted else "b"
        zero = _zero_flag(ind, zeros, "z", agg)

        def flag(c: str, h: str = h, agg: bool = agg) -> str:
            return f"MAX({h}.{c})" if agg else f"{h}.{c}"

        ok = f"{flag(has(b))} = 1 AND ({flag(has(a))} = 1 OR {zero})"
        # a part broken down into the cells has nothing left over: its remainder is 0
        rest = f"NOT ({_ALLOCATED})"
        fill_a = (
            f"(({zero}) AND ({flag(alloc(a))} = 1 OR {flag(has(a))} = 0)) "
            f"OR ({rest} AND {flag(alloc(a))} = 1)"
        )
        fill_b = f"(({zero}) OR {rest}) AND {flag(alloc(b))} = 1"
        if slotted:
            cell = f"(c.{va} IS NOT NULL OR c.{vb} IS NOT NULL)"
            na = f"{ok} AND {cell} AND (c.{va} IS NOT NULL OR {fill_a})"
            nb = f"{ok} AND {cell} AND (c.{vb} IS NOT NULL OR {fill_b})"
            n_expr = f"CASE WHEN {na} THEN COALESCE(c.{va}, 0) END"
            d_expr = f"CASE WHEN {nb} THEN COALESCE(c.{vb}, 0) END"
            kn_expr = f"CASE WHEN {na} THEN COALESCE(c.{ka}, 0) END"
            kd_expr = f"CASE WHEN {nb} THEN COALESCE(c.{kb}, 0) END"
            if unique:
                cols += [
                    f"{n_expr} AS {num(k)}",
                    f"{d_expr} AS {den(k)}",
                    f"{kn_expr} AS {knum(k)}",
                    f"{kd_expr} AS {kden(k)}",
                    f"CASE WHEN c.{va} IS NOT NULL OR c.{vb} IS NOT NULL THEN 1 ELSE 0 END "
                    f"AS {present(k)}",
                ]
                continue
            cols += [
                f"SUM({n_expr}) AS {num(k)}",
                f"SUM({d_expr}) AS {den(k)}",
                f"SUM({kn_expr}) % {KEY_MODULUS} AS {knum(k)}",
                f"SUM({kd_expr}) % {KEY_MODULUS} AS {kden(k)}",
            ]
        else:
            sa, sb = f"SUM(c.{va})", f"SUM(c.{vb})"
            cell = f"({sa} IS NOT NULL OR {sb} IS NOT NULL)"
            na = f"{ok} AND {cell} AND ({sa} IS NOT NULL OR {fill_a})"
            nb = f"{ok} AND {cell} AND ({sb} IS NOT NULL OR {fill_b})"
            cols += [
                f"CASE WHEN {na} THEN COALESCE({sa}, 0) END AS {num(k)}",
                f"CASE WHEN {nb} THEN COALESCE({sb}, 0) END AS {den(k)}",
                f"CASE WHEN {na} THEN COALESCE(SUM(c.{ka}), 0) % {KEY_MODULUS} END AS {knum(k)}",
                f"CASE WHEN {nb} THEN COALESCE(SUM(c.{kb}), 0) % {KEY_MODULUS} END AS {kden(k)}",
            ]
        cols.append(
            f"CASE WHEN SUM(c.{va}) IS NOT NULL OR SUM(c.{vb}) IS NOT NULL THEN 1 ELSE 0 END "
            f"AS {present(k)}"
        )
    keys = ["c.place_code", "c.bucket", *(f"c.{d}" for d in DISAGGREGATIONS)]
    join = " LEFT JOIN dz z ON z.place_code = c.place_code" if zeros else ""
    if by_slot:
        join += " LEFT JOIN ps s ON s.place_code = c.place_code AND s.bucket = c.bucket"
        join += " AND s.slot = c.slot"
    if by_period:
        join += " LEFT JOIN pb b ON b.place_code = c.place_code AND b.bucket = c.bucket"
    group = "" if unique else f" GROUP BY {', '.join(keys)}"
    steps.append(
        f"paired AS (SELECT {', '.join(keys)}, {', '.join(cols)} FROM cells c{join}{group})"
    )
    return steps


def zeros_sql(places: Mapping[str, set[str]]) -> str:
    """Step ``dz``: per place, 1 in ``z_<element>`` where its ``element`` comes from a source
    that drops zeros. ``places``: element -> place codes."""
    elements = sorted(places)
    codes = sorted({p for ps in places.values() for p in ps})
    rows = ", ".join(
        "(" + ", ".join([lit(p), *(str(int(p in places[e])) for e in elements)]) + ")"
        for p in codes
    )
    names = ", ".join(["place_code", *(zero_col(e) for e in elements)])
    return f"dz ({names}) AS (VALUES {rows})"


def grouped_sql(
    place_cols: Sequence[str],
    by_place: bool,
    dims: Sequence[str],
    n: int,
    map_table: str | None,
    totals: bool,
    sources: bool = False,
) -> list[str]:
    """Step ``grouped``: pairs summed per place group (and the margins, with ``totals``), and
    ``r_k``: how many places reported a pair of indicator k.

    ``place_cols`` are the output columns besides place_code (country, admin1, corridor,
    place_type); ``by_place`` says whether place_code names groups (else it is ``all``). Margins
    over places are taken over the additive groupings only: corridors overlap, so each corridor
    keeps its own rows and there is no margin across corridors.

    ``sources`` (for an output not by place, whose rows sum places that have no row of their
    own in it): also each place's own cell at the coordinates of every row (its place group,
    corridor and disaggregations), the same sums as that place's row of the output by place:
    rows with the place's code in :data:`SOURCE` (null in the rows of the output), for
    ``publish`` (:func:`place_cells`). The rows of the output are then summed from these cells
    (:func:`_from_own_cells`): the same rows and values.
    """
    ks = range(n)
    values = [f"p.{c}" for k in ks for c in (num(k), den(k), present(k), knum(k), kden(k))]
    values += [
        f"CASE WHEN p.{num(k)} IS NOT NULL AND p.{den(k)} IS NOT NULL THEN p.place_code END "
        f"AS o_{k}"
        for k in ks
    ]
    if sources:
        values.append(f"p.place_code AS {SOURCE}")
    if map_table is None:
        code = "p.place_code" if by_place else f"'{ALL}'"
        source = (
            f"SELECT p.bucket, {code} AS place_code, p.sex, p.age_band, p.population_group, "
            f"{', '.join(values)} FROM paired p"
        )
    else:
        extra = "".join(f"COALESCE(g.{c}, 'unknown') AS {c}, " for c in place_cols)
        source = (
            f"SELECT p.bucket, COALESCE(g.g_code, 'unknown') AS place_code, {extra}"
            f"p.sex, p.age_band, p.population_group, {', '.join(values)} "
            f"FROM paired p LEFT JOIN {map_table} g ON g.place_code = p.place_code"
        )
    fixed = ["bucket"]
    if "corridor" in place_cols:
        fixed.append("corridor")
    place_set = ["place_code", *(c for c in place_cols if c != "corridor")]
    additive_places = by_place or any(c != "corridor" for c in place_cols)
    every = [*fixed, *place_set, *DISAGGREGATIONS]
    sums = ", ".join(
        f"SUM({num(k)}) AS {num(k)}, SUM({den(k)}) AS {den(k)}, "
        f"COUNT(DISTINCT o_{k}) AS {reporting(k)}, MAX({present(k)}) AS {present(k)}, "
        f"SUM({knum(k)}) % {KEY_MODULUS} AS {knum(k)}, SUM({kden(k)}) % {KEY_MODULUS} "
        f"AS {kden(k)}"
        for k in ks
    )
    if not totals or (not additive_places and not dims):
        if map_table is None and by_place:  # one row per place already
            one = ", ".join(
                f"{num(k)}, {den(k)}, "
                f"CASE WHEN {num(k)} IS NOT NULL AND {den(k)} IS NOT NULL THEN 1 ELSE 0 END "
                f"AS {reporting(k)}, {present(k)}, {knum(k)}, {kden(k)}"
                for k in ks
            )
            return [
                f"grouped AS (SELECT bucket, place_code, {', '.join(DISAGGREGATIONS)}, {one} "
                "FROM paired)"
            ]
        group = ", ".join(every)
        if sources:
            return [f"placed AS ({source})", *_from_own_cells([every], every, fixed, n)]
        return [
            f"placed AS ({source})",
            f"grouped AS (SELECT {group}, {sums} FROM placed GROUP BY {group})",
        ]
    constant = [d for d in DISAGGREGATIONS if d not in dims]
    base = [*fixed, *constant] + ([] if additive_places else place_set)
    members: list[list[str]] = [[d] for d in dims]
    if additive_places:
        members.insert(0, place_set)
    grouping: list[list[str]] = []
    for k in range(len(members), -1, -1):
        for combo in combinations(members, k):
            grouping.append(base + [c for m in combo for c in m])
    if sources:
        return [f"placed AS ({source})", *_from_own_cells(grouping, every, fixed, n)]
    sets = ", ".join("(" + ", ".join(cols) + ")" for cols in grouping)
    return [
        f"placed AS ({source})",
        f"grouped AS (SELECT {', '.join(every)}, {sums} FROM placed "
        f"GROUP BY GROUPING SETS ({sets}))",
    ]


def _from_own_cells(
    grouping: Sequence[Sequence[str]], every: Sequence[str], fixed: Sequence[str], n: int
) -> list[str]:
    """Steps ``own`` and ``grouped`` of an output whose rows sum places (:func:`grouped_sql`
    with ``sources``). ``own``: each place's own cell (:data:`SOURCE`) at each of the
    ``grouping`` that keeps the place columns; a place reports it where one of its cells there
    is a pair (``o_k``). ``grouped``: the rows of every ``grouping`` summed from those cells (a
    place group's rows over its places, the margins over places over all of them; the
    disaggregations that a grouping leaves out are null, so each sums its own cells), then the
    cells themselves. A place has one own cell in a row (one place group per corridor), so the
    places reporting a row are the sum of its cells' flags: the ``COUNT(DISTINCT o_k)`` of the
    other outputs, which the engines compute apart for each grouping (by country x sex x age
    x group on the demonstration world, 2024Q1: 0.3 s for the whole query against 0.85 s)."""
    keep = [c for c in every if c not in fixed and c not in DISAGGREGATIONS]  # place_code ...
    mine = [cols for cols in grouping if set(keep) <= set(cols)]
    ks = range(n)
    own = ", ".join(
        f"SUM({num(k)}) AS {num(k)}, SUM({den(k)}) AS {den(k)}, "
        f"MAX(CASE WHEN o_{k} IS NOT NULL THEN 1 ELSE 0 END) AS {reporting(k)}, "
        f"MAX({present(k)}) AS {present(k)}, SUM({knum(k)}) % {KEY_MODULUS} AS {knum(k)}, "
        f"SUM({kden(k)}) % {KEY_MODULUS} AS {kden(k)}"
        for k in ks
    )
    sums = ", ".join(
        f"SUM({num(k)}) AS {num(k)}, SUM({den(k)}) AS {den(k)}, "
        f"CAST(SUM({reporting(k)}) AS BIGINT) AS {reporting(k)}, "
        f"MAX({present(k)}) AS {present(k)}, SUM({knum(k)}) % {KEY_MODULUS} AS {knum(k)}, "
        f"SUM({kden(k)}) % {KEY_MODULUS} AS {kden(k)}"
        for k in ks
    )
    sets = ", ".join("(" + ", ".join([*cols, SOURCE]) + ")" for cols in mine)
    null = f"CAST(NULL AS VARCHAR) AS {SOURCE}"
    group = ", ".join(every)
    parts = [f"SELECT {group}, {null}, {sums} FROM own GROUP BY {group}"]
    if len(mine) < len(grouping):  # the margins over places
        over = [*fixed, *DISAGGREGATIONS]
        cols = [c if c in over else f"CAST(NULL AS VARCHAR) AS {c}" for c in every]
        parts.append(
            f"SELECT {', '.join(cols)}, {null}, {sums} FROM own GROUP BY {', '.join(over)}"
        )
    own_cols = ", ".join(f"o.{c}" for c in every)
    order = [c for k in ks for c in (num(k), den(k), reporting(k), present(k), knum(k), kden(k))]
    parts.append(f"SELECT {own_cols}, o.{SOURCE}, {', '.join(f'o.{c}' for c in order)} FROM own o")
    return [
        f"own AS (SELECT {group}, {SOURCE}, {own} FROM placed GROUP BY GROUPING SETS ({sets}))",
        f"grouped AS ({' UNION ALL '.join(parts)})",
    ]


def cells_out_sql(
    place_cols: Sequence[str],
    n: int,
    buckets: Sequence[str],
    dialect: Dialect,
    ordered: bool = True,
    sources: bool = False,
) -> str:
    """The final SELECT: one row per output cell (period x places x disaggregations) with the
    pair, places reporting and presence of each indicator, in reading order (period, places
    with ``all`` last, code-list order).

    The indicators are laid out from these rows in Arrow (:func:`corridor.indicators.pivot.
    pivot`): each indicator takes the cells where some place reports its numerator or
    denominator, in this order, so sorting the cells once sorts every indicator.

    Ordered rows start with their sort keys (``sort_0`` ...; the caller drops them): a sort
    key behind the seventy columns of a cell is found again at every comparison by a
    row-at-a-time engine (PostgreSQL: 5 s of CPU to sort 88,800 cells, 0.8 s with the keys
    first). Where the dialect orders on the client (``client_order``) there are no sort keys:
    :func:`sort_cells` computes the same order from the cells' own columns
    (:func:`corridor.indicators.order.order_indices`).

    ``sources``: the cells of :func:`grouped_sql` with ``sources`` come with the column
    :data:`SOURCE` (:func:`split_sources` takes them apart).
    """
    keys = ["place_code", *place_cols]
    select = ", ".join(
        ["bucket AS period"]
        + [f"COALESCE({c}, '{ALL}') AS {c}" for c in keys]
        + [f"COALESCE({d}, '{TOTAL}') AS {d}" for d in DISAGGREGATIONS]
        + [c for k in range(n) for c in (num(k), den(k), reporting(k), present(k))]
        + [f"CAST({c(k)} AS BIGINT) AS {c(k)}" for k in range(n) for c in (knum, kden)]
        + ([SOURCE] if sources else [])
    )
    sql = f"SELECT {select} FROM grouped"
    if not ordered or dialect.client_order:
        return sql
    period_rank = " ".join(f"WHEN {lit(b)} THEN {k}" for k, b in enumerate(buckets))
    order = [f"CASE r.period {period_rank} ELSE {len(buckets)} END"]
    for c in ("corridor", "country", "admin1", "place_type", "place_code"):
        if c in keys:
            order += [f"CASE WHEN r.{c} = '{ALL}' THEN 1 ELSE 0 END", text_order(f"r.{c}", dialect)]
    for d in DISAGGREGATIONS:
        order.append(code_rank(f"r.{d}", d))
        if d == "age_band":  # a workspace may declare more bands; sex and groups are closed
            order.append(text_order(f"r.{d}", dialect))
    leading = ", ".join(f"{o} AS {SORT_PREFIX}{i}" for i, o in enumerate(order))
    by = ", ".join(f"{SORT_PREFIX}{i}" for i in range(len(order)))
    return f"SELECT {leading}, r.* FROM ({sql}) r ORDER BY {by}"


def sort_cells(
    table: pa.Table, dialect: Dialect, ordered: bool, buckets: Sequence[str], client: bool = False
) -> pa.Table:
    """The cells of :func:`cells_out_sql` without their sort keys; where the dialect leaves
    ordering to the client (or ``client``: cells that came unordered), sorted here into the
    order of ``ORDER BY`` (integers and byte-wise text: the engine's order, and a total one,
    since each cell's keys differ)."""
    keys = [c for c in table.column_names if c.startswith(SORT_PREFIX)]
    table = table.drop_columns(keys)
    if ordered and (dialect.client_order or client) and table.num_rows > 1:
        # one buffer per column first: a take across chunks is several times slower
        table = table.combine_chunks().take(order_indices(table, buckets))
    return table


def split_sources(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The cells of :func:`cells_out_sql` with ``sources`` taken apart: the output's cells
    (without :data:`SOURCE`, in their order) and the places' own cells (without sort keys)."""
    mine = pc.is_valid(table.column(SOURCE))
    cells = table.filter(pc.invert(mine)).drop_columns([SOURCE])
    own = table.filter(mine)
    return cells, own.drop_columns([c for c in own.column_names if c.startswith(SORT_PREFIX)])


def place_cells(own: pa.Table, indicators: Sequence[Indicator], margin: bool) -> pa.Table:
    """The places' own cells (the second table of :func:`split_sources`) that ``publish``
    needs: per indicator, each place's cell where the place reported a pair (``r_k``), with the
    keys of the rows that count it in ``places_reporting`` (:func:`corridor.indicators.cellkey.
    row_keys`): ``row``, its place group's row (or the row over all places, where the output
    has no place column), and ``margin``, that group's margin over places (``margin``: the
    output has one, with totals; else null). The counts as the output's, the cell keys reduced
    mod 2^32 (``corridor.indicators.cellkey.with_place_cells`` carries them)."""
    parts: list[pa.Table] = []
    for k, ind in enumerate(indicators):
        if own.num_rows == 0:
            break
        mine = pc.fill_null(pc.greater(pc.cast(own.column(reporting(k)), pa.int64()), 0), False)
        cells = own.filter(mine)
        if cells.num_rows == 0:
            continue
        n = cells.num_rows
        parts.append(
            pa.table(
                {
                    "row": row_keys(cells, indicator=ind.id),
                    "margin": row_keys(cells, indicator=ind.id, margin=True)
                    if margin
                    else pa.nulls(n, pa.string()),
                    "numerator": pc.cast(cells.column(num(k)), pa.float64()),
                    "denominator": pc.cast(cells.column(den(k)), pa.float64()),
                    "numerator_key": _reduced(cells.column(knum(k))),
                    "denominator_key": _reduced(cells.column(kden(k))),
                }
            )
        )
    schema = pa.schema(
        [
            ("row", pa.string()),
            ("margin", pa.string()),
            ("numerator", pa.float64()),
            ("denominator", pa.float64()),
            ("numerator_key", pa.int64()),
            ("denominator_key", pa.int64()),
        ]
    )
    if not parts:
        return schema.empty_table()
    out = pa.concat_tables([p.cast(schema) for p in parts]).combine_chunks()
    # each row's key once (many places sum into one row): a third of the size
    for c in ("row", "margin"):
        out = out.set_column(out.column_names.index(c), c, pc.dictionary_encode(out.column(c)))
    return out


def _reduced(keys: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Cell keys in [0, 2^32), null where null (the SQL leaves sums of keys unreduced)."""
    valid = pc.is_valid(keys).to_numpy(zero_copy_only=False)
    raw = pc.fill_null(pc.cast(keys, pa.int64()), 0).to_numpy(zero_copy_only=False)
    return pa.array(np.mod(raw, KEY_MODULUS), pa.int64(), mask=~valid)
