"""`Detector`: images → one tidy row per face (box, AUs, head pose, expression scores)."""

from __future__ import annotations

import logging
import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .resources import model_path
from .au.geometry import AU_NAMES
from .errors import FauError
from .expression.appearance import AppearanceModel, face_patch
from .expression.compound import COMPOUND_COLUMNS, compound_columns
from .expression.features import POSE_NAMES, mesh_blocks
from .expression.labels import EXPRESSIONS
from .expression.model import ExpressionModel
from .io import ImageSource, load_image
from .landmarks.base import BLENDSHAPE_NAMES, FaceMesh, LandmarkBackend

__all__ = ["Detector", "FACE_COLUMNS", "BOX_COLUMNS", "columns"]

log = logging.getLogger(__name__)

BOX_COLUMNS: tuple[str, ...] = ("face_x", "face_y", "face_w", "face_h", "face_score")
BLENDSHAPE_COLUMNS: tuple[str, ...] = tuple(f"bs_{n}" for n in BLENDSHAPE_NAMES)
#: Columns of every face row, in order.
FACE_COLUMNS: tuple[str, ...] = (
    ("face",)
    + BOX_COLUMNS
    + POSE_NAMES
    + AU_NAMES
    + EXPRESSIONS
    + ("expression",)
    + COMPOUND_COLUMNS
    + BLENDSHAPE_COLUMNS
)
EXPRESSION_MODELS = ("ferplus", "fer2013")


def columns(landmarks: bool = False) -> list[str]:
    """Column names of `Detector.detect_image`'s table."""
    cols = list(FACE_COLUMNS)
    if landmarks:
        cols += [f"{a}_{i}" for a in "xyz" for i in range(478)]
    return cols


