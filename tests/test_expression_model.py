"""Expression model files: digests, logit offsets, and honest movement/appearance shares."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

import fau
from fau.au.geometry import AU_NAMES
from fau.expression import model_files
from fau.expression.explain import explain_blocks, logit_sources
from fau.expression.labels import EXPRESSIONS
from fau.expression.model import ExpressionModel
from fau.resources import model_path

xgb = pytest.importorskip("xgboost")


def _blocks(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "landmarks": np.zeros((n, 478, 3), np.float32),
        "au": rng.normal(size=(n, len(AU_NAMES))),
        "pose": rng.normal(size=(n, 3)) * 10,
        "appearance": rng.normal(size=(n, 15)).astype(np.float32),
    }


def _tiny_model(blocks: tuple[str, ...], offsets=None) -> ExpressionModel:
    """A small 3-class model whose classes depend on one AU and one appearance logit."""
    b = _blocks(300)
    y = (b["au"][:, 0] > 0).astype(int) + (b["appearance"][:, 0] > 0.5).astype(int)
    m = ExpressionModel(booster=None, classes=("anger", "happiness", "neutral"), blocks=blocks,
                        temperature=1.3, logit_offsets=offsets)
    d = xgb.DMatrix(m.assemble(b), label=y, feature_names=m.feature_names)
    m.booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3,
                           "nthread": 1, "seed": 0}, d, num_boost_round=20)
    return m


def test_logit_offsets_enter_probabilities_and_bias(tmp_path):
    plain = _tiny_model(("au", "pose"))
    shifted = ExpressionModel(plain.booster, plain.classes, plain.blocks,
                              temperature=plain.temperature, logit_offsets=[0.0, 0.0, -2.0])
    x = plain.assemble(_blocks(20, seed=1))
    z0, z1 = plain.logits(x), shifted.logits(x)
    assert np.allclose(z1 - z0, [0.0, 0.0, -2.0])
    p = shifted.predict_proba(x)[:, [EXPRESSIONS.index(c) for c in shifted.classes]]
    e = np.exp(z1 - z1.max(1, keepdims=True))
    assert np.allclose(p, e / e.sum(1, keepdims=True))
    contrib, _, bias = shifted.contributions(x)
    assert np.allclose(bias + contrib.sum(axis=2), z1, atol=1e-4)
    path = tmp_path / "m.npz"
    shifted.save(path)
    back = ExpressionModel.load(path)
    assert np.allclose(back.logit_offsets, [0.0, 0.0, -2.0])
    assert np.allclose(back.predict_proba(x), shifted.predict_proba(x))


def test_shares_of_a_fused_model_add_up():
    m = _tiny_model(("au", "pose", "appearance"))
    b = _blocks(15, seed=2)
    src = logit_sources(m, b)
    assert len(src) == 15 * 3
    assert np.allclose(src.bias + src.movement + src.appearance, src.logit, atol=1e-4)
    assert ((src.appearance_share >= 0) & (src.appearance_share <= 1)).all()
    assert src.appearance_share.max() > 0.2  # this model does read its appearance logit
    ex = explain_blocks(m, b)
    assert set(ex["source"]) == {"movement", "appearance"}
    app = ex[ex.source == "appearance"].groupby(["face", "expression"])["contribution"].sum()
    first = ex.groupby(["face", "expression"])["appearance"].first()
    assert np.allclose(app.sort_index(), first.sort_index())


def test_movements_only_model_has_no_appearance_share():
    m = _tiny_model(("au", "pose"))
    src = logit_sources(m, _blocks(10, seed=3))
    assert (src.appearance == 0).all() and (src.appearance_share == 0).all()
    assert np.allclose(src.bias + src.movement, src.logit, atol=1e-4)


def test_no_faces_give_empty_tables():
    m = _tiny_model(("au", "pose"))
    empty = {k: v[:0] for k, v in _blocks(1).items()}
    assert logit_sources(m, empty).empty and explain_blocks(m, empty).empty
    # with the dtypes of a table of faces: concatenated with one, it keeps float columns
    for table in (logit_sources, explain_blocks):
        some, none = table(m, _blocks(2)), table(m, empty)
        assert list(none.columns) == list(some.columns)
        assert none.dtypes.to_dict() == some.dtypes.to_dict()
        assert pd.concat([some, none]).dtypes.to_dict() == some.dtypes.to_dict()


def test_bundled_model_digests_are_listed_and_match():
    digests = model_files.bundled_digests()
    for name in fau.EXPRESSION_MODELS:
        f = f"expression_{name}.npz"
        assert digests[f] == hashlib.sha256(model_path(f).read_bytes()).hexdigest()
    assert "appearance_cnn.onnx" in digests


def test_corrupt_bundled_file_is_refused(tmp_path, monkeypatch):
    """A bundled file whose bytes do not match SHA256SUMS gives a FauError naming it."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(model_path("SHA256SUMS"), folder / "SHA256SUMS")
    good = model_path("expression_ferplus.npz").read_bytes()
    (folder / "expression_ferplus.npz").write_bytes(good[:-10] + b"0123456789")
    (folder / "unlisted.npz").write_bytes(good)
    monkeypatch.setattr(model_files, "model_path", lambda name: folder / name)
    model_files.bundled_digests.cache_clear()
    try:
        with pytest.raises(fau.FauError, match="corrupt"):
            ExpressionModel.load(folder / "expression_ferplus.npz")
        with pytest.raises(fau.FauError, match="not listed"):
            model_files.read_checked(folder / "unlisted.npz")
        outside = tmp_path / "candidate.npz"  # not a bundled file: read as it is
        outside.write_bytes(good)
        assert ExpressionModel.load(outside).classes
    finally:
        model_files.bundled_digests.cache_clear()


