"""Do fau's action units agree with certified FACS coders? Numbers for docs/action_units.md.

1. **CK+ (ckplus_dev)**: 147 posed sequences of 55 subjects (Lucey et al. 2010), FACS
   codes of the peak frame by certified coders, 128×128 grey crops of the peak and the
   first (neutral) frame. Every crop goes through the public API,
   ``fau.Detector(expression_model=None).detect_image(crop, cropped=True)``. For every
   AU coded present in at least ``--min-positives`` sequences (default 8) that has a fau
   column: the ROC AUC of the column for the coded presence at the peak frame, and of
   peak − the same sequence's neutral frame (sequences with both frames); with the
   occurrence columns (``AU12_c`` …, if fau has them) their F1 at the peak frame.
2. **London set** (DeBruine & Jones 2017; 102 people, neutral and smiling photo, 800×800
   colour): AU06, AU12, AU25 of the smiling vs the same person's neutral photo: ROC AUC
   over all photos, fraction of people whose smile value is larger, and the paired
   effect size (mean of the paired difference / its standard deviation).

The CK+ crops are research-only data for measuring (see ``../shared/data/README.md``):
nothing here trains a shipped model. ``--cache`` saves the landmarks of every image to
``cache/au_ckplus_landmarks.npz`` (git-ignored) for design work.

Usage::

    python benchmarks/au_ckplus.py [--min-positives 8] [--cache]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import GroupKFold

import fau
from fau.au import AU_OCCURRENCE_NAMES, AU_THRESHOLDS, OCCURRENCE_AUS, au_occurrence
from fau.landmarks.base import BLENDSHAPE_NAMES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CKPLUS = SHARED / "ckplus_dev" / "au"
LONDON = SHARED / "london"
CACHE = ROOT / "cache" / "au_ckplus_landmarks.npz"
#: AUs the London smiling photos are expected to show (Duchenne smile, lips apart).
LONDON_AUS = ("AU06", "AU12", "AU25")
#: Blendshape columns saved with ``--cache``.
BS = [f"bs_{n}" for n in BLENDSHAPE_NAMES]
#: A naive mapping of MediaPipe's ARKit-style blendshapes to the AUs they resemble (mean
#: of the _Left/_Right pair), printed beside fau's AUs as a peer (``--blendshapes``).
BLENDSHAPE_PEERS = {
    "AU01": "browInnerUp", "AU02": "browOuterUp", "AU04": "browDown", "AU05": "eyeWide",
    "AU06": "cheekSquint", "AU07": "eyeSquint", "AU09": "noseSneer", "AU10": "mouthUpperUp",
    "AU12": "mouthSmile", "AU14": "mouthDimple", "AU15": "mouthFrown",
    "AU17": "mouthShrugLower", "AU20": "mouthStretch", "AU23": "mouthPress",
    "AU24": "mouthPress", "AU25": "mouthLowerDown", "AU27": "jawOpen",
}
#: Fewest coded sequences for choosing an occurrence threshold by F1 (else: the 95th
#: percentile of the neutral frames; see fau.au.occurrence).
MIN_POSITIVES_F1 = 8
#: Cross-validation folds (by subject) for the held-out F1 of the thresholds.
FOLDS = 5


def coded_aus(text: str) -> set[int]:
    """FACS codes of a manifest row (``'1;2;5;27'``) as integers (intensity letters dropped)."""
    return {int(float(re.sub(r"[^0-9.]", "", a))) for a in str(text).split(";") if a.strip()}


def measure(det: fau.Detector, paths: list[Path], *, cropped: bool) -> pd.DataFrame:
    """One table row per image (the largest face when not cropped), with landmarks."""
    rows = []
    for p in paths:
        df = det.detect_image(p, cropped=cropped, landmarks=True)
        if len(df) == 0:
            rows.append(pd.Series(dtype=float, name=str(p)))
            continue
        rows.append(df.loc[(df["face_w"] * df["face_h"]).idxmax()].rename(str(p)))
    return pd.DataFrame(rows)


def au_columns(table: pd.DataFrame) -> list[str]:
    """Bilateral AU intensity columns (``AU01`` …, no ``_L``/``_R``/``_c``) of a face table."""
    return [c for c in table.columns if re.fullmatch(r"AU\d\d", c)]


def ckplus_table(peak: pd.DataFrame, neutral: pd.DataFrame, manifest: pd.DataFrame,
                 min_positives: int) -> pd.DataFrame:
    """Per coded AU: n+, AUC at the peak, AUC of peak − neutral, F1 of ``AUxx_c``."""
    codes = manifest["aus"].map(coded_aus)
    counts: dict[int, int] = {}
    for c in codes:
        for a in c:
            counts[a] = counts.get(a, 0) + 1
    has_neutral = manifest["neutral_image"].notna().to_numpy()
    rows = []
    for au in sorted(counts):
        col = f"AU{au:02d}"
        if counts[au] < min_positives or col not in peak.columns:
            continue
        y = codes.map(lambda c: au in c).to_numpy()
        x = peak[col].to_numpy(dtype=float)
        ok = np.isfinite(x)
        auc_peak = roc_auc_score(y[ok], x[ok])
        d = x - neutral[col].to_numpy(dtype=float)
        okd = np.isfinite(d) & has_neutral
        auc_delta = roc_auc_score(y[okd], d[okd]) if y[okd].any() else np.nan
        occ = f"{col}_c"
        f1 = (f1_score(y[ok], peak.loc[ok, occ].to_numpy() > 0.5)
              if occ in peak.columns else np.nan)
        rows.append({"AU": col, "n+": int(y.sum()), "n": int(ok.sum()),
                     "AUC peak": auc_peak, "AUC peak−neutral": auc_delta,
                     "F1 (_c, peak)": f1})
    return pd.DataFrame(rows)


def best_threshold(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The threshold (midpoint between sorted values) with the highest F1 of ``x > t``."""
    xs = np.unique(x[np.isfinite(x)])
    mids = (xs[1:] + xs[:-1]) / 2
    pred = x[None, :] > mids[:, None]  # (thresholds, samples)
    tp = (pred & y[None, :]).sum(axis=1)
    f1 = 2 * tp / np.maximum(pred.sum(axis=1) + y.sum(), 1)  # = 2TP / (2TP + FP + FN)
    i = int(np.argmax(f1))
    return float(mids[i]), float(f1[i])


