"""How deeply a JSON document nests, found without parsing it (numpy over the bytes).

A streaming parser builds a path prefix for every level it enters, so a document nested a
hundred thousand levels deep costs it memory quadratic in the depth. The streaming DHIS2 reader
measures the depth first and leaves deep documents to the whole-document reader, which refuses
them. Brackets inside strings do not count; an escaped quote does not end a string.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 1 << 24
_CLASS = np.zeros(256, np.int8)
_CLASS[ord('"')] = 1
_CLASS[ord("[")] = _CLASS[ord("{")] = 2
_CLASS[ord("]")] = _CLASS[ord("}")] = 3


def nesting_depth(data: bytes, limit: int, *, chunk: int = _CHUNK) -> int:
    """The deepest nesting of arrays and objects in ``data``; stops once it passes ``limit``.

    Reads ``chunk`` bytes at a time (memory stays a few times ``chunk``).
    """
    depth, inside, deepest = 0, 0, 0
    n = len(data)
    for off in range(0, n, chunk):
        a = np.frombuffer(data, np.uint8, count=min(chunk, n - off), offset=off)
        cls = _CLASS[a]
        pos = np.flatnonzero(cls)
        kind = cls[pos]
        quote = kind == 1
        qpos = pos[quote]
        prev = np.where(qpos > 0, a[np.maximum(qpos - 1, 0)], data[off - 1] if off else 0)
        for i in qpos[prev == 92].tolist():  # quotes right after a backslash
            if _backslashes_before(data, off + i) % 2:
                quote[np.searchsorted(pos, i)] = False
        parity = (np.cumsum(quote, dtype=np.int64) + inside) & 1
        step = np.where(kind == 2, 1, np.where(kind == 3, -1, 0))
        step[parity == 1] = 0
        running = np.cumsum(step, dtype=np.int64) + depth
        if running.size:
            deepest = max(deepest, int(running.max()))
            depth, inside = int(running[-1]), int(parity[-1])
        if deepest > limit:
            break
    return deepest


def _backslashes_before(data: bytes, i: int) -> int:
    j = i - 1
    while j >= 0 and data[j] == 92:
        j -= 1
    return i - 1 - j
