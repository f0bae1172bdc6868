"""Explanations: why a face got its expression scores, per AU and per feature block."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .labels import EXPRESSIONS
from .model import ExpressionModel

__all__ = ["explain_blocks", "EXPLAIN_COLUMNS"]

#: Columns of `explain_blocks`' long table, in order.
EXPLAIN_COLUMNS: tuple[str, ...] = (
    "face", "expression", "group", "contribution", "bias", "logit", "probability",
)


def explain_blocks(model: ExpressionModel, blocks: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Additive contributions of each AU and feature block to each expression score.

    Parameters
    ----------
    model : ExpressionModel
        The model that scored the faces.
    blocks : mapping of str to ndarray
        Feature blocks of ``n`` faces (`fau.pipeline.Pipeline.features`).

    Returns
    -------
    pandas.DataFrame
        One row per (face, expression, group): ``face`` (0-based position in
        ``blocks``), ``expression`` (one of ``model.classes``), ``group`` (an AU name,
        ``head_pose``, ``shape``, ``blendshapes`` or ``appearance``), ``contribution``
        (to the expression's calibrated logit: TreeSHAP values of the XGBoost model,
        so the contributions of a face and expression sum with ``bias`` to ``logit``),
        ``bias``, ``logit`` and ``probability`` (0-1). No faces: no rows, same columns.
    """
    cols = list(EXPLAIN_COLUMNS)
    n = len(blocks["landmarks"])
    if n == 0:
        return pd.DataFrame(columns=cols)
    x = model.assemble(dict(blocks))
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
