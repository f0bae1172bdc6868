"""Does cheap test-time averaging of the mesh raise the AUCs on small grey crops?

On the ckplus_dev crops (128×128 grey, FACS-coded CK+; measuring only) the landmarks of
each crop are measured as ``detect_image(crop, cropped=True)`` does (a first pass on the
crop plus `fau.landmarks.mediapipe.CROP_MARGIN`, then one on MediaPipe's tracking crop)
and again under cheap variants: the mirror image (its mesh mirrored back with
`fau.au.mirror_landmarks`), the region scaled by 0.9 / 1.1, shifted by 3% of the crop.
For each variant, and for the mean mesh of several, the script prints the ROC AUC of
every AU column for the coded presence (peak, peak − neutral; AUs coded in >= 8
sequences), the landmark noise (median |AU of the crop − AU of its mirror| beside the
spread of the neutral frames across subjects) and the landmarker time per variant.

Usage::

    python benchmarks/au_test_time.py          # ~20 landmark passes per crop pair
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from fau.au import AU_NAMES, align, au_intensities, mirror_landmarks
from fau.io import load_image
from fau.landmarks.mediapipe import CROP_MARGIN, MediaPipeBackend
from fau.landmarks.roi import Roi

ROOT = Path(__file__).resolve().parents[1]
CKPLUS = ROOT.parent / "shared" / "data" / "ckplus_dev" / "au"
#: name → (scale of the region, x shift, y shift (fractions of the crop), mirrored).
VARIANTS = {
    "crop (fau's path)": (1.0, 0.0, 0.0, False),
    "mirror": (1.0, 0.0, 0.0, True),
    "scale 0.9": (0.9, 0.0, 0.0, False),
    "scale 1.1": (1.1, 0.0, 0.0, False),
    "shift x 3%": (1.0, 0.03, 0.0, False),
    "shift y 3%": (1.0, 0.0, 0.03, False),
}
#: Mean meshes scored beside the single variants.
COMBINATIONS = {
    "crop + mirror": ["crop (fau's path)", "mirror"],
    "crop + scale 1.1": ["crop (fau's path)", "scale 1.1"],
    "crop + mirror + scales": ["crop (fau's path)", "mirror", "scale 0.9", "scale 1.1"],
    "all six": list(VARIANTS),
}
MIN_POSITIVES = 8


def variant_mesh(be: MediaPipeBackend, rgb: np.ndarray, scale: float, dx: float, dy: float,
                 mirrored: bool) -> np.ndarray:
    """Image-pixel landmarks of one crop under one variant (mirrored back if mirrored)."""
    img = np.ascontiguousarray(rgb[:, ::-1]) if mirrored else rgb
    h, w = img.shape[:2]
    roi = Roi(w / 2 + dx * w, h / 2 + dy * h, max(h, w) * (1 + 2 * CROP_MARGIN) * scale, 0.0)
    lm = be.mesh(img, roi, refine=True).landmarks.astype(np.float64)
    return mirror_landmarks(lm, w) if mirrored else lm


def intensities(landmarks: np.ndarray) -> np.ndarray:
    out = np.full((len(landmarks), len(AU_NAMES)), np.nan)
    ok = np.isfinite(landmarks).all(axis=(1, 2))
    out[ok] = au_intensities(align(landmarks[ok]).points)
    return out


def main() -> None:
    man = pd.read_csv(CKPLUS / "manifest.csv")
    man = man[man["peak_image"].notna()].reset_index(drop=True)
    codes = man["aus"].map(lambda t: {int(a) for a in str(t).split(";") if a.strip()})
    counts = pd.Series([a for c in codes for a in c]).value_counts()
    cols = [f"AU{a:02d}" for a in sorted(counts.index)
            if counts[a] >= MIN_POSITIVES and f"AU{a:02d}" in AU_NAMES]
    meshes = {k: {kind: np.full((len(man), 478, 3), np.nan) for kind in ("peak", "neutral")}
              for k in VARIANTS}
    seconds = dict.fromkeys(VARIANTS, 0.0)
    with MediaPipeBackend(max_faces=1) as be:
        for kind, column in (("peak", "peak_image"), ("neutral", "neutral_image")):
            for i, p in enumerate(man[column]):
                if not isinstance(p, str):
                    continue
                rgb = load_image(CKPLUS / p)
                for k, v in VARIANTS.items():
                    t0 = time.perf_counter()
                    meshes[k][kind][i] = variant_mesh(be, rgb, *v)
                    seconds[k] += time.perf_counter() - t0
    n_images = int(man["peak_image"].notna().sum() + man["neutral_image"].notna().sum())
    print(f"{len(man)} ckplus_dev sequences, {n_images} crops, AUs coded in >= "
          f"{MIN_POSITIVES}: {len(cols)}; load average {os.getloadavg()[0]:.2f}")

    def score(peak: np.ndarray, neutral: np.ndarray) -> dict[str, float]:
        a, b = intensities(peak), intensities(neutral)
        out = {}
        for c in cols:
            i, y = AU_NAMES.index(c), codes.map(lambda s, a=int(c[2:]): a in s).to_numpy()
            for label, x in (("peak", a[:, i]), ("delta", a[:, i] - b[:, i])):
                ok = np.isfinite(x)
                out[f"{c} {label}"] = roc_auc_score(y[ok], x[ok])
        return out

    rows = {}
    for k in VARIANTS:
        rows[k] = score(meshes[k]["peak"], meshes[k]["neutral"])
    for k, parts in COMBINATIONS.items():
        rows[k] = score(*(np.mean([meshes[v][kind] for v in parts], axis=0)
                          for kind in ("peak", "neutral")))
    tab = pd.DataFrame(rows).T
    summary = pd.DataFrame({
        "mean AUC peak": tab[[f"{c} peak" for c in cols]].mean(axis=1),
        "mean AUC peak−neutral": tab[[f"{c} delta" for c in cols]].mean(axis=1),
        "lowest peak": tab[[f"{c} peak" for c in cols]].min(axis=1),
        "lowest peak−neutral": tab[[f"{c} delta" for c in cols]].min(axis=1),
        "landmarker ms / crop": [1000 * seconds[k] / n_images if k in seconds else
                                 1000 * sum(seconds[v] for v in COMBINATIONS[k]) / n_images
                                 for k in tab.index],
    })
    print(summary.to_markdown(floatfmt=".3f"))

    a = intensities(meshes["crop (fau's path)"]["neutral"])
    m = intensities(meshes["mirror"]["neutral"])
    noise = pd.DataFrame({
        "median |crop − mirror|": np.nanmedian(np.abs(a - m), axis=0),
        "SD of neutral frames": np.nanstd(a, axis=0),
    }, index=list(AU_NAMES)).loc[cols]
    print("\nLandmark noise on the neutral crops (IOD units)")
    print(noise.T.to_markdown(floatfmt=".3f"))


if __name__ == "__main__":
    main()
