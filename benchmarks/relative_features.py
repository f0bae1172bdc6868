"""Expression from movement relative to the person's own neutral face, measured (issue 14).

fau's expression models read a face's movement features as they are: AUs, blendshapes and
the mesh-shape block of one frame. People's resting faces differ, so the same movement
starts from a different place. Here each face's movement blocks are moved by the person's
own neutral face instead: ``x - x_neutral + mu``, where ``mu`` is the median over the
FER-2013 Training faces whose FER+ majority is neutral (``cache/fer_mesh.npz``); head pose
and the CNN's appearance logits are left as they are. Scored with the shipped models:

* ``ckplus_dev`` peak crops with the first (neutral) frame of the same sequence as the
  baseline (``../shared/data/ckplus_dev/au``: 133 sequences with both; one answer per
  sequence; measuring only, nothing is trained);
* the five acted CREMA-D clips with the actor's NEU clip as the baseline (median over its
  frames; per-clip majority of frame answers; meshes of ``cross_dataset.py extract``).

Usage::

    python benchmarks/extract_fer.py && python benchmarks/cross_dataset.py extract --sets cremad
    python benchmarks/relative_features.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
import fer_eval  # noqa: E402
import fau  # noqa: E402
from fau.expression.appearance import AppearanceModel, face_patch  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402
from fau.io import load_image  # noqa: E402
from fau.resources import model_path  # noqa: E402

#: The blocks moved by the person's neutral face (head pose is not a movement of the face).
SHIFTED = ("au", "blendshapes", "shape")
#: ckplus_dev's emotion names that differ from `EXPRESSIONS`.
NAMES = {"happy": "happiness"}
E = list(EXPRESSIONS)


def population_neutral() -> dict[str, np.ndarray]:
    """Median of each shifted block over FER-2013 Training faces with a neutral FER+ majority."""
    fm = np.load(ROOT / "cache" / "fer_mesh.npz")
    idx, lab, _ = fer_eval.protocol_data(fer_eval.load_fer(), "ferplus", 0)
    neu = idx[lab == E.index("neutral")]
    b = mesh_blocks(fm["landmarks"][neu], fm["blendshapes"][neu], fm["presence"][neu])
    return {k: np.nanmedian(b[k], axis=0) for k in SHIFTED}


def relative(b: dict, own: dict, mu: dict) -> dict:
    """``b`` with each shifted block moved from ``own`` (rows or one row) to ``mu``."""
    out = dict(b)
    for k in SHIFTED:
        out[k] = b[k] - own[k] + mu[k]
    return out


def blocks_of(faces: list) -> dict:
    return mesh_blocks(np.stack([f.landmarks for f in faces]),
                       np.stack([f.blendshapes for f in faces]),
                       np.array([f.presence for f in faces]))


def ckplus(models: dict, mu: dict) -> None:
    base = xd.DATA / "ckplus_dev" / "au"
    with open(base / "manifest.csv") as f:
        man = [m for m in csv.DictReader(f) if m["peak_image"].strip()
               and m["neutral_image"].strip() and NAMES.get(m["emotion"], m["emotion"]) in E]
    peak, calm, imgs = [], [], []
    with fau.Detector(expression_model=None) as det:
        for m in man:
            img = load_image(str(base / m["peak_image"]))
            peak.append(det.backend.mesh_from_crop(img))
            calm.append(det.backend.mesh_from_crop(load_image(str(base / m["neutral_image"]))))
            imgs.append(img)
    y = np.array([E.index(NAMES.get(m["emotion"], m["emotion"])) for m in man])
    bp, bn = blocks_of(peak), blocks_of(calm)
    logits = AppearanceModel(num_threads=2).logits(
        np.stack([face_patch(i, f.landmarks, cropped=True) for i, f in zip(imgs, peak)]))
    print(f"\nckplus_dev peak crops, {len(y)} sequences, their own neutral frame as baseline\n")
    print("| model | as it is: accuracy / neutral rate | relative: accuracy / neutral rate |\n"
          "|---|---:|---:|")
    for name, m in models.items():
        cells = []
        for b in (bp, relative(bp, bn, mu)):
            b = dict(b, appearance=logits) if m.uses_appearance else b
            pred = m.predict_proba(m.assemble(b)).argmax(axis=1)
            cells.append(f"{(pred == y).mean():.3f} / {(pred == E.index('neutral')).mean():.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def cremad(models: dict, mu: dict) -> None:
    s = xd.load_set("cremad")
    b = mesh_blocks(s["landmarks"], s["blendshapes"], s["presence"])
    logits = AppearanceModel(num_threads=2).logits(xd.set_patches("cremad", s))
    clips = np.array([str(p) for p in s["path"]])
    neutral_clip = next(c for c in np.unique(clips) if "_NEU_" in c)
    calm = clips == neutral_clip
    own = {k: np.nanmedian(b[k][calm], axis=0) for k in SHIFTED}
    acted = [c for c in np.unique(clips) if c != neutral_clip]
    print(f"\nCREMA-D, the actor's {neutral_clip} as baseline (per clip: majority answer)\n")
    print("| model | " + " | ".join(Path(c).stem.split("_")[2] for c in acted)
          + " | as it is / relative |\n|---|" + "---|" * (len(acted) + 1))
    for name, m in models.items():
        answers = []
        for bb in (b, relative(b, own, mu)):
            bb = dict(bb, appearance=logits) if m.uses_appearance else bb
            pred = m.predict_proba(m.assemble(bb)).argmax(axis=1)
            answers.append([E[np.bincount(pred[clips == c], minlength=8).argmax()] for c in acted])
        right = [sum(a[:3].lower() == Path(c).stem.split("_")[2].lower()[:3]
                     or (a == "happiness" and "_HAP_" in c) for a, c in zip(ans, acted))
                 for ans in answers]
        print(f"| {name} | " + " | ".join(f"{a} → {r}" for a, r in zip(*answers))
              + f" | {right[0]}/{len(acted)} → {right[1]}/{len(acted)} |")


def main() -> None:
    models = {n: ExpressionModel.load(model_path(f"expression_{n}.npz"))
              for n in ("ferplus", "fer2013", "geometric")}
    mu = population_neutral()
    ckplus(models, mu)
    cremad(models, mu)


if __name__ == "__main__":
    main()
