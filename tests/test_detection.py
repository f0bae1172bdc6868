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
        bw, bh = box[2] - box[0], box[3] - box[1]
        x0, y0 = max(0, int(box[0] - 0.4 * bw)), max(0, int(box[1] - 0.4 * bh))
        x1 = min(img.shape[1], int(box[2] + 0.4 * bw))
        y1 = min(img.shape[0], int(box[3] + 0.4 * bh))
        cut = cv2.resize(img[y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
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


@pytest.mark.parametrize("bad", [0, 4, -1, float("nan"), True])
def test_bad_min_face_is_a_fau_error(bad) -> None:
    from fau.landmarks.detection import FaceDetector

    with pytest.raises(fau.FauError, match="min_face"):
        FaceDetector(b"", min_face=bad)
