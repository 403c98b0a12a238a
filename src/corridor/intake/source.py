"""Opening an input file: only a regular file, only up to the size setting, checked before reading.

A FIFO would block the import for ever and a device such as ``/dev/zero`` would be read until
memory runs out, so both are refused from ``stat`` alone, before the file is opened.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from corridor.errors import file_error

#: the default of the ``max_file_mb`` setting (megabytes of 1,048,576 bytes)
DEFAULT_MAX_FILE_MB = 4096


def check_source(path: Path, name: str, max_bytes: int | None) -> int:
    """The size of ``path`` in bytes; a file error when it is not a regular file or too big."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise file_error(name, "file not found") from None
    except OSError as exc:
        raise file_error(name, f"cannot read file: {exc.strerror}") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise file_error(name, "is a folder, not a file")
    if not stat.S_ISREG(mode):
        what = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a special file"
        )
        raise file_error(name, f"not a regular file ({what}): save the data to a file first")
    if max_bytes is not None and info.st_size > max_bytes:
        raise file_error(
            name,
            f"file too large: {info.st_size:,} bytes, more than the max_file_mb setting allows "
            f"({max_bytes:,} bytes); raise the setting to import it",
        )
    return info.st_size


def read_source(path: Path, name: str, max_bytes: int | None) -> bytes:
    """The bytes of a regular file within the size limit (see :func:`check_source`)."""
    check_source(path, name, max_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as exc:
        raise file_error(name, f"cannot read file: {exc.strerror}") from None
    if max_bytes is not None and len(data) > max_bytes:  # it grew while being read
        raise file_error(name, f"file too large: more than {max_bytes:,} bytes")
    return data


#: bytes of a file read at a time by :func:`scan_source`, and kept as its head
BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Scanned:
    """What one pass over a file found, without holding it: for readers that read the file
    themselves (in batches) instead of its bytes."""

    sha256: str
    head: bytes  #: the first :data:`BLOCK` bytes
    stamp: tuple[int, int]  #: size and modification time, to see that it did not change


def scan_source(path: Path, name: str, max_bytes: int | None) -> Scanned:
    """Hash a regular file within the size limit a block at a time (see :func:`check_source`)."""
    check_source(path, name, max_bytes)
    digest = hashlib.sha256()
    head = b""
    size = 0
    try:
        with open(path, "rb") as fh:
            stamp = _stamp(os.fstat(fh.fileno()))
            while block := fh.read(BLOCK):
                if not head:
                    head = block
                digest.update(block)
                size += len(block)
                if max_bytes is not None and size > max_bytes:  # it grew while being read
                    raise file_error(name, f"file too large: more than {max_bytes:,} bytes")
    except OSError as exc:
        raise file_error(name, f"cannot read file: {exc.strerror}") from None
    return Scanned(digest.hexdigest(), head, stamp)


def read_head(path: Path, name: str, max_bytes: int | None) -> bytes:
    """The first :data:`BLOCK` bytes of a regular file within the size limit."""
    check_source(path, name, max_bytes)
    try:
        with open(path, "rb") as fh:
            return fh.read(BLOCK)
    except OSError as exc:
        raise file_error(name, f"cannot read file: {exc.strerror}") from None


def check_unchanged(path: Path, name: str, scanned: Scanned) -> None:
    """A file error when the file changed since :func:`scan_source` hashed it (its hash would
    not be the hash of what was read)."""
    try:
        now = _stamp(os.stat(path))
    except OSError as exc:
        raise file_error(name, f"cannot read file: {exc.strerror}") from None
    if now != scanned.stamp:
        raise file_error(name, "the file changed while it was being read: import it again")


def _stamp(info: os.stat_result) -> tuple[int, int]:
    return info.st_size, info.st_mtime_ns
