"""Writing output files atomically without replacing what the user already has."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from .errors import FauError

__all__ = ["atomic_write"]


def atomic_write(
    path: str | os.PathLike, write: Callable[[str], None], *, overwrite: bool = False
) -> Path:
    """Create ``path`` through ``write(temp_path)`` and a rename, never half-written.

    Refuses (`FauError`) to replace an existing file unless ``overwrite``, or to write
    into a folder that does not exist. The temporary file lives in the same folder (so
    the rename is atomic), gets the usual permissions (umask) and is removed on error.
    """
    out = Path(path)
    if out.exists() and not overwrite:
        raise FauError(f"{str(out)!r} exists; choose another name or pass --overwrite")
    if not out.parent.exists():
        raise FauError(f"folder {str(out.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
        write(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
