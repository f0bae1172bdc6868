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

3. **Held-out halves** (``--resample N``): N random halves of the ckplus_dev *subjects*;
   every AU's AUC on each half (both halves of a split are scored), the mean over the
   AU columns and the worst column: their median and 5th percentile say how much a
   figure can move on subjects not seen. A selection-aware line repeats it where the
   design was chosen among candidates (`au_candidates.CANDIDATES`): the candidate with
   the best peak AUC on one half is scored on the other.
4. **Occurrence thresholds** (``--thresholds``): per AU, the threshold with the best F1
   of the coded presence (peak + neutral frames) among those that flag at most
   `NEUTRAL_FIRING_MAX` of the ckplus_dev neutral frames *and* of the London neutral
   photos; F1 and the neutral firing rates also out of fold (5 folds by subject).

The CK+ crops are research-only data for measuring (see ``../shared/data/README.md``):
nothing here trains a shipped model. ``--cache`` saves the landmarks of every image to
``cache/au_ckplus_landmarks.npz`` (git-ignored) for design work; ``--from-cache`` reads
them back instead of running the landmarker (AU and occurrence columns recomputed with
`fau.au`, as the detector does; the blendshape peer needs a fresh run).

Usage::

    python benchmarks/au_ckplus.py [--min-positives 8] [--cache | --from-cache]
                                   [--resample 200] [--thresholds] [--blendshapes]
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
from fau.au import (
    AU_NAMES,
    AU_OCCURRENCE_NAMES,
    AU_THRESHOLDS,
    OCCURRENCE_AUS,
    align,
    au_intensities,
    au_occurrence,
)
from fau.landmarks.base import BLENDSHAPE_NAMES

from au_candidates import CANDIDATES

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
#: Most neutral faces an occurrence threshold may flag (fraction), on the ckplus_dev
#: neutral frames and on the London neutral photos alike: OpenFace-style ``_c`` columns
#: are read as "the AU is there", which a resting face should rarely trip (issue 10,
#: part 2: at most 10%).
NEUTRAL_FIRING_MAX = 0.10
#: Eye-closure AUs, not coded in CK+: present when the eye is more closed than open
#: (0.5 neutral eye openings; fau.au.occurrence).
EYE_CLOSURE = {"AU43": 0.5, "AU45": 0.5}
#: Seed of the random subject halves (``--resample``).
SEED = 0
LANDMARK_COLUMNS = [f"{a}_{i}" for a in "xyz" for i in range(478)]
#: FER-2013 meshes of every image (``benchmarks/extract_fer.py``), for ``--fer-neutral``.
FER_MESH = ROOT / "cache" / "fer_mesh.npz"
#: Index of "neutral" in fer2013.npz's ``ferplus_columns``; ``split`` code of PrivateTest.
FERPLUS_NEUTRAL, FER_PRIVATE_TEST = 0, 2


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


def landmark_array(table: pd.DataFrame) -> np.ndarray:
    """The ``x_i, y_i, z_i`` columns of a face table as (n, 478, 3) pixels (NaN rows kept)."""
    return (table.reindex(columns=LANDMARK_COLUMNS).to_numpy(np.float64)
            .reshape(-1, 3, 478).transpose(0, 2, 1))


def aligned(landmarks: np.ndarray) -> np.ndarray:
    """`fau.au.align` points of every face with finite landmarks, NaN elsewhere."""
    out = np.full(landmarks.shape, np.nan)
    ok = np.isfinite(landmarks).all(axis=(1, 2))
    if ok.any():
        out[ok] = align(landmarks[ok]).points
    return out


