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
It runs with onnxruntime on one thread (about 4-6 ms per face), or, on machines with cores
to spare, as its four networks at the same time (`AppearanceModel` ``members``).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..resources import model_path
from ..landmarks.roi import Roi, crop, eye_angle, upright_box
from .model_files import read_checked
from .runtime import ort_session

__all__ = ["AppearanceModel", "face_patch", "fer_roi", "fills_image", "PATCH_SIDE", "FER_FRAMING",
           "FILL_SHARE", "MEMBER_FILES", "MEMBER_POOL_MIN_CORES", "usable_cores"]

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


#: The bundled CNN's members as files of their own (``benchmarks/cnn_ensemble.py --split``),
#: which `AppearanceModel` runs at the same time on machines with `MEMBER_POOL_MIN_CORES`.
MEMBER_FILES: tuple[str, ...] = tuple(f"appearance_cnn_m{i}.onnx" for i in range(4))
#: Usable cores from which ``members="auto"`` runs the members at the same time: on 16
#: cores one face's CNN takes 1.6 ms of wall time against 3.9 ms as one graph on one
#: thread (4.7 against 4.1 ms of CPU); on 2 cores it is slower (7.7 against 6.3 ms)
#: (`benchmarks/cnn_threads.py`, docs/benchmarks.md "Image speed").
MEMBER_POOL_MIN_CORES = 4
_OUTPUTS = ["fer2013_logits", "ferplus_logits"]


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class AppearanceModel:
    """The bundled appearance CNN (ONNX) on onnxruntime, one thread by default.

    Parameters
    ----------
    num_threads : int or None
        onnxruntime threads of the one-graph form (None: onnxruntime's default).
    path : str or Path, optional
        Another CNN file of the same interface (the benchmarks' candidates); default the
        bundled ``appearance_cnn.onnx``.
    members : bool or "auto"
        Run the bundled CNN's four networks at the same time, one thread each, from
        their own files (`MEMBER_FILES`), and average their logits: the same values as
        the one graph, bit for bit, in less wall time and more CPU time. "auto": when
        `usable_cores` is at least `MEMBER_POOL_MIN_CORES`. Only for the bundled CNN.
    """

    def __init__(self, num_threads: int | None = 1, path: str | Path | None = None,
                 members: bool | str = False) -> None:
        if members == "auto":
            members = path is None and usable_cores() >= MEMBER_POOL_MIN_CORES
        elif not isinstance(members, bool):
            raise ValueError(f"members must be True, False or 'auto', got {members!r}")
        if members and path is not None:
            raise ValueError("members=True runs the bundled CNN's members: give no path")
        self.members = bool(members)
        self._pool: ThreadPoolExecutor | None = None
        if self.members:
            self._sessions = [ort_session(read_checked(model_path(f)), 1,
                                          what=f"appearance CNN member {f}")
                              for f in MEMBER_FILES]
            self._pool = ThreadPoolExecutor(max_workers=len(self._sessions),
                                            thread_name_prefix="fau-cnn")
        else:
            data = read_checked(path or model_path("appearance_cnn.onnx"))  # digest of bundled
            self._sessions = [ort_session(data, num_threads, what="appearance CNN")]
        self._input = self._sessions[0].get_inputs()[0].name

    def close(self) -> None:
        """Stop the members' threads (`members`); the model stays usable, on one thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _run(self, sess, x: np.ndarray) -> list[np.ndarray]:
        return sess.run(_OUTPUTS, {self._input: x})

    def logits(self, patches: np.ndarray) -> np.ndarray:
        """(n, 15) logits (7 FER-2013 then 8 FER+) of (n, 48, 48) uint8 patches."""
        if len(patches) == 0:
            return np.zeros((0, 15), np.float32)
        x = np.asarray(patches, dtype=np.float32)[:, None, :, :]
        if len(self._sessions) == 1:
            a, b = self._run(self._sessions[0], x)
        else:
            parts = (list(self._pool.map(self._run, self._sessions, [x] * len(self._sessions)))
                     if self._pool is not None else [self._run(s, x) for s in self._sessions])
            # The one graph's Sum then Mul by 1/k (cnn_ensemble.combine): the same float32
            # operations in the same order, so the same bits.
            scale = np.float32(1.0 / len(parts))
            a, b = (np.sum([p[k] for p in parts], axis=0) * scale for k in range(2))
        return np.concatenate([a, b], axis=1).astype(np.float32)
