"""End-to-end check: ``fau.Detector`` on every PrivateTest image, accuracy computed here.

Runs ``Detector(expression_model=M).detect_image(img, cropped=True)`` on the 3,589
FER-2013 PrivateTest images (the public API, nothing cached) and scores the
``expression`` column against FER-2013 labels (``--model fer2013``) or FER+ majority
labels on the 3,153 rows that have one (``--model ferplus``).

Usage::

    python benchmarks/check_detector_fer.py --model fer2013
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import fer_eval  # noqa: E402

import fau  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["fer2013", "ferplus"], default="fer2013")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    data = fer_eval.load_fer()
    idx, y, names = fer_eval.protocol_data(data, args.model, 2)
    if args.limit:
        idx, y = idx[: args.limit], y[: args.limit]
    t0 = time.perf_counter()
    pred = []
    with fau.Detector(expression_model=args.model) as det:
        for i in idx:
            row = det.detect_image(data["images"][i], cropped=True).iloc[0]
            pred.append(fau.EXPRESSIONS.index(row["expression"]))
    dt = time.perf_counter() - t0
    acc = float((np.array(pred) == y).mean())
    print(f"Detector(expression_model={args.model!r}) on {len(idx)} PrivateTest images: "
          f"accuracy {acc:.4f} ({dt:.0f} s, {1000 * dt / len(idx):.1f} ms/image)")


if __name__ == "__main__":
    main()
