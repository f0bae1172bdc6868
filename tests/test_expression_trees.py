"""Faster forms of the same expression models: the booster's compiled trees
(fau.expression.trees) and the appearance CNN's members run at the same time."""

from __future__ import annotations

import builtins
import io
import json

import numpy as np
import pytest

import fau
from fau.expression.model import ExpressionModel
from fau.expression.trees import TreeMargins, check_agreement, compile_trees
from fau.resources import model_path

xgb = pytest.importorskip("xgboost")


def _rows(n: int, nf: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, nf)) * 2).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


@pytest.mark.parametrize("name", fau.EXPRESSION_MODELS)
def test_bundled_models_score_with_their_compiled_trees(name, monkeypatch):
    m = ExpressionModel.load(model_path(f"expression_{name}.npz"))
    assert m.trees is not None
    x = _rows(200, len(m.booster_feature_names))
    ref = np.asarray(m.booster.inplace_predict(x, predict_type="margin")).reshape(200, -1)
    got = m.trees(x)
    assert np.abs(got - ref).max() < 1e-4
    assert (got.argmax(1) == ref.argmax(1)).all()
    # Scoring goes through the trees, not XGBoost's predictor.
    def no_xgboost(*args, **kwargs):
        raise AssertionError("scored by XGBoost")

    monkeypatch.setattr(m.booster, "inplace_predict", no_xgboost)
    assert np.allclose(m._booster_margins(x), got)


def test_scoring_a_bundled_model_does_not_import_xgboost():
    """The compiled trees score; XGBoost is read only for explanations (LazyBooster)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from fau.expression.model import ExpressionModel\n"
        "from fau.resources import model_path\n"
        "m = ExpressionModel.load(model_path('expression_ferplus.npz'))\n"
        "x = np.zeros((2, len(m.feature_names)), np.float32)\n"
        "p = m.predict_proba(x)\n"
        "assert 'xgboost' not in sys.modules, 'xgboost imported by scoring'\n"
        "assert not m.booster.loaded\n"
        "c, groups, bias = m.contributions(x)\n"
        "assert m.booster.loaded and 'xgboost' in sys.modules\n"
        "z = m.logits(x)\n"
        "assert np.allclose(bias + c.sum(axis=2), z, atol=1e-4)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_broken_booster_in_a_file_is_a_clear_error(tmp_path):
    z = dict(np.load(model_path("expression_ferplus.npz")))
    z["booster"] = np.frombuffer(b"\x00garbage" * 10, dtype=np.uint8)
    np.savez(tmp_path / "b.npz", **z)
    with pytest.raises(fau.FauError, match="cannot load the booster of expression model"):
        ExpressionModel.load(tmp_path / "b.npz")


def _small_booster() -> tuple[object, np.ndarray]:
    """A 3-class booster on 5 columns and its 300 training rows."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3,
                         "nthread": 1, "seed": 0}, xgb.DMatrix(x, label=y), num_boost_round=15)
    return booster, x


def test_setting_another_booster_drops_the_compiled_trees():
    m = ExpressionModel.load(model_path("expression_ferplus.npz"))
    assert m.trees is not None
    cut = m.booster[:20]
    m.booster = cut  # e.g. train_fusion.py --rounds
    assert m.trees is None
    x = _rows(30, len(m.booster_feature_names))
    ref = np.asarray(cut.inplace_predict(x, predict_type="margin")).reshape(30, -1)
    assert np.allclose(m._booster_margins(x), ref)


def test_a_file_whose_trees_are_not_its_boosters_is_refused(tmp_path):
    m = ExpressionModel.load(model_path("expression_ferplus.npz"))
    path = tmp_path / "m.npz"
    m.save(path)
    z = dict(np.load(path))
    # The trees of a cut booster (its first 20 rounds): same columns, other margins.
    z["trees"] = np.frombuffer(compile_trees(m.booster[:20], len(m.booster_feature_names)),
                               dtype=np.uint8)
    np.savez(path, **z)
    with pytest.raises(fau.FauError, match="compiled trees disagree with its booster"):
        ExpressionModel.load(path)
    z["trees"] = np.frombuffer(b"not an onnx graph", dtype=np.uint8)
    np.savez(path, **z)
    with pytest.raises(fau.FauError, match="cannot load the expression model's compiled trees"):
        ExpressionModel.load(path)


