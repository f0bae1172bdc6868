"""Data quality over time: where a video table's numbers should not be trusted.

The rule (`QualityRule`, documented in docs/report.md). A face row is **doubtful** when

* ``face_score`` (the landmark model's face-presence score, 0–1) is below
  ``min_face_score`` — the mesh may not sit on a face;
* the head is turned: ``|yaw|`` above ``max_yaw`` or ``|pitch|`` above ``max_pitch``
  degrees — the far half of the face is self-occluded and the landmark model guesses it,
  so bilateral AUs mix a measured and an inferred side; in-plane roll is undone by the
  landmark crop and the pose fit, so it is shown but not used;
* the face box is narrower than ``min_face_px`` pixels — the landmark model sees an
  upscaled, blurred face and AU jitter grows (measured in docs/report.md).

A time bin is **untrusted** when fewer than ``min_found`` of the frames that were
analysed in it had a face, or when more than half of its face rows are doubtful.
Decode losses recorded in the table's attrs (``gaps``: ``(start, end)`` seconds, in
``attrs["decoding"]``; see `decode_stats`) are untrusted too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bins import sampling_interval, time_bins

__all__ = ["QualityRule", "DEFAULT_RULE", "doubtful_rows", "quality_bins", "untrusted_spans",
           "decode_gaps", "decode_stats", "QUALITY_COLUMNS"]


@dataclass(frozen=True)
class QualityRule:
    """Thresholds of the quality rule (see module docs).

    Attributes
    ----------
    min_face_score : float
        Face-presence score (0–1) below which a row is doubtful. The tracker drops a face
        below 0.5 (``min_face_score`` of `fau.Detector`), so rows between 0.5 and this
        are faces the model is unsure of.
    max_yaw, max_pitch : float
        Degrees of head turn beyond which a row is doubtful.
    min_face_px : float
        Face box width (px) below which a row is doubtful.
    min_found : float
        Share (0–1) of a bin's analysed frames that must have a face.
    """

    min_face_score: float = 0.8
    max_yaw: float = 30.0
    max_pitch: float = 25.0
    min_face_px: float = 60.0
    min_found: float = 0.5


#: The rule used by the report.
DEFAULT_RULE = QualityRule()

#: Columns of `quality_bins`.
QUALITY_COLUMNS = ["start", "end", "expected", "found", "found_share", "face_score_min",
                   "yaw_max", "pitch_max", "roll_max", "face_px_min", "doubtful_share",
                   "untrusted"]


def doubtful_rows(df: pd.DataFrame, rule: QualityRule = DEFAULT_RULE) -> pd.DataFrame:
    """Per face row: which part of the rule it breaks.

    Returns
    -------
    DataFrame
        Boolean columns ``low_score``, ``turned``, ``small`` and ``doubtful`` (any),
        on ``df``'s index. Missing columns count as not broken.
    """

    def col(name: str) -> np.ndarray:
        return df[name].to_numpy(dtype=float) if name in df.columns else np.full(len(df), np.nan)

    with np.errstate(invalid="ignore"):
        low = col("face_score") < rule.min_face_score
        turned = (np.abs(col("yaw")) > rule.max_yaw) | (np.abs(col("pitch")) > rule.max_pitch)
        small = col("face_w") < rule.min_face_px
    return pd.DataFrame({"low_score": low, "turned": turned, "small": small,
                         "doubtful": low | turned | small}, index=df.index)


def analysed_rate(attrs: dict, t: np.ndarray) -> float:
    """Frames analysed per second (the ``fps`` sampling, else the video's frame rate,
    else the table's own median sampling interval); 0 when unknown."""
    video = attrs.get("video") or {}
    native = video.get("fps") if isinstance(video, dict) else None
    rate = attrs.get("fps") or native
    if rate and native:
        rate = min(float(rate), float(native))
    if not rate:
        step = sampling_interval(t)
        rate = 1.0 / step if step > 0 else 0.0
    return float(rate)


def decode_stats(attrs: dict) -> dict:
    """What decoding lost, as the table's attrs carry it: ``attrs["decoding"]`` (a
    `fau.video.reader.DecodeStats.as_dict`, set by `fau.video.detect_video`), else the
    top-level attrs; {} when neither is a mapping."""
    for cand in (attrs.get("decoding"), attrs):
        if isinstance(cand, dict):
            return cand
    return {}


def decode_gaps(attrs: dict) -> list[tuple[float, float]]:
    """Stretches (s) lost to decoding, from the ``gaps`` of `decode_stats` when present."""
    out = []
    for g in decode_stats(attrs).get("gaps") or ():
        try:
            a, b = (g["start"], g["end"]) if isinstance(g, dict) else (g[0], g[1])
            a, b = float(a), float(b)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if np.isfinite(a) and np.isfinite(b) and b > a:
            out.append((a, b))
    return out


def _mid_bin_shift(t: np.ndarray, origin: float, step: float) -> float:
    """Seconds (at most half of ``step``) to add to regularly sampled times ``t`` so that they
    lie midway between the ``origin + k * step`` grid lines, not on them.

    Bins one analysed-frame interval wide (``step``) start at ``origin``; frames sampled at
    ``fps`` sit at or just after the same grid (`fau.video.reader` takes the first frame at
    or after each tick), so rounding put some bins two frames and the next none (a face in
    every frame of ``--fps 10`` on a 30 frames/s video was 31% untrusted). The shift is the
    circular mean of the frames' phase on the grid, moved to half a step.
    """
    if step <= 0 or not len(t):
        return 0.0
    phase = np.angle(np.mean(np.exp(2j * np.pi * (t - origin) / step))) / (2 * np.pi) % 1.0
    shift = (0.5 - phase) * step
    if shift < 0 and float(t.min()) + shift < origin <= float(t.min()) + 1e-9:
        shift += step  # on the ticks, a rounding error below: the first frame keeps bin 0
    return float(shift)


def quality_bins(
    df: pd.DataFrame,
    *,
    t_range: tuple[float, float] | None = None,
    n: int = 300,
    rule: QualityRule = DEFAULT_RULE,
) -> pd.DataFrame:
    """The quality rule per time bin (columns `QUALITY_COLUMNS`).

    Parameters
    ----------
    df : DataFrame
        A `detect_video` table (its attrs give the sampling rate).
    t_range : (float, float) or None
        Seconds to cover (default: the analysed window, else the rows' span).
    n : int
        Most bins; each is at least one analysed-frame interval wide.
    rule : QualityRule

    Returns
    -------
    DataFrame
        One row per bin: ``start``/``end`` (s), ``expected`` analysed frames, ``found``
        frames with a face, ``found_share``, worst ``face_score_min``, largest
        ``|yaw|``/``|pitch|``/``|roll|`` (degrees), smallest face width ``face_px_min``
        (px), ``doubtful_share`` of face rows, and ``untrusted`` (bool).

    Raises
    ------
    FauError
        Not a video table, or a ``t_range`` that is not finite with end > start.
    """
    from ..video.temporal import check_video_table

    check_video_table(df, "quality_bins", ("timestamp", "frame"))
    attrs = df.attrs or {}
    t = df["timestamp"].to_numpy(dtype=float) if len(df) else np.zeros(0)
    rate = analysed_rate(attrs, t)
    from .style import check_t_range

    t_range = check_t_range(t_range, "quality_bins") or time_range(df)
    step = 1.0 / rate if rate else 0.0
    edges = time_bins(*t_range, n=n, min_width=step)
    k = np.clip(np.searchsorted(edges, t + _mid_bin_shift(t, edges[0], step), side="right") - 1,
                0, len(edges) - 2)
    flags = doubtful_rows(df, rule)
    g = pd.DataFrame({"bin": k, "frame": df["frame"].to_numpy() if len(df) else k,
                      "doubtful": flags["doubtful"].to_numpy()})
    for c, f in (("face_score", None), ("yaw", np.abs), ("pitch", np.abs), ("roll", np.abs),
                 ("face_w", None)):
        v = df[c].to_numpy(dtype=float) if c in df.columns else np.full(len(df), np.nan)
        g[c] = f(v) if f is not None else v
    agg = g.groupby("bin").agg(found=("frame", "nunique"), face_score_min=("face_score", "min"),
                               yaw_max=("yaw", "max"), pitch_max=("pitch", "max"),
                               roll_max=("roll", "max"), face_px_min=("face_w", "min"),
                               doubtful_share=("doubtful", "mean"))
    out = pd.DataFrame({"start": edges[:-1], "end": edges[1:]})
    out = out.join(agg, how="left")
    out["found"] = out["found"].fillna(0).astype(int)
    widths = out["end"] - out["start"]
    out["expected"] = np.maximum(np.round(widths * rate), 1).astype(int) if rate else out["found"]
    out["found_share"] = np.clip(out["found"] / np.maximum(out["expected"], 1), 0.0, 1.0)
    gap = np.zeros(len(out), bool)
    for a, b in decode_gaps(attrs):
        gap |= (out["start"].to_numpy() < b) & (out["end"].to_numpy() > a)
    out["untrusted"] = ((out["found_share"] < rule.min_found)
                        | (out["doubtful_share"].fillna(0) > 0.5) | gap)
    return out[QUALITY_COLUMNS]


def time_range(df: pd.DataFrame) -> tuple[float, float]:
    """The analysed window (s): ``attrs`` start/end or the video's duration, else the rows'."""
    attrs = df.attrs or {}
    video = attrs.get("video") or {}
    t = df["timestamp"].to_numpy(dtype=float) if len(df) else np.zeros(0)
    lo = attrs.get("start")
    hi = attrs.get("end") or (video.get("duration") if isinstance(video, dict) else None)
    lo = float(lo) if lo is not None else (min(0.0, float(t.min())) if len(t) else 0.0)
    hi = float(hi) if hi else (float(t.max()) if len(t) else lo + 1.0)
    if len(t):
        hi = max(hi, float(t.max()))
    return lo, max(hi, lo + 1e-3)


def untrusted_spans(bins: pd.DataFrame) -> list[tuple[float, float]]:
    """Merged ``(start, end)`` stretches (s) of consecutive untrusted bins."""
    spans: list[tuple[float, float]] = []
    for a, b, bad in bins[["start", "end", "untrusted"]].itertuples(index=False):
        if not bad:
            continue
        if spans and abs(spans[-1][1] - a) < 1e-9:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans
