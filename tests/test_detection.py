"""Face detection at every size: pyramid geometry, BlazeFace decoding, group images.

The group image is generated from the CREMA-D frames the repo ships (tests/data,
ODbL): six faces scaled to 36-150 px on a noisy background.
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
from fau.landmarks.blazeface import (
    SHORT_RANGE,
    RawDetections,
    anchor_centres,
    weighted_nms,
)
from fau.landmarks.pyramid import (
    LEVEL_RATIO,
    MAX_FACE_INPUT,
    MAX_INPUT,
    MIN_FACE_INPUT,
    TILE_OVERLAP,
    border_view,
    effective_min_face,
    level_scales,
    plan_views,
)
from fau.video.tracking import iou

DATA = Path(__file__).parent / "data"
FRAMES = ("ang", "dis", "fea", "hap", "neu", "sad")


# -- pyramid geometry (pure) -----------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    h=st.integers(16, 6000),
    w=st.integers(16, 6000),
    min_face=st.floats(8, 400),
)
def test_every_face_size_is_in_some_level_band(h: int, w: int, min_face: float) -> None:
    """Each face width from min_face to the whole image falls in a level's reliable band."""
    scales = level_scales(h, w, min_face=min_face, side=128)
    long_ = max(h, w)
    assert scales[0] == pytest.approx(128 / long_)
    assert all(b > a for a, b in zip(scales, scales[1:]))
    assert all(b / a <= LEVEL_RATIO * (1 + 1e-9) for a, b in zip(scales, scales[1:]))
    # letterbox band: MIN_FACE_INPUT / s0 .. whole image; finer bands MIN..MAX input px
    assert MIN_FACE_INPUT / scales[-1] <= max(min_face, MIN_FACE_INPUT / scales[0]) * (1 + 1e-9)
    for coarse, fine in zip(scales, scales[1:]):
        # the finer level reaches up past where the coarser one starts (with margin)
        assert MAX_FACE_INPUT / fine >= 1.5 * MIN_FACE_INPUT / coarse


@settings(max_examples=100, deadline=None)
@given(h=st.integers(16, 5000), w=st.integers(16, 5000), min_face=st.floats(8, 200))
def test_views_tile_every_level(h: int, w: int, min_face: float) -> None:
    views = plan_views(h, w, min_face=min_face)
    assert views[0].width == views[0].height == 128
    for v in views[1:]:
        assert v.width % 16 == 0 and v.height % 16 == 0
        assert v.width <= MAX_INPUT and v.height <= MAX_INPUT
    by_level: dict[float, list] = {}
    for v in views[1:]:
        by_level.setdefault(v.scale, []).append(v)
    for scale, vs in by_level.items():
        lw, lh = vs[0].level_width, vs[0].level_height
        xs = sorted({(v.left, v.width) for v in vs})
        ys = sorted({(v.top, v.height) for v in vs})
        for spans, length in ((xs, lw), (ys, lh)):
            assert spans[0][0] == 0 and spans[-1][0] + spans[-1][1] >= length
            for (a, na), (b, _) in zip(spans, spans[1:]):
                assert a + na - b >= min(TILE_OVERLAP, length)  # neighbours overlap


@settings(max_examples=300, deadline=None)
@given(h=st.integers(16, 20000), w=st.integers(16, 20000), min_face=st.floats(8, 400))
def test_no_two_finer_levels_are_near_equal(h: int, w: int, min_face: float) -> None:
    """The fewest finer levels, evenly spaced: neighbours at least sqrt(LEVEL_RATIO) apart."""
    scales = level_scales(h, w, min_face=min_face, side=128)
    finer = scales[1:]
    for a, b in zip(finer, finer[1:]):
        assert b / a >= math.sqrt(LEVEL_RATIO) * (1 - 1e-9), scales
    if finer:
        assert finer[-1] == pytest.approx(MIN_FACE_INPUT / min_face)
        needed = math.ceil(math.log(finer[-1] / scales[0]) / math.log(LEVEL_RATIO) - 1e-9)
        assert len(finer) == max(1, needed)


@pytest.mark.parametrize("h,w", [(10000, 10000), (1100, 1650), (4912, 7360)])
def test_the_sizes_that_had_near_equal_levels(h: int, w: int) -> None:
    """10000² ran scales 0.461 and 0.467 (36 tiles each), 1650 px 0.466 and 0.467."""
    scales = level_scales(h, w, min_face=30, side=128)
    assert min(b / a for a, b in zip(scales[1:], scales[2:]) or [LEVEL_RATIO]) > 2.4
    views = plan_views(h, w, min_face=30)
    assert len({v.scale for v in views}) == len(scales)


