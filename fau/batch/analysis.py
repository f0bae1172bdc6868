"""What a batch does with one video: per-frame table, summary, optional HTML report.

This module is the only place where the batch layer touches video analysis; the rest
(scheduling, resuming, atomic outputs, the index) does not depend on how a video is
analysed. It uses `fau.video` (tracking, smoothing, baseline, events, segments).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import FauError

__all__ = ["VideoAnalysis", "analyse_video", "report_supported", "summary_of"]

log = logging.getLogger(__name__)

#: Label of the whole-video pseudo-segment used for the per-track summary.
WHOLE_VIDEO = "whole video"


@dataclass
class VideoAnalysis:
    """Result of analysing one video.

    Attributes
    ----------
    frames : pandas.DataFrame
        One row per face per analysed frame (`fau.Detector.detect_video`'s table).
    summary : dict
        JSON-ready summary (see `summary_of`).
    report_html : str or None
        The HTML report, when one was asked for.
    """

    frames: pd.DataFrame
    summary: dict[str, Any]
    report_html: str | None = None


def report_supported() -> bool:
    """Whether this installation can write HTML reports (needs ``fau.report``)."""
    return importlib.util.find_spec("fau.report") is not None


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def summary_of(frames: pd.DataFrame, events: pd.DataFrame,
               segment_summary: pd.DataFrame | None) -> dict[str, Any]:
    """JSON-ready summary of a `detect_video` table.

    Returns
    -------
    dict
        ``duration_s`` (video length: the container's duration, else the last decoded
        timestamp), ``decoded_frames``, ``analysed_frames``, ``truncated``, ``faces``
        (number of tracks), ``video`` (header facts), ``tracks`` (one
        `fau.video.summarize_segments` row per track over the whole video), ``segments``
        (``segment_summary``'s rows; empty without a segment file) and ``events``
        (`fau.video.find_events` rows).
    """
    from ..video import summarize_segments

    attrs = frames.attrs
    info = attrs.get("video") or {}
    duration = info.get("duration")
    if duration is None and len(frames):
        duration = float(frames["timestamp"].max())
    end = max(float(duration or 0.0), float(frames["timestamp"].max()) if len(frames) else 0.0)
    whole = summarize_segments(frames, [(0.0, end + 1e-3, WHOLE_VIDEO)], events)
    whole = whole[whole["track_id"] >= 0].drop(columns=["segment", "label", "start", "end"])
    return {
        "duration_s": None if duration is None else round(float(duration), 3),
        "decoded_frames": attrs.get("decoded_frames"),
        "analysed_frames": attrs.get("analysed_frames"),
        "truncated": attrs.get("truncated"),
        "faces": int(frames["track_id"].nunique()) if len(frames) else 0,
        "video": info,
        "tracks": _records(whole),
        "segments": _records(segment_summary),
        "events": _records(events),
    }


def analyse_video(detector: Any, path: Path, *, fps: float | None = None,
                  segments: Path | None = None, report: bool = False) -> VideoAnalysis:
    """Analyse one video with a `fau.Detector` (reused across videos by the worker).

    Parameters
    ----------
    detector : fau.Detector
    path : Path
        The video file.
    fps : float or None
        Frames analysed per second of video (None: every frame).
    segments : Path or None
        Segment CSV (``start, end, label`` in seconds; see `fau.video.read_segments`).
    report : bool
        Also build the HTML report.

    Raises
    ------
    FauError
        Unreadable video, no decodable frame, a bad segment file, or ``report=True``
        where this installation has no report writer.
    """
    if report and not report_supported():
        raise FauError("HTML reports need fau.report, which this installation lacks")
    from ..video import find_events, read_segments, summarize_segments

    seg = read_segments(segments) if segments is not None else None  # bad file: fail early
    # One thread per worker process: decoding in the calling thread (threaded=False)
    # keeps a worker on its one core; parallelism comes from running videos side by side.
    frames = detector.detect_video(path, fps=fps, threaded=False)
    events = find_events(frames)
    seg_summary = summarize_segments(frames, seg, events) if seg is not None else None
    html = None
    if report:
        from ..report import render_report

        html = render_report(frames, events=events, segments=seg, summary=seg_summary,
                             model=getattr(detector, "expression_model_name", None))
    return VideoAnalysis(frames=frames, summary=summary_of(frames, events, seg_summary),
                         report_html=html)
