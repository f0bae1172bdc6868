"""Where the wall time of one ``detect_image`` call goes on the frames of ``bench_image.py``:
detection (``backend.detect``: the pyramid, the landmark and blendshape models), and within
it the time the calling thread waits for the detector's second stage (the finer levels and
the upside-down check, run on the detector's thread while the landmark model measures the
first stage's faces); then everything after detection (mesh features, the appearance CNN
beside the booster, the table), as ``detect_image`` minus a ``backend.detect`` of the same
frame, timed in the same loop.

A wait near zero means the detector's thread is not what the call waits for, so moving work
off the calling thread while it waits cannot save wall time.

Usage::

    python benchmarks/image_timeline.py [--repeats 100] [--frame padded close-up]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fau  # noqa: E402
from bench_image import frame640  # noqa: E402

#: Warm-up calls before timing (interpreters built, caches filled).
WARMUP = 20


def timed_stages(detector, waits: list[float]):
    """Wrap ``detector.stages`` (this instance only) so that the wait for each stage after
    the first is appended to ``waits`` (seconds)."""
    plain = detector.stages

    def stages(image, **kw):
        gen = plain(image, **kw)
        first = True
        try:
            while True:
                t = time.perf_counter()
                try:
                    stage = next(gen)
                except StopIteration:
                    return
                if not first:
                    waits.append(time.perf_counter() - t)
                first = False
                yield stage
        finally:
            gen.close()

    detector.stages = stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--frame", nargs="+", default=["padded", "close-up"])
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} at the start; {a.repeats} calls per frame "
          f"after {WARMUP} warm-up calls; medians in ms\n")
    print("| frame | detect_image | backend.detect | wait for stage 2 | after detection |\n"
          "|---|---:|---:|---:|---:|")
    for kind in a.frame:
        img = frame640(kind)
        with fau.Detector() as det:
            waits: list[float] = []
            timed_stages(det.backend.detector, waits)
            total, detect, wait = [], [], []
            for i in range(WARMUP + a.repeats):
                waits.clear()
                t0 = time.perf_counter()
                det.backend.detect(img)
                t1 = time.perf_counter()
                w = waits[0] if waits else 0.0
                det.detect_image(img)
                t2 = time.perf_counter()
                if i >= WARMUP:
                    detect.append(t1 - t0)
                    wait.append(w)
                    total.append(t2 - t1)
            after = [t - d for t, d in zip(total, detect)]
            cells = [statistics.median(v) * 1e3 for v in (total, detect, wait, after)]
            print(f"| {kind} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
