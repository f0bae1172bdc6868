"""Compound expressions and a valence/arousal estimate from AUs and expression scores.

**These are documented heuristics, not trained or validated models.** No labelled
compound-expression or valence/arousal data exists in this project; nothing here has a
measured accuracy. See ``docs/compound.md`` for the tables, formulas, sources and caveats.

Compound expressions
--------------------
The 15 compound categories of Du, Tao & Martinez (2014, PNAS 111:E1454, "Compound facial
expressions of emotion"), each defined by

* two *component* basic expressions (e.g. happily surprised = happiness + surprise), and
* the AUs that Du et al. (Table 1) report for it: *principal* AUs (used by more than 70% of
  their 230 posers) and *variant* AUs (used by some posers). AU11 (nasolabial
  deepener, which fau does not measure) and AU24 (lip pressor, which fau did not measure
  when the rules were fixed and which they still leave out; all of them variants) are
  dropped and listed in `Compound.dropped`.

A compound's score multiplies two pieces of evidence (`compound_evidence`):

``E`` (expression part)
    For the 12 two-way compounds, twice the geometric mean of the two component
    probabilities, ``E = 2 * sqrt(p_a * p_b)``: in [0, 1], 1 only when the two components
    hold all the probability equally, near 0 when either is near 0 (so one basic
    expression alone does not make a compound). Appalled, hatred and awed have an
    emphasised component ``a`` (share ``w = Compound.emphasis = 2/3`` of the pair):
    ``E = (p_a + p_b) * S(r) ** k`` with ``r = p_a / (p_a + p_b)``,
    ``S(r) = r**w * (1-r)**(1-w) / (w**w * (1-w)**(1-w))`` (1 at ``r = w``) and
    ``k = 1 / (2 (1 - w))``, so the minor component still enters as a square root;
    for ``w = 1/2`` this is exactly ``2 * sqrt(p_a * p_b)``.
``A`` (AU part)
    ``A_p + VARIANT_BONUS * (1 - A_p) * A_v``: ``A_p`` is the mean soft activation
    (`au_activation`) of the principal AUs, ``A_v`` that of the measurable variant AUs.
    Variants can only raise the AU evidence, by at most ``VARIANT_BONUS`` of the gap to 1.

``score = E * A`` in [0, 1]; `top_compound` reports the best compound when its score
reaches ``min_score``.

Valence / arousal
-----------------
Probability-weighted mean of approximate circumplex coordinates of the 8 expression
classes (`CIRCUMPLEX`, after Russell 1980), optionally mixed with simple AU evidence
(`AU_WEIGHT` of the result): valence from AU12 (zygomaticus major) minus the stronger of
AU04 (corrugator) and AU15; arousal from the strongest of AU05, AU26 and mean(AU01, AU02),
minus half of AU45 (eye closure). See `valence_arousal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np
import pandas as pd

from ..au import AU_THRESHOLDS
from ..au.geometry import AU_NAMES
from ..errors import FauError
from .labels import EXPRESSIONS

__all__ = [
    "AU_ACTIVE",
    "AU_WIDTH",
    "VARIANT_BONUS",
    "MIN_COMPOUND_SCORE",
    "CIRCUMPLEX",
    "AU_WEIGHT",
    "Compound",
    "COMPOUNDS",
    "COMPOUND_NAMES",
    "COMPOUND_COLUMNS",
    "thresholds_from_neutral",
    "au_activation",
    "compound_evidence",
    "compound_scores",
    "top_compound",
    "valence_arousal",
    "compound_columns",
    "add_compound_columns",
]

ArrayOrFrame = Union[np.ndarray, pd.DataFrame]

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

#: Activation threshold of each AU, in the AU's own unit (fraction of the inter-ocular
#: distance, IOD; AU43/AU45 in units of the neutral eye opening): the intensity at which
#: `au_activation` gives 0.5. Source: `fau.au.AU_THRESHOLDS`, the occurrence thresholds
#: chosen against certified FACS codes of the ckplus_dev CK+ sequences (docs/action_units.md);
#: the one-sided AU12_L/R and AU14_L/R use their bilateral AU's. Checked for compounds by
#: ``benchmarks/compound_check.py`` (docs/compound.md, *Validation*): the compounds' AU
#: part separates sequences coded with a compound's principal AUs slightly better with
#: these than with the round-1 FER-2013 neutral 90th percentiles (ROC AUC up for 10 of 15
#: compounds, mean 0.845 -> 0.856; few positives for most compounds).
AU_ACTIVE: dict[str, float] = {
    name: float(AU_THRESHOLDS[name.split("_")[0]]) for name in AU_NAMES
}

#: Width ``s`` of the logistic activation ``1 / (1 + exp(-(x - t) / s))``, same units as
#: `AU_ACTIVE`: 0.02 IOD (about 1.3 mm on an adult face) for every AU, 0.1 neutral eye
#: openings for AU45. An AU ``2 s`` above its threshold is 88% active, ``2 s`` below
#: 12%. A fau choice (not fitted); `thresholds_from_neutral` derives widths from data.
AU_WIDTH: dict[str, float] = {name: 0.02 for name in AU_NAMES} | {"AU45": 0.1, "AU43": 0.1}

#: Smallest width `thresholds_from_neutral` returns (IOD units), so that an AU whose
#: neutral distribution is degenerate does not become a hard step.
MIN_WIDTH: float = 0.005

#: Largest share of the remaining AU evidence (1 - A_p) that a compound's variant AUs
#: can add (dimensionless, a fau choice): variants are seen in only some of Du et al.'s
#: posers, so they may support a compound but their absence never lowers it.
VARIANT_BONUS: float = 0.25

#: Default `top_compound` threshold on the compound score (dimensionless, 0-1). Measured
#: by ``benchmarks/compound_check.py`` on the grid 0.5, 0.4, 0.35, 0.3, 0.25, 0.2: at no
#: value did a neutral face fire (102 London neutral photos, 61 CREMA-D NEU frames) nor a
#: London smile, so the floor is set by the prototypes of tests/test_compound.py: 0.35 is
#: the lowest grid value at which a pure basic expression (p = 0.9, its own AUs active)
#: is not reported as a compound (at 0.3 a pure surprise becomes "awed"). At 0.35 a
#: compound fires on 10.0% of the ckplus_dev CK+48 frames and 8.8% of the acted CREMA-D
#: frames with the fifth pass's models (at 0.5: 1.8% and 3.5%); docs/compound.md
#: (*Validation*). E.g. reached
#: by two components at 0.45 / 0.45 with 40% AU evidence; not by one expression at 0.9
#: with the others at 0.02 or less, whatever the AUs.
MIN_COMPOUND_SCORE: float = 0.35

#: Approximate (valence, arousal) of each expression class on the affective circumplex,
#: both in [-1, 1]. Placements after Russell (1980, J Pers Soc Psychol 39:1161: happy,
#: astonished, afraid, angry, sad, calm near their circumplex angles), with
#: Russell & Mehrabian (1977) pleasure/arousal ratings as a guide for disgust and
#: contempt, which the 1980 circumplex lacks; rounded, **approximate, not measured**.
#: Surprise is placed slightly positive (its valence is ambiguous).
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "anger": (-0.55, 0.60),
    "disgust": (-0.60, 0.35),
    "fear": (-0.60, 0.65),
    "happiness": (0.80, 0.45),
    "sadness": (-0.65, -0.30),
    "surprise": (0.20, 0.75),
    "neutral": (0.0, 0.0),
    "contempt": (-0.45, 0.10),
}

#: Weight of the AU evidence in `valence_arousal` when AUs are given (dimensionless):
#: result = (1 - AU_WEIGHT) * circumplex estimate + AU_WEIGHT * AU estimate.
AU_WEIGHT: float = 0.25


@dataclass(frozen=True)
class Compound:
    """One compound expression of Du, Tao & Martinez (2014).

    Attributes
    ----------
    name : str
        Column name (snake case), e.g. ``"happily_surprised"``.
    components : tuple of str
        The two component expressions (names in `fau.EXPRESSIONS`).
    emphasis : float
        Weight ``w`` of ``components[0]`` in the expression part (0.5 = equal).
    principal : tuple of str
        Principal AUs of Du et al.'s Table 1 that fau measures.
    variants : tuple of str
        Variant (bracketed) AUs of Table 1 that fau measures.
    dropped : tuple of str
        AUs of Table 1 that fau does not measure (left out).
    """

    name: str
    components: tuple[str, str]
    emphasis: float
    principal: tuple[str, ...]
    variants: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Human-readable name, e.g. ``"happily surprised"``."""
        return self.name.replace("_", " ")