class Detector:
    """Find faces and measure action units and expression scores.

    Parameters
    ----------
    expression_model : {"ferplus", "fer2013"} or None
        Bundled expression model: ``"ferplus"`` (8 classes incl. contempt, trained on
        FER+ crowd labels; default) or ``"fer2013"`` (7 classes; its ``contempt`` column
        is 0). ``None`` skips expression scoring (the expression columns are NaN).
    max_faces : int
        Most faces analysed per image.
    min_face_score : float
        Faces whose face-mesh presence score (0-1) is below this are dropped.
    num_threads : int or None
        Threads per model. None (default): the landmark models run on one thread (they
        are small: measured faster than two) and the appearance CNN on up to two
        (measured 4.5 → 2.3 ms). An integer sets both; use 1 when several images or
        videos are processed in parallel (batch workers, the web service).
    backend : LandmarkBackend or None
        Landmark backend; default `fau.landmarks.MediaPipeBackend` (bundled models).

    Notes
    -----
    Every model file is bundled with the package; nothing is downloaded. Use the
    detector as a context manager, or call `close`, to free the native models.

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
        expression_model: str | None = "ferplus",
        max_faces: int = 4,
        min_face_score: float = 0.5,
        num_threads: int | None = None,
        backend: LandmarkBackend | None = None,
    ) -> None:
        if expression_model is not None and expression_model not in EXPRESSION_MODELS:
            raise FauError(
                f"expression_model must be one of {EXPRESSION_MODELS} or None, "
                f"got {expression_model!r}"
            )
        if int(max_faces) < 1:
            raise FauError(f"max_faces must be at least 1, got {max_faces!r}")
        if not 0.0 <= float(min_face_score) <= 1.0:
            raise FauError(f"min_face_score must be in [0, 1], got {min_face_score!r}")
        self.expression_model_name = expression_model
        self.max_faces = int(max_faces)
        self.min_face_score = float(min_face_score)
        self.num_threads = num_threads
        if backend is None:
            from .landmarks.mediapipe import MediaPipeBackend

            backend = MediaPipeBackend(
                max_faces=self.max_faces,
                min_presence=self.min_face_score,
                num_threads=num_threads or 1,
            )
        self.backend: LandmarkBackend = backend
        self.model: ExpressionModel | None = None
        self._appearance: AppearanceModel | None = None
        if expression_model is not None:
            self.model = ExpressionModel.load(model_path(f"expression_{expression_model}.npz"))
            if self.model.uses_appearance:
                ort_threads = num_threads or min(2, os.cpu_count() or 1)
                self._appearance = AppearanceModel(num_threads=ort_threads)

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        """Release the native models."""
        self.backend.close()

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
    def meshes(self, image: ImageSource, *, cropped: bool = False) -> tuple[np.ndarray, list[FaceMesh]]:
        """Decoded RGB image and its face meshes (see `detect_image` for ``cropped``)."""
        rgb = load_image(image)
        if cropped:
            return rgb, [self.backend.mesh_from_crop(rgb)]
        faces = [f for f in self.backend.detect(rgb) if f.presence >= self.min_face_score]
        return rgb, faces[: self.max_faces]

    def landmarks(self, image: ImageSource, *, cropped: bool = False) -> np.ndarray:
        """The 478 landmarks of every face, (n_faces, 478, 3), image pixels (see `FaceMesh`)."""
        _, faces = self.meshes(image, cropped=cropped)
        if not faces:
            return np.zeros((0, 478, 3), np.float32)
        return np.stack([f.landmarks for f in faces])

    # -- analysis --------------------------------------------------------------------
    def features(
        self, image: np.ndarray, faces: Sequence[FaceMesh], *, cropped: bool = False
    ) -> dict[str, np.ndarray]:
        """Feature blocks of the faces of one RGB image (see `fau.expression.features`)."""
        blocks = mesh_blocks(
            np.stack([f.landmarks for f in faces]) if faces else np.zeros((0, 478, 3)),
            np.stack([f.blendshapes for f in faces]) if faces else np.zeros((0, 52)),
            np.array([f.presence for f in faces]),
        )
        if self._appearance is not None:
            patches = [face_patch(image, f.landmarks, cropped=cropped) for f in faces]
            blocks["appearance"] = self._appearance.logits(
                np.stack(patches) if patches else np.zeros((0, 48, 48), np.uint8)
            )
        return blocks

    def table(
        self, blocks: dict[str, np.ndarray], *, landmarks: bool = False
    ) -> pd.DataFrame:
        """The per-face DataFrame from feature blocks (one row per face).

        The numeric columns are stacked into one float block and the DataFrame built in
        one step (a dict of ~100 one-row columns costs several milliseconds).
        """
        lm = blocks["landmarks"]
        n = len(lm)
        if n:
            lo, hi = lm[:, :, :2].min(axis=1), lm[:, :, :2].max(axis=1)
        else:
            lo = hi = np.zeros((0, 2))
        if self.model is not None and n:
            proba = self.model.predict_proba(self.model.assemble(blocks))
            expression = np.asarray(EXPRESSIONS, dtype=object)[proba.argmax(axis=1)]
        else:
            proba = np.full((n, len(EXPRESSIONS)), np.nan)
            expression = np.full(n, None, dtype=object)
        comp = compound_columns(blocks["au"], proba)
        placeholder = np.zeros((n, 1))  # filled with the text columns below
        numeric = [
            np.arange(n)[:, None], lo, hi - lo, np.asarray(blocks["presence"]).reshape(n, 1),
            blocks["pose"], blocks["au"], proba, placeholder, placeholder,
            np.column_stack([comp["compound_score"], comp["valence"], comp["arousal"]]),
            blocks["blendshapes"],
        ]
        if landmarks:
            numeric.append(lm.transpose(0, 2, 1).reshape(n, 3 * 478))
        names = columns(landmarks)
        values = np.concatenate(
            [np.asarray(v, dtype=np.float64).reshape(n, -1 if n else 0) for v in numeric]
            if n else [np.zeros((0, len(names)))],
            axis=1,
        )
        df = pd.DataFrame(values, columns=names)
        df["face"] = df["face"].astype(np.int64)
        df["expression"] = pd.array(expression, dtype=object)
        df["compound"] = pd.array(comp["compound"], dtype=object)
        return df

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
            A file, encoded bytes, or an ``uint8`` array ``(H, W)`` grey / ``(H, W, 3)`` RGB
            (see `fau.io.load_image`).
        cropped : bool
            The whole image is one face region (e.g. a FER-2013 48×48 crop): the face
            detector is skipped, the landmark model runs on the crop plus a 10% black
            margin, then once more on MediaPipe's tracking crop around those landmarks;
            exactly one row is returned, whatever the face-presence score.
        landmarks : bool
            Add the 478 landmarks as columns ``x_0 … x_477, y_0 …, z_0 …`` (pixels).

        Returns
        -------
        pandas.DataFrame
            One row per face (none: an empty table with the same columns). Columns:
            ``face`` (index in the image), ``face_x, face_y, face_w, face_h`` (tight box
            of the 478 landmarks, pixels), ``face_score`` (landmark model's face
            presence, 0-1), ``pitch, yaw, roll`` (degrees), the AU intensities
            (`fau.au.AU_NAMES`, fractions of the inter-ocular distance),
            expression probabilities ``anger … contempt`` (sum to 1), ``expression``
            (the most probable) and MediaPipe's 52 blendshapes ``bs_*``.

        Raises
        ------
        FauError
            Unreadable, truncated, too small or too large image.
        """
        rgb, faces = self.meshes(image, cropped=cropped)
        return self.table(self.features(rgb, faces, cropped=cropped), landmarks=landmarks)

    def detect_images(
        self, images: Iterable[ImageSource], *, cropped: bool = False
    ) -> pd.DataFrame:
        """`detect_image` over several images; adds an ``input`` column (position or path)."""
        frames = []
        for i, image in enumerate(images):
            df = self.detect_image(image, cropped=cropped)
            df.insert(0, "input", str(image) if not isinstance(image, (np.ndarray, bytes)) else i)
            frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["input"] + columns())
        return pd.concat(frames, ignore_index=True)

    def detect_video(self, path, **kwargs) -> pd.DataFrame:
        """Analyse a video file: one row per face per analysed frame.

        Delegates to `fau.video.detect_video` (same keyword arguments: ``fps``,
        ``start``, ``end``, ...); see there and ``docs/video.md``.

        Examples
        --------
        >>> with fau.Detector() as det:                       # doctest: +SKIP
        ...     df = det.detect_video("interview.mp4", fps=5, start=60, end=120)
        """
        from .video import detect_video

        return detect_video(self, path, **kwargs)

    def explain(self, image: ImageSource, *, cropped: bool = False) -> pd.DataFrame:
        """Why each face got its scores: additive contributions per AU and feature block.

        Returns
        -------
        pandas.DataFrame
            Long table with one row per (face, expression, group): ``face``,
            ``expression``, ``group`` (an AU name, ``head_pose``, ``shape``,
            ``blendshapes`` or ``appearance``), ``contribution`` (to the expression's
            calibrated logit; TreeSHAP values of the XGBoost model, so they sum with
            ``bias`` to the logit), ``bias``, ``logit`` and ``probability``.
        """
        if self.model is None:
            raise FauError("explain() needs an expression model (expression_model=None was given)")
        rgb, faces = self.meshes(image, cropped=cropped)
        blocks = self.features(rgb, faces, cropped=cropped)
        return explain_blocks(self.model, blocks)


def explain_blocks(model: ExpressionModel, blocks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Explanation table (see `Detector.explain`) for already computed feature blocks."""
    cols = ["face", "expression", "group", "contribution", "bias", "logit", "probability"]
    n = len(blocks["landmarks"])
    if n == 0:
        return pd.DataFrame(columns=cols)
    x = model.assemble(blocks)
    contrib, groups, bias = model.contributions(x)
    proba = model.predict_proba(x)
    rows = []
    for f in range(n):
        for k, cls in enumerate(model.classes):
            logit = bias[f, k] + contrib[f, k].sum()
            p = proba[f, EXPRESSIONS.index(cls)]
            for g, name in enumerate(groups):
                rows.append((f, cls, name, contrib[f, k, g], bias[f, k], logit, p))
    return pd.DataFrame(rows, columns=cols)
