"""Storage: the Engine abstraction, its DuckDB and PostgreSQL backends, and migrations."""

from corridor.storage.engine import Engine, StorageError, connect

__all__ = ["Engine", "StorageError", "connect"]
