"""``restore --replace`` of a workspace's DuckDB file: the backup in its place, or nothing changed.

:func:`replace_file` holds the file as DuckDB does (no other process may open it meanwhile),
restores the backup into a new file beside it, and only when that restore has committed moves
the current file (and its ``.wal``) aside to ``<name>.replaced-<UTC time>`` and the new file into
its place. A backup that is refused, or a restore that fails, removes the new file and leaves
the current one where and as it was; should the swap itself fail after the current file was
moved, it is put back. Every refusal (another process holding the file included) ends "Nothing
was changed: the warehouse FILE is as it was". On PostgreSQL (or a DuckDB file named by
``--db``) the rows are replaced in one transaction instead: ``backup.restore(engine, folder,
replace=True)``.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from corridor.errors import CorridorError, WorkspaceError
from corridor.storage import backup
from corridor.storage.backup import BackupError
from corridor.storage.engine import connect
from corridor.storage.restorecheck import unchanged

#: how long ``restore --replace`` waits for another process to let go of the DuckDB file: not at
#: all, unlike other commands (an import that finishes meanwhile would be moved aside with it)
LOCK_WAIT_S: Final = 0.0


@dataclass(frozen=True, slots=True)
class Replaced:
    """What a replacing restore did."""

    counts: dict[str, int]  # rows restored per table
    aside: Path | None  # where the previous warehouse file now is (None: there was none)


def _wal(file: Path) -> Path:
    return file.with_name(file.name + ".wal")


@contextmanager
def holding(file: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the DuckDB file at ``file`` as DuckDB does (an fcntl lock on the whole file), so that
    no other process has it open while it is moved; refuse as every command does when another
    process holds it (after ``wait_s``). The lock follows the file when it is renamed."""
    from corridor.storage.duckdb import DuckDBEngine, busy, server_holding

    if not file.exists():
        yield
        return
    if server_holding(file) is not None:
        raise busy(str(file))
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: prove it free by opening it once
        DuckDBEngine(file, wait_s=wait_s).close()
        yield
        return
    try:
        fd = os.open(file, os.O_RDWR)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot open {file} to replace it: {exc.strerror or exc}. Nothing was changed"
        ) from None
    try:
        deadline = time.monotonic() + wait_s
        delay = 0.05
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise WorkspaceError(
                        f"cannot lock {file} to replace it: {exc.strerror or exc}. "
                        "Nothing was changed"
                    ) from None
                if server_holding(file) is None and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                raise busy(str(file), wait_s or None) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove(file: Path) -> None:
    for path in (file, _wal(file)):
        path.unlink(missing_ok=True)


def replace_file(file: Path, folder: Path, *, wait_s: float = LOCK_WAIT_S) -> Replaced:
    """Restore the backup in ``folder`` in the place of the DuckDB file ``file`` (damaged or
    not, or absent). A refused backup (:class:`BackupError`), a file another process holds or a
    failed restore leaves ``file`` as it was; the error ends saying so, as every refused restore
    does."""
    new = file.with_name(f"{file.name}.restoring-{os.getpid()}")
    with ExitStack() as held:
        try:
            held.enter_context(holding(file, wait_s))
            _remove(new)  # (left by a process of this number that was killed)
            counts = _restore_new(new, folder)
        except CorridorError as exc:
            raise BackupError(unchanged(str(exc), str(file))) from exc
        return Replaced(counts, _swap(new, file))


def _restore_new(new: Path, folder: Path) -> dict[str, int]:
    """The backup in ``folder`` restored into the new DuckDB file ``new``, which is removed
    again should that fail."""
    try:
        engine = connect(str(new))
        try:
            from corridor.storage.migrations import migrate

            migrate(engine)
            return backup.restore(engine, folder)
        finally:
            engine.close()
    except BaseException:
        _remove(new)
        raise


def _aside(file: Path) -> Path:
    """A new name beside ``file`` for the warehouse it replaces (never one already there)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = file.with_name(f"{file.name}.replaced-{stamp}")
    n = 1
    while aside.exists() or _wal(aside).exists():
        aside = file.with_name(f"{file.name}.replaced-{stamp}-{n}")
        n += 1
    return aside


def _swap(new: Path, file: Path) -> Path | None:
    """Move ``file`` (and its ``.wal``) aside and ``new`` into its place; put ``file`` back if
    that fails. Returns where ``file`` went (None: there was none)."""
    aside: Path | None = None
    try:
        if file.exists():
            aside = _aside(file)
            os.replace(file, aside)
            if _wal(file).exists():
                os.replace(_wal(file), _wal(aside))
        _install(new, file)
    except OSError as exc:
        _remove(new)
        failed = f"cannot put the restored warehouse in place of {file}: {exc.strerror or exc}"
        if aside is None:
            raise BackupError(unchanged(failed, str(file))) from None
        raise BackupError(f"{failed}. {put_back(aside, file)}") from None
    return aside


def _install(new: Path, file: Path) -> None:
    """The restored file (closed: its log checkpointed) under the warehouse's name."""
    os.replace(new, file)


def put_back(aside: Path, file: Path) -> str:
    """Remove whatever is at ``file`` and move the original back from ``aside``; says what was
    done."""
    try:
        _remove(file)
        os.replace(aside, file)
        if _wal(aside).exists():
            os.replace(_wal(aside), _wal(file))
    except OSError as exc:
        return (
            f"The original warehouse could not be put back ({exc.strerror or exc}): it is "
            f"{aside}; move it to {file} by hand"
        )
    return f"The restore was undone: the original warehouse is back in place ({file})"


__all__ = ("LOCK_WAIT_S", "Replaced", "holding", "put_back", "replace_file")
