"""The gradient-boosted expression model: load, score, explain.

A model file (``fau/models/expression_<name>.npz``, no pickle) holds an XGBoost booster
(UBJSON bytes) and the same trees compiled for onnxruntime (`fau.expression.trees`: they
score the faces; the booster gives the TreeSHAP explanations), the feature blocks it
reads, the PCA basis of the ``shape`` block, the softmax temperature fitted on FER-2013
PublicTest, per-class logit offsets (logit adjustment against the training set's class
priors; Menon et al., "Long-tail learning via logit adjustment", ICLR 2021) and its
provenance. Bundled files are digest-checked when they are loaded
(`fau.expression.model_files`).

The appearance CNN's logits enter a model in one of two ways: as features of the booster
(stacking: the trees read them, which needs out-of-fold CNN logits for every training
row), or, when the file has ``appearance_weights``, as a linear term added to the
booster's calibrated logits (late fusion: the booster reads the movement blocks only,
and ``logit = margin / temperature + appearance_weights @ cnn_logits + offset``, the
weights fitted on PublicTest; the appearance part of an explanation is then exactly
that term).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..au.geometry import AU_NAMES
from ..errors import FauError
from ..landmarks.base import BLENDSHAPE_NAMES
from .features import POSE_NAMES
from .labels import EXPRESSIONS
from .model_files import is_bundled, read_checked
from .trees import TreeMargins, check_agreement, compile_trees, trees_compiler

__all__ = [
    "ExpressionModel", "LazyBooster", "block_columns", "explanation_group", "APPEARANCE_NAMES",
    "LEGACY_AU_NAMES", "APPEARANCE_GROUPS",
]

#: Appearance block: logits of the bundled CNN (7 FER-2013 heads, 8 FER+ heads).
APPEARANCE_NAMES: tuple[str, ...] = tuple(
    [f"cnn_fer2013_{c}" for c in EXPRESSIONS[:7]] + [f"cnn_ferplus_{c}" for c in EXPRESSIONS]
)


#: The AU columns of model files written before they recorded their own (format 1): the
#: 21 AUs of fau 0.1.0, in that release's `AU_NAMES` order.
LEGACY_AU_NAMES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
    "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
    "AU12_L", "AU12_R", "AU14_L", "AU14_R",
)


def block_columns(
    block: str, n_shape: int = 0, au_names: tuple[str, ...] | None = None
) -> list[str]:
    """Feature names of a block, in the order the model reads them.

    ``au_names`` are the AU columns a model reads (default: every `AU_NAMES`).
    """
    if block == "au":
        return list(AU_NAMES if au_names is None else au_names)
    if block == "pose":
        return list(POSE_NAMES)
    if block == "shape":
        return [f"shape_pc{i:02d}" for i in range(n_shape)]
    if block == "blendshapes":
        return [f"bs_{n}" for n in BLENDSHAPE_NAMES]
    if block == "appearance":
        return list(APPEARANCE_NAMES)
    raise ValueError(f"unknown feature block {block!r}")


#: Explanation groups that are appearance (texture of the face patch); every other group
#: (each AU, ``head_pose``, ``shape``, ``blendshapes``) is a measured movement of the mesh.
APPEARANCE_GROUPS: frozenset[str] = frozenset({"appearance"})


def explanation_group(name: str) -> str:
    """Explanation group of a feature: each AU alone, other blocks as a whole."""
    if name in AU_NAMES:
        return name
    if name in POSE_NAMES:
        return "head_pose"
    if name.startswith("shape_"):
        return "shape"
    if name.startswith("bs_"):
        return "blendshapes"
    if name.startswith("cnn_"):
        return "appearance"
    return name


class LazyBooster:
    """An XGBoost booster read from its UBJSON bytes on first use.

    A model file's faces are scored by its compiled trees (`fau.expression.trees`), so
    XGBoost (0.24 s to import on the 2-core guest) and its booster (0.05 s to read for
    ``ferplus``, 0.28 s for ``fer2013``) are needed only for explanations (TreeSHAP) and
    by the training scripts. Every attribute, and slicing, is the booster's.
    """

    def __init__(self, raw: bytes, source: str = "") -> None:
        self._raw = raw
        self._source = source
        self._booster: object | None = None

    def load(self) -> object:
        """The ``xgboost.Booster`` (read on the first call; one thread)."""
        if self._booster is None:
            import xgboost as xgb

            booster = xgb.Booster()
            try:
                booster.load_model(bytearray(self._raw))
            except (OSError, ValueError) as exc:  # XGBoostError is a ValueError
                raise FauError(f"cannot load the booster of expression model "
                               f"{self._source!r}: {exc}") from None
            booster.set_param({"nthread": 1})
            self._booster = booster
        return self._booster

    @property
    def loaded(self) -> bool:
        """Whether XGBoost has read the booster yet."""
        return self._booster is not None

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):  # not the booster's: copy/pickle probes, before __init__
            raise AttributeError(name)
        return getattr(self.load(), name)

    def __getitem__(self, key: object) -> object:
        return self.load()[key]  # type: ignore[index]


@dataclass
class ExpressionModel:
    """XGBoost expression classifier over fau's feature blocks.

    Attributes
    ----------
    booster : xgboost.Booster or LazyBooster
        ``multi:softprob`` over ``classes`` (a file's is read by XGBoost only when
        first used: `LazyBooster`).
    classes : tuple of str
        The model's classes (7 for FER-2013, 8 for FER+), a subset of `EXPRESSIONS`.
    blocks : tuple of str
        Feature blocks read, in order (see `fau.expression.features`).
    shape_mean, shape_components : ndarray or None
        PCA basis of the ``shape`` block.
    temperature : float
        Softmax temperature (fitted on PublicTest; 1 = uncalibrated).
    info : dict
        Provenance: training command, data, metrics.
    au_names : tuple of str
        The AU columns the ``au`` block feeds the model, by name (picked out of the
        `AU_NAMES`-ordered ``au`` block, so a model keeps working when fau adds AUs).
    logit_offsets : ndarray, (n_classes,)
        Added to every calibrated logit (0: none). Logit adjustment
        ``-tau * log(prior)`` lifts classes that are rare in the training labels.
    appearance_weights : ndarray, (n_classes, 15), optional
        Late fusion (see module docs): the booster does not read the ``appearance``
        block; its 15 CNN logits are added to the calibrated logits through this matrix
        (logit units per CNN logit unit). None: the booster reads every block.
    trees : TreeMargins, optional
        The booster compiled for onnxruntime (`fau.expression.trees`), which computes the
        margins when present (a file written by `save` has it; a model built in memory
        or read from a format-3 file scores with the booster itself).
    """

    booster: object
    classes: tuple[str, ...]
    blocks: tuple[str, ...]
    shape_mean: np.ndarray | None = None
    shape_components: np.ndarray | None = None
    temperature: float = 1.0
    info: dict = field(default_factory=dict)
    au_names: tuple[str, ...] = AU_NAMES
    logit_offsets: np.ndarray | None = None
    appearance_weights: np.ndarray | None = None
    trees: TreeMargins | None = None

    def __setattr__(self, name: str, value: object) -> None:
        # Compiled trees are the booster's: a booster set later (a training script's,
        # a cut one) makes them stale, so the model scores with the new booster itself.
        if name == "booster" and "trees" in self.__dict__:
            object.__setattr__(self, "trees", None)
        object.__setattr__(self, name, value)

    def __post_init__(self) -> None:
        offsets = np.zeros(len(self.classes)) if self.logit_offsets is None else self.logit_offsets
        self.logit_offsets = np.asarray(offsets, dtype=np.float64).reshape(len(self.classes))
        if self.appearance_weights is not None:
            if "appearance" not in self.blocks:
                raise FauError("appearance_weights given for a model without the appearance block")
            self.appearance_weights = np.asarray(self.appearance_weights, dtype=np.float64
                                                 ).reshape(len(self.classes), len(APPEARANCE_NAMES))
        missing = [a for a in self.au_names if a not in AU_NAMES]
        if missing:
            raise FauError(f"expression model reads AUs this fau does not measure: {missing}")
        self._au_index = np.array([AU_NAMES.index(a) for a in self.au_names], dtype=np.intp)

    # -- features --------------------------------------------------------------------
    @property
    def n_shape(self) -> int:
        return 0 if self.shape_components is None else int(self.shape_components.shape[0])

    @property
    def feature_names(self) -> list[str]:
        names: list[str] = []
        for b in self.blocks:
            names += block_columns(b, self.n_shape, self.au_names)
        return names

    @property
    def uses_appearance(self) -> bool:
        return "appearance" in self.blocks

    @property
    def late_fusion(self) -> bool:
        """True when the CNN logits enter linearly (`appearance_weights`), not as trees."""
        return self.appearance_weights is not None

    @property
    def booster_feature_names(self) -> list[str]:
        """The columns the booster reads: every feature, or all but the appearance block."""
        names: list[str] = []
        for b in self.blocks:
            if not (self.late_fusion and b == "appearance"):
                names += block_columns(b, self.n_shape, self.au_names)
        return names

    def split_appearance(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Booster columns and (late fusion) the appearance columns of a feature matrix."""
        if not self.late_fusion:
            return x, None
        app = getattr(self, "_app_mask", None)
        if app is None or len(app) != x.shape[1]:  # computed once per model
            app = np.array([n.startswith("cnn_") for n in self.feature_names], dtype=bool)
            self._app_mask = app
        return x[:, ~app], x[:, app].astype(np.float64)

    def assemble(self, blocks: dict[str, np.ndarray], *, appearance: bool = True) -> np.ndarray:
        """Stack the needed blocks into the model's feature matrix (n, n_features).

        ``blocks["shape"]`` holds raw `shape_offsets` (n, 1404); they are projected here.
        ``appearance=False`` leaves the ``appearance`` block out (for a late fusion: the
        booster's own columns, `booster_feature_names`).
        """
        parts = []
        for b in self.blocks:
            if b == "appearance" and not appearance:
                continue
            if b not in blocks:
                raise FauError(f"expression model needs feature block {b!r}")
            x = np.asarray(blocks[b], dtype=np.float64)
            if b == "au":
                x = x.reshape(len(x), len(AU_NAMES))[:, self._au_index]
            if b == "shape":
                assert self.shape_components is not None and self.shape_mean is not None
                x = (x - self.shape_mean) @ self.shape_components.T
            parts.append(x.reshape(len(x), -1) if len(x) else x.reshape(0, x.shape[-1]))
        return np.concatenate(parts, axis=1).astype(np.float32)

    # -- scoring ---------------------------------------------------------------------
    def margins(self, x: np.ndarray) -> np.ndarray:
        """Raw booster margins (n, n_classes) of a full feature matrix (`assemble`)."""
        return self._booster_margins(self.split_appearance(x)[0])

    def movement_margins(self, blocks: dict[str, np.ndarray]) -> np.ndarray | None:
        """A late fusion's booster margins (n, n_classes) from the movement blocks alone.

        The booster of a late fusion does not read the appearance CNN, so its margins
        can be computed before the CNN's logits exist (`fau.pipeline.Pipeline.analyse`
        does this while the CNN runs on its thread) and passed to `logits` or
        `predict_proba`; the same values as `margins` of the full matrix. None for a
        model whose booster reads the CNN's logits (or reads no appearance at all:
        nothing would be gained).
        """
        if not self.late_fusion:
            return None
        return self._booster_margins(self.assemble(blocks, appearance=False))

    def _booster_margins(self, xb: np.ndarray) -> np.ndarray:
        if len(xb) == 0:
            return np.zeros((0, len(self.classes)))
        if self.trees is not None:
            return self.trees(xb).reshape(len(xb), len(self.classes))
        m = self.booster.inplace_predict(xb, predict_type="margin")  # type: ignore[attr-defined]
        return np.asarray(m, dtype=np.float64).reshape(len(xb), len(self.classes))

    def _appearance_term(self, x: np.ndarray) -> np.ndarray:
        """Late fusion's linear appearance logits (n, n_classes); zeros otherwise."""
        _, xa = self.split_appearance(x)
        if xa is None:
            return np.zeros((len(x), len(self.classes)))
        return xa @ self.appearance_weights.T  # type: ignore[union-attr]

    def logits(self, x: np.ndarray, margins: np.ndarray | None = None) -> np.ndarray:
        """Calibrated logits (n, n_classes): margin / temperature (+ the late-fusion
        appearance term) + `logit_offsets`.

        ``margins``: the booster's margins of ``x`` when already computed
        (`movement_margins`); else the booster runs here.
        """
        if margins is None:
            margins = self.margins(x)
        elif np.shape(margins) != (len(x), len(self.classes)):
            raise FauError(f"margins of shape {np.shape(margins)} given for {len(x)} faces "
                           f"and {len(self.classes)} classes")
        return margins / self.temperature + self._appearance_term(x) + self.logit_offsets

    def predict_proba(self, x: np.ndarray, margins: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities (n, 8) in `EXPRESSIONS` order (absent classes 0);
        ``margins`` as in `logits`."""
        z = self.logits(x, margins)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        out = np.zeros((len(x), len(EXPRESSIONS)))
        out[:, [EXPRESSIONS.index(c) for c in self.classes]] = p
        return out

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray]:
        """Per-class additive contributions (TreeSHAP) grouped by explanation group.

        Returns
        -------
        contrib : ndarray, (n, n_classes, n_groups)
            Contribution of each group to each class's calibrated logit (margin divided
            by the temperature, plus the class's logit offset, which is counted in
            ``bias``); a class's logit = bias + sum over groups.
        groups : list of str
            Group names: each AU, ``head_pose``, ``shape``, ``blendshapes``,
            ``appearance``.
        bias : ndarray, (n, n_classes)
        """
        import xgboost as xgb

        names = self.booster_feature_names
        xb, _ = self.split_appearance(x)
        dm = xgb.DMatrix(xb, feature_names=names)
        raw = self.booster.predict(dm, pred_contribs=True)  # type: ignore[attr-defined]
        raw = np.asarray(raw).reshape(len(x), len(self.classes), len(names) + 1)
        raw = raw / self.temperature
        groups: list[str] = []
        for n in self.feature_names:
            g = explanation_group(n)
            if g not in groups:
                groups.append(g)
        gi = np.array([groups.index(explanation_group(n)) for n in names])
        contrib = np.zeros((len(x), len(self.classes), len(groups)))
        np.add.at(contrib, (slice(None), slice(None), gi), raw[:, :, :-1])
        if self.late_fusion:
            contrib[:, :, groups.index("appearance")] += self._appearance_term(x)
        return contrib, groups, raw[:, :, -1] + self.logit_offsets

    # -- persistence -----------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the model to one ``.npz`` file (no pickle), its trees compiled for
        onnxruntime too (`fau.expression.trees.compile_trees`: needs ``fau[train]``)."""
        raw = bytes(self.booster.save_raw("ubj"))  # type: ignore[attr-defined]
        trees = compile_trees(self.booster, len(self.booster_feature_names))
        meta = {
            "classes": list(self.classes),
            "blocks": list(self.blocks),
            "temperature": float(self.temperature),
            "info": self.info,
            "au_names": list(self.au_names),
            "logit_offsets": [float(v) for v in self.logit_offsets],  # type: ignore[union-attr]
            "format": 4,
            "trees_compiler": trees_compiler(),
        }
        if self.late_fusion:
            meta["appearance_weights"] = self.appearance_weights.tolist()  # type: ignore[union-attr]
        arrays = {
            "booster": np.frombuffer(raw, dtype=np.uint8),
            "trees": np.frombuffer(trees, dtype=np.uint8),
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        }
        if self.shape_components is not None:
            arrays["shape_mean"] = self.shape_mean.astype(np.float32)  # type: ignore[union-attr]
            arrays["shape_components"] = self.shape_components.astype(np.float32)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        Path(path).write_bytes(buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "ExpressionModel":
        """Read a model written by `save` (a bundled file's SHA-256 is checked first).

        The compiled trees of a format-4 file score its faces; its booster is read by
        XGBoost when first needed (`LazyBooster`: explanations). For a file outside
        ``fau/models/`` the two are checked against each other on probe rows here
        (`fau.expression.trees.check_agreement`); a bundled file's SHA-256 vouches for
        it. Files of formats 1-3 have no trees and are scored by the booster.
        """
        data = read_checked(path)
        try:
            z = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(bytes(z["meta"]).decode())
            booster = LazyBooster(bytes(z["booster"]), str(path))
        except (OSError, KeyError, ValueError) as exc:
            raise FauError(f"cannot load expression model {str(path)!r}: {exc}") from None
        trees = None
        if "trees" in z:
            trees = TreeMargins(bytes(z["trees"]))
            if not is_bundled(path):  # a bundled file's digest vouches for it (and the tests)
                check_agreement(trees, booster.load())
        else:
            booster.load()  # formats 1-3: scored by the booster; read it now
        return cls(
            booster=booster,
            classes=tuple(meta["classes"]),
            blocks=tuple(meta["blocks"]),
            shape_mean=z["shape_mean"].astype(np.float64) if "shape_mean" in z else None,
            shape_components=(
                z["shape_components"].astype(np.float64) if "shape_components" in z else None
            ),
            temperature=float(meta["temperature"]),
            info=meta.get("info", {}),
            au_names=tuple(meta.get("au_names", LEGACY_AU_NAMES)),
            logit_offsets=np.asarray(meta["logit_offsets"]) if "logit_offsets" in meta else None,
            appearance_weights=(np.asarray(meta["appearance_weights"])
                                if "appearance_weights" in meta else None),
            trees=trees,
        )
