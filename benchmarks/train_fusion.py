"""Late fusion: a movements-only expression head plus the appearance CNN's logits.

The booster of a movements-only model (``train_expression.py --variant geometric``: AUs,
head pose, shape, blendshapes; trained on FER-2013 Training) keeps its trees; the CNN's
logits are added linearly::

    logit_k = a * margin_k + sum_h b_h * cnn_h[k] - tau * log(prior_k)

with ``a`` (1 / temperature) and one weight ``b_h`` per CNN head used (``--heads
matching``: the head of the model's labels; ``both``: the FER-2013 and the FER+ head,
for the classes both have) fitted on **PublicTest** by log-loss, as the temperature of
every fau model is. The CNN never trained on PublicTest, so its logits there are clean:
this needs no out-of-fold CNN logits for the Training rows (stacking does). The CNN
logits are computed here by `fau.expression.appearance.AppearanceModel` on the exact
FER-2013 pixels (the ``cropped=True`` patch of a 48×48 image is the image). ``prior``
and ``tau`` are the logit adjustment of ``train_expression.py`` (prior = the class
shares of the movement head's training targets, from its ``info``).

Usage::

    python benchmarks/train_fusion.py --labels ferplus --movements cache/cand3/geometric.npz \\
        --tau 0.5 --out cache/cand3/ferplus_late.npz [--ship]

``--ship`` writes ``fau/models/expression_<labels>.npz``. Results go to
``benchmarks/results/fau_late[_tau<t>]__<labels>.json`` (``--results``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fer_eval  # noqa: E402
from train_expression import load_blocks, save_model  # noqa: E402
from fau.expression.appearance import AppearanceModel  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402
from fau.expression.model import APPEARANCE_NAMES, ExpressionModel  # noqa: E402
from fau.resources import model_path  # noqa: E402

log = logging.getLogger("train_fusion")


def head_columns(classes: tuple[str, ...], head: str) -> np.ndarray:
    """Column of ``APPEARANCE_NAMES`` per class for one CNN head (-1: the head lacks it)."""
    names = list(APPEARANCE_NAMES)
    return np.array([names.index(f"cnn_{head}_{c}") if f"cnn_{head}_{c}" in names else -1
                     for c in classes])


def weight_matrix(classes: tuple[str, ...], heads: tuple[str, ...], b: np.ndarray) -> np.ndarray:
    """(n_classes, 15) late-fusion weights: ``b[h]`` on each class's logit of head ``h``."""
    w = np.zeros((len(classes), len(APPEARANCE_NAMES)))
    for h, bh in zip(heads, b):
        cols = head_columns(classes, h)
        for k, c in enumerate(cols):
            if c >= 0:
                w[k, c] = bh
    return w


def nll(z: np.ndarray, y: np.ndarray) -> float:
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_blend(margins: np.ndarray, cnn: np.ndarray, y: np.ndarray, classes: tuple[str, ...],
              heads: tuple[str, ...]) -> tuple[float, np.ndarray]:
    """``a`` and ``b`` (one per head) minimising the log-loss of hard labels ``y``."""
    def f(p: np.ndarray) -> float:
        return nll(p[0] * margins + cnn @ weight_matrix(classes, heads, p[1:]).T, y)

    r = minimize(f, np.r_[0.5, np.full(len(heads), 0.5)], method="L-BFGS-B")
    return float(r.x[0]), np.asarray(r.x[1:])


def fit_late_fusion(mov: ExpressionModel, x_pub: np.ndarray, y_pub: np.ndarray,
                    heads: tuple[str, ...], tau: float, booster=None
                    ) -> tuple[ExpressionModel, float, np.ndarray]:
    """The late-fusion model around a movements-only model's booster (or ``booster``, one
    trained on the same features), fitted on PublicTest.

    ``x_pub``: PublicTest rows of the fused model's feature matrix (movement features, then
    the 15 CNN logits; `ExpressionModel.assemble` of the blocks plus ``appearance``).
    ``a`` (1 / temperature) and the CNN weights ``b`` come from `fit_blend`; the logit
    adjustment is ``-tau * log(prior)`` with the movement model's class prior. Returns the
    model, ``a`` and ``b``.
    """
    classes = mov.classes
    model = ExpressionModel(
        booster=mov.booster if booster is None else booster, classes=classes,
        blocks=tuple(mov.blocks) + ("appearance",),
        shape_mean=mov.shape_mean, shape_components=mov.shape_components,
        au_names=mov.au_names, appearance_weights=np.zeros((len(classes), len(APPEARANCE_NAMES))),
    )
    cnn = model.split_appearance(x_pub)[1]
    a, b = fit_blend(model.margins(x_pub), cnn, y_pub, classes, heads)
    model.temperature = 1.0 / a
    model.appearance_weights = weight_matrix(classes, heads, b)
    model.logit_offsets = -tau * np.log(np.asarray(mov.info["class_prior"], dtype=np.float64))
    return model, a, b


