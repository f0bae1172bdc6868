"""The detector's second thread and ``min_face``: same faces, staged detections, options.

Group images are generated from the CREMA-D frames the repo ships (tests/data, ODbL).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import fau
from fau.landmarks.mediapipe import MediaPipeBackend

DATA = Path(__file__).parent / "data"


def _frame(name: str = "hap") -> np.ndarray:
    return np.asarray(Image.open(DATA / f"cremad_{name}.jpg").convert("RGB"))


@pytest.fixture(scope="module")
def group() -> np.ndarray:
    """1280×720 noise with one large (~200 px) and four small (~30-40 px) faces."""
    rng = np.random.default_rng(3)
    canvas = np.clip(rng.normal(128, 40, (720, 1280, 3)), 0, 255).astype(np.uint8)
    # each cut is the face (~100 px of the 480×360 frame) with its context
    canvas[60:660, 0:600] = cv2.resize(_frame("hap")[40:340, 90:390], (600, 600))
    for i, (name, side) in enumerate([("ang", 100), ("dis", 120), ("neu", 90), ("sad", 110)]):
        cut = cv2.resize(_frame(name)[40:340, 90:390], (side, side), interpolation=cv2.INTER_AREA)
        x, y = 650 + 150 * i, 300
        canvas[y : y + side, x : x + side] = cut
    return canvas


def test_detector_thread_finds_the_same_faces(group) -> None:
    """Staged detection on a second thread = the same meshes as on the caller's thread."""
    with MediaPipeBackend(num_threads=1, detector_thread=True) as threaded, \
            MediaPipeBackend(num_threads=1, detector_thread=False) as serial:
        a, b = threaded.detect(group), serial.detect(group)
        assert len(a) == len(b) == 5
        for m, n in zip(a, b):
            assert np.array_equal(m.landmarks, n.landmarks)
        assert threaded._pool is not None and serial._pool is None
    assert threaded._pool is None  # close() stops the thread


def test_stages_letterbox_first_then_finer_faces(group) -> None:
    with MediaPipeBackend(num_threads=1) as backend:
        det = backend.detector
        stages = [s for s in det.stages(group)]
        assert len(stages) == 2  # no border retry: faces were found
        coarse, fine = stages
        assert len(coarse) == 1 and coarse[0].box[2] > 150  # the large face
        assert len(fine) == 4 and all(d.box[2] < 80 for d in fine)
        assert [d.score for d in coarse] == sorted((d.score for d in coarse), reverse=True)
        merged = det.detect(group)
        assert [d.score for d in merged] == sorted((d.score for d in merged), reverse=True)
        assert len(merged) == len(coarse) + len(fine)


def test_small_letterbox_face_is_boxed_at_the_finer_scale_in_the_first_stage() -> None:
    """A ~95-px face on 640×480 is too small in the letterbox to keep its box
    (HANDOVER): the first stage boxes it again at the finer level's scale in a window
    around it, close to the whole finer level's box, and the second stage does not
    repeat it; threaded and serial detection give the same mesh."""
    from fau.landmarks.blazeface import RawDetections, box_iou, weighted_nms
    from fau.landmarks.pyramid import HANDOVER, MIN_FACE_INPUT

    frame = np.zeros((480, 640, 3), np.uint8)
    frame[60:420, 80:560] = _frame("hap")
    with MediaPipeBackend(num_threads=1, detector_thread=True) as threaded, \
            MediaPipeBackend(num_threads=1, detector_thread=False) as serial:
        det = serial.detector
        views = det.views(480, 640)
        iou = det.spec.nms_iou
        letterbox = weighted_nms(det.run_views(frame, views[:1]), iou)
        assert len(letterbox.scores) == 1
        width = letterbox.boxes[0, 2] - letterbox.boxes[0, 0]
        assert width * views[0].scale < HANDOVER * MIN_FACE_INPUT  # left to the finer level
        first, second = det.stages(frame)
        assert len(first) == 1 and second == []
        level = weighted_nms(RawDetections.concatenate(
            [det.run_views(frame, views[1:]), letterbox]), iou)
        x, y, w, h = first[0].box
        assert box_iou(np.array([x, y, x + w, y + h]), level.boxes)[0] > 0.8
        assert box_iou(np.array([x, y, x + w, y + h]), letterbox.boxes)[0] < 0.95
        assert len(det.detect(frame)) == 1
        a, b = threaded.detect(frame), serial.detect(frame)
        assert len(a) == len(b) == 1 and np.array_equal(a[0].landmarks, b[0].landmarks)


