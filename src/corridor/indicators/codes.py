"""Integer codes of tuples of columns, numbered by first appearance or densely (numpy, no
Python loop per row): the keys of cells, placements and blocks in suppression."""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

#: codes stay below this (a product of cardinalities above it is renumbered first)
CODE_LIMIT: Final = 1 << 62


def combine(parts: list[np.ndarray], n: int) -> np.ndarray:
    """One integer code per position for the tuple of ``parts`` (equal tuples, equal codes)."""
    code = np.zeros(n, np.int64)
    if n == 0:
        return code
    for p in parts:
        card = int(p.max()) + 1 if len(p) else 1
        if (int(code.max()) + 1) * card >= CODE_LIMIT:
            code = _ranks(code)
        # in place (the code is this function's own array): a million positions 4.5 ms
        # against 7.8 ms with a new array per step (six parts)
        code *= card
        code += p
    return code


def first_order(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(id of each position, first position of each id): ids numbered by first appearance."""
    n = len(code)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    top = int(code.max()) + 1
    if top > 16 * n + 1024:  # a wide range: Arrow's hash numbers them by first appearance
        enc = pa.array(code, pa.int64()).dictionary_encode()
        ids = np.asarray(enc.indices, dtype=np.int64)
        first = np.full(len(enc.dictionary), n, np.int64)
        np.minimum.at(first, ids, np.arange(n, dtype=np.int64))
        return ids, first
    # a small range: the first position of each code in a table, no sort and no hash; the
    # ids by code in a table too, so that each position is looked up once (1M positions of
    # 500k codes: 8 ms, against 16-19 ms through a running count of first positions)
    at = np.full(top, n, np.int64)
    np.minimum.at(at, code, np.arange(n, dtype=np.int64))
    is_first = np.zeros(n, bool)
    is_first[at[at < n]] = True
    first = np.flatnonzero(is_first)  # the first positions, in order
    id_of = np.empty(top, np.int64)  # (codes never met are never looked up)
    id_of[code[first]] = np.arange(len(first), dtype=np.int64)
    return id_of[code], first


def ids_of(code: np.ndarray) -> np.ndarray:
    """Dense ids of codes (equal codes, equal ids; in no particular order)."""
    if len(code) == 0:
        return code
    if int(code.max()) + 1 <= 4 * len(code) + 1024:
        return dense(code)
    return np.asarray(pa.array(code, pa.int64()).dictionary_encode().indices, dtype=np.int64)


def dense(code: np.ndarray) -> np.ndarray:
    """Codes renumbered 0.. (in the order of the codes)."""
    if len(code) == 0:
        return code
    top = int(code.max()) + 1
    if top <= 4 * len(code) + 1024:  # a small range: a table instead of a sort
        present = np.zeros(top, np.int64)
        present[code] = 1
        return (np.cumsum(present) - 1)[code]
    return _ranks(code)


def _ranks(code: np.ndarray) -> np.ndarray:
    """Per position, the rank of its code among the distinct codes (``np.unique``'s inverse):
    codes already in order counted along; else the distinct codes found by Arrow's hash, then
    only they sorted (a sort of every position took 36 ms for 400,000 codes of 5,000 values;
    this 5 ms; on 1M codes in order, many distinct, the hash was slower than numpy's sort)."""
    if (code[1:] >= code[:-1]).all():
        return np.concatenate([[0], np.cumsum(code[1:] != code[:-1])]).astype(np.int64)
    enc = pa.array(code, pa.int64()).dictionary_encode()
    distinct = np.asarray(enc.dictionary, dtype=np.int64)
    rank = np.empty(len(distinct), np.int64)
    rank[np.argsort(distinct, kind="stable")] = np.arange(len(distinct), dtype=np.int64)
    return rank[np.asarray(enc.indices, dtype=np.int64)]