def table_from_landmarks(landmarks: np.ndarray, index: list[str]) -> pd.DataFrame:
    """AU and occurrence columns (and the landmarks) recomputed from cached landmarks."""
    pts = aligned(landmarks)
    ok = np.isfinite(pts).all(axis=(1, 2))
    au = np.full((len(pts), len(AU_NAMES)), np.nan)
    au[ok] = au_intensities(pts[ok])
    occ = np.where(ok[:, None], au_occurrence(au), np.nan)
    flat = landmarks.transpose(0, 2, 1).reshape(len(landmarks), -1)
    return pd.DataFrame(np.hstack([au, occ, flat]), index=index,
                        columns=list(AU_NAMES) + list(AU_OCCURRENCE_NAMES) + LANDMARK_COLUMNS)


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


def best_threshold(x: np.ndarray, y: np.ndarray, neutrals: list[np.ndarray],
                   max_rate: float = NEUTRAL_FIRING_MAX) -> tuple[float, float]:
    """The threshold with the best F1 of ``x > t`` among those that flag at most
    ``max_rate`` of every array in ``neutrals``; with no positive in ``y``, the lowest
    such threshold. Candidates: midpoints between the sorted values of ``x`` and
    ``neutrals``. Returns (threshold, F1; NaN without positives)."""
    values = np.concatenate([x] + neutrals)
    xs = np.unique(values[np.isfinite(values)])
    mids = np.r_[(xs[1:] + xs[:-1]) / 2, xs[-1] + 1e-6]
    ok = np.ones(len(mids), bool)
    for n in neutrals:
        n = n[np.isfinite(n)]
        ok &= (n[None, :] > mids[:, None]).mean(axis=1) <= max_rate
    mids = mids[ok]
    if not y.any():
        return float(mids[0]), float("nan")
    pred = x[None, :] > mids[:, None]  # (thresholds, samples)
    tp = (pred & y[None, :]).sum(axis=1)
    f1 = 2 * tp / np.maximum(pred.sum(axis=1) + y.sum(), 1)  # = 2TP / (2TP + FP + FN)
    i = int(np.argmax(f1))
    return float(mids[i]), float(f1[i])


def choose_thresholds(peak: pd.DataFrame, neutral: pd.DataFrame, manifest: pd.DataFrame,
                      london_neutral: pd.DataFrame,
                      fer_neutral: tuple[pd.DataFrame, pd.DataFrame] | None = None
                      ) -> pd.DataFrame:
    """Occurrence thresholds under the neutral-firing constraint, with 5-fold CV by subject.

    The F1 counts the peak frames (coded presence) and the neutral first frames (every AU
    absent); the constraint holds on the ckplus_dev neutral frames and the London neutral
    photos, and with ``fer_neutral`` = (constraint faces, held-out faces) also on the
    first (the held-out rate is reported). Out of fold: the threshold is chosen on the
    other folds' subjects (London people are split into the same number of folds) and
    scored on the fold's."""
    codes = manifest["aus"].map(coded_aus)
    has_neutral = manifest["neutral_image"].notna().to_numpy()
    subjects = manifest["subject_id"].to_numpy(str)
    groups = np.r_[subjects, subjects[has_neutral]]
    is_neutral = np.r_[np.zeros(len(manifest), bool), np.ones(int(has_neutral.sum()), bool)]
    london_fold = np.arange(len(london_neutral)) % FOLDS
    rows = []
    for name in OCCURRENCE_AUS:
        au = int(name[2:])
        y_peak = codes.map(lambda c: au in c).to_numpy()
        x = np.r_[peak[name].to_numpy(float), neutral[name].to_numpy(float)[has_neutral]]
        y = np.r_[y_peak, np.zeros(int(has_neutral.sum()), bool)]
        ok = np.isfinite(x)
        x, y, g, neu = x[ok], y[ok], groups[ok], is_neutral[ok]
        lon = london_neutral[name].to_numpy(float)
        lon_ok = np.isfinite(lon)
        lon, lon_fold = lon[lon_ok], london_fold[lon_ok]
        if name in EYE_CLOSURE:
            t, f1, rule = EYE_CLOSURE[name], np.nan, "0.5 (not coded)"
        else:
            enough = y_peak.sum() >= MIN_POSITIVES_F1
            extra = [fer_neutral[0][name].to_numpy(float)] if fer_neutral else []
            t, f1 = best_threshold(x, y if enough else np.zeros_like(y), [x[neu], lon] + extra)
            rule = "max F1 (neutral <= 10%)" if enough else "neutral bound (few coded)"
        pred = np.zeros(len(x), bool)
        lon_pred = np.zeros(len(lon), bool)
        for k, (train, test) in enumerate(GroupKFold(FOLDS).split(x, y, g)):
            if name in EYE_CLOSURE:
                tk = t
            else:
                yk = y[train] if y_peak.sum() >= MIN_POSITIVES_F1 else np.zeros(len(train), bool)
                tk = best_threshold(x[train], yk, [x[train][neu[train]],
                                                   lon[lon_fold != k]] + extra)[0]
            pred[test] = x[test] > tk
            lon_pred[lon_fold == k] = lon[lon_fold == k] > tk
        cv = f1_score(y, pred) if y.any() and not np.isnan(f1) else np.nan
        rows.append({"AU": name, "n+": int(y_peak.sum()), "rule": rule, "threshold": t,
                     "F1 (peak+neutral)": f1, "CV F1 (by subject)": cv,
                     "CK+ neutral on": float(np.mean(x[neu] > t)),
                     "London neutral on": float(np.mean(lon > t)),
                     "CV CK+ neutral on": float(pred[neu].mean()),
                     "CV London neutral on": float(lon_pred.mean()),
                     "shipped": AU_THRESHOLDS[name]})
        if fer_neutral:
            rows[-1]["F1 (_c, peak)"] = (f1_score(y_peak, peak[name].to_numpy(float) > t)
                                         if y_peak.any() else np.nan)
            rows[-1]["FER+ neutral on (held out)"] = float(
                np.mean(fer_neutral[1][name].to_numpy(float) > t))
    return pd.DataFrame(rows)


