"""Measure the face mesh of every FER-2013 image once and cache it.

Runs fau's cropped-face path (`fau.io.as_rgb` → `MediaPipeBackend.mesh_from_crop`, the
same calls `Detector.detect_image(img, cropped=True)` makes) on all 35,887 images and
writes ``cache/fer_mesh.npz``: ``landmarks`` (N, 478, 3) float32 in image pixels,
``blendshapes`` (N, 52), ``presence`` (N,).

``--augment SEED`` measures the mesh of a randomly altered copy of each image instead
(issue 14, "mesh features from augmented crops"): the face box moved and scaled, the face
rolled, then gamma, blur, low resolution, noise and a real JPEG round trip, each with
probability `P_PHOTOMETRIC`, within the limits the appearance CNN's robustness recipe uses
(`train_cnn.py`: `GAMMA_MAX`, `BLUR_MAX_PX`, `LOWRES_SIDES`, `NOISE_MAX`, `JPEG_QUALITY`).
Image ``i``'s alteration depends only on ``(SEED, i)``. Written to
``cache/fer_mesh_aug<SEED>.npz`` with the same keys; ``train_expression.py --augmented``
adds its Training rows.

Usage::

    python benchmarks/extract_fer.py [--jobs 2] [--data ../shared/data/fer2013.npz]
    python benchmarks/extract_fer.py --augment 0
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import cv2
import numpy as np
from joblib import Parallel, delayed

from fau.io import as_rgb
from fau.landmarks import MediaPipeBackend

ROOT = Path(__file__).resolve().parents[1]

#: Box and roll limits of the augmentation: how far another detector's face box and a
#: tilted head put the face from FER-2013's framing (rotation in degrees; scale and shift
#: as fractions of the 48-px crop), as in benchmarks/device_mobilenet.sh's CNN recipe.
ROT_DEG, SCALE, SHIFT = 15.0, 0.2, 0.12
#: Probability of each photometric alteration (as in benchmarks/device_cnn.sh).
P_PHOTOMETRIC = 0.25
#: Photometric limits of benchmarks/train_cnn.py (grey levels, px, JPEG quality).
GAMMA_MAX, BLUR_MAX_PX, LOWRES_SIDES, NOISE_MAX, JPEG_QUALITY = (
    2.0, 1.5, (12, 16, 24, 32), 10.0, (20, 90))


def augment_crop(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A randomly altered copy of a (48, 48) uint8 grey face crop (same shape and type)."""
    h, w = img.shape
    ang = rng.uniform(-ROT_DEG, ROT_DEG)
    sc = 1.0 + rng.uniform(-SCALE, SCALE)
    tx, ty = rng.uniform(-SHIFT, SHIFT, 2) * (w, h)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), ang, sc)
    m[:, 2] += (tx, ty)
    x = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    if rng.random() < P_PHOTOMETRIC:
        g = np.exp(rng.uniform(-1, 1) * np.log(GAMMA_MAX))
        x = 255.0 * (x / 255.0) ** g
    if rng.random() < P_PHOTOMETRIC:
        x = cv2.GaussianBlur(x, (7, 7), rng.uniform(0.3, BLUR_MAX_PX))
    if rng.random() < P_PHOTOMETRIC:
        side = int(rng.choice(LOWRES_SIDES))
        small = cv2.resize(x, (side, side), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < P_PHOTOMETRIC:
        x = x + rng.normal(0.0, rng.uniform(0, NOISE_MAX), x.shape)
    x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if rng.random() < P_PHOTOMETRIC:
        q = int(rng.uniform(*JPEG_QUALITY))
        ok, buf = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, q])
        x = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return x


def _chunk(images: np.ndarray, first: int = 0, seed: int | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    backend = MediaPipeBackend(num_threads=1)
    lm = np.empty((len(images), 478, 3), np.float32)
    bs = np.empty((len(images), 52), np.float32)
    pr = np.empty(len(images), np.float32)
    for i, img in enumerate(images):
        if seed is not None:
            img = augment_crop(img, np.random.default_rng([seed, first + i]))
        face = backend.mesh_from_crop(as_rgb(img))
        lm[i], bs[i], pr[i] = face.landmarks, face.blendshapes, face.presence
    backend.close()
    return lm, bs, pr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/fer2013.npz"))
    ap.add_argument("--out", default="",
                    help="default cache/fer_mesh.npz (cache/fer_mesh_aug<SEED>.npz with --augment)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--augment", type=int, default=None, metavar="SEED",
                    help="measure randomly altered copies of the images (see above)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.out:
        name = "fer_mesh.npz" if args.augment is None else f"fer_mesh_aug{args.augment}.npz"
        args.out = str(ROOT / "cache" / name)
    images = np.load(args.data)["images"]
    t0 = time.perf_counter()
    bounds = np.linspace(0, len(images), 65).astype(int)
    parts = Parallel(n_jobs=args.jobs, verbose=5)(
        delayed(_chunk)(images[a:b], a, args.augment) for a, b in zip(bounds[:-1], bounds[1:]))
    lm, bs, pr = (np.concatenate(p) for p in zip(*parts))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, landmarks=lm, blendshapes=bs, presence=pr)
    dt = time.perf_counter() - t0
    logging.info("%d faces in %.0f s (%.1f ms/face wall, %d jobs) -> %s",
                 len(images), dt, 1000 * dt / len(images), args.jobs, args.out)


if __name__ == "__main__":
    main()
