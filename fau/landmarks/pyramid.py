"""Which parts of an image the face detector sees, and at which scales (pure geometry).

A BlazeFace model finds faces in a fixed band of sizes *in its input*: the short-range
model finds faces from `MIN_FACE_INPUT` to `MAX_FACE_INPUT` pixels wide on an input of
any size, and faces up to its whole input on its native 128×128 letterbox. To find
faces from ``min_face`` pixels up to the whole frame, the image is seen at several
scales (a pyramid):

* level 0: the whole image letterboxed into 128×128 (MediaPipe's own view: close-ups);
* finer levels, as few as cover the scales from the letterbox's to the finest with
  at most `LEVEL_RATIO` between neighbours, spaced evenly (in log scale), the last at
  ``MIN_FACE_INPUT / min_face`` so that a ``min_face``-pixel face is
  `MIN_FACE_INPUT` pixels in the model's input. A level is one run on the whole
  resized image (the model is fully convolutional), or, where that is larger than
  `MAX_INPUT` pixels a side, overlapping tiles (overlap `TILE_OVERLAP`: every face the
  level is meant to find lies whole in one tile).

The finest level is also capped at ``max_pixels`` (`fau.limits.MAX_DETECTOR_PIXELS`):
on a larger image the smallest face looked for grows to
``MIN_FACE_INPUT * sqrt(height * width / max_pixels)`` (`effective_min_face`), so the
detector's work is bounded whatever ``min_face`` asks for.

Face sizes are widths of the tight box of the 478 landmarks (the ``face_w`` column).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "View",
    "plan_views",
    "border_view",
    "level_scales",
    "effective_min_face",
    "MIN_FACE_INPUT",
    "MAX_FACE_INPUT",
    "LEVEL_RATIO",
    "MAX_INPUT",
    "TILE_OVERLAP",
    "HANDOVER",
]

#: Smallest face (landmark-box width, input pixels) the short-range model finds
#: reliably: 98-100% of London-set faces at 14 px on 128×128, 320×240 and 640×480
#: inputs (69-78% at 12-13 px, 8-16% at 10 px); docs/landmarks.md, "Smallest face".
MIN_FACE_INPUT = 14.0
#: Largest face (input pixels) found reliably on inputs larger than 128×128: 100% at
#: 160 px, 73-76% at 200 px, 0-2% at 240 px (same measurement).
MAX_FACE_INPUT = 160.0
#: Scale ratio between consecutive pyramid levels. A level covers faces of
#: MIN_FACE_INPUT-MAX_FACE_INPUT input pixels, a ratio of 11.4; 6 leaves a margin of
#: 1.9× so that a face at a level boundary is well inside the next level's band.
LEVEL_RATIO = 6.0
#: Largest input side (pixels) of one detector run; larger levels are tiled. Bounds
#: the detector's memory (a 1024×1024 run holds ~100 MB of activations).
MAX_INPUT = 1024
#: Overlap of neighbouring tiles (input pixels): MAX_FACE_INPUT plus 32 px of context.
TILE_OVERLAP = 192
#: A letterbox detection narrower than this × MIN_FACE_INPUT (its input pixels) is left
#: to the next level, which covers such faces by design (MAX_FACE_INPUT / LEVEL_RATIO =
#: 1.9 × MIN_FACE_INPUT) and localises them better: merged with that level's boxes, as
#: one NMS over all views does (`fau.landmarks.detection.FaceDetector.stages`). Measured
#: on the London group canvases (benchmarks/group_faces.py layouts, 1,412 faces): 1.0
#: loses 11 faces of 100-140 px in 1280-px canvases, 1.5 and 2.0 find all that one NMS
#: over all views finds.
HANDOVER = 1.5


@dataclass(frozen=True)
class View:
    """One detector run: a window of the image resized by ``scale``.

    The image is resized to ``level_width``×``level_height`` pixels (``scale`` input
    pixels per image pixel); the model input is the ``width``×``height`` window of
    that resized image whose top-left corner is at (``left``, ``top``), black where it
    falls outside. An input point (u, v) is image point ((u + left) / scale,
    (v + top) / scale). ``letterbox``: the whole image in the model's native square
    (resized as MediaPipe does, bilinear without a low-pass filter).
    """

    scale: float
    level_width: int
    level_height: int
    left: int
    top: int
    width: int
    height: int
    letterbox: bool = False

    @property
    def smallest_face(self) -> float:
        """Smallest face (image pixels) this view finds reliably."""
        return MIN_FACE_INPUT / self.scale


def _ceil_to(value: float, step: int) -> int:
    return int(math.ceil(value / step - 1e-9)) * step


def _letterbox(height: int, width: int, side: int, scale: float) -> View:
    lw, lh = max(1, round(width * scale)), max(1, round(height * scale))
    return View(scale, lw, lh, -((side - lw) // 2), -((side - lh) // 2), side, side, True)


def _finest_scale(height: int, width: int, min_face: float, max_pixels: float | None) -> float:
    finest = MIN_FACE_INPUT / float(min_face)
    if max_pixels is not None:
        finest = min(finest, math.sqrt(float(max_pixels) / (float(height) * float(width))))
    return finest


def effective_min_face(height: int, width: int, *, min_face: float,
                       max_pixels: float | None = None) -> float:
    """Smallest face (image pixels) the pyramid looks for: ``min_face``, or more where
    the finest level would exceed ``max_pixels`` (its scale is then
    ``sqrt(max_pixels / (height * width))``)."""
    return MIN_FACE_INPUT / _finest_scale(height, width, min_face, max_pixels)


def level_scales(height: int, width: int, *, min_face: float, side: int,
                 max_pixels: float | None = None) -> list[float]:
    """Scales (input pixels per image pixel) of the pyramid levels, coarsest first.

    Level 0 is the letterbox (``side / max(height, width)``); the finer levels are the
    fewest that reach the finest scale, ``MIN_FACE_INPUT / min_face`` (or less: see
    `effective_min_face`), with at most `LEVEL_RATIO` between neighbours, spaced by
    one equal ratio: so no two finer levels are closer than ``sqrt(LEVEL_RATIO)``
    (a plan that steps by `LEVEL_RATIO` from the letterbox and clips the last step
    ran two near-equal levels, e.g. scales 0.461 and 0.467 on a 10000² image, 0.466
    and 0.467 on a 1650-px one). The finest is the last.
    """
    s0 = side / max(height, width)
    finest = _finest_scale(height, width, min_face, max_pixels)
    if finest <= s0 * (1.0 + 1e-9):
        return [s0]
    n = max(1, math.ceil(math.log(finest / s0) / math.log(LEVEL_RATIO) - 1e-9))
    step = (finest / s0) ** (1.0 / n)
    return [s0] + [s0 * step**i for i in range(1, n)] + [finest]


def _tiles(length: int, align: int) -> list[tuple[int, int]]:
    """(start, size) of tiles covering ``length`` pixels, sizes multiples of ``align``."""
    if length <= MAX_INPUT:
        return [(0, _ceil_to(length, align))]
    n = int(math.ceil((length - TILE_OVERLAP) / (MAX_INPUT - TILE_OVERLAP)))
    size = min(_ceil_to((length + (n - 1) * TILE_OVERLAP) / n, align), MAX_INPUT)
    starts = [round(i * (length - size) / (n - 1)) for i in range(n)] if n > 1 else [0]
    return [(s, size) for s in starts]


def plan_views(
    height: int, width: int, *, min_face: float, side: int = 128, align: int = 16,
    max_pixels: float | None = None,
) -> list[View]:
    """Detector runs that find faces from ``min_face`` pixels to the whole image.

    Parameters
    ----------
    height, width : int
        Image size (pixels).
    min_face : float
        Smallest face to find (landmark-box width, image pixels).
    side : int
        The model's native input side (128 for short-range BlazeFace).
    align : int
        Input sides of the finer levels are multiples of this (the model's largest
        stride, 16 px).
    max_pixels : float or None
        Most pixels of the finest level (`effective_min_face`; None: no cap).

    Returns
    -------
    list of View
        The letterbox first, then each finer level's run or tiles.
    """
    scales = level_scales(height, width, min_face=min_face, side=side, max_pixels=max_pixels)
    views = [_letterbox(height, width, side, scales[0])]
    for scale in scales[1:]:
        lw, lh = max(1, round(width * scale)), max(1, round(height * scale))
        for top, th in _tiles(lh, align):
            for left, tw in _tiles(lw, align):
                views.append(View(scale, lw, lh, left, top, tw, th))
    return views


def border_view(height: int, width: int, *, side: int = 128) -> View:
    """The whole image with a black border of half its longer side, letterboxed.

    The short-range model's anchors cover faces up to about 75% of its input; a face
    that fills the picture is found in this view (run only when nothing else was).
    """
    return _letterbox(height, width, side, side / (2.0 * max(height, width)))
