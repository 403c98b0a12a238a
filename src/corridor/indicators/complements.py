"""Complementary suppression where no box is found: the relation rule and the exact check.

:func:`corridor.indicators.disclosure.protect` withholds a box of cells around every small count
it can (:mod:`corridor.indicators.hypercube`, :mod:`corridor.indicators.corridorboxes`); the
blocks left (a small count without a box, blocks linked through a place on two corridors) come
here as :class:`~corridor.indicators.suppresscells.Cells`. :class:`Protector` withholds by the
classic rule (in every relation, never exactly one withheld cell: withhold one more), then checks
exactly: for each group of linked blocks, linear algebra (:mod:`corridor.indicators.determined`)
tells whether a withheld small count is determined by what is shown and the margins assumed
published; if it is, more cells are withheld until none is. A group too large to check is
withheld whole (more than needed, never less).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from corridor.indicators.determined import Solver
from corridor.indicators.linkedsystems import Systems, systems
from corridor.indicators.slabs import slab_arrays
from corridor.indicators.suppresscells import Cells

log = logging.getLogger("corridor.indicators")

#: the largest group of linked withheld cells checked exactly (bigger ones: the rule alone)
EXACT_CHECK_LIMIT: Final = 1000
#: how many queued relations the rule looks at together for the next one to act on
_WINDOW: Final = 256


class Protector:
    """Complementary suppression: the rule, then the exact check with more cells if needed."""

    def __init__(self, cells: Cells, threshold: int, withheld: np.ndarray | None = None) -> None:
        self.cells = cells
        self.threshold = threshold
        self.values = np.asarray(cells.values, dtype=float)
        self.primary = (self.values > 0) & (self.values < threshold)
        self.hidden = self.primary.copy()
        if withheld is not None:  # withheld already (by the hypercube method)
            self.hidden |= withheld
        self.given_up: set[int] = set()
        self.checked: dict[tuple[tuple[Any, ...], ...], tuple[int, ...]] = {}
        self._arrays_cache: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}
        self._equations_cache: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}
        # the systems of a group with nothing more withheld, as last found, by the group and
        # its blocks' versions (any cell withheld in them moves a version on)
        self._systems_cache: tuple[tuple[Any, ...], Systems | None] | None = None
        # per relation: its withheld members (kept up to date by hide) plus an unknown margin,
        # and whether any member is non-zero; per cell: its relations (CSR arrays)
        rels = cells.relations
        sizes = np.diff(rels.ptr)
        flat = rels.flat
        rel_of = np.repeat(np.arange(len(rels), dtype=np.int64), sizes)
        virtual = rels.virtual
        self.count = np.bincount(rel_of, self.hidden[flat], len(rels)).astype(np.int64)
        self.count += virtual
        self.positive = np.bincount(rel_of, self.values[flat] > 0, len(rels)) > 0
        order = np.argsort(flat, kind="stable")
        self._rels_of = rel_of[order]
        self._rels_ptr = np.searchsorted(flat[order], np.arange(len(self.values) + 1))
        # blocks by number (cells.block_keys): the cells of each (CSR), the blocks of each
        # cell (CSR, in block order), and a version per block that every cell withheld in it
        # moves on
        self.block_list = cells.block_keys
        self.block_number = cells.block_number
        self._cells_ptr = cells.block_ptr
        self._cells_of = cells.block_cells
        bsizes = np.diff(self._cells_ptr)
        place_block = np.repeat(np.arange(len(bsizes), dtype=np.int64), bsizes)
        by_cell = np.argsort(self._cells_of, kind="stable")
        self._blocks_of = place_block[by_cell]
        self._blocks_ptr = np.searchsorted(self._cells_of[by_cell], np.arange(len(self.values) + 1))
        self.version = np.zeros(len(bsizes), np.int64)
        self._repr: list[str] | None = None
        self._groups_found: list[list[tuple[Any, ...]]] | None = None
        self.solver = Solver()

    def of_cell(self, c: int) -> np.ndarray:
        """The relations that ``c`` is a member of."""
        return self._rels_of[self._rels_ptr[c] : self._rels_ptr[c + 1]]

    def _order(self, c: int) -> tuple[int, float, int]:
        v = self.values[c]
        return (0 if v > 0 else 1, v, int(self.cells.rank[c]))

    def _in_order(self, cells: np.ndarray) -> list[int]:
        """``cells`` once each, sorted by :meth:`_order` (one sort of arrays)."""
        cells = np.unique(cells)
        v = self.values[cells]
        return cells[np.lexsort((self.cells.rank[cells], v, ~(v > 0)))].tolist()

    def hide(self, c: int, queue: deque[int]) -> None:
        if not self.hidden[c]:
            self.hidden[c] = True
            rels = self.of_cell(c)
            self.count[rels] += 1
            queue.extend(rels.tolist())
            np.add.at(
                self.version, self._blocks_of[self._blocks_ptr[c] : self._blocks_ptr[c + 1]], 1
            )

    def hide_all(self, cells: np.ndarray, queue: deque[int]) -> None:
        """``hide`` of each of ``cells`` in turn, at once: the same cells, counts, versions and
        queue (the relations of each newly withheld cell, in the order of the cells)."""
        if len(cells) == 0:
            return
        _u, first = np.unique(cells, return_index=True)
        new = cells[np.sort(first)]  # each cell once, where first met
        new = new[~self.hidden[new]]
        if len(new) == 0:
            return
        self.hidden[new] = True
        rels = self._rels_of[_ranges(self._rels_ptr, new)]
        self.count += np.bincount(rels, minlength=len(self.count))
        queue.extend(rels.tolist())
        blocks = self._blocks_of[_ranges(self._blocks_ptr, new)]
        self.version += np.bincount(blocks, minlength=len(self.version))

    def _group_cells(self, numbers: Sequence[int]) -> np.ndarray:
        """The cells of blocks ``numbers``, block after block (a cell in two, twice)."""
        return self._cells_of[_ranges(self._cells_ptr, np.asarray(numbers, np.int64))]

    def _opens(self, c: int, current: int) -> int:
        """How many other relations withholding ``c`` would leave with one withheld cell."""
        rels = self.of_cell(c)
        return int(
            np.count_nonzero((rels != current) & (self.count[rels] == 0) & self.positive[rels])
        )

    def rule(self, queue: deque[int]) -> None:
        """In every relation, never exactly one withheld cell: withhold one more, the one that
        leaves the fewest other relations with a single withheld cell (it closes a pattern),
        then the smallest."""
        rels = self.cells.relations
        while queue:
            # the relations queued so far, in turn (those queued meanwhile come after them);
            # counts are never negative: a zero total shows every cell is zero
            items = np.fromiter(queue, np.int64, len(queue))
            queue.clear()
            items = items[self.positive[items]]
            at = 0
            while at < len(items):
                # nothing changes until a relation with one withheld cell: find the next one
                window = items[at : at + _WINDOW]
                hit = np.flatnonzero(self.count[window] == 1)
                if len(hit) == 0:
                    at += len(window)
                    continue
                i = int(window[hit[0]])
                at += int(hit[0]) + 1
                shown = [c for c in rels.members(i) if not self.hidden[c]]
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
            if self._determined(group, extra=set(candidates), only=cell):
                # only the margins assumed published elsewhere determine it: those outputs
                # withhold by the same rules, which this check cannot see
                log.debug("disclosure: a small count is determined by margins outside the output")
                self.given_up.add(cell)
                continue
            self.hide(self._best_complement(cell, group, candidates), queue)
            self.rule(queue)
        return self.hidden

    # ---- the exact check ---------------------------------------------------------------------
    def _groups(self) -> list[list[tuple[Any, ...]]]:
        """Blocks holding a withheld small count, with every block linked to them through
        cells they share (a block without a small count still adds its equations over a shared
        cell: a corridor's total over its one place shows that place): found once (blocks
        never change, and every small count is withheld from the start; a table by place and
        corridor asked for them 332 times, 13 s)."""
        if self._groups_found is None:
            self._groups_found = self._find_groups()
        return self._groups_found

    def _find_groups(self) -> list[list[tuple[Any, ...]]]:
        small = np.flatnonzero(self.hidden & self.primary)
        numbers = self._blocks_of[_ranges(self._blocks_ptr, small)]
        _u, first = np.unique(numbers, return_index=True)
        blocks = self.block_list
        # in the order their small counts are met (not a set's order: that follows the hashes
        # of text, which differ from one process to the next, and so would what is withheld)
        todo = dict.fromkeys(blocks[i] for i in numbers[np.sort(first)].tolist())
        shared = np.diff(self._blocks_ptr) > 1
        groups: list[list[tuple[Any, ...]]] = []
        seen: set[tuple[Any, ...]] = set()
        while todo:
            start = next(iter(todo))
            del todo[start]
            group, stack = [start], [start]
            seen.add(start)
            while stack:
                b = self.block_number[stack.pop()]
                linked = self._group_cells([b])
                linked = linked[shared[linked]]
                for o in np.unique(self._blocks_of[_ranges(self._blocks_ptr, linked)]).tolist():
                    other = blocks[o]
                    if other not in seen:
                        seen.add(other)
                        todo.pop(other, None)
                        group.append(other)
                        stack.append(other)
            groups.append(sorted(group, key=self._repr_of))
        return groups

    def _repr_of(self, block: tuple[Any, ...]) -> str:
        if self._repr is None:
            self._repr = [repr(b) for b in self.block_list]
        return self._repr[self.block_number[block]]

    def _arrays(self, block: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
        """The margins of a block as arrays: member cells, their equation, margins, known."""
        if block not in self._arrays_cache:
            number = self.block_number[block]
            self._arrays_cache[block] = slab_arrays(self.cells, self.threshold, number)
        return self._arrays_cache[block]

    def _equations(self, blocks: list[tuple[Any, ...]]) -> tuple[np.ndarray, ...]:
        """The margins of ``blocks`` together as :meth:`_arrays` gives them, equations numbered
        block after block (kept: a group's blocks never change)."""
        key = tuple(blocks)
        if key not in self._equations_cache:
            parts = [self._arrays(b) for b in blocks]
            offsets = np.cumsum([0] + [len(p[2]) for p in parts])
            self._equations_cache[key] = (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] + off for p, off in zip(parts, offsets, strict=False)]),
                np.concatenate([p[2] for p in parts]),
                np.concatenate([p[3] for p in parts]),
            )
        return self._equations_cache[key]

    def _systems(self, blocks: list[tuple[Any, ...]]) -> Systems | None:
        """:func:`systems` of ``blocks`` with the cells withheld now; the same group asked
        again with nothing withheld since (the exact check, then the complements' search)
        takes the last answer."""
        numbers = [self.block_number[b] for b in blocks]
        key = (tuple(blocks), tuple(self.version[numbers].tolist()))
        if self._systems_cache is None or self._systems_cache[0] != key:
            self._systems_cache = (key, systems(self.hidden, *self._equations(blocks)))
        return self._systems_cache[1]

    def _determined(
        self,
        blocks: list[tuple[Any, ...]],
        extra: set[int] | None = None,
        oversized: list[int] | None = None,
        only: int | None = None,
    ) -> list[int]:
        """Withheld small counts that the margins of ``blocks`` determine (``extra``: cells
        taken as withheld too; ``only``: just this cell is asked about, so only its system is
        solved). A system of more than EXACT_CHECK_LIMIT unknowns is not solved:
        with ``oversized``, its cells are put there and nothing else is solved (the caller
        withholds more whatever the rest gives)."""
        members, eq_of, margin, known = self._equations(blocks)
        if len(margin) == 0:
            return []
        # the unknowns (withheld cells, unknown margins) split into independent systems
        if extra:
            hidden = self.hidden.copy()
            hidden[list(extra)] = True
            found = systems(hidden, members, eq_of, margin, known)
        else:
            found = self._systems(blocks)
        if found is None:
            return []
        sizes = np.bincount(found.comp)
        large = sizes > EXACT_CHECK_LIMIT
        for size in sizes[large].tolist():
            log.info("disclosure: %d withheld cells linked; too many to check", size)
        if oversized is not None and large.any():
            cell = found.cell[large[found.comp]]
            oversized.extend(cell[cell >= 0].tolist())
            return []
        # (a system too large to check is not solved: none of its cells is reported; in
        # _exposed, which passes ``oversized``, its blocks are withheld whole instead)
        small = ~large[found.comp]
        cell = found.cell
        asked = small & (cell >= 0) & self.primary[np.maximum(cell, 0)]
        if only is not None:
            asked &= cell == only
        # (only the systems holding a cell asked about go to the solver)
        wanted = np.zeros(len(sizes), bool)
        wanted[found.comp[asked]] = True
        entries = wanted[found.comp[found.var]]
        fixed = self.solver.determined(
            found.row[entries], found.var[entries], found.coef[entries], len(cell), asked
        )
        return cell[fixed].tolist()

    def _too_large_alone(self, numbers: list[int]) -> bool:
        """Whether a group of one block, none of whose cells is in another block, is too large
        to check exactly, seen from its one-dimensional margins alone (the first equations of
        :func:`slab_arrays`: a system of them lies within one of all the margins, so one too
        large among them is too large among all; then the whole block is withheld, as after
        the full check). False: not seen so (the full check decides)."""
        if len(numbers) != 1:
            return False
        block_cells = self._group_cells(numbers)
        if (np.diff(self._blocks_ptr)[block_cells] > 1).any():
            return False
        first = slab_arrays(self.cells, self.threshold, numbers[0], orders=1)
        return links_over_limit(self.hidden, first)

    def _exposed(self, queue: deque[int]) -> tuple[int, list[tuple[Any, ...]], list[int]] | None:
        for group in self._groups():
            key = tuple(group)
            numbers = [self.block_number[b] for b in group]
            versions = tuple(self.version[numbers].tolist())
            if self.checked.get(key) == versions:
                continue  # unchanged since it was found safe
            group_cells = self._group_cells(numbers)
            withheld = int(np.count_nonzero(self.hidden[group_cells]))
            oversized: list[int] = []
            determined: list[int] = []
            if withheld > 4 * EXACT_CHECK_LIMIT:
                oversized = group_cells.tolist()
            elif withheld > EXACT_CHECK_LIMIT and self._too_large_alone(numbers):
                oversized = group_cells.tolist()  # (their block: the one of the group)
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
                found = self._blocks_of[_ranges(self._blocks_ptr, np.asarray(oversized, np.int64))]
                _u, first = np.unique(found, return_index=True)
                every = self._group_cells(found[np.sort(first)].tolist())  # (as first met)
                self.hide_all(every[self.values[every] > 0], queue)
                self.rule(queue)
                if int(self.hidden.sum()) == before:
                    self.checked[key] = tuple(self.version[numbers].tolist())
                continue
            if not determined:
                self.checked[key] = versions
                continue
            cell = min(determined, key=lambda c: int(self.cells.rank[c]))
            return cell, group, self._in_order(group_cells[~self.hidden[group_cells]])
        return None

    def _best_complement(
        self, cell: int, group: list[tuple[Any, ...]], candidates: list[int]
    ) -> int:
        """A candidate that frees ``cell``: first those in a relation with it, smallest first."""
        near = {c for i in self.of_cell(cell).tolist() for c in self.cells.relations.members(i)}
        ordered = [c for c in candidates if c in near] + [c for c in candidates if c not in near]
        group_cells = self._group_cells([self.block_number[b] for b in group])
        withheld = int(np.count_nonzero(self.hidden[group_cells]))
        if withheld <= 300:  # small systems: try a few, so as to withhold no more than needed
            touches = self._touches(group, cell)
            for c in ordered[:6]:
                if touches(c) and not self._determined(group, extra={c}, only=cell):
                    return c
        return ordered[0]

    def _touches(self, group: list[tuple[Any, ...]], cell: int) -> Callable[[int], bool]:
        """Whether a cell sits in an equation of the system that determines ``cell``. One that
        does not cannot free it: withholding it adds it, and the equations that hold it, to
        other systems only, and leaves that one as it is (the same answer, without solving;
        on the table by place and corridor, 38 of 48 candidates tried)."""
        members, eq_of, margin, _known = self._equations(group)
        found = self._systems(group)
        if found is None or not (found.cell == cell).any():
            return lambda c: True
        at = np.flatnonzero(found.cell == cell)
        rows = np.zeros(len(margin), bool)
        rows[found.row[found.comp[found.var] == found.comp[at[0]]]] = True
        return lambda c: bool(rows[eq_of[members == c]].any() or rows[margin == c].any())


def _ranges(ptr: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The positions ``ptr[i]:ptr[i + 1]`` of each of ``items`` in turn (CSR rows, gathered)."""
    starts = ptr[items]
    sizes = ptr[items + 1] - starts
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return shift + np.arange(total, dtype=np.int64)


def links_over_limit(hidden: np.ndarray, equations: tuple[np.ndarray, ...]) -> bool:
    """Whether ``equations`` (as :func:`slab_arrays` gives them) link more withheld cells
    (``hidden``) in one system than EXACT_CHECK_LIMIT."""
    found = systems(hidden, *equations)
    if found is None or not (np.bincount(found.comp) > EXACT_CHECK_LIMIT).any():
        return False
    log.info("disclosure: more than %d withheld cells linked", EXACT_CHECK_LIMIT)
    return True
