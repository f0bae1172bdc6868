"""Two post-hoc terms on the default model's logits, measured, not shipped (issue 14, fifth pass).

Both are added to the shipped ``ferplus`` model's log-probabilities ``L`` (its calibrated
logits up to a constant), so they need no retraining:

``neutral``   ``L[:, neutral] += d`` for ``d`` in 0 … −1: a class prior against neutral, the
              neutral bias of the issue, beyond the ``tau`` logit adjustment already in the file.
``facs``      ``L += w * P``: ``P[:, k]`` is the mean soft activation
              (`fau.expression.compound.au_activation`) of the EMFACS prototype AUs of class ``k``
              (happiness 6+12, sadness 1+4+15, surprise 1+2+5+26, fear 1+2+4+5+20+26, anger
              4+5+7+23, disgust 9+15+16, contempt 14; neutral 0, or ``1 − max_k P`` with
              ``--neutral-term``); ``w`` is fitted on PublicTest by log-loss, then a grid is shown.

Scored on FER+ PublicTest and PrivateTest (majority labels; meshes from ``cache/fer_mesh.npz``, CNN
logits from the shipped file), ``ckplus_dev`` per sequence and London (the cached API
probabilities and meshes of ``cross_dataset.py extract``, scored by its ``per_group`` and
``metrics``: a face not found counts wrong). ``ckplus_dev`` measures only.

Usage::

    python benchmarks/prior_terms.py [--neutral-term]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
import fer_eval  # noqa: E402
from train_expression import load_blocks  # noqa: E402
from train_fusion import cnn_logits, nll  # noqa: E402
from fau.au import AU_NAMES  # noqa: E402
from fau.expression.compound import au_activation  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402
from fau.resources import model_path  # noqa: E402

#: EMFACS prototype AUs per class (the sets of docs/benchmarks.md, FACS prototype rules).
PROTOTYPES = {"happiness": (6, 12), "sadness": (1, 4, 15), "surprise": (1, 2, 5, 26),
              "fear": (1, 2, 4, 5, 20, 26), "anger": (4, 5, 7, 23), "disgust": (9, 15, 16),
              "contempt": (14,)}
NEUTRAL = EXPRESSIONS.index("neutral")


def prototype_scores(au: np.ndarray, neutral_term: bool) -> np.ndarray:
    """(n, 8) mean activation of each class's prototype AUs (0 where unmeasured)."""
    act = au_activation(au)
    out = np.zeros((len(au), len(EXPRESSIONS)))
    for k, name in enumerate(EXPRESSIONS):
        if name in PROTOTYPES:
            cols = [AU_NAMES.index(f"AU{n:02d}") for n in PROTOTYPES[name]]
            out[:, k] = np.nanmean(act[:, cols], axis=1)
    out = np.nan_to_num(out)
    if neutral_term:
        out[:, NEUTRAL] = 1.0 - out.max(axis=1)
    return out


def log_proba(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-12, 1.0))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neutral-term", action="store_true", help="P[:, neutral] = 1 - max P")
    a = ap.parse_args(argv)
    model = ExpressionModel.load(model_path("expression_ferplus.npz"))
    fer = fer_eval.load_fer()
    mesh = load_blocks(ROOT / "cache" / "fer_mesh.npz", None)
    sets = {}
    for split, name in ((1, "PublicTest"), (2, "PrivateTest")):
        idx, y, _ = fer_eval.protocol_data(fer, "ferplus", split)
        blocks = {k: v[idx] for k, v in mesh.items()}
        blocks["appearance"] = cnn_logits(fer["images"][idx], model_path("appearance_cnn.onnx"))
        sets[name] = (log_proba(model.predict_proba(model.assemble(blocks))),
                      prototype_scores(blocks["au"], a.neutral_term), y)
    for name in ("ckplus", "london"):
        z = xd.load_set(name)
        au = mesh_blocks(z["landmarks"], z["blendshapes"], z["presence"])["au"]
        sets[name] = (log_proba(z["api_proba"]), prototype_scores(au, a.neutral_term), z)

    def score(off: np.ndarray, w: float) -> str:
        cells = []
        for name, (lp, proto, y) in sets.items():
            z = lp + off + w * proto
            if name == "ckplus":
                acc = xd.metrics(*xd.per_group(y["label"], xd.softmax(z), y["group"]))["accuracy"]
                cells.append(f"CK+ {acc:.3f}")
            elif name == "london":
                cells.append(f"London {xd.metrics(y['label'], xd.softmax(z))['accuracy']:.3f}")
            else:
                cells.append(f"{name} {(z.argmax(1) == y).mean():.4f}")
        return "  ".join(cells)

    print("neutral offset d (added to the neutral log-probability):")
    for d in (0.0, -0.25, -0.5, -0.75, -1.0):
        off = np.zeros(len(EXPRESSIONS))
        off[NEUTRAL] = d
        print(f"  d = {d:+.2f}: {score(off, 0.0)}")
    lp, proto, y = sets["PublicTest"]
    w_fit = float(minimize(lambda w: nll(lp + w[0] * proto, y), [0.0]).x[0])
    print(f"FACS prototype term w * P (neutral term {'on' if a.neutral_term else 'off'}); "
          f"w fitted on PublicTest: {w_fit:.3f}")
    zero = np.zeros(len(EXPRESSIONS))
    for w in (0.0, w_fit, 1.0, 2.0, 4.0):
        print(f"  w = {w:+.2f}: {score(zero, w)}")


if __name__ == "__main__":
    main()
