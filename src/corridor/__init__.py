"""Corridor: health of migrants and mobile populations along transport corridors.

The public Python API::

    import corridor
    ws = corridor.init_workspace("my-ws")          # or corridor.open_workspace("my-ws")
    ws.ingest(["places.csv"], kind="places")
    ws.table("places")                              # pyarrow.Table
    ws.table("services", as_="pandas")              # or "polars"
"""

from corridor.errors import CorridorError, InputError
from corridor.workspace import Workspace, init_workspace, open_workspace

__all__ = ["CorridorError", "InputError", "Workspace", "init_workspace", "open_workspace"]
__version__ = "0.1.0"
