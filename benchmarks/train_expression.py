"""Train, calibrate and evaluate fau's XGBoost expression models on FER-2013 / FER+.

Protocol: fit on Training, choose the number of boosting rounds (early stopping) and the
softmax temperature on PublicTest, evaluate once on PrivateTest. Features come from
``cache/fer_mesh.npz`` (``benchmarks/extract_fer.py``: fau's cropped-face path) through
`fau.expression.features.mesh_blocks`, the function `fau.Detector` uses, and for the
``appearance`` block from ``cache/cnn_logits.npz`` (``benchmarks/train_cnn.py``:
out-of-fold logits on Training rows, the shipped ONNX model's logits on test rows).

Variants (feature blocks):
    geom         au + pose + shape          (the geometric AU model)
    geom_bs      geom + blendshapes
    appearance   appearance                 (CNN logits only)
    fused        geom + blendshapes + appearance
    geometric    geom + blendshapes: movements of the mesh only, no appearance
                 (shipped as ``expression_geometric.npz``; its explanations are movements only)
    noshape      au + pose + blendshapes: geometric without the mesh-shape block, whose
                 principal components carry face shape (who the person is) beside movement

Options weighed for robustness beyond FER-2013 (issue 14; docs/model_card.md):
``--tau``          logit adjustment: the model file adds ``-tau * log(prior)`` to the
                   calibrated logits (prior = the class shares of the training targets),
                   so classes that are common in FER-2013/FER+ (neutral) no longer win
                   by default on expressive faces (Menon et al., ICLR 2021).
``--hard-weight``  FER+ model: add every Training face once more with its FER-2013 hard
                   label at this weight (FER-2013 hard labels together with FER+ soft ones).
``--augmented``    add every Training face once more with the mesh measured on an altered
                   copy of its crop (``extract_fer.py --augment SEED``: box moved, scaled and
                   rolled; gamma, blur, low resolution, noise, JPEG), same targets; early
                   stopping and temperature stay on the unaltered PublicTest meshes.

Usage::

    python benchmarks/train_expression.py --labels fer2013 --variant geom_bs
    python benchmarks/train_expression.py --labels ferplus --variant fused --ship

``--ship`` writes ``fau/models/expression_<labels>.npz``. Results go to
``benchmarks/results/fau_<variant>__<labels>.json`` (see ``benchmarks/fer_eval.py``).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.decomposition import PCA

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fer_eval  # noqa: E402
from fau.au.geometry import mirror_landmarks  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.landmarks.base import BLENDSHAPE_NAMES  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402

log = logging.getLogger("train_expression")

VARIANTS = {
    "geom": ("au", "pose", "shape"),
    "geom_bs": ("au", "pose", "shape", "blendshapes"),
    "appearance": ("appearance",),
    "fused": ("au", "pose", "shape", "blendshapes", "appearance"),
    "geometric": ("au", "pose", "shape", "blendshapes"),
    "noshape": ("au", "pose", "blendshapes"),
}
SEED = 0
#: XGBoost settings (fixed a priori; rounds chosen by early stopping on PublicTest).
PARAMS = {
    "objective": "multi:softprob",
    "eval_metric": "mlogloss",
    "tree_method": "hist",
    "max_depth": 5,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.5,
    "min_child_weight": 2.0,
    "lambda": 2.0,
    "max_bin": 128,
    "seed": SEED,
}
MAX_ROUNDS = 3000
EARLY_STOP = 100


def _mirror_blendshapes(bs: np.ndarray) -> np.ndarray:
    """Blendshapes of the mirrored face: swap every ...Left / ...Right pair."""
    names = list(BLENDSHAPE_NAMES)

    def twin(n: str) -> str:
        if n.endswith("Left"):
            return n[: -len("Left")] + "Right"
        if n.endswith("Right"):
            return n[: -len("Right")] + "Left"
        return n

    return bs[:, [names.index(twin(n)) for n in names]]


def load_blocks(mesh_path: Path, cnn_path: Path | None, *, mirror: bool = False
                ) -> dict[str, np.ndarray]:
    """Feature blocks of all FER-2013 rows; ``mirror``: of the horizontally flipped images."""
    m = np.load(mesh_path)
    lm, bs = m["landmarks"], m["blendshapes"]
    if mirror:
        lm, bs = mirror_landmarks(lm, 48.0).astype(np.float32), _mirror_blendshapes(bs)
    blocks = mesh_blocks(lm, bs, m["presence"])
    if cnn_path is not None and cnn_path.is_file():
        c = np.load(cnn_path)
        # The CNN is trained with random flips, so its logits of a flipped face are taken
        # as those of the face itself (no second CNN pass for mirrored rows).
        blocks["appearance"] = np.concatenate(
            [c["fer2013_logits"], c["ferplus_logits"]], axis=1
        ).astype(np.float32)
    return blocks


def cnn_provenance(cnn_path: Path) -> dict:
    """Where the appearance logits of the training rows came from (the logits file's
    own ``info``: ONNX files, which rows are out-of-fold), for the model's ``info``."""
    info = {}
    with np.load(cnn_path) as c:
        if "info" in c.files:
            info = json.loads(str(c["info"]))
    return {"logits_file": str(cnn_path.relative_to(ROOT) if cnn_path.is_relative_to(ROOT)
                               else cnn_path), **info}


