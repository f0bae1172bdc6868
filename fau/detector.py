"""`Detector`: images → one tidy row per face (box, AUs, head pose, expression scores).

A detector is a landmark backend (face meshes) plus a `fau.pipeline.Pipeline` (meshes →
feature blocks → rows); it owns no analysis step of its own. Video files, live frames,
the service and batch use the same two parts (see docs/architecture.md).
"""

from __future__ import annotations

import logging
import math
import numbers
import os
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import FauError, check_flags
from .io import ImageSource, load_image
from .limits import MAX_SIDE
from .landmarks.base import FaceMesh, LandmarkBackend, StagedBackend, with_blendshapes
from .landmarks.whole_image import whole_image_face
from .pipeline import (BLENDSHAPE_COLUMNS, BOX_COLUMNS, FACE_COLUMNS, Blocks, Pipeline,
                       check_num_threads, columns)
from .resources import DEFAULT_EXPRESSION_MODEL, DEFAULT_MAX_FACES

if TYPE_CHECKING:  # pragma: no cover
    from .expression.model import ExpressionModel

__all__ = ["Detector", "FACE_COLUMNS", "BOX_COLUMNS", "BLENDSHAPE_COLUMNS", "columns",
           "DEFAULT_MAX_FACES"]

log = logging.getLogger(__name__)


