"""Faces of every size: BlazeFace over an image pyramid, merged by weighted NMS.

`FaceDetector` runs the short-range BlazeFace model (`fau.landmarks.blazeface`) on the
views that `fau.landmarks.pyramid.plan_views` lays out for the image — the 128×128
letterbox MediaPipe uses, plus finer levels down to ``min_face`` pixels — maps every
box back to image pixels and merges them with MediaPipe's weighted NMS. See
docs/landmarks.md ("Face detection") for the design and its measurements.

Detections come in two stages (`FaceDetector.stages`): the letterbox's faces first (its
small ones boxed again at the next level's scale, in a window around each), then the
finer levels' faces that the letterbox did not find. Given an executor, the finer
levels run on its thread while the caller measures the letterbox's faces (LiteRT
releases the GIL): on a 640×480 frame the 30-px level costs about as much as one
landmark-model run, so a one-face image pays for it in parallel instead of in series
(docs/benchmarks.md, "Image speed").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field
from dataclasses import replace as _with
from itertools import groupby

import numpy as np

from ..errors import FauError
from ..limits import MAX_DETECTOR_PIXELS
from .blazeface import (
    SHORT_RANGE,
    BlazeFace,
    BlazeFaceSpec,
    RawDetections,
    box_iou,
    weighted_nms,
)
from .pyramid import (  # _ceil_to: the same rounding of input sides as the pyramid's
    HANDOVER,
    MIN_FACE_INPUT,
    View,
    _ceil_to,
    border_view,
    effective_min_face,
    plan_views,
)
from .roi import LANDMARK_ROI_SCALE, Roi

__all__ = ["Detection", "FaceDetector", "DEFAULT_MIN_FACE", "SMALLEST_MIN_FACE",
           "TURN_CHECK_SCORE"]

log = logging.getLogger(__name__)

#: Default smallest face to find (landmark-box width, pixels). Faces this small give
#: a landmark crop of ~45 px, upscaled 5.7× for the landmark model; recall measured per
#: face size in docs/benchmarks.md ("Face detection").
DEFAULT_MIN_FACE = 30.0
#: Smallest ``min_face`` accepted (pixels): below it the pyramid would upscale the
#: image more than 1.75× (MIN_FACE_INPUT / 8) and the landmark crop is ~12 px.
SMALLEST_MIN_FACE = 8.0
#: Side of the window in which a small letterbox face is seen again at the next level
#: (`FaceDetector.stages`), in face widths (at least the model's 128 px).
LOCAL_CONTEXT = 2.5
#: Detector score (0-1) below which a face is seen again both ways up (`FaceDetector.upright`).
#: BlazeFace finds many faces rolled beyond 90° (upside down) but puts their keypoints as on
#: an upright face, so the landmark crop is not rolled and the mesh is fitted upside down
#: (its landmarks 1.4-1.6 inter-ocular distances off), while the landmark model's presence
#: stays near 1. Such detections score lower: 40 London faces per roll on a 640×640 canvas
#: (``benchmarks/rolled_faces.py --scores``) scored 0.51-0.86 (median 0.66-0.74) when
#: rolled 120-240°, and 0.76-0.99 (median 0.95-0.97) when rolled by up to ±60°.
TURN_CHECK_SCORE = 0.9
#: Side (pixels) of the model input in which `FaceDetector.upright` sees a face's window
#: both ways up (the face about 38 px wide in it). Of 64, 96 and 128 px, 96 separated the
#: two best: the turned window's best score minus the window's own was at most -0.06 on
#: 400 upright London faces (120 and 400 px wide, rolled 0-60° and 300-330°) and at most
#: -0.10 on 949 faces of the group canvases (``benchmarks/group_faces.py`` seeds 0-2:
#: 30-300 px, rolled ±20°, blurred, JPEG), at least +0.10 on 394 upside-down ones
#: (rolled 120-240°); 64 px turned 2 of the group faces, 128 px 3 upright London faces.
TURN_CHECK_SIDE = 96


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
    replaces : Detection or None
        Set on a face that an earlier stage of `FaceDetector.stages` gave the wrong way up
        (its check, `FaceDetector.upright`, ran on the detector's thread meanwhile): that
        earlier detection of the same face, whose mesh this one replaces. None otherwise.
    """

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float
    replaces: "Detection | None" = field(default=None, repr=False, compare=False)

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
    fine_threads : int or None
        LiteRT threads of the finer levels' interpreters for large inputs (`fine_model`,
        `fau.landmarks.blazeface.LARGE_INPUT_PIXELS`; None: as ``num_threads``).
    turn_check_score : float
        Detector score (0-1) below which a face is seen again both ways up (`upright`;
        `TURN_CHECK_SCORE`; 0 turns the check off).
    spec : BlazeFaceSpec
        Model description (`fau.landmarks.blazeface.SHORT_RANGE`).
    max_pixels : int
        Most pixels of the pyramid's finest level (`fau.limits.MAX_DETECTOR_PIXELS`,
        which the default ``min_face`` never reaches on an image fau accepts): on a
        larger image faces from `fau.landmarks.pyramid.effective_min_face` pixels are
        looked for instead of ``min_face``, with a logged warning (once per image size).
    """

    def __init__(
        self,
        model: bytes,
        *,
        min_face: float = DEFAULT_MIN_FACE,
        min_score: float | None = None,
        num_threads: int | None = None,
        fine_threads: int | None = None,
        turn_check_score: float = TURN_CHECK_SCORE,
        spec: BlazeFaceSpec = SHORT_RANGE,
        max_pixels: int = MAX_DETECTOR_PIXELS,
    ) -> None:
        if isinstance(min_face, bool) or not float(min_face) >= SMALLEST_MIN_FACE:
            raise FauError(
                f"min_face must be a number of pixels >= {SMALLEST_MIN_FACE:g}, got {min_face!r}"
            )
        if min_score is not None and not 0.0 < float(min_score) < 1.0:
            raise FauError(f"min_score must be in (0, 1), got {min_score!r}")
        if isinstance(max_pixels, bool) or not float(max_pixels) >= spec.side * spec.side:
            raise FauError(f"max_pixels must be at least {spec.side * spec.side}, "
                           f"got {max_pixels!r}")
        if isinstance(turn_check_score, bool) or not 0.0 <= float(turn_check_score) <= 1.0:
            raise FauError(f"turn_check_score must be in [0, 1], got {turn_check_score!r}")
        self.turn_check_score = float(turn_check_score)
        self.min_face = float(min_face)
        self.max_pixels = int(max_pixels)
        self._capped_sizes: set[tuple[int, int]] = set()  # sizes already warned about
        self.min_score = spec.min_score if min_score is None else float(min_score)
        self.spec = spec
        self.model = BlazeFace(model, spec, num_threads=num_threads)
        # The finer levels' own interpreters: with an executor they run on its thread
        # while `model` runs the letterbox on the caller's (a LiteRT interpreter must
        # not be invoked from two threads at once, and a fine tile may be 128×128 too).
        self.fine_model = BlazeFace(model, spec, num_threads=num_threads,
                                    large_threads=fine_threads)
        #: Detector runs of the last `detect` call, with their input sizes (profiling).
        self.last_views: list[View] = []

    def views(self, height: int, width: int) -> list[View]:
        """The detector runs for an image of this size (`fau.landmarks.pyramid`)."""
        return plan_views(height, width, min_face=self.min_face, side=self.spec.side,
                          align=self.spec.align, max_pixels=self.max_pixels)

    def run_views(self, image: np.ndarray, views: list[View], *,
                  model: BlazeFace | None = None, turned: bool = False) -> RawDetections:
        """Raw (un-merged) detections of ``views`` of an RGB image, in image pixels.

        ``model``: the interpreters to run them on (default `model`; the finer levels
        use `fine_model` when they run on an executor's thread). Letterbox views are
        resized from ``image`` as MediaPipe does; the other levels from one working
        copy, the image shrunk once to the finest level among ``views`` (low-pass
        filtered, `_resize`), so that a huge image is read in full once and only one
        level besides the working copy exists at a time.

        With ``turned``, the views are those of the image turned by 180° (each view's
        window is cut mirrored from the unturned level and turned, so neither the image
        nor a level is copied), and the detections stay in the turned image's pixels.
        """
        model = self.model if model is None else model
        finest = max((v for v in views if not v.letterbox), key=lambda v: v.scale,
                     default=None)
        work = None
        if finest is not None:
            work = _resize(image, finest.level_width, finest.level_height, antialias=True)
        parts = []
        for (lw, lh, letterbox), group in groupby(
                views, key=lambda v: (v.level_width, v.level_height, v.letterbox)):
            level = _resize(image if letterbox else work, lw, lh, antialias=not letterbox)
            for view in group:
                if turned:  # the view's window of the turned level: the mirrored window, turned
                    mirrored = _with(view, left=lw - view.left - view.width,
                                     top=lh - view.top - view.height)
                    window = np.ascontiguousarray(_window(level, mirrored)[::-1, ::-1])
                else:
                    window = _window(level, view)
                raw = model(window, self.min_score)
                if len(raw.scores):
                    parts.append(raw.mapped(view.scale, view.left / view.scale,
                                            view.top / view.scale))
            del level
        return RawDetections.concatenate(parts)

    def stages(self, image: np.ndarray, *, executor: Executor | None = None,
               border_retry: bool = True, turn_retry: bool = True
               ) -> Iterator[list[Detection]]:
        """The faces of an RGB uint8 image (H, W, 3) in stages, each strongest first.

        Yields the letterbox's detections (those at least
        `fau.landmarks.pyramid.HANDOVER` × `MIN_FACE_INPUT` wide in its input, where
        finer levels exist; a smaller one, which it localises poorly, is replaced by its
        box at the next level's scale in a window around it, `_confirm`, or, not found
        there, merged with the next level's boxes), then those of the finer levels whose
        box does not overlap a first-stage detection by more than the model's NMS IoU
        (the same face, which one weighted NMS over all views would have merged into
        it), then, with ``border_retry`` and only when neither found anything, those of
        the image with a black border of half its longer side
        (`fau.landmarks.pyramid.border_view`: a face that fills the picture), then, with
        ``turn_retry`` and only when that found nothing either, those of the image turned
        half a turn (`turned`: an upside-down face; BlazeFace finds faces rolled up to
        about 90°).

        Each stage's faces are checked for being upside down (`upright`) before they are
        yielded, but for the first stage's when there is an ``executor``: their check runs
        on its thread after the finer levels, while the caller measures them, and the
        faces it turns open the second stage, each with ``replaces`` set to the
        first-stage detection it corrects.

        With an ``executor`` the finer levels start on its thread at once and run while
        the caller handles the first stage; without one they run when the second stage
        is asked for. One call at a time per detector.
        """
        h, w = image.shape[:2]
        views = self.views(h, w)
        smallest = effective_min_face(h, w, min_face=self.min_face, max_pixels=self.max_pixels)
        if smallest > self.min_face * (1.0 + 1e-9) and (h, w) not in self._capped_sizes:
            self._capped_sizes.add((h, w))
            log.warning("%d×%d image: faces from %.0f px wide are looked for, not from "
                        "min_face=%g px (the detector works on at most %.1f megapixels)",
                        w, h, smallest, self.min_face, self.max_pixels / 1e6)
        first, finer = views[:1], views[1:]
        self.last_views = list(views)
        pending: Future | None = None
        checking: Future | None = None
        if executor is not None and finer:
            pending = executor.submit(self.run_views, image, finer, model=self.fine_model)
        try:
            found = weighted_nms(self.run_views(image, first), self.spec.nms_iou)
            wide = np.ones(len(found.scores), dtype=bool)
            if finer:
                widths = (found.boxes[:, 2] - found.boxes[:, 0]) * first[0].scale
                wide = widths >= HANDOVER * MIN_FACE_INPUT
            coarse, handed = _subset(found, wide), _subset(found, ~wide)
            early = RawDetections.empty()
            if len(handed.scores):
                early = self._confirm(image, handed, min(v.scale for v in finer))
            given = RawDetections.concatenate([coarse, early])
            if executor is not None and (given.scores < self.turn_check_score).any():
                checking = executor.submit(self.upright, image, given, model=self.fine_model)
                first_stage = _detections(given)
            else:
                first_stage = _detections(self.upright(image, given))
            yield first_stage
            if pending is not None:
                raw = pending.result()
                pending = None
            else:
                raw = self.run_views(image, finer, model=self.fine_model)
            corrected: list[Detection] = []
            if checking is not None:
                checked = checking.result()
                checking = None
                corrected = [_with(d, replaces=old) for d, old in
                             zip(_detections(checked), first_stage)
                             if not np.array_equal(d.keypoints, old.keypoints)]
            fine = weighted_nms(RawDetections.concatenate([raw, handed]), self.spec.nms_iou)
            seen = given.boxes
            if len(seen) and len(fine.scores):
                fine = _subset(fine, np.array([
                    not (box_iou(b, seen) > self.spec.nms_iou).any()
                    for b in fine.boxes]))
            yield corrected + _detections(self.upright(image, fine))
            if len(found.scores) or len(fine.scores):
                return
            framed = RawDetections.empty()
            if border_retry:
                border = [border_view(h, w, side=self.spec.side)]
                self.last_views += border
                framed = self.upright(image, weighted_nms(self.run_views(image, border),
                                                          self.spec.nms_iou))
                yield _detections(framed)
            if turn_retry and not len(framed.scores):
                yield _detections(self.turned(image, border_retry=border_retry))
        finally:  # the caller stopped early: let the runs finish
            wait([f for f in (pending, checking) if f is not None])

    def turned(self, image: np.ndarray, *, border_retry: bool = True) -> RawDetections:
        """The faces of ``image`` turned by 180°, merged, in the image's own pixels.

        Every view of the image's pyramid (and, with ``border_retry``, its border view) is
        run turned (`run_views` ``turned``: no copy of the image), on the calling thread,
        and the merged detections are mapped back (`RawDetections.half_turned`): their
        keypoints keep their meaning, so `Detection.roi` rolls the landmark crop upright.
        BlazeFace finds faces rolled up to about 90° either way, so one half turn covers
        the rest of the circle (docs/landmarks.md, "Rolled and upside-down faces").
        """
        h, w = image.shape[:2]
        views = self.views(h, w)
        first = views[:1] + ([border_view(h, w, side=self.spec.side)] if border_retry else [])
        self.last_views += views + first[1:]
        # the finer levels on their own interpreters, as in `stages` (the executor is idle:
        # this runs only when nothing was found), so no large interpreter is built twice
        raw = RawDetections.concatenate([
            self.run_views(image, first, turned=True),
            self.run_views(image, views[1:], model=self.fine_model, turned=True),
        ])
        return weighted_nms(raw, self.spec.nms_iou).half_turned(w, h)

    def upright(self, image: np.ndarray, found: RawDetections, *,
                model: BlazeFace | None = None) -> RawDetections:
        """``found`` with each face scoring below ``turn_check_score`` seen both ways up.

        The face's window (`LOCAL_CONTEXT` face widths, shrunk to `TURN_CHECK_SIDE`
        pixels) is run as it is and turned by 180°; where the turned window scores higher,
        the face is upside down and its box, keypoints and score become those of the
        turned window's detection that overlaps it, mapped back. Two runs of the model
        per face checked, about 0.75 ms each on 2 cores (docs/landmarks.md, "Rolled and
        upside-down faces"), on ``model``'s interpreters (default `model`; `stages` runs
        the first stage's check on the executor's thread with `fine_model`).
        """
        model = self.model if model is None else model
        low = np.flatnonzero(found.scores < self.turn_check_score)
        if not len(low):
            return found
        boxes, keypoints, scores = (found.boxes.copy(), found.keypoints.copy(),
                                    found.scores.copy())
        side_in = TURN_CHECK_SIDE
        for i in low:
            b = boxes[i]
            side = int(math.ceil(LOCAL_CONTEXT * max(b[2] - b[0], b[3] - b[1], 1.0)))
            cut = _cut(image, b, side)
            if cut is None:
                continue
            window, x0, y0 = cut
            small = _resize(window, side_in, side_in, antialias=True)
            turned = model(np.ascontiguousarray(small[::-1, ::-1]), self.min_score)
            if not len(turned.scores):
                continue
            plain = model(small, self.min_score)
            if len(plain.scores) and plain.scores.max() >= turned.scores.max():
                continue
            turned = self._best(turned.half_turned(side_in, side_in)
                                .mapped(side_in / side, x0, y0), b)
            if turned is not None:
                boxes[i], keypoints[i], scores[i] = (turned.boxes[0], turned.keypoints[0],
                                                     turned.scores[0])
        return RawDetections(boxes, keypoints, scores)

    def _best(self, raw: RawDetections, box: np.ndarray) -> RawDetections | None:
        """The strongest merged detection of ``raw`` overlapping ``box`` by more than the
        model's NMS IoU, or None."""
        merged = weighted_nms(raw, self.spec.nms_iou)
        if not len(merged.scores):
            return None
        scores = np.where(box_iou(box, merged.boxes) > self.spec.nms_iou, merged.scores, -1.0)
        k = int(np.argmax(scores))
        return None if scores[k] < 0 else _subset(merged, np.arange(len(scores)) == k)

    def _confirm(self, image: np.ndarray, handed: RawDetections, scale: float) -> RawDetections:
        """The letterbox's small faces seen again at the next level's ``scale``, each in a
        window of the image around it only (`LOCAL_CONTEXT`), merged by weighted NMS;
        those that overlap a letterbox box by more than the NMS IoU."""
        iou = self.spec.nms_iou
        parts = []
        for b in handed.boxes:
            side_in = max(self.spec.side,
                          _ceil_to(LOCAL_CONTEXT * (b[2] - b[0]) * scale, self.spec.align))
            side = int(math.ceil(side_in / scale))  # image pixels
            cut = _cut(image, b, side)
            if cut is None:
                continue
            window, x0, y0 = cut
            raw = self.model(_resize(window, side_in, side_in, antialias=True), self.min_score)
            if len(raw.scores):
                parts.append(raw.mapped(side_in / side, x0, y0))
        local = weighted_nms(RawDetections.concatenate(parts), iou)
        if not len(local.scores):
            return local
        return _subset(local, np.array([(box_iou(b, handed.boxes) > iou).any()
                                        for b in local.boxes]))

    def detect(self, image: np.ndarray, *, executor: Executor | None = None,
               border_retry: bool = True, turn_retry: bool = True) -> list[Detection]:
        """Every face in an RGB uint8 image (H, W, 3), strongest first.

        All the `stages` in one list (``executor``, ``border_retry`` and ``turn_retry``
        as there).
        """
        found: list[Detection] = []
        for stage in self.stages(image, executor=executor, border_retry=border_retry,
                                 turn_retry=turn_retry):
            for d in stage:
                if d.replaces is not None:
                    found = [f for f in found if f is not d.replaces]
                    d = _with(d, replaces=None)
                found.append(d)
        return sorted(found, key=lambda d: -d.score)

    def close(self) -> None:
        """Release the models."""
        self.model.close()
        self.fine_model.close()


