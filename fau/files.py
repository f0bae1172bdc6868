"""Writing output files atomically, without replacing what the user already has.

The one writer of every fau output (tables, JSON summaries, HTML reports, batch
markers, service results): the content goes to a temporary file beside the target,
is flushed to disk and renamed onto the target name, so a reader never sees a
half-written file and a crash leaves the old file (or none). Temporary names are
``.<name>.<12 hex digits>.tmp`` (`remove_stale_temporaries` cleans up after a kill).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .errors import FauError

__all__ = [
    "atomic_path",
    "atomic_write",
    "write_bytes",
    "write_text",
    "text_of",
    "write_json",
    "write_table",
    "write_parquet",
    "to_json_safe",
    "table_json",
    "table_csv",
    "CSV_TIME_COLUMNS",
    "CSV_TIME_DECIMALS",
    "check_output",
    "remove_stale_temporaries",
    "TABLE_FORMATS",
]

#: Table formats by file extension (lower case): CSV (header row, no index), JSON (a
#: list of records; NaN/NA as null) and Parquet (needs pyarrow).
TABLE_FORMATS: Mapping[str, str] = {".csv": "csv", ".json": "json", ".parquet": "parquet"}

_TMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def check_output(path: str | os.PathLike, *, overwrite: bool = False,
                 suffixes: tuple[str, ...] | None = None, what: str = "output") -> Path:
    """Fail (`FauError`) now if ``path`` could not be written later.

    Checks the extension (one of ``suffixes``, case-insensitive, when given), that the
    folder exists, and that the file does not exist unless ``overwrite``.
    """
    out = Path(path)
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise FauError(f"{what} must end in one of {', '.join(suffixes)}: {str(out)!r}")
    if out.is_dir():
        raise FauError(f"{what} {str(out)!r} is a folder, not a file")
    if out.exists() and not overwrite:
        raise FauError(f"{str(out)!r} exists; choose another name or pass --overwrite "
                       "(overwrite=True in Python)")
    if not out.parent.exists():
        raise FauError(f"folder {str(out.parent)!r} does not exist")
    if not out.parent.is_dir():
        raise FauError(f"{what} {str(out)!r}: {str(out.parent)!r} is a file, not a folder")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise FauError(f"{what} {str(out)!r}: the folder {str(out.parent)!r} is not writable")
    return out


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto it.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.
    overwrite : bool
        False: refuse (`FauError`) when ``path`` exists, checked before and again just
        before the rename.

    Notes
    -----
    The temporary file is in the same folder (so the rename is atomic on POSIX and
    Windows local file systems), gets the usual permissions (umask) and is removed if
    the block raises. A failure of the file system (no permission, disk full, a
    read-only or special folder) is raised as `FauError` naming the file.
    """
    out = Path(path)
    if not overwrite:
        check_output(out)
    elif not out.parent.exists():
        raise FauError(f"folder {str(out.parent)!r} does not exist")
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        tmp.touch(exist_ok=False)  # normal permissions (umask), unlike mkstemp's 0600
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if not overwrite and out.exists():
            raise FauError(f"{str(out)!r} appeared while it was being written; nothing replaced")
        os.replace(tmp, out)
    except OSError as exc:
        _remove(tmp)
        raise FauError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    """Delete a temporary file if it is there (quietly: this runs while failing)."""
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], *,
                 overwrite: bool = False) -> Path:
    """Create ``path`` through ``write(temp_path)`` and a rename, never half-written.

    Refuses (`FauError`) to replace an existing file unless ``overwrite``, or to write
    into a folder that does not exist.

    Parameters
    ----------
    path : str or path
        The file to create.
    write : callable
        Called with a temporary file name beside ``path``; it writes the whole file there.
    overwrite : bool
        Replace ``path`` if it exists (otherwise an existing file is a `FauError`).

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        write(str(tmp))
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see `atomic_path`)."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (see `atomic_path`).

    A file name that is not UTF-8 inside ``text`` (a report's title, say) is written with
    its bytes as ``\\xNN`` (`text_of`), not refused after the work that made the text.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = text_of(text).encode("utf-8")
    return write_bytes(path, data, overwrite=overwrite)


def text_of(value: str | os.PathLike) -> str:
    """A path (or any text) as a string that UTF-8 can encode, for tables and messages.

    A file name that is not UTF-8 (e.g. Latin-1 bytes on Linux) reaches Python as lone
    surrogates (PEP 383), which no CSV, Parquet or HTML writer accepts: its bytes are
    written as ``\\xNN`` (``caf\\xe9.mp4``). Other text is returned unchanged.

    Parameters
    ----------
    value : str or os.PathLike

    Returns
    -------
    str
    """
    text = os.fspath(value)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the file name's own bytes
    except UnicodeEncodeError:  # a surrogate that stands for no byte (U+D800-U+DC7F...)
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def to_json_safe(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths, pandas NA and non-finite floats (→ None)."""
    if isinstance(value, Mapping):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy
        return to_json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is not None and not isinstance(value, (str, int, float, bool)):
        try:
            import pandas as pd

            if value is pd.NA or value is pd.NaT:
                return None
        except ImportError:  # pragma: no cover - pandas is a dependency
            pass
    return value


