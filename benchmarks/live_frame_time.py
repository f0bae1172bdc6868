"""Analysis time of one live frame (`fau.video.live.LiveAnalyzer.process`) with the
appearance CNN started on the landmarks before the blendshapes (what fau does) and with
a tracker that measures the blendshapes with the landmarks (the order before session 16),
interleaved frame by frame over a committed CREMA-D clip (``tests/data/cremad``, 480×360,
one face, default model), medians in ms.

Usage::

    python benchmarks/live_frame_time.py [--rounds 8] [--clip HAP]
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
sys.path.insert(0, str(ROOT / "tests"))

import fau  # noqa: E402
from clips import clip_frames  # noqa: E402
from fau.video.live import LiveAnalyzer  # noqa: E402
from fau.video.tracking import Tracker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8, help="passes over the clip")
    ap.add_argument("--clip", default="HAP")
    args = ap.parse_args()
    frames = clip_frames(args.clip)
    with fau.Detector() as det:
        staged, plain = LiveAnalyzer(det), LiveAnalyzer(det)
        plain.tracker = Tracker(det.backend, max_faces=det.max_faces,
                                min_face_score=det.min_face_score)
        times: dict[str, list[float]] = {"staged": [], "plain": []}
        load0 = os.getloadavg()[0]
        t = 0.0
        for r in range(args.rounds):
            for rgb in frames:
                t += 1 / 30
                for name, live in (("staged", staged), ("plain", plain)):
                    a = time.perf_counter()
                    live.process(rgb, t)
                    if r:  # the first pass warms up
                        times[name].append(time.perf_counter() - a)
    med = {k: 1000 * statistics.median(v) for k, v in times.items()}
    print(f"{os.cpu_count()} cores, load {load0:.2f} -> {os.getloadavg()[0]:.2f}; "
          f"{len(times['staged'])} frames each")
    print(f"| order | median ms / frame |\n|---|---:|\n"
          f"| CNN started on the landmarks, then the blendshapes (fau) | {med['staged']:.2f} |\n"
          f"| blendshapes with the landmarks, then the CNN (before) | {med['plain']:.2f} |")


if __name__ == "__main__":
    main()
