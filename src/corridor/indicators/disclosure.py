"""Statistical disclosure control: the ONE function every indicator output goes through.

``suppress(table, threshold)`` withholds:

* **primary**: every count from 1 to threshold - 1 (zero is shown: a true zero discloses nobody);
* **secondary** (complementary): more counts, so that no withheld count can be worked out from
  the counts shown with it and the totals they add up to. The totals considered are those of the
  output's own structure: the cells along each grouped dimension (sex, age band, population group,
  places, and periods for counts that add over time) add up to a margin. Where the margin is in the
  output it is a cell like any other; where it is not, it is assumed published (the same query
  without that dimension gives it) unless it is itself a small count;
* **rates** whose numerator or denominator is withheld (and their gap to target).

A count is one value of one data element (hiv_tests of women at site A in 2024Q1): the same count
appears as the numerator of one indicator and the denominator of another, and is withheld in both
or in neither.

The complementary cells are chosen by the classic rule (in every relation, never exactly one
withheld cell: withhold the smallest other one), then the result is checked exactly: for each
group of linked relations, linear algebra tells whether a withheld small count is determined by
what is shown; if it is, more cells are withheld until none is.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL

if TYPE_CHECKING:
    from corridor.config import Settings
    from corridor.indicators.ptable import PerturbationTable

log = logging.getLogger("corridor.indicators")

DEFAULT_THRESHOLD: Final = 10
SUPPRESSED: Final = "suppressed"
ALL: Final = "all"
DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
PLACE_SET: Final = ("place_code", "country", "admin1", "place_type")
ROLES: Final = ("numerator", "denominator")
#: the largest group of linked withheld cells checked exactly (bigger ones: the rule alone)
EXACT_CHECK_LIMIT: Final = 1000


def primary_text(threshold: int) -> str:
    return f"<{threshold}"


MARGIN: Final = None  # the coordinate of a margin on an axis


@dataclass
class Relation:
    """``sum(components) == margin``; margin is a cell, or None when it is not in the output."""

    components: list[int]
    margin: int | None
    virtual_unknown: bool = False  # the margin is not in the output and is itself small

    def members(self) -> list[int]:
        return self.components if self.margin is None else [*self.components, self.margin]


@dataclass
class Cells:
    """Distinct counts of an output, the relations between them, and their coordinates.

    ``blocks``: per block of cells that add up together (one element, the same values on the
    columns that are not axes), the coordinates of its cells on the block's axes.
    """

    values: list[float] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    blocks: dict[tuple[Any, ...], dict[tuple[Any, ...], int]] = field(default_factory=dict)


def _by(table: pa.Table) -> list[str] | None:
    meta = table.schema.metadata or {}
    raw = meta.get(b"corridor.by")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def _column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist() if name in table.column_names else []


def _axes(data: dict[str, list[Any]], place_cols: list[str], by: list[str] | None) -> list[str]:
    """The dimensions along which the cells of the output add up to margins."""
    if by is not None:  # the table says how it was grouped (compute_indicators does)
        dims = [d for d in DISAGGREGATIONS if d in by]
        places = any(d in by for d in ("place", "admin1", "country", "place_type"))
        trend = "period" in by
    else:  # else: whatever varies
        dims = [d for d in DISAGGREGATIONS if any(v != TOTAL for v in data[d])]
        places = any(v != ALL for c in place_cols for v in data[c])
        trend = True
    # over time, sums add up to the total of the whole range; with one period there is nothing
    # to add (the "margin" would be the same count)
    trend = trend and len(set(data["period"])) > 1
    return [*dims, *(["place"] if places else []), *(["period"] if trend else [])]


def build_cells(table: pa.Table, threshold: int) -> tuple[Cells, list[list[int | None]]]:
    """Cells (distinct counts), relations, and for each row the cell of each role (or None)."""
    n = table.num_rows
    by = _by(table)
    cols = table.column_names
    place_cols = [c for c in PLACE_SET if c in cols]
    data = {c: _column(table, c) for c in (*place_cols, *DISAGGREGATIONS, "period")}
    corridor = _column(table, "corridor") or [None] * n
    # a place that lies on two corridors appears in both with the same count: one cell
    corridor_in_identity = "corridor" in cols and not (by is not None and "place" in by)
    axes = _axes(data, place_cols, by)
    indicator = _column(table, "indicator") or [""] * n
    elements = {
        role: _column(table, f"{role}_element") or [f"{i}:{role}" for i in indicator]
        for role in ROLES
    }
    values = {role: _column(table, role) for role in ROLES}
    cells = Cells()
    ids: dict[tuple[Any, ...], int] = {}
    row_cells: list[list[int | None]] = [[None, None] for _ in range(n)]
    # (block, coordinates) of a cell is a function of (cell, corridor): each pair is placed once
    placed: set[tuple[int, Any]] = set()
    own_of: dict[str, tuple[str, ...]] = {}
    order = ("sex", "age_band", "population_group", "place", "period")
    periods = data["period"]
    places = list(zip(*(data[c] for c in place_cols), strict=True)) if place_cols else [()] * n
    dims = list(zip(*(data[d] for d in DISAGGREGATIONS), strict=True))
    all_places = tuple(ALL for _ in place_cols)
    for r in range(n):
        place = places[r]
        period = periods[r]
        sex, age, group = dims[r]
        fixed = {"sex": sex, "age_band": age, "population_group": group}
        fixed.update(place=place, period=period)
        coord: dict[str, Any] = {
            "sex": MARGIN if sex == TOTAL else sex,
            "age_band": MARGIN if age == TOTAL else age,
            "population_group": MARGIN if group == TOTAL else group,
            "place": MARGIN if place == all_places else place,
            "period": period,
        }
        corr = corridor[r]
        for k, role in enumerate(ROLES):
            v = values[role][r]
            if v is None:
                continue
            e = elements[role][r]
            key = (e, period, corr if corridor_in_identity else None, *place, sex, age, group)
            cid = ids.get(key)
            if cid is None:
                cid = ids[key] = len(cells.values)
                cells.values.append(float(v))
                cells.keys.append(key)
            row_cells[r][k] = cid
            if (cid, corr) in placed:
                continue
            placed.add((cid, corr))
            own = own_of.get(e)
            if own is None:
                own = own_of[e] = tuple(
                    a for a in axes if a != "period" or DATA_ELEMENTS.get(e, "sum") == "sum"
                )
            block = (e, corr, own, *(fixed[a] for a in order if a not in own))
            cells.blocks.setdefault(block, {})[tuple(coord[a] for a in own)] = cid
    cells.relations = _relations(cells, threshold)
    return cells, row_cells


def _relations(cells: Cells, threshold: int) -> list[Relation]:
    """Along each axis, the cells with the same coordinates elsewhere add up to a margin."""
    out: list[Relation] = []
    seen: set[tuple[tuple[int, ...], int | None]] = set()
    for block, coords in cells.blocks.items():
        n_axes = len(block[2])
        for a in range(n_axes):
            groups: dict[tuple[Any, ...], tuple[set[int], set[int]]] = defaultdict(
                lambda: (set(), set())
            )
            for coord, cid in coords.items():
                rest = coord[:a] + coord[a + 1 :]
                groups[rest][1 if coord[a] is MARGIN else 0].add(cid)
            for comps, margins in groups.values():
                if not comps or (len(comps) == 1 and not margins):
                    # the margin of one cell is that cell: the output that shows it (without
                    # this dimension) withholds it by the same rules
                    continue
                margin = min(margins) if margins else None
                members = tuple(sorted(comps))
                if (members, margin) in seen:
                    continue
                seen.add((members, margin))
                rel = Relation(list(members), margin)
                if margin is None:
                    total = sum(cells.values[c] for c in members)
                    rel.virtual_unknown = 0 < total < threshold
                out.append(rel)
    return out


def slab_equations(
    cells: Cells, threshold: int, block: tuple[Any, ...]
) -> list[tuple[list[int], int | None, bool]]:
    """The margins of a block: (finest cells, margin cell, margin known?).

    Every margin in the output, of any order; and each margin along one dimension that is not
    in the output, taken as published (by the same query without that dimension) unless small.
    """
    coords = cells.blocks[block]
    n_axes = len(block[2])
    finest = {c: cid for c, cid in coords.items() if all(v is not MARGIN for v in c)}
    out: list[tuple[list[int], int | None, bool]] = []
    for k in range(1, n_axes + 1):
        for subset in combinations(range(n_axes), k):
            groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
            for c, cid in finest.items():
                proj = tuple(MARGIN if i in subset else v for i, v in enumerate(c))
                groups[proj].append(cid)
            for proj, members in groups.items():
                margin = coords.get(proj)
                if margin is not None:
                    out.append((members, margin, True))
                elif k == 1 and len(members) > 1:
                    # a margin of one dimension not in the output: taken as published by the
                    # query without that dimension, unless small (the margin of one cell is
                    # that cell, withheld there by the same rules)
                    total = sum(cells.values[c] for c in members)
                    out.append((members, None, not 0 < total < threshold))
    return out


class _Protector:
    """Complementary suppression: the rule, then the exact check with more cells if needed."""

    def __init__(self, cells: Cells, threshold: int) -> None:
        self.cells = cells
        self.threshold = threshold
        self.values = np.asarray(cells.values, dtype=float)
        self.primary = (self.values > 0) & (self.values < threshold)
        self.hidden = self.primary.copy()
        self.given_up: set[int] = set()
        self.version: dict[tuple[Any, ...], int] = defaultdict(int)
        self.checked: dict[tuple[tuple[Any, ...], ...], tuple[int, ...]] = {}
        self._arrays_cache: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}
        self.of_cell: dict[int, list[int]] = defaultdict(list)
        for i, rel in enumerate(cells.relations):
            for c in rel.members():
                self.of_cell[c].append(i)
        self.block_of: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for block, coords in cells.blocks.items():
            for cid in coords.values():
                self.block_of[cid].append(block)
        self._equations: dict[tuple[Any, ...], list[tuple[list[int], int | None, bool]]] = {}

    def _order(self, c: int) -> tuple[int, float, tuple[Any, ...]]:
        v = self.values[c]
        return (0 if v > 0 else 1, v, self.cells.keys[c])

    def hide(self, c: int, queue: deque[int]) -> None:
        if not self.hidden[c]:
            self.hidden[c] = True
            queue.extend(self.of_cell[c])
            for b in self.block_of[c]:
                self.version[b] += 1

    def _count(self, i: int) -> int:
        rel = self.cells.relations[i]
        return sum(1 for c in rel.members() if self.hidden[c]) + int(rel.virtual_unknown)

    def _opens(self, c: int, current: int) -> int:
        """How many other relations withholding ``c`` would leave with one withheld cell."""
        rels = self.cells.relations
        return sum(
            1
            for i in self.of_cell[c]
            if i != current
            and self._count(i) == 0
            and any(self.values[m] > 0 for m in rels[i].members())
        )

    def rule(self, queue: deque[int]) -> None:
        """In every relation, never exactly one withheld cell: withhold one more, the one that
        leaves the fewest other relations with a single withheld cell (it closes a pattern),
        then the smallest."""
        rels = self.cells.relations
        while queue:
            i = queue.popleft()
            members = rels[i].members()
            if not any(self.values[c] > 0 for c in members):
                continue  # counts are never negative: a zero total shows every cell is zero
            if self._count(i) != 1:
                continue
            shown = [c for c in members if not self.hidden[c]]
            if shown:
                best = min(shown, key=lambda c: (self._opens(c, i), *self._order(c)))
                self.hide(best, queue)

    def run(self) -> np.ndarray:
        queue: deque[int] = deque(range(len(self.cells.relations)))
        self.rule(queue)
        for _ in range(2 * len(self.values) + 2):
            exposed = self._exposed(queue)
            if exposed is None:
                break
            cell, group, candidates = exposed
            if cell in self._determined(group, extra=set(candidates)):
                # only the margins assumed published elsewhere determine it: those outputs
                # withhold by the same rules, which this check cannot see
                log.debug("disclosure: a small count is determined by margins outside the output")
                self.given_up.add(cell)
                continue
            self.hide(self._best_complement(cell, group, candidates), queue)
            self.rule(queue)
        return self.hidden

    # ---- the exact check ---------------------------------------------------------------------
    def equations(self, block: tuple[Any, ...]) -> list[tuple[list[int], int | None, bool]]:
        if block not in self._equations:
            self._equations[block] = slab_equations(self.cells, self.threshold, block)
        return self._equations[block]

    def _groups(self) -> list[list[tuple[Any, ...]]]:
        """Blocks holding a withheld small count, linked through cells they share."""
        small = np.flatnonzero(self.hidden & self.primary)
        todo = {b for c in small.tolist() for b in self.block_of[c]}
        groups: list[list[tuple[Any, ...]]] = []
        while todo:
            start = todo.pop()
            group, stack = [start], [start]
            while stack:
                b = stack.pop()
                for cid in self.cells.blocks[b].values():
                    for other in self.block_of[cid]:
                        if other in todo:
                            todo.discard(other)
                            group.append(other)
                            stack.append(other)
            groups.append(sorted(group, key=repr))
        return groups

    def _arrays(self, block: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
        """The margins of a block as arrays: member cells, their equation, margins, known."""
        if block not in self._arrays_cache:
            eqs = self.equations(block)
            members = np.array([c for m, _g, _k in eqs for c in m], dtype=np.int64)
            eq_of = np.repeat(np.arange(len(eqs)), [len(m) for m, _g, _k in eqs])
            margin = np.array([-1 if g is None else g for _m, g, _k in eqs], dtype=np.int64)
            known = np.array([k for _m, _g, k in eqs], dtype=bool)
            self._arrays_cache[block] = (members, eq_of, margin, known)
        return self._arrays_cache[block]

    def _determined(
        self,
        blocks: list[tuple[Any, ...]],
        extra: set[int] | None = None,
        oversized: list[int] | None = None,
    ) -> list[int]:
        """Withheld small counts that the margins of ``blocks`` determine (``extra``: cells
        taken as withheld too)."""
        hidden = self.hidden.copy()
        if extra:
            hidden[list(extra)] = True
        parts = [self._arrays(b) for b in blocks]
        offsets = np.cumsum([0] + [len(p[2]) for p in parts])
        members = np.concatenate([p[0] for p in parts])
        eq_of = np.concatenate([p[1] + off for p, off in zip(parts, offsets, strict=False)])
        margin = np.concatenate([p[2] for p in parts])
        known = np.concatenate([p[3] for p in parts])
        n_eq = len(margin)
        if n_eq == 0:
            return []
        mh = hidden[members]
        active = np.zeros(n_eq, dtype=bool)
        active[eq_of[mh]] = True  # equations with a withheld member: they tell something
        margin_hidden = (margin >= 0) & hidden[np.maximum(margin, 0)]
        active |= margin_hidden
        # variables: withheld cells (members or margins), and unknown margins outside
        entries_eq = eq_of[mh & active[eq_of]]
        entries_var = members[mh & active[eq_of]]
        var_of: dict[tuple[str, int], int] = {}
        row_entries: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for e, c in zip(entries_eq.tolist(), entries_var.tolist(), strict=True):
            row_entries[e].append((var_of.setdefault(("c", c), len(var_of)), 1.0))
        for e in np.flatnonzero(active & margin_hidden).tolist():
            row_entries[e].append((var_of.setdefault(("c", int(margin[e])), len(var_of)), -1.0))
        for e in np.flatnonzero(active & (margin < 0) & ~known).tolist():
            row_entries[e].append((var_of.setdefault(("m", e), len(var_of)), -1.0))
        if not var_of:
            return []
        # split into independent systems (variables linked through equations)
        parent = list(range(len(var_of)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for row in row_entries.values():
            first = find(row[0][0])
            for v, _ in row[1:]:
                r = find(v)
                if r != first:
                    parent[r] = first
        comp_rows: dict[int, list[list[tuple[int, float]]]] = defaultdict(list)
        for row in row_entries.values():
            comp_rows[find(row[0][0])].append(row)
        names = {v: key for key, v in var_of.items()}
        out: list[int] = []
        for rows in comp_rows.values():
            local = sorted({v for row in rows for v, _ in row})
            if len(local) > EXACT_CHECK_LIMIT:
                # too large to check exactly: never weaker than documented, so every cell of
                # it is treated as determined (the caller withholds more)
                log.info("disclosure: %d withheld cells linked; too many to check", len(local))
                if oversized is not None:
                    oversized.extend(c for kind, c in (names[v] for v in local) if kind == "c")
                continue
            index = {v: i for i, v in enumerate(local)}
            a = np.zeros((len(rows), len(local)))
            for j, row in enumerate(rows):
                for v, coef in row:
                    a[j, index[v]] += coef
            # the unknowns' free directions: the null space of A, that of the Gram matrix A'A
            # (one BLAS thread: on a shared machine more threads make a small eigh far slower)
            with threadpool_limits(limits=1, user_api="blas"):
                eigval, eigvec = np.linalg.eigh(a.T @ a)
            tol = 1e-8 * max(1.0, float(eigval[-1]))
            null = eigvec[:, eigval <= tol]
            free = np.linalg.norm(null, axis=1) if null.size else np.zeros(len(local))
            for v in local:
                kind, c = names[v]
                if kind == "c" and self.primary[c] and free[index[v]] < 1e-6:
                    out.append(c)
        return out

    def _exposed(self, queue: deque[int]) -> tuple[int, list[tuple[Any, ...]], list[int]] | None:
        for group in self._groups():
            key = tuple(group)
            versions = tuple(self.version[b] for b in group)
            if self.checked.get(key) == versions:
                continue  # unchanged since it was found safe
            withheld = sum(
                int(self.hidden[c]) for b in group for c in self.cells.blocks[b].values()
            )
            oversized: list[int] = []
            if withheld > 4 * EXACT_CHECK_LIMIT:
                oversized = [c for b in group for c in self.cells.blocks[b].values()]
                determined = []
            else:
                determined = [
                    c
                    for c in self._determined(group, oversized=oversized)
                    if c not in self.given_up
                ]
            if oversized:
                # too many linked cells to check exactly: withhold every non-zero count of the
                # blocks involved (more than needed, never less)
                log.info("disclosure: %d linked cells too many to check; all withheld", withheld)
                before = int(self.hidden.sum())
                blocks = {b for c in oversized for b in self.block_of[c]}
                for b in blocks:
                    for c in self.cells.blocks[b].values():
                        if self.values[c] > 0:
                            self.hide(c, queue)
                self.rule(queue)
                if int(self.hidden.sum()) == before:
                    self.checked[key] = tuple(self.version[b] for b in group)
                continue
            if not determined:
                self.checked[key] = versions
                continue
            cell = min(determined, key=lambda c: self.cells.keys[c])
            candidates = sorted(
                {
                    cid
                    for b in group
                    for cid in self.cells.blocks[b].values()
                    if not self.hidden[cid]
                },
                key=self._order,
            )
            return cell, group, candidates
        return None

    def _best_complement(
        self, cell: int, group: list[tuple[Any, ...]], candidates: list[int]
    ) -> int:
        """A candidate that frees ``cell``: first those in a relation with it, smallest first."""
        near = {c for i in self.of_cell[cell] for c in self.cells.relations[i].members()}
        ordered = [c for c in candidates if c in near] + [c for c in candidates if c not in near]
        withheld = sum(int(self.hidden[c]) for b in group for c in self.cells.blocks[b].values())
        if withheld <= 300:  # small systems: try a few, so as to withhold no more than needed
            for c in ordered[:6]:
                if cell not in self._determined(group, extra={c}):
                    return c
        return ordered[0]


def protect(cells: Cells, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """(withheld, primary) flags per cell."""
    p = _Protector(cells, threshold)
    hidden = p.run()
    return hidden, p.primary


def suppress(table: pa.Table, threshold: int = DEFAULT_THRESHOLD) -> pa.Table:
    """Disclosure control of an indicator table (see the module docstring).

    Returns the same rows and columns; numerator, denominator, value and gap are null where
    withheld, and ``numerator_flag`` / ``denominator_flag`` / ``value_flag`` say why: ``<10``
    (a small count), ``suppressed`` (withheld so that a small count cannot be worked out, or a
    rate of a withheld count); null where the number is shown.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    for c in (*ROLES, "period", "place_code", *DISAGGREGATIONS):
        if c not in table.column_names:
            raise ValueError(f"suppress: the table has no column {c!r}")
    cells, row_cells = build_cells(table, threshold)
    hidden, primary = protect(cells, threshold)
    small = primary_text(threshold)
    flags: dict[str, list[str | None]] = {role: [] for role in ROLES}
    for pair in row_cells:
        for role, cid in zip(ROLES, pair, strict=True):
            if cid is None or not hidden[cid]:
                flags[role].append(None)
            else:
                flags[role].append(small if primary[cid] else SUPPRESSED)
    num_flag = pa.array(flags["numerator"], pa.string())
    den_flag = pa.array(flags["denominator"], pa.string())
    any_flag = pc.or_(pc.is_valid(num_flag), pc.is_valid(den_flag))
    has_value = (
        pc.is_valid(table.column("value"))
        if "value" in table.column_names
        else pa.array([True] * table.num_rows)
    )
    value_flag = pc.if_else(pc.and_(any_flag, has_value), SUPPRESSED, pa.scalar(None, pa.string()))
    out = table
    out = _null_where(out, "numerator", pc.is_valid(num_flag))
    out = _null_where(out, "denominator", pc.is_valid(den_flag))
    for c in ("value", "gap"):
        out = _null_where(out, c, any_flag)
    out = _set(out, "numerator_flag", num_flag)
    out = _set(out, "denominator_flag", den_flag)
    out = _set(out, "value_flag", value_flag)
    meta = dict(table.schema.metadata or {})
    meta[b"corridor.suppressed"] = b"true"
    meta[b"corridor.threshold"] = str(threshold).encode()
    return out.replace_schema_metadata(meta)


