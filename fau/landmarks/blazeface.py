"""BlazeFace face detectors on LiteRT: SSD anchors, box decoding, weighted NMS.

BlazeFace (Bazarevsky et al. 2019, "BlazeFace: Sub-millisecond Neural Face Detection
on Mobile GPUs", arXiv:1907.05047) predicts, for every SSD anchor, a face box and six
keypoints relative to the anchor centre, and a face score logit. This module decodes
those outputs the way MediaPipe's ``TensorsToDetectionsCalculator`` does with the
options of ``face_detection_short_range_common.pbtxt`` (the model inside the
``face_landmarker.task`` bundle, ``face_detector_graph.cc``), and merges boxes with
MediaPipe's WEIGHTED non-maximum suppression (``NonMaxSuppressionCalculator``).

The short-range model is fully convolutional: it runs on any input whose sides are
multiples of its largest stride (16 px), with one anchor grid per stride laid over the
whole input. Run on a larger input it finds the same face sizes (in input pixels) as at
128×128, everywhere in the input: measured on London-set faces pasted on 320×240 and
640×480 inputs (``benchmarks/group_faces.py``, docs/landmarks.md), 98-100% of faces of
14-160 px were found, as on a 128×128 input.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AnchorLayer",
    "BlazeFaceSpec",
    "SHORT_RANGE",
    "RawDetections",
    "BlazeFace",
    "anchor_centres",
    "weighted_nms",
    "box_iou",
    "N_KEYPOINTS",
    "CACHE_PIXELS",
]

log = logging.getLogger(__name__)

#: Detector keypoints, in model output order: 0 right eye, 1 left eye (the subject's),
#: 2 nose tip, 3 mouth centre, 4 right ear tragion, 5 left ear tragion.
N_KEYPOINTS = 6
#: Logit clipping before the sigmoid (``score_clipping_thresh: 100.0`` in MediaPipe's
#: options; 80 keeps ``exp`` finite in float32 and changes no score above 1e-35).
SCORE_CLIP = 80.0
#: Input pixels of the LiteRT interpreters one `BlazeFace` keeps allocated (1.5 Mpx).
#: An interpreter holds about 150 bytes per input pixel (measured with
#: ``resize_tensor_input`` + ``allocate_tensors``: +29 MB at 432×432, +108 MB at
#: 816×816, +162 MB at 1024×1024, RSS), so this bounds the cache at ~230 MB; it holds
#: the two finer views of a 4K video frame (480×272 and tiles of 992×1008: 1.13 Mpx),
#: which re-detection uses about once a second, while a 100 MP photo's levels (432²,
#: 816² and 944² tiles) replace one another instead of piling up.
CACHE_PIXELS = 1_500_000
#: Input pixels from which a `BlazeFace` given ``large_threads`` runs with them (512×512):
#: a run this large takes ~20 ms on one thread, several landmark-model runs, so on the
#: detector's thread it outlasts what the calling thread does beside it; below it (the
#: 304×224 finer level of a 640×480 frame, ~5.5 ms, as long as the landmark model running
#: beside it) a second thread would only take the calling thread's core.
LARGE_INPUT_PIXELS = 512 * 512


@dataclass(frozen=True)
class AnchorLayer:
    """One SSD feature map: its stride (input pixels per cell) and anchors per cell."""

    stride: int
    per_cell: int


@dataclass(frozen=True)
class BlazeFaceSpec:
    """How to run and decode one BlazeFace model (values from MediaPipe's graphs).

    Attributes
    ----------
    name : str
        Model name.
    side : int
        Native input side (pixels) the model was trained on.
    layers : tuple of AnchorLayer
        SSD anchor layers in output order (``SsdAnchorsCalculatorOptions``; layers with
        the same stride are merged, as the calculator does).
    min_score : float
        Face score (0-1) below which an anchor is dropped (``min_score_thresh``).
    nms_iou : float
        Intersection over union above which two boxes are one face in weighted NMS
        (``min_suppression_threshold``).
    resizable : bool
        Whether the model runs on inputs other than ``side``×``side`` (checked with
        LiteRT's ``resize_tensor_input``).
    source : str
        Where the values come from.
    """

    name: str
    side: int
    layers: tuple[AnchorLayer, ...]
    min_score: float
    nms_iou: float
    resizable: bool
    source: str

    @property
    def align(self) -> int:
        """Input sides must be multiples of this (the largest stride, pixels)."""
        return max(layer.stride for layer in self.layers)


#: BlazeFace short range (``face_detector.tflite`` in ``face_landmarker.task``):
#: strides 8, 16, 16, 16 -> a stride-8 grid with 2 anchors per cell and a stride-16
#: grid with 6 (896 anchors at 128×128); fixed anchor size; min score 0.5; weighted NMS
#: at IoU 0.3.
SHORT_RANGE = BlazeFaceSpec(
    name="blazeface-short-range",
    side=128,
    layers=(AnchorLayer(8, 2), AnchorLayer(16, 6)),
    min_score=0.5,
    nms_iou=0.3,
    resizable=True,
    source="mediapipe/modules/face_detection/face_detection_short_range_common.pbtxt; "
    "mediapipe/tasks/cc/vision/face_detector/face_detector_graph.cc",
)


def anchor_centres(spec: BlazeFaceSpec, height: int, width: int) -> np.ndarray:
    """Anchor centres (n, 2) as x, y in input pixels for an input of ``height``×``width``.

    Order: layer by layer, then rows (y), columns (x), then the anchors of one cell —
    the order of the model's output rows (``SsdAnchorsCalculator``, offset 0.5).
    """
    out = []
    for layer in spec.layers:
        rows, cols = height // layer.stride, width // layer.stride
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * layer.stride
        out.append(np.repeat(centres, layer.per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


@dataclass(frozen=True)
class RawDetections:
    """Anchors above the score threshold, before NMS, in the coordinates asked for.

    Attributes
    ----------
    boxes : ndarray, shape (k, 4)
        x0, y0, x1, y1.
    keypoints : ndarray, shape (k, 6, 2)
        x, y of the `N_KEYPOINTS` keypoints.
    scores : ndarray, shape (k,)
        Face scores (0-1).
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    @staticmethod
    def empty() -> "RawDetections":
        """No detections."""
        return RawDetections(
            np.zeros((0, 4)), np.zeros((0, N_KEYPOINTS, 2)), np.zeros(0)
        )

    @staticmethod
    def concatenate(parts: list["RawDetections"]) -> "RawDetections":
        """All detections of several runs in one set."""
        if not parts:
            return RawDetections.empty()
        return RawDetections(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.keypoints for p in parts]),
            np.concatenate([p.scores for p in parts]),
        )

    def mapped(self, scale: float, x0: float, y0: float) -> "RawDetections":
        """The same detections with coordinates ``c / scale + (x0, y0)``."""
        offset = np.array([x0, y0])
        return RawDetections(
            self.boxes / scale + np.tile(offset, 2),
            self.keypoints / scale + offset,
            self.scores,
        )

    def half_turned(self, width: float, height: float) -> "RawDetections":
        """Detections of an image ``width``×``height`` turned by 180°, in the unturned
        image: a point (u, v) is (width - u, height - v), a box's corners swap, and the
        keypoints keep their meaning (a face's right eye is still its right eye)."""
        size = np.array([width, height], dtype=np.float64)
        return RawDetections(
            np.tile(size, 2) - self.boxes[:, [2, 3, 0, 1]],
            size - self.keypoints,
            self.scores,
        )