def test_the_detector_working_image_is_capped() -> None:
    from fau.limits import MAX_DETECTOR_PIXELS, MAX_PIXELS
    from fau.landmarks.detection import DEFAULT_MIN_FACE

    # the default min_face is never raised on an image fau accepts (any aspect ratio)
    assert MAX_DETECTOR_PIXELS >= MAX_PIXELS * (MIN_FACE_INPUT / DEFAULT_MIN_FACE) ** 2
    assert MAX_DETECTOR_PIXELS < 1.001 * MAX_PIXELS * (MIN_FACE_INPUT / DEFAULT_MIN_FACE) ** 2
    for h, w in ((10000, 10000), (5000, 20000), (20000, 5000)):
        assert effective_min_face(h, w, min_face=DEFAULT_MIN_FACE,
                                  max_pixels=MAX_DETECTOR_PIXELS) == DEFAULT_MIN_FACE
    # a smaller min_face on a 100 MP image: the finest level stays within the cap
    mf = effective_min_face(10000, 10000, min_face=8, max_pixels=MAX_DETECTOR_PIXELS)
    assert mf == pytest.approx(14 * math.sqrt(1e8 / MAX_DETECTOR_PIXELS))
    scales = level_scales(10000, 10000, min_face=8, side=128, max_pixels=MAX_DETECTOR_PIXELS)
    assert (10000 * scales[-1]) ** 2 <= MAX_DETECTOR_PIXELS * (1 + 1e-9)
    assert MIN_FACE_INPUT / scales[-1] == pytest.approx(mf)
    views = plan_views(10000, 10000, min_face=8, max_pixels=MAX_DETECTOR_PIXELS)
    finest = max(views, key=lambda v: v.scale)
    assert finest.level_width * finest.level_height <= MAX_DETECTOR_PIXELS * 1.001


def test_640x480_plan_is_unchanged() -> None:
    """MediaPipe's letterbox plus one 30-px level: the plan the speed figures are for."""
    views = plan_views(480, 640, min_face=30)
    assert [(v.width, v.height, v.letterbox) for v in views] == [
        (128, 128, True), (304, 224, False)]
    assert views[1].scale == pytest.approx(14 / 30)
    assert (views[1].level_width, views[1].level_height) == (299, 224)


def test_border_view_is_a_padded_letterbox() -> None:
    v = border_view(360, 480)
    assert (v.width, v.height) == (128, 128)
    assert v.scale == pytest.approx(128 / 960)
    assert v.left < 0 and v.top < 0


# -- BlazeFace decoding -------------------------------------------------------------------
def test_anchor_layout_matches_model_outputs() -> None:
    assert len(anchor_centres(SHORT_RANGE, 128, 128)) == 896  # face_detector_graph.cc
    a = anchor_centres(SHORT_RANGE, 240, 320)
    assert len(a) == 30 * 40 * 2 + 15 * 20 * 6
    assert np.allclose(a[0], [4, 4]) and np.allclose(a[1], [4, 4]) and np.allclose(a[2], [12, 4])
    assert np.allclose(a[30 * 40 * 2], [8, 8])


def test_weighted_nms_merges_overlaps_only() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = np.zeros((3, 6, 2))
    raw = RawDetections(boxes, kps, np.array([0.9, 0.6, 0.7]))
    out = weighted_nms(raw, 0.3)
    assert len(out.scores) == 2
    assert out.scores.tolist() == [0.9, 0.7]
    assert out.boxes[0, 0] == pytest.approx(0.6 / 1.5)  # score-weighted mean of x0
    assert out.boxes[1] == pytest.approx([50, 50, 60, 60])
    assert len(weighted_nms(RawDetections.empty(), 0.3).scores) == 0


# -- end to end through the public API ------------------------------------------------------
@pytest.fixture(scope="module")
def detector():
    with fau.Detector(expression_model=None) as det:
        yield det


@pytest.fixture(scope="module")
def frames(detector):
    """The six CREMA-D frames and the landmark box of the face in each."""
    out = []
    for name in FRAMES:
        img = np.asarray(Image.open(DATA / f"cremad_{name}.jpg").convert("RGB"))
        lm = detector.landmarks(img)
        assert len(lm) == 1
        out.append((img, np.r_[lm[0, :, :2].min(0), lm[0, :, :2].max(0)]))
    return out


#: Context cut around a face box on each side when a test places a face on a canvas
#: (fraction of the box's width/height): enough forehead and chin for the detector.
FACE_CONTEXT = 0.4


