"""The relations between the cells of a suppression: along each axis of a block, the cells
with the same coordinates elsewhere add up to a margin (in the output, or assumed published
unless small). Built as arrays (CSR: members of each relation, components then the margin) from
the cells' placements, in the order of the blocks, the axes and the first cell of each group.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from corridor.indicators.codes import combine


@dataclass
class Relation:
    """``sum(components) == margin``; margin is a cell, or None when it is not in the output."""

    components: list[int]
    margin: int | None
    virtual_unknown: bool = False  # the margin is not in the output and is itself small

    def members(self) -> list[int]:
        return self.components if self.margin is None else [*self.components, self.margin]


class Relations:
    """Relations as arrays: the members of relation ``i`` are ``flat[ptr[i]:ptr[i + 1]]``, its
    components then, where ``has_margin[i]``, its margin; ``virtual[i]``: its margin is not in
    the output and is itself small. ``relations[i]`` gives a :class:`Relation`."""

    def __init__(
        self,
        flat: np.ndarray | None = None,
        ptr: np.ndarray | None = None,
        has_margin: np.ndarray | None = None,
        virtual: np.ndarray | None = None,
    ) -> None:
        self.flat = flat if flat is not None else np.zeros(0, np.int64)
        self.ptr = ptr if ptr is not None else np.zeros(1, np.int64)
        self.has_margin = has_margin if has_margin is not None else np.zeros(0, bool)
        self.virtual = virtual if virtual is not None else np.zeros(0, bool)
        self._flat = self.flat.tolist()
        self._ptr = self.ptr.tolist()
        self._margin = self.has_margin.tolist()

    def __len__(self) -> int:
        return len(self._ptr) - 1

    def members(self, i: int) -> list[int]:
        return self._flat[self._ptr[i] : self._ptr[i + 1]]

    def __getitem__(self, i: int) -> Relation:
        m = self.members(i)
        if self._margin[i]:
            return Relation(m[:-1], m[-1])
        return Relation(m, None, bool(self.virtual[i]))

    def __iter__(self) -> Iterator[Relation]:
        return (self[i] for i in range(len(self)))


def relations(
    cell_values: list[float],
    threshold: int,
    bid: np.ndarray,
    cid: np.ndarray,
    coords: np.ndarray,
    own: np.ndarray,
) -> Relations:
    """Along each axis, the cells with the same coordinates elsewhere add up to a margin (in
    the order of the blocks, then the axes, then the first cell of each group).

    Per placement of a cell: its block ``bid``, cell ``cid``, integer ``coords`` per axis (0:
    the margin) and ``own``, how many of the axes its block has."""
    found_key: list[np.ndarray] = []
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    width = coords.shape[1] if len(cid) else 0
    index = np.arange(len(cid), dtype=np.int64)
    values = np.asarray(cell_values, dtype=float)
    for j in range(width):
        idx = np.flatnonzero(own > j)
        if len(idx) == 0:
            continue
        parts = [bid[idx], own[idx]] + [coords[idx, k] for k in range(width) if k != j]
        gid = combine(parts, len(idx))
        margin = coords[idx, j] == 0
        # within a group: the components by cell, then the margin
        order = np.lexsort((cid[idx], margin, gid))
        g = gid[order]
        starts = np.flatnonzero(np.diff(g, prepend=-1))
        sizes = np.diff(np.append(starts, len(order)))
        n_margin = np.add.reduceat(margin[order].astype(np.int64), starts)
        n_comp = sizes - n_margin
        keep = (n_comp > 0) & ~((n_comp == 1) & (n_margin == 0))
        first = np.minimum.reduceat(index[idx][order], starts)
        block = bid[idx][order][starts]
        members = cid[idx][order]
        # a group without its margin in the output holds only components: their total
        total = np.add.reduceat(values[members], starts)
        found_key.append(np.stack([block[keep], np.full(int(keep.sum()), j), first[keep]]))
        found.append((members, starts[keep], n_comp[keep], n_margin[keep], total[keep]))
    if not found:
        return Relations()
    keys = np.concatenate(found_key, axis=1)
    rank = np.lexsort((keys[2], keys[1], keys[0]))
    # every group's members are contiguous in its axis' sorted cells: components, then margin
    base = np.cumsum([0] + [len(f[0]) for f in found])[:-1]
    start = np.concatenate([f[1] + b for f, b in zip(found, base, strict=True)])[rank]
    n_comp = np.concatenate([f[2] for f in found])[rank]
    has_margin = np.concatenate([f[3] > 0 for f in found])[rank]
    total = np.concatenate([f[4] for f in found])[rank]
    every = np.concatenate([f[0] for f in found])
    size = n_comp + has_margin
    if len(cid) != len(cell_values):
        # a cell placed in two blocks (two corridors): the same relation twice, kept once.
        # Only a relation of such cells alone can be listed twice: a cell placed once puts
        # both in its one block, where two relations never have the same members (along one
        # axis the groups are apart; along two, two cells cannot differ in each alone)
        twice = np.bincount(cid, minlength=len(cell_values)) > 1
        once = np.concatenate([[0], np.cumsum(~twice[every])])
        alone = once[start + size] == once[start]
        keep = np.ones(len(start), bool)
        keep[alone] = _first_of_each(every, start[alone], size[alone], has_margin[alone])
        start, n_comp, has_margin, total, size = (
            x[keep] for x in (start, n_comp, has_margin, total, size)
        )
    ptr = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
    index = np.repeat(start - ptr[:-1], size) + np.arange(int(ptr[-1]), dtype=np.int64)
    flat = every[index]
    virtual = ~has_margin & (total > 0) & (total < threshold)
    # near a bound, Python's own sum (in member order) decides, as it did row by row
    near = ~has_margin & ((np.abs(total) < 1e-6) | (np.abs(total - threshold) < 1e-6))
    for r in np.flatnonzero(near).tolist():
        exact = sum(cell_values[c] for c in flat[ptr[r] : ptr[r + 1]].tolist())
        virtual[r] = 0 < exact < threshold
    return Relations(flat, ptr, has_margin, virtual)


def _first_of_each(
    every: np.ndarray, start: np.ndarray, size: np.ndarray, has_margin: np.ndarray
) -> np.ndarray:
    """Per relation (members ``every[start:start + size]``, in order), whether it is the first
    with those members and that margin flag: relations of one size at a time, compared as rows
    (no Python tuple per relation)."""
    keep = np.zeros(len(start), bool)
    for n in np.unique(size).tolist():
        rels = np.flatnonzero(size == n)
        rows = every[start[rels, None] + np.arange(n)]
        rows = np.concatenate([rows, has_margin[rels, None].astype(np.int64)], axis=1)
        _u, first = np.unique(rows, axis=0, return_index=True)
        keep[rels[first]] = True
    return keep
