"""Appearance features: fau's small CNN on a FER-2013-like grey face patch.

The CNN (``fau/models/appearance_cnn.onnx``: four networks trained on FER-2013 Training by
``benchmarks/train_cnn.py``, two VGG-style ones from scratch and two ImageNet-initialised
MobileNetV2, in 8-bit integer arithmetic (``benchmarks/cnn_quantize.py``), whose logits the
one graph averages (``benchmarks/cnn_ensemble.py``); see ``docs/cnn.md``) reads a 48×48 grey
patch framed the
way FER-2013 frames faces. For a face found in a larger image the patch is cut from the
landmarks: a square, rolled so the eyes are level, centred and sized from the landmark
box with the median framing of FER-2013 Training faces (`FER_FRAMING`). A face crop
given with ``cropped=True`` is used as it is (resized to 48×48), as FER-2013 images are,
and so is an image that a found face fills (`fills_image`): one framed as tightly as
FER-2013 frames faces, or tighter.
It runs with onnxruntime on one thread (about 1-3 ms per face).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from ..resources import model_path
from ..landmarks.roi import Roi, crop, eye_angle, upright_box
from .model_files import read_checked

__all__ = ["AppearanceModel", "face_patch", "fer_roi", "fills_image", "PATCH_SIDE", "FER_FRAMING",
           "FILL_SHARE"]

PATCH_SIDE = 48  # px, FER-2013 image size
#: FER-2013 framing relative to the (eye-level) box of the 468 face landmarks:
#: (patch side / box height, patch centre shift down / box height). Medians over the
#: FER-2013 Training meshes with face presence ≥ 0.5 (n = 27,378), measured by
#: ``benchmarks/fer_framing.py`` (IQR of the side ratio 1.033-1.154).
FER_FRAMING: tuple[float, float] = (1.085, -0.042)


#: A face fills its image when the square of its FER-2013 framing (`fer_roi`) is at least
#: this share of the image's longer side: the image is then a face crop framed like a FER-2013
#: image or tighter, and cutting the square from it would pad the patch with black borders
#: that no training image has. 1.0: the square reaches past the image on its longer side.
#: Measured on 800 FER-2013 PublicTest images through the face detector (`cropped=False`),
#: shares 0.9-1.2 gave the same accuracy within 1 point; docs/benchmarks.md, "Face crops
#: without cropped=True".
FILL_SHARE = 1.0


def fer_roi(landmarks: np.ndarray) -> Roi:
    """The square a FER-2013 image would frame this face with (`FER_FRAMING`), pixels.

    Rolled so the eyes are level; side ``1.085 ×`` the eye-level box height of the 468
    face landmarks, centre shifted by ``-0.042 ×`` that height along the face's "down".
    """
    angle = eye_angle(landmarks)
    centre, (_, height) = upright_box(landmarks[:468, :2], angle)
    height = float(height)
    side_ratio, shift = FER_FRAMING
    side = max(height * side_ratio, 2.0)
    # Shift the centre along the face's own "down" direction.
    dx, dy = -math.sin(angle) * shift * height, math.cos(angle) * shift * height
    return Roi(float(centre[0]) + dx, float(centre[1]) + dy, side, angle)


def fills_image(landmarks: np.ndarray, shape: tuple[int, ...], share: float = FILL_SHARE
                ) -> bool:
    """Whether the face fills an image of ``shape`` (H, W[, C]): its `fer_roi` side is at
    least ``share`` × the image's longer side (see `FILL_SHARE`)."""
    return _reaches(fer_roi(landmarks), shape, share)


def _reaches(roi: Roi, shape: tuple[int, ...], share: float) -> bool:
    return roi.size >= share * max(int(shape[0]), int(shape[1]))


def face_patch(image: np.ndarray, landmarks: np.ndarray | None, *, cropped: bool) -> np.ndarray:
    """48×48 grey ``uint8`` patch of one face (see module docs for the framing).

    The whole image, resized, when ``cropped`` or when the face fills it (`fills_image`);
    else the face's `fer_roi` square.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    roi = None if cropped or landmarks is None else fer_roi(landmarks)
    if roi is None or _reaches(roi, grey.shape, FILL_SHARE):
        return cv2.resize(grey, (PATCH_SIDE, PATCH_SIDE), interpolation=cv2.INTER_AREA)
    return _area_crop(grey, roi) if roi.size > PATCH_SIDE else crop(grey, roi, PATCH_SIDE)


def _area_crop(grey: np.ndarray, roi: Roi) -> np.ndarray:
    """Crop at full resolution first, then shrink with area averaging (no aliasing)."""
    side = int(math.ceil(roi.size))
    big = crop(grey, roi, side)
    return cv2.resize(big, (PATCH_SIDE, PATCH_SIDE), interpolation=cv2.INTER_AREA)


class AppearanceModel:
    """The bundled appearance CNN (ONNX) on onnxruntime, one thread by default."""

    def __init__(self, num_threads: int | None = 1, path: str | Path | None = None) -> None:
        """Load the CNN; ``path`` (default: the bundled ``appearance_cnn.onnx``) lets
        the benchmarks score candidate networks through the same code."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = int(num_threads)
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Idle pool threads must not spin: the landmark models run right after on the
        # same cores (spinning cost ~5 ms per call in fau's image benchmark).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        data = read_checked(path or model_path("appearance_cnn.onnx"))  # digest of bundled
        self._sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        self._input = self._sess.get_inputs()[0].name
        self._outputs = ["fer2013_logits", "ferplus_logits"]

    def logits(self, patches: np.ndarray) -> np.ndarray:
        """(n, 15) logits (7 FER-2013 then 8 FER+) of (n, 48, 48) uint8 patches."""
        if len(patches) == 0:
            return np.zeros((0, 15), np.float32)
        x = np.asarray(patches, dtype=np.float32)[:, None, :, :]
        a, b = self._sess.run(self._outputs, {self._input: x})
        return np.concatenate([a, b], axis=1).astype(np.float32)
