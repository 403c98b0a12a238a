"""How polars' memory allocator gives freed memory back to the system.

polars allocates with its own jemalloc, which by default keeps the pages it frees for about half
a second (``dirty_decay_ms:500``) and then hands them back lazily (``muzzy_decay_ms:1000``,
``MADV_FREE``: the kernel takes them only when it runs short). Both kinds still count as the
process's resident memory, and jemalloc only looks at them again when polars allocates. An import
frees and takes memory at every step (parse the file, validate, stage the rows, then DuckDB
writes them), so the freed pages of one step were still held while the next took new ones: the
peak of a 1M-row CSV import was 2.4 to 3.8 times the file above what the process held before,
depending only on how fast the steps followed each other (a slower run on a busy machine peaked
lower). Given back at once, the peak is 2.2 times the file, the same in every run, for some 7%
more CPU time in polars (pages taken again from the system rather than reused).

:func:`configure` asks jemalloc to give freed pages back at once (``dirty_decay_ms:0``,
``muzzy_decay_ms:0``). jemalloc reads its settings when polars loads, so this only takes effect
when ``corridor`` is imported before polars (as the command line, the API server and
``import corridor`` do); a ``dirty_decay_ms`` or ``muzzy_decay_ms`` set in ``_RJEM_MALLOC_CONF``
by the user is left as it is (``_RJEM_MALLOC_CONF=muzzy_decay_ms:1000,dirty_decay_ms:500`` keeps
polars' own).
"""

from __future__ import annotations

import os
import sys

#: the variable polars' jemalloc reads its settings from (polars prepends its own defaults)
VARIABLE = "_RJEM_MALLOC_CONF"
#: what polars sets before loading its allocator, and what a child of a process that loaded
#: polars inherits
POLARS_DEFAULT = "dirty_decay_ms:500,muzzy_decay_ms:1000"
#: freed pages back to the system at once (no time held, no lazy MADV_FREE stage)
SETTINGS = "dirty_decay_ms:0,muzzy_decay_ms:0"


def configure() -> bool:
    """Set :data:`SETTINGS` for polars' allocator; False when polars is already loaded or the
    user chose the decay times themselves (then nothing is changed)."""
    if "polars" in sys.modules:
        return False
    current = os.environ.get(VARIABLE, "")
    # what someone else set besides polars' defaults (inherited from a parent that loaded it)
    others = current.replace(POLARS_DEFAULT, "")
    if "decay_ms" in others:
        return False
    os.environ[VARIABLE] = ",".join(part for part in (current, SETTINGS) if part)
    return True
