"""Faces rolled past 90° and upside down: found, measured upright, read the same.

Frames are the CREMA-D stills the repo ships (tests/data, ODbL), turned by 180° with an
array flip: pixel (x, y) of the turned frame is pixel (W - 1 - x, H - 1 - y) of the frame.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import fau
from fau.au.alignment import inter_ocular_distance
from fau.errors import FauError
from fau.expression.labels import EXPRESSIONS
from fau.landmarks.blazeface import RawDetections
from fau.landmarks.mediapipe import quarter_turned
from fau.landmarks.roi import eye_angle
from fau.resources import face_landmarker_bytes

DATA = Path(__file__).parent / "data"
NAMES = ("ang", "dis", "fea", "hap", "neu", "sad")


def _frame(name: str) -> np.ndarray:
    return np.asarray(Image.open(DATA / f"cremad_{name}.jpg").convert("RGB"))


def _turn(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img[::-1, ::-1])


def _turned_points(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    return np.column_stack([w - 1 - points[:, 0], h - 1 - points[:, 1]])


@pytest.fixture(scope="module")
def det():
    with fau.Detector() as d:
        yield d


@pytest.mark.parametrize("name", NAMES)
def test_upside_down_face_is_measured_upright(det, name) -> None:
    img = _frame(name)
    up = det.landmarks(img)
    down = det.landmarks(_turn(img))
    assert len(up) == 1 and len(down) == 1
    want = _turned_points(up[0], img.shape)
    err = np.linalg.norm(down[0][:, :2] - want, axis=1).mean() / inter_ocular_distance(want)
    assert err < 0.03  # measured 0.007-0.015 inter-ocular distances
    a, b = det.detect_image(img).iloc[0], det.detect_image(_turn(img)).iloc[0]
    assert abs(abs(b["roll"] - a["roll"]) - 180.0) < 5.0
    probs = list(EXPRESSIONS)
    assert np.abs(a[probs].to_numpy(float) - b[probs].to_numpy(float)).max() < 0.1


def test_without_the_check_upside_down_faces_are_lost_or_wrong(det) -> None:
    """What the check mends: the detector finds the turned faces but boxes them as upright
    ones, so their meshes are dropped (presence < 0.5) or fitted upside down."""
    detector = det.backend.detector
    detector.turn_check_score = 0.0
    try:
        bad = 0
        for name in NAMES:
            img = _frame(name)
            want = _turned_points(det.landmarks(img)[0], img.shape)
            down = det.landmarks(_turn(img))
            if len(down) == 0:
                bad += 1
                continue
            err = (np.linalg.norm(down[0][:, :2] - want, axis=1).mean()
                   / inter_ocular_distance(want))
            bad += err > 0.5
        assert bad == len(NAMES)
    finally:
        detector.turn_check_score = fau.landmarks.detection.TURN_CHECK_SCORE


def test_upright_faces_are_not_turned(det) -> None:
    """Faces whose turned window scores lower keep their detection bit for bit."""
    detector = det.backend.detector
    img = _frame("hap")
    checked = detector.detect(img)
    detector.turn_check_score = 0.0
    try:
        plain = detector.detect(img)
    finally:
        detector.turn_check_score = fau.landmarks.detection.TURN_CHECK_SCORE
    assert [d.box for d in checked] == [d.box for d in plain]
    assert all(np.array_equal(a.keypoints, b.keypoints) for a, b in zip(checked, plain))


def test_check_on_the_detector_thread_corrects_the_first_stage(det) -> None:
    """With the detector's thread the first stage is given unchecked; the faces its check
    turns open the second stage, each naming the detection it replaces."""
    backend = det.backend
    img = _turn(_frame("hap"))
    first, second = backend.detector.stages(img, executor=backend._executor())
    assert len(first) == 1 and len(second) == 1
    assert second[0].replaces is first[0]
    assert not np.array_equal(second[0].keypoints, first[0].keypoints)
    # without the thread the first stage is checked before it is given
    inline = list(backend.detector.stages(img))
    assert [len(s) for s in inline] == [1, 0] and inline[0][0].replaces is None
    assert np.allclose(inline[0][0].keypoints, second[0].keypoints)
    # detect() applies the correction: one detection, the turned one
    (only,) = backend.detector.detect(img, executor=backend._executor())
    assert only.replaces is None and np.allclose(only.keypoints, second[0].keypoints)
    # and the backend measures the face once, from the turned box
    assert len(backend.detect(img)) == 1


def test_turn_retry_is_a_last_stage(det) -> None:
    """With nothing found (nor by the border view), the image is searched turned."""
    detector = det.backend.detector
    blank = np.full((240, 320, 3), 127, np.uint8)
    assert [len(s) for s in detector.stages(blank)] == [0, 0, 0, 0]
    assert [len(s) for s in detector.stages(blank, turn_retry=False)] == [0, 0, 0]
    assert [len(s) for s in detector.stages(blank, border_retry=False)] == [0, 0, 0]
    assert [len(s) for s in detector.stages(blank, border_retry=False,
                                            turn_retry=False)] == [0, 0]


def test_turn_retry_finds_faces_in_the_turned_image(det) -> None:
    """`FaceDetector.turned` finds the faces of the half-turned image, in its own pixels."""
    detector = det.backend.detector
    img = _frame("neu")
    h, w = img.shape[:2]
    (upright,) = detector.detect(img)
    found = detector.turned(_turn(img))  # its turned copy is ``img`` itself
    assert len(found.scores) == 1
    x0, y0, bw, bh = upright.box
    assert np.allclose(found.boxes[0], [w - x0 - bw, h - y0 - bh, w - x0, h - y0],
                       atol=0.05 * bw)
    # the keypoints keep their meaning: the subject's right eye is still keypoint 0 (the
    # ear tragions, 4 and 5, are the loosest: 5.5 px here)
    assert np.allclose(found.keypoints[0], np.array([w, h]) - upright.keypoints, atol=0.1 * bw)


def test_turn_check_score_is_validated() -> None:
    import io
    import zipfile

    from fau.landmarks.detection import FaceDetector

    with zipfile.ZipFile(io.BytesIO(face_landmarker_bytes())) as bundle:
        model = bundle.read("face_detector.tflite")
    for bad in (-0.1, 1.5, True, float("nan")):
        with pytest.raises(FauError, match="turn_check_score"):
            FaceDetector(model, turn_check_score=bad)


def test_half_turned_twice_is_the_identity() -> None:
    rng = np.random.default_rng(0)
    lo = rng.uniform(0, 100, (5, 2))
    boxes = np.hstack([lo, lo + rng.uniform(1, 50, (5, 2))])
    raw = RawDetections(boxes, rng.uniform(0, 150, (5, 6, 2)), rng.uniform(0, 1, 5))
    once = raw.half_turned(160, 120)
    assert (once.boxes[:, 2:] > once.boxes[:, :2]).all()
    twice = once.half_turned(160, 120)
    assert np.allclose(twice.boxes, raw.boxes) and np.allclose(twice.keypoints, raw.keypoints)
    assert np.array_equal(twice.scores, raw.scores)


def _roll(points: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Points turned about their mean by ``quarter_turns`` × 90° (image y down)."""
    c = points.mean(axis=0)
    t = quarter_turns * math.pi / 2.0
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return (points - c) @ rot.T + c