class BlazeFace:
    """One BlazeFace model on LiteRT, run on inputs of any allowed size.

    Parameters
    ----------
    model : bytes
        The ``.tflite`` file's content.
    spec : BlazeFaceSpec
        Its input size, anchors and thresholds.
    num_threads : int or None
        LiteRT threads (None: LiteRT's default).
    large_threads : int or None
        LiteRT threads for inputs of at least `LARGE_INPUT_PIXELS` (None: ``num_threads``).
    max_pixels : int
        Input pixels of the interpreters kept allocated at once (one LiteRT interpreter
        per input shape, least recently used dropped first, before a new one is built;
        the one in use is kept whatever its size; `CACHE_PIXELS`).
    """

    def __init__(
        self,
        model: bytes,
        spec: BlazeFaceSpec,
        *,
        num_threads: int | None = None,
        large_threads: int | None = None,
        max_pixels: int = CACHE_PIXELS,
    ) -> None:
        self.spec = spec
        self._model = model
        self._threads = num_threads
        self._large_threads = num_threads if large_threads is None else large_threads
        self._max_pixels = int(max_pixels)
        self._interpreters: OrderedDict[tuple[int, int], tuple] = OrderedDict()
        self._anchors: dict[tuple[int, int], np.ndarray] = {}

    def _interpreter(self, height: int, width: int) -> tuple:
        key = (height, width)
        if key in self._interpreters:
            self._interpreters.move_to_end(key)
            return self._interpreters[key]
        from ai_edge_litert.interpreter import Interpreter

        from .litert import native_stderr_silenced

        if not self.spec.resizable and key != (self.spec.side, self.spec.side):
            raise ValueError(f"{self.spec.name} takes only {self.spec.side}² inputs, got {key}")
        # make room first: a 944×944 interpreter holds ~140 MB (see CACHE_PIXELS)
        while self._interpreters and (sum(h * w for h, w in self._interpreters)
                                      + height * width > self._max_pixels):
            old, _ = self._interpreters.popitem(last=False)
            self._anchors.pop(old, None)
        threads = self._large_threads if height * width >= LARGE_INPUT_PIXELS else self._threads
        kwargs = {} if threads is None else {"num_threads": int(threads)}
        it = Interpreter(model_content=self._model, **kwargs)
        inp = it.get_input_details()[0]["index"]
        if key != (self.spec.side, self.spec.side):
            it.resize_tensor_input(inp, [1, height, width, 3])
        with native_stderr_silenced():  # LiteRT prints "INFO: Created ... delegate"
            it.allocate_tensors()
        outs = it.get_output_details()
        reg = next(d["index"] for d in outs if d["shape"][-1] == 4 + 2 * N_KEYPOINTS)
        cls = next(d["index"] for d in outs if d["shape"][-1] == 1)
        entry = (it, inp, reg, cls)
        self._interpreters[key] = entry
        self._anchors[key] = anchor_centres(self.spec, height, width)
        return entry

    def __call__(self, image: np.ndarray, min_score: float | None = None) -> RawDetections:
        """Detections in an RGB uint8 input (h, w, 3), coordinates in its pixels.

        ``h`` and ``w`` must be multiples of ``spec.align`` (``spec.side`` for a model
        that is not resizable). ``min_score`` defaults to ``spec.min_score``.
        """
        height, width = image.shape[:2]
        it, inp, reg, cls = self._interpreter(height, width)
        # [-1, 1] (MediaPipe), in place: two temporaries of a 304×224 input cost 0.75 ms
        # (fresh pages each call), the in-place passes 0.08 ms
        tensor = image.astype(np.float32)
        tensor *= 1.0 / 127.5
        tensor -= 1.0
        it.set_tensor(inp, tensor[None])
        it.invoke()
        logits = it.get_tensor(cls)[0, :, 0]
        threshold = self.spec.min_score if min_score is None else float(min_score)
        # sigmoid(logit) >= t  <=>  logit >= log(t / (1 - t))
        keep = np.flatnonzero(logits >= np.log(threshold / (1.0 - threshold)))
        if not len(keep):
            return RawDetections.empty()
        raw = it.get_tensor(reg)[0, keep].astype(np.float64)
        anchors = self._anchors[(height, width)][keep].astype(np.float64)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[keep].astype(np.float64),
                                               -SCORE_CLIP, SCORE_CLIP)))
        centre = raw[:, :2] + anchors
        half = raw[:, 2:4] / 2.0
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        kps = raw[:, 4:].reshape(-1, N_KEYPOINTS, 2) + anchors[:, None, :]
        return RawDetections(boxes, kps, scores)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """Input shapes (height, width) with an interpreter allocated, oldest use first."""
        return list(self._interpreters)

    def close(self) -> None:
        """Drop the interpreters (LiteRT frees them with the objects)."""
        self._interpreters.clear()
        self._anchors.clear()


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (x0, y0, x1, y1) box with each of ``boxes`` (n, 4)."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(raw: RawDetections, iou: float) -> RawDetections:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Boxes are taken strongest first; every remaining box that overlaps the strongest
    by more than ``iou`` joins its cluster, and the cluster becomes one detection: the
    score-weighted mean of its boxes and keypoints, with the strongest box's score
    (``NonMaxSuppressionCalculator``, ``algorithm: WEIGHTED``).

    Returns
    -------
    RawDetections
        One detection per cluster, strongest first.
    """
    order = np.argsort(-raw.scores, kind="stable")
    boxes, kps, scores = raw.boxes[order], raw.keypoints[order], raw.scores[order]
    remaining = np.ones(len(scores), dtype=bool)
    out_b, out_k, out_s = [], [], []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        cluster = remaining & (box_iou(boxes[i], boxes) > iou)
        cluster[i] = True
        w = scores[cluster]
        out_b.append((boxes[cluster] * w[:, None]).sum(0) / w.sum())
        out_k.append((kps[cluster] * w[:, None, None]).sum(0) / w.sum())
        out_s.append(scores[i])
        remaining &= ~cluster
    if not out_s:
        return RawDetections.empty()
    return RawDetections(np.array(out_b), np.array(out_k), np.array(out_s))
