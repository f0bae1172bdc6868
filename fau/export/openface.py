"""fau's video table as an OpenFace 2.x ``FeatureExtraction`` CSV.

Behavioural researchers analyse the CSVs of OpenFace 2 (Baltrušaitis et al., 2018), so
fau writes the same columns, in OpenFace's order (its ``RecorderCSV``: the frame
columns, gaze, pose, AU intensities, AU presences), for what fau measures:

``frame, face_id, timestamp, confidence, success, gaze_angle_x, gaze_angle_y, pose_Tx,
pose_Ty, pose_Tz, pose_Rx, pose_Ry, pose_Rz, AU01_r … AU45_r, AU01_c … AU45_c``

and like OpenFace separates the cells by ``", "`` (scripts written for OpenFace's files
often select columns such as ``" AU12_r"``). Per column:

===================  =========================================================================
``frame``            fau's ``frame`` + 1 (OpenFace counts frames from 1)
``face_id``          fau's ``track_id`` (one id per person, `fau.video.identity`)
``timestamp``        seconds (fau's presentation time)
``confidence``       the landmark model's face-presence score (0-1); OpenFace's is its
                     tracker's certainty: comparable in range, not in meaning
``success``          1 (fau writes rows only for frames where it found the face; OpenFace's
                     single-face tool writes a 0 row for the others)
``gaze_angle_x/_y``  radians, OpenFace's convention (x > 0 looking towards the image's
                     right, y > 0 looking down), from ``gaze_yaw``/``gaze_pitch``
                     (`fau.au.gaze.openface_angles`); empty during a blink
``pose_Tx/_Ty/_Tz``  millimetres, camera frame (x right, y down, z away): an *estimate* from
                     the face box, with OpenFace's default camera (focal length 500 px
                     × width / 640, principal point at the centre) and a 155-mm face
                     width (the canonical face's landmark box); no calibration
``pose_Rx/_Ry/_Rz``  radians, OpenFace's convention (R = Rx·Ry·Rz in its camera frame):
                     from fau's pitch, yaw, roll (degrees); for small angles
                     Rx ≈ −pitch (> 0 looking down), Ry ≈ −yaw, Rz ≈ −roll
``AUxx_r``           fau's baseline-relative AU (``AUxx_rel``; fraction of the inter-ocular
                     distance, AU45 of the neutral eye opening), negative values as 0.
                     **Not OpenFace's 0-5 intensity scale**: 0.1 IOD is a large movement
``AUxx_c``           fau's own per-frame occurrence ``AUxx_c`` (the raw AU above a
                     threshold chosen on FACS-coded CK+, `fau.au.AU_THRESHOLDS`), the
                     analogue of OpenFace's per-frame presence; for a table without it,
                     1 while the frame is inside one of fau's episodes of that AU
                     (`fau.video.find_events` with ``speech_aus="keep"``), else 0
===================  =========================================================================

OpenFace AUs fau does not measure (AU28_c) have no column; fau AUs OpenFace does not
report (e.g. the one-sided AU12_L) are left out. Landmarks, eye landmarks, gaze vectors
and shape parameters of OpenFace's full output are not written.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from ..au.gaze import openface_angles
from ..errors import FauError

__all__ = [
    "OPENFACE_AUS_R",
    "OPENFACE_AUS_C",
    "FOCAL_PER_640_PX",
    "FACE_WIDTH_MM",
    "openface_columns",
    "openface_table",
    "openface_csv",
    "openface_rotation",
]

#: OpenFace 2's intensity AUs (``AUxx_r``), in its output order.
OPENFACE_AUS_R: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
    "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
)
#: OpenFace 2's presence AUs (``AUxx_c``), in its output order (AU28 only as presence).
OPENFACE_AUS_C: tuple[str, ...] = OPENFACE_AUS_R[:-1] + ("AU28", "AU45")
#: OpenFace's default focal length (px) for an uncalibrated camera, per 640 px of image
#: width (``fx = 500 × width / 640``, its ``SequenceCapture``).
FOCAL_PER_640_PX = 500.0
#: Width (mm) of the canonical face's landmark box (MediaPipe's canonical face model,
#: x extent of its 468 vertices: 15.5 cm), the size behind the distance estimate.
FACE_WIDTH_MM = 155.0
_FRAME_COLUMNS = ("frame", "face_id", "timestamp", "confidence", "success")
_GAZE = ("gaze_angle_x", "gaze_angle_y")
_POSE = ("pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz")


def openface_columns(aus: tuple[str, ...] | list[str]) -> list[str]:
    """The columns written for a table that has the AUs ``aus`` (OpenFace's order)."""
    have = set(aus)
    return (list(_FRAME_COLUMNS) + list(_GAZE) + list(_POSE)
            + [f"{a}_r" for a in OPENFACE_AUS_R if a in have]
            + [f"{a}_c" for a in OPENFACE_AUS_C if a in have])


def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    r = np.zeros(a.shape + (3, 3))
    i, j = [k for k in range(3) if k != axis]
    r[..., axis, axis] = 1.0
    r[..., i, i], r[..., j, j] = c, c
    r[..., i, j], r[..., j, i] = -s, s
    if axis == 1:  # Ry: the sine signs are the other way round
        r[..., i, j], r[..., j, i] = s, -s
    return r


def openface_rotation(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """OpenFace's ``pose_Rx, pose_Ry, pose_Rz`` (radians) from fau's head pose (degrees).

    fau's rotation is ``Ry(yaw) @ Rx(-pitch) @ Rz(roll)`` in a y-up, z-towards-camera
    frame (`fau.au.head_pose`); OpenFace's camera frame has y down and z away, so its
    matrix is ``F R F`` with ``F = diag(1, -1, -1)``, decomposed as ``Rx Ry Rz``.

    Returns
    -------
    ndarray (n, 3)
    """
    p, y, r = (np.radians(np.asarray(v, dtype=np.float64)) for v in (pitch, yaw, roll))
    rm = _rot(1, y) @ _rot(0, -p) @ _rot(2, r)
    f = np.diag([1.0, -1.0, -1.0])
    m = f @ rm @ f
    ry = np.arcsin(np.clip(m[..., 0, 2], -1.0, 1.0))
    rx = np.arctan2(-m[..., 1, 2], m[..., 2, 2])
    rz = np.arctan2(-m[..., 0, 1], m[..., 0, 0])
    return np.stack([rx, ry, rz], axis=-1)


def _frame_size(attrs: dict) -> tuple[int | None, int | None]:
    """``(width, height)`` (px) of the frames fau analysed, from a `detect_video` table's
    ``attrs``: the header's coded size, its width in square pixels for an anamorphic
    video (`fau.video.reader.square_pixels`), swapped where the display matrix turns
    the video by 90° or 270° (`fau.video.reader`: frames, boxes and landmarks are
    upright)."""
    from ..video.reader import square_width

    info = attrs.get("video") or {}
    width, height = info.get("width"), info.get("height")
    if width:
        width = square_width(width, float(info.get("sample_aspect_ratio") or 1.0))
    rotation = (attrs.get("decoding") or {}).get("rotation") or 0
    if int(rotation) % 180 == 90:
        width, height = height, width
    return width, height


def _presence(frames: pd.DataFrame, events: pd.DataFrame, aus: list[str]) -> dict[str, np.ndarray]:
    out = {a: np.zeros(len(frames), np.int64) for a in aus}
    if events is None or not len(events):
        return out
    ev = events[events["kind"] == "au"]
    tid = frames["track_id"].to_numpy()
    fr = frames["frame"].to_numpy()
    for e in ev.itertuples(index=False):
        if e.name in out:
            inside = (tid == e.track_id) & (fr >= e.onset_frame) & (fr <= e.offset_frame)
            out[e.name][inside] = 1
    return out


def openface_table(
    frames: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
) -> pd.DataFrame:
    """The OpenFace columns (module docs) of a `detect_video` table.

    Parameters
    ----------
    frames : DataFrame
        `fau.Detector.detect_video` output (``frame``, ``timestamp``, ``track_id``,
        ``face_score``, box, pose, ``AUxx_rel`` or ``AUxx``; ``gaze_yaw``/``gaze_pitch``
        if present).
    events : DataFrame or None
        `fau.video.find_events` rows for the ``_c`` columns of a table without fau's own
        ``AUxx_c``; None computes them (``speech_aus="keep"``) when needed.
    width, height : int or None
        Frame size (px) for the position estimate, as fau analysed the frames (upright);
        default ``frames.attrs["video"]``'s, swapped for a video turned by a quarter turn
        for display (``frames.attrs["decoding"]["rotation"]`` 90 or 270: phones' portrait
        video, whose header gives the landscape coded size).

    Returns
    -------
    DataFrame
        Columns `openface_columns`, one row per face row of ``frames``.

    Raises
    ------
    FauError
        ``frames`` lacks the video columns.
    """
    missing = {"frame", "timestamp", "track_id", "face_score"} - set(frames.columns)
    if missing:
        raise FauError(f"an OpenFace CSV needs a detect_video table; missing {sorted(missing)}")
    if events is None and not all(f"{a}_c" in frames.columns for a in OPENFACE_AUS_R):
        from ..video.temporal import find_events

        events = find_events(frames, expressions=False, speech_aus="keep")
    shown_w, shown_h = _frame_size(frames.attrs)
    width, height = width or shown_w, height or shown_h
    n = len(frames)
    out = pd.DataFrame({
        "frame": frames["frame"].to_numpy(np.int64) + 1,
        "face_id": frames["track_id"].to_numpy(np.int64),
        "timestamp": frames["timestamp"].to_numpy(np.float64),
        "confidence": frames["face_score"].to_numpy(np.float64),
        "success": np.ones(n, np.int64),
    })
    if {"gaze_yaw", "gaze_pitch"} <= set(frames.columns):
        gx, gy = openface_angles(frames["gaze_yaw"].to_numpy(), frames["gaze_pitch"].to_numpy())
    else:
        gx = gy = np.full(n, np.nan)
    out["gaze_angle_x"], out["gaze_angle_y"] = gx, gy
    if width and height and {"face_x", "face_y", "face_w", "face_h"} <= set(frames.columns):
        f = FOCAL_PER_640_PX * float(width) / 640.0
        tz = f * FACE_WIDTH_MM / np.maximum(frames["face_w"].to_numpy(np.float64), 1e-9)
        u = frames["face_x"].to_numpy(np.float64) + frames["face_w"].to_numpy(np.float64) / 2
        v = frames["face_y"].to_numpy(np.float64) + frames["face_h"].to_numpy(np.float64) / 2
        out["pose_Tx"] = (u - float(width) / 2) * tz / f
        out["pose_Ty"] = (v - float(height) / 2) * tz / f
        out["pose_Tz"] = tz
    else:
        out["pose_Tx"] = out["pose_Ty"] = out["pose_Tz"] = np.nan
    if {"pitch", "yaw", "roll"} <= set(frames.columns):
        rot = openface_rotation(frames["pitch"], frames["yaw"], frames["roll"]).reshape(n, 3)
    else:
        rot = np.full((n, 3), np.nan)
    out["pose_Rx"], out["pose_Ry"], out["pose_Rz"] = rot[:, 0], rot[:, 1], rot[:, 2]
    aus = [a for a in OPENFACE_AUS_C if f"{a}_rel" in frames.columns or a in frames.columns]
    for a in (a for a in OPENFACE_AUS_R if a in aus):
        col = f"{a}_rel" if f"{a}_rel" in frames.columns else a
        out[f"{a}_r"] = np.clip(frames[col].to_numpy(np.float64), 0.0, None)
    present = _presence(frames, events, aus)
    for a in (a for a in OPENFACE_AUS_C if a in aus):
        own = frames.get(f"{a}_c")
        out[f"{a}_c"] = (present[a] if own is None
                         else (np.nan_to_num(own.to_numpy(np.float64)) > 0.5).astype(np.int64))
    return out[openface_columns(aus)]


def openface_csv(
    frames: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
) -> str:
    """The text of an OpenFace-style CSV (`openface_table`, cells separated by ``", "``).

    Numbers are written with 6 significant digits (timestamps with 3 decimals, as
    OpenFace); a missing value (gaze during a blink) is an empty cell.
    """
    table = openface_table(frames, events, width=width, height=height)
    buf = io.StringIO()
    buf.write(", ".join(table.columns) + "\n")
    ints = {"frame", "face_id", "success"} | {c for c in table.columns if c.endswith("_c")}
    cols = []
    for c in table.columns:
        v = table[c].to_numpy()
        if c in ints:
            cols.append([str(int(x)) for x in v])
        elif c == "timestamp":
            cols.append([f"{x:.3f}" for x in v])
        else:
            cols.append(["" if not math.isfinite(x) else f"{x:.6g}" for x in v.astype(float)])
    for row in zip(*cols):
        buf.write(", ".join(row) + "\n")
    return buf.getvalue()