@settings(max_examples=50, deadline=None)
@given(angle=st.floats(-44.0, 44.0), k=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_quarter_turned_undoes_quarter_rolls(angle: float, k: int, seed: int) -> None:
    pts = np.random.default_rng(seed).uniform(0, 500, (146, 2)).astype(np.float32)
    a = math.radians(angle)
    assert np.array_equal(quarter_turned(pts, a), pts)  # within ±45°: as given
    rolled = _roll(pts.astype(np.float64), k)
    back = quarter_turned(rolled, a + k * math.pi / 2.0)
    assert np.allclose(back, pts, atol=1e-3)


def test_blendshapes_of_an_upside_down_mesh(det) -> None:
    """The blendshape model reads the mesh upright: a half-turned mesh scores the same."""
    _, (face,) = det.meshes(_frame("hap"))
    backend = det.backend
    turned = face.landmarks.copy()
    turned[:, :2] = _roll(face.landmarks[:, :2].astype(np.float64), 2)
    assert abs(abs(eye_angle(turned) - eye_angle(face.landmarks)) - math.pi) < 1e-3
    assert np.abs(backend.blendshapes(turned) - face.blendshapes).max() < 1e-3


def test_quarter_turned_takes_points_without_a_roll() -> None:
    """An undefined roll (NaN landmarks) leaves the points as they are."""
    pts = np.full((146, 2), np.nan, np.float32)
    assert np.isnan(quarter_turned(pts, float("nan"))).all()
