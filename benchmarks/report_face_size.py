"""How AU values degrade as the face gets smaller: the basis of the quality rule's face size.

Every frame of the six committed CREMA-D clips (tests/data/cremad/*.flv, 480×360, face box
about 95 px wide) is scaled (INTER_AREA down, INTER_CUBIC up) so that the face is about
``W`` px wide, and placed at the centre of a mid-grey canvas of at least 480×360 px. Each
canvas goes through ``fau.Detector(expression_model=None).detect_image`` (IMAGE mode, no
tracking, no smoothing). The reference is the same frame at 2× (face ≈ 190 px). Per face
width: the share of frames with a face found, and per AU the median absolute difference
from the reference (IOD; AU45 in neutral eye openings), summarised as the median over the
IOD AUs and the 90th percentile over them, plus AU45.

    python benchmarks/report_face_size.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIPS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
NATIVE_FACE_PX = 95.0  # face box width in the CREMA-D clips (px), measured by fau
WIDTHS = (24, 32, 40, 48, 60, 72, 96, 128)  # target face widths (px)
REFERENCE_PX = 190  # the reference face width (2×)


def frames() -> list[np.ndarray]:
    import av

    out = []
    for c in CLIPS:
        with av.open(str(ROOT / f"tests/data/cremad/1001_DFA_{c}_XX.flv")) as src:
            out += [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    return out


def scaled(rgb: np.ndarray, face_px: float) -> np.ndarray:
    import cv2

    s = face_px / NATIVE_FACE_PX
    h, w = rgb.shape[:2]
    img = cv2.resize(rgb, (round(w * s), round(h * s)),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    H, W = max(img.shape[0], 360), max(img.shape[1], 480)
    canvas = np.full((H, W, 3), 128, np.uint8)
    y0, x0 = (H - img.shape[0]) // 2, (W - img.shape[1]) // 2
    canvas[y0:y0 + img.shape[0], x0:x0 + img.shape[1]] = img
    return canvas


def main() -> None:
    import fau
    from fau.plot.units import au_unit
    from fau.video.temporal import BILATERAL_AUS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    imgs = frames()
    aus = list(BILATERAL_AUS)
    iod = [x for x in aus if au_unit(x) == "IOD"]
    results = {}
    with fau.Detector(expression_model=None) as det:
        def aus_of(img):
            f = det.detect_image(img)
            return f[aus].iloc[0].to_numpy(float) if len(f) else None

        ref = [aus_of(scaled(im, REFERENCE_PX)) for im in imgs]
        for w in WIDTHS:
            diffs, found, widths = [], 0, []
            for im, r in zip(imgs, ref):
                f = det.detect_image(scaled(im, w))
                if not len(f):
                    continue
                found += 1
                widths.append(float(f["face_w"].iloc[0]))
                if r is not None:
                    diffs.append(np.abs(f[aus].iloc[0].to_numpy(float) - r))
            d = np.median(np.array(diffs), axis=0) if diffs else np.full(len(aus), np.nan)
            byau = dict(zip(aus, d))
            results[w] = {
                "face_w_measured": float(np.median(widths)) if widths else None,
                "found": found / len(imgs),
                "iod_median": float(np.median([byau[x] for x in iod])),
                "iod_p90": float(np.percentile([byau[x] for x in iod], 90)),
                "AU45": float(byau.get("AU45", np.nan)),
                "per_au": {k: float(v) for k, v in byau.items()},
            }
            r = results[w]
            print(f"face {w:4d} px (fau box {r['face_w_measured'] or 0:5.1f}): found "
                  f"{r['found']:.0%}, |AU − ref| median over IOD AUs {r['iod_median']:.4f}, "
                  f"p90 {r['iod_p90']:.4f} IOD, AU45 {r['AU45']:.3f} eye openings", flush=True)
    if a.json:
        a.json.write_text(json.dumps({"frames": len(imgs), "results": results}, indent=1))


if __name__ == "__main__":
    main()
