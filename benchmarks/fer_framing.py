"""Measure how FER-2013 frames faces, for fau's appearance patch (`FER_FRAMING`).

For every FER-2013 Training image, take the box of the 468 face landmarks in the face's
eye-level frame (from ``cache/fer_mesh.npz``) and record the image side / box height and
the image centre's offset from the box centre along the face's down axis / box height.
Prints the medians that ``fau/expression/appearance.py`` uses.

Usage::

    python benchmarks/fer_framing.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    m = np.load(ROOT / "cache/fer_mesh.npz")
    z = np.load(ROOT.parent / "shared/data/fer2013.npz")
    train = (z["split"] == 0) & (m["presence"] >= 0.5)
    lm = m["landmarks"][train]
    ratios, shifts, lateral = [], [], []
    for pts in lm:
        r, l = pts[33], pts[263]
        a = math.atan2(float(l[1] - r[1]), float(l[0] - r[0]))
        c, s = math.cos(-a), math.sin(-a)
        rot = np.array([[c, -s], [s, c]])
        up = pts[:468, :2] @ rot.T
        lo, hi = up.min(0), up.max(0)
        h = float(hi[1] - lo[1])
        centre = (lo + hi) / 2
        img_centre = rot @ np.array([24.0, 24.0])
        ratios.append(48.0 / h)
        shifts.append((img_centre[1] - centre[1]) / h)
        lateral.append((img_centre[0] - centre[0]) / h)
    print(f"n={len(ratios)}  side/box-height median {np.median(ratios):.3f} "
          f"(IQR {np.percentile(ratios, 25):.3f}-{np.percentile(ratios, 75):.3f})  "
          f"centre shift down median {np.median(shifts):.3f}  lateral {np.median(lateral):.3f}")


if __name__ == "__main__":
    main()
