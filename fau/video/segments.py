"""Per-segment summaries (e.g. one segment per interview question).

Segments are ``(start, end, label)`` in seconds of the video's timeline (the
``timestamp`` column), given as a list of tuples, a DataFrame or a CSV file with the
columns ``start,end,label`` (a header row is required; ``label`` may be omitted).
Segments may overlap; a frame at ``start <= timestamp < end`` belongs to the segment
(the last segment also takes a frame exactly at its ``end``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Union

import numpy as np
import pandas as pd

from ..au.geometry import AU_NAMES
from ..errors import FauError
from ..expression.labels import EXPRESSIONS
from .temporal import BILATERAL_AUS

__all__ = ["read_segments", "summarize_segments", "SegmentsSource"]

SegmentsSource = Union[str, os.PathLike, pd.DataFrame, Iterable[tuple]]


def read_segments(source: SegmentsSource) -> pd.DataFrame:
    """Segments as a DataFrame with ``start``, ``end`` (float s) and ``label`` (str).

    Raises
    ------
    FauError
        Missing/unreadable file, missing columns, non-numeric times, ``end <= start``.
    """
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if not p.is_file():
            raise FauError(f"segments file not found: {str(p)!r}")
        try:
            seg = pd.read_csv(p)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise FauError(f"cannot read segments CSV {str(p)!r}: {exc}") from None
        what = repr(str(p))
    elif isinstance(source, pd.DataFrame):
        seg, what = source.copy(), "segments table"
    else:
        rows = [tuple(r) for r in source]
        if any(len(r) not in (2, 3) for r in rows):
            raise FauError("each segment must be (start, end) or (start, end, label)")
        rows = [r if len(r) == 3 else (r[0], r[1], "") for r in rows]
        seg, what = pd.DataFrame(rows, columns=["start", "end", "label"]), "segments list"
    seg.columns = [str(c).strip().lower() for c in seg.columns]
    missing = {"start", "end"} - set(seg.columns)
    if missing:
        raise FauError(f"{what} needs columns start,end[,label]; missing {sorted(missing)}")
    if "label" not in seg.columns:
        seg["label"] = ""
    try:
        seg["start"] = pd.to_numeric(seg["start"]).astype(float)
        seg["end"] = pd.to_numeric(seg["end"]).astype(float)
    except (ValueError, TypeError):
        raise FauError(f"{what}: start and end must be numbers of seconds") from None
    bad = seg[~(seg["end"] > seg["start"]) | (seg["start"] < 0)]
    if len(bad):
        r = bad.iloc[0]
        raise FauError(f"{what}: segment {r['label']!r} has start={r['start']}, end={r['end']} "
                       "(need 0 <= start < end)")
    seg["label"] = seg["label"].fillna("").astype(str)
    seg = seg[["start", "end", "label"]].reset_index(drop=True)
    return seg


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
        `find_events` output; events are counted in the segment holding their apex.

    Returns
    -------
    DataFrame
        One row per (segment, track) with frames in the segment, plus one row with
        ``track_id`` = -1 for a segment where no face was seen. Columns: ``segment``
        (0-based), ``label``, ``start``, ``end``, ``track_id``, ``frames`` (analysed
        frames with that face), ``<AU>_mean`` / ``<AU>_peak`` (of ``<AU>_rel`` when
        present, i.e. relative to the person's baseline, else the raw AU; fraction of
        IOD), ``<expression>_mean`` (mean probability), ``<expression>_share`` (share of
        frames where it was the most probable; NaN without an expression model),
        ``events`` (count) and ``event_list`` (e.g. ``"AU12×2, happiness×1"``).
    """
    seg = read_segments(segments)
    use_rel = f"{AU_NAMES[0]}_rel" in df.columns
    aus = [a for a in BILATERAL_AUS if a in df.columns]
    exprs = [e for e in EXPRESSIONS if e in df.columns]
    t = df["timestamp"].to_numpy(dtype=np.float64) if len(df) else np.zeros(0)
    rows = []
    last_end = seg["end"].max() if len(seg) else 0.0
    for k, s in seg.iterrows():
        inside = (t >= s["start"]) & ((t < s["end"]) | ((t <= s["end"]) & (s["end"] == last_end)))
        sub = df[inside]
        base = {"segment": k, "label": s["label"], "start": s["start"], "end": s["end"]}
        if sub.empty:
            rows.append({**base, "track_id": -1, "frames": 0, "events": 0, "event_list": ""})
            continue
        for tid, g in sub.groupby("track_id", sort=True):
            row = {**base, "track_id": int(tid), "frames": int(g["frame"].nunique())}
            for a in aus:
                v = g[f"{a}_rel" if use_rel else a].to_numpy(dtype=np.float64)
                row[f"{a}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
                row[f"{a}_peak"] = float(np.nanmax(v)) if np.isfinite(v).any() else np.nan
            p = g[exprs].to_numpy(dtype=np.float64) if exprs else np.zeros((len(g), 0))
            have = len(exprs) and np.isfinite(p).all()
            top = p.argmax(axis=1) if have else None
            for j, e in enumerate(exprs):
                row[f"{e}_mean"] = float(p[:, j].mean()) if have else np.nan
                row[f"{e}_share"] = float((top == j).mean()) if have else np.nan
            n_ev, names = 0, ""
            if events is not None and len(events):
                ev = events[(events["track_id"] == tid) & (events["apex"] >= s["start"])
                            & (events["apex"] <= s["end"])]
                n_ev = len(ev)
                counts = ev.groupby("name", sort=True).size()
                names = ", ".join(f"{n}×{c}" for n, c in counts.items())
            row["events"], row["event_list"] = n_ev, names
            rows.append(row)
    return pd.DataFrame(rows)
