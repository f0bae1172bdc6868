"""Faces of every size: BlazeFace over an image pyramid, merged by weighted NMS.

`FaceDetector` runs the short-range BlazeFace model (`fau.landmarks.blazeface`) on the
views that `fau.landmarks.pyramid.plan_views` lays out for the image — the 128×128
letterbox MediaPipe uses, plus finer levels down to ``min_face`` pixels — maps every
box back to image pixels and merges them all with MediaPipe's weighted NMS. See
docs/landmarks.md ("Face detection") for the design and its measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import FauError
from .blazeface import SHORT_RANGE, BlazeFace, BlazeFaceSpec, RawDetections, weighted_nms
from .pyramid import View, border_view, plan_views
from .roi import LANDMARK_ROI_SCALE, Roi

__all__ = ["Detection", "FaceDetector", "DEFAULT_MIN_FACE", "SMALLEST_MIN_FACE"]

#: Default smallest face to find (landmark-box width, pixels). Faces this small give
#: a landmark crop of ~45 px, upscaled 5.7× for the landmark model; recall measured per
#: face size in docs/benchmarks.md ("Face detection").
DEFAULT_MIN_FACE = 30.0
#: Smallest ``min_face`` accepted (pixels): below it the pyramid would upscale the
#: image more than 1.75× (MIN_FACE_INPUT / 8) and the landmark crop is ~12 px.
SMALLEST_MIN_FACE = 8.0


@dataclass(frozen=True)
class Detection:
    """A face detector hit in image pixels.

    Attributes
    ----------
    box : tuple of 4 floats
        x, y (top-left), w, h of the detector's box (pixels).
    keypoints : ndarray, shape (6, 2)
        Right eye, left eye (the subject's), nose tip, mouth centre, right and left ear
        tragion (pixels).
    score : float
        Detector face score (0-1).
    """

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float

    def roi(self) -> Roi:
        """MediaPipe's landmark crop for this detection: centred on the box, eye line
        level, side `LANDMARK_ROI_SCALE` × the box's longer side."""
        (rx, ry), (lx, ly) = self.keypoints[0], self.keypoints[1]
        angle = math.atan2(ly - ry, lx - rx)
        x, y, w, h = self.box
        side = max(w, h) * LANDMARK_ROI_SCALE
        return Roi(x + w / 2.0, y + h / 2.0, float(side), angle)


def _resize(image: np.ndarray, width: int, height: int, *, antialias: bool) -> np.ndarray:
    """``image`` resized to ``width``×``height``, low-pass filtered when shrinking.

    Without ``antialias``: one bilinear step, as MediaPipe's ``ImageToTensorCalculator``
    letterboxes (fau's landmarks then match MediaPipe Tasks' within 1 px). With it, an
    integer shrink factor uses `cv2.INTER_AREA` (box average, OpenCV's fast path);
    other factors halve by `cv2.pyrDown` (5-tap Gaussian) while the image is at least
    twice the target, then take one bilinear step. Measured on 640×480 (load average
    14, minimum of 200): to 299×224 0.72 ms this way against 1.36 ms with INTER_AREA;
    to 128×96 (factor 5) INTER_AREA 0.36 ms.
    """
    import cv2

    h, w = image.shape[:2]
    if (width, height) == (w, h):
        return image
    if not antialias:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    if w % width == 0 and h % height == 0 and w // width == h // height:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        image = cv2.pyrDown(image)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def _window(level: np.ndarray, view: View) -> np.ndarray:
    """The view's input: its window of the resized image, black outside."""
    out = np.zeros((view.height, view.width, 3), dtype=np.uint8)
    y0, x0 = max(view.top, 0), max(view.left, 0)
    y1 = min(view.top + view.height, level.shape[0])
    x1 = min(view.left + view.width, level.shape[1])
    if y1 > y0 and x1 > x0:
        out[y0 - view.top : y1 - view.top, x0 - view.left : x1 - view.left] = level[y0:y1, x0:x1]
    return out


class FaceDetector:
    """Find faces from ``min_face`` pixels wide up to the whole image.

    Parameters
    ----------
    model : bytes
        The short-range BlazeFace ``.tflite`` (``face_detector.tflite`` of
        ``face_landmarker.task``).
    min_face : float
        Smallest face to find (landmark-box width, pixels; `DEFAULT_MIN_FACE`). The
        detector's cost grows with (image side / ``min_face``)²; the 128×128 letterbox
        alone (MediaPipe's view) finds faces down to about 11% of the image's longer
        side.
    min_score : float or None
        Detector score (0-1) below which a box is dropped (None: MediaPipe's 0.5).
    num_threads : int or None
        LiteRT threads (None: LiteRT's default).
    spec : BlazeFaceSpec
        Model description (`fau.landmarks.blazeface.SHORT_RANGE`).
    """

    def __init__(
        self,
        model: bytes,
        *,
        min_face: float = DEFAULT_MIN_FACE,
        min_score: float | None = None,
        num_threads: int | None = None,
        spec: BlazeFaceSpec = SHORT_RANGE,
    ) -> None:
        if isinstance(min_face, bool) or not float(min_face) >= SMALLEST_MIN_FACE:
            raise FauError(
                f"min_face must be a number of pixels >= {SMALLEST_MIN_FACE:g}, got {min_face!r}"
            )
        if min_score is not None and not 0.0 < float(min_score) < 1.0:
            raise FauError(f"min_score must be in (0, 1), got {min_score!r}")
        self.min_face = float(min_face)
        self.min_score = spec.min_score if min_score is None else float(min_score)
        self.spec = spec
        self.model = BlazeFace(model, spec, num_threads=num_threads)
        #: Detector runs of the last `detect` call, with their input sizes (profiling).
        self.last_views: list[View] = []

    def views(self, height: int, width: int) -> list[View]:
        """The detector runs for an image of this size (`fau.landmarks.pyramid`)."""
        return plan_views(height, width, min_face=self.min_face, side=self.spec.side,
                          align=self.spec.align)

    def run_views(self, image: np.ndarray, views: list[View]) -> RawDetections:
        """Raw (un-merged) detections of ``views`` of an RGB image, in image pixels."""
        parts = []
        levels: dict[tuple[int, int, bool], np.ndarray] = {}
        for view in views:
            key = (view.level_width, view.level_height, view.letterbox)
            if key not in levels:
                levels[key] = _resize(image, view.level_width, view.level_height,
                                      antialias=not view.letterbox)
            raw = self.model(_window(levels[key], view), self.min_score)
            if len(raw.scores):
                parts.append(raw.mapped(view.scale, view.left / view.scale,
                                        view.top / view.scale))
        self.last_views = list(views)
        return RawDetections.concatenate(parts)

    def detect(self, image: np.ndarray, *, border_retry: bool = True) -> list[Detection]:
        """Every face in an RGB uint8 image (H, W, 3), strongest first.

        With ``border_retry``, when no view finds anything the image is tried once more
        with a black border of half its longer side (`fau.landmarks.pyramid.border_view`:
        a face that fills the picture).
        """
        h, w = image.shape[:2]
        raw = self.run_views(image, self.views(h, w))
        if border_retry and not len(raw.scores):
            raw = self.run_views(image, [border_view(h, w, side=self.spec.side)])
        merged = weighted_nms(raw, self.spec.nms_iou)
        return [
            Detection(
                box=(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])),
                keypoints=k.astype(np.float64),
                score=float(s),
            )
            for b, k, s in zip(merged.boxes, merged.keypoints, merged.scores)
        ]

    def close(self) -> None:
        """Release the model."""
        self.model.close()
