"""Compound expressions and valence/arousal (fau.expression.compound) on constructed inputs.

These heuristics have no labelled data here; the tests only check that constructed AU
vectors and probabilities give (and do not give) what the documented rules say.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fau.au.geometry import AU_NAMES
from fau.errors import FauError
from fau.expression.compound import (
    AU_ACTIVE,
    AU_WIDTH,
    COMPOUND_COLUMNS,
    COMPOUND_NAMES,
    COMPOUNDS,
    CIRCUMPLEX,
    MIN_COMPOUND_SCORE,
    add_compound_columns,
    au_activation,
    compound_evidence,
    compound_scores,
    thresholds_from_neutral,
    top_compound,
    valence_arousal,
)
from fau.expression.labels import EXPRESSIONS

N_AU = len(AU_NAMES)  # AUs fau measures (the tests follow fau.AU_NAMES)

BASIC = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")


def aus(*on: str, off: float = -3.0, up: float = 4.0) -> np.ndarray:
    """One AU vector: the named AUs ``up`` widths above their thresholds (98% active),
    all others ``off`` widths from theirs (5% active)."""
    v = np.array([AU_ACTIVE[n] + off * AU_WIDTH[n] for n in AU_NAMES])
    for n in on:
        v[AU_NAMES.index(n)] = AU_ACTIVE[n] + up * AU_WIDTH[n]
    return v


def proba(**given: float) -> np.ndarray:
    """8 probabilities: the given classes, the rest spread over the other FER-2013 classes."""
    p = np.zeros(len(EXPRESSIONS))
    others = [e for e in EXPRESSIONS[:7] if e not in given]
    for e in others:
        p[EXPRESSIONS.index(e)] = (1.0 - sum(given.values())) / len(others)
    for e, v in given.items():
        p[EXPRESSIONS.index(e)] = v
    return p


def component_proba(c) -> np.ndarray:
    w = c.emphasis
    return proba(**{c.components[0]: 0.9 * w, c.components[1]: 0.9 * (1 - w)})


# -- definitions -------------------------------------------------------------------------


def test_table_is_the_du_et_al_set():
    assert len(COMPOUNDS) == 15 and len(set(COMPOUND_NAMES)) == 15
    assert {c.label for c in COMPOUNDS} == {
        "happily surprised", "happily disgusted", "sadly fearful", "sadly angry",
        "sadly surprised", "sadly disgusted", "fearfully angry", "fearfully surprised",
        "fearfully disgusted", "angrily surprised", "angrily disgusted",
        "disgustedly surprised", "appalled", "hatred", "awed",
    }
    for c in COMPOUNDS:
        assert set(c.components) <= set(BASIC) and c.components[0] != c.components[1]
        assert c.principal and set(c.principal + c.variants) <= set(AU_NAMES)
        assert not set(c.principal) & set(c.variants)
        assert set(c.dropped) <= {"AU11", "AU24"}
        assert 0 < c.emphasis < 1


def test_constants_cover_every_au_and_class():
    assert set(AU_ACTIVE) == set(AU_NAMES) == set(AU_WIDTH)
    assert set(CIRCUMPLEX) == set(EXPRESSIONS)
    assert all(-1 <= v <= 1 and -1 <= a <= 1 for v, a in CIRCUMPLEX.values())


# -- activation --------------------------------------------------------------------------


def test_activation_is_half_at_threshold_and_monotone():
    t = np.array([AU_ACTIVE[n] for n in AU_NAMES])
    w = np.array([AU_WIDTH[n] for n in AU_NAMES])
    x = np.stack([t - 4 * w, t, t + 4 * w])
    a = au_activation(x)
    assert a.shape == (3, N_AU)
    np.testing.assert_allclose(a[1], 0.5)
    assert (a[0] < 0.05).all() and (a[2] > 0.95).all()
    assert ((a >= 0) & (a <= 1)).all()


def test_activation_overrides_and_dataframe_input():
    df = pd.DataFrame([aus()], columns=list(AU_NAMES))
    a = au_activation(df, thresholds={"AU12": df["AU12"].iloc[0]})
    assert a[0, AU_NAMES.index("AU12")] == pytest.approx(0.5)
    assert a[0, AU_NAMES.index("AU01")] < 0.1
    with pytest.raises(FauError):
        au_activation(df, thresholds={"AU99": 0.0})
    with pytest.raises(FauError):
        au_activation(np.zeros((2, 5)))


def test_activation_keeps_nan_and_extremes():
    x = np.full((1, N_AU), np.nan)
    assert np.isnan(au_activation(x)).all()
    big = au_activation(np.full((1, N_AU), 1e6))
    assert np.isfinite(big).all() and (big == 1).all()


def test_thresholds_from_neutral():
    rng = np.random.default_rng(0)
    neutral = rng.normal(0.0, 0.03, size=(2000, N_AU))
    t, w = thresholds_from_neutral(neutral)
    assert set(t) == set(AU_NAMES) == set(w)
    assert t["AU12"] == pytest.approx(np.quantile(neutral[:, AU_NAMES.index("AU12")], 0.9))
    a = au_activation(neutral, t, w)
    # By construction: 10% of neutral faces above half activation, median face ~10%.
    assert (a > 0.5).mean(axis=0) == pytest.approx(np.full(N_AU, 0.1), abs=0.01)
    assert np.median(a, axis=0) == pytest.approx(np.full(N_AU, 0.1), abs=0.02)
    with pytest.raises(FauError):
        thresholds_from_neutral(neutral, quantile=0.3)
    bad = neutral.copy()
    bad[:, 0] = np.nan
    with pytest.raises(FauError):
        thresholds_from_neutral(bad)


# -- compounds: must give ----------------------------------------------------------------


@pytest.mark.parametrize("c", COMPOUNDS, ids=COMPOUND_NAMES)
def test_each_compound_from_its_aus_and_components(c):
    p = component_proba(c)
    for on in (c.principal + c.variants, c.principal):
        names, score = top_compound(compound_scores(aus(*on), p))
        assert names[0] == c.name
        assert score[0] > 0.8


def test_happily_surprised_example():
    p = proba(happiness=0.45, surprise=0.45)
    s = compound_scores(aus("AU01", "AU02", "AU12", "AU25"), p)
    names, score = top_compound(s)
    assert names[0] == "happily_surprised" and score[0] > 0.8


# -- compounds: must not give ------------------------------------------------------------


@pytest.mark.parametrize("c", COMPOUNDS, ids=COMPOUND_NAMES)
def test_no_compound_without_au_activity(c):
    s = compound_scores(aus(), component_proba(c))
    assert s[c.name].iloc[0] < 0.1
    assert top_compound(s)[0][0] is None


@pytest.mark.parametrize("c", COMPOUNDS, ids=COMPOUND_NAMES)
def test_no_compound_from_one_component_alone(c):
    """The compound's AUs fully active, but only one component expression present."""
    on = c.principal + c.variants
    for e in c.components:
        s = compound_scores(aus(*on), proba(**{e: 0.94}))
        assert s[c.name].iloc[0] < MIN_COMPOUND_SCORE
        assert top_compound(s)[0][0] is None


