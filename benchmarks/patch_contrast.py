"""Test-time contrast normalisation of the appearance CNN's patch (issue 14), measured.

Each face's 48×48 grey patch (cut as the `fau.Detector` cuts it) is normalised before the
shipped CNN reads it: histogram equalisation (`cv2.equalizeHist`), CLAHE (clip limit 2,
4×4 tiles) or a min-max stretch, and the shipped ``ferplus`` and ``fer2013`` models are
scored on the cached sets of ``benchmarks/cross_dataset.py extract`` (FER-2013
PrivateTest, ``ckplus_dev`` per sequence, London). The question: is the neutral bias on
posed lab faces a matter of contrast or lighting that FER-2013 crops do not have? It also
prints, for the unnormalised patches, where each model's ``ckplus_dev`` sequences go (true
class per row, answer per column), and the default model blended with ``fer2013``
(``(1 - w) * p_ferplus + w * p_fer2013``, contempt 0 in ``fer2013``) for a few ``w``.

Usage::

    python benchmarks/cross_dataset.py extract --sets fer ckplus london
    python benchmarks/patch_contrast.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
from fau.expression.appearance import AppearanceModel  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402
from fau.resources import model_path  # noqa: E402

#: CLAHE settings: OpenCV's default clip limit (2.0) over 4×4 tiles of 12 px.
CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
#: Shares of the ``fer2013`` model in the blend (0: the default model alone).
BLEND_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)
NORMS = {
    "none": lambda p: p,
    "histeq": cv2.equalizeHist,
    "clahe": CLAHE.apply,
    "stretch": lambda p: cv2.normalize(p, None, 0, 255, cv2.NORM_MINMAX),
}


def main() -> None:
    models = {n: ExpressionModel.load(model_path(f"expression_{n}.npz"))
              for n in ("ferplus", "fer2013")}
    cnn = AppearanceModel(num_threads=2)
    confusions: dict[str, str] = {}
    plain: dict = {}  # unnormalised probabilities per (set, model), and each set
    print("| set | normalisation | " + " | ".join(models) + " |\n|---|---|---:|---:|")
    for name in ("fer", "ckplus", "london"):
        s = xd.load_set(name)
        ok = s["found"]
        blocks = mesh_blocks(s["landmarks"][ok], s["blendshapes"][ok], s["presence"][ok])
        patches = xd.set_patches(name, s)
        for norm, f in NORMS.items():
            pp = np.stack([f(p) for p in patches])
            logits = np.concatenate([cnn.logits(pp[i:i + 256]) for i in range(0, len(pp), 256)])
            cells = []
            for mname, m in models.items():
                c = xd.Candidate(mname, None, None, model=m)
                proba = xd.score(c, blocks, {"bundled": logits}, ok)
                r = xd.evaluate_set(name, s, proba, c)
                if name == "fer":  # each model on its own labels
                    acc = r["fer2013" if mname == "fer2013" else "ferplus"]["accuracy"]
                    cells.append(f"{acc:.4f}")
                else:
                    cells.append(f"{r['accuracy']:.3f} "
                                 f"(neutral {r['neutral_rate_non_neutral']:.2f})")
                if name == "ckplus" and norm == "none":
                    confusions[mname] = confusion(*xd.per_group(s["label"], proba, s["group"]))
                if norm == "none":
                    plain[name, mname] = proba
            if norm == "none":
                plain[name] = s
            print(f"| {name} | {norm} | " + " | ".join(cells) + " |", flush=True)
    for mname, table in confusions.items():
        print(f"\nckplus_dev sequences, {mname} (rows: true class; columns: answer)\n")
        print(table)
    print("\n| w (fer2013 share) | FER+ PrivateTest | CK+ dev | London |\n|---:|---:|---:|---:|")
    c = xd.Candidate("ferplus", None, None, model=models["ferplus"])
    for w in BLEND_WEIGHTS:
        cells = []
        for name in ("fer", "ckplus", "london"):
            blend = (1 - w) * plain[name, "ferplus"] + w * plain[name, "fer2013"]
            r = xd.evaluate_set(name, plain[name], blend, c)
            cells.append(r["ferplus"]["accuracy"] if name == "fer" else r["accuracy"])
        print(f"| {w:g} | {cells[0]:.4f} | {cells[1]:.3f} | {cells[2]:.3f} |")


def confusion(y: np.ndarray, proba: np.ndarray) -> str:
    """Markdown confusion table of one answer per sequence (`EXPRESSIONS` order)."""
    k = len(EXPRESSIONS)
    m = np.zeros((k, k), int)
    np.add.at(m, (y, np.nan_to_num(proba, nan=-1.0).argmax(axis=1)), 1)
    lines = ["| true \\ answer | " + " | ".join(EXPRESSIONS) + " | n | recall |",
             "|---|" + "---:|" * (k + 2)]
    for i, e in enumerate(EXPRESSIONS):
        if m[i].sum():
            lines.append(f"| {e} | " + " | ".join(map(str, m[i])) +
                         f" | {m[i].sum()} | {m[i, i] / m[i].sum():.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
