"""Checking an input file path before it is opened, with a clear reason when it is unusable."""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path
from typing import Collection

from .errors import FauError

__all__ = ["check_input_file", "files_under", "expand_pattern", "PATTERN_CHARS"]

log = logging.getLogger(__name__)


#: Characters that make a path that does not exist a wildcard pattern (Python's `glob`).
PATTERN_CHARS = frozenset("*?[")


def expand_pattern(raw: str | os.PathLike) -> list[str] | None:
    """The paths a wildcard pattern that the shell left as it was matches, or None.

    A shell expands ``fau image photos/*.jpg`` before fau sees it, but not a quoted
    pattern, Windows' ``cmd`` never does, and neither does a program that starts fau
    without a shell. A path that exists is never a pattern (a file may be named
    ``a[1].jpg``); one that does not and holds ``*``, ``?`` or ``[`` is expanded by
    `glob.glob` (``**`` spans folders; hidden files are left out, as a shell does),
    sorted by name.

    Returns
    -------
    list of str or None
        The matches (a pattern that matches nothing is a `FauError`), or None when
        ``raw`` is not a pattern.
    """
    import glob

    text = os.fspath(raw)
    if not isinstance(text, str) or not PATTERN_CHARS & set(text) or os.path.lexists(text):
        return None
    found = sorted(glob.glob(text, recursive=True))
    if not found:
        raise FauError(f"{text!r} does not exist, and as a wildcard pattern it matches no file")
    return found


def files_under(folder: str | os.PathLike, extensions: Collection[str]) -> list[Path]:
    """The files under ``folder`` whose extension (lower case, with the dot) is one of
    ``extensions``: recursive, sorted by name within each folder, hidden files and folders
    (names starting with ``.``) skipped. The one folder scan of the CLI and of batch.

    Symbolic links to folders are followed (as links to files are: an interview folder
    linked in from another drive is part of the data), each real folder once: a link back
    up the tree (a loop) or to a folder already scanned is skipped, with a log message.
    """
    found = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a loop, or a second link to a folder already scanned
            log.info("%s is %s, already scanned: skipped", root, real)
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and Path(f).suffix.lower() in extensions:
                found.append(Path(root) / f)
    return found


def check_input_file(path: str | os.PathLike, what: str) -> Path:
    """Return ``path`` as a `Path` if it names a readable, non-empty regular file.

    Parameters
    ----------
    path : str or path-like
        The file the user gave.
    what : str
        How messages name it, e.g. ``"image file"`` or ``"video file"``.

    Raises
    ------
    FauError
        The path is empty (``""``), holds a NUL character, does not exist, is a symbolic link loop or a link to
        nothing, a folder, not a regular file (a device, pipe or socket: reading one
        could block or never end), unreadable, or 0 bytes long.
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise FauError(f"{what}: expected a path, got {type(path).__name__}")
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if raw == "" or raw.isspace():
        raise FauError(f"{what}: the path is empty ({raw!r}); give a file name")
    if "\0" in raw:  # the OS cannot take it: os.stat raises ValueError, not OSError
        raise FauError(f"{what}: the path {raw!r} holds a NUL character (\\0), which no file "
                       "name can; check how it was built")
    p = Path(raw)
    try:
        st = p.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FauError(f"{what} {raw!r} is a symbolic link loop (it never reaches a file)") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if p.is_symlink():
                raise FauError(
                    f"{what} {raw!r} is a symbolic link to {os.readlink(p)!r}, which does "
                    "not exist (not found)"
                ) from None
            raise FauError(f"{what} not found: {raw!r} does not exist") from None
        if exc.errno == errno.ENAMETOOLONG:
            raise FauError(f"{what}: the path is too long ({len(raw)} characters)") from None
        raise FauError(f"{what} {raw!r} cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise FauError(f"{what} {raw!r} is a folder (directory), not a file")
    if not stat.S_ISREG(st.st_mode):
        raise FauError(
            f"{what} {raw!r} is not a regular file (a device, pipe or socket); save the "
            "data to a file first"
        )
    if st.st_size == 0:
        raise FauError(f"{what} {raw!r} is empty (0 bytes)")
    try:
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise FauError(f"{what} {raw!r} cannot be read ({exc.strerror})") from None
    return p