#: A lone UTF-16 surrogate code point (U+D800 to U+DFFF): how Python holds a file name's
#: bytes that are not UTF-8 (PEP 383 ``surrogateescape``); UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def write_json(path: str | os.PathLike, obj: Any, *, overwrite: bool = False) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, atomically (NaN/inf/NA become null).

    Text is written as UTF-8, except lone surrogates (a path whose name is not UTF-8,
    e.g. a Latin-1 name on Linux, as Python decodes it) which are written as ``\\uXXXX``
    escapes: valid JSON that ``json.load`` reads back as the same string (and
    ``os.fsencode`` turns back into the file's name).

    Parameters
    ----------
    path : str or path
        The ``.json`` file to create.
    obj : object
        JSON-able data (dicts, lists, numbers, strings; numpy and pandas scalars too).
    overwrite : bool
        Replace ``path`` if it exists (otherwise an existing file is a `FauError`).

    Returns
    -------
    Path
        ``path``.
    """
    text = json.dumps(to_json_safe(obj), indent=1, ensure_ascii=False, allow_nan=False)
    # A surrogate can only stand inside a JSON string, where a \uXXXX escape is valid.
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return write_text(path, text + "\n", overwrite=overwrite)


#: Significant decimal digits of a float32 value in JSON (`table_json`): 7, float32's
#: precision (24-bit significand: log10(2**24) = 7.2 digits). Without this a float32 0.1
#: is written from its float64 value, 0.1000000015.
FLOAT32_JSON_DIGITS = 7


def table_json(df: Any, *, double_precision: int = 10) -> str:
    """A DataFrame as a JSON list of records (NaN/NA as null, ``/`` not escaped).

    pandas writes every float with ``double_precision`` decimals of its float64 value,
    so a float32 column (the video tables' AUs, `fau.video.VIDEO_FLOAT_DTYPE`) would show
    its binary rounding (0.1 as 0.1000000015): those columns are first rounded to
    `FLOAT32_JSON_DIGITS` significant digits (as float64, the nearest to that decimal).
    Anything but a DataFrame is a `FauError`.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    double_precision : int
        Decimals of float64 values.

    Returns
    -------
    str
        The JSON text.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise FauError(f"table_json writes a pandas DataFrame, got {type(df).__name__}")
    f32 = [c for c in df.columns if df[c].dtype == np.float32]
    if f32:
        df = df.copy(deep=False)
        for c in f32:
            x = df[c].to_numpy(np.float64)
            ok = np.isfinite(x) & (x != 0)
            exp = np.floor(np.log10(np.abs(np.where(ok, x, 1.0))))
            scale = 10.0 ** (FLOAT32_JSON_DIGITS - 1 - exp)
            df[c] = np.where(ok, np.round(x * scale) / scale, x)
    text = df.to_json(orient="records", date_format="iso", double_precision=double_precision)
    # pandas escapes every "/" as "\/"; valid JSON but not what people expect to read.
    # Only an escaped slash produces the two characters backslash-slash here (a literal
    # backslash is written as two), so the replacement is exact.
    return text.replace("\\/", "/")


#: Time columns (s) of fau's tables that CSV writes rounded (`CSV_TIME_DECIMALS`): the
#: per-frame ``timestamp`` and the events' ``onset``, ``apex``, ``offset`` and ``duration``.
#: A segment's ``start``/``end`` are the user's own and are written as given.
CSV_TIME_COLUMNS = ("timestamp", "onset", "apex", "offset", "duration")
#: Decimals of `CSV_TIME_COLUMNS` in CSV: 3, the millisecond, as the OpenFace export's
#: timestamps (ELAN's are whole ms); "0.2", not "0.20000000000000004" (a duration's float
#: sum), "0.033", not "0.03333333333333333". JSON and Parquet keep the float64 value.
CSV_TIME_DECIMALS = 3


def table_csv(df: Any, path: str | os.PathLike | None = None) -> str | None:
    """A DataFrame as fau's CSV: a header row, no index, NA as an empty cell, formula-like
    text quoted (`fau.csvsafe.neutralise_formulas`) and the float `CSV_TIME_COLUMNS` to
    `CSV_TIME_DECIMALS` decimals (ms). Written to ``path``, or returned as text when None.
    """
    import pandas as pd

    from .csvsafe import neutralise_formulas

    if not isinstance(df, pd.DataFrame):
        raise FauError(f"table_csv writes a pandas DataFrame, got {type(df).__name__}")
    times = [c for c in CSV_TIME_COLUMNS
             if c in df.columns and pd.api.types.is_float_dtype(df[c].dtype)]
    if times:
        df = df.copy(deep=False)
        for c in times:
            df[c] = df[c].round(CSV_TIME_DECIMALS)
    return neutralise_formulas(df).to_csv(path, index=False)


#: Rows per piece of a table written as JSON (`write_table`): ~20 MB of text for a video
#: table's rows (~5 kB each).
JSON_CHUNK_ROWS = 4096


def write_table(df: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a DataFrame by file extension (`TABLE_FORMATS`), atomically.

    CSV: `table_csv` (a header row, no index, NA as an empty cell, text cells that a
    spreadsheet would run as a formula quoted, times to the millisecond). JSON: a list of
    records (one object per row, NaN/NA as null, ``/`` not escaped). Parquet: the DataFrame's
    dtypes and its ``df.attrs`` (video facts, decoding statistics; pandas keeps them in the
    file's metadata and gives them back in ``pd.read_parquet(...).attrs``), less the
    run's wall time (``VOLATILE_ATTRS``) so the same analysis writes the same bytes.
    Refuses to replace an existing file unless ``overwrite``.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : str or path
        The file to create: ``.csv``, ``.json`` or ``.parquet``.
    overwrite : bool
        Replace ``path`` if it exists (otherwise an existing file is a `FauError`).

    Returns
    -------
    Path
        ``path``.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise FauError(f"write_table writes a pandas DataFrame, got {type(df).__name__}")
    out = Path(path)
    fmt = TABLE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise FauError(f"a table file must end in one of {', '.join(TABLE_FORMATS)}: {str(out)!r}")
    if fmt == "json":
        # Written `JSON_CHUNK_ROWS` records at a time: an hour of video rows is ~540 MB of
        # JSON, which one string, its replacement and its bytes held three times (+1 GB).
        def write_records(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write("[")
                for i in range(0, len(df), JSON_CHUNK_ROWS):
                    part = table_json(df.iloc[i : i + JSON_CHUNK_ROWS])
                    f.write(("," if i else "") + part[1:-1])
                f.write("]")

        return atomic_write(out, write_records, overwrite=overwrite)

    def write(tmp: str) -> None:
        if fmt == "csv":
            table_csv(df, tmp)
        else:
            write_parquet(df, tmp)

    return atomic_write(out, write, overwrite=overwrite)


#: Rows per Parquet row group (`write_parquet`): ~4 MB of a video table's float32 rows
#: (~0.5 kB each) converted to Arrow at a time.
PARQUET_CHUNK_ROWS = 8192

#: The schema-metadata key under which pandas keeps ``df.attrs`` in a Parquet file (as
#: JSON; ``pandas.io.parquet``), so that ``pd.read_parquet(...).attrs`` gives them back.
PANDAS_ATTRS_KEY = b"PANDAS_ATTRS"


def write_parquet(df: Any, path: str | os.PathLike) -> None:
    """Write a DataFrame to Parquet `PARQUET_CHUNK_ROWS` rows at a time (pyarrow).

    The same file as ``df.to_parquet(path, index=False)`` would hold, in row groups:
    the schema is taken from the whole table once (``pa.Schema.from_pandas``), each
    chunk converted to it and written, so only one chunk is held as Arrow memory
    (``to_parquet`` converts the whole table: +115 MB for an hour of video rows). The
    DataFrame's ``attrs`` (less `VOLATILE_ATTRS`) are kept where pandas keeps them.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    attrs = _stable_attrs(df.attrs)
    plain = df.copy(deep=False)
    plain.attrs = attrs  # pyarrow also keeps the attrs in its "pandas" metadata
    schema = pa.Schema.from_pandas(plain, preserve_index=False)
    if attrs:
        schema = schema.with_metadata({**(schema.metadata or {}),
                                       PANDAS_ATTRS_KEY: json.dumps(attrs).encode("utf-8")})
    with pq.ParquetWriter(path, schema) as writer:
        if len(plain) == 0:
            writer.write_table(pa.Table.from_pandas(plain, schema=schema, preserve_index=False))
        for i in range(0, len(plain), PARQUET_CHUNK_ROWS):
            chunk = plain.iloc[i : i + PARQUET_CHUNK_ROWS]
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))


#: ``df.attrs`` keys that differ between two runs of the same analysis (wall time, s).
VOLATILE_ATTRS: tuple[str, ...] = ("seconds",)


def _stable_attrs(attrs: Mapping) -> dict:
    """JSON-safe copy of ``attrs`` without `VOLATILE_ATTRS` (pandas stores attrs as JSON)."""
    kept = to_json_safe({k: v for k, v in attrs.items() if k not in VOLATILE_ATTRS})
    try:
        json.dumps(kept, allow_nan=False)
    except (TypeError, ValueError):  # something to_json_safe does not know: keep none
        return {}
    return kept


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete temporary files `atomic_path` left in ``folder`` when a run was killed.

    Only names of the form ``.<file>.<12 hex digits>.tmp`` are touched. Call it only
    while no other writer uses the folder. Returns how many were removed.
    """
    n = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for e in entries:
        if e.is_file(follow_symlinks=False) and _TMP_NAME.match(e.name):
            Path(e.path).unlink(missing_ok=True)
            n += 1
    return n