def subject_halves(subjects: np.ndarray, n: int, seed: int = SEED) -> list[np.ndarray]:
    """``n`` random halves of the distinct subjects, as masks over the rows; each split
    gives two held-out halves (the mask and its complement)."""
    rng = np.random.default_rng(seed)
    distinct = np.unique(subjects)
    masks = []
    for _ in range(n):
        half = rng.permutation(distinct)[: len(distinct) // 2]
        mask = np.isin(subjects, half)
        masks += [mask, ~mask]
    return masks


def _auc(y: np.ndarray, x: np.ndarray) -> float:
    ok = np.isfinite(x)
    return roc_auc_score(y[ok], x[ok]) if 0 < y[ok].sum() < ok.sum() else np.nan


def resample_auc(peak_pts: np.ndarray, neutral_pts: np.ndarray, manifest: pd.DataFrame,
                 columns: list[str], n_splits: int, *, select: bool) -> pd.DataFrame:
    """Held-out AUC of each AU column on random subject halves (`subject_halves`).

    With ``select``, an AU of `au_candidates.CANDIDATES` is scored by the candidate with
    the best peak AUC on the *other* half (and the choice is recorded). Returns one row
    per (half, AU): ``half``, ``AU``, ``peak``, ``delta`` (AUC of peak − neutral) and
    ``chosen``."""
    codes = manifest["aus"].map(coded_aus)
    subjects = manifest["subject_id"].to_numpy(str)
    masks = subject_halves(subjects, n_splits)
    ok_p = np.isfinite(peak_pts).all(axis=(1, 2))
    ok_n = np.isfinite(neutral_pts).all(axis=(1, 2))
    shipped = np.full((len(peak_pts), len(AU_NAMES)), np.nan)
    shipped_n = shipped.copy()
    shipped[ok_p] = au_intensities(peak_pts[ok_p])
    shipped_n[ok_n] = au_intensities(neutral_pts[ok_n])
    rows = []
    for name in columns:
        y = codes.map(lambda c, a=int(name[2:]): a in c).to_numpy()
        options = {"shipped": (shipped[:, AU_NAMES.index(name)],
                               shipped_n[:, AU_NAMES.index(name)])}
        if select:
            for label, f in CANDIDATES.get(name, {}).items():
                if label != "shipped":
                    xp, xn = np.full(len(y), np.nan), np.full(len(y), np.nan)
                    xp[ok_p], xn[ok_n] = f(peak_pts[ok_p]), f(neutral_pts[ok_n])
                    options[label] = (xp, xn)
        for h, test in enumerate(masks):
            train = masks[h + 1 if h % 2 == 0 else h - 1]
            best = max(options, key=lambda k: np.nan_to_num(_auc(y[train], options[k][0][train])))
            xp, xn = options[best]
            rows.append({"half": h, "AU": name, "chosen": best, "peak": _auc(y[test], xp[test]),
                         "delta": _auc(y[test], (xp - xn)[test])})
    return pd.DataFrame(rows)


def resample_summary(long: pd.DataFrame, in_mean: list[str]
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per AU (median and 5th percentile of the held-out AUC) and per half (mean over
    the ``in_mean`` AU columns, worst of them): their median, 5th and 1st percentile."""
    per_au = long.groupby("AU", sort=True).agg(
        **{"median peak": ("peak", "median"),
           "p5 peak": ("peak", lambda v: np.nanpercentile(v, 5)),
           "median peak−neutral": ("delta", "median"),
           "p5 peak−neutral": ("delta", lambda v: np.nanpercentile(v, 5)),
           "shipped chosen": ("chosen", lambda v: float(np.mean(v == "shipped")))})
    long = long[long["AU"].isin(in_mean)]
    per_half = long.groupby("half").agg(mean_peak=("peak", "mean"), mean_delta=("delta", "mean"),
                                        worst_peak=("peak", "min"), worst_delta=("delta", "min"))
    rows = [{"statistic": col.replace("_", " ").replace("delta", "peak−neutral"),
             "median": per_half[col].median(), "p5": np.nanpercentile(per_half[col], 5),
             "p1": np.nanpercentile(per_half[col], 1)} for col in per_half]
    worst = long.loc[long.groupby("half")["peak"].idxmin(), "AU"].value_counts(normalize=True)
    rows.append({"statistic": "worst column at peak, most often: " + ", ".join(
        f"{a} {v:.0%}" for a, v in worst.head(3).items()), "median": np.nan, "p5": np.nan,
        "p1": np.nan})
    return per_au.reset_index(), pd.DataFrame(rows)


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


def fer_neutral_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """AU tables of the FER-2013 faces whose FER+ majority vote is neutral: Training and
    PublicTest (for the constraint), PrivateTest (held out). Meshes from `FER_MESH`."""
    from fau.expression.features import mesh_blocks

    m = np.load(FER_MESH)
    z = np.load(SHARED / "fer2013.npz")
    votes = z["ferplus_votes"][:, :8].astype(float)
    neutral = (votes.argmax(axis=1) == FERPLUS_NEUTRAL) & (votes.sum(axis=1) > 0)
    au = mesh_blocks(m["landmarks"], m["blendshapes"], m["presence"])["au"]
    table = pd.DataFrame(au, columns=list(AU_NAMES))
    held = z["split"] == FER_PRIVATE_TEST
    return table[neutral & ~held], table[neutral & held]


def load_tables(manifest: pd.DataFrame, people: list[str], lon_s: pd.DataFrame,
                lon_n: pd.DataFrame, *, from_cache: bool) -> tuple[list[pd.DataFrame], float]:
    """Face tables (with landmarks) of the CK+ peak and neutral crops and the London
    smiling and neutral photos, through the detector or from `CACHE`."""
    neutral_paths = [str(CKPLUS / p) if isinstance(p, str) else ""
                     for p in manifest["neutral_image"]]
    peak_paths = [str(CKPLUS / p) for p in manifest["peak_image"]]
    smile_paths = [str(LONDON / lon_s.loc[i, "path"]) for i in people]
    plain_paths = [str(LONDON / lon_n.loc[i, "path"]) for i in people]
    t0 = time.perf_counter()
    if from_cache:
        z = np.load(CACHE)
        if list(z["ck_sequence"]) != list(manifest["sequence_id"]) or \
                list(z["london_subject"]) != people:
            raise SystemExit(f"{CACHE} does not match the manifests: re-run with --cache")
        tables = [table_from_landmarks(z[k], idx) for k, idx in
                  (("ck_peak", peak_paths), ("ck_neutral", neutral_paths),
                   ("london_smile", smile_paths), ("london_neutral", plain_paths))]
        return tables, time.perf_counter() - t0
    with fau.Detector(expression_model=None) as det:
        peak = measure(det, [Path(p) for p in peak_paths], cropped=True)
        neutral = measure(det, [Path(p) for p in neutral_paths if p], cropped=True)
        neutral = neutral.reindex(neutral_paths)
        smile = measure(det, [Path(p) for p in smile_paths], cropped=False)
        plain = measure(det, [Path(p) for p in plain_paths], cropped=False)
    return [peak, neutral, smile, plain], time.perf_counter() - t0


def save_cache(peak: pd.DataFrame, neutral: pd.DataFrame, smile: pd.DataFrame,
               plain: pd.DataFrame, manifest: pd.DataFrame, people: list[str]) -> None:
    """Landmarks (and blendshapes) of every image to `CACHE` (git-ignored)."""
    CACHE.parent.mkdir(exist_ok=True)
    np.savez_compressed(
        CACHE, ck_peak=landmark_array(peak), ck_neutral=landmark_array(neutral),
        london_smile=landmark_array(smile), london_neutral=landmark_array(plain),
        ck_peak_bs=peak.reindex(columns=BS).to_numpy(float),
        ck_neutral_bs=neutral.reindex(columns=BS).to_numpy(float),
        ck_sequence=manifest["sequence_id"].to_numpy(str),
        ck_subject=manifest["subject_id"].to_numpy(str), ck_aus=manifest["aus"].to_numpy(str),
        london_subject=np.asarray(people, dtype=str))


def candidate_table(peak_pts: np.ndarray, neutral_pts: np.ndarray, manifest: pd.DataFrame,
                    long: pd.DataFrame) -> pd.DataFrame:
    """AUC (peak, peak − neutral) of every `au_candidates.CANDIDATES` measure on all
    sequences, and the share of halves on which it was chosen (``long``)."""
    codes = manifest["aus"].map(coded_aus)
    ok_p = np.isfinite(peak_pts).all(axis=(1, 2))
    ok_n = np.isfinite(neutral_pts).all(axis=(1, 2))
    rows = []
    for name, options in CANDIDATES.items():
        y = codes.map(lambda c, a=int(name[2:]): a in c).to_numpy()
        chosen = long.loc[long["AU"] == name, "chosen"]
        for label, f in options.items():
            xp, xn = np.full(len(y), np.nan), np.full(len(y), np.nan)
            xp[ok_p], xn[ok_n] = f(peak_pts[ok_p]), f(neutral_pts[ok_n])
            rows.append({"AU": name, "n+": int(y.sum()), "candidate": label,
                         "AUC peak": _auc(y, xp), "AUC peak−neutral": _auc(y, xp - xn),
                         "chosen on halves": float((chosen == label).mean())
                         if len(chosen) else np.nan})
    return pd.DataFrame(rows)


def print_resample(peak: pd.DataFrame, neutral: pd.DataFrame, manifest: pd.DataFrame,
                   columns: list[str], few: list[str], n_splits: int) -> None:
    """The held-out-half tables (`resample_auc`), shipped design and selection-aware;
    the ``few``-coded AUs get their own rows but stay out of the mean and worst."""
    pts_p, pts_n = aligned(landmark_array(peak)), aligned(landmark_array(neutral))
    for select in (False, True):
        long = resample_auc(pts_p, pts_n, manifest, columns + few, n_splits, select=select)
        per_au, overall = resample_summary(long, columns)
        if select:
            print(f"\nSelection-aware (the design of {', '.join(sorted(CANDIDATES))} chosen "
                  "among benchmarks/au_candidates.py on the other half)")
            print(overall.to_markdown(index=False, floatfmt=".3f"))
            sel = per_au[per_au["AU"].isin(list(CANDIDATES))]
            print(sel.to_markdown(index=False, floatfmt=".3f"))
            print("\nThe candidates on all of ckplus_dev, and how often each was chosen")
            print(candidate_table(pts_p, pts_n, manifest, long).to_markdown(
                index=False, floatfmt=".3f"))
        else:
            print(f"\nHeld-out halves: {n_splits} random splits of the "
                  f"{manifest['subject_id'].nunique()} subjects in two halves, each half "
                  f"scored (shipped design; {', '.join(few)}: few coded, not in the mean)")
            print(per_au.drop(columns=["shipped chosen"]).to_markdown(index=False, floatfmt=".3f"))
            print(overall.to_markdown(index=False, floatfmt=".3f"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-positives", type=int, default=8)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--cache", action="store_true", help=f"save landmarks to {CACHE}")
    src.add_argument("--from-cache", action="store_true",
                     help=f"read the landmarks from {CACHE} instead of running the landmarker")
    ap.add_argument("--blendshapes", action="store_true",
                    help="also score MediaPipe's blendshapes mapped to AUs (a peer)")
    ap.add_argument("--thresholds", action="store_true",
                    help="choose the occurrence thresholds (fau.au.AU_THRESHOLDS) and print them")
    ap.add_argument("--fer-neutral", action="store_true",
                    help="with --thresholds: also print thresholds that keep FER+ neutral "
                         f"faces under the limit (needs {FER_MESH})")
    ap.add_argument("--resample", type=int, default=0, metavar="N",
                    help="N random subject halves: held-out AUC per AU, mean and worst column")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    manifest = pd.read_csv(CKPLUS / "manifest.csv")
    manifest = manifest[manifest["peak_image"].notna()].reset_index(drop=True)
    london = pd.read_csv(LONDON / "manifest.csv", dtype={"subject_id": str})
    lon_s = london[london["label"] == "happy"].set_index("subject_id")
    lon_n = london[london["label"] == "neutral"].set_index("subject_id")
    people = sorted(set(lon_s.index) & set(lon_n.index))
    (peak, neutral, smile, plain), seconds = load_tables(manifest, people, lon_s, lon_n,
                                                         from_cache=args.from_cache)
    if args.cache:
        save_cache(peak, neutral, smile, plain, manifest, people)

    n_crops = len(peak) + int(manifest["neutral_image"].notna().sum())
    print(f"fau {fau.__version__}; {n_crops} CK+ crops "
          f"and {2 * len(people)} London photos in {seconds:.0f} s"
          + (" (landmarks from the cache)" if args.from_cache else "")
          + f"; load average {os.getloadavg()[0]:.2f}")
    for t in (peak, neutral, plain):  # occurrence columns from the AU columns when fau lacks them
        if not set(AU_OCCURRENCE_NAMES) <= set(t.columns):
            occ = au_occurrence(t.reindex(columns=list(fau.AU_NAMES)).to_numpy(float))
            t[list(AU_OCCURRENCE_NAMES)] = np.where(t[list(OCCURRENCE_AUS)].notna(), occ, np.nan)
    tab = ckplus_table(peak, neutral, manifest, args.min_positives)
    print(f"\nCK+ ckplus_dev: {len(manifest)} sequences with a peak frame, "
          f"{manifest['subject_id'].nunique()} "
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
    codes = manifest["aus"].map(coded_aus)
    is26, is27 = (codes.map(lambda c, a=a: a in c).to_numpy() for a in (26, 27))
    for col in ("AU26", "AU27"):
        x = peak[col].to_numpy(float)
        sel = (is26 | is27) & np.isfinite(x)
        print(f"{col} on the AU26 ({int(is26.sum())}) vs AU27 ({int(is27.sum())}) sequences "
              f"(CK+ codes one or the other): AUC for AU26 {_auc(is26[sel], x[sel]):.3f}")
    if args.resample:
        print_resample(peak, neutral, manifest, list(tab["AU"]), list(few["AU"]),
                       args.resample)
    if args.blendshapes:
        if args.from_cache:
            raise SystemExit("--blendshapes needs a fresh run (the landmark cache has no "
                             "London blendshapes)")
        peer = ckplus_table(blendshape_peer(peak), blendshape_peer(neutral), manifest,
                            args.min_positives).drop(columns=["F1 (_c, peak)"])
        peer.insert(1, "blendshape", peer["AU"].map(BLENDSHAPE_PEERS))
        print("\nPeer: MediaPipe blendshapes mapped to AUs, same crops")
        print(peer.to_markdown(index=False, floatfmt=".3f"))
        print(f"mean over {len(peer)}: AUC peak {peer['AUC peak'].mean():.3f}, "
              f"peak−neutral {peer['AUC peak−neutral'].mean():.3f}")
    if args.thresholds:
        thr = choose_thresholds(peak, neutral, manifest, plain)
        print(f"\nOccurrence thresholds: best F1 (peak + neutral frames) flagging at most "
              f"{NEUTRAL_FIRING_MAX:.0%} of the CK+ neutral frames and of the London neutral "
              f"photos; CV: {FOLDS} folds by subject")
        print(thr.to_markdown(index=False, floatfmt=".3f"))
        print("AU_THRESHOLDS = {" + ", ".join(f'"{a}": {t:.3f}' for a, t in
                                           zip(thr["AU"], thr["threshold"])) + "}")
        if args.fer_neutral:
            fer = fer_neutral_tables()
            alt = choose_thresholds(peak, neutral, manifest, plain, fer)
            codes = manifest["aus"].map(coded_aus)
            coded = {a: codes.map(lambda c, n=int(a[2:]): n in c).to_numpy() for a in alt["AU"]}
            base = pd.DataFrame([{
                "AU": a,
                "shipped F1 (_c, peak)": (f1_score(coded[a], peak[a].to_numpy(float)
                                                   > AU_THRESHOLDS[a])
                                          if coded[a].any() else np.nan),
                "shipped: FER+ neutral on (held out)":
                    float(np.mean(fer[1][a].to_numpy(float) > AU_THRESHOLDS[a])),
            } for a in alt["AU"]])
            cols = ["threshold", "F1 (_c, peak)", "CV F1 (by subject)",
                    "FER+ neutral on (held out)"]
            print(f"\nAlternative: the limit also on {len(fer[0])} FER+ majority-neutral "
                  f"FER-2013 faces (Training, PublicTest); held out: {len(fer[1])} "
                  "(PrivateTest)")
            print(base.join(alt[cols]).to_markdown(index=False, floatfmt=".3f"))
    print(f"\nLondon set: smiling vs the same person's neutral photo, {len(people)} people")
    print(london_table(smile, plain).to_markdown(index=False, floatfmt=".3f"))
    occ = plain.reindex(columns=list(AU_OCCURRENCE_NAMES)).mean()
    print("London neutral photos flagged by the shipped _c columns: "
          + ", ".join(f"{c[:-2]} {v:.0%}" for c, v in occ.items() if v > 0))


if __name__ == "__main__":
    main()
