"""Accuracy of the shipped models on PrivateTest without the images that also occur in
Training (288 of 3,589 exact pixel duplicates; ``../shared/data/README.md``).

Uses the shipped model files and the cached features of ``benchmarks/train_expression.py``.

Usage::

    python benchmarks/dedup_eval.py
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import fer_eval  # noqa: E402
from train_expression import load_blocks  # noqa: E402

from fau.resources import model_path  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402


def main() -> None:
    data = fer_eval.load_fer()
    digest = np.array([hashlib.sha1(im.tobytes()).hexdigest() for im in data["images"]])
    train_set = set(digest[data["split"] == 0])
    blocks = load_blocks(ROOT / "cache/fer_mesh.npz", ROOT / "cache/cnn_logits.npz")
    for labels in ("fer2013", "ferplus"):
        model = ExpressionModel.load(model_path(f"expression_{labels}.npz"))
        idx, y, names = fer_eval.protocol_data(data, labels, 2)
        proba = model.predict_proba(model.assemble(blocks)[idx])[:, : len(names)]
        pred = proba.argmax(1)
        dup = np.array([digest[i] in train_set for i in idx])
        print(f"{labels}: all {len(idx)}: {np.mean(pred == y):.4f}; "
              f"without {dup.sum()} Training duplicates ({(~dup).sum()}): "
              f"{np.mean(pred[~dup] == y[~dup]):.4f}; duplicates only: "
              f"{np.mean(pred[dup] == y[dup]):.4f}")


if __name__ == "__main__":
    main()
