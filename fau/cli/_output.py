"""Writing result tables to CSV, JSON or Parquet without overwriting the user's files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import FauError

__all__ = ["write_table", "FORMATS"]

FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet"}


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``df`` by file extension (.csv, .json records, .parquet), atomically.

    Refuses to replace an existing file unless ``overwrite`` is true, and never leaves a
    half-written file (temporary file + rename).
    """
    out = Path(path)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise FauError(f"--out must end in one of {', '.join(FORMATS)}: {str(out)!r}")
    if out.exists() and not overwrite:
        raise FauError(f"{str(out)!r} exists; choose another name or pass --overwrite")
    if not out.parent.exists():
        raise FauError(f"folder {str(out.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "json":
            df.to_json(tmp, orient="records", indent=None)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