def cnn_logits(images: np.ndarray, onnx: Path) -> np.ndarray:
    """(n, 15) logits of the CNN on 48×48 grey images, through fau's appearance code."""
    am = AppearanceModel(num_threads=2, path=onnx)
    return np.concatenate([am.logits(images[i:i + 256]) for i in range(0, len(images), 256)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", choices=["fer2013", "ferplus"], required=True)
    ap.add_argument("--movements", required=True, help="movements-only model file (same labels)")
    ap.add_argument("--cnn", default=str(model_path("appearance_cnn.onnx")))
    ap.add_argument("--mesh", default=str(ROOT / "cache/fer_mesh.npz"))
    ap.add_argument("--heads", choices=["matching", "both"], default="matching")
    ap.add_argument("--tau", type=float, default=0.0, help="logit adjustment strength")
    ap.add_argument("--rounds", type=int, default=0,
                    help="keep only the movements booster's first ROUNDS rounds (0: all), a "
                         "cheaper booster (docs/benchmarks.md, Image speed)")
    ap.add_argument("--out", default="")
    ap.add_argument("--ship", action="store_true", help="write fau/models/expression_<labels>.npz")
    ap.add_argument("--results", default=str(ROOT / "benchmarks/results"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.time()
    mov = ExpressionModel.load(args.movements)
    if mov.uses_appearance:
        sys.exit(f"{args.movements} reads the appearance block: give a movements-only model")
    if args.rounds:
        full = mov.booster.num_boosted_rounds()
        if not 0 < args.rounds <= full:
            sys.exit(f"--rounds {args.rounds}: {args.movements} has {full} rounds")
        mov.booster = mov.booster[: args.rounds]
        mov.info = dict(mov.info, rounds=args.rounds, rounds_trained=full)
    classes = EXPRESSIONS[:7] if args.labels == "fer2013" else EXPRESSIONS
    if tuple(mov.classes) != tuple(classes):
        sys.exit(f"{args.movements} has classes {mov.classes}, not those of {args.labels}")
    heads = (args.labels,) if args.heads == "matching" else ("fer2013", "ferplus")

    data = fer_eval.load_fer()
    pub_idx, pub_y, _ = fer_eval.protocol_data(data, args.labels, 1)
    priv_idx, priv_y, names = fer_eval.protocol_data(data, args.labels, 2)
    rows = np.union1d(pub_idx, priv_idx)
    blocks = load_blocks(Path(args.mesh), None)
    blocks = {k: v[rows] for k, v in blocks.items()}
    blocks["appearance"] = cnn_logits(data["images"][rows], Path(args.cnn))
    pos = {int(r): i for i, r in enumerate(rows)}
    pub, priv = [np.array([pos[int(r)] for r in ix]) for ix in (pub_idx, priv_idx)]

    x = ExpressionModel(booster=None, classes=mov.classes,
                        blocks=tuple(mov.blocks) + ("appearance",), shape_mean=mov.shape_mean,
                        shape_components=mov.shape_components, au_names=mov.au_names,
                        ).assemble(blocks)
    model, a, b = fit_late_fusion(mov, x[pub], pub_y, heads, args.tau)
    prior = np.asarray(mov.info["class_prior"], dtype=np.float64)

    proba = model.predict_proba(x[priv])[:, : len(names)]
    metrics = fer_eval.evaluate(priv_y, proba, names)
    pub_acc = float((model.predict_proba(x[pub]).argmax(1) == pub_y).mean())
    command = "python benchmarks/train_fusion.py " + " ".join(shlex.quote(v) for v in sys.argv[1:])
    cnn_sha = hashlib.sha256(Path(args.cnn).read_bytes()).hexdigest()
    name = "fau_late" + (f"_{args.heads}" if args.heads != "matching" else "") + (
        f"_tau{args.tau:g}" if args.tau else "") + (f"_r{args.rounds}" if args.rounds else "")
    model.info = {
        "name": args.labels, "fusion": "late", "labels": args.labels, "command": command,
        "movements_model": {"file": args.movements, "command": mov.info.get("command"),
                            "rounds": mov.info.get("rounds"), "params": mov.info.get("params"),
                            "publictest_accuracy": mov.info.get("publictest_accuracy"),
                            "privatetest_accuracy": mov.info.get("privatetest_accuracy")},
        "appearance_cnn": {"file": str(args.cnn), "sha256": cnn_sha, "heads": list(heads),
                           "weights": [float(v) for v in b]},
        "booster_scale": a, "temperature": model.temperature, "tau": args.tau,
        "class_prior": [float(v) for v in prior], "pca": mov.info.get("pca"),
        "publictest_accuracy": pub_acc, "privatetest_accuracy": metrics["accuracy"],
        "privatetest_macro_f1": metrics["macro_f1"], "privatetest_ece": metrics["ece"],
        "data": "booster: FER-2013 Training (28,709) movements only; blend weights: "
                "FER-2013 PublicTest (3,589) log-loss; features from benchmarks/extract_fer.py",
        "au_names": list(model.au_names), "trained": time.strftime("%Y-%m-%d"),
    }
    fer_eval.write_result(
        name, args.labels, metrics, command=command, path=args.results,
        notes=f"late fusion: movements booster ({mov.info.get('rounds')} rounds) x {a:.3f} + CNN "
              f"heads {heads} x {np.round(b, 3).tolist()}; tau {args.tau:g}; PublicTest acc "
              f"{pub_acc:.4f}",
        extra={"publictest_accuracy": pub_acc, "booster_scale": a,
               "cnn_weights": [float(v) for v in b], "tau": args.tau},
    )
    log.info("late/%s heads=%s tau=%g: a=%.3f b=%s PublicTest %.4f PrivateTest acc %.4f "
             "macro-F1 %.4f ECE %.4f (%.0f s)", args.labels, heads, args.tau, a,
             np.round(b, 3).tolist(), pub_acc, metrics["accuracy"], metrics["macro_f1"],
             metrics["ece"], time.time() - t0)
    save_model(model, args.out, args.labels if args.ship else None, priv_y, proba,
               title=f"fau late fusion ({args.labels}), PrivateTest")
    print(json.dumps({"a": a, "b": b.tolist(), "publictest": pub_acc,
                      "privatetest": metrics["accuracy"]}))


if __name__ == "__main__":
    main()
