"""Explanations: why a face got its expression scores, per AU and per feature block.

Every group of features is either a **movement** of the face mesh (each AU, ``head_pose``,
``shape``, ``blendshapes``) or **appearance** (the CNN's texture evidence from the grey
face patch, `fau.expression.model.APPEARANCE_GROUPS`). Per face and class, the logit is
``bias + movement + appearance``; ``appearance_share = |appearance| / (|movement| +
|appearance|)`` says how much of the non-bias logit the appearance CNN supplied (0 for a
movements-only model such as ``expression_model="geometric"``).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import FauError
from .features import check_blocks
from .labels import EXPRESSIONS
from .model import APPEARANCE_GROUPS, ExpressionModel

__all__ = ["explain_blocks", "logit_sources", "EXPLAIN_COLUMNS", "SOURCE_COLUMNS"]

#: Columns of `explain_blocks`' long table, in order.
EXPLAIN_COLUMNS: tuple[str, ...] = (
    "face", "expression", "group", "source", "contribution", "bias", "movement",
    "appearance", "appearance_share", "logit", "probability",
)
#: Columns of `logit_sources`' table (one row per face and class), in order.
SOURCE_COLUMNS: tuple[str, ...] = (
    "face", "expression", "bias", "movement", "appearance", "appearance_share", "logit",
    "probability",
)


#: Text columns of the two tables (pandas' ``str`` dtype, as the rows make them); ``face``
#: is int64 and every other column float64, in empty tables too (`_empty`).
_TEXT_COLUMNS = ("expression", "group", "source")


def _empty(cols: list[str]) -> pd.DataFrame:
    """A table with the columns ``cols`` and no rows, in the dtypes the rows have (an
    untyped empty frame is all object: concatenated with tables of faces, it turned
    their float columns into object ones)."""
    return pd.DataFrame({c: np.zeros(0, np.int64) if c == "face"
                         else pd.array([], dtype="str") if c in _TEXT_COLUMNS
                         else np.zeros(0, np.float64) for c in cols}, columns=cols)


def _sources(contrib: np.ndarray, groups: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Movement and appearance sums of (n, k, groups) contributions, and the share."""
    app = np.array([g in APPEARANCE_GROUPS for g in groups], dtype=bool)
    a = contrib[:, :, app].sum(axis=2)
    m = contrib[:, :, ~app].sum(axis=2)
    denom = np.abs(a) + np.abs(m)
    share = np.divide(np.abs(a), denom, out=np.zeros_like(a), where=denom > 0)
    return m, a, share


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
        ``head_pose``, ``shape``, ``blendshapes`` or ``appearance``), ``source``
        (``"movement"`` or ``"appearance"``), ``contribution`` (to the expression's
        calibrated logit: TreeSHAP values of the XGBoost model, so the contributions of
        a face and expression sum with ``bias`` to ``logit``), ``bias`` (includes the
        model's logit offset), ``movement`` and ``appearance`` (the face and
        expression's summed contributions of each source; ``bias + movement +
        appearance = logit``), ``appearance_share`` (0-1, see module docs), ``logit``
        and ``probability`` (0-1). No faces: no rows, same columns and dtypes.
    """
    if not isinstance(model, ExpressionModel):
        raise FauError("explain_blocks takes an ExpressionModel (e.g. Pipeline.model), got "
                       f"{type(model).__name__}")
    check_blocks(blocks, "explain_blocks")
    cols = list(EXPLAIN_COLUMNS)
    n = len(blocks["landmarks"])
    if n == 0:
        return _empty(cols)
    x = model.assemble(dict(blocks))
    contrib, groups, bias = model.contributions(x)
    proba = model.predict_proba(x)
    mov, app, share = _sources(contrib, groups)
    source = ["appearance" if g in APPEARANCE_GROUPS else "movement" for g in groups]
    rows = []
    for f in range(n):
        for k, cls in enumerate(model.classes):
            logit = bias[f, k] + contrib[f, k].sum()
            p = proba[f, EXPRESSIONS.index(cls)]
            for g, name in enumerate(groups):
                rows.append((f, cls, name, source[g], contrib[f, k, g], bias[f, k], mov[f, k],
                             app[f, k], share[f, k], logit, p))
    return pd.DataFrame(rows, columns=cols)


def logit_sources(model: ExpressionModel, blocks: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per face and class: how much of the logit came from movements and from appearance.

    Parameters
    ----------
    model, blocks
        As for `explain_blocks`.

    Returns
    -------
    pandas.DataFrame
        One row per (face, expression) with `SOURCE_COLUMNS`: ``bias``, ``movement``,
        ``appearance`` (calibrated-logit units; they sum to ``logit``),
        ``appearance_share`` (0-1) and ``probability``.
    """
    cols = list(SOURCE_COLUMNS)
    n = len(blocks["landmarks"])
    if n == 0:
        return _empty(cols)
    x = model.assemble(dict(blocks))
    contrib, groups, bias = model.contributions(x)
    proba = model.predict_proba(x)[:, [EXPRESSIONS.index(c) for c in model.classes]]
    mov, app, share = _sources(contrib, groups)
    k = len(model.classes)
    return pd.DataFrame({
        "face": np.repeat(np.arange(n), k),
        "expression": np.tile(np.asarray(model.classes, dtype=object), n),
        "bias": bias.ravel(), "movement": mov.ravel(), "appearance": app.ravel(),
        "appearance_share": share.ravel(), "logit": (bias + mov + app).ravel(),
        "probability": proba.ravel(),
    }, columns=cols)