def _cut_face(img: np.ndarray, box: np.ndarray, scale: float, interpolation: int):
    """The face of ``box`` with `FACE_CONTEXT` around it, resized by ``scale``; and the
    cut's top-left corner in ``img`` (px)."""
    import cv2

    bw, bh = box[2] - box[0], box[3] - box[1]
    x0, y0 = max(0, int(box[0] - FACE_CONTEXT * bw)), max(0, int(box[1] - FACE_CONTEXT * bh))
    x1 = min(img.shape[1], int(box[2] + FACE_CONTEXT * bw))
    y1 = min(img.shape[0], int(box[3] + FACE_CONTEXT * bh))
    cut = cv2.resize(img[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=interpolation)
    return cut, (x0, y0)


def _group_image(frames, widths, size=(720, 1280), seed=0):
    """Faces of the given widths (px) on a noisy background, one per grid cell."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    canvas = np.clip(rng.normal(128, 40, (h, w, 3)), 0, 255).astype(np.uint8)
    cols = 3
    cell_w, cell_h = w // cols, h // math.ceil(len(widths) / cols)
    truth = []
    for i, face_w in enumerate(widths):
        img, box = frames[i % len(frames)]
        s = face_w / (box[2] - box[0])
        # cut the face with 40% context around its box, scale it, place it in its cell
        cut, (x0, y0) = _cut_face(img, box, s, interpolation=cv2.INTER_AREA)
        cx = (i % cols) * cell_w + int(rng.integers(0, max(1, cell_w - cut.shape[1])))
        cy = (i // cols) * cell_h + int(rng.integers(0, max(1, cell_h - cut.shape[0])))
        ch, cw = min(cut.shape[0], h - cy), min(cut.shape[1], w - cx)
        canvas[cy : cy + ch, cx : cx + cw] = cut[:ch, :cw]
        truth.append((box - [x0, y0, x0, y0]) * s + [cx, cy, cx, cy])
    return canvas, truth


@pytest.mark.parametrize("seed", [0, 1])
def test_group_image_recall_and_no_false_boxes(detector, frames, seed) -> None:
    """Six faces of 36-150 px on a 1280×720 image: all found, nothing else."""
    widths = [36, 48, 64, 90, 120, 150]
    canvas, truth = _group_image(frames, widths, seed=seed)
    df = detector.detect_image(canvas)
    found = [np.array([r.face_x, r.face_y, r.face_x + r.face_w, r.face_y + r.face_h])
             for r in df.itertuples()]
    best = [max((iou(t, f) for f in found), default=0.0) for t in truth]
    assert all(b >= 0.5 for b in best), f"missed faces (IoU per true face): {best}"
    assert len(found) == len(truth), f"{len(found)} boxes for {len(truth)} faces"


def test_letterbox_alone_misses_small_faces(frames) -> None:
    """The pyramid is what finds them: MediaPipe's single 128-px view does not."""
    from fau.landmarks.mediapipe import MediaPipeBackend

    canvas, truth = _group_image(frames, [36, 40, 44, 48, 52, 56])
    with MediaPipeBackend(min_face=4000, num_threads=1) as coarse, \
            MediaPipeBackend(num_threads=1) as fine:
        assert len(coarse.detect(canvas)) == 0
        assert len(fine.detect(canvas)) == len(truth)


def test_face_filling_the_frame(detector, frames) -> None:
    img, box = frames[3]
    x0, y0, x1, y1 = box.astype(int)
    tight = np.ascontiguousarray(img[y0:y1, x0:x1])
    assert len(detector.detect_image(tight)) == 1


def test_max_faces_stops_measuring(frames) -> None:
    from fau.landmarks.mediapipe import MediaPipeBackend

    canvas, _ = _group_image(frames, [60] * 6)
    with MediaPipeBackend(max_faces=2, num_threads=1) as backend:
        assert len(backend.detect(canvas)) == 2


def _model_bytes() -> bytes:
    import io
    import zipfile

    from fau.resources import face_landmarker_bytes

    with zipfile.ZipFile(io.BytesIO(face_landmarker_bytes())) as bundle:
        return bundle.read("face_detector.tflite")


def test_interpreter_cache_is_bounded_in_pixels() -> None:
    from fau.landmarks.blazeface import BlazeFace

    model = BlazeFace(_model_bytes(), SHORT_RANGE, max_pixels=128 * 128 * 2)
    for h, w in ((128, 128), (128, 160), (128, 128), (160, 160), (128, 128), (512, 512)):
        model(np.zeros((h, w, 3), np.uint8))
        assert sum(a * b for a, b in model.shapes) <= 128 * 128 * 2 or len(model.shapes) == 1
        assert model.shapes[-1] == (h, w)  # the one just used is kept
    assert model.shapes == [(512, 512)]  # larger than the budget: alone
    model.close()
    assert model.shapes == []


def test_capped_min_face_is_logged_once_and_faces_still_found(frames, caplog) -> None:
    import logging

    from fau.landmarks.detection import FaceDetector

    canvas, truth = _group_image(frames, [60, 90, 120], size=(480, 640))
    det = FaceDetector(_model_bytes(), min_face=20, max_pixels=240 * 320)
    with caplog.at_level(logging.WARNING, logger="fau.landmarks.detection"):
        found = det.detect(canvas)
        det.detect(canvas)
    warned = [r.getMessage() for r in caplog.records if "min_face=20" in r.getMessage()]
    assert len(warned) == 1 and "640×480 image: faces from 28 px" in warned[0], warned
    finest = max(det.last_views, key=lambda v: v.scale)
    assert finest.level_width * finest.level_height <= 240 * 320
    boxes = [np.r_[d.box[:2], d.box[0] + d.box[2], d.box[1] + d.box[3]] for d in found]
    assert all(max(iou(t, b) for b in boxes) > 0.3 for t in truth)
    for bad in (100, float("nan"), True):
        with pytest.raises(fau.FauError, match="max_pixels"):
            FaceDetector(b"", max_pixels=bad)


def _big_canvas(frames, h: int, w: int, widths, seed: int = 0):
    """Faces of ``widths`` px side by side (one shelf) on tiled noise, built from uint8
    slices (no float temporaries: this is for images of tens of megapixels)."""
    import cv2

    rng = np.random.default_rng(seed)
    patch = np.clip(rng.normal(128, 40, (256, 256, 3)), 0, 255).astype(np.uint8)
    canvas = np.empty((h, w, 3), np.uint8)
    for y in range(0, h, 256):
        for x in range(0, w, 256):
            canvas[y : y + 256, x : x + 256] = patch[: h - y, : w - x]
    truth, x = [], 16
    for i, face_w in enumerate(widths):
        img, box = frames[i % len(frames)]
        s = face_w / (box[2] - box[0])
        cut, (x0, y0) = _cut_face(img, box, s,  # the face with 40% context
                                  interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        y = int(rng.integers(0, h - cut.shape[0] + 1))
        canvas[y : y + cut.shape[0], x : x + cut.shape[1]] = cut
        truth.append((box - [x0, y0, x0, y0]) * s + [x, y, x, y])
        x += cut.shape[1] + 16
    return canvas, truth


def _rows_and_best_iou(df, truth):
    found = [np.array([r.face_x, r.face_y, r.face_x + r.face_w, r.face_y + r.face_h])
             for r in df.itertuples()]
    return found, [max((iou(t, f) for f in found), default=0.0) for t in truth]


@pytest.mark.slow
def test_faces_in_a_24_megapixel_photo(detector, frames) -> None:
    """Faces of 32-1000 px on 6000×4000: two finer levels, the finest tiled."""
    canvas, truth = _big_canvas(frames, 4000, 6000, [1000, 300, 90, 45, 32])
    df = detector.detect_image(canvas)
    views = detector.backend.detector.last_views
    assert len({v.scale for v in views}) == 3 and len(views) > 3  # letterbox, 2 levels, tiles
    found, best = _rows_and_best_iou(df, truth)
    assert all(b >= 0.5 for b in best), best
    assert len(found) == len(truth)


@pytest.mark.slow
@pytest.mark.parametrize("face_w,seed", [(450, 0), (600, 5), (800, 0)])
def test_one_large_face_in_a_phone_photo_is_one_row(detector, frames, face_w, seed) -> None:
    """4032×3024 with one close face: the finest level sees it beyond its band and boxes
    parts of it; those meshes lie inside the face's own and are not second faces."""
    canvas, truth = _big_canvas(frames[seed:] + frames[:seed], 3024, 4032, [face_w], seed)
    found, best = _rows_and_best_iou(detector.detect_image(canvas), truth)
    assert len(found) == 1 and best[0] >= 0.8, (len(found), best)


@pytest.mark.slow
def test_one_close_face_in_a_4k_frame_is_one_track(frames) -> None:
    """The video tracker applies the same rule: 12 of 24 such 4K frames (faces of
    500-800 px) started 2-3 tracks when it compared landmark boxes by IoU alone."""
    from fau.landmarks.mediapipe import MediaPipeBackend
    from fau.video.tracking import Tracker

    canvas, truth = _big_canvas(frames, 2160, 3840, [600], seed=0)
    with MediaPipeBackend() as backend:
        out = Tracker(backend).update(canvas, 0.0)
    assert len(out) == 1
    assert iou(truth[0], np.r_[out[0][1].landmarks[:, :2].min(0),
                               out[0][1].landmarks[:, :2].max(0)]) > 0.8


@pytest.mark.parametrize("bad", [0, 4, -1, float("nan"), True])
def test_bad_min_face_is_a_fau_error(bad) -> None:
    from fau.landmarks.detection import FaceDetector

    with pytest.raises(fau.FauError, match="min_face"):
        FaceDetector(b"", min_face=bad)
