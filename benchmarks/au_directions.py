"""Do fau's AUs move the right way on real faces? Numbers for docs/action_units.md.

1. FER-2013 (all 35,887 images, cropped-face path, ``cache/fer_mesh.npz`` from
   ``benchmarks/extract_fer.py``): class means of each AU and, for the contrasts FACS
   predicts (happy vs neutral: AU06/AU12/AU25; surprise vs neutral: AU01/AU02/AU05/AU26;
   anger vs neutral: AU04/AU07/AU23/AU24; sadness vs neutral: AU15/AU17; surprise also
   AU27; disgust vs neutral: AU09/AU10), the difference of
   means and the ROC AUC of the AU for telling the two classes apart.
2. CREMA-D (the six committed clips, every frame through ``Detector.detect_image``):
   frame means of AU12 (HAP vs NEU) and AU04 (ANG vs NEU).

Usage::

    python benchmarks/au_directions.py
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from fau import AU_NAMES, Detector
from fau.au import OCCURRENCE_AUS
from fau.expression.features import mesh_blocks

ROOT = Path(__file__).resolve().parents[1]
FER_NAMES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
CONTRASTS = [
    ("happiness", ["AU06", "AU12", "AU25"]),
    ("surprise", ["AU01", "AU02", "AU05", "AU26", "AU27"]),
    ("anger", ["AU04", "AU07", "AU23", "AU24"]),
    ("sadness", ["AU15", "AU17"]),
    ("disgust", ["AU09", "AU10"]),
]


def fer_table() -> None:
    m = np.load(ROOT / "cache/fer_mesh.npz")
    z = np.load(ROOT.parent / "shared/data/fer2013.npz")
    au = mesh_blocks(m["landmarks"], m["blendshapes"], m["presence"])["au"]
    df = pd.DataFrame(au, columns=AU_NAMES)
    df["label"] = [FER_NAMES[i] for i in z["label"]]
    means = df.groupby("label")[list(OCCURRENCE_AUS)].mean()  # the bilateral AUs
    print("FER-2013 class means (IOD units; AU45: neutral-opening units), n =", len(df))
    print(means.T[FER_NAMES].round(3).to_markdown())
    rows = []
    for cls, aus in CONTRASTS:
        sel = df["label"].isin([cls, "neutral"])
        for a in aus:
            x, y = df.loc[sel, a], df.loc[sel, "label"] == cls
            rows.append((f"{cls} vs neutral", a, means.loc[cls, a], means.loc["neutral", a],
                         means.loc[cls, a] - means.loc["neutral", a], roc_auc_score(y, x)))
    out = pd.DataFrame(rows, columns=["contrast", "AU", "class mean", "neutral mean",
                                      "difference", "ROC AUC"])
    print()
    print(out.round(3).to_markdown(index=False))


def cremad_table() -> None:
    clips = sorted((ROOT / "tests/data/cremad").glob("*.flv"))
    rows = []
    with Detector(expression_model=None) as det:
        for clip in clips:
            emo = clip.stem.split("_")[2]
            with av.open(str(clip)) as c:
                for frame in c.decode(video=0):
                    df = det.detect_image(frame.to_ndarray(format="rgb24"))
                    if len(df):
                        rows.append((emo, df.iloc[0]["AU12"], df.iloc[0]["AU04"],
                                     df.iloc[0]["AU06"], df.iloc[0]["AU25"]))
    t = pd.DataFrame(rows, columns=["clip", "AU12", "AU04", "AU06", "AU25"])
    print()
    print("CREMA-D actor 1001, frame means (all frames with a face)")
    print(t.groupby("clip").agg(["mean", "max"]).round(3).to_markdown())


if __name__ == "__main__":
    fer_table()
    cremad_table()
