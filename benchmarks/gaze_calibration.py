"""Calibrate and check fau's gaze model (`fau.au.gaze`) on the London set.

The 204 photos of the Face Research Lab London Set (``../shared/data/london``, CC BY 4.0;
DeBruine & Jones 2017) are frontal portraits of 102 people looking into the camera. For
each photo the script measures, in the pose-free head frame, the iris centre minus the
eye-corner midpoint of each eye; the medians are `fau.au.gaze.EYEBALL_OFFSET_CM` (the
eyeball centre's offset). With the shipped offsets it then reports the spread of the
measured gaze over the photos (all ideally 0°, looking into the camera) — a floor on the
gaze error of MediaPipe's iris landmarks on 800×800 photos — split by subject halves so
the calibration half and the checked half are different people.

    python benchmarks/gaze_calibration.py [--london ../shared/data/london]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def measure(london: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per photo: iris minus corner midpoint (2 eyes × x, y; cm) and (yaw, pitch) gaze."""
    import fau
    from fau.au import align
    from fau.au.gaze import _CORNERS, _IRIS_CENTRE, gaze_angles

    offsets, angles, subjects = [], [], []
    with open(london / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with fau.Detector(expression_model=None) as det:
        for r in rows:
            lm = det.landmarks(str(london / r["path"]))
            if len(lm) != 1:
                continue
            al = align(lm[0])
            p = al.points
            offsets.append([p[_IRIS_CENTRE[k], :2] - p[list(_CORNERS[k]), :2].mean(0)
                            for k in (0, 1)])
            angles.append(gaze_angles(lm[0], al))
            subjects.append(r["subject_id"])
    return np.array(offsets), np.array(angles), subjects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--london", type=Path, default=ROOT.parent / "shared/data/london")
    args = ap.parse_args()
    off, ang, subj = measure(args.london)
    print(f"photos with one face: {len(off)}")
    med = np.median(off, axis=0)
    print("median iris - corner midpoint (cm), right eye x,y / left eye x,y:",
          np.round(med, 3).tolist())
    ids = np.array([int(s) for s in subj])
    for name, sel in (("odd subjects", ids % 2 == 1), ("even subjects", ids % 2 == 0)):
        m = np.median(off[sel], axis=0)
        print(f"  {name}: {np.round(m, 3).tolist()}")
    ok = np.isfinite(ang).all(axis=1)
    a = ang[ok]
    print(f"gaze with the shipped offsets (deg), {ok.sum()} photos: "
          f"yaw median {np.median(a[:, 0]):+.1f}, MAD-SD {1.4826 * np.median(np.abs(a[:, 0] - np.median(a[:, 0]))):.1f}, "
          f"|yaw| p90 {np.percentile(np.abs(a[:, 0]), 90):.1f}; "
          f"pitch median {np.median(a[:, 1]):+.1f}, MAD-SD {1.4826 * np.median(np.abs(a[:, 1] - np.median(a[:, 1]))):.1f}, "
          f"|pitch| p90 {np.percentile(np.abs(a[:, 1]), 90):.1f}")


if __name__ == "__main__":
    main()
