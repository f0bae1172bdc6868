"""Do fau's AUs move the right way on real faces? Numbers for docs/action_units.md.

1. FER-2013 (all 35,887 images, cropped-face path, ``cache/fer_mesh.npz`` from
   ``benchmarks/extract_fer.py``): class means of each AU and, for the contrasts FACS
   predicts (happy vs neutral: AU06/AU12/AU25; surprise vs neutral: AU01/AU02/AU05/AU26;
   anger vs neutral: AU04/AU07/AU23/AU24; sadness vs neutral: AU15/AU17; surprise also
   AU27; disgust vs neutral: AU09/AU10), the difference of
   means and the ROC AUC of the AU for telling the two classes apart.
2. FER-2013 typical values: per AU the median and 90th percentile of the *neutral*
   faces and the 95th percentile of the class where FACS predicts the movement, and the
   share of neutral faces each occurrence column (``AU01_c`` …) flags (FER-2013 neutral
   label, and FER+ majority neutral).
3. CREMA-D (the six committed clips, every frame through ``Detector.detect_image``):
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
from fau.au import AU_OCCURRENCE_NAMES, OCCURRENCE_AUS, au_occurrence
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


#: Where FACS predicts each AU's movement among the FER-2013 classes (for the "strong"
#: column of the typical values): the class whose 95th percentile is reported.
STRONG_CLASS = {
    "AU01": "surprise", "AU02": "surprise", "AU04": "anger", "AU05": "surprise",
    "AU06": "happiness", "AU07": "anger", "AU09": "disgust", "AU10": "disgust",
    "AU12": "happiness", "AU14": "happiness", "AU15": "sadness", "AU16": "fear",
    "AU17": "sadness", "AU18": "anger", "AU20": "fear", "AU23": "anger", "AU24": "anger",
    "AU25": "happiness", "AU26": "happiness", "AU27": "surprise",
}
#: FER+ vote columns: index of "neutral" (``ferplus_columns`` of fer2013.npz).
FERPLUS_NEUTRAL = 0


def fer_aus() -> tuple[pd.DataFrame, np.ndarray]:
    """AU table of all FER-2013 images from the cached meshes, and the FER+ votes."""
    m = np.load(ROOT / "cache/fer_mesh.npz")
    z = np.load(ROOT.parent / "shared/data/fer2013.npz")
    au = mesh_blocks(m["landmarks"], m["blendshapes"], m["presence"])["au"]
    df = pd.DataFrame(au, columns=AU_NAMES)
    df["label"] = [FER_NAMES[i] for i in z["label"]]
    return df, z["ferplus_votes"].astype(float)


def typical_table(df: pd.DataFrame, votes: np.ndarray) -> None:
    """Neutral median / 90th percentile, strong movement, neutral firing of ``_c``."""
    neutral = df[df["label"] == "neutral"]
    occ = au_occurrence(df[list(AU_NAMES)].to_numpy(float))
    occ = pd.DataFrame(occ, columns=list(AU_OCCURRENCE_NAMES), index=df.index)
    emo = votes[:, :8]
    plus_neutral = (emo.argmax(1) == FERPLUS_NEUTRAL) & (emo.sum(1) > 0)
    rows = []
    for a in OCCURRENCE_AUS:
        strong = STRONG_CLASS.get(a)
        rows.append({
            "AU": a, "neutral median": neutral[a].median(),
            "neutral 90th pct": neutral[a].quantile(0.9),
            "strong (95th pct of class)": (df.loc[df["label"] == strong, a].quantile(0.95)
                                           if strong else df[a].quantile(0.99)),
            "class": strong or "99th pct, all faces",
            "_c on FER-2013 neutral": occ.loc[neutral.index, f"{a}_c"].mean(),
            "_c on FER+ neutral": occ.loc[plus_neutral, f"{a}_c"].mean(),
        })
    print(f"\nFER-2013 typical values ({len(neutral)} neutral-labelled faces; FER+ majority "
          f"neutral: {int(plus_neutral.sum())})")
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


def fer_table(df: pd.DataFrame) -> None:
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
    fer, ferplus_votes = fer_aus()
    fer_table(fer)
    typical_table(fer, ferplus_votes)
    cremad_table()
