"""Measure the face mesh of every FER-2013 image once and cache it.

Runs fau's cropped-face path (`fau.io.as_rgb` → `MediaPipeBackend.mesh_from_crop`, the
same calls `Detector.detect_image(img, cropped=True)` makes) on all 35,887 images and
writes ``cache/fer_mesh.npz``: ``landmarks`` (N, 478, 3) float32 in image pixels,
``blendshapes`` (N, 52), ``presence`` (N,).

Usage::

    python benchmarks/extract_fer.py [--jobs 2] [--data ../shared/data/fer2013.npz]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from fau.io import as_rgb
from fau.landmarks import MediaPipeBackend

ROOT = Path(__file__).resolve().parents[1]


def _chunk(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    backend = MediaPipeBackend(num_threads=1)
    lm = np.empty((len(images), 478, 3), np.float32)
    bs = np.empty((len(images), 52), np.float32)
    pr = np.empty(len(images), np.float32)
    for i, img in enumerate(images):
        face = backend.mesh_from_crop(as_rgb(img))
        lm[i], bs[i], pr[i] = face.landmarks, face.blendshapes, face.presence
    backend.close()
    return lm, bs, pr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/fer2013.npz"))
    ap.add_argument("--out", default=str(ROOT / "cache/fer_mesh.npz"))
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    images = np.load(args.data)["images"]
    t0 = time.perf_counter()
    chunks = np.array_split(images, 64)
    parts = Parallel(n_jobs=args.jobs, verbose=5)(delayed(_chunk)(c) for c in chunks)
    lm, bs, pr = (np.concatenate(p) for p in zip(*parts))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, landmarks=lm, blendshapes=bs, presence=pr)
    dt = time.perf_counter() - t0
    logging.info("%d faces in %.0f s (%.1f ms/face wall, %d jobs) -> %s",
                 len(images), dt, 1000 * dt / len(images), args.jobs, args.out)


if __name__ == "__main__":
    main()