def test_a_format_3_file_without_trees_scores_with_its_booster(tmp_path):
    m = ExpressionModel.load(model_path("expression_ferplus.npz"))
    z = dict(np.load(model_path("expression_ferplus.npz")))
    del z["trees"]
    meta = json.loads(bytes(z["meta"]).decode())
    meta["format"] = 3
    z["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **z)
    (tmp_path / "old.npz").write_bytes(buf.getvalue())
    old = ExpressionModel.load(tmp_path / "old.npz")
    assert old.trees is None
    x = _rows(50, len(m.booster_feature_names))
    assert np.abs(old._booster_margins(x) - m._booster_margins(x)).max() < 1e-4


def test_saved_files_record_the_compiler_and_check_at_load(tmp_path):
    booster, x = _small_booster()
    trees = TreeMargins(compile_trees(booster, 5))
    assert check_agreement(trees, booster) < 1e-4
    ref = np.asarray(booster.inplace_predict(x, predict_type="margin"))
    assert np.abs(trees(x) - ref).max() < 1e-4
    m = ExpressionModel.load(model_path("expression_ferplus.npz"))
    m.save(tmp_path / "again.npz")
    meta = json.loads(bytes(np.load(tmp_path / "again.npz")["meta"]).decode())
    assert meta["format"] == 4 and meta["trees_compiler"].startswith("onnxmltools ")


def test_writing_a_model_without_onnxmltools_says_what_to_install(monkeypatch):
    booster, _ = _small_booster()
    real_import = builtins.__import__

    def no_onnxmltools(name, *args, **kwargs):
        if name.startswith("onnxmltools"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxmltools)
    with pytest.raises(fau.FauError, match=r"pip install 'fau\[train\]'"):
        compile_trees(booster, 5)


# -- the appearance CNN's members (fau.expression.appearance, members) ------------------

def test_cnn_members_give_the_one_graphs_logits_bit_for_bit():
    from fau.expression.appearance import AppearanceModel, MEMBER_FILES

    patches = np.random.default_rng(5).integers(0, 256, (9, 48, 48)).astype(np.uint8)
    one = AppearanceModel(num_threads=1)
    pooled = AppearanceModel(members=True)
    try:
        assert pooled.members and len(MEMBER_FILES) == 4
        ref = one.logits(patches)
        assert np.array_equal(pooled.logits(patches), ref)
        assert np.array_equal(pooled.logits(patches[:1]), one.logits(patches[:1]))
        assert pooled.logits(patches[:0]).shape == (0, 15)
    finally:
        pooled.close()
    # After close the members still run, one after another on the calling thread.
    assert np.array_equal(pooled.logits(patches), ref)


def test_cnn_members_options_are_checked(monkeypatch):
    from fau.expression import appearance

    with pytest.raises(ValueError, match="members must be True, False or 'auto'"):
        appearance.AppearanceModel(members="yes")
    with pytest.raises(ValueError, match="give no path"):
        appearance.AppearanceModel(members=True, path=model_path("appearance_cnn.onnx"))
    monkeypatch.setattr(appearance, "usable_cores", lambda: 2)
    assert not appearance.AppearanceModel(members="auto").members
    monkeypatch.setattr(appearance, "usable_cores", lambda: 8)
    m = appearance.AppearanceModel(members="auto")
    assert m.members
    m.close()
    assert not appearance.AppearanceModel(members="auto", path=model_path("appearance_cnn.onnx")
                                          ).members


def test_detector_threads_choose_the_cnn_form(monkeypatch):
    from fau.expression import appearance

    monkeypatch.setattr(appearance, "usable_cores", lambda: 8)
    with fau.Detector() as det:
        assert det.pipeline.model is not None  # loads the models
        assert det.pipeline.appearance.members
    with fau.Detector(num_threads=1) as det:
        assert det.pipeline.model is not None
        assert not det.pipeline.appearance.members
    monkeypatch.setattr(appearance, "usable_cores", lambda: 2)
    with fau.Detector() as det:
        assert det.pipeline.model is not None
        assert not det.pipeline.appearance.members
