"""Tests for benchmarks/fer_eval.py on small synthetic arrays (no FER data needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import fer_eval  # noqa: E402
from fer_eval import (  # noqa: E402
    EXPRESSIONS,
    evaluate,
    expected_calibration_error,
    ferplus_majority,
    ferplus_soft_targets,
    pad_proba,
    write_result,
)

# FER+ file order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
N, HAP, SUR, SAD, ANG, DIS, FEA, CON, UNK, NF = range(10)


def _row(**kw: int) -> list[int]:
    idx = {"N": N, "HAP": HAP, "SUR": SUR, "SAD": SAD, "ANG": ANG, "DIS": DIS,
           "FEA": FEA, "CON": CON, "UNK": UNK, "NF": NF}
    r = [0] * 10
    for k, v in kw.items():
        r[idx[k]] = v
    return r


def test_class_reorder() -> None:
    assert [fer_eval.FERPLUS_FILE_COLUMNS[i] for i in fer_eval.FERPLUS_TO_FAU] == list(EXPRESSIONS)


def test_majority_rule_hand_made_rows() -> None:
    rows = [
        _row(HAP=10),                    # clear happiness
        _row(N=5, SAD=5),                # tie 5/5 -> no strict majority -> excluded
        _row(N=6, SAD=4),                # neutral 6/10
        _row(ANG=5, DIS=1, FEA=1, SAD=3),  # outliers dropped: anger 5 of 8 -> anger
        _row(ANG=4, DIS=4, CON=1, SAD=1),  # after dropping 1s: 4/8 tie -> excluded
        _row(NF=6, N=4),                 # NF majority -> excluded
        _row(UNK=6, SUR=4),              # unknown majority -> excluded
        _row(CON=3, N=2, SAD=1, HAP=1, ANG=1, DIS=1, FEA=1),  # 3 of 5 after dropping -> contempt
        _row(N=1, HAP=1, SUR=1, SAD=1, ANG=1, DIS=1, FEA=1, CON=1, UNK=1, NF=1),  # all outliers
        _row(SUR=5, FEA=4, UNK=1),       # 5 of 9 kept (unknown single dropped) -> surprise
        _row(SUR=5, FEA=3, UNK=2),       # 5 of 10 (unknown counts) -> excluded
    ]
    got = ferplus_majority(np.array(rows, dtype=np.uint8)).tolist()
    e = EXPRESSIONS.index
    assert got == [e("happiness"), -1, e("neutral"), e("anger"), -1, -1, -1,
                   e("contempt"), -1, e("surprise"), -1]


def test_majority_bad_shape() -> None:
    with pytest.raises(ValueError):
        ferplus_majority(np.zeros((3, 8)))


def test_soft_targets() -> None:
    rows = np.array([_row(HAP=6, SUR=3, SAD=1), _row(NF=10)], dtype=np.uint8)
    t = ferplus_soft_targets(rows, file_order=True)
    e = EXPRESSIONS.index
    assert t.shape == (2, 8)
    np.testing.assert_allclose(t[0, e("happiness")], 6 / 9, rtol=1e-6)
    np.testing.assert_allclose(t[0, e("surprise")], 3 / 9, rtol=1e-6)
    assert t[0, e("sadness")] == 0
    assert t[1].sum() == 0
    t2 = ferplus_soft_targets(rows, file_order=True, drop_single_votes=False)
    np.testing.assert_allclose(t2[0, e("sadness")], 0.1, rtol=1e-6)


def test_ece_perfectly_calibrated_is_small() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    conf = rng.uniform(0.5, 1.0, n)
    correct = rng.uniform(size=n) < conf  # P(correct | conf) == conf
    ece, _ = expected_calibration_error(correct, conf, 15)
    assert ece < 0.01


def test_ece_overconfident_is_large() -> None:
    rng = np.random.default_rng(1)
    n = 10_000
    conf = np.full(n, 0.99)
    correct = rng.uniform(size=n) < 0.5
    ece, _ = expected_calibration_error(correct, conf, 15)
    assert ece > 0.45


def test_evaluate_calibrated_toy_via_proba() -> None:
    # 2 classes, every row says 0.8 for the predicted class, and 80% are right.
    n = 1000
    y = np.zeros(n, dtype=int)
    y[800:] = 1
    proba = np.tile([0.8, 0.2], (n, 1))
    m = evaluate(y, proba, ["a", "b"])
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["ece"] == pytest.approx(0.0, abs=1e-12)
    assert m["n"] == n and m["n_unscored"] == 0


def test_evaluate_perfect_and_per_class() -> None:
    y = np.array([0, 1, 2, 2])
    proba = np.eye(3)[y]
    m = evaluate(y, proba, ["x", "y", "z"])
    assert m["accuracy"] == 1.0 and m["macro_f1"] == 1.0
    assert m["per_class"]["z"]["support"] == 2
    assert m["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 0, 2]]
    assert m["ece"] == pytest.approx(0.0)


def test_nan_rows_counted_wrong() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [np.nan, np.nan], [0.2, 0.8], [np.nan, np.nan]])
    m = evaluate(y, proba, ["a", "b"])
    assert m["n"] == 4
    assert m["n_unscored"] == 2
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["per_class"]["a"]["recall"] == pytest.approx(0.5)
    assert m["per_class"]["a"]["precision"] == pytest.approx(1.0)
    assert m["unscored_per_class"] == [1, 1]
    assert sum(map(sum, m["confusion"])) == 2


def test_seven_class_model_under_eight_classes() -> None:
    y = np.array([7, 3, 3])
    proba = np.zeros((3, 7))
    proba[:, 3] = 1.0
    m = evaluate(y, proba, EXPRESSIONS)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["per_class"]["contempt"]["recall"] == 0.0
    p = pad_proba(np.array([[np.nan] * 7]), 8)
    assert np.isnan(p).all()


def test_write_result_and_table(tmp_path: Path) -> None:
    y = np.array([0, 1, 1])
    m = evaluate(y, np.eye(2)[[0, 1, 0]], ["a", "b"])
    out = write_result("toy", "fer2013", m, command="pytest", notes="n", path=tmp_path)
    rec = json.loads(out.read_text())
    assert out.name == "toy__fer2013.json"
    assert rec["metrics"]["accuracy"] == pytest.approx(2 / 3)
    assert rec["command"] == "pytest" and rec["machine"]["cpu_count"] >= 1 and rec["date"]
    with pytest.raises(ValueError):
        write_result("toy", "other", m, command="x", path=tmp_path)
    import make_table

    text = make_table.render(make_table.load_results(tmp_path))
    assert "toy" in text and "66.7" in text


def test_reliability_diagram(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), 50)
    p[0] = np.nan
    out = fer_eval.reliability_diagram(rng.integers(0, 3, 50), p, tmp_path / "r.png", "toy")
    assert out.stat().st_size > 1000


def test_load_fer_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="FAU_FER2013"):
        fer_eval.load_fer(tmp_path / "nope.npz")
