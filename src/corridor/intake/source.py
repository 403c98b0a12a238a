"""Opening an input file: only a regular file, only up to the size setting, checked before reading.

A FIFO would block the import for ever and a device such as ``/dev/zero`` would be read until
memory runs out, so both are refused from ``stat`` alone, before the file is opened.
"""

from __future__ import annotations

import os
import stat
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