class Detector:
    """Find faces and measure action units and expression scores.

    Parameters
    ----------
    expression_model : {"ferplus", "fer2013", "geometric"} or None
        Bundled expression model (`fau.resources.EXPRESSION_MODELS`): ``"ferplus"`` (8
        classes incl. contempt, trained on FER+ crowd labels; default), ``"fer2013"``
        (7 classes; its ``contempt`` column is 0) or ``"geometric"`` (8 classes from the
        face's movements alone, no appearance model; docs/model_card.md). ``None`` skips
        expression scoring (the probability columns are NaN, ``expression`` and
        ``compound`` NA).
    max_faces : int
        Most faces analysed per image (default `DEFAULT_MAX_FACES` = 32). When an image
        has more, the ``max_faces`` with the best detector scores are kept and a warning
        is logged.
    min_face_score : float
        Faces whose face-mesh presence score (0-1) is below this are dropped.
    num_threads : int or None
        Threads per model. None (default): the landmark models run on one thread (they
        are small: measured faster than two), the face detector's finer pyramid levels
        on a second thread while the landmark model measures the letterbox's faces
        (`fau.landmarks.MediaPipeBackend` ``detector_thread``), and the appearance CNN
        on one thread of its own while the mesh blocks and the movements booster are
        computed (`fau.pipeline.Pipeline` ``appearance_thread``), its four networks at
        the same time on machines with at least 4 usable cores. An integer sets
        the models' threads (1 also keeps every model on the calling thread); use 1
        when several images or videos are processed in parallel (batch workers, the
        web service).
    min_face : float or None
        Smallest face to look for (landmark-box width, pixels; None: 30, the default of
        `fau.landmarks.detection.DEFAULT_MIN_FACE`), from
        `fau.landmarks.detection.SMALLEST_MIN_FACE` (8) to `fau.limits.MAX_SIDE`
        (20,000, the largest image side fau accepts). The detector's cost grows with
        (image side / ``min_face``)²: on a 640×480 image 30 px adds a 304×224 detector
        run to MediaPipe's 128×128 letterbox, 70 px or more runs the letterbox alone
        (docs/landmarks.md, "Face detection"). Only for the default backend.
    backend : LandmarkBackend or None
        Landmark backend; default `fau.landmarks.MediaPipeBackend` (bundled models).

    Attributes
    ----------
    backend : LandmarkBackend
        Images → face meshes.
    pipeline : fau.pipeline.Pipeline
        Face meshes → feature blocks → table rows (holds the expression model).

    Notes
    -----
    Every model file is bundled with the package; nothing is downloaded. The expression
    model is read on the first face (a missing file fails at once). Use the detector as
    a context manager, or call `close`, to free the native models.

    Examples
    --------
    >>> import fau
    >>> with fau.Detector() as det:                       # doctest: +SKIP
    ...     faces = det.detect_image("photo.jpg")
    ...     faces[["face_score", "AU12", "happiness", "expression"]]
    """

    def __init__(
        self,
        *,
        expression_model: str | None = DEFAULT_EXPRESSION_MODEL,
        max_faces: int = DEFAULT_MAX_FACES,
        min_face_score: float = 0.5,
        num_threads: int | None = None,
        min_face: float | None = None,
        backend: LandmarkBackend | None = None,
    ) -> None:
        check_detector_options(max_faces, min_face_score, num_threads, min_face, backend)
        self.pipeline = Pipeline(expression_model, num_threads=num_threads,
                                 appearance_thread=num_threads is None or num_threads > 1)
        self.expression_model_name = self.pipeline.expression_model_name
        self.max_faces = int(max_faces)
        self.min_face_score = float(min_face_score)
        self.num_threads = num_threads
        if backend is None:
            from .landmarks.detection import DEFAULT_MIN_FACE
            from .landmarks.mediapipe import MediaPipeBackend

            # One face more than the cap, so that a dropped face can be reported.
            backend = MediaPipeBackend(
                max_faces=self.max_faces + 1,
                min_presence=self.min_face_score,
                min_face=DEFAULT_MIN_FACE if min_face is None else min_face,
                num_threads=num_threads or 1,
                detector_thread=num_threads is None or num_threads > 1,
            )
        self.backend: LandmarkBackend = backend
        self._closed = False

    @property
    def model(self) -> ExpressionModel | None:
        """The expression model (`fau.expression.model.ExpressionModel`), or None."""
        return self.pipeline.model

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        """Release the native models and stop the detector's threads."""
        self._closed = True
        self.backend.close()
        self.pipeline.close()

    def __enter__(self) -> "Detector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Detector(expression_model={self.expression_model_name!r}, "
            f"max_faces={self.max_faces}, backend={getattr(self.backend, 'name', '?')!r})"
        )

    # -- meshes ----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise FauError("this Detector was closed; create a new one (or use it inside "
                           "its `with` block)")

    def meshes(self, image: ImageSource, *, cropped: bool = False
               ) -> tuple[np.ndarray, list[FaceMesh]]:
        """Decoded RGB image and its face meshes (see `detect_image` for ``cropped``).

        Logs a warning when the image has more than ``max_faces`` faces (the first
        ``max_faces``, in the backend's order of detector score, are kept). When the face
        detector finds none, the image may be one tight face crop: see
        `fau.landmarks.whole_image`.

        Parameters
        ----------
        image : path, bytes or ndarray
            The image, as for `detect_image`.
        cropped : bool
            The whole image is one face crop (see `detect_image`).

        Returns
        -------
        tuple of ndarray and list of FaceMesh
            The RGB ``uint8`` image ``(H, W, 3)`` and one `fau.landmarks.FaceMesh` per face.
        """
        rgb, faces = self._find(image, cropped)
        return rgb, with_blendshapes(self.backend, faces)

    def _find(self, image: ImageSource, cropped: bool) -> tuple[np.ndarray, list[FaceMesh]]:
        """`meshes`, without their blendshapes where the backend measures them apart
        (`fau.landmarks.StagedBackend`; `fau.landmarks.with_blendshapes` adds them)."""
        self._check_open()
        check_flags(cropped=cropped)
        rgb = load_image(image)
        staged = {"blendshapes": False} if isinstance(self.backend, StagedBackend) else {}
        if cropped:
            return rgb, [self.backend.mesh_from_crop(rgb, **staged)]
        faces = [f for f in self.backend.detect(rgb, **staged)
                 if f.presence >= self.min_face_score]
        if not faces:
            whole = whole_image_face(self.backend, rgb, self.min_face_score)
            if whole is not None:
                log.debug("%s: no face detected; the whole image is one (presence %.2f)",
                          _describe(image), whole.presence)
                faces = [whole]
        if len(faces) > self.max_faces:
            log.warning("%s: more than max_faces=%d faces found; analysing %d (raise "
                        "max_faces to analyse more)", _describe(image), self.max_faces,
                        self.max_faces)
            faces = faces[: self.max_faces]
        return rgb, faces

    def landmarks(self, image: ImageSource, *, cropped: bool = False) -> np.ndarray:
        """The 478 landmarks of every face, (n_faces, 478, 3), image pixels (see `FaceMesh`).

        Parameters
        ----------
        image : path, bytes or ndarray
            The image, as for `detect_image`.
        cropped : bool
            The whole image is one face crop (see `detect_image`).

        Returns
        -------
        ndarray
            ``float32`` ``(n_faces, 478, 3)``: x, y in pixels, z in MediaPipe's units.
        """
        _, faces = self.meshes(image, cropped=cropped)
        if not faces:
            return np.zeros((0, 478, 3), np.float32)
        return np.stack([f.landmarks for f in faces])

    # -- analysis --------------------------------------------------------------------
    def features(
        self, image: np.ndarray, faces: Sequence[FaceMesh], *, cropped: bool = False
    ) -> Blocks:
        """Feature blocks of the faces of one RGB image (`fau.pipeline.Pipeline.features`).

        Parameters
        ----------
        image : ndarray
            The RGB ``uint8`` image ``(H, W, 3)`` the faces were found in (from `meshes`).
        faces : sequence of FaceMesh
            Its face meshes (from `meshes`).
        cropped : bool
            The image is one face crop (its whole area is the appearance patch).

        Returns
        -------
        dict of str to ndarray
            The feature blocks, one row per face.
        """
        return self.pipeline.features(image, faces, cropped=cropped)

    def table(self, blocks: Blocks, *, landmarks: bool = False) -> pd.DataFrame:
        """The per-face DataFrame from feature blocks (`fau.pipeline.Pipeline.table`).

        Parameters
        ----------
        blocks : dict of str to ndarray
            Feature blocks from `features`.
        landmarks : bool
            Add the 478 landmarks as columns ``x_0 … z_477``.

        Returns
        -------
        pandas.DataFrame
            `detect_image`'s table.
        """
        return self.pipeline.table(blocks, landmarks=landmarks)

    def detect_image(
        self,
        image: ImageSource,
        *,
        cropped: bool = False,
        landmarks: bool = False,
    ) -> pd.DataFrame:
        """Analyse every face in one image.

        Parameters
        ----------
        image : path, bytes or ndarray
            A file, encoded bytes, or a ``uint8``/``uint16`` array ``(H, W)`` grey,
            ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA (see `fau.io.load_image`). Arrays are
            RGB: one from OpenCV (BGR) needs ``img[..., ::-1]``, or its expression scores
            change.
        cropped : bool
            The whole image is one face region (e.g. a FER-2013 48×48 crop): the face
            detector is skipped, the landmark model runs on the crop plus a 10% black
            margin, then once more on MediaPipe's tracking crop around those landmarks;
            exactly one row is returned, whatever the face-presence score. Without it
            (default) the face detector looks for faces, and a tight face crop is
            still read as one: when the detector finds none, the whole image is tried
            (`fau.landmarks.whole_image`), and a face that fills its image gets the whole
            image as its appearance patch (`fau.expression.appearance.fills_image`).
            Use ``cropped=True`` for crops whose face-presence score may be low.
        landmarks : bool
            Add the 478 landmarks as columns ``x_0 … x_477, y_0 …, z_0 …`` (pixels).

        Returns
        -------
        pandas.DataFrame
            One row per face (none: an empty table with the same columns and dtypes),
            columns in this order (`fau.pipeline.columns`):

            - ``face`` (int64): index of the face in the image, from 0;
            - ``face_x, face_y, face_w, face_h``: tight box of the 478 landmarks
              (pixels, origin top-left);
            - ``face_score``: the landmark model's face presence (0-1);
            - ``pitch, yaw, roll``: head pose (degrees);
            - ``gaze_yaw, gaze_pitch``: eye gaze in the camera frame, the eyes'
              direction combined with the head's rotation (degrees; yaw > 0 towards
              the image's right, pitch > 0 up, (0, 0) into the camera; NaN during a
              blink; `fau.au.gaze`);
            - the AU intensities `fau.AU_NAMES` (``AU01 … AU45``, ``AU12_L/R``,
              ``AU14_L/R``; fractions of the inter-ocular distance, AU43/AU45 of the
              neutral eye opening: `fau.au.AU_UNITS`; see docs/action_units.md);
            - the AU occurrences `fau.au.AU_OCCURRENCE_NAMES` (``AU01_c … AU45_c``;
              1.0 present, 0.0 absent: intensity above `fau.au.AU_THRESHOLDS`);
            - ``anger, disgust, fear, happiness, sadness, surprise, neutral,
              contempt``: expression probabilities (sum to 1; NaN without a model);
            - ``expression`` (string, NA without a model): the most probable one;
            - ``compound`` (string, NA when no blend scores above its threshold),
              ``compound_score`` (0-1), ``valence`` and ``arousal`` (-1 to 1):
              documented heuristics, see docs/compound.md;
            - ``bs_*``: MediaPipe's 52 blendshape scores (0-1);
            - with ``landmarks=True``: ``x_0 … x_477, y_0 … y_477, z_0 … z_477``.

            Every column other than ``face``, ``expression`` and ``compound`` is
            float64. Expression scores describe how the expression would likely be
            read, not what the person feels (docs/responsible-use.md).

        Raises
        ------
        FauError
            Unreadable, truncated, too small or too large image.
        """
        return self.analyse(image, cropped=cropped, landmarks=landmarks)[0]

    def analyse(self, image: ImageSource, *, cropped: bool = False, landmarks: bool = False
                ) -> tuple[pd.DataFrame, Blocks]:
        """`detect_image`'s table and the feature blocks it was made from (for
        `fau.pipeline.Pipeline.explain`), as `fau.pipeline.Pipeline.analyse` gives them.

        The appearance CNN starts as soon as the faces' landmarks are known, and their
        blendshapes are measured while it runs (`fau.landmarks.StagedBackend`): the
        same rows as ``pipeline.analyse(*meshes(image))``, in less wall time.

        Parameters
        ----------
        image : path, bytes or ndarray
            The image, as for `detect_image`.
        cropped : bool
            The whole image is one face crop (see `detect_image`).
        landmarks : bool
            Add the 478 landmarks as columns (see `detect_image`).

        Returns
        -------
        tuple of pandas.DataFrame and dict of str to ndarray
            `detect_image`'s table and its feature blocks.
        """
        check_flags(landmarks=landmarks)
        rgb, faces = self._find(image, cropped)
        pending = self.pipeline.start_appearance(rgb, faces, cropped=cropped)
        faces = with_blendshapes(self.backend, faces)
        return self.pipeline.analyse(rgb, faces, cropped=cropped, landmarks=landmarks,
                                     appearance=pending)

    def detect_images(
        self, images: Iterable[ImageSource], *, cropped: bool = False
    ) -> pd.DataFrame:
        """`detect_image` over several images; adds an ``input`` column first.

        ``input`` is the path (str) of images given as paths, else the image's position
        in ``images`` (as a string too, so the column has one type). Images without a
        face give no row; see ``df.attrs["no_face"]`` for their inputs.

        Parameters
        ----------
        images : iterable of path, bytes or ndarray
            The images, each as for `detect_image` (a single image is refused).
        cropped : bool
            Every image is one face crop (see `detect_image`).

        Returns
        -------
        pandas.DataFrame
            ``input`` (string) and `detect_image`'s columns; ``attrs["no_face"]``.
        """
        if isinstance(images, (str, bytes, bytearray, memoryview, np.ndarray, os.PathLike)):
            raise FauError(f"detect_images takes a list of images, got one {type(images).__name__}"
                           "; use detect_image for a single image")
        if not isinstance(images, Iterable):
            raise FauError(f"detect_images takes a list of images, got {type(images).__name__}")
        frames = []
        no_face = []
        for i, image in enumerate(images):
            df = self.detect_image(image, cropped=cropped)
            name = _describe(image, i)
            if df.empty:
                no_face.append(name)
            df.insert(0, "input", pd.array([name] * len(df), dtype="string"))
            frames.append(df)
        if not frames:
            df = self.pipeline.empty_table()
            df.insert(0, "input", pd.array([], dtype="string"))
        else:
            df = pd.concat(frames, ignore_index=True)
        df.attrs["no_face"] = no_face
        return df

    def detect_video(self, path, **kwargs) -> pd.DataFrame:
        """Analyse a video file: one row per face per analysed frame.

        Delegates to `fau.video.detect_video` (same keyword arguments: ``fps``,
        ``start``, ``end``, ...); see there and ``docs/video.md``.

        Parameters
        ----------
        path : str or path
            The video file.
        **kwargs
            Keyword arguments of `fau.video.detect_video`.

        Returns
        -------
        pandas.DataFrame
            One row per face per analysed frame (``frame``, ``timestamp``, ``track_id``,
            `detect_image`'s columns and the temporal ones; ``docs/video.md``).

        Examples
        --------
        >>> with fau.Detector() as det:                       # doctest: +SKIP
        ...     df = det.detect_video("interview.mp4", fps=5, start=60, end=120)
        """
        from .video.detect import detect_video

        self._check_open()
        return detect_video(self, path, **kwargs)

    def explain(self, image: ImageSource, *, cropped: bool = False) -> pd.DataFrame:
        """Why each face got its scores: additive contributions per AU and feature block.

        Parameters
        ----------
        image : path, bytes or ndarray
            The image, as for `detect_image`.
        cropped : bool
            The whole image is one face crop (see `detect_image`).

        Returns
        -------
        pandas.DataFrame
            Long table with one row per (face, expression, group): ``face``,
            ``expression``, ``group`` (an AU name, ``head_pose``, ``shape``,
            ``blendshapes`` or ``appearance``), ``source`` (``"movement"`` or
            ``"appearance"``), ``contribution`` (to the expression's calibrated logit;
            TreeSHAP values of the XGBoost model, so they sum with ``bias`` to the
            logit), ``bias``, ``movement`` and ``appearance`` (the summed contributions
            of each source: ``bias + movement + appearance = logit``),
            ``appearance_share`` (0-1), ``logit`` and ``probability``
            (`fau.expression.explain.explain_blocks`).

        Raises
        ------
        FauError
            No expression model (``expression_model=None``), or a bad image.
        """
        if self.pipeline.expression_model_name is None:
            raise FauError("explain() needs an expression model (expression_model=None was given)")
        rgb, faces = self.meshes(image, cropped=cropped)
        return self.pipeline.explain(self.pipeline.features(rgb, faces, cropped=cropped))


