"""Writing an output file whole or not at all, with clean errors.

Every command that writes a file (``--out``) goes through :func:`output_file`: the file is written
to a temporary file beside it and renamed into place, so a failed or interrupted write leaves no
half-written file; a place that cannot be written (a read-only folder, under a regular file,
``/proc``) is an :class:`~corridor.errors.OutputError` (exit 2); and a path that is one of the
workspace's own files (its settings or its warehouse) is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Final

from corridor.errors import OutputError

#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(text: str) -> str:
    """A text cell as a spreadsheet must show it: a quote before a formula-leading character.

    The OWASP rule: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading ``'``, so that ``=cmd|' /C calc'!A0`` is shown, never run. A cell that
    is a plain number (``-12.5``) is a number, not a formula, and is left as it is.
    """
    if text and text[0] in FORMULA_START and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_not_protected(out: Path, protected: Sequence[Path]) -> None:
    """Refuse ``out`` when it is (or links to) one of the ``protected`` files."""
    for p in protected:
        if _same(out, p):
            raise OutputError(
                f"refusing to write {out}: it is the workspace's own file {p.name} "
                "(writing it would destroy the workspace); choose another --out"
            )


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextlib.contextmanager
def output_file(out: Path, protected: Sequence[Path] = ()) -> Iterator[BinaryIO]:
    """A binary stream for ``out``; renamed into place only when the block ends without error."""
    check_not_protected(out, protected)
    try:
        st = out.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {_reason(exc)}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {out}: it is a folder; name a file")
    if st is not None and not stat.S_ISREG(st.st_mode):
        # a device, FIFO or terminal (/dev/stdout): written in place, nothing to rename
        try:
            with open(out, "wb") as fh:
                yield fh
        except OSError as exc:
            raise OutputError(f"cannot write {out}: {_reason(exc)}") from None
        return
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            f"cannot write {out}: {_first_file(folder)} is a file, not a folder"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {_reason(exc)}") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {_reason(exc)}") from None
    done = False
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                yield fh
            except OSError as exc:
                raise OutputError(f"cannot write {out}: {_reason(exc)}") from None
        if st is not None:
            with contextlib.suppress(OSError):
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            os.replace(tmp, out)
        except OSError as exc:
            raise OutputError(f"cannot write {out}: {_reason(exc)}") from None
        done = True
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _first_file(folder: Path) -> Path:
    """The first part of ``folder`` that exists and is not a folder."""
    for p in reversed((folder, *folder.parents)):
        if p.exists() and not p.is_dir():
            return p
    return folder


__all__ = ("FORMULA_START", "check_not_protected", "neutralise", "output_file")
