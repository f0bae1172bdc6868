"""fau's default landmark backend: MediaPipe's face landmarker models run on LiteRT.

The bundled ``face_landmarker.task`` holds three TFLite models, which this module runs
directly with ``ai_edge_litert`` (the MediaPipe Tasks graph is not needed):

1. ``face_detector.tflite`` (BlazeFace short range, 128×128 input in [-1, 1]): face
   boxes with six keypoints, decoded from SSD anchors and merged by weighted
   non-maximum suppression, as MediaPipe's ``face_detector_graph.cc`` configures it —
   run over an image pyramid (`fau.landmarks.detection`) so that faces from
   ``min_face`` pixels to the whole frame are found.
2. ``face_landmarks_detector.tflite`` (256×256 input in [0, 1]): 478 landmarks (x, y in
   crop pixels, z in the same scale) and a face-presence logit, run on a square crop
   1.5× the face, rotated so the eyes are level (``face_landmarker_graph.cc``).
3. ``face_blendshapes.tflite``: 52 blendshape scores from 146 of the landmarks
   (``kLandmarksSubsetIdxs`` of ``face_blendshapes_graph.cc``), in image pixels.

Running the models ourselves gives what the Tasks API hides (the landmark model's
face-presence score, the detector box), a detector-free path for face crops (the
detector misses 3.5% of FER-2013 crops) and tracking without re-detection.
"""

from __future__ import annotations

import io
import logging
import math
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import FauError
from ..resources import face_landmarker_bytes
from .base import N_LANDMARKS, FaceMesh
from .blazeface import box_iou
from .detection import DEFAULT_MIN_FACE, Detection, FaceDetector
from .litert import native_stderr_silenced
from .roi import LANDMARK_ROI_SCALE, Roi, crop, eye_angle, roi_from_points

__all__ = ["MediaPipeBackend", "Detection", "same_face", "landmark_box", "quarter_turned",
           "CONTAINED"]

log = logging.getLogger(__name__)

_SCORE_CLIP = 80.0  # logit clipping before the sigmoid (float32-safe; MediaPipe: 100)

# --- landmark model (face_landmarker_graph.cc) ----------------------------------------
LANDMARK_SIDE = 256  # px, model input
ROI_SCALE = LANDMARK_ROI_SCALE  # crop side = 1.5 × face size (RectTransformation scale)
# --- blendshape model (face_blendshapes_graph.cc kLandmarksSubsetIdxs) ---------------
BLENDSHAPE_LANDMARKS = np.array([
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132,
    133, 136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162,
    163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269,
    270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314,
    317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378,
    379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415,
    454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
])

#: LiteRT threads of the face detector's finer pyramid levels' large inputs (from
#: `fau.landmarks.blazeface.LARGE_INPUT_PIXELS`) when they run on the detector's own
#: thread (`MediaPipeBackend` ``detector_thread``). XNNPACK splits a large input's
#: convolutions between them: a 768×816 tile (4032×3024 photo) 64 → 32 ms
#: (docs/benchmarks.md, "Large images"). A 640×480 frame's 304×224 level stays on one.
FINE_THREADS = 2
#: Margin added on each side of a face crop for the first landmark pass
#: (fraction of the crop's longer side, black padding). Chosen on 300 FER-2013
#: PublicTest crops: 0.1 gave the highest face-presence scores of 0-0.4.
CROP_MARGIN = 0.10


