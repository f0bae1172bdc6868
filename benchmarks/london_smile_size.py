"""Is the London set's gender gap in smile reading one of smile size or of the model?

For each person of the London set (``../shared/data/london``: a neutral and a smiling photo
of 102 adults, CC BY 4.0) the AU06 and AU12 rise of the smile over the same person's
neutral photo (fraction of the IOD; `fau.expression.features.mesh_blocks` on the meshes of
``cross_dataset.py extract``) and whether the shipped default model reads the smile as
happiness (the API's probability, cached by ``extract``). Prints, per gender, the median
rises and the share read as happiness, then that share within thirds of the AU12 rise
(pooled over genders): equal shares at equal rises mean the gap is one of smile size as
measured, unequal ones that the model reads the same movement differently.

``--model NAME=FILE`` (repeatable) scores other expression model files the same way
(`cross_dataset.score`: the CNN's logits of the cut patches where the model reads them).

Usage::

    python benchmarks/cross_dataset.py extract --sets london
    python benchmarks/london_smile_size.py [--model geometric=fau/models/expression_geometric.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
from fau.au import AU_NAMES  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402

HAPPY = EXPRESSIONS.index("happiness")
#: Read as happiness: the default model's happiness probability above this (then no other
#: class can be the most probable).
READ_AS_HAPPY = 0.5


def model_proba(s: dict, path: str) -> np.ndarray:
    """(n, 8) probabilities of the London faces under the model file ``path``."""
    from fau.expression.appearance import AppearanceModel
    from fau.expression.model import ExpressionModel

    c = xd.Candidate(Path(path).stem, path, None).load()
    ok = s["found"]
    blocks = mesh_blocks(s["landmarks"][ok], s["blendshapes"][ok], s["presence"][ok])
    logits = {}
    if c.needs_cnn:
        patches = xd.set_patches("london", s)
        logits["bundled"] = AppearanceModel(num_threads=2).logits(patches)
    assert isinstance(c.model, ExpressionModel)
    return xd.score(c, blocks, logits, ok)


def pairs(proba: np.ndarray | None = None) -> list[tuple[str, float, float, bool]]:
    """(gender, AU06 rise, AU12 rise, read as happy) of each person with both photos;
    ``proba``: the model's probabilities (default: the API's, of the shipped default)."""
    s = xd.load_set("london")
    if proba is None:
        proba = s["api_proba"]
    au = mesh_blocks(s["landmarks"], s["blendshapes"], s["presence"])["au"]
    names = list(AU_NAMES)
    i6, i12 = names.index("AU06"), names.index("AU12")
    out = []
    for sid in np.unique(s["subject"]):
        mine = s["subject"] == sid
        smile = np.flatnonzero(mine & (s["label"] == HAPPY))
        calm = np.flatnonzero(mine & (s["label"] != HAPPY))
        if len(smile) != 1 or len(calm) != 1 or not s["found"][[smile[0], calm[0]]].all():
            continue
        a, b = smile[0], calm[0]
        out.append((str(s["gender"][a]), float(au[a, i6] - au[b, i6]),
                    float(au[a, i12] - au[b, i12]),
                    bool(proba[a, HAPPY] > READ_AS_HAPPY)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=[], metavar="NAME=FILE")
    a = ap.parse_args()
    report("the shipped default model (the API's probabilities)", pairs())
    for spec in a.model:
        name, _, path = spec.partition("=")
        report(name, pairs(model_proba(xd.load_set("london"), path)))


def report(title: str, rows: list[tuple[str, float, float, bool]]) -> None:
    print(f"\n### {title}\n")
    g = np.array([r[0] for r in rows])
    d6, d12 = (np.array([r[k] for r in rows]) for k in (1, 2))
    ok = np.array([r[3] for r in rows])
    print("| gender | people | AU12 rise, median (IQR) | AU06 rise, median | smiles read as "
          "happiness |\n|---|---:|---|---:|---:|")
    for gender in sorted(set(g)):
        m = g == gender
        q1, q2, q3 = np.percentile(d12[m], [25, 50, 75])
        print(f"| {gender} | {m.sum()} | {q2:.3f} ({q1:.3f}-{q3:.3f}) | {np.median(d6[m]):.3f} "
              f"| {ok[m].sum()}/{m.sum()} |")
    edges = np.percentile(d12, [0, 100 / 3, 200 / 3, 100])
    genders = sorted(set(g))
    print("\n| AU12 rise (IOD), thirds of all people | " + " | ".join(genders)
          + " |\n|---|" + "---:|" * len(genders))
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        m = (d12 >= lo) & ((d12 < hi) if k < 2 else (d12 <= hi))
        cells = [f"{ok[m & (g == x)].sum()}/{(m & (g == x)).sum()}" for x in genders]
        print(f"| {lo:.3f}-{hi:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