@pytest.mark.parametrize("e", BASIC + ("neutral",))
def test_pure_basic_expressions_are_not_compounds(e):
    prototypes = {
        "anger": ("AU04", "AU07", "AU23"), "disgust": ("AU09", "AU10", "AU17"),
        "fear": ("AU01", "AU02", "AU04", "AU05", "AU20", "AU25"),
        "happiness": ("AU06", "AU12", "AU25"), "sadness": ("AU01", "AU04", "AU15"),
        "surprise": ("AU01", "AU02", "AU05", "AU25", "AU26"), "neutral": (),
    }
    names, _ = top_compound(compound_scores(aus(*prototypes[e]), proba(**{e: 0.9})))
    assert names[0] is None


def test_component_probabilities_decide_between_compounds():
    a = aus("AU01", "AU02", "AU12", "AU25", "AU05", "AU26")
    assert top_compound(compound_scores(a, proba(happiness=0.45, surprise=0.45)))[0][0] \
        == "happily_surprised"
    s = compound_scores(a, proba(fear=0.45, sadness=0.45))
    assert s["happily_surprised"].iloc[0] < 0.1


def test_score_grows_with_au_activity():
    p = proba(happiness=0.45, surprise=0.45)
    on = ("AU01", "AU02", "AU12", "AU25")
    s = [compound_scores(aus(*on, up=u), p)["happily_surprised"].iloc[0]
         for u in (-3.0, 0.0, 1.0, 4.0)]
    assert np.all(np.diff(s) > 0)


