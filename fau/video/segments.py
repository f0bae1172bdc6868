"""Per-segment summaries (e.g. one segment per interview question).

Segments are ``(start, end, label)`` in seconds of the video's timeline (the
``timestamp`` column), given as a list of tuples, a DataFrame, or a CSV file (or its
bytes, e.g. an upload) with the columns ``start,end,label`` (a header row is required;
``label`` may be omitted). `read_segments` is the one reader of all of them.
Segments may overlap; a frame at ``start <= timestamp < end`` belongs to the segment
(the last segment also takes a frame exactly at its ``end``).
"""

from __future__ import annotations

import io
import numbers
import os
from typing import Callable, Iterable, Union

import numpy as np
import pandas as pd

from ..au.geometry import AU_NAMES
from ..errors import FauError, check_number
from ..files import text_of
from ..paths import check_input_file
from ..expression.labels import EXPRESSIONS
from .temporal import BILATERAL_AUS, check_video_table

__all__ = ["read_segments", "summarize_segments", "SegmentsSource", "MAX_SEGMENTS_BYTES"]

#: A segments file, its bytes (CSV), a DataFrame, or (start, end[, label]) tuples.
SegmentsSource = Union[str, os.PathLike, bytes, pd.DataFrame, Iterable[tuple]]
#: Largest segments CSV read (bytes): 1 MiB is ~30,000 segments, far beyond any interview.
MAX_SEGMENTS_BYTES = 1024 * 1024


