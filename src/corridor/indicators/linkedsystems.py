"""The linear systems of the exact check of complementary suppression, built with numpy.

:mod:`corridor.indicators.disclosure` asks whether a withheld small count is determined by the
margins of a group of linked blocks. The margins are equations over the withheld cells (and the
margins that are not in the output and not known); they split into independent systems, the
connected components of the graph of equations and unknowns. Here both are built as arrays
(no Python loop per equation or unknown): the unknowns are numbered exactly as the first
construction numbered them (withheld member cells by first appearance, then withheld margins,
then one unknown margin per equation), so that each system's matrix has the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corridor.indicators.codes import first_order


def first_appearance(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values in order of first appearance, the number of each value's first
    appearance for every position); ``values`` are not negative (cells, equations)."""
    ids, first = first_order(values)
    return values[first], ids


def components(rows: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """Per column, the smallest column linked to it through rows that share columns (the
    connected components of a bipartite graph given by its edges ``rows[k]``-``cols[k]``):
    the smallest label of each row hooks its columns, then labels jump to their labels' labels,
    until no label changes (labels only decrease, so this ends)."""
    label = np.arange(n_cols, dtype=np.int64)
    if len(rows) == 0:
        return label
    _ids, row = first_appearance(rows)
    n_rows = int(row.max()) + 1
    while True:
        low = np.full(n_rows, n_cols, np.int64)
        np.minimum.at(low, row, label[cols])
        new = label.copy()
        np.minimum.at(new, cols, low[row])
        while True:
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            return label
        label = new


@dataclass
class Systems:
    """The equations of a group of blocks as entries ``coef`` at (``row``, ``var``): ``cell``
    per unknown (-1: a margin not in the output), ``comp`` per unknown (its system, numbered by
    the first equation of each, in the order the equations were first met)."""

    row: np.ndarray
    var: np.ndarray
    coef: np.ndarray
    cell: np.ndarray
    comp: np.ndarray

    @property
    def n_comps(self) -> int:
        return int(self.comp.max()) + 1 if len(self.comp) else 0


def systems(
    hidden: np.ndarray,
    members: np.ndarray,
    eq_of: np.ndarray,
    margin: np.ndarray,
    known: np.ndarray,
) -> Systems | None:
    """The unknowns and equations of the margins (member cells, the equation of each member,
    margin cell of each equation or -1, margin known?) with the cells ``hidden`` withheld;
    None when nothing is unknown.

    An equation tells something where a member or its margin is withheld; its unknowns are its
    withheld members (+1), its withheld margin (-1), or its margin when that is not in the output
    and not known (-1)."""
    mh = hidden[members]
    margin_hidden = (margin >= 0) & hidden[np.maximum(margin, 0)]
    active = margin_hidden.copy()
    active[eq_of[mh]] = True
    e_member = eq_of[mh]
    c_member = members[mh]
    e_margin = np.flatnonzero(margin_hidden)
    e_unknown = np.flatnonzero(active & (margin < 0) & ~known)
    cells_seen = np.concatenate([c_member, margin[e_margin]])
    if len(cells_seen) + len(e_unknown) == 0:
        return None
    cell_vars, var_c = first_appearance(cells_seen) if len(cells_seen) else (cells_seen, cells_seen)
    n_c = len(cell_vars)
    row = np.concatenate([e_member, e_margin, e_unknown])
    var = np.concatenate([var_c, n_c + np.arange(len(e_unknown), dtype=np.int64)])
    coef = np.concatenate(
        [np.ones(len(e_member)), -np.ones(len(e_margin)), -np.ones(len(e_unknown))]
    )
    cell = np.concatenate([cell_vars, np.full(len(e_unknown), -1, np.int64)])
    label = components(row, var, len(cell))
    # systems numbered by their smallest unknown, which is the order of their first equations
    # (unknowns are numbered as the equations meet them)
    _roots, comp = np.unique(label, return_inverse=True)
    return Systems(row, var, coef, cell, comp.reshape(-1).astype(np.int64))