def _null_where(table: pa.Table, name: str, mask: Any) -> pa.Table:
    if name not in table.column_names:
        return table
    col = table.column(name)
    nulls = pa.scalar(None, col.type)
    return _set(table, name, pc.if_else(mask, nulls, col))


def _set(table: pa.Table, name: str, values: Any) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def is_suppressed(table: pa.Table) -> bool:
    meta = table.schema.metadata or {}
    return meta.get(b"corridor.suppressed") == b"true"


def threshold_of(table: pa.Table, default: int = DEFAULT_THRESHOLD) -> int:
    meta = table.schema.metadata or {}
    raw = meta.get(b"corridor.threshold")
    return int(raw) if raw else default


def withheld(table: pa.Table) -> int:
    """How many counts of a suppressed table are withheld (numerator and denominator cells)."""
    n = 0
    for role in ROLES:
        name = f"{role}_flag"
        if name in table.column_names:
            n += table.num_rows - table.column(name).null_count
    return n


__all__: Sequence[str] = (
    "disclosure_note",
    "is_suppressed",
    "method_of",
    "publish",
    "suppress",
    "threshold_of",
    "withheld",
)


def publish(table: pa.Table, settings: Settings) -> pa.Table:
    """The one disclosure function: every count that leaves the analyst's own access passes here.

    The CLI (every format), the report, the demo and the HTTP API call this and nothing else, so
    that one method, with one set of parameters from the settings, holds across all outputs:

    * ``disclosure_method = cellkey`` (the default): every count perturbed by the cell-key method
      (:mod:`corridor.indicators.cellkey`), rates from the published counts. It needs the cell
      keys that ``compute_indicators`` gives (``numerator_key`` / ``denominator_key``); a table
      without them (a one-off table of counts that have no record keys) is suppressed instead;
    * ``disclosure_method = suppression``: :func:`suppress` with the threshold.

    Either way the key columns never leave.
    """
    from corridor.indicators.cellkey import KEY_COLUMNS, has_keys, perturb_table

    threshold = settings.suppression_threshold
    if settings.disclosure_method == "cellkey" and has_keys(table):
        return perturb_table(table, perturbation_table(settings))
    out = suppress(table, threshold)
    return out.drop_columns([c for c in KEY_COLUMNS if c in out.column_names])


def perturbation_table(settings: Settings) -> PerturbationTable:
    """The perturbation table of the settings (ConfigError names a bad combination)."""
    from corridor.errors import ConfigError
    from corridor.indicators.ptable import build_ptable

    try:
        return build_ptable(
            settings.disclosure_max_noise,
            settings.disclosure_variance,
            settings.suppression_threshold,
        )
    except ValueError as exc:
        raise ConfigError(
            f"settings disclosure_max_noise={settings.disclosure_max_noise}, "
            f"disclosure_variance={settings.disclosure_variance}: {exc}"
        ) from None


def method_of(table: pa.Table) -> str:
    """``cellkey`` or ``suppression`` (for a table that went through :func:`publish`)."""
    meta = table.schema.metadata or {}
    return (meta.get(b"corridor.method") or b"suppression").decode()


def disclosure_note(table: pa.Table) -> str:
    """The line every published output carries about its disclosure control."""
    from corridor.indicators.cellkey import totals_note

    t = threshold_of(table)
    if method_of(table) == "cellkey":
        return f"{totals_note()} No count from 1 to {t - 1} is published."
    return (
        f"counts 1-{t - 1} shown as <{t}; 'suppressed': withheld so that they cannot be worked "
        "out from totals."
    )
