"""Minimal per-video analysis used while ``fau.video`` is not part of the installation.

A frame loop over PyAV with `fau.Detector.detect_image`: no tracking (``track_id`` is
the face's position in its frame), no smoothing, per-track and per-segment means only.
`fau.batch.analysis` prefers ``fau.video`` whenever it can be imported.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..au.geometry import AU_NAMES
from ..errors import FauError
from ..expression.labels import EXPRESSIONS

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import VideoAnalysis

log = logging.getLogger(__name__)

SEGMENT_COLUMNS = ("start", "end", "label")


def read_segments(path: Path) -> pd.DataFrame:
    """Read a segment CSV: columns ``start``, ``end`` (seconds, start < end) and ``label``.

    Raises
    ------
    FauError
        Missing or unreadable file, missing columns, non-numeric or reversed times.
    """
    try:
        seg = pd.read_csv(path)
    except FileNotFoundError:
        raise FauError(f"segment file {str(path)!r} does not exist") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise FauError(f"cannot read segment file {str(path)!r}: {exc}") from None
    seg.columns = [str(c).strip() for c in seg.columns]
    missing = [c for c in SEGMENT_COLUMNS if c not in seg.columns]
    if missing:
        raise FauError(
            f"segment file {str(path)!r} lacks column(s) {missing}; "
            f"it needs {list(SEGMENT_COLUMNS)} (times in seconds)"
        )
    for c in ("start", "end"):
        seg[c] = pd.to_numeric(seg[c], errors="coerce")
    bad = seg[seg["start"].isna() | seg["end"].isna() | (seg["end"] <= seg["start"])]
    if len(bad):
        line = int(bad.index[0]) + 2
        raise FauError(
            f"segment file {str(path)!r} line {line}: start and end must be numbers "
            "(seconds) with start < end"
        )
    seg["label"] = seg["label"].astype(str)
    return seg[list(SEGMENT_COLUMNS)].reset_index(drop=True)


def _means(df: pd.DataFrame, cols: list[str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for c in cols:
        v = float(df[c].mean()) if len(df) else math.nan
        out[c] = v if math.isfinite(v) else None
    return out


def summarise(frames: pd.DataFrame, *, duration_s: float | None, frames_analysed: int,
              segments: pd.DataFrame | None) -> dict[str, Any]:
    """JSON-ready summary of a per-frame table: per track and per (segment, track) means."""
    cols = [c for c in (*AU_NAMES, *EXPRESSIONS) if c in frames.columns]
    tracks = []
    for tid, g in frames.groupby("track_id", sort=True):
        tracks.append({
            "track_id": int(tid),
            "frames": int(len(g)),
            "first_s": float(g["timestamp"].min()),
            "last_s": float(g["timestamp"].max()),
            "mean": _means(g, cols),
        })
    seg_rows = []
    if segments is not None:
        for i, s in segments.iterrows():
            inside = frames[(frames["timestamp"] >= s["start"]) & (frames["timestamp"] < s["end"])]
            per_track = [
                {"track_id": int(tid), "frames": int(len(g)), "mean": _means(g, cols)}
                for tid, g in inside.groupby("track_id", sort=True)
            ]
            seg_rows.append({
                "segment": int(i), "start": float(s["start"]), "end": float(s["end"]),
                "label": s["label"], "tracks": per_track,
            })
    return {
        "duration_s": duration_s,
        "analysed_frames": int(frames_analysed),
        "face_rows": int(len(frames)),
        "faces": int(frames["track_id"].nunique()) if len(frames) else 0,
        "tracks": tracks,
        "segments": seg_rows,
    }


def _decode(path: Path, fps: float | None):
    """Yield (index, timestamp_s, rgb) of the frames sampled at ``fps`` (None: all)."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise FauError(f"cannot open video {str(path)!r}: {exc}") from None
    with container:
        if not container.streams.video:
            raise FauError(f"{str(path)!r} has no video stream")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 30.0)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1e6
        yield duration
        next_t = 0.0
        index = -1
        try:
            for frame in container.decode(stream):
                index += 1
                t = float(frame.time) if frame.time is not None else index / rate
                if fps is not None:
                    if t + 1e-6 < next_t:
                        continue
                    while next_t <= t + 1e-6:
                        next_t += 1.0 / fps
                yield index, t, frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            if index < 0:
                raise FauError(f"cannot decode video {str(path)!r}: {exc}") from None
            log.warning("%s: decoding stopped after frame %d (%s)", path, index, exc)


def analyse_video(detector: Any, path: Path, *, fps: float | None = None,
                  segments: Path | None = None, report: bool = False) -> "VideoAnalysis":
    """Analyse one video with a `fau.Detector`.

    Parameters
    ----------
    detector : fau.Detector
        Reused across videos by the batch worker.
    path : Path
        The video file.
    fps : float or None
        Frames analysed per second of video (None: every frame).
    segments : Path or None
        Segment CSV (see `read_segments`); its per-segment means go to the summary.
    report : bool
        Also build the HTML report.

    Raises
    ------
    FauError
        Unreadable video, no decodable frame, bad segment file, or ``report=True``
        where this installation has no report writer.
    """
    from .analysis import VideoAnalysis

    if report:
        raise FauError("HTML reports need fau.report, which this installation lacks")
    seg = read_segments(segments) if segments is not None else None
    frames_iter = _decode(path, fps)
    duration = next(frames_iter)
    parts = []
    n = 0
    last_t = 0.0
    for index, t, rgb in frames_iter:
        n += 1
        last_t = t
        df = detector.detect_image(rgb)
        df = df.rename(columns={"face": "track_id"})
        df.insert(0, "timestamp", t)
        df.insert(0, "frame", index)
        parts.append(df)
    if n == 0:
        raise FauError(f"no frame of {str(path)!r} could be decoded")
    frames = pd.concat(parts, ignore_index=True)
    frames["frame"] = frames["frame"].astype(np.int64)
    frames["track_id"] = frames["track_id"].astype(np.int64)
    if duration is None:
        duration = last_t
    duration = round(float(duration), 3)  # ms: finer than any frame interval
    summary = summarise(frames, duration_s=duration, frames_analysed=n, segments=seg)
    return VideoAnalysis(frames=frames, summary=summary)
