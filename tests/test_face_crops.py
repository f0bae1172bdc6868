"""Tight face crops without ``cropped=True``: the whole image as the patch, the whole image
as the face when the detector finds none (`fau.expression.appearance.fills_image`,
`fau.landmarks.whole_image`).

The faces are cut from the CREMA-D frame the repo ships (tests/data, ODbL) with its
stored mesh (tests/data/mesh_cremad_hap.npy, image pixels).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import fau
from fau.expression.appearance import FILL_SHARE, face_patch, fer_roi, fills_image
from fau.landmarks.base import FaceMesh
from fau.landmarks.roi import Roi, crop

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def frame() -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(Image.open(DATA / "cremad_hap.jpg").convert("RGB"))
    return rgb, np.load(DATA / "mesh_cremad_hap.npy")


def _fer_cut(rgb: np.ndarray, lm: np.ndarray, side: int, scale: float = 0.95
             ) -> tuple[np.ndarray, np.ndarray]:
    """The face framed ``scale`` × as wide as FER-2013 frames faces (default 5% tighter),
    ``side`` px, and its landmarks there."""
    full = fer_roi(lm)
    roi = Roi(full.cx, full.cy, scale * full.size, full.angle)
    cut = crop(rgb, roi, side)
    m = roi.to_crop(side)
    out = lm.copy()
    out[:, :2] = lm[:, :2] @ m[:, :2].T + m[:, 2]
    return cut, out


def test_patch_is_the_whole_image_when_the_face_fills_it(frame) -> None:
    rgb, lm = frame
    cut, lm_cut = _fer_cut(rgb, lm, 96)
    assert fills_image(lm_cut, cut.shape)
    grey = cv2.cvtColor(cut, cv2.COLOR_RGB2GRAY)
    whole = cv2.resize(grey, (48, 48), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(face_patch(cut, lm_cut, cropped=False), whole)
    # With twice FER-2013's framing the face no longer fills its image: the patch is the
    # FER-framed square cut from the landmarks, as in the whole frame.
    wide, lm_wide = _fer_cut(rgb, lm, 192, scale=2.0)
    assert not fills_image(lm_wide, wide.shape)
    ref = face_patch(rgb, lm, cropped=False)
    assert np.abs(face_patch(wide, lm_wide, cropped=False).astype(int) - ref).mean() < 3.0
    assert np.abs(face_patch(wide, lm_wide, cropped=True).astype(int) - ref).mean() > 10.0


def test_fill_share_is_measured_on_the_longer_side(frame) -> None:
    _, lm = frame
    side = fer_roi(lm).size
    assert fills_image(lm, (int(side), int(side)))
    assert not fills_image(lm, (int(side), int(side / FILL_SHARE) + 2))
    assert fills_image(lm, (int(side), int(side * 2)), share=0.5)


@pytest.mark.parametrize("side", [48, 128])
def test_tight_crop_gives_one_face_and_the_cropped_answer(frame, side) -> None:
    rgb, lm = frame
    cut, _ = _fer_cut(rgb, lm, side)
    grey = cv2.cvtColor(cut, cv2.COLOR_RGB2GRAY)  # as FER-2013 and CK+48 are
    with fau.Detector() as det:
        plain = det.detect_image(grey)
        flagged = det.detect_image(grey, cropped=True)
    assert len(plain) == 1
    assert plain["expression"].iloc[0] == flagged["expression"].iloc[0] == "happiness"


class _MissingDetector:
    """A backend whose face detector finds nothing; its whole-image pass gives ``mesh``."""

    def __init__(self, mesh: FaceMesh) -> None:
        self.whole = mesh
        self.crops = 0

    def detect(self, image: np.ndarray, *, timestamp_ms: int | None = None) -> list[FaceMesh]:
        return []

    def mesh_from_crop(self, image: np.ndarray) -> FaceMesh:
        self.crops += 1
        return self.whole

    def close(self) -> None:
        pass


@pytest.mark.parametrize("presence, border, found", [
    (0.95, 0, True),     # a tight crop the detector missed
    (0.30, 0, False),    # the landmark model sees no face: nothing is made up
    (0.95, 200, False),  # a face that does not fill the image is the detector's job
])
def test_whole_image_face_when_the_detector_finds_none(frame, presence, border, found) -> None:
    rgb, lm = frame
    cut, lm_cut = _fer_cut(rgb, lm, 96)
    img = np.pad(cut, ((border, border), (border, border), (0, 0)))
    lm_img = lm_cut.copy()
    lm_img[:, :2] += border
    backend = _MissingDetector(FaceMesh(lm_img, np.zeros(52, np.float32), presence))
    with fau.Detector(expression_model=None, backend=backend) as det:
        table = det.detect_image(img)
    assert backend.crops == 1
    assert len(table) == int(found)
    if found:
        assert table["face_score"].iloc[0] == pytest.approx(presence)


def test_video_tracker_takes_the_whole_frame_face(frame) -> None:
    """The tracker (here its detection-only path: the stub cannot track) uses the same
    fallback on a frame where the detector finds no face."""
    from fau.video.tracking import Tracker

    rgb, lm = frame
    cut, lm_cut = _fer_cut(rgb, lm, 96)
    backend = _MissingDetector(FaceMesh(lm_cut, np.zeros(52, np.float32), 0.9))
    tracker = Tracker(backend)
    assert [tid for tid, _ in tracker.update(cut, 0.0)] == [0]
    doubt = _MissingDetector(FaceMesh(lm_cut, np.zeros(52, np.float32), 0.1))
    assert Tracker(doubt).update(cut, 0.0) == [] and doubt.crops == 1
    # tried again only after detect_every seconds while no face is followed
    tracker = Tracker(doubt)
    for t in (0.0, 0.1, 0.5, 0.99):
        tracker.update(cut, t)
    assert doubt.crops == 2
    tracker.update(cut, 1.0)
    assert doubt.crops == 3


class _MissingTrackingDetector(_MissingDetector):
    """The same, with the tracking interface: the tracker's own detection path."""

    def detect_faces(self, image: np.ndarray) -> list:
        return []

    def roi_from_landmarks(self, landmarks: np.ndarray) -> Roi:
        return fer_roi(landmarks)

    def mesh(self, image: np.ndarray, roi: Roi, **kwargs: object) -> FaceMesh:
        return self.whole


def test_video_tracker_starts_a_track_from_the_whole_frame(frame) -> None:
    from fau.video.tracking import Tracker

    rgb, lm = frame
    cut, lm_cut = _fer_cut(rgb, lm, 96)
    mesh = FaceMesh(lm_cut, np.zeros(52, np.float32), 0.9)
    backend = _MissingTrackingDetector(mesh)
    tracker = Tracker(backend)
    assert [tid for tid, _ in tracker.update(cut, 0.0)] == [0] and backend.crops == 1
    assert [tid for tid, _ in tracker.update(cut, 0.1)] == [0] and backend.crops == 1  # tracked