def _csv_table(data: bytes, what: str) -> pd.DataFrame:
    """A CSV's cells as strings (a UTF-8 byte-order mark is allowed)."""
    if len(data) > MAX_SEGMENTS_BYTES:
        raise FauError(f"{what} is larger than {MAX_SEGMENTS_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FauError(f"{what} is not UTF-8 text") from None
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise FauError(f"cannot read {what} as CSV: {exc}") from None


def _source_table(source: SegmentsSource) -> tuple[pd.DataFrame, str, bool]:
    """The raw table, how to name it in errors, and whether its rows are CSV lines."""
    if isinstance(source, (str, os.PathLike)):
        p = check_input_file(source, "segments file")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise FauError(f"cannot read segments file {str(p)!r}: {exc}") from None
        what = f"segments CSV {str(p)!r}"
        return _csv_table(data, what), what, True
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _csv_table(bytes(source), "segments CSV"), "segments CSV", True
    if isinstance(source, pd.DataFrame):
        return source.copy(), "segments table", False
    try:
        rows = [tuple(r) for r in source]
    except TypeError:
        raise FauError(f"segments must be a CSV path, CSV bytes, a DataFrame or a list of "
                       f"(start, end[, label]) rows, got {type(source).__name__}") from None
    if any(len(r) not in (2, 3) for r in rows):
        raise FauError("each segment must be (start, end) or (start, end, label)")
    # a label made from a file name that is not UTF-8 holds lone surrogates (PEP 383),
    # which pandas' Arrow strings cannot store: written as \xNN (`fau.files.text_of`)
    rows = [(r[0], r[1], text_of(r[2]) if isinstance(r[2], str) else r[2]) if len(r) == 3
            else (r[0], r[1], "") for r in rows]
    return pd.DataFrame(rows, columns=["start", "end", "label"]), "segments list", False


def _check_limits(max_rows: object, max_s: object) -> None:
    """`FauError` unless ``max_rows`` is None or a whole number >= 0 and ``max_s`` None or
    a finite number of seconds >= 0."""
    if max_rows is not None and (not isinstance(max_rows, numbers.Integral)
                                 or isinstance(max_rows, bool) or max_rows < 0):
        raise FauError(f"max_rows must be None or a whole number >= 0, got {max_rows!r}")
    check_number("max_s", max_s, unit="seconds", ge=0.0, none_ok=True)


def read_segments(
    source: SegmentsSource, *, max_rows: int | None = None, max_s: float | None = None,
    allow_empty: bool = True,
) -> pd.DataFrame:
    """Read and check segments: the one reader of segment files, uploads and lists.

    Parameters
    ----------
    source : path, bytes, DataFrame or iterable of tuples
        A CSV file or its bytes (header ``start,end[,label]``, any case; seconds; a
        UTF-8 byte-order mark is allowed; at most `MAX_SEGMENTS_BYTES`), a DataFrame
        with those columns, or ``(start, end[, label])`` tuples.
    max_rows : int or None
        Most segments accepted.
    max_s : float or None
        Length of the video (s): a segment that starts at or after it is an error (one
        that starts before it and ends after it is kept). None: not checked. The web
        service and `fau.job.run_video_job` (``fau video``, batch) pass the duration
        in the video's header.
    allow_empty : bool
        False: a table without segments is an error.

    Returns
    -------
    pandas.DataFrame
        ``start``, ``end`` (float64 s) and ``label`` (str, "" where not given), in the
        given order.

    Raises
    ------
    FauError
        Missing/unreadable file, not CSV or not UTF-8, missing columns, non-numeric or
        negative times, ``end <= start``, a segment starting at or after ``max_s``, too
        many rows or too large; CSV errors name the line (the header is line 1). Also
        ``max_rows`` that is not None or a whole number >= 0, ``max_s`` that is not None
        or a finite number >= 0.
    """
    _check_limits(max_rows, max_s)
    seg, what, is_csv = _source_table(source)
    seg.columns = [str(c).strip().lower() for c in seg.columns]
    missing = {"start", "end"} - set(seg.columns)
    if missing:
        raise FauError(f"{what} needs the columns start,end (seconds) and optionally label; "
                       f"missing {sorted(missing)}")
    if not allow_empty and seg.empty:
        raise FauError(f"{what} has no rows")
    if max_rows is not None and len(seg) > max_rows:
        raise FauError(f"{what} has {len(seg)} rows; at most {max_rows} are accepted")

    def where(i: int) -> str:
        return f"{what} line {i + 2}" if is_csv else f"{what} row {i}"

    out = pd.DataFrame(index=range(len(seg)))
    for col in ("start", "end"):
        raw = seg[col].reset_index(drop=True)
        v = pd.to_numeric(raw.astype(str).str.strip() if is_csv else raw, errors="coerce")
        v = v.astype(float)
        bad = ~np.isfinite(v.to_numpy())
        if bad.any():
            i = int(np.argmax(bad))
            raise FauError(f"{where(i)}: {col} {raw.iloc[i]!r} is not a number of seconds")
        out[col] = v.to_numpy()
    checks = ((out["start"] < 0, "start is negative"),
              (out["end"] <= out["start"], "end must be after start"))
    for bad, message in checks:
        if bad.any():
            raise FauError(f"{where(int(bad.to_numpy().argmax()))}: {message}")
    labels = seg["label"].reset_index(drop=True) if "label" in seg.columns else None
    out["label"] = ("" if labels is None
                    else labels.where(labels.notna(), "").astype(str).str.strip().to_numpy())
    if max_s is not None:
        _check_inside_video(out, float(max_s), where)
    return out


def _check_inside_video(seg: pd.DataFrame, duration_s: float,
                        where: Callable[[int], str]) -> None:
    """Refuse the first segment that starts at or after the video's end (it could hold
    no frame); one that only ends after it is kept (its summary covers the frames up to
    the end)."""
    past = (seg["start"] >= duration_s).to_numpy()
    if not past.any():
        return
    i = int(past.argmax())
    s = seg.iloc[i]
    label = f" {s['label']!r}" if s["label"] else ""
    raise FauError(f"{where(i)}: segment {i}{label} (start {s['start']:g} s, end "
                   f"{s['end']:g} s) starts at or after the end of the video, which lasts "
                   f"{duration_s:g} s")


def summarize_segments(
    df: pd.DataFrame, segments: SegmentsSource, events: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Summarise AUs, expressions and events per segment and track.

    Parameters
    ----------
    df : DataFrame
        A `detect_video` table.
    segments : list, DataFrame or CSV path
        See `read_segments`.
    events : DataFrame or None
        `find_events` output; events are counted in the segment holding their apex (by
        the frames' rule: ``start <= apex < end``, the last segment's ``end`` included).

    Returns
    -------
    DataFrame
        One row per (segment, track) with frames in the segment, plus one row with
        ``track_id`` = -1 for a segment where no face was seen. Columns: ``segment``
        (0-based), ``label``, ``start``, ``end``, ``track_id``, ``frames`` (analysed
        frames with that face), ``<AU>_mean`` / ``<AU>_peak`` (of ``<AU>_rel`` when
        present, i.e. relative to the person's baseline, else the raw AU; fraction of
        IOD), ``<expression>_mean`` (mean probability), ``<expression>_share`` (share of
        frames where it was the most probable; both over the frames with probabilities,
        NaN without an expression model),
        ``events`` (count) and ``event_list`` (e.g. ``"AU12×2, happiness×1"``). With a
        ``speaking`` column (`fau.video.speech`): ``speaking_share`` (share of the
        frames in which the person speaks) and ``<AU>_mean_speech`` / ``<AU>_mean_quiet``
        (the mean over the frames with / without speech; NaN where there are none).
        The columns are the same, in the same order, whichever segments hold faces.
    """
    check_video_table(df, "summarize_segments", ("track_id", "timestamp", "frame"))
    if events is not None:
        check_video_table(events, "summarize_segments: events", ("track_id", "apex", "name"),
                          kind="a find_events table")
    seg = read_segments(segments)
    use_rel = f"{AU_NAMES[0]}_rel" in df.columns
    aus = [a for a in BILATERAL_AUS if a in df.columns]
    exprs = [e for e in EXPRESSIONS if e in df.columns]
    has_speech = "speaking" in df.columns
    t = df["timestamp"].to_numpy(dtype=np.float64) if len(df) else np.zeros(0)
    rows = []
    last_end = seg["end"].max() if len(seg) else 0.0

    def within(x: np.ndarray, s: pd.Series) -> np.ndarray:
        """``start <= x < end``; the last segment also takes ``x == end`` (module docs)."""
        return (x >= s["start"]) & ((x < s["end"]) | ((x <= s["end"]) & (s["end"] == last_end)))

    for k, s in seg.iterrows():
        inside = within(t, s)
        sub = df[inside]
        base = {"segment": k, "label": s["label"], "start": s["start"], "end": s["end"]}
        if sub.empty:
            rows.append({**base, "track_id": -1, "frames": 0, "events": 0, "event_list": ""})
            continue
        for tid, g in sub.groupby("track_id", sort=True):
            row = {**base, "track_id": int(tid), "frames": int(g["frame"].nunique())}
            talk = g["speaking"].to_numpy(dtype=bool) if has_speech else None
            if talk is not None:
                row["speaking_share"] = float(talk.mean())
            for a in aus:
                v = g[f"{a}_rel" if use_rel else a].to_numpy(dtype=np.float64)
                row[f"{a}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
                row[f"{a}_peak"] = float(np.nanmax(v)) if np.isfinite(v).any() else np.nan
                if talk is not None:  # the same AU while the person speaks / does not
                    for part, sel in (("speech", talk), ("quiet", ~talk)):
                        w = v[sel]
                        row[f"{a}_mean_{part}"] = (float(np.nanmean(w)) if np.isfinite(w).any()
                                                   else np.nan)
            p = g[exprs].to_numpy(dtype=np.float64) if exprs else np.zeros((len(g), 0))
            # over the frames with probabilities (none without an expression model): a
            # frame without them (no face, or masked) does not make the segment's NaN
            p = p[np.isfinite(p).all(axis=1)]
            have = len(exprs) and len(p)
            top = p.argmax(axis=1) if have else None
            for j, e in enumerate(exprs):
                row[f"{e}_mean"] = float(p[:, j].mean()) if have else np.nan
                row[f"{e}_share"] = float((top == j).mean()) if have else np.nan
            n_ev, names = 0, ""
            if events is not None and len(events):
                # the frames' rule: an apex on the boundary of two segments counts once
                ev = events[(events["track_id"] == tid).to_numpy()
                            & within(events["apex"].to_numpy(dtype=np.float64), s)]
                n_ev = len(ev)
                counts = ev.groupby("name", sort=True).size()
                names = ", ".join(f"{n}×{c}" for n, c in counts.items())
            row["events"], row["event_list"] = n_ev, names
            rows.append(row)
    # the same columns in the same order whatever the data: a first segment without a
    # face (or none with one) must not move or drop the AU and expression columns
    columns = ["segment", "label", "start", "end", "track_id", "frames"]
    columns += ["speaking_share"] if has_speech else []
    for a in aus:
        columns += [f"{a}_mean", f"{a}_peak"]
        columns += [f"{a}_mean_speech", f"{a}_mean_quiet"] if has_speech else []
    columns += [f"{e}_{part}" for e in exprs for part in ("mean", "share")]
    columns += ["events", "event_list"]
    return pd.DataFrame(rows, columns=columns)