def choose_thresholds(peak: pd.DataFrame, neutral: pd.DataFrame,
                      manifest: pd.DataFrame) -> pd.DataFrame:
    """Occurrence thresholds on peak + neutral frames, with subject-wise CV F1."""
    codes = manifest["aus"].map(coded_aus)
    has_neutral = manifest["neutral_image"].notna().to_numpy()
    groups = np.r_[manifest["subject_id"].to_numpy(str),
                   manifest["subject_id"].to_numpy(str)[has_neutral]]
    rows = []
    for name in OCCURRENCE_AUS:
        au = int(name[2:])
        y_peak = codes.map(lambda c: au in c).to_numpy()
        x = np.r_[peak[name].to_numpy(float), neutral[name].to_numpy(float)[has_neutral]]
        y = np.r_[y_peak, np.zeros(int(has_neutral.sum()), bool)]
        ok = np.isfinite(x)
        x, y, g = x[ok], y[ok], groups[ok]
        neutral_x = neutral[name].to_numpy(float)[has_neutral]
        if y_peak.sum() >= MIN_POSITIVES_F1:
            t, f1 = best_threshold(x, y)
            pred = np.zeros(len(x), bool)
            for train, test in GroupKFold(FOLDS).split(x, y, g):
                pred[test] = x[test] > best_threshold(x[train], y[train])[0]
            rule, cv = "max F1", f1_score(y, pred)
        elif name in ("AU43", "AU45"):
            t, f1, cv, rule = 0.5, np.nan, np.nan, "0.5 (not coded)"
        else:
            t, f1, cv = float(np.nanpercentile(neutral_x, 95)), np.nan, np.nan
            rule = "neutral p95"
        rows.append({"AU": name, "n+": int(y_peak.sum()), "rule": rule, "threshold": t,
                     "F1 (peak+neutral)": f1, "CV F1 (by subject)": cv,
                     "neutral frames on": float(np.nanmean(neutral_x > t)),
                     "shipped": AU_THRESHOLDS[name]})
    return pd.DataFrame(rows)


def blendshape_peer(table: pd.DataFrame) -> pd.DataFrame:
    """Columns ``AUxx`` holding the mapped blendshape score (`BLENDSHAPE_PEERS`)."""
    out = pd.DataFrame(index=table.index)
    for au, bs in BLENDSHAPE_PEERS.items():
        cols = [c for c in (f"bs_{bs}", f"bs_{bs}Left", f"bs_{bs}Right") if c in table]
        out[au] = table[cols].mean(axis=1)
    return out


