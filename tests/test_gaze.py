"""Gaze from the iris landmarks and head pose (`fau.au.gaze`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fau.au import head_pose
from fau.au.gaze import gaze_angles, gaze_vectors, openface_angles
from fau.au.geometry import align, face_frame, mirror_landmarks

DATA = Path(__file__).parent / "data"
RIGHT_IRIS = list(range(468, 473))
LEFT_IRIS = list(range(473, 478))
#: Eye contours (MediaPipe mesh) of the subject's right and left eye.
EYE_R = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
EYE_L = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]


@pytest.fixture(scope="module")
def mesh() -> np.ndarray:
    return np.load(DATA / "mesh_cremad_neu.npy").astype(np.float64)


def moved_irises(mesh: np.ndarray, dx: float, dy: float = 0.0) -> np.ndarray:
    m = mesh.copy()
    m[RIGHT_IRIS + LEFT_IRIS, 0] += dx
    m[RIGHT_IRIS + LEFT_IRIS, 1] += dy
    return m


def test_looking_left_and_right_change_the_sign(mesh):
    base = gaze_angles(mesh)
    assert np.isfinite(base).all() and abs(base[0]) < 10 and abs(base[1]) < 10
    right = gaze_angles(moved_irises(mesh, +3.0))  # irises towards the image's right
    left = gaze_angles(moved_irises(mesh, -3.0))
    assert right[0] > base[0] + 8 and right[0] > 5
    assert left[0] < base[0] - 8 and left[0] < -5
    # a horizontal eye movement hardly changes the pitch
    assert abs(right[1] - base[1]) < 4 and abs(left[1] - base[1]) < 4


def test_looking_up_and_down(mesh):
    base = gaze_angles(mesh)
    up = gaze_angles(moved_irises(mesh, 0.0, -2.0))  # image y grows downwards
    down = gaze_angles(moved_irises(mesh, 0.0, +2.0))
    assert up[1] > base[1] + 5 and down[1] < base[1] - 5


def test_mirrored_face_mirrors_the_gaze(mesh):
    m = moved_irises(mesh, 2.5, -1.0)
    a = gaze_angles(m)
    b = gaze_angles(mirror_landmarks(m, width=480.0))
    assert b[0] == pytest.approx(-a[0], abs=0.5)
    assert b[1] == pytest.approx(a[1], abs=0.5)


def _turn_head(mesh: np.ndarray, yaw_deg: float) -> np.ndarray:
    """The mesh turned about the vertical axis by ``yaw_deg`` (> 0 towards the image's right)."""
    p = face_frame(mesh)
    c = p.mean(axis=0)
    t = np.radians(yaw_deg)
    ry = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
    q = (p - c) @ ry.T + c
    return q * np.array([1.0, -1.0, -1.0])  # back to image coordinates


@pytest.mark.parametrize("yaw", [-25.0, 20.0])
def test_eyes_fixed_in_a_turning_head_follow_the_head(mesh, yaw):
    base = gaze_angles(mesh)
    turned = _turn_head(mesh, yaw)
    head = head_pose(align(turned).rotation)[1] - head_pose(align(mesh).rotation)[1]
    assert head == pytest.approx(yaw, abs=1.0)
    assert gaze_angles(turned)[0] - base[0] == pytest.approx(yaw, abs=2.0)


def test_closed_eyes_give_nan_and_one_open_eye_is_enough(mesh):
    shut = mesh.copy()
    for upper, lower in (((159, 158, 160), (145, 153, 144)), ((386, 385, 387), (374, 380, 373))):
        shut[list(upper), 1] = shut[list(lower), 1].mean()
    assert np.isnan(gaze_angles(shut)).all()
    one = mesh.copy()
    one[[159, 158, 160], 1] = one[[145, 153, 144], 1].mean()
    assert np.isfinite(gaze_angles(one)).all()


def test_batch_equals_single_and_vectors_are_unit(mesh):
    batch = np.stack([mesh, moved_irises(mesh, 2.0), moved_irises(mesh, -2.0)])
    g = gaze_vectors(batch)
    assert g.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(gaze_angles(batch)[1], gaze_angles(batch[1]), atol=1e-9)
    with pytest.raises(ValueError):
        gaze_angles(mesh[:468])


def test_openface_angle_conventions():
    x, y = openface_angles(np.array([20.0, 0.0, 0.0]), np.array([0.0, 15.0, -15.0]))
    assert x[0] == pytest.approx(np.radians(20.0)) and y[0] == pytest.approx(0.0)
    assert x[1] == pytest.approx(0.0) and y[1] == pytest.approx(-np.radians(15.0))  # up < 0
    assert y[2] == pytest.approx(np.radians(15.0))  # looking down > 0


def _shift_irises_in_image(rgb: np.ndarray, lm: np.ndarray, dx: float) -> np.ndarray:
    """The photo with both irises moved ``dx`` pixels sideways inside the eye openings."""
    import cv2

    out = rgb.copy()
    h, w = rgb.shape[:2]
    shift = np.float32([[1, 0, dx], [0, 1, 0]])
    moved = cv2.warpAffine(rgb, shift, (w, h))
    for eye, centre, ring in ((EYE_R, 468, RIGHT_IRIS[1:]), (EYE_L, 473, LEFT_IRIS[1:])):
        opening = np.zeros((h, w), np.uint8)
        cv2.fillPoly(opening, [np.round(lm[eye, :2]).astype(np.int32)], 255)
        r = float(np.mean(np.linalg.norm(lm[ring, :2] - lm[centre, :2], axis=1)))
        disc = np.zeros((h, w), np.uint8)
        cv2.circle(disc, tuple(int(v) for v in np.round(lm[centre, :2])), int(round(r * 1.05)), 255, -1)
        sclera = (opening > 0) & (disc == 0)
        region = out.copy()
        region[opening > 0] = np.median(rgb[sclera], axis=0)
        paste = (opening > 0) & (cv2.warpAffine(disc, shift, (w, h)) > 0)
        region[paste] = moved[paste]
        region = cv2.GaussianBlur(region, (3, 3), 0)
        out[opening > 0] = region[opening > 0]
    return out


def test_real_photo_with_moved_irises_through_the_detector():
    """A CREMA-D frame whose irises are moved 4 px left / right (pixels, not landmarks)."""
    import fau
    from fau.io import load_image

    rgb = load_image(DATA / "cremad_neu.jpg")
    with fau.Detector(expression_model=None) as det:
        lm = det.landmarks(rgb)[0]
        base = gaze_angles(lm)
        right = gaze_angles(det.landmarks(_shift_irises_in_image(rgb, lm, +4.0))[0])
        left = gaze_angles(det.landmarks(_shift_irises_in_image(rgb, lm, -4.0))[0])
    assert abs(base[0]) < 10
    assert right[0] > base[0] + 8 and right[0] > 5
    assert left[0] < base[0] - 8 and left[0] < -5
