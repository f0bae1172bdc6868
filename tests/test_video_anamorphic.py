"""Anamorphic video (non-square pixels): frames are measured in square pixels, so a face is
not squeezed or stretched (`fau.video.reader.square_pixels`)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")

from fau.video.reader import iter_frames, probe, square_pixels  # noqa: E402

W, H, R = 320, 240, 80  # coded frame size; disc radius as displayed (px)


def _clip(path, sar: Fraction) -> None:
    """A white disc that is round as displayed: coded as an ellipse squeezed by ``sar``."""
    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = W, H, "yuv420p"
    s.codec_context.sample_aspect_ratio = sar
    img = np.zeros((H, W, 3), np.uint8)
    cv2.ellipse(img, (W // 2, H // 2), (int(round(R / float(sar))), R), 0, 0, 360,
                (255, 255, 255), -1)
    for _ in range(5):
        for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()


def _extent(rgb: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(rgb[:, :, 0] > 128)
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.mark.parametrize("sar", [Fraction(4, 3), Fraction(8, 9), Fraction(16, 15)])
def test_anamorphic_frames_come_in_square_pixels(tmp_path, sar):
    path = tmp_path / "anamorphic.mp4"
    _clip(path, sar)
    info = probe(path)
    assert info.sample_aspect_ratio == pytest.approx(float(sar), abs=1e-6)
    assert (info.width, info.height) == (W, H)
    frames = list(iter_frames(path))
    assert len(frames) == 5
    rgb = frames[0].rgb
    assert rgb.shape == (H, round(W * float(sar)), 3)
    w, h = _extent(rgb)
    assert abs(w - h) <= 3, (w, h)  # round again (coded: w/h = 1/sar)


def test_square_pixels_keeps_square_frames_as_they_are():
    rgb = np.zeros((10, 20, 3), np.uint8)
    assert square_pixels(rgb, 1.0) is rgb
    assert square_pixels(rgb, 1.005) is rgb
    assert square_pixels(rgb, 1.5).shape == (10, 30, 3)
    assert square_pixels(rgb, 0.5).shape == (10, 10, 3)


def test_openface_export_takes_the_square_pixel_frame_width():
    from fau.export.openface import _frame_size

    attrs = {"video": {"width": 720, "height": 480, "sample_aspect_ratio": 8 / 9}}
    assert _frame_size(attrs) == (640, 480)
    attrs["decoding"] = {"rotation": 90}
    assert _frame_size(attrs) == (480, 640)
    assert _frame_size({"video": {"width": 640, "height": 480}}) == (640, 480)
