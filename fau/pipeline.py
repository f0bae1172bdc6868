"""The one path from face meshes to table rows: feature blocks, scores, columns.

Every caller that turns faces into results goes through this module: images
(`fau.Detector.detect_image`), video files (`fau.video.detect_video`, in chunks through
`RowChunks`), live frames (`fau.video.LiveAnalyzer`), the web service and batch (through
those). The steps::

    FaceMesh list ──mesh_features──► blocks: landmarks, au, pose, shape, blendshapes, presence
    RGB image + meshes ──Pipeline.patches──► 48×48 grey patches ──AppearanceModel──► appearance
    blocks ──Pipeline.table──► DataFrame, one row per face, columns `columns()`
    blocks ──Pipeline.explain──► per-AU / per-block contributions (`fau.expression.explain`)

`Pipeline` owns the models that score faces (the expression model and, when that model
reads it, the appearance CNN). They are loaded on first use, so a pipeline that never
meets a face never imports XGBoost or onnxruntime.
"""

from __future__ import annotations

import logging
import numbers
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd
from pandas.api.internals import create_dataframe_from_blocks

from .au.gaze import GAZE_NAMES
from .au.geometry import AU_NAMES
from .au.occurrence import AU_OCCURRENCE_NAMES, au_occurrence
from .errors import FauError
from .expression.compound import COMPOUND_COLUMNS, compound_columns
from .expression.features import POSE_NAMES, check_blocks, mesh_blocks
from .expression.labels import EXPRESSIONS
from .landmarks.base import BLENDSHAPE_NAMES, N_LANDMARKS, FaceMesh
from .resources import DEFAULT_EXPRESSION_MODEL, check_expression_model, expression_model_path

if TYPE_CHECKING:  # pragma: no cover
    from .expression.appearance import AppearanceModel
    from .expression.model import ExpressionModel

__all__ = [
    "Pipeline",
    "check_num_threads",
    "PendingAppearance",
    "RowChunks",
    "Blocks",
    "mesh_features",
    "concat_blocks",
    "columns",
    "face_table",
    "FACE_COLUMNS",
    "BOX_COLUMNS",
    "BLENDSHAPE_COLUMNS",
    "TEXT_COLUMNS",
    "TEXT_DTYPE",
]

log = logging.getLogger(__name__)

#: Feature blocks of n faces, by name (see `fau.expression.features`).
Blocks = dict[str, np.ndarray]

#: The face box (pixels: left, top, width, height of the landmarks' tight box) and the
#: landmark model's face-presence score (0-1).
BOX_COLUMNS: tuple[str, ...] = ("face_x", "face_y", "face_w", "face_h", "face_score")
#: MediaPipe's 52 blendshape scores (0-1), prefixed ``bs_``.
BLENDSHAPE_COLUMNS: tuple[str, ...] = tuple(f"bs_{n}" for n in BLENDSHAPE_NAMES)
#: Columns of every face row, in order.
FACE_COLUMNS: tuple[str, ...] = (
    ("face",)
    + BOX_COLUMNS
    + POSE_NAMES
    + GAZE_NAMES
    + AU_NAMES
    + AU_OCCURRENCE_NAMES
    + EXPRESSIONS
    + ("expression",)
    + COMPOUND_COLUMNS
    + BLENDSHAPE_COLUMNS
)
#: The text columns of a face row. Their dtype is `TEXT_DTYPE` in every table (empty
#: ones too); a missing value (no expression model, no compound above its threshold) is
#: ``pd.NA``.
TEXT_COLUMNS: tuple[str, ...] = ("expression", "compound")
#: pandas' nullable string dtype (missing = ``pd.NA``; written as an empty CSV cell, a
#: JSON null, a Parquet null).
TEXT_DTYPE = "string"
#: Side of the appearance patch (px), as FER-2013 (see `fau.expression.appearance`).
_PATCH_SIDE = 48
#: Appearance logits per face: 7 FER-2013 + 8 FER+ (see `fau.expression.appearance`).
_N_APPEARANCE = 15


