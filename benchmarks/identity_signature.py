"""How well fau's face signature (`fau.video.identity`) tells people apart: London set.

The Face Research Lab London Set (``../shared/data/london``, CC BY 4.0; DeBruine & Jones
2017) has a neutral and a smiling photo of each of 102 people. For every person the
distance between the signatures (`signature_sample` → `signature_distance`) of their
two photos is a *same person, different expression* pair; the neutral photo of one
person against the smiling photo of another is a *different people* pair. Reported: the
distributions, the ROC AUC, the share of pairs on each side of `MAX_SIGNATURE_CM`
(false splits / false joins), and rank-1 identification of each smiling photo among all
neutral photos. Single photos: the signatures of video tracks are medians over many
frames. Then the same actor across the six committed CREMA-D clips (one per acted
emotion; tests/data/cremad): the signature of each clip (median over every third frame)
against the others, the kind of change between a person's tracks in one video.

    python benchmarks/identity_signature.py [--london ../shared/data/london]
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--london", type=Path, default=ROOT.parent / "shared/data/london")
    args = ap.parse_args()
    import fau
    from fau.video.identity import MAX_SIGNATURE_CM, signature_distance, signature_sample

    with open(args.london / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sig: dict[tuple[str, str], np.ndarray] = {}
    with fau.Detector(expression_model=None) as det:
        for r in rows:
            lm = det.landmarks(str(args.london / r["path"]))
            if len(lm) == 1:
                s = signature_sample(lm[0])
                if s is not None:
                    sig[(r["subject_id"], r["label"])] = s
    people = sorted({p for p, _ in sig if (p, "neutral") in sig and (p, "happy") in sig})
    same = np.array([signature_distance(sig[(p, "neutral")], sig[(p, "happy")]) for p in people])
    diff = np.array([signature_distance(sig[(p, "neutral")], sig[(q, "happy")])
                     for p in people for q in people if q != p])
    auc = float((same[:, None] < diff[None, :]).mean())
    rank1 = np.mean([
        people[int(np.argmin([signature_distance(sig[(p, "happy")], sig[(q, "neutral")])
                              for q in people]))] == p for p in people])
    q = lambda x, v: np.percentile(x, v)
    print(f"people with both photos: {len(people)}; signature points: "
          f"{len(next(iter(sig.values())))}")
    print(f"same person (neutral vs smiling): median {np.median(same):.3f} cm, p90 "
          f"{q(same, 90):.3f}, max {same.max():.3f}")
    print(f"different people: median {np.median(diff):.3f} cm, p10 {q(diff, 10):.3f}, "
          f"p1 {q(diff, 1):.3f}")
    print(f"ROC AUC {auc:.3f}; at MAX_SIGNATURE_CM = {MAX_SIGNATURE_CM} cm: same-person pairs "
          f"split {np.mean(same > MAX_SIGNATURE_CM):.1%}, different-people pairs joined "
          f"{np.mean(diff <= MAX_SIGNATURE_CM):.1%}; rank-1 identification among "
          f"{len(people)}: {rank1:.1%}")
    import av

    from fau.video.identity import signature

    clips = {}
    with fau.Detector(expression_model=None) as det:
        for c in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"):
            with av.open(str(ROOT / f"tests/data/cremad/1001_DFA_{c}_XX.flv")) as src:
                frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)][::3]
            samples = [signature_sample(lm[0]) for lm in map(det.landmarks, frames) if len(lm)]
            clips[c] = signature([x for x in samples if x is not None])
    names = sorted(clips)
    cd = np.array([signature_distance(clips[a], clips[b])
                   for i, a in enumerate(names) for b in names[i + 1:]])
    print(f"CREMA-D actor 1001, six clips, 15 pairs: median {np.median(cd):.3f} cm, max "
          f"{cd.max():.3f}; above MAX_SIGNATURE_CM: {int((cd > MAX_SIGNATURE_CM).sum())}")
    print(f"load average (1 min): {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
