"""Check fau's compound-expression rules on faces with FACS codes and on neutral faces.

Two measurements (issue 14), for the AU thresholds of `fau.expression.compound` and for
alternatives:

1. **AU part against FACS codes** (``ckplus_dev`` peak frames, 137 posed sequences with
   certified FACS codes; meshes from ``cache/au_ckplus_landmarks.npz``, written by
   ``python benchmarks/au_ckplus.py --cache``): for each compound, the sequences whose
   codes hold every measurable principal AU of the compound are positives; the ROC AUC of
   the compound's AU part ``A`` for them, and how many positives there are.
2. **How often a compound fires** (``compound`` not empty) with the default expression
   model: on neutral faces (the 102 London neutral photos, the CREMA-D NEU clip frames),
   where it should stay rare, and on expressive ones (London smiles, ckplus_dev CK+48
   frames, the five acted CREMA-D clips). Faces and probabilities come from
   ``benchmarks/cross_dataset.py``'s caches (the public API's meshes).

``ckplus_dev`` is for measuring only. Usage::

    python benchmarks/compound_check.py [--out benchmarks/results/compound_check.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
from fau.au import align, au_intensities  # noqa: E402
from fau.expression import compound as cp  # noqa: E402
from fau.expression.appearance import AppearanceModel  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402

NEUTRAL = EXPRESSIONS.index("neutral")


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney; ties count half)."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    d = pos[:, None] - neg[None, :]
    return float(((d > 0).sum() + 0.5 * (d == 0).sum()) / d.size)


#: The round-1 thresholds (the 90th percentile of FER-2013 neutral faces, round-1 AU
#: definitions; fau.expression.compound before issue 14), for comparison.
ROUND1_THRESHOLDS = {
    "AU01": 0.087, "AU02": 0.081, "AU04": -0.004, "AU05": 0.079, "AU06": 0.029,
    "AU07": 0.023, "AU09": 0.065, "AU10": 0.097, "AU12": 0.062, "AU14": 0.060,
    "AU15": 0.036, "AU17": 0.277, "AU20": 0.048, "AU23": 0.016, "AU25": 0.044,
    "AU26": 0.112, "AU45": 0.308,
}


def thresholds_variants() -> dict[str, dict[str, float] | None]:
    """AU threshold sets compared: the round-1 ones and the shipped (FACS-chosen) ones."""
    return {"round1_fer2013_p90": ROUND1_THRESHOLDS, "shipped_AU_THRESHOLDS": None}


def facs_check(thresholds) -> dict[str, dict]:
    z = np.load(ROOT / "cache" / "au_ckplus_landmarks.npz")
    aus = au_intensities(align(z["ck_peak"]).points)
    coded = [set(f"AU{int(v):02d}" for v in s.split(";") if v) for s in z["ck_aus"]]
    neutral = np.full((len(aus), len(EXPRESSIONS)), 1.0 / len(EXPRESSIONS))
    _, a = cp.compound_evidence(aus, neutral, thresholds=thresholds)
    out = {}
    for c in cp.COMPOUNDS:
        pos = np.array([set(c.principal) <= s for s in coded])
        out[c.name] = {"positives": int(pos.sum()),
                       "auc": auc(a[c.name].to_numpy()[pos], a[c.name].to_numpy()[~pos])}
    return out


def face_sets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """AUs and default-model probabilities of the neutral and expressive face sets."""
    cand = xd.shipped_candidates()
    default = next(c for c in cand if c.name == "ferplus").load()
    am = AppearanceModel(num_threads=2)
    out = {}
    for name in ("london", "ckplus", "cremad"):
        s = xd.load_set(name)
        ok = s["found"]
        blocks = mesh_blocks(s["landmarks"][ok], s["blendshapes"][ok], s["presence"][ok])
        logits = {"bundled": am.logits(xd.set_patches(name, s))}
        proba = xd.score(default, blocks, logits, ok)[ok]
        y = s["label"][ok]
        aus = blocks["au"]
        if name == "london":
            out["london_neutral"] = (aus[y == NEUTRAL], proba[y == NEUTRAL])
            out["london_smiling"] = (aus[y != NEUTRAL], proba[y != NEUTRAL])
        elif name == "cremad":
            out["cremad_NEU"] = (aus[y == NEUTRAL], proba[y == NEUTRAL])
            out["cremad_acted"] = (aus[y != NEUTRAL], proba[y != NEUTRAL])
        else:
            out["ckplus_frames"] = (aus, proba)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/compound_check.json"))
    ap.add_argument("--min-scores", default="0.5,0.4,0.35,0.3,0.25,0.2")
    a = ap.parse_args()
    sets = face_sets()
    res: dict = {"command": "python benchmarks/compound_check.py " + " ".join(sys.argv[1:]),
                 "loadavg_1min": os.getloadavg()[0], "facs": {}, "fire_rate": {}, "top": {}}
    for tname, th in thresholds_variants().items():
        res["facs"][tname] = facs_check(th)
        for ms in (float(v) for v in a.min_scores.split(",")):
            key = f"{tname}@{ms:g}"
            res["fire_rate"][key], res["top"][key] = {}, {}
            for sname, (aus, proba) in sets.items():
                cols = cp.compound_columns(aus, proba, min_score=ms, thresholds=th)
                fired = np.array([c is not None for c in cols["compound"]])
                res["fire_rate"][key][sname] = float(fired.mean())
                names, counts = np.unique(cols["compound"][fired].astype(str), return_counts=True)
                res["top"][key][sname] = dict(sorted(zip(names.tolist(), counts.tolist()),
                                                     key=lambda t: -t[1])[:3])
    Path(a.out).write_text(json.dumps(res, indent=1))
    for tname, f in res["facs"].items():
        print(tname, {k: (v["positives"], round(v["auc"], 2)) for k, v in f.items()})
    print("fire rate:", " | ".join(res["fire_rate"][next(iter(res["fire_rate"]))]))
    for key, r in res["fire_rate"].items():
        print(f"{key:22s}", " ".join(f"{v:.3f}" for v in r.values()), res["top"][key])


if __name__ == "__main__":
    main()