def test_emphasis_separates_same_component_compounds():
    a = aus("AU04", "AU10", "AU09", "AU17")
    assert top_compound(compound_scores(a, proba(disgust=0.6, anger=0.3)))[0][0] == "appalled"
    assert top_compound(compound_scores(a, proba(anger=0.6, disgust=0.3)))[0][0] == "hatred"
    assert top_compound(compound_scores(a, proba(anger=0.45, disgust=0.45)))[0][0] \
        == "angrily_disgusted"


def test_evidence_factors_and_ranges():
    p = np.stack([component_proba(c) for c in COMPOUNDS])
    x = np.stack([aus(*c.principal) for c in COMPOUNDS])
    e, a = compound_evidence(x, p)
    s = compound_scores(x, p)
    np.testing.assert_allclose(s.to_numpy(), (e * a).to_numpy())
    assert ((s >= 0) & (s <= 1)).all().all()
    # The expression part is 1 when the two components hold everything in the ratio w:1-w.
    c = COMPOUNDS[0]
    e1, _ = compound_evidence(aus(), proba(**{c.components[0]: 0.5, c.components[1]: 0.5}))
    assert e1[c.name].iloc[0] == pytest.approx(1.0)


def test_shapes_inputs_and_nan():
    x = np.stack([aus(), aus("AU12"), aus()])
    p = np.stack([proba(happiness=0.9), proba(happiness=0.45, surprise=0.45),
                  np.full(8, np.nan)])
    s = compound_scores(x, p)
    assert s.shape == (3, 15) and list(s.columns) == list(COMPOUND_NAMES)
    assert s.iloc[:2].notna().all().all() and s.iloc[2].isna().all()
    names, score = top_compound(s)
    assert names.shape == score.shape == (3,)
    assert names[2] is None and np.isnan(score[2]) and np.isfinite(score[:2]).all()
    # 7-column (FER-2013) probabilities, 1-D single face and DataFrames agree.
    np.testing.assert_allclose(compound_scores(x[1], p[1, :7]).to_numpy(), s.iloc[[1]])
    df = pd.DataFrame(np.hstack([x, p]), columns=list(AU_NAMES) + list(EXPRESSIONS),
                      index=[10, 11, 12])
    sd = compound_scores(df, df)
    assert list(sd.index) == [10, 11, 12]
    np.testing.assert_allclose(sd.to_numpy(), s.to_numpy())
    # Empty input.
    assert compound_scores(np.zeros((0, N_AU)), np.zeros((0, 8))).shape == (0, 15)
    assert top_compound(np.zeros((0, 15)))[0].shape == (0,)
    with pytest.raises(FauError):
        compound_scores(x, p[:2])
    with pytest.raises(FauError):
        compound_scores(x, np.zeros((3, 5)))


# -- valence / arousal -------------------------------------------------------------------


def test_valence_sign_per_class():
    va = valence_arousal(np.eye(8))
    v = dict(zip(EXPRESSIONS, va[:, 0]))
    assert v["happiness"] > 0.5
    for e in ("anger", "sadness", "disgust", "fear", "contempt"):
        assert v[e] < -0.3
    assert v["neutral"] == 0


def test_arousal_order():
    a = dict(zip(EXPRESSIONS, valence_arousal(np.eye(8))[:, 1]))
    for hi in ("surprise", "fear"):
        for lo in ("sadness", "neutral"):
            assert a[hi] > a[lo]
    assert a["sadness"] < 0