class MediaPipeBackend:
    """Face detector + 478-point face mesh + 52 blendshapes, MediaPipe models on LiteRT.

    Parameters
    ----------
    max_faces : int
        Most faces `detect` returns (default 32, `fau.Detector`'s default cap):
        candidates are measured strongest first until this many faces have passed
        ``min_presence`` (`fau.Detector` asks for one more than its own cap, so that it
        can warn when faces are dropped).
    min_detection_score : float
        Face-detector score (0-1) below which a candidate box is dropped
        (MediaPipe's default 0.5, ``face_detector_graph.cc``).
    min_presence : float
        Landmark-model face presence (0-1) below which a detected face is dropped
        (MediaPipe's default 0.5, ``min_face_presence_confidence``). `mesh_from_crop`
        never drops.
    min_face : float
        Smallest face `detect` looks for (landmark-box width, pixels;
        `fau.landmarks.detection.DEFAULT_MIN_FACE`); see `FaceDetector`.
    num_threads : int or None
        Threads per model for LiteRT (None: LiteRT's default).
    detector_thread : bool
        Run the face detector's finer pyramid levels on a second thread while the
        landmark model measures the faces of its letterbox view (`detect`,
        `detect_faces`; `fau.landmarks.detection.FaceDetector.stages`), large inputs
        with `FINE_THREADS` LiteRT threads (at least ``num_threads``). The thread starts on
        first use and stops in `close`. False keeps every model run on the calling
        thread (one process per core: batch workers).
    """

    name = "mediapipe-litert"

    def __init__(
        self,
        *,
        max_faces: int = 32,
        min_detection_score: float = 0.5,
        min_presence: float = 0.5,
        min_face: float = DEFAULT_MIN_FACE,
        num_threads: int | None = None,
        detector_thread: bool = True,
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        if isinstance(max_faces, bool) or int(max_faces) < 1:
            raise FauError(f"max_faces must be at least 1, got {max_faces!r}")
        self.max_faces = int(max_faces)
        self.min_detection_score = float(min_detection_score)
        self.min_presence = float(min_presence)
        with zipfile.ZipFile(io.BytesIO(face_landmarker_bytes())) as bundle:
            blobs = {n: bundle.read(n) for n in bundle.namelist()}
        fine_threads = None
        if detector_thread:
            fine_threads = max(int(num_threads or 1), min(FINE_THREADS, os.cpu_count() or 1))
        self.detector = FaceDetector(
            blobs["face_detector.tflite"], min_face=min_face,
            min_score=self.min_detection_score, num_threads=num_threads,
            fine_threads=fine_threads,
        )
        kwargs = {} if num_threads is None else {"num_threads": int(num_threads)}
        self._lmk = Interpreter(model_content=blobs["face_landmarks_detector.tflite"], **kwargs)
        self._bs = Interpreter(model_content=blobs["face_blendshapes.tflite"], **kwargs)
        with native_stderr_silenced():  # LiteRT prints "INFO: Created ... delegate" here
            for it in (self._lmk, self._bs):
                it.allocate_tensors()
        self._lmk_in = self._lmk.get_input_details()[0]["index"]
        lmk_out = self._lmk.get_output_details()
        self._lmk_points = next(d["index"] for d in lmk_out if d["shape"][-1] == N_LANDMARKS * 3)
        self._lmk_presence = next(
            d["index"] for d in lmk_out if tuple(d["shape"]) == (1, 1, 1, 1)
        )
        self._bs_in = self._bs.get_input_details()[0]["index"]
        self._bs_out = self._bs.get_output_details()[0]["index"]
        self.detector_thread = bool(detector_thread)
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def min_face(self) -> float:
        """Smallest face `detect` looks for (landmark-box width, pixels)."""
        return self.detector.min_face

    # -- detector ---------------------------------------------------------------------
    def detect_faces(self, image: np.ndarray) -> list[Detection]:
        """Face-detector boxes in an RGB uint8 image (H, W, 3), strongest first.

        The image pyramid of `fau.landmarks.detection.FaceDetector` (faces from
        ``min_face`` pixels to the whole frame, any aspect ratio), with the
        black-border retry when nothing is found. Boxes are in image pixels; every
        one is a candidate for `mesh` (``det.roi()``). The video tracker calls this.
        """
        self._check_open()
        return self.detector.detect(image, executor=self._executor())

    def _executor(self) -> ThreadPoolExecutor | None:
        """The detector's thread (started on first use), or None without one."""
        if self.detector_thread and self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fau-detector")
        return self._pool

    # -- landmarks --------------------------------------------------------------------
    def mesh_in_roi(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """Landmarks (478, 3) in image pixels and face presence (0-1) for one ROI."""
        patch = crop(image, roi, LANDMARK_SIDE).astype(np.float32)
        patch *= 1.0 / 255.0  # in place: no second 786-kB temporary (see BlazeFace.__call__)
        self._lmk.set_tensor(self._lmk_in, patch[None])
        self._lmk.invoke()
        pts = self._lmk.get_tensor(self._lmk_points).reshape(N_LANDMARKS, 3).astype(np.float64)
        logit = float(self._lmk.get_tensor(self._lmk_presence).ravel()[0])
        back = roi.from_crop(LANDMARK_SIDE)
        xy = pts[:, :2] @ back[:, :2].T + back[:, 2]
        z = pts[:, 2] * (roi.size / LANDMARK_SIDE)
        presence = 1.0 / (1.0 + math.exp(-max(min(logit, _SCORE_CLIP), -_SCORE_CLIP)))
        return np.column_stack([xy, z]).astype(np.float32), presence

    def blendshapes(self, landmarks: np.ndarray) -> np.ndarray:
        """52 blendshape scores from image-pixel landmarks (478, 3).

        The model reads the points as they lie in the image, as MediaPipe feeds it, and
        its scores depend on the face's roll (`quarter_turned`); a face rolled by more
        than 45° is first turned by the nearest multiple of 90°.
        """
        pts = quarter_turned(landmarks[BLENDSHAPE_LANDMARKS, :2], eye_angle(landmarks))
        self._bs.set_tensor(self._bs_in, pts[None])
        self._bs.invoke()
        return self._bs.get_tensor(self._bs_out).astype(np.float32).copy()

    @staticmethod
    def roi_from_landmarks(landmarks: np.ndarray) -> Roi:
        """MediaPipe's tracking crop: landmark box, eye line level, 1.5× the longer side."""
        return roi_from_points(landmarks[:, :2], eye_angle(landmarks), ROI_SCALE)

    def mesh(self, image: np.ndarray, roi: Roi, *, refine: bool = False,
             detector_box: tuple[float, float, float, float] | None = None,
             blendshapes: bool = True) -> FaceMesh:
        """Full `FaceMesh` for one ROI; ``refine`` re-crops once around the landmarks;
        ``blendshapes=False`` leaves them None (see `StagedBackend`)."""
        landmarks, presence = self.mesh_in_roi(image, roi)
        if refine:
            landmarks, presence = self.mesh_in_roi(image, self.roi_from_landmarks(landmarks))
        return FaceMesh(
            landmarks=landmarks,
            blendshapes=self.blendshapes(landmarks) if blendshapes else None,
            presence=presence,
            detector_box=detector_box,
        )

    # -- the LandmarkBackend interface ------------------------------------------------
    def detect(self, image: np.ndarray, *, timestamp_ms: int | None = None,
               blendshapes: bool = True) -> list[FaceMesh]:
        """Faces in an RGB uint8 image (H, W, 3), in order of detector score.

        The detector's boxes are measured by the landmark model stage by stage
        (`fau.landmarks.detection.FaceDetector.stages`: the letterbox's faces while the
        finer levels still run, then theirs), each stage strongest first; a mesh is
        kept when its face presence is at least ``min_presence`` and it is not an
        already kept face again (`same_face`: two boxes on one face; the larger of the
        two meshes is kept), until ``max_faces`` faces are kept (so beyond the cap, larger faces are
        measured first). A face that the detector's upside-down check, run meanwhile on its
        thread, gives again turned (`Detection.replaces`) is measured again and replaces
        its first mesh. ``blendshapes=False`` leaves the blendshapes None (see
        `StagedBackend`).
        ``timestamp_ms`` is accepted for interface compatibility; tracking lives in
        `fau.video`.
        """
        self._check_open()
        kept: list[tuple[float, FaceMesh]] = []
        boxes: list[np.ndarray] = []
        sources: list[Detection] = []  # the detection each kept mesh came from
        stages = self.detector.stages(image, executor=self._executor())
        try:
            for stage in stages:
                for det in stage:
                    if det.replaces is not None:  # measured the wrong way up: measure again
                        drop = [j for j, d in enumerate(sources) if d is det.replaces]
                        for j in reversed(drop):
                            del kept[j], boxes[j], sources[j]
                    elif len(kept) >= self.max_faces:
                        break
                    face = self.mesh(image, det.roi(), detector_box=det.box,
                                     blendshapes=blendshapes)
                    if face.presence < self.min_presence:
                        continue
                    box = landmark_box(face.landmarks)
                    same = same_face(box, np.array(boxes)) if boxes else np.zeros(0, bool)
                    if same.any():  # one face twice: keep its larger mesh (see same_face)
                        j = int(np.flatnonzero(same)[0])
                        if _area(box) > _area(boxes[j]):
                            kept[j] = (max(kept[j][0], det.score), face)
                            boxes[j], sources[j] = box, det
                        continue
                    kept.append((det.score, face))
                    boxes.append(box)
                    sources.append(det)
        finally:
            stages.close()
        return [face for _, face in sorted(kept, key=lambda k: -k[0])]

    def mesh_from_crop(self, image: np.ndarray, *, blendshapes: bool = True) -> FaceMesh:
        """The face filling an RGB crop: a first pass on the crop plus `CROP_MARGIN`,
        then one pass on MediaPipe's tracking crop around those landmarks
        (``blendshapes=False``: None, see `StagedBackend`)."""
        self._check_open()
        h, w = image.shape[:2]
        roi = Roi(w / 2.0, h / 2.0, max(h, w) * (1.0 + 2.0 * CROP_MARGIN), 0.0)
        return self.mesh(image, roi, refine=True, blendshapes=blendshapes)

    def close(self) -> None:
        """Drop the interpreters (LiteRT frees them with the objects)."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.detector.close()
        self._lmk = self._bs = None  # type: ignore[assignment]

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this landmark backend was closed")

    def __enter__(self) -> "MediaPipeBackend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Landmark-box IoU above which two meshes are one face (two detector boxes that the
#: landmark model took to the same face). 0.5: the overlap at which MediaPipe's face
#: landmarker associates a new detection with a face it already follows
#: (``AssociationNormRectCalculator`` at ``min_tracking_confidence`` 0.5,
#: ``face_landmarker_graph.cc``).
DUPLICATE_IOU = 0.5


#: Share of the smaller of two landmark boxes lying inside the other above which they
#: are one face: the detector boxed part of a large face (the pyramid's finer levels
#: see a face larger than their band, e.g. a 450-800 px face on a 4032×3024 photo is
#: 210-370 px in the finest level's input, beyond `MAX_FACE_INPUT` = 160), and the
#: landmark model fitted a smaller mesh inside that part. Measured on 4032×3024 photos
#: of one CREMA-D face 250-1300 px wide (42 photos, `benchmarks/large_images.py
#: --single 4032x3024`): 10 gave 11 such second meshes by IoU alone, 0 with this rule;
#: the 9 inspected lay wholly (1.00) inside the face's own mesh box at IoU 0.06-0.41.
#: 0.8 leaves room for landmark jitter, while two real faces 80% inside one another's
#: box cannot both be visible.
CONTAINED = 0.8


def quarter_turned(points: np.ndarray, angle: float) -> np.ndarray:
    """``points`` (N, 2) turned about their mean by the multiple of 90° that brings a
    face rolled by ``angle`` (radians, `fau.landmarks.roi.eye_angle`) within ±45° of
    upright; float32, unchanged (bit for bit) when it already is.

    MediaPipe's blendshape model was trained on upright faces and reads image
    coordinates, so its scores change with roll: turning the landmarks of 8 London
    smiles about their centre changed the largest score by 0.02-0.05 at 10°, 0.03-0.10
    at 30°, 0.19-0.39 at 90° and 0.30-0.47 at 180° (docs/landmarks.md, "Rolled and
    upside-down faces"). Quarter turns keep every face within ±45° of the model's
    domain while leaving the scores of faces within it as MediaPipe gives them.
    """
    pts = np.asarray(points, dtype=np.float32)[:, :2]
    k = int(round(angle / (math.pi / 2.0))) % 4 if math.isfinite(angle) else 0
    if k == 0:
        return pts
    centre = pts.mean(axis=0)
    rel = pts - centre
    # Turning by -k × 90° (image y down): k = 1 maps (x, y) to (y, -x).
    turned = {1: np.column_stack([rel[:, 1], -rel[:, 0]]),
              2: -rel,
              3: np.column_stack([-rel[:, 1], rel[:, 0]])}[k]
    return (turned + centre).astype(np.float32)


def _area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


def same_face(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which of the landmark boxes ``boxes`` (n, 4) are the face of ``box`` again.

    Two boxes (x0, y0, x1, y1, pixels) are one face when their IoU exceeds
    `DUPLICATE_IOU` or at least `CONTAINED` of the smaller one lies inside the other.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    smaller = np.maximum(np.minimum(areas, _area(box)), 1e-12)
    return (box_iou(box, boxes) > DUPLICATE_IOU) | (ix * iy / smaller >= CONTAINED)


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """Tight box (x0, y0, x1, y1) of landmarks (N, 2+), pixels."""
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    return np.concatenate([lo, hi]).astype(np.float64)