@pytest.mark.parametrize("x, y", [(0, 0), (-60, 100), (355, 195)])
def test_small_letterbox_face_at_the_image_border(x, y) -> None:
    """A ~90-px face in a corner, or cut by the left edge: its window reaches past the
    image (black there); the face is still found once, in the first stage."""
    side = 285  # the cut around the face (~300 px of the 480×360 frame) -> a ~90-px face
    face = cv2.resize(_frame("hap")[40:340, 90:390], (side, side), interpolation=cv2.INTER_AREA)
    img = np.full((480, 640, 3), 90, np.uint8)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + side, 640), min(y + side, 480)
    img[y0:y1, x0:x1] = face[y0 - y : y1 - y, x0 - x : x1 - x]
    with fau.Detector(expression_model=None, num_threads=1) as det:
        first, second = det.backend.detector.stages(img)
        assert len(first) == 1 and second == []
        table = det.detect_image(img)
    assert len(table) == 1 and 80 < table["face_w"].iloc[0] < 100


def test_border_retry_is_a_third_stage() -> None:
    """A crop inside the face (70% of its landmark box) is found by the border view only."""
    img = _frame("hap")
    with fau.Detector(expression_model=None) as det:
        b = det.detect_image(img).iloc[0]
        x0, y0 = int(b.face_x + 0.15 * b.face_w), int(b.face_y + 0.15 * b.face_h)
        inner = np.ascontiguousarray(img[y0 : y0 + int(0.7 * b.face_h),
                                         x0 : x0 + int(0.7 * b.face_w)])
        assert [len(s) for s in det.backend.detector.stages(inner)] == [0, 0, 1]
        assert [len(s) for s in det.backend.detector.stages(
            inner, border_retry=False, turn_retry=False)] == [0, 0]
        assert len(det.detect_image(inner)) == 1


def test_min_face_option(group) -> None:
    with fau.Detector(expression_model=None, min_face=80) as coarse, \
            fau.Detector(expression_model=None) as default:
        assert coarse.backend.min_face == 80 and default.backend.min_face == 30
        assert len(coarse.backend.detector.views(480, 640)) == 1  # the letterbox alone
        assert len(coarse.detect_image(group)) == 1
        assert len(default.detect_image(group)) == 5
    with MediaPipeBackend(num_threads=1) as backend, pytest.raises(fau.FauError, match="min_face"):
        fau.Detector(backend=backend, min_face=40)
    with pytest.raises(fau.FauError, match="min_face"):
        fau.Detector(min_face=2)


def test_num_threads_one_keeps_the_detector_on_the_caller() -> None:
    with fau.Detector(expression_model=None, num_threads=1) as one, \
            fau.Detector(expression_model=None) as default:
        assert not one.backend.detector_thread and default.backend.detector_thread


