"""Gaze direction from MediaPipe's iris landmarks and the head pose (pure numpy).

Method (an eyeball model, as OpenFace 2's ``GazeAnalysis`` uses one; Wood et al. 2015,
Baltrušaitis et al. 2018), per eye:

1. **Head frame.** `fau.au.align` removes head pose and size: the mesh is in the
   canonical face's frame and centimetres (x = the subject's left, y up, z out of the
   face towards the viewer).
2. **Eyeball centre.** The midpoint of the eye's two corners (33/133, 263/362) plus a
   fixed offset `EYEBALL_OFFSET_CM` in x and y. The offset is where the iris centre
   sits, relative to the corner midpoint, when a person looks into the camera: measured
   by ``benchmarks/gaze_calibration.py`` on the 204 frontal photos of the London set
   (102 people told to look into the camera; see docs/video.md).
3. **Eye rotation.** The iris centre (468 right eye, 473 left eye) lies on a sphere
   of radius `EYEBALL_RADIUS_CM` around the eyeball centre: its x/y offset ``d`` from
   the centre gives the eye's direction ``(dx, dy, sqrt(r² − |d|²)) / r`` in the head
   frame (offsets beyond the radius are clipped to 89°).
4. **Camera frame.** The head's rotation (`fau.au.Alignment.rotation` transposed) turns
   the direction into the camera frame (x = image right, y = image up, z = towards the
   camera); the two eyes' unit vectors are averaged and normalised (OpenFace averages
   its two gaze vectors the same way). An eye whose opening is below
   `MIN_OPENING` of the canonical face's (a blink) does not count; with both closed the
   gaze is NaN.

Angles (degrees, the camera frame, the same signs as fau's head pose):
``gaze_yaw = atan2(gx, gz)`` > 0 looking towards the image's right (the subject's left),
``gaze_pitch = asin(gy)`` > 0 looking up. (0, 0) is looking into the camera; a head
turned with the eyes fixed in it gives gaze = head yaw/pitch.

OpenFace's ``gaze_angle_x`` / ``gaze_angle_y`` (radians; its camera frame has y down and
z away from the camera, and the gaze vector points out of the eye) are
``atan2(gx, gz)`` and ``atan2(-gy, gz)``: x > 0 looking towards the image's right,
y > 0 looking **down** (OpenFace ``GazeAnalysis::GetGazeAngle`` and its wiki "Output
Format": left-right runs from positive to negative, up-down from negative to positive).
`openface_angles` converts.

Accuracy: the iris is 10-20 px wide in a 640×480 interview frame, so one pixel of iris
error is ~3-6° of gaze; MediaPipe's iris landmarks are not calibrated eye tracking. Use
the angles for coarse direction (at the camera, away, down), not for fixations.
"""

from __future__ import annotations

import numpy as np

from ..errors import FauError
from .alignment import _as_floats
from .geometry import Alignment, align

__all__ = [
    "EYEBALL_RADIUS_CM",
    "EYEBALL_OFFSET_CM",
    "MIN_OPENING",
    "GAZE_NAMES",
    "gaze_vectors",
    "gaze_angles",
    "openface_angles",
]

#: Output columns: gaze yaw and pitch, degrees (see module docs).
GAZE_NAMES: tuple[str, ...] = ("gaze_yaw", "gaze_pitch")
#: Radius (cm) of the sphere on which the iris centre turns: 12 mm, OpenFace's eyeball
#: radius (adult eyeball diameter ~24 mm; Bekerman et al. 2014, Int. J. Ophthalmology).
EYEBALL_RADIUS_CM = 1.2
#: Iris centre minus eye-corner midpoint (x, y; cm, head frame) of a person looking into
#: the camera, for the subject's right and left eye. Measured by
#: ``benchmarks/gaze_calibration.py`` on the 204 London set photos: medians right eye
#: (-0.146, 0.237), left eye (0.198, 0.234), the same within 0.01 cm in either half of the
#: subjects; made mirror-symmetric (mean |x| 0.172, y 0.236) so that a mirrored face gives
#: the mirrored gaze. (The 0.05 cm asymmetry, ~1.2° of yaw, is taken as the camera's
#: placement in that studio, not as anatomy.)
EYEBALL_OFFSET_CM = np.array([[-0.172, 0.236], [0.172, 0.236]])
#: Smallest eye opening (upper minus lower lid height, as a fraction of the canonical
#: face's) at which the iris is used; below it the lids hide the iris (a blink).
MIN_OPENING = 0.35

# Landmarks (subject's right eye, left eye).
_CORNERS = ((33, 133), (263, 362))
_IRIS_CENTRE = (468, 473)
_UPPER_LID = ((159, 158, 160), (386, 385, 387))
_LOWER_LID = ((145, 153, 144), (374, 380, 373))
#: Canonical eye opening (cm), MediaPipe's canonical face (`fau.landmarks.canonical`):
#: upper lid (159, 158, 160) minus lower lid (145, 153, 144) height, mean of both eyes.
_CANONICAL_OPENING_CM = 0.628