def targets(data: dict, labels: str, split: int, hard_weight: float = 0.0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows, class indices and weights (FER+: one row per voted class).

    ``hard_weight`` > 0 (FER+ only) adds each face once more with its FER-2013 label.
    """
    idx = np.flatnonzero(data["split"] == split)
    if labels == "fer2013":
        return idx, data["labels"][idx], np.ones(len(idx))
    soft = fer_eval.ferplus_soft_targets(data["votes"][idx])
    rows, cls = np.nonzero(soft > 0)
    r, c, w = idx[rows], cls, soft[rows, cls]
    if hard_weight > 0:
        r = np.concatenate([r, idx])
        c = np.concatenate([c, data["labels"][idx]])
        w = np.concatenate([w, np.full(len(idx), hard_weight)])
    return r, c, w


def class_prior(y: np.ndarray, w: np.ndarray, n_classes: int) -> np.ndarray:
    """Weighted class shares of the training targets (the prior of logit adjustment)."""
    p = np.bincount(y, weights=w, minlength=n_classes).astype(np.float64)
    return p / p.sum()


def fit_temperature(margins: np.ndarray, y: np.ndarray) -> float:
    def nll(t: float) -> float:
        z = margins / t
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    return float(minimize_scalar(nll, bounds=(0.3, 5.0), method="bounded").x)


def save_model(model: ExpressionModel, out: str | None, ship_name: str | None,
               priv_y: np.ndarray, proba: np.ndarray, *, title: str) -> None:
    """Save ``model`` to ``out`` (if given) and, with ``ship_name``, ship it.

    Shipping writes ``fau/models/expression_<ship_name>.npz`` and its PrivateTest
    reliability diagram ``docs/img/reliability_<ship_name>.png``.
    """
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        model.save(out)
        log.info("wrote %s", out)
    if ship_name:
        path = ROOT / "fau" / "models" / f"expression_{ship_name}.npz"
        model.save(path)
        img = ROOT / "docs" / "img"
        img.mkdir(parents=True, exist_ok=True)
        fer_eval.reliability_diagram(priv_y, proba, img / f"reliability_{ship_name}.png",
                                     title=title)
        log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)


def main() -> None:
    import xgboost as xgb

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", choices=["fer2013", "ferplus"], required=True)
    ap.add_argument("--variant", choices=list(VARIANTS), required=True)
    ap.add_argument("--mesh", default=str(ROOT / "cache/fer_mesh.npz"))
    ap.add_argument("--cnn", default=str(ROOT / "cache/cnn_logits.npz"))
    ap.add_argument("--pca", type=int, default=60, help="shape-block principal components")
    ap.add_argument("--max-depth", type=int, default=PARAMS["max_depth"])
    ap.add_argument("--eta", type=float, default=PARAMS["eta"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--flip", action="store_true",
                    help="add mirrored copies of the Training faces (tried: no gain on "
                         "PublicTest, so off by default)")
    ap.add_argument("--augmented", default="", metavar="MESH",
                    help="add Training rows from this mesh file of altered crops "
                         "(extract_fer.py --augment SEED)")
    ap.add_argument("--tau", type=float, default=0.0,
                    help="logit adjustment strength (0: none; offsets -tau*log(prior))")
    ap.add_argument("--hard-weight", type=float, default=0.0,
                    help="FER+: weight of extra FER-2013 hard-label rows (0: none)")
    ap.add_argument("--name", default="", help="model name (default: labels, or 'geometric')")
    ap.add_argument("--out", default="", help="also write the model file here")
    ap.add_argument("--dump", default="",
                    help="write the feature matrix and targets here for benchmarks/xgb_remote.py, then stop")
    ap.add_argument("--booster", default="",
                    help="use this booster (UBJSON, trained by benchmarks/xgb_remote.py) instead of training")
    ap.add_argument("--ship", action="store_true",
                    help="write fau/models/expression_<name>.npz")
    ap.add_argument("--results", default=str(ROOT / "benchmarks/results"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.time()
    data = fer_eval.load_fer()
    blocks = load_blocks(Path(args.mesh), Path(args.cnn))
    wanted = VARIANTS[args.variant]
    if "appearance" in wanted and "appearance" not in blocks:
        sys.exit(f"{args.cnn} not found: run benchmarks/train_cnn.py first")
    classes = EXPRESSIONS[:7] if args.labels == "fer2013" else EXPRESSIONS
    train_idx = np.flatnonzero(data["split"] == 0)

    shape_mean = shape_components = None
    if "shape" in wanted:
        pca = PCA(n_components=args.pca, random_state=SEED, svd_solver="randomized")
        pca.fit(blocks["shape"][train_idx])
        shape_mean, shape_components = pca.mean_, pca.components_
    model = ExpressionModel(
        booster=None, classes=tuple(classes), blocks=wanted,
        shape_mean=shape_mean, shape_components=shape_components,
    )
    X = model.assemble(blocks)

    tr, ytr, wtr = targets(data, args.labels, 0, args.hard_weight)
    va, yva, wva = targets(data, args.labels, 1)
    Xtr = X[tr]
    if args.flip:  # mirrored Training faces: exact for geometry, L/R swapped
        Xm = model.assemble(load_blocks(Path(args.mesh), Path(args.cnn), mirror=True))
        Xtr, ytr, wtr = np.vstack([Xtr, Xm[tr]]), np.concatenate([ytr, ytr]), np.concatenate([wtr, wtr])
    if args.augmented:  # the same faces, measured on altered crops
        Xa = model.assemble(load_blocks(Path(args.augmented), Path(args.cnn)))
        n = len(tr)
        Xtr = np.vstack([Xtr, Xa[tr]])
        ytr, wtr = np.concatenate([ytr, ytr[:n]]), np.concatenate([wtr, wtr[:n]])
    params = dict(PARAMS, num_class=len(classes), nthread=args.threads, max_depth=args.max_depth,
                  eta=args.eta)
    if args.dump:  # train where there are more cores (benchmarks/xgb_remote.py)
        out = Path(args.dump)
        out.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out / f"X_{args.variant}.npz", X=X,
                            feature_names=np.array(model.feature_names))
        np.savez_compressed(out / f"T_{args.labels}_h{args.hard_weight:g}.npz",
                            tr=tr, ytr=ytr, wtr=wtr, va=va, yva=yva, wva=wva,
                            params=np.array(json.dumps(params)),
                            max_rounds=MAX_ROUNDS, early_stop=EARLY_STOP)
        log.info("wrote %s (%d x %d)", out, *X.shape)
        return
    if args.booster:
        booster = xgb.Booster()
        booster.load_model(args.booster)
        params = dict(params, **json.loads(booster.attr("params") or "{}"))
    else:
        dtr = xgb.DMatrix(Xtr, label=ytr, weight=wtr, feature_names=model.feature_names)
        dva = xgb.DMatrix(X[va], label=yva, weight=wva, feature_names=model.feature_names)
        booster = xgb.train(
            params, dtr, num_boost_round=MAX_ROUNDS, evals=[(dva, "PublicTest")],
            early_stopping_rounds=EARLY_STOP, verbose_eval=200,
        )
        booster = booster[: booster.best_iteration + 1]
    model.booster = booster
    fit_s = time.time() - t0

    # Temperature on PublicTest (hard labels of the protocol).
    pub_idx, pub_y, _ = fer_eval.protocol_data(data, args.labels, 1)
    model.temperature = fit_temperature(model.margins(X[pub_idx]), pub_y)
    prior = class_prior(ytr, wtr, len(classes))
    model.logit_offsets = -args.tau * np.log(prior)

    priv_idx, priv_y, names = fer_eval.protocol_data(data, args.labels, 2)
    proba = model.predict_proba(X[priv_idx])[:, : len(names)]
    metrics = fer_eval.evaluate(priv_y, proba, names)
    pub_acc = float((model.predict_proba(X[pub_idx]).argmax(1) == pub_y).mean())
    command = "python benchmarks/train_expression.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    ship_name = args.name or ("geometric" if args.variant == "geometric" else args.labels)
    name = f"fau_{args.variant}" + (f"_tau{args.tau:g}" if args.tau else "") + (
        f"_hard{args.hard_weight:g}" if args.hard_weight else "") + (
        "_aug" if args.augmented else "")
    model.info = {
        "name": ship_name, "tau": args.tau, "hard_weight": args.hard_weight,
        "augmented": args.augmented or None,
        "class_prior": [float(v) for v in prior],
        "variant": args.variant, "labels": args.labels, "command": command,
        "rounds": int(booster.num_boosted_rounds()), "params": params, "pca": args.pca,
        "temperature": model.temperature, "publictest_accuracy": pub_acc,
        "privatetest_accuracy": metrics["accuracy"], "privatetest_macro_f1": metrics["macro_f1"],
        "privatetest_ece": metrics["ece"], "train_seconds": round(fit_s, 1),
        "data": "FER-2013 Training (28,709), FER+ votes; features from benchmarks/extract_fer.py",
        "appearance_cnn": cnn_provenance(Path(args.cnn)) if "appearance" in wanted else None,
        "au_names": list(model.au_names), "trained": time.strftime("%Y-%m-%d"),
    }
    fer_eval.write_result(
        name, args.labels, metrics, command=command, path=args.results,
        notes=f"{len(wanted)} blocks {wanted}; {booster.num_boosted_rounds()} rounds; "
              f"T={model.temperature:.3f}; PublicTest acc {pub_acc:.4f}; train {fit_s:.0f}s",
        extra={"publictest_accuracy": pub_acc, "temperature": model.temperature,
               "rounds": int(booster.num_boosted_rounds())},
    )
    log.info("%s/%s: PublicTest %.4f  PrivateTest acc %.4f macro-F1 %.4f ECE %.4f  "
             "(%d rounds, T=%.3f, %.0f s)", args.variant, args.labels, pub_acc,
             metrics["accuracy"], metrics["macro_f1"], metrics["ece"],
             booster.num_boosted_rounds(), model.temperature, time.time() - t0)
    save_model(model, args.out, ship_name if args.ship else None, priv_y, proba,
               title=f"fau {args.variant} ({args.labels}), PrivateTest")


if __name__ == "__main__":
    main()