def test_cli_min_face(tmp_path) -> None:
    run = [sys.executable, "-m", "fau", "image", str(DATA / "cremad_hap.jpg"), "--model", "none"]
    bad = subprocess.run(run + ["--min-face", "3"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "min_face" in bad.stderr
    ok = subprocess.run(run + ["--min-face", "80", "--out", str(tmp_path / "f.json")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads((tmp_path / "f.json").read_text())) == 1  # one face


def test_appearance_thread_gives_the_same_blocks() -> None:
    from fau.pipeline import Pipeline

    img = _frame("sad")
    with fau.Detector(num_threads=1) as det:
        rgb, faces = det.meshes(img)
        threaded = Pipeline(appearance_thread=True)
        a, b = threaded.features(rgb, faces), det.pipeline.features(rgb, faces)
        assert a.keys() == b.keys() and "appearance" in a
        for k in a:
            assert np.array_equal(a[k], b[k]), k
        assert threaded._pool is not None and det.pipeline._pool is None
        threaded.close()
        assert threaded._pool is None
        assert np.array_equal(threaded.features(rgb, faces)["appearance"], a["appearance"])
        threaded.close()


@pytest.mark.parametrize("model", ["ferplus", "fer2013", "geometric"])
def test_analyse_runs_the_booster_beside_the_cnn_with_the_same_rows(model) -> None:
    """`Pipeline.analyse` (the booster's margins computed while the CNN runs on its
    thread) gives exactly the rows of ``table(features())``, for every bundled model."""
    from fau.pipeline import Pipeline

    img = _frame("ang")
    with fau.Detector(num_threads=1) as det:
        rgb, faces = det.meshes(img)
    threaded = Pipeline(model, appearance_thread=True)
    calls = []
    booster = threaded.model
    booster_margins = booster.movement_margins
    booster.movement_margins = lambda blocks: calls.append(1) or booster_margins(blocks)
    table, blocks = threaded.analyse(rgb, faces)
    pd.testing.assert_frame_equal(table, threaded.table(threaded.features(rgb, faces)),
                                  check_exact=True)
    assert len(table) == 1 and table["expression"].notna().all()
    # late fusions run the booster early; the geometric model has no CNN to wait for
    assert len(calls) == (0 if model == "geometric" else 1)
    if booster.late_fusion:
        x = booster.assemble(blocks)
        np.testing.assert_array_equal(booster_margins(blocks), booster.margins(x))
        with pytest.raises(fau.FauError, match="margins of shape"):
            booster.predict_proba(x, np.zeros((2, len(booster.classes))))
    threaded.close()


def test_cli_scores_expressions_without_sklearn(tmp_path) -> None:
    """`fau image` scores expressions with neither scikit-learn nor xgboost imported (the
    booster's compiled trees score; fau.cli._hide_sklearn keeps xgboost's scikit-learn
    import out where xgboost is read), and main() undoes the hiding when it returns."""
    out = tmp_path / "f.json"
    code = ("import json, sys\nfrom fau.cli import main\n"
            f"rc = main(['image', {str(DATA / 'cremad_hap.jpg')!r}, '--out', {str(out)!r}])\n"
            "print(json.dumps([rc, 'sklearn' in sys.modules, 'xgboost' in sys.modules]))\n"
            "import sklearn\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [0, False, False]
    rows = json.loads(out.read_text())
    assert len(rows) == 1 and rows[0]["expression"]


def test_detect_image_starts_the_cnn_before_the_blendshapes(group) -> None:
    """`Detector.detect_image` measures the landmarks, starts the appearance CNN on them,
    then the blendshapes (`fau.landmarks.StagedBackend`): the same rows as the meshes
    with their blendshapes given to `Pipeline.analyse`, with the CNN started first."""
    from fau.landmarks import StagedBackend

    with fau.Detector() as det:
        assert isinstance(det.backend, StagedBackend)
        rgb, faces = det.meshes(group)
        assert len(faces) == 5 and all(f.blendshapes is not None for f in faces)
        expected = det.pipeline.analyse(rgb, faces)[0]
        events: list[str] = []
        start, shapes = det.pipeline.start_appearance, det.backend.blendshapes
        det.pipeline.start_appearance = lambda *a, **k: events.append("cnn") or start(*a, **k)
        det.backend.blendshapes = lambda lm: events.append("bs") or shapes(lm)
        table = det.detect_image(group)
        assert events == ["cnn"] + ["bs"] * 5
        pd.testing.assert_frame_equal(table, expected, check_exact=True)
        for f, row in zip(faces, table.itertuples()):
            assert row.bs_mouthSmileLeft == pytest.approx(float(f.blendshapes[44]), abs=0)


def test_meshes_without_blendshapes_are_refused_by_the_table() -> None:
    img = _frame("hap")
    with fau.Detector() as det:
        bare = det.backend.detect(img, blendshapes=False)
        crop = det.backend.mesh_from_crop(img, blendshapes=False)
        assert len(bare) == 1 and bare[0].blendshapes is None and crop.blendshapes is None
        full = det.backend.detect(img)
        np.testing.assert_array_equal(bare[0].landmarks, full[0].landmarks)
        with pytest.raises(fau.FauError, match="without their blendshapes"):
            det.pipeline.analyse(img, bare)
        pending = det.pipeline.start_appearance(img, bare)  # the CNN needs no blendshapes
        with pytest.raises(fau.FauError, match="start_appearance returned for these 2 faces"):
            det.pipeline.analyse(img, full * 2, appearance=pending)
        table = det.pipeline.analyse(img, full, appearance=pending)[0]
        pd.testing.assert_frame_equal(table, det.detect_image(img), check_exact=True)