def test_geometric_model_explains_with_movements_only(data_dir):
    """The bundled movements-only model: no appearance CNN, explanations all movement."""
    img = data_dir / "cremad_hap.jpg"
    with fau.Detector(expression_model="geometric") as det:
        assert not det.model.uses_appearance
        ex = det.explain(str(img))
        faces = det.detect_image(str(img))
    assert len(faces) == 1 and faces.iloc[0]["expression"] == "happiness"
    assert set(ex["source"]) == {"movement"} and (ex["appearance_share"] == 0).all()
    g = ex.groupby(["face", "expression"]).first()
    assert np.allclose(g["bias"] + g["movement"], g["logit"], atol=1e-3)


def _late_model() -> tuple[ExpressionModel, ExpressionModel]:
    """A movements-only tiny model and the same booster with a late-fusion CNN term."""
    mov = _tiny_model(("au", "pose"))
    w = np.zeros((3, 15))
    w[0, 0], w[1, 10], w[2, 13] = 0.7, -0.4, 1.1
    late = ExpressionModel(mov.booster, mov.classes, ("au", "pose", "appearance"),
                           temperature=mov.temperature, logit_offsets=[0.1, 0.0, -0.3],
                           appearance_weights=w)
    return mov, late


def test_late_fusion_adds_the_cnn_term_to_the_movement_logits(tmp_path):
    mov, late = _late_model()
    b = _blocks(25, seed=4)
    xm, xl = mov.assemble(b), late.assemble(b)
    assert late.late_fusion and late.booster_feature_names == mov.feature_names
    expected = mov.logits(xm) + b["appearance"].astype(np.float64) @ late.appearance_weights.T
    assert np.allclose(late.logits(xl), expected + [0.1, 0.0, -0.3], atol=1e-5)
    # The appearance part of an explanation is exactly the linear CNN term.
    src = logit_sources(late, b)
    term = (b["appearance"].astype(np.float64) @ late.appearance_weights.T).ravel()
    assert np.allclose(src.appearance.to_numpy(), term, atol=1e-5)
    assert np.allclose(src.bias + src.movement + src.appearance, src.logit, atol=1e-4)
    assert np.allclose(src.logit.to_numpy(), late.logits(xl).ravel(), atol=1e-4)
    path = tmp_path / "late.npz"
    late.save(path)
    back = ExpressionModel.load(path)
    assert back.late_fusion and np.allclose(back.appearance_weights, late.appearance_weights)
    assert np.allclose(back.predict_proba(xl), late.predict_proba(xl))


def test_late_fusion_weights_need_the_appearance_block():
    mov, late = _late_model()
    with pytest.raises(fau.FauError, match="appearance"):
        ExpressionModel(mov.booster, mov.classes, ("au", "pose"),
                        appearance_weights=late.appearance_weights)


def test_bundled_models_read_todays_au_columns_and_fuse_appearance_linearly():
    """The shipped heads were trained on this fau's AU columns (not the legacy 21); the
    two CNN models add the CNN's logits through one weight (late fusion)."""
    for name in fau.EXPRESSION_MODELS:
        m = ExpressionModel.load(model_path(f"expression_{name}.npz"))
        assert m.au_names == AU_NAMES, name
        if m.uses_appearance:
            assert m.late_fusion and np.count_nonzero(m.appearance_weights) == len(m.classes)
            assert not any(n.startswith("cnn_") for n in m.booster_feature_names)
