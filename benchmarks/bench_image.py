"""Speed of ``Detector.detect_image`` on a 640×480 frame with one face, side by side with
the bare MediaPipe Tasks FaceLandmarker on the same array, in the same run.

The frame is a CREMA-D still (``tests/data/cremad_hap.jpg``, 480×360) padded to 640×480.
Each timing is the median of warm calls (``--repeats``), alternating the two systems so
that load from other processes affects both alike. Prints a markdown table.

Usage::

    python benchmarks/bench_image.py [--repeats 200] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def frame640() -> np.ndarray:
    img = np.asarray(Image.open(ROOT / "tests/data/cremad_hap.jpg").convert("RGB"))
    out = np.zeros((480, 640, 3), np.uint8)
    out[60:420, 80:560] = img
    return out


def main() -> None:
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    import fau
    from fau.resources import model_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None,
                    help="Detector(num_threads=...); default None = the library default")
    ap.add_argument("--model", default="ferplus")
    args = ap.parse_args()
    img = frame640()
    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        output_face_blendshapes=True, output_facial_transformation_matrixes=True, num_faces=1,
    )
    mp_img = mp.Image(image_format=mp.ImageFormat.SRGB, data=img)
    timings: dict[str, list[float]] = {"bare": [], "fau": [], "fau_noexpr": []}
    with vision.FaceLandmarker.create_from_options(opts) as bare, \
            fau.Detector(expression_model=args.model, num_threads=args.threads) as det, \
            fau.Detector(expression_model=None, num_threads=args.threads) as det0:
        for _ in range(10):  # warm-up
            bare.detect(mp_img), det.detect_image(img), det0.detect_image(img)
        for _ in range(args.repeats):
            t = time.perf_counter(); bare.detect(mp_img); timings["bare"].append(time.perf_counter() - t)
            t = time.perf_counter(); df = det.detect_image(img); timings["fau"].append(time.perf_counter() - t)
            t = time.perf_counter(); det0.detect_image(img); timings["fau_noexpr"].append(time.perf_counter() - t)
        assert len(df) == 1
    med = {k: 1000 * statistics.median(v) for k, v in timings.items()}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; repeats {args.repeats}; fau threads {args.threads}")
    print()
    print("| system | median ms / call | ratio to bare |")
    print("|---|---:|---:|")
    print(f"| bare MediaPipe FaceLandmarker (Tasks, IMAGE mode) | {med['bare']:.2f} | 1.00 |")
    print(f"| fau `detect_image` ({args.model}, DataFrame included) | {med['fau']:.2f} | {med['fau'] / med['bare']:.2f} |")
    print(f"| fau `detect_image` (expression_model=None) | {med['fau_noexpr']:.2f} | {med['fau_noexpr'] / med['bare']:.2f} |")


if __name__ == "__main__":
    main()