def london_table(smile: pd.DataFrame, neutral: pd.DataFrame) -> pd.DataFrame:
    """AUC, share of people with smile > neutral and paired effect size per AU."""
    rows = []
    for col in LONDON_AUS:
        s, n = smile[col].to_numpy(float), neutral[col].to_numpy(float)
        ok = np.isfinite(s) & np.isfinite(n)
        diff = s[ok] - n[ok]
        y = np.r_[np.ones(ok.sum()), np.zeros(ok.sum())]
        rows.append({"AU": col, "pairs": int(ok.sum()),
                     "AUC smile vs neutral": roc_auc_score(y, np.r_[s[ok], n[ok]]),
                     "smile > neutral": float((diff > 0).mean()),
                     "paired d": float(diff.mean() / diff.std(ddof=1)),
                     "mean diff (IOD)": float(diff.mean())})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-positives", type=int, default=8)
    ap.add_argument("--cache", action="store_true", help=f"save landmarks to {CACHE}")
    ap.add_argument("--blendshapes", action="store_true",
                    help="also score MediaPipe's blendshapes mapped to AUs (a peer)")
    ap.add_argument("--thresholds", action="store_true",
                    help="choose the occurrence thresholds (fau.au.AU_THRESHOLDS) and print them")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    manifest = pd.read_csv(CKPLUS / "manifest.csv")
    manifest = manifest[manifest["peak_image"].notna()].reset_index(drop=True)
    london = pd.read_csv(LONDON / "manifest.csv", dtype={"subject_id": str})
    lon_s = london[london["label"] == "happy"].set_index("subject_id")
    lon_n = london[london["label"] == "neutral"].set_index("subject_id")
    people = sorted(set(lon_s.index) & set(lon_n.index))
    t0 = time.perf_counter()
    with fau.Detector(expression_model=None) as det:
        peak = measure(det, [CKPLUS / p for p in manifest["peak_image"]], cropped=True)
        neutral_paths = [CKPLUS / p if isinstance(p, str) else None
                         for p in manifest["neutral_image"]]
        neutral = measure(det, [p for p in neutral_paths if p is not None], cropped=True)
        neutral = neutral.reindex([str(p) for p in neutral_paths])
        smile = measure(det, [LONDON / lon_s.loc[i, "path"] for i in people], cropped=False)
        plain = measure(det, [LONDON / lon_n.loc[i, "path"] for i in people], cropped=False)
    seconds = time.perf_counter() - t0

    if args.cache:
        CACHE.parent.mkdir(exist_ok=True)
        lm_cols = [f"{a}_{i}" for a in "xyz" for i in range(478)]

        def lm(t: pd.DataFrame) -> np.ndarray:
            return t.reindex(columns=lm_cols).to_numpy(np.float64).reshape(-1, 3, 478) \
                .transpose(0, 2, 1)
        np.savez_compressed(
            CACHE, ck_peak=lm(peak), ck_neutral=lm(neutral), london_smile=lm(smile),
            london_neutral=lm(plain),
            ck_peak_bs=peak.reindex(columns=BS).to_numpy(float),
            ck_neutral_bs=neutral.reindex(columns=BS).to_numpy(float), ck_sequence=manifest["sequence_id"].to_numpy(str),
            ck_subject=manifest["subject_id"].to_numpy(str), ck_aus=manifest["aus"].to_numpy(str),
            london_subject=np.asarray(people, dtype=str))

    print(f"fau {fau.__version__}; {len(peak) + int(manifest['neutral_image'].notna().sum())} CK+ crops "
          f"and {2 * len(people)} London photos in {seconds:.0f} s; "
          f"load average {os.getloadavg()[0]:.2f}")
    for t in (peak, neutral):  # occurrence columns from the AU columns when fau lacks them
        if not set(AU_OCCURRENCE_NAMES) <= set(t.columns):
            occ = au_occurrence(t.reindex(columns=list(fau.AU_NAMES)).to_numpy(float))
            t[list(AU_OCCURRENCE_NAMES)] = np.where(t[list(OCCURRENCE_AUS)].notna(), occ, np.nan)
    tab = ckplus_table(peak, neutral, manifest, args.min_positives)
    print(f"\nCK+ ckplus_dev: {len(manifest)} sequences with a peak frame, {manifest['subject_id'].nunique()} "
          f"subjects, {int(manifest['neutral_image'].notna().sum())} with a neutral frame; "
          f"AUs coded in >= {args.min_positives} sequences")
    print(tab.to_markdown(index=False, floatfmt=".3f"))
    print(f"\nmean over {len(tab)} AU columns: AUC peak {tab['AUC peak'].mean():.3f}, "
          f"peak−neutral {tab['AUC peak−neutral'].mean():.3f}; lowest "
          f"{tab['AUC peak'].min():.3f} / {tab['AUC peak−neutral'].min():.3f}"
          + f"; mean F1 {tab['F1 (_c, peak)'].mean():.3f}")
    few = ckplus_table(peak, neutral, manifest, 3)
    few = few[few["n+"] < args.min_positives]
    print(f"\nAUs coded in 3 to {args.min_positives - 1} sequences (too few to rely on; "
          "not in the mean)")
    print(few.to_markdown(index=False, floatfmt=".3f"))
    if args.blendshapes:
        peer = ckplus_table(blendshape_peer(peak), blendshape_peer(neutral), manifest,
                            args.min_positives).drop(columns=["F1 (_c, peak)"])
        peer.insert(1, "blendshape", peer["AU"].map(BLENDSHAPE_PEERS))
        print("\nPeer: MediaPipe blendshapes mapped to AUs, same crops")
        print(peer.to_markdown(index=False, floatfmt=".3f"))
        print(f"mean over {len(peer)}: AUC peak {peer['AUC peak'].mean():.3f}, "
              f"peak−neutral {peer['AUC peak−neutral'].mean():.3f}")
    if args.thresholds:
        thr = choose_thresholds(peak, neutral, manifest)
        print("\nOccurrence thresholds (peak + neutral frames; CV: 5 folds by subject)")
        print(thr.to_markdown(index=False, floatfmt=".3f"))
        print("AU_THRESHOLDS = {" + ", ".join(f'"{a}": {t:.3f}' for a, t in
                                           zip(thr["AU"], thr["threshold"])) + "}")
    print(f"\nLondon set: smiling vs the same person's neutral photo, {len(people)} people")
    print(london_table(smile, plain).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