def test_valence_arousal_with_aus():
    p = np.tile(proba(neutral=1.0), (5, 1))
    x = np.stack([aus(), aus("AU12", "AU06"), aus("AU04", "AU15"),
                  aus("AU05", "AU26", "AU01", "AU02"), aus("AU45")])
    va = valence_arousal(p, x)
    assert va.shape == (5, 2)
    assert ((va >= -1) & (va <= 1)).all()
    assert abs(va[0, 0]) < 0.05 and abs(va[0, 1]) < 0.05
    assert va[1, 0] > 0.2 and va[2, 0] < -0.2
    assert va[3, 1] > 0.2 and va[4, 1] < -0.1
    # au_weight 0 ignores the AUs; NaN AUs fall back to the expression part.
    np.testing.assert_allclose(valence_arousal(p, x, au_weight=0.0), valence_arousal(p))
    xn = x.copy()
    xn[1] = np.nan
    np.testing.assert_allclose(valence_arousal(p, xn)[1], valence_arousal(p)[1])
    with pytest.raises(FauError):
        valence_arousal(p, x, au_weight=2.0)


def test_valence_arousal_nan_and_mixture():
    p = np.stack([proba(happiness=0.5, sadness=0.5), np.full(8, np.nan), np.zeros(8)])
    va = valence_arousal(p)
    mid = (np.array(CIRCUMPLEX["happiness"]) + np.array(CIRCUMPLEX["sadness"])) / 2
    # proba() spreads nothing when the given classes sum to 1.
    np.testing.assert_allclose(va[0], mid)
    assert np.isnan(va[1:]).all()


# -- Detector table ----------------------------------------------------------------------


def detector_like_table(proba_rows) -> pd.DataFrame:
    x = np.stack([aus("AU01", "AU02", "AU12", "AU25"), aus("AU06", "AU12", "AU25")])
    p = np.asarray(proba_rows, dtype=float)
    df = pd.DataFrame({"face": [0, 1], "face_score": [0.9, 0.8]})
    for i, n in enumerate(AU_NAMES):
        df[n] = x[:, i]
    for i, n in enumerate(EXPRESSIONS):
        df[n] = p[:, i]
    ok = np.isfinite(p).all(axis=1)
    df["expression"] = [EXPRESSIONS[int(np.argmax(r))] if k else None for r, k in zip(p, ok)]
    df["bs_neutral"] = 0.0
    return df


def test_add_compound_columns():
    df = detector_like_table([proba(happiness=0.45, surprise=0.45), proba(happiness=0.9)])
    out = add_compound_columns(df)
    assert df.columns.tolist() == detector_like_table([proba(), proba()]).columns.tolist()
    cols = out.columns.tolist()
    i = cols.index("expression")
    assert cols[i + 1: i + 5] == list(COMPOUND_COLUMNS) and cols[-1] == "bs_neutral"
    assert out["compound"].tolist() == ["happily_surprised", None]
    assert out["compound_score"].iloc[0] > 0.8 and out["compound_score"].iloc[1] < 0.4
    assert out["valence"].iloc[1] > 0.5
    assert out["compound"].dtype == object and out["valence"].dtype == np.float64


def test_add_compound_columns_without_expression_model():
    df = detector_like_table(np.full((2, 8), np.nan))
    out = add_compound_columns(df)
    assert out["compound"].tolist() == [None, None]
    assert out[["compound_score", "valence", "arousal"]].isna().all().all()


def test_add_compound_columns_overwrites_existing_and_handles_empty():
    df = detector_like_table([proba(happiness=0.45, surprise=0.45), proba(anger=0.9)])
    df.insert(df.columns.get_loc("expression") + 1, "compound", None)
    for name in COMPOUND_COLUMNS[1:]:
        df.insert(df.columns.get_loc("compound") + COMPOUND_COLUMNS.index(name), name, np.nan)
    out = add_compound_columns(df)
    assert out.columns.tolist() == df.columns.tolist()
    assert out["compound"].iloc[0] == "happily_surprised"
    empty = add_compound_columns(df.iloc[:0])
    assert len(empty) == 0 and set(COMPOUND_COLUMNS) <= set(empty.columns)
    with pytest.raises(FauError):
        add_compound_columns(df.drop(columns=["AU12"]))