def check_detector_options(max_faces: object, min_face_score: object, num_threads: object,
                           min_face: object, backend: object) -> None:
    """Refuse `Detector` options of the wrong type or range with a `FauError`.

    `Detector` calls it first; `fau.run_batch` calls it before any work, so that a value
    every worker would refuse is one error, not a failed row per video.
    """
    def whole(value: object) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    def real(value: object) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)

    if not whole(max_faces) or max_faces < 1:
        raise FauError(f"max_faces must be a whole number of at least 1, got {max_faces!r}")
    if not real(min_face_score) or not 0.0 <= min_face_score <= 1.0:
        raise FauError(f"min_face_score must be a number in [0, 1], got {min_face_score!r}")
    check_num_threads(num_threads)
    if min_face is not None and (not real(min_face) or not math.isfinite(min_face)):
        raise FauError(f"min_face must be None or a number of pixels, got {min_face!r}")
    if min_face is not None:
        from .landmarks.detection import SMALLEST_MIN_FACE

        # A face is never wider than the image, and no image fau accepts has a side over
        # MAX_SIDE (fau.limits): a larger min_face would look for no face at all.
        if not SMALLEST_MIN_FACE <= min_face <= MAX_SIDE:
            raise FauError(
                f"min_face must be between {SMALLEST_MIN_FACE:g} and {MAX_SIDE} pixels (the "
                f"largest image side fau accepts, fau.limits.MAX_SIDE), got {min_face!r}")
    if backend is not None and not all(callable(getattr(backend, m, None))
                                       for m in ("detect", "mesh_from_crop", "close")):
        raise FauError(f"backend must be a fau.landmarks.LandmarkBackend (detect, "
                       f"mesh_from_crop, close), got {type(backend).__name__}")
    if backend is not None and min_face is not None:
        raise FauError("min_face is an option of the default backend; give it to your "
                       "backend instead")


def _describe(image: ImageSource, position: int | None = None) -> str:
    """How logs and tables name an image: its path, else its position or kind."""
    if isinstance(image, (np.ndarray, bytes, bytearray, memoryview)):
        return str(position) if position is not None else f"{type(image).__name__} image"
    return str(image)