def _c(name, components, principal, variants, dropped=(), emphasis=0.5) -> Compound:
    au = lambda ns: tuple(f"AU{n:02d}" for n in ns)  # noqa: E731
    return Compound(name, components, emphasis, au(principal), au(variants), au(dropped))


#: The 15 compounds, Du et al. (2014) Table 1 (principal AUs / bracketed variants).
#: Appalled and hatred are disgust + anger with the emphasis on disgust and on anger
#: respectively, awed is fear + surprise with the emphasis on surprise (Du et al.'s
#: description as recalled, not re-checked; the 2/3 share is a fau choice).
#: See docs/compound.md.
COMPOUNDS: tuple[Compound, ...] = (
    _c("happily_surprised", ("happiness", "surprise"), (1, 2, 12, 25), (5, 26)),
    _c("happily_disgusted", ("happiness", "disgust"), (10, 12, 25), (4, 6, 9)),
    _c("sadly_fearful", ("sadness", "fear"), (1, 4, 20, 25), (2, 5, 6, 15)),
    _c("sadly_angry", ("sadness", "anger"), (4, 15), (6, 7, 17), (11,)),
    _c("sadly_surprised", ("sadness", "surprise"), (1, 4, 25, 26), (2, 6)),
    _c("sadly_disgusted", ("sadness", "disgust"), (4, 10), (1, 6, 9, 15, 17, 25), (11,)),
    _c("fearfully_angry", ("fear", "anger"), (4, 20, 25), (5, 7, 10), (11,)),
    _c("fearfully_surprised", ("fear", "surprise"), (1, 2, 5, 20, 25), (4, 10, 26), (11,)),
    _c("fearfully_disgusted", ("fear", "disgust"), (1, 4, 10, 20, 25), (2, 5, 6, 9, 15)),
    _c("angrily_surprised", ("anger", "surprise"), (4, 25, 26), (5, 7, 10)),
    _c("angrily_disgusted", ("anger", "disgust"), (4, 10, 17), (7, 9), (24,)),
    _c("disgustedly_surprised", ("disgust", "surprise"), (1, 2, 5, 10), (4, 9, 17), (24,)),
    _c("appalled", ("disgust", "anger"), (4, 10), (6, 9, 17), (24,), emphasis=2 / 3),
    _c("hatred", ("anger", "disgust"), (4, 10), (7, 9, 17), (24,), emphasis=2 / 3),
    _c("awed", ("surprise", "fear"), (1, 2, 5, 25), (4, 20, 26), emphasis=2 / 3),
)
COMPOUND_NAMES: tuple[str, ...] = tuple(c.name for c in COMPOUNDS)
#: Columns `add_compound_columns` adds to a `fau.Detector` table.
COMPOUND_COLUMNS: tuple[str, ...] = ("compound", "compound_score", "valence", "arousal")