def _opening(points: np.ndarray, k: int) -> np.ndarray:
    y = points[..., 1]
    return y[..., list(_UPPER_LID[k])].mean(-1) - y[..., list(_LOWER_LID[k])].mean(-1)


def gaze_vectors(
    landmarks: np.ndarray, alignment: Alignment | None = None
) -> np.ndarray:
    """Unit gaze vectors in the camera frame (x image right, y image up, z to the camera).

    Parameters
    ----------
    landmarks : ndarray, (478, 3) or (n, 478, 3)
        MediaPipe landmarks in image pixels (with the 10 iris points).
    alignment : Alignment or None
        `fau.au.align` of the same landmarks, if already computed.

    Returns
    -------
    ndarray, (3,) or (n, 3)
        NaN where both eyes are closed (opening below `MIN_OPENING`).
    """
    lm = _as_floats(landmarks, "gaze_vectors")
    single = lm.ndim == 2
    if single:
        lm = lm[None]
    if lm.shape[-2:] != (478, 3):
        raise FauError(f"gaze needs the 478-point mesh with iris points, got {lm.shape[-2:]}")
    al = alignment if alignment is not None else align(lm)
    p = np.asarray(al.points, dtype=np.float64).reshape(-1, 478, 3)
    rot = np.asarray(al.rotation, dtype=np.float64).reshape(-1, 3, 3)
    total = np.zeros((len(p), 3))
    for k in (0, 1):
        centre = p[:, list(_CORNERS[k]), :2].mean(axis=1) + EYEBALL_OFFSET_CM[k]
        d = p[:, _IRIS_CENTRE[k], :2] - centre
        r = np.linalg.norm(d, axis=1, keepdims=True)
        lim = EYEBALL_RADIUS_CM * np.sin(np.radians(89.0))
        d = np.where(r > lim, d * lim / np.maximum(r, 1e-12), d)
        dz = np.sqrt(np.maximum(EYEBALL_RADIUS_CM**2 - (d**2).sum(axis=1), 0.0))
        head = np.concatenate([d, dz[:, None]], axis=1) / EYEBALL_RADIUS_CM
        # Alignment.rotation takes the face frame to the canonical frame: its transpose
        # is the head's rotation (head frame -> camera frame).
        cam = np.einsum("nji,nj->ni", rot, head)
        is_open = _opening(p, k) >= MIN_OPENING * _CANONICAL_OPENING_CM
        total += np.where(is_open[:, None], cam, 0.0)
    norm = np.linalg.norm(total, axis=1, keepdims=True)
    out = np.where(norm > 1e-9, total / np.where(norm > 1e-9, norm, 1.0), np.nan)
    return out[0] if single else out


def gaze_angles(
    landmarks: np.ndarray, alignment: Alignment | None = None
) -> np.ndarray:
    """``gaze_yaw``, ``gaze_pitch`` in degrees (camera frame; see module docs).

    Parameters
    ----------
    landmarks : ndarray, (478, 3) or (n, 478, 3)
        MediaPipe landmarks in image pixels.
    alignment : Alignment or None
        `fau.au.align` of the same landmarks, if already computed.

    Returns
    -------
    ndarray, (2,) or (n, 2)
        Yaw (> 0 towards the image's right) and pitch (> 0 up); NaN during a blink.
    """
    g = gaze_vectors(landmarks, alignment)
    yaw = np.degrees(np.arctan2(g[..., 0], g[..., 2]))
    pitch = np.degrees(np.arcsin(np.clip(g[..., 1], -1.0, 1.0)))
    return np.stack([yaw, pitch], axis=-1)


def openface_angles(gaze_yaw: np.ndarray, gaze_pitch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenFace's ``gaze_angle_x``, ``gaze_angle_y`` (radians) from fau's angles (degrees).

    ``gaze_angle_x = atan2(gx, gz)`` (> 0 towards the image's right) and
    ``gaze_angle_y = atan2(-gy, gz)`` (> 0 looking down), with the unit vector
    ``g = (cos p sin y, sin p, cos p cos y)`` of yaw ``y`` and pitch ``p``.
    """
    yaw = np.radians(np.asarray(gaze_yaw, dtype=np.float64))
    pitch = np.radians(np.asarray(gaze_pitch, dtype=np.float64))
    gx = np.cos(pitch) * np.sin(yaw)
    gy = np.sin(pitch)
    gz = np.cos(pitch) * np.cos(yaw)
    return np.arctan2(gx, gz), np.arctan2(-gy, gz)
