"""Corridor: health of migrants and mobile populations along transport corridors.

The public Python API::

    import corridor
    ws = corridor.init_workspace("my-ws")          # or corridor.open_workspace("my-ws")
    ws.ingest(["places.csv"], kind="places")
    ws.table("places")                              # pyarrow.Table
    ws.table("services", as_="pandas")              # or "polars"

The workspace functions load on first use (PEP 562), so that ``import corridor`` and the
command line's ``--help`` do not pay for pyarrow, DuckDB and friends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corridor import allocator
from corridor.errors import CorridorError, InputError

allocator.configure()  # before anything loads polars (see corridor.allocator)

if TYPE_CHECKING:
    from corridor.workspace import Workspace, init_workspace, open_workspace

__all__ = ["CorridorError", "InputError", "Workspace", "init_workspace", "open_workspace"]
__version__ = "0.1.0"

_LAZY = {"Workspace", "init_workspace", "open_workspace"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from corridor import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module 'corridor' has no attribute {name!r}")