_AU_INDEX = {name: i for i, name in enumerate(AU_NAMES)}
_EX_INDEX = {name: i for i, name in enumerate(EXPRESSIONS)}


def _mean_weights(groups: Sequence[Sequence[str]]) -> np.ndarray:
    """(n_AUs, n_groups) weights whose product with activations is each group's mean."""
    w = np.zeros((len(AU_NAMES), len(groups)))
    for k, names in enumerate(groups):
        for n in names:
            w[_AU_INDEX[n], k] = 1.0 / len(names)
    return w


#: The compounds' components (indices into `EXPRESSIONS`), emphases and AU groups as
#: arrays, so that one face's 15 scores take a few array operations, not 15 loops.
_COMPONENT_INDEX = np.array([[_EX_INDEX[a], _EX_INDEX[b]] for a, b in
                             (c.components for c in COMPOUNDS)], dtype=np.intp)
_EMPHASIS = np.array([c.emphasis for c in COMPOUNDS])
_PRINCIPAL_WEIGHTS = _mean_weights([c.principal for c in COMPOUNDS])
_VARIANT_WEIGHTS = _mean_weights([c.variants for c in COMPOUNDS])
_LOGIT_90 = float(np.log(9.0))

# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------


def _matrix(data: ArrayOrFrame, names: Sequence[str], what: str) -> np.ndarray:
    """``data`` as float (n, len(names)): a table's named columns, or an array's rows."""
    if isinstance(data, pd.DataFrame):
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise FauError(f"{what} table lacks columns {missing}")
        x = data.loc[:, list(names)].to_numpy(dtype=np.float64)
    else:
        x = np.asarray(data, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
    if x.ndim != 2 or x.shape[1] != len(names):
        raise FauError(f"{what} must be (n, {len(names)}), got {x.shape}")
    return x


def _as_aus(aus: ArrayOrFrame) -> np.ndarray:
    """AUs as float (n, 26) in `AU_NAMES` order."""
    return _matrix(aus, AU_NAMES, "AUs (fau.AU_NAMES order)")


def _as_proba(proba: ArrayOrFrame) -> np.ndarray:
    """Expression probabilities as float (n, 8) in `EXPRESSIONS` order, clipped to [0, 1].

    A 7-column input (FER-2013 classes) or a table without ``contempt`` gets contempt 0.
    """
    if isinstance(proba, pd.DataFrame):
        missing = [n for n in EXPRESSIONS if n not in proba.columns and n != "contempt"]
        if missing:
            raise FauError(f"expression table lacks columns {missing}")
        p = np.column_stack([
            proba[n].to_numpy(dtype=np.float64) if n in proba.columns
            else np.zeros(len(proba)) for n in EXPRESSIONS
        ]) if len(proba) else np.zeros((0, len(EXPRESSIONS)))
    else:
        p = np.asarray(proba, dtype=np.float64)
        if p.ndim == 1:
            p = p[None, :]
        if p.ndim == 2 and p.shape[1] == len(EXPRESSIONS) - 1:
            p = np.hstack([p, np.zeros((len(p), 1))])
    if p.ndim != 2 or p.shape[1] != len(EXPRESSIONS):
        raise FauError(
            f"expression probabilities must be (n, {len(EXPRESSIONS)}) in fau.EXPRESSIONS "
            f"order (or (n, 7) without contempt), got {p.shape}"
        )
    return np.clip(p, 0.0, 1.0)


def _index(*inputs: object, n: int) -> pd.Index:
    for obj in inputs:
        if isinstance(obj, pd.DataFrame) and len(obj) == n:
            return obj.index
    return pd.RangeIndex(n)


def _vector(values: Mapping[str, float] | None, defaults: Mapping[str, float]) -> np.ndarray:
    merged = dict(defaults)
    if values is not None:
        unknown = set(values) - set(AU_NAMES)
        if unknown:
            raise FauError(f"unknown AU names {sorted(unknown)}; expected names in fau.AU_NAMES")
        merged.update(values)
    return np.array([merged[n] for n in AU_NAMES], dtype=np.float64)


# --------------------------------------------------------------------------------------
# AU activation
# --------------------------------------------------------------------------------------


def thresholds_from_neutral(
    neutral_aus: ArrayOrFrame, quantile: float = 0.9
) -> tuple[dict[str, float], dict[str, float]]:
    """Activation thresholds and widths measured on a reference set of neutral faces.

    Parameters
    ----------
    neutral_aus : ndarray (n, 26) or DataFrame
        AU intensities (`fau.AU_NAMES`) of faces judged neutral, e.g. FER-2013 Training
        rows labelled neutral. NaN rows are ignored.
    quantile : float
        The threshold is this quantile of the neutral faces (default 0.9: an AU counts
        as half active when it is larger than on 90% of neutral faces).

    Returns
    -------
    thresholds : dict of str to float
        Per AU, the ``quantile`` of the neutral values (AU units); pass as
        ``thresholds=`` to the functions of this module.
    widths : dict of str to float
        Per AU, ``(threshold - median) / logit(quantile)``, at least `MIN_WIDTH`: the
        median neutral face is then ``1 - quantile`` active (10% by default).

    Raises
    ------
    FauError
        ``quantile`` not in (0.5, 1), or an AU without any finite value.
    """
    if not 0.5 < float(quantile) < 1.0:
        raise FauError(f"quantile must be in (0.5, 1), got {quantile!r}")
    x = _as_aus(neutral_aus)
    finite = np.isfinite(x)
    if not finite.any(axis=0).all():
        empty = [n for n, ok in zip(AU_NAMES, finite.any(axis=0)) if not ok]
        raise FauError(f"no finite neutral values for {empty}")
    t = np.nanquantile(x, quantile, axis=0)
    med = np.nanmedian(x, axis=0)
    w = np.maximum((t - med) / np.log(quantile / (1.0 - quantile)), MIN_WIDTH)
    return (
        {n: float(v) for n, v in zip(AU_NAMES, t)},
        {n: float(v) for n, v in zip(AU_NAMES, w)},
    )


def au_activation(
    aus: ArrayOrFrame,
    thresholds: Mapping[str, float] | None = None,
    widths: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Soft activation in [0, 1] of each AU: a logistic around its threshold.

    ``activation = 1 / (1 + exp(-(x - t) / s))``; 0.5 at the threshold ``t``.

    Parameters
    ----------
    aus : ndarray (n, 26) or (26,), or DataFrame
        AU intensities in `fau.AU_NAMES` order (or a table with those columns).
    thresholds : mapping of str to float, optional
        Thresholds ``t`` overriding `AU_ACTIVE` (AU units; any subset of AU names).
    widths : mapping of str to float, optional
        Widths ``s`` overriding `AU_WIDTH` (AU units, > 0).

    Returns
    -------
    ndarray, (n, 26)
        Activations (a (26,) input gives one row); NaN where the AU is NaN.
    """
    x = _as_aus(aus)
    t = _vector(thresholds, AU_ACTIVE)
    s = _vector(widths, AU_WIDTH)
    if not (s > 0).all():
        raise FauError("AU widths must be positive")
    z = (x - t) / s
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # logistic, without overflow warnings


# --------------------------------------------------------------------------------------
# Compound expressions
# --------------------------------------------------------------------------------------


def _expression_part(pa: np.ndarray, pb: np.ndarray, w: float | np.ndarray) -> np.ndarray:
    """``(p_a + p_b) * S(r) ** k`` (see the module docstring); ``2 sqrt(p_a p_b)`` at w = 1/2."""
    total = pa + pb
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(total > 0, pa / total, 0.5)
    shape = r**w * (1.0 - r) ** (1.0 - w) / (w**w * (1.0 - w) ** (1.0 - w))
    return total * shape ** (1.0 / (2.0 * (1.0 - w)))


def compound_evidence(
    aus: ArrayOrFrame,
    proba: ArrayOrFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    widths: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two factors of every compound score: expression part and AU part.

    Parameters
    ----------
    aus : ndarray (n, 26) or DataFrame
        AU intensities (`fau.AU_NAMES`).
    proba : ndarray (n, 8) or (n, 7), or DataFrame
        Expression probabilities (`fau.EXPRESSIONS`; 7 columns = no contempt).
    thresholds, widths : mapping of str to float, optional
        See `au_activation`.

    Returns
    -------
    expression_part : DataFrame, (n, 15)
        ``E``, in [0, 1]: ``2 sqrt(p_a p_b)``, or for the emphasised compounds
        ``(p_a + p_b) S(r) ** k`` (module docstring, ``docs/compound.md``).
    au_part : DataFrame, (n, 15)
        ``A = A_p + VARIANT_BONUS * (1 - A_p) * A_v``, in [0, 1] (``A_p``, ``A_v``: mean
        activation of the principal and variant AUs).
    """
    x = _as_aus(aus)
    p = _as_proba(proba)
    e, a = _evidence_arrays(x, p, thresholds, widths)
    index = _index(aus, proba, n=len(x))
    return (
        pd.DataFrame(e, index=index, columns=list(COMPOUND_NAMES)),
        pd.DataFrame(a, index=index, columns=list(COMPOUND_NAMES)),
    )


def _evidence_arrays(
    x: np.ndarray,
    p: np.ndarray,
    thresholds: Mapping[str, float] | None,
    widths: Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """`compound_evidence` on validated arrays (no DataFrames: fast for one face)."""
    if len(x) != len(p):
        raise FauError(f"{len(x)} AU rows but {len(p)} expression rows")
    act = au_activation(x, thresholds, widths)
    e = _expression_part(p[:, _COMPONENT_INDEX[:, 0]], p[:, _COMPONENT_INDEX[:, 1]], _EMPHASIS)
    missing = np.isnan(act)
    known = np.where(missing, 0.0, act)
    a_p, a_v = known @ _PRINCIPAL_WEIGHTS, known @ _VARIANT_WEIGHTS  # group means
    # a group's mean is NaN when one of its AUs is (as a mean over those AUs would be)
    a_p[missing @ (_PRINCIPAL_WEIGHTS > 0)] = np.nan
    a_v[missing @ (_VARIANT_WEIGHTS > 0)] = np.nan
    return np.clip(e, 0.0, 1.0), a_p + VARIANT_BONUS * (1.0 - a_p) * a_v


def compound_scores(
    aus: ArrayOrFrame,
    proba: ArrayOrFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    widths: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score in [0, 1] of each of the 15 compound expressions (a documented heuristic).

    ``score = E * A``: ``E`` is twice the geometric mean of the two component expression
    probabilities (with a share preference for appalled, hatred, awed), ``A`` the AU
    evidence of the compound's principal (and, as a bonus, variant) AUs; see
    `compound_evidence` and ``docs/compound.md``. Not a calibrated probability and not
    validated on labelled data.

    Parameters
    ----------
    aus : ndarray (n, 26) or DataFrame
        AU intensities (`fau.AU_NAMES`).
    proba : ndarray (n, 8) or (n, 7), or DataFrame
        Expression probabilities (`fau.EXPRESSIONS`).
    thresholds, widths : mapping of str to float, optional
        See `au_activation`.

    Returns
    -------
    DataFrame, (n, 15)
        One column per compound (`COMPOUND_NAMES`); NaN where an input is NaN. The index
        is that of ``aus`` (or ``proba``) when it is a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from fau.expression.compound import AU_ACTIVE, compound_scores, top_compound
    >>> from fau import AU_NAMES
    >>> aus = np.array([[AU_ACTIVE[n] - 0.06 for n in AU_NAMES]])
    >>> for n in ("AU01", "AU02", "AU12", "AU25"):
    ...     aus[0, AU_NAMES.index(n)] = AU_ACTIVE[n] + 0.1
    >>> proba = np.array([[0.02, 0.02, 0.02, 0.45, 0.02, 0.45, 0.02, 0.0]])
    >>> names, score = top_compound(compound_scores(aus, proba))
    >>> names[0], round(float(score[0]), 2)
    ('happily_surprised', 0.89)
    """
    e, a = compound_evidence(aus, proba, thresholds=thresholds, widths=widths)
    return e * a


def top_compound(
    scores: pd.DataFrame | np.ndarray, min_score: float = MIN_COMPOUND_SCORE
) -> tuple[np.ndarray, np.ndarray]:
    """The best compound per face, if its score reaches ``min_score``.

    Parameters
    ----------
    scores : DataFrame or ndarray, (n, 15)
        `compound_scores` output (an array must be in `COMPOUND_NAMES` order).
    min_score : float
        Smallest score reported as a compound (default `MIN_COMPOUND_SCORE`).

    Returns
    -------
    names : ndarray of object, (n,)
        Compound name (`COMPOUND_NAMES`), or None where the best score is below
        ``min_score`` or the row is NaN.
    score : ndarray of float, (n,)
        The best score of each row, whether or not it reaches ``min_score``; NaN where
        the row is NaN.
    """
    s = _matrix(scores, COMPOUND_NAMES, "compound scores")
    n = len(s)
    names = np.full(n, None, dtype=object)
    best = np.full(n, np.nan)
    ok = np.isfinite(s).all(axis=1)
    if ok.any():
        idx = s[ok].argmax(axis=1)
        best[ok] = s[ok][np.arange(len(idx)), idx]
        chosen = np.asarray(COMPOUND_NAMES, dtype=object)[idx]
        chosen[best[ok] < float(min_score)] = None
        names[ok] = chosen
    return names, best


# --------------------------------------------------------------------------------------
# Valence / arousal
# --------------------------------------------------------------------------------------


def valence_arousal(
    proba: ArrayOrFrame,
    aus: ArrayOrFrame | None = None,
    *,
    au_weight: float = AU_WEIGHT,
    thresholds: Mapping[str, float] | None = None,
    widths: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Valence and arousal in [-1, 1] (a documented heuristic, not a measurement).

    Expression part: ``sum_k p_k * CIRCUMPLEX[k] / sum_k p_k`` (approximate circumplex
    coordinates of the 8 classes). With ``aus``, the result is
    ``(1 - au_weight) * expression part + au_weight * AU part``, where, with ``a`` the
    `au_activation` of each AU,

    * AU valence = ``a(AU12) - max(a(AU04), a(AU15))`` (lip-corner pull vs. brow
      lowering / lip-corner depression: the zygomaticus / corrugator valence markers
      of facial EMG), and
    * AU arousal = ``max(a(AU05), a(AU26), (a(AU01) + a(AU02)) / 2) - a(AU45) / 2``
      (eye widening, jaw drop, raised brows vs. eye closure).

    Parameters
    ----------
    proba : ndarray (n, 8) or (n, 7), or DataFrame
        Expression probabilities (`fau.EXPRESSIONS`).
    aus : ndarray (n, 26) or DataFrame, optional
        AU intensities; rows whose AUs used here are NaN fall back to the expression
        part alone.
    au_weight : float
        Share of the AU part, in [0, 1] (default `AU_WEIGHT`; 0 ignores ``aus``).
    thresholds, widths : mapping of str to float, optional
        See `au_activation`.

    Returns
    -------
    ndarray, (n, 2)
        Columns valence, arousal; NaN where the probabilities are NaN or sum to 0.
    """
    p = _as_proba(proba)
    coords = np.array([CIRCUMPLEX[n] for n in EXPRESSIONS], dtype=np.float64)
    total = p.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        va = (p @ coords) / np.where(total > 0, total, np.nan)
    if aus is None or au_weight == 0:
        return np.clip(va, -1.0, 1.0)
    if not 0.0 <= float(au_weight) <= 1.0:
        raise FauError(f"au_weight must be in [0, 1], got {au_weight!r}")
    act = au_activation(aus, thresholds, widths)
    if len(act) != len(p):
        raise FauError(f"{len(act)} AU rows but {len(p)} expression rows")
    g = {n: act[:, _AU_INDEX[n]] for n in
         ("AU01", "AU02", "AU04", "AU05", "AU12", "AU15", "AU26", "AU45")}
    au_va = np.column_stack([
        g["AU12"] - np.maximum(g["AU04"], g["AU15"]),
        np.maximum.reduce([g["AU05"], g["AU26"], 0.5 * (g["AU01"] + g["AU02"])])
        - 0.5 * g["AU45"],
    ])
    mixed = (1.0 - au_weight) * va + au_weight * au_va
    out = np.where(np.isfinite(au_va), mixed, va)
    return np.clip(out, -1.0, 1.0)


# --------------------------------------------------------------------------------------
# Detector table
# --------------------------------------------------------------------------------------


def compound_columns(
    aus: ArrayOrFrame,
    proba: ArrayOrFrame,
    *,
    min_score: float = MIN_COMPOUND_SCORE,
    thresholds: Mapping[str, float] | None = None,
    widths: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """The `COMPOUND_COLUMNS` as arrays: compound, compound_score, valence, arousal.

    Parameters
    ----------
    aus : ndarray (n, 26) or DataFrame
        AU intensities (`fau.AU_NAMES`).
    proba : ndarray (n, 8) or DataFrame
        Expression probabilities; rows with any NaN (e.g. ``expression_model=None``)
        give ``compound`` None and NaN elsewhere.
    min_score : float
        See `top_compound`.
    thresholds, widths : mapping of str to float, optional
        See `au_activation`.

    Returns
    -------
    dict of str to ndarray
        ``compound`` (object: name or None), ``compound_score``, ``valence``,
        ``arousal`` (float), each of length n.
    """
    x = _as_aus(aus)
    p = _as_proba(proba)
    p[~np.isfinite(p).all(axis=1)] = np.nan
    e, a = _evidence_arrays(x, p, thresholds, widths)
    names, score = top_compound(e * a, min_score)
    va = valence_arousal(p, x, thresholds=thresholds, widths=widths)
    return {"compound": names, "compound_score": score, "valence": va[:, 0], "arousal": va[:, 1]}


def add_compound_columns(
    df: pd.DataFrame,
    *,
    min_score: float = MIN_COMPOUND_SCORE,
    thresholds: Mapping[str, float] | None = None,
    widths: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """A copy of a `fau.Detector` table with ``compound, compound_score, valence, arousal``.

    Reads the AU columns (`fau.AU_NAMES`) and expression columns (`fau.EXPRESSIONS`).
    Columns that already exist are overwritten in place; new ones are inserted after
    ``expression`` (or appended when there is none).

    Parameters
    ----------
    df : DataFrame
        One row per face with the AU and expression columns.
    min_score : float
        See `top_compound`.
    thresholds, widths : mapping of str to float, optional
        See `au_activation`.

    Returns
    -------
    DataFrame
        ``compound``: best compound name (`COMPOUND_NAMES`) or None;
        ``compound_score``: its score in [0, 1]; ``valence``, ``arousal`` in [-1, 1].
        None / NaN where the expression columns are NaN. Heuristics, see
        ``docs/compound.md``.
    """
    cols = compound_columns(df, df, min_score=min_score, thresholds=thresholds, widths=widths)
    out = df.copy()
    pos = out.columns.get_loc("expression") + 1 if "expression" in out.columns else len(out.columns)
    for name in COMPOUND_COLUMNS:
        values = cols[name]
        if name in out.columns:
            out[name] = pd.Series(values, index=out.index,
                                  dtype=object if name == "compound" else np.float64)
        else:
            out.insert(int(pos), name, pd.Series(
                values, index=out.index, dtype=object if name == "compound" else np.float64))
            pos += 1
    return out