def _cut(image: np.ndarray, box: np.ndarray, side: int) -> tuple[np.ndarray, int, int] | None:
    """The ``side``×``side`` square of ``image`` centred on ``box`` (x0, y0, x1, y1), black
    outside the image, and its top-left corner (x, y) in image pixels; None when the
    square misses the image."""
    h, w = image.shape[:2]
    x0 = int(round((box[0] + box[2] - side) / 2.0))
    y0 = int(round((box[1] + box[3] - side) / 2.0))
    ys, xs = max(y0, 0), max(x0, 0)
    ye, xe = min(y0 + side, h), min(x0 + side, w)
    if ye <= ys or xe <= xs:
        return None
    window = np.zeros((side, side, 3), np.uint8)
    window[ys - y0 : ye - y0, xs - x0 : xe - x0] = image[ys:ye, xs:xe]
    return window, x0, y0


def _subset(raw: RawDetections, keep: np.ndarray) -> RawDetections:
    """The detections where ``keep`` (bool, one per detection) is True."""
    return RawDetections(raw.boxes[keep], raw.keypoints[keep], raw.scores[keep])


def _detections(merged: RawDetections) -> list[Detection]:
    """`Detection` objects of merged detections, in their order."""
    return [
        Detection(
            box=(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])),
            keypoints=k.astype(np.float64),
            score=float(s),
        )
        for b, k, s in zip(merged.boxes, merged.keypoints, merged.scores)
    ]
