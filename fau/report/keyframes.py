"""Face crops of the moments a reader should check by eye: neutral baseline and strongest events.

Per face track the report shows its **neutral baseline frame** — of the track's
``neutral_frame`` rows, the one whose baseline-relative AUs are closest to zero (smallest
root mean square over the IOD AUs) — and its **strongest events**: for each AU the event
with the largest peak, then the `MAX_AU_EVENTS` AUs whose peak is largest relative to that
AU's spread in the track (peak / (1.4826 × median absolute deviation of ``AUxx_rel``),
so AUs that move little are not drowned by those that move a lot), plus the strongest
episode of each expression (up to `MAX_EXPRESSION_EVENTS`). Each crop is the face box
grown by `CROP_MARGIN` on every side, scaled to `CROP_PX` pixels high and embedded as a
JPEG data URI, with its time, AU and value in its unit (an expression: the smoothed
probability that the face would likely be read so, not a verdict). The frames are decoded again
from the video (`fau.report.frames.frames_at`); without the video the section says so.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from ..au import EYE_OPENING_UNIT, IOD_UNIT
from ..errors import FauError
from ..plot.style import format_time
from ..plot.units import au_unit

__all__ = ["Moment", "choose_moments", "keyframes_html", "CROP_PX", "CROP_MARGIN",
           "MAX_AU_EVENTS", "MAX_EXPRESSION_EVENTS", "JPEG_QUALITY"]

log = logging.getLogger(__name__)

#: Most AU events shown per track.
MAX_AU_EVENTS = 8
#: Most expression events shown per track.
MAX_EXPRESSION_EVENTS = 3
#: Crop height (px) and the margin added around the face box (fraction of its size).
CROP_PX, CROP_MARGIN = 132, 0.18
#: JPEG quality of the embedded crops (OpenCV's 0–100 scale): 3–4 kB per crop measured.
JPEG_QUALITY = 80
#: Smallest spread (per unit) used to rank peaks, so a flat AU does not win by dividing by 0.
_MIN_SPREAD = {IOD_UNIT: 0.005, EYE_OPENING_UNIT: 0.05}
_MAD_TO_SD = 1.4826  # normal-consistent scale of the median absolute deviation


@dataclass(frozen=True)
class Moment:
    """A frame to show: which track and time, why, and the face box (px)."""

    track_id: int
    timestamp: float
    kind: str  # "neutral", "au" or "expression"
    name: str
    value: float
    box: tuple[float, float, float, float]
    doubtful: str = ""  # which part of the quality rule the frame breaks, if any


def _rel(g: pd.DataFrame, a: str) -> np.ndarray:
    col = f"{a}_rel" if f"{a}_rel" in g.columns else a
    return g[col].to_numpy(dtype=float)


def _neutral(g: pd.DataFrame, aus: list[str]) -> pd.Series | None:
    if "neutral_frame" not in g.columns or not g["neutral_frame"].any():
        return None
    n = g[g["neutral_frame"].astype(bool)]
    iod = [a for a in aus if au_unit(a) == au_unit("AU01")]
    vals = np.vstack([_rel(n, a) for a in iod]).T if iod else np.zeros((len(n), 1))
    rms = np.sqrt(np.nanmean(vals**2, axis=1))
    return n.iloc[int(np.nanargmin(rms))] if np.isfinite(rms).any() else n.iloc[0]


def _spread(g: pd.DataFrame, a: str) -> float:
    v = _rel(g, a)
    v = v[np.isfinite(v)]
    mad = _MAD_TO_SD * float(np.median(np.abs(v - np.median(v)))) if len(v) else 0.0
    return max(mad, _MIN_SPREAD.get(au_unit(a), 0.005))


def _box(row) -> tuple[float, float, float, float]:
    return (float(row["face_x"]), float(row["face_y"]), float(row["face_w"]), float(row["face_h"]))


def _doubtful(row) -> str:
    """The parts of the quality rule (`fau.plot.quality`) a face row breaks, as text."""
    from ..plot.quality import doubtful_rows

    flags = doubtful_rows(row.to_frame().T).iloc[0]
    why = {"low_score": "low face score", "turned": "head turned", "small": "small face"}
    return ", ".join(text for k, text in why.items() if bool(flags[k]))


def _moment(g: pd.DataFrame, tid: int, t: float, kind: str, name: str, value: float) -> Moment:
    row = _at(g[g["track_id"] == tid], t)
    return Moment(int(tid), float(t), kind, name, float(value), _box(row), _doubtful(row))


def _at(g: pd.DataFrame, t: float):
    k = int(np.argmin(np.abs(g["timestamp"].to_numpy(dtype=float) - t)))
    return g.iloc[k]


def choose_moments(df: pd.DataFrame, events: pd.DataFrame, groups: list[list[int]],
                   aus: list[str]) -> list[Moment]:
    """The neutral frame and strongest events of each group of tracks (rule in the module
    docs; a group is one track, or tracks that never overlap in time, pooled)."""
    out = []
    for tracks in groups:
        g = df[df["track_id"].isin(tracks)].sort_values("timestamp", kind="stable")
        longest = g["track_id"].value_counts().idxmax()
        row = _neutral(g[g["track_id"] == longest], aus)
        if row is not None:
            out.append(_moment(g, longest, float(row["timestamp"]), "neutral", "baseline", 0.0))
        ev = events[events["track_id"].isin(tracks)] if len(events) else events
        if len(ev):  # an event without a peak or apex (a blank CSV cell) cannot be ranked
            ev = ev[np.isfinite(ev["peak"].to_numpy(dtype=float))
                    & np.isfinite(ev["apex"].to_numpy(dtype=float))]
        au_ev = ev[(ev["kind"] == "au") & ev["name"].isin(aus)] if len(ev) else ev
        if len(au_ev):
            best = au_ev.loc[au_ev.groupby("name")["peak"].idxmax()]
            score = best["peak"] / best["name"].map(lambda a: _spread(g, a))
            top = score.sort_values(ascending=False).index[:MAX_AU_EVENTS]
            for r in best.loc[top].itertuples():
                out.append(_moment(g, r.track_id, r.apex, "au", r.name, r.peak))
        ex_ev = ev[ev["kind"] == "expression"] if len(ev) else ev
        if len(ex_ev):
            best = ex_ev.loc[ex_ev.groupby("name")["peak"].idxmax()].nlargest(
                MAX_EXPRESSION_EVENTS, "peak")
            for r in best.itertuples():
                out.append(_moment(g, r.track_id, r.apex, "expression", r.name, r.peak))
    return out


def crop_jpeg(rgb: np.ndarray, box: tuple[float, float, float, float]) -> str:
    """The face box (grown by `CROP_MARGIN`) as a ``data:image/jpeg;base64,...`` URI."""
    import cv2

    x, y, w, h = box
    h_img, w_img = rgb.shape[:2]
    m = CROP_MARGIN * max(w, h)
    x0, y0 = int(max(x - m, 0)), int(max(y - m, 0))
    x1, y1 = int(min(x + w + m, w_img)), int(min(y + h + m, h_img))
    if x1 <= x0 or y1 <= y0:
        raise FauError(f"face box {box} is outside the {w_img}×{h_img} frame")
    crop = rgb[y0:y1, x0:x1]
    scale = CROP_PX / crop.shape[0]
    crop = cv2.resize(crop, (max(int(round(crop.shape[1] * scale)), 1), CROP_PX),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise FauError("JPEG encoding of a face crop failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _caption(m: Moment) -> str:
    if m.kind == "neutral":
        return f"track {m.track_id} · neutral baseline frame"
    if m.kind == "au":
        return f"track {m.track_id} · {m.name} {m.value:+.3f} {au_unit(m.name)}"
    return f"track {m.track_id} · likely read as {m.name}: p = {m.value:.2f}"


def keyframes_html(moments: list[Moment], video, *, scan: bool = False) -> str:
    """The figures of the keyframes section (or a note when the video is not available).

    ``scan``: find the frames in one decoding pass (`fau.report.frames.frames_at`), for
    files the reader had to repair.
    """
    if not moments:
        return '<p class="small">No face track has a baseline frame or an event to show.</p>'
    if not video:
        return ('<p class="note">No face crops: the report was made without the video file '
                "(crops are decoded again from it).</p>")
    from .frames import frames_at

    try:
        frames = frames_at(video, [m.timestamp for m in moments], scan=scan)
    except FauError as exc:
        return ('<p class="note">No face crops: the video is not available here '
                f"({escape(str(exc))})."
                "</p>")
    cards, missing = [], 0
    for m in moments:
        rgb = frames.get(float(m.timestamp))
        if rgb is None:
            missing += 1
            continue
        try:
            uri = crop_jpeg(rgb, m.box)
        except FauError as exc:
            log.warning("keyframe at %.3f s: %s", m.timestamp, exc)
            missing += 1
            continue
        cards.append(
            f'<figure class="kf kf-{m.kind}"><img src="{uri}" height="{CROP_PX}" '
            f'alt="{escape(_caption(m))} at {escape(format_time(m.timestamp, 0.1))}">'
            f"<figcaption><b>{escape(format_time(m.timestamp, 0.1))}</b><br>"
            f"{escape(_caption(m))}"
            + (f'<br><span class="warn">doubtful: {escape(m.doubtful)}</span>' if m.doubtful
               else "") + "</figcaption></figure>")
    note = (f'<p class="small">{missing} of {len(moments)} frames could not be decoded again '
            "from the video.</p>" if missing else "")
    return f'<div class="kfs">{"".join(cards)}</div>{note}'
