"""Which unknowns of a linear system its equations fix: the core of the exact check.

An unknown is determined when every solution of the equations gives it the same value, that is
when it has no component in the null space of the matrix. Before the linear algebra the system
is made smaller without changing the answer:

* **peeling**: an unknown that is not asked about and sits in one equation only can take any
  value that equation needs, so the equation says nothing about the other unknowns; both go,
  and again until none is left (the unknown margins of a table, one per equation, go first).
  An asked unknown left without an equation is free;
* **handing on**: an asked unknown that sits in one equation only, with one other unknown,
  is fixed exactly when that other unknown is fixed by the other equations (a combination of
  equations that gives it must take that equation once, and the rest must cancel the other
  unknown); the equation goes and the question passes to the other unknown. Two asked
  unknowns alone together in one equation are both free. Then peeling again, and so on (on
  the demonstration world's year 2019, 700 small counts each tied to one of 108 others: a
  system of 750 x 808 became one of 50 x 108);
* **splitting**: what is left falls into independent systems again, and only those holding an
  asked unknown are solved, each as the eigendecomposition of its Gram matrix, with one BLAS
  thread (more threads make a small ``eigh`` far slower on a shared machine);
* **remembering**: the same system (the same entries in the same order) gives the same answer,
  so it is solved once. The exact check asks about the same systems again and again: a table by
  place and corridor solved 1,381 systems, 783 of them distinct.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from corridor.indicators.linkedsystems import components

_BLAS: list[ThreadpoolController] = []


def _one_blas_thread() -> Any:
    """A context with one BLAS thread. The BLAS libraries are found once (a
    ``threadpool_limits`` scans the process's libraries each time: 1.8 ms, which, around each of
    tens of thousands of small systems, was most of the exact check's time)."""
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def peel(row: np.ndarray, col: np.ndarray, n_cols: int, asked: np.ndarray) -> np.ndarray:
    """Per entry, whether its equation is kept after peeling (see the module docstring)."""
    n_rows = int(row.max()) + 1 if len(row) else 0
    kept_row = np.ones(n_rows, bool)
    gone = asked.copy()  # asked unknowns are never peeled
    while True:
        live = kept_row[row]
        count = np.bincount(col[live], minlength=n_cols)
        single = (count == 1) & ~gone
        if not single.any():
            return live
        kept_row[row[live & single[col]]] = False
        gone |= single


class Solver:
    """Determined unknowns of systems given as entries; each distinct system solved once."""

    def __init__(self) -> None:
        self._known: dict[bytes, np.ndarray] = {}

    def determined(
        self, row: np.ndarray, col: np.ndarray, coef: np.ndarray, n_cols: int, asked: np.ndarray
    ) -> np.ndarray:
        """Per unknown (column ``0..n_cols-1``), whether it is asked and determined by the
        equations whose entries are ``coef`` at (``row``, ``col``)."""
        out = np.zeros(n_cols, bool)
        first = asked
        row, col, coef, asked, handed = _reduce(row, col, coef, n_cols, asked)
        has = np.zeros(n_cols, bool)
        has[col] = True
        if not (asked & has).any():
            return _handed_back(out, handed) & first  # every asked unknown is free
        label = components(row, col, n_cols)
        wanted = np.zeros(n_cols, bool)
        wanted[label[asked & has]] = True
        keep = wanted[label[col]]
        row, col, coef = row[keep], col[keep], coef[keep]
        order = np.lexsort((np.arange(len(col)), label[col]))
        row, col, coef = row[order], col[order], coef[order]
        starts = np.flatnonzero(np.r_[True, label[col][1:] != label[col][:-1]])
        for lo, hi in zip(starts.tolist(), [*starts[1:].tolist(), len(col)], strict=True):
            cols, c_local = np.unique(col[lo:hi], return_inverse=True)
            rows, r_local = np.unique(row[lo:hi], return_inverse=True)
            fixed = self._solve(
                r_local.reshape(-1), c_local.reshape(-1), coef[lo:hi], len(rows), len(cols)
            )
            out[cols] = fixed & asked[cols]
        return _handed_back(out, handed) & first

    def _solve(
        self, r: np.ndarray, c: np.ndarray, coef: np.ndarray, n_rows: int, n_cols: int
    ) -> np.ndarray:
        # (positions as 32-bit integers: with 64-bit ones the keys of the table by corridor,
        # 794 distinct systems of about 1,050 entries, would hold about 20 MB)
        key = b"".join(
            [
                np.array([n_rows, n_cols], np.int64).tobytes(),
                r.astype(np.int32).tobytes(),
                c.astype(np.int32).tobytes(),
                coef.tobytes(),
            ]
        )
        if key not in self._known:
            a = np.zeros((n_rows, n_cols))
            np.add.at(a, (r, c), coef)
            # the unknowns' free directions: the null space of A, that of the Gram matrix A'A
            with _one_blas_thread():
                eigval, eigvec = np.linalg.eigh(a.T @ a)
            tol = 1e-8 * max(1.0, float(eigval[-1]))
            null = eigvec[:, eigval <= tol]
            free = np.linalg.norm(null, axis=1) if null.size else np.zeros(n_cols)
            self._known[key] = free < 1e-6
        return self._known[key]


def _reduce(
    row: np.ndarray, col: np.ndarray, coef: np.ndarray, n_cols: int, asked: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Peeling and handing on (see the module docstring), until neither changes anything:
    the entries left, the unknowns asked about now, and what was handed on, pass by pass
    (each asked unknown and the one whose answer it takes; -1: free)."""
    # (an entry repeated at one place counts twice here: such an equation or unknown is
    # neither peeled nor handed on, and the linear algebra adds the entries up)
    n_rows = int(row.max()) + 1 if len(row) else 0
    asked = asked.copy()
    handed: list[tuple[np.ndarray, np.ndarray]] = []
    while True:
        live = peel(row, col, n_cols, asked)
        row, col, coef = row[live], col[live], coef[live]
        per_row = np.bincount(row, minlength=n_rows)
        per_col = np.bincount(col, minlength=n_cols)
        lone = asked[col] & (per_col[col] == 1) & (per_row[row] == 2)
        if not lone.any():
            return row, col, coef, asked, handed
        rows = np.zeros(n_rows, bool)
        rows[row[lone]] = True
        pair = np.flatnonzero(rows[row])  # the two entries of each such equation
        pair = pair[np.argsort(row[pair], kind="stable")]
        a, b = col[pair[0::2]], col[pair[1::2]]
        a_lone = asked[a] & (per_col[a] == 1)
        b_lone = asked[b] & (per_col[b] == 1)
        both = a_lone & b_lone
        x = np.concatenate([a[both], b[both], a[a_lone & ~both], b[b_lone & ~both]])
        y = np.concatenate([np.full(2 * int(both.sum()), -1), b[a_lone & ~both], a[b_lone & ~both]])
        handed.append((x, y))
        asked[x] = False
        asked[y[y >= 0]] = True
        keep = ~rows[row]
        row, col, coef = row[keep], col[keep], coef[keep]


def _handed_back(out: np.ndarray, handed: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each unknown that handed its question on takes the answer it was handed back (in
    reverse order: an unknown handed to may have handed on later)."""
    for x, y in reversed(handed):
        out[x] = np.where(y >= 0, out[np.maximum(y, 0)], False)
    return out
