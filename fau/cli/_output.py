"""Writing result tables to CSV, JSON or Parquet without overwriting the user's files."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..files import atomic_write
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

    def write(tmp: str) -> None:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "json":
            df.to_json(tmp, orient="records", indent=None)
        else:
            df.to_parquet(tmp, index=False)

    return atomic_write(out, write, overwrite=overwrite)
