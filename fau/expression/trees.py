"""The expression booster's trees compiled for onnxruntime: its margins, fast.

XGBoost's ``inplace_predict`` on one row costs about 1.1 ms warm and 2 ms after the
landmark model and the CNN have filled the core's cache (`benchmarks/bench_trees.py`),
most of it fixed cost per call; onnxruntime's ``TreeEnsembleClassifier`` walks the same
trees in 0.06 / 0.4 ms. A model file therefore carries its booster twice: as XGBoost's
UBJSON (the source, and the TreeSHAP explanations of ``ExpressionModel.contributions``)
and as an ONNX graph made from it by onnxmltools when the file is written
(`compile_trees`; the ``train`` extra), which scores faces (`TreeMargins`).

The ONNX graph returns the raw margins (``post_transform = NONE``), the booster's
``predict_type="margin"``; the two agree to float32 rounding (summation order of the
leaf values: about 1e-5 logit units on the shipped models), which a file's loader
checks on probe rows (`check_agreement`).
"""

from __future__ import annotations

import numpy as np

from ..errors import FauError
from .runtime import ort_session

__all__ = ["compile_trees", "trees_compiler", "TreeMargins", "check_agreement", "AGREEMENT_TOL"]

#: Largest |ONNX margin − XGBoost margin| accepted on the probe rows, in margin units
#: (float32 sums of ~1,500 leaf values differ by ~1e-5; a wrong tree by far more).
AGREEMENT_TOL = 1e-3

#: Probe rows `check_agreement` scores: this many, drawn with this seed.
N_PROBES, PROBE_SEED = 16, 0


def compile_trees(booster: object, n_features: int) -> bytes:
    """ONNX bytes of an XGBoost ``multi:softprob`` booster, returning raw margins.

    Parameters
    ----------
    booster : xgboost.Booster
        The trained booster (its feature names are not needed: columns by position).
    n_features : int
        Number of columns it reads.

    Returns
    -------
    bytes
        A graph with one float input ``x`` of shape (n, n_features) and the output
        ``margins`` (n, n_classes).

    Raises
    ------
    FauError
        onnxmltools (``pip install fau[train]``) is missing.
    """
    try:
        from onnxmltools.convert import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        raise FauError("writing an expression model needs onnxmltools: "
                       "pip install 'fau[train]'") from None
    plain = booster.copy()  # type: ignore[attr-defined]
    plain.feature_names = None  # onnxmltools reads columns by position
    graph = convert_xgboost(plain, initial_types=[("x", FloatTensorType([None, n_features]))],
                            target_opset=15)
    for node in graph.graph.node:
        if node.op_type == "TreeEnsembleClassifier":
            for attr in node.attribute:
                if attr.name == "post_transform":
                    attr.s = b"NONE"  # margins, not softmax probabilities
    for out in graph.graph.output:
        if out.name == "probabilities":
            out.name = "margins"
    for node in graph.graph.node:
        node.output[:] = ["margins" if o == "probabilities" else o for o in node.output]
    return graph.SerializeToString()


def trees_compiler() -> str:
    """What `compile_trees` uses, for a model file's provenance: ``"onnxmltools X, onnx Y"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"onnxmltools {version('onnxmltools')}, onnx {version('onnx')}"
    except PackageNotFoundError:
        return "unknown"


class TreeMargins:
    """Raw margins of a compiled booster (`compile_trees`) on one onnxruntime thread."""

    def __init__(self, data: bytes) -> None:
        # One TreeEnsemble node: nothing to optimise, and skipping it is 15-20% of the load.
        self._sess = ort_session(data, 1, optimize=False,
                                 what="expression model's compiled trees")
        self.n_features = int(self._sess.get_inputs()[0].shape[1])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Margins (n, n_classes), float64, of a float32 matrix (n, n_features)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        (m,) = self._sess.run(["margins"], {"x": x})
        return np.asarray(m, dtype=np.float64)


def check_agreement(trees: TreeMargins, booster: object) -> float:
    """Largest |margin difference| of the two forms on probe rows; raise when too large.

    The probes are standard-normal rows with a fifth of the values missing (NaN), so
    the default directions of missing values are compared too.

    Raises
    ------
    FauError
        The compiled trees and the booster disagree by more than `AGREEMENT_TOL`.
    """
    rng = np.random.default_rng(PROBE_SEED)
    x = rng.standard_normal((N_PROBES, trees.n_features)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = np.nan
    raw = booster.inplace_predict(x, predict_type="margin")  # type: ignore[attr-defined]
    ref = np.asarray(raw, dtype=np.float64).reshape(N_PROBES, -1)
    got = trees(x)
    diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
    if not diff <= AGREEMENT_TOL:
        raise FauError(f"the expression model's compiled trees disagree with its booster "
                       f"(largest margin difference {diff:.3g}, shapes {got.shape} and "
                       f"{ref.shape}): the file is inconsistent; write it again")
    return diff