def _gaze(blocks: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """The ``gaze`` block (yaw, pitch in degrees), NaN for blocks made without it."""
    g = blocks.get("gaze")
    return np.full((n, 2), np.nan) if g is None else np.asarray(g).reshape(n, 2)


def _placement(names: Sequence[str]) -> dict[str, np.ndarray]:
    """Column positions of a face table's blocks: ``face``, the two text columns and
    every other (float) column, as `create_dataframe_from_blocks` takes them."""
    single = {k: np.array([names.index(k)], dtype=np.intp) for k in ("face",) + TEXT_COLUMNS}
    taken = {int(v[0]) for v in single.values()}
    single["float"] = np.array([i for i in range(len(names)) if i not in taken], dtype=np.intp)
    for v in single.values():
        v.flags.writeable = False  # shared by every table (`_layout`)
    return single


@lru_cache(maxsize=2)
def _layout(landmarks: bool) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """The column Index and `_placement` of a face table, made once per ``landmarks``
    (0.15-0.2 ms a table otherwise; both are immutable)."""
    names = columns(landmarks)
    return pd.Index(names), _placement(names)


def columns(landmarks: bool = False) -> list[str]:
    """Column names of a face table (`Pipeline.table`, `fau.Detector.detect_image`).

    Parameters
    ----------
    landmarks : bool
        Add ``x_0 … x_477, y_0 … y_477, z_0 … z_477`` (pixels).

    Returns
    -------
    list of str
        The column names in table order.
    """
    cols = list(FACE_COLUMNS)
    if landmarks:
        cols += [f"{a}_{i}" for a in "xyz" for i in range(N_LANDMARKS)]
    return cols


def face_table(floats: np.ndarray, face: np.ndarray, expression: np.ndarray,
               compound: np.ndarray, *, landmarks: bool = False,
               front: Sequence[tuple[str, np.ndarray]] = ()) -> pd.DataFrame:
    """A face table (`Pipeline.table`'s columns and dtypes) from its parts, without copies.

    Parameters
    ----------
    floats : ndarray (n, k) float64 or float32
        The float columns of `columns(landmarks)` (all but ``face``, ``expression`` and
        ``compound``), in that order (`Pipeline.table_arrays`); used as the table's
        float block as it is (a view of it is fine), in its own dtype when that is
        float32 or float64 (other dtypes become float64).
    face : ndarray (n,) int64
    expression, compound : ndarray (n,) object
        Text (str) or None where missing.
    landmarks : bool
        Whether ``floats`` holds the landmark columns.
    front : sequence of (name, ndarray (n,))
        Columns put first, in this order (e.g. a video's ``frame``, ``timestamp``).

    Notes
    -----
    Built with `pandas.api.internals.create_dataframe_from_blocks` (pandas ≥ 3.0): each
    part is one block of the frame, so nothing is copied and no block is split.
    """
    index, place = _layout(bool(landmarks))
    shift = len(front)
    n = len(face)
    floats = np.asarray(floats)
    if floats.dtype not in (np.float32, np.float64):
        floats = floats.astype(np.float64)
    parts = [
        (floats.reshape(n, len(place["float"])).T,
         place["float"] + shift),
        (np.asarray(face, dtype=np.int64).reshape(1, n), place["face"] + shift),
        (pd.array(expression, dtype=TEXT_DTYPE), place["expression"] + shift),
        (pd.array(compound, dtype=TEXT_DTYPE), place["compound"] + shift),
    ]
    for i, (_, values) in enumerate(front):
        values = np.asarray(values)
        parts.append((values.reshape(1, n), np.array([i], dtype=np.intp)))
    cols = index if not front else pd.Index([c for c, _ in front]).append(index)
    return create_dataframe_from_blocks(parts, index=pd.RangeIndex(n), columns=cols)


def mesh_features(meshes: Sequence[FaceMesh]) -> Blocks:
    """The mesh-derived feature blocks of a list of faces (`mesh_blocks` on a batch).

    Returns
    -------
    dict
        ``landmarks`` (n, 478, 3) pixels, ``au`` (n, len(AU_NAMES)) fractions of the
        inter-ocular distance, ``pose`` (n, 3) degrees, ``shape`` (n, 1404),
        ``blendshapes`` (n, 52), ``presence`` (n,); see `fau.expression.features`.
    """
    if not meshes:
        return mesh_blocks(np.zeros((0, N_LANDMARKS, 3)), np.zeros((0, 52)), np.zeros(0))
    return mesh_blocks(
        np.stack([m.landmarks for m in meshes]),
        np.stack([m.blendshapes for m in meshes]),
        np.array([m.presence for m in meshes], dtype=np.float64),
    )


def concat_blocks(parts: Sequence[Mapping[str, np.ndarray]]) -> Blocks:
    """Feature blocks of several batches of faces, stacked in order (same keys each)."""
    if not parts:
        raise ValueError("concat_blocks needs at least one batch")
    return {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}


@dataclass(frozen=True)
class PendingAppearance:
    """The appearance CNN's logits of one image's faces, started by
    `Pipeline.start_appearance` (arrays, or futures of them on the pipeline's thread)."""

    #: Faces the logits are for.
    faces: int
    #: Logits (n_i, 15) or futures of them, in face order; empty without a CNN.
    parts: tuple[Future | np.ndarray, ...]


def check_num_threads(num_threads: object) -> None:
    """`FauError` unless ``num_threads`` is None or a whole number >= 1 (the check of
    `Pipeline` and `fau.Detector`; 0, -2, 2.5 and "2" were accepted or failed later)."""
    if num_threads is not None and (not isinstance(num_threads, numbers.Integral)
                                    or isinstance(num_threads, bool) or num_threads < 1):
        raise FauError(f"num_threads must be None or a whole number of at least 1, got "
                       f"{num_threads!r}")


class Pipeline:
    """Feature blocks, expression scores and table rows of faces.

    Parameters
    ----------
    expression_model : str or None
        A bundled model of `fau.resources.EXPRESSION_MODELS` (default ``"ferplus"``), or
        None: no expression scores (the probability columns are NaN, ``expression`` and
        ``compound`` NA).
    num_threads : int or None
        Threads of the appearance CNN. None: one thread for the one-graph CNN, or, where
        at least `fau.expression.appearance.MEMBER_POOL_MIN_CORES` cores are usable, its
        four networks at the same time on four (``AppearanceModel(members="auto")``:
        the same logits in less wall time). An integer: the one graph on that many
        onnxruntime threads (with ``appearance_thread`` two cost more wall time than
        one, as the calling thread works meanwhile: docs/benchmarks.md, "Image speed").
    appearance_thread : bool
        `features` and `analyse` run the appearance CNN on a thread of its own (started
        on first use, stopped by `close`) while the calling thread computes the mesh
        blocks and (`analyse`) the movements booster (onnxruntime releases the GIL).

    Notes
    -----
    The model file is checked when the pipeline is made (a missing file raises
    `FauError` at once); it is read, and onnxruntime imported, on the first
    face (XGBoost only for `explain`). A pipeline is not thread-safe: give each thread
    its own (as `fau.Detector`).
    """

    def __init__(
        self, expression_model: str | None = DEFAULT_EXPRESSION_MODEL, *,
        num_threads: int | None = None, appearance_thread: bool = False,
    ) -> None:
        check_num_threads(num_threads)
        self.expression_model_name = check_expression_model(expression_model)
        self._model_path = (
            None if self.expression_model_name is None
            else expression_model_path(self.expression_model_name)
        )
        self.num_threads = num_threads
        self._model: ExpressionModel | None = None
        self._appearance: AppearanceModel | None = None
        self._lock = threading.Lock()
        self.appearance_thread = bool(appearance_thread)
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"Pipeline(expression_model={self.expression_model_name!r})"

    def close(self) -> None:
        """Stop the appearance thread, if one was started (the models stay usable)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._appearance is not None:
            self._appearance.close()

    # -- models ----------------------------------------------------------------------
    def _load(self) -> None:
        with self._lock:
            if self._model is not None or self._model_path is None:
                return
            from .expression.model import ExpressionModel

            model = ExpressionModel.load(self._model_path)
            if model.uses_appearance:
                from .expression.appearance import AppearanceModel

                self._appearance = AppearanceModel(
                    num_threads=self.num_threads or 1,
                    members="auto" if self.num_threads is None else False)
            self._model = model

    @property
    def model(self) -> ExpressionModel | None:
        """The expression model (loaded on first access), or None without one."""
        if self._model is None and self._model_path is not None:
            self._load()
        return self._model

    @property
    def appearance(self) -> AppearanceModel | None:
        """The appearance CNN when the expression model reads it, else None."""
        return self._appearance if self.model is not None else None

    # -- features --------------------------------------------------------------------
    @staticmethod
    def patches(image: np.ndarray, meshes: Sequence[FaceMesh], *, cropped: bool = False
                ) -> np.ndarray:
        """The appearance CNN's 48×48 grey ``uint8`` patches of the faces, (n, 48, 48)."""
        if not meshes:
            return np.zeros((0, _PATCH_SIDE, _PATCH_SIDE), np.uint8)
        from .expression.appearance import face_patch

        return np.stack([face_patch(image, m.landmarks, cropped=cropped) for m in meshes])

    def appearance_logits(self, patches: np.ndarray) -> np.ndarray:
        """Appearance block (n, 15) of `patches` (zero-width when the model reads none)."""
        app = self.appearance
        if app is None or len(patches) == 0:
            return np.zeros((len(patches), _N_APPEARANCE if app else 0), np.float32)
        return app.logits(patches)

    def _patch_logits(self, image: np.ndarray, meshes: Sequence[FaceMesh], cropped: bool
                      ) -> np.ndarray:
        return self.appearance_logits(self.patches(image, meshes, cropped=cropped))

    def features(self, image: np.ndarray, meshes: Sequence[FaceMesh], *,
                 cropped: bool = False) -> Blocks:
        """All feature blocks of the faces of one RGB image, (n, ...) each.

        The mesh blocks of `mesh_features`, plus ``appearance`` (n, 15) when the
        expression model reads it. ``cropped``: the image is one face crop (its patch is
        the whole image, see `fau.expression.appearance.face_patch`).

        Parameters
        ----------
        image : ndarray
            The RGB ``uint8`` image ``(H, W, 3)`` the faces were found in.
        meshes : sequence of FaceMesh
            Its face meshes (`fau.landmarks.FaceMesh`, e.g. from `fau.Detector.meshes`).
        cropped : bool
            The image is one face crop: its whole area is each face's appearance patch.

        Returns
        -------
        dict of str to ndarray
            The feature blocks, one row per face.
        """
        return self._blocks(image, meshes, cropped=cropped, margins=False)[0]

    def analyse(self, image: np.ndarray, meshes: Sequence[FaceMesh], *,
                cropped: bool = False, landmarks: bool = False,
                appearance: PendingAppearance | None = None) -> tuple[pd.DataFrame, Blocks]:
        """The face table of one RGB image's faces and the feature blocks it was made from.

        The same rows as ``table(features(image, meshes, cropped=cropped))``; with the
        CNN on its own thread (``appearance_thread``) and a late-fusion model the
        movements booster runs while the CNN does
        (`fau.expression.model.ExpressionModel.movement_margins`), instead of after it.
        ``appearance``: what `start_appearance` returned for this image and these faces
        (their landmarks; the blendshapes may have been measured since), so that the CNN
        began before the caller's last steps. The blocks serve `explain`.

        Parameters
        ----------
        image : ndarray
            The RGB ``uint8`` image ``(H, W, 3)`` the faces were found in.
        meshes : sequence of FaceMesh
            Its face meshes (`fau.landmarks.FaceMesh`, e.g. from `fau.Detector.meshes`).
        cropped : bool
            The image is one face crop: its whole area is each face's appearance patch.
        landmarks : bool
            Add the 478 landmarks as columns ``x_0 … z_477`` (pixels).
        appearance : PendingAppearance or None
            What `start_appearance` returned for this image and these faces; None: the
            CNN is started here.

        Returns
        -------
        tuple of pandas.DataFrame and dict of str to ndarray
            The face table (as `table`) and its feature blocks.
        """
        blocks, margins = self._blocks(image, meshes, cropped=cropped, margins=True,
                                       appearance=appearance)
        return self.table(blocks, landmarks=landmarks, margins=margins), blocks

    def start_appearance(self, image: np.ndarray, meshes: Sequence[FaceMesh], *,
                         cropped: bool = False) -> PendingAppearance:
        """Start the appearance CNN on the faces of one RGB image, for `analyse`.

        The CNN reads only the image and the landmarks, so it can start before a face's
        blendshapes are measured (`fau.landmarks.StagedBackend`; ``meshes`` may have
        ``blendshapes=None`` here). With ``appearance_thread`` it runs on the pipeline's
        thread meanwhile; without it, or without a model that reads it, the logits are
        computed (or skipped) at once. The image must not change until `analyse`.

        Parameters
        ----------
        image : ndarray
            The RGB ``uint8`` image ``(H, W, 3)`` the faces were found in.
        meshes : sequence of FaceMesh
            Its face meshes; their ``blendshapes`` may still be None.
        cropped : bool
            The image is one face crop: its whole area is each face's appearance patch.

        Returns
        -------
        PendingAppearance
            The CNN's logits or their future, for `analyse`'s ``appearance``.
        """
        _check_faces(image, meshes, blendshapes=False)
        parts: list[Future | np.ndarray] = []
        if meshes and self.appearance is not None:
            if self.appearance_thread:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1,
                                                    thread_name_prefix="fau-appearance")
                # the patches are cut there too (0.2 ms a face off the calling thread)
                parts.append(self._pool.submit(self._patch_logits, image, list(meshes),
                                               cropped))
            else:
                parts.append(self._patch_logits(image, meshes, cropped))
        return PendingAppearance(len(meshes), tuple(parts))

    def _blocks(self, image: np.ndarray, meshes: Sequence[FaceMesh], *, cropped: bool,
                margins: bool, appearance: PendingAppearance | None = None
                ) -> tuple[Blocks, np.ndarray | None]:
        """`features`, and (``margins``) the booster's margins when computed meanwhile."""
        _check_faces(image, meshes)
        if appearance is None:
            appearance = self.start_appearance(image, meshes, cropped=cropped)
        elif not isinstance(appearance, PendingAppearance) or appearance.faces != len(meshes):
            got = (f"one for {appearance.faces} faces"
                   if isinstance(appearance, PendingAppearance) else type(appearance).__name__)
            raise FauError(f"appearance must be what start_appearance returned for these "
                           f"{len(meshes)} faces, got {got}")
        blocks = mesh_features(meshes)
        return blocks, self._join_appearance(blocks, appearance.parts, margins=margins)

    def _join_appearance(self, blocks: Blocks, logits: Sequence[Future | np.ndarray], *,
                         margins: bool = True) -> np.ndarray | None:
        """Put the CNN's logits (arrays, or futures of them, in face order) into
        ``blocks["appearance"]``; none given: nothing is added.

        While any of them is a future (the CNN on another thread) and ``margins`` is
        true, the movements booster of a late-fusion model runs first, on the mesh
        blocks alone; its margins are returned for `table` / `scores` (else None).
        """
        if not logits:
            return None
        found = None
        if margins and self.model is not None and any(isinstance(r, Future) for r in logits):
            found = self.model.movement_margins(blocks)
        blocks["appearance"] = np.concatenate(
            [r.result() if isinstance(r, Future) else r for r in logits], axis=0)
        return found

    # -- rows ------------------------------------------------------------------------
    def scores(self, blocks: Mapping[str, np.ndarray], margins: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Expression probabilities (n, 8; `EXPRESSIONS` order) and the most probable name.

        Without an expression model (or faces): NaN probabilities and NA names.
        ``margins``: the booster's margins of these blocks, when already computed
        (`Pipeline.analyse`).
        """
        n = len(blocks["landmarks"])
        model = self.model if n else None
        if model is None:
            return np.full((n, len(EXPRESSIONS)), np.nan), np.full(n, None, dtype=object)
        proba = model.predict_proba(model.assemble(dict(blocks)), margins)
        return proba, np.asarray(EXPRESSIONS, dtype=object)[proba.argmax(axis=1)]

    def table(self, blocks: Mapping[str, np.ndarray], *, landmarks: bool = False,
              margins: np.ndarray | None = None) -> pd.DataFrame:
        """One DataFrame row per face of ``blocks``; columns `columns(landmarks)`.

        Dtypes: ``face`` int64; ``expression`` and ``compound`` `TEXT_DTYPE` (NA where
        missing); every other column float64. The DataFrame is made from its four
        blocks at once (`face_table`): 0.05 ms for a one-face table against 1.6-1.9 ms
        for a float frame whose ``face`` and text columns are set afterwards (measured
        at load average 18; docs/benchmarks.md, "Image speed"). ``margins`` as in
        `scores`.

        Parameters
        ----------
        blocks : mapping of str to ndarray
            Feature blocks from `features` or `analyse`.
        landmarks : bool
            Add the 478 landmarks as columns ``x_0 … z_477`` (pixels).
        margins : ndarray or None
            The movements booster's margins of these blocks, when already computed.

        Returns
        -------
        pandas.DataFrame
            One row per face (`fau.Detector.detect_image`'s table).
        """
        check_blocks(blocks, "Pipeline.table")
        floats, expression, compound = self.table_arrays(blocks, landmarks=landmarks,
                                                         margins=margins)
        n = len(floats)
        return face_table(floats, np.arange(n, dtype=np.int64), expression, compound,
                          landmarks=landmarks)

    def table_arrays(self, blocks: Mapping[str, np.ndarray], *, landmarks: bool = False,
                     margins: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The values of `table`'s rows: its float columns (n, k) float64, in the order of
        `columns(landmarks)` without ``face``, ``expression`` and ``compound``, and
        those two text columns (object arrays: str, or None where missing); ``margins``
        as in `scores`."""
        lm = blocks["landmarks"]
        n = len(lm)
        if n:
            lo, hi = lm[:, :, :2].min(axis=1), lm[:, :, :2].max(axis=1)
        else:
            lo = hi = np.zeros((0, 2))
        proba, expression = self.scores(blocks, margins)
        comp = compound_columns(blocks["au"], proba)
        numeric = [
            lo, hi - lo, np.asarray(blocks["presence"]).reshape(n, 1),
            blocks["pose"], _gaze(blocks, n), blocks["au"], au_occurrence(blocks["au"]), proba,
            np.column_stack([comp["compound_score"], comp["valence"], comp["arousal"]]),
            blocks["blendshapes"],
        ]
        if landmarks:
            numeric.append(lm.transpose(0, 2, 1).reshape(n, 3 * N_LANDMARKS))
        floats = np.concatenate(
            [np.asarray(v, dtype=np.float64).reshape(n, -1 if n else 0) for v in numeric]
            if n else [np.zeros((0, len(_placement(columns(landmarks))["float"])))],
            axis=1,
        )
        return floats, np.asarray(expression, dtype=object), np.asarray(comp["compound"],
                                                                        dtype=object)

    def empty_table(self, *, landmarks: bool = False) -> pd.DataFrame:
        """A face table with no rows (the same columns and dtypes as `table`).

        Parameters
        ----------
        landmarks : bool
            Include the 478 landmark columns.

        Returns
        -------
        pandas.DataFrame
            No rows, `columns(landmarks)`.
        """
        return self.table(mesh_features([]), landmarks=landmarks)

    def explain(self, blocks: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """Per-AU and per-block contributions (`fau.expression.explain.explain_blocks`).

        Parameters
        ----------
        blocks : mapping of str to ndarray
            Feature blocks from `features` or `analyse`.

        Returns
        -------
        pandas.DataFrame
            The long table of `fau.Detector.explain`.

        Raises
        ------
        FauError
            The pipeline has no expression model.
        """
        check_blocks(blocks, "Pipeline.explain")
        if self.model is None:
            raise FauError("explanations need an expression model (expression_model=None "
                           "was given)")
        from .expression.explain import explain_blocks

        return explain_blocks(self.model, blocks)


class RowChunks:
    """Face rows of many frames, built in chunks: one model call per chunk, one table.

    Each `add` keeps a frame's meshes and cuts its appearance patches (the pixels are
    not kept); the CNN runs at once or, given an ``executor``, on its thread while the
    caller goes on. `flush` turns what was added into rows (mesh blocks computed on the
    batch: 0.34 ms instead of 1.5 ms per face, measured in ``benchmarks/bench_video.py``)
    and writes their float values into one growing array; `result` makes the table
    around that array (`face_table`), so the rows are held once: an hour of 30-fps
    video with one face is ~110 MB of face columns, which a concatenation of per-chunk
    tables would hold twice at its end.

    Parameters
    ----------
    pipeline : Pipeline
    index : sequence of (name, dtype)
        Per-row columns the caller gives with each face (e.g. ``frame``, ``timestamp``,
        ``track_id``, ``face``). ``face`` replaces the face table's own (int64); other
        names are put first, in this order (a face column's name other than ``face``
        is refused).
    landmarks : bool
        Add the 478 landmarks as columns (see `columns`).
    executor : concurrent.futures.Executor or None
        Runs the appearance CNN (a one-thread pool overlaps it with the next frame's
        landmarks: LiteRT and onnxruntime release the GIL).
    float_dtype : numpy dtype
        Dtype of the table's float columns: float64 (as `Pipeline.table`) or float32,
        which halves the rows' memory (an hour of 30-fps video with one face: 80 MB
        instead of 160 MB); the values are `Pipeline.table_arrays`' float64 ones
        rounded to float32 (a relative error of at most 6e-8). Index columns keep
        their own dtypes (a video's ``timestamp`` stays float64).
    """

    #: Rows the float array first holds; it doubles when full (`reserve` sets it).
    START_ROWS = 4096

    def __init__(self, pipeline: Pipeline, index: Sequence[tuple[str, type]], *,
                 landmarks: bool = False, executor: Executor | None = None,
                 float_dtype: type | np.dtype = np.float64) -> None:
        self.pipeline = pipeline
        self.index = tuple(index)
        taken = [n for n, _ in self.index if n in FACE_COLUMNS and n != "face"]
        if taken:
            raise ValueError(f"index columns may not replace face columns: {taken}")
        self.landmarks = landmarks
        self.executor = executor
        self._appearance = pipeline.appearance
        self._meshes: list[FaceMesh] = []
        self._logits: list[Future | np.ndarray] = []
        self._keys: list[tuple] = []
        self.float_dtype = np.dtype(float_dtype)
        if self.float_dtype not in (np.float32, np.float64):
            raise ValueError(f"float_dtype must be float32 or float64, got {self.float_dtype}")
        self._width = len(_placement(columns(landmarks))["float"])
        self._floats = np.empty((0, self._width), self.float_dtype)
        self._rows = 0
        self._texts: list[tuple[np.ndarray, np.ndarray]] = []
        self._index_parts: list[list[np.ndarray]] = []

    def __len__(self) -> int:
        """Faces added since the last `flush`."""
        return len(self._meshes)

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` rows in all (memory is committed only as rows come)."""
        if rows > len(self._floats):
            grown = np.empty((int(rows), self._width), self.float_dtype)
            grown[: self._rows] = self._floats[: self._rows]
            self._floats = grown

    def add(self, image: np.ndarray, meshes: Sequence[FaceMesh], keys: Sequence[tuple]) -> None:
        """Add the faces of one frame; ``keys[i]`` holds face i's ``index`` values."""
        if len(keys) != len(meshes):
            raise ValueError("one key tuple per face is needed")
        if not meshes:
            return
        self._meshes.extend(meshes)
        self._keys.extend(tuple(k) for k in keys)
        if self._appearance is not None:
            patches = Pipeline.patches(image, meshes)
            self._logits.append(self.executor.submit(self.pipeline.appearance_logits, patches)
                                if self.executor is not None
                                else self.pipeline.appearance_logits(patches))

    def flush(self) -> None:
        """Turn the faces added so far into rows (kept for `result`)."""
        if not self._meshes:
            return
        blocks = mesh_features(self._meshes)
        margins = self.pipeline._join_appearance(blocks, self._logits)
        floats, expression, compound = self.pipeline.table_arrays(
            blocks, landmarks=self.landmarks, margins=margins)
        n = len(floats)
        if self._rows + n > len(self._floats):
            self.reserve(max(2 * len(self._floats), self._rows + n, self.START_ROWS))
        self._floats[self._rows : self._rows + n] = floats
        self._rows += n
        self._texts.append((expression, compound))
        self._index_parts.append([np.asarray(v, dtype=d) for (_, d), v in
                                  zip(self.index, zip(*self._keys))])
        self._meshes.clear()
        self._logits.clear()
        self._keys.clear()

    def result(self) -> pd.DataFrame:
        """Every row added (after a final `flush`), or an empty table with the columns:
        the index columns that are not face columns first, then `columns(landmarks)`.

        The rows are handed over: a second call returns only rows added since.
        """
        self.flush()
        n = self._rows
        index = [np.concatenate(col) if col else np.zeros(0, d) for col, (_, d) in
                 zip(zip(*self._index_parts) if self._index_parts else [()] * len(self.index),
                     self.index)]
        texts = [np.concatenate(t) if t else np.zeros(0, object)
                 for t in (zip(*self._texts) if self._texts else ((), ()))]
        named = dict(zip((name for name, _ in self.index), index))
        face = named.pop("face", np.arange(n, dtype=np.int64))
        table = face_table(self._floats[:n], face, texts[0], texts[1],
                           landmarks=self.landmarks, front=list(named.items()))
        self._floats, self._rows = np.empty((0, self._width), self.float_dtype), 0
        self._texts, self._index_parts = [], []
        return table


def _check_faces(image: object, meshes: object, *, blendshapes: bool = True) -> None:
    """`FauError` unless ``image`` is an RGB ``uint8`` array and ``meshes`` a sequence of
    `FaceMesh` (what `fau.Detector.meshes` returns), with their blendshapes measured
    when ``blendshapes``; a few type checks per call."""
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3):
        what = (f"an array of shape {image.shape} and dtype {image.dtype}"
                if isinstance(image, np.ndarray) else type(image).__name__)
        raise FauError("the pipeline takes an RGB uint8 image (H, W, 3), e.g. from "
                       f"fau.load_image, got {what}")
    if isinstance(meshes, (str, bytes)) or not isinstance(meshes, Sequence):
        raise FauError("the pipeline takes a list of FaceMesh (fau.Detector.meshes or a "
                       f"landmark backend), got {type(meshes).__name__}")
    wrong = sorted({type(m).__name__ for m in meshes if not isinstance(m, FaceMesh)})
    if wrong:
        raise FauError("the pipeline takes a list of FaceMesh (fau.Detector.meshes or a "
                       f"landmark backend), got a list holding {', '.join(wrong)}")
    if blendshapes and any(m.blendshapes is None for m in meshes):
        raise FauError("these faces were measured without their blendshapes "
                       "(blendshapes=False): measure them first, with "
                       "fau.landmarks.with_blendshapes(backend, meshes)")
