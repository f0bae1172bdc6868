"""Face detection recall and false boxes per face size, on generated group images.

Canvases are made from the Face Research Lab London Set (``../shared/data/london``,
CC BY 4.0; DeBruine & Jones 2017, doi:10.6084/m9.figshare.5047666.v5): each face photo
is cut around its face, scaled so that the face is a chosen width (30-300 px), and
placed without overlap on a background (flat colour, noise, gradient or texture) of
several sizes and aspect ratios. The canvases live only in memory (``--save DIR``
writes them for inspection; never commit them: they are made of the London photos).

Ground truth is the tight box of the 478 landmarks that fau finds on the original
800×800 photo (every one of the 204 photos has exactly one face), scaled and moved
with the face. A detected face (a row of ``fau.Detector(expression_model=None)
.detect_image``: ``face_x, face_y, face_w, face_h``) is a hit when its box overlaps a
not yet matched true face with IoU >= 0.5 (greedy, best IoU first); every other row
is a false box.

Usage::

    python benchmarks/group_faces.py [--seeds 0 1 2] [--min-face 30] [--save cache/groups]

Prints markdown tables: recall per face-size bin, false boxes, and the
"sealed-like" layout (6-12 faces of 35-110 px on 1280×960).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fau.video.tracking import iou  # (x0, y0, x1, y1) boxes

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT.parent / "shared" / "data" / "london"
CACHE = ROOT / "cache" / "london_landmarks.npz"

#: Face-size bins (landmark-box width, pixels) of the report.
BINS = (10, 14, 18, 22, 26, 30, 40, 55, 75, 100, 140, 200, 300)
#: IoU of landmark boxes at or above which a detection is the true face.
MATCH_IOU = 0.5
#: Layouts: (name, canvas width, height, smallest and largest face width in pixels).
LAYOUTS = (
    ("4:3 mixed", 1280, 960, 30, 300),
    ("16:9 small", 1280, 720, 30, 90),
    ("3:4 portrait", 960, 1280, 30, 200),
    ("8:3 panorama", 1600, 600, 30, 160),
    ("1:1 large", 800, 800, 90, 300),
    ("640x480 small", 640, 480, 30, 80),
)
SEALED_LIKE = ("sealed-like 4:3", 1280, 960, 35, 110)
BACKGROUNDS = ("flat", "noise", "gradient", "texture")


def face_landmarks(det) -> tuple[list[str], np.ndarray]:
    """Paths of the London photos and the 478 landmarks (x, y) fau finds on each."""
    rows = list(csv.DictReader(open(LONDON / "manifest.csv")))
    paths = [r["path"] for r in rows]
    if CACHE.is_file():
        z = np.load(CACHE)
        if list(z["paths"]) == paths:
            return paths, z["landmarks"]
    out = []
    for p in paths:
        lm = det.landmarks(str(LONDON / p))
        if len(lm) != 1:
            raise SystemExit(f"{p}: {len(lm)} faces found on the original photo")
        out.append(lm[0, :, :2])
    CACHE.parent.mkdir(exist_ok=True)
    np.savez(CACHE, paths=np.array(paths), landmarks=np.array(out, np.float32))
    return paths, np.array(out)


def background(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An RGB uint8 background of one of `BACKGROUNDS`."""
    if kind == "flat":
        return np.broadcast_to(rng.integers(0, 256, 3).astype(np.uint8), (h, w, 3)).copy()
    if kind == "noise":
        base = rng.integers(40, 216, 3)
        noisy = base + rng.normal(0, rng.uniform(10, 60), (h, w, 3))
        return np.clip(noisy, 0, 255).astype(np.uint8)
    if kind == "gradient":
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        t = (xx * np.cos(ang) + yy * np.sin(ang))
        t = (t - t.min()) / max(t.max() - t.min(), 1)
        return (a + (b - a) * t[..., None]).astype(np.uint8)
    # texture: blurred multi-scale noise plus stripes (foliage / fabric / wallpaper-like)
    img = np.zeros((h, w, 3), np.float32)
    for scale in (4, 16, 64):
        small = rng.normal(0, 1, (h // scale + 2, w // scale + 2, 3)).astype(np.float32)
        img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * scale ** 0.5
    yy, xx = np.mgrid[0:h, 0:w]
    period = rng.uniform(6, 40)
    img += 8 * np.sin((xx * rng.uniform(-1, 1) + yy) * 2 * np.pi / period)[..., None]
    img = (img - img.mean()) / (img.std() + 1e-6) * rng.uniform(25, 55) + rng.integers(60, 196, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass
class Canvas:
    image: np.ndarray
    boxes: list[np.ndarray] = field(default_factory=list)  # true landmark boxes x0,y0,x1,y1
    names: list[str] = field(default_factory=list)


def make_canvas(layout, bg: str, photos, marks, rng: np.random.Generator,
                max_faces: int = 24, vary: bool = True) -> Canvas:
    """Place London faces of random widths (log-uniform in the layout's range).

    With ``vary``, each face is also rolled by up to ±20°, its gamma set in 0.7-1.4 and
    (half of them) blurred with a Gaussian of sigma up to 1.2 px after scaling; the
    canvas is JPEG-compressed at quality 60-95 once all faces are placed.
    """
    _, w, h, lo, hi = layout
    canvas = Canvas(background(bg, h, w, rng))
    occupied: list[np.ndarray] = []
    for _ in range(max_faces * 8):
        if len(canvas.boxes) >= max_faces:
            break
        k = int(rng.integers(len(photos)))
        img, pts = photos[k], marks[k]
        box = np.r_[pts.min(0), pts.max(0)]
        face_w = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        s = face_w / (box[2] - box[0])
        roll = float(rng.uniform(-20, 20)) if vary else 0.0
        # cut-out: a square around the face, 1.9× its height (hair, ears, some neck)
        side = 1.9 * max(box[2] - box[0], box[3] - box[1]) * s
        if side >= min(w, h):
            continue
        x, y = rng.uniform(0, w - side), rng.uniform(0, h - side)
        place = np.array([x, y, x + side, y + side])
        if any(not (place[2] < o[0] or place[0] > o[2] or place[3] < o[1] or place[1] > o[3])
               for o in occupied):
            continue
        x0, y0 = int(x), int(y)
        n = int(np.ceil(side)) + 1
        centre = (box[:2] + box[2:]) / 2.0
        # photo -> patch: scale s and roll about the face centre, centre to patch middle
        m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll, s)
        m[:, 2] += np.array([side / 2 + x - x0, side / 2 + y - y0]) - centre
        patch = cv2.warpAffine(img, m, (n, n), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        if vary:
            patch = 255.0 * (patch / 255.0) ** rng.uniform(0.7, 1.4)
            if rng.random() < 0.5:
                patch = cv2.GaussianBlur(patch, (0, 0), rng.uniform(0.3, 1.2))
        if rng.random() < 0.5:  # feathered ellipse (no rectangular edge) or square cut-out
            yy, xx = np.mgrid[0:n, 0:n]
            r = ((xx - n / 2) / (n / 2)) ** 2 + ((yy - n / 2) / (n / 2)) ** 2
            alpha = np.clip((1.0 - r) / 0.25, 0, 1)[..., None]
        else:
            alpha = np.ones((n, n, 1))
        ch, cw = min(n, h - y0), min(n, w - x0)
        region = canvas.image[y0 : y0 + ch, x0 : x0 + cw].astype(np.float32)
        canvas.image[y0 : y0 + ch, x0 : x0 + cw] = np.clip(
            alpha[:ch, :cw] * patch[:ch, :cw] + (1 - alpha[:ch, :cw]) * region, 0, 255
        ).astype(np.uint8)
        occupied.append(place)
        moved = pts @ m[:, :2].T + m[:, 2] + [x0, y0]
        canvas.boxes.append(np.r_[moved.min(0), moved.max(0)])
        canvas.names.append(str(k))
    if vary:
        ok, buf = cv2.imencode(".jpg", canvas.image[:, :, ::-1],
                               [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
        canvas.image = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])
    return canvas


def match(truth: list[np.ndarray], found: np.ndarray) -> tuple[np.ndarray, int]:
    """Hit flags per true face and the number of false boxes (greedy by IoU)."""
    pairs = sorted(((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)),
                   reverse=True)
    hit = np.zeros(len(truth), bool)
    used = set()
    for o, i, j in pairs:
        if o < MATCH_IOU or hit[i] or j in used:
            continue
        hit[i] = True
        used.add(j)
    return hit, len(found) - len(used)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--per-layout", type=int, default=4, help="canvases per layout and seed")
    ap.add_argument("--min-face", type=float, default=None, help="backend min_face (px)")
    ap.add_argument("--plain", action="store_true",
                    help="no roll, gamma, blur or JPEG (faces as photographed, only scaled)")
    ap.add_argument("--sizes", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="only one layout: 1280×960 with faces of LO-HI px (smallest-face sweep)")
    ap.add_argument("--save", type=Path, default=None, help="write canvases here (not in git)")
    args = ap.parse_args()

    import fau
    from fau.landmarks.mediapipe import MediaPipeBackend

    kwargs = {} if args.min_face is None else {"min_face": args.min_face}
    backend = MediaPipeBackend(max_faces=64, num_threads=1, **kwargs)
    det = fau.Detector(expression_model=None, max_faces=63, backend=backend)
    paths, marks = face_landmarks(det)
    photos = [np.asarray(Image.open(LONDON / p).convert("RGB")) for p in paths]

    sizes, hits, bgs, lays = [], [], [], []
    false_by_layout: dict[str, list[int]] = {}
    false_sizes: list[float] = []
    seconds: dict[str, list[float]] = {}
    layouts = LAYOUTS + (SEALED_LIKE,)
    if args.sizes:
        layouts = ((f"sweep {args.sizes[0]:g}-{args.sizes[1]:g}", 1280, 960, *args.sizes),)
    for layout in layouts:
        for seed in args.seeds:
            rng = np.random.default_rng([seed, zlib.crc32(layout[0].encode())])
            for c in range(args.per_layout):
                bg = BACKGROUNDS[(c + seed) % len(BACKGROUNDS)]
                n_max = 12 if layout is SEALED_LIKE else 24
                canvas = make_canvas(layout, bg, photos, marks, rng, max_faces=n_max,
                                     vary=not args.plain)
                t = time.perf_counter()
                df = det.detect_image(canvas.image)
                seconds.setdefault(layout[0], []).append(time.perf_counter() - t)
                found = df[["face_x", "face_y", "face_w", "face_h"]].to_numpy()
                found = np.c_[found[:, :2], found[:, :2] + found[:, 2:]] if len(found) else found
                hit, n_false = match(canvas.boxes, found)
                for b, ok in zip(canvas.boxes, hit):
                    sizes.append(b[2] - b[0])
                    hits.append(ok)
                    bgs.append(bg)
                    lays.append(layout[0])
                false_by_layout.setdefault(layout[0], []).append(n_false)
                if n_false:
                    matched = {j for j in range(len(found))
                               if any(iou(t_, found[j]) >= MATCH_IOU for t_ in canvas.boxes)}
                    false_sizes += [found[j, 2] - found[j, 0] for j in range(len(found))
                                    if j not in matched]
                if args.save:
                    args.save.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(canvas.image).save(
                        args.save / f"{layout[0].replace(' ', '_').replace(':', 'x')}"
                        f"_s{seed}_{c}.jpg")
    sizes, hits, bgs, lays = map(np.asarray, (sizes, hits, bgs, lays))

    print(f"seeds {args.seeds}, {args.per_layout} canvases per layout and seed, min_face "
          f"{backend.min_face:g} px; load average {os.getloadavg()[0]:.2f}\n")
    print("| face width (px) | faces | found | recall |")
    print("|---|---:|---:|---:|")
    edges = BINS + (10_000,)
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (sizes >= lo) & (sizes < hi)
        if m.any():
            label = f"{lo}-{hi}" if hi < 10_000 else f">= {lo}"
            print(f"| {label} | {m.sum()} | {hits[m].sum()} | {hits[m].mean():.3f} |")
    print(f"| **all** | {len(sizes)} | {hits.sum()} | {hits.mean():.3f} |")
    print()
    print("| layout (canvas) | canvases | faces | recall | false boxes | median s / image |")
    print("|---|---:|---:|---:|---:|---:|")
    for layout in layouts:
        m = lays == layout[0]
        fb = false_by_layout[layout[0]]
        print(f"| {layout[0]} ({layout[1]}×{layout[2]}, faces {layout[3]}-{layout[4]} px) | "
              f"{len(fb)} | {m.sum()} | {hits[m].mean():.3f} | {sum(fb)} | "
              f"{np.median(seconds[layout[0]]):.2f} |")
    print()
    print("| background | faces | recall |")
    print("|---|---:|---:|")
    for bg in BACKGROUNDS:
        m = bgs == bg
        if m.any():
            print(f"| {bg} | {m.sum()} | {hits[m].mean():.3f} |")
    m = lays == SEALED_LIKE[0]
    n_false = sum(false_by_layout.get(SEALED_LIKE[0], [0]))
    if m.any():
        print(f"\nsealed-like: recall {hits[m].mean():.3f} over {m.sum()} faces, {n_false} false "
              f"boxes = {58 * n_false / max(m.sum(), 1):.2f} per 58 faces")
    if false_sizes:
        widths = np.round(sorted(false_sizes)).astype(int).tolist()
        print(f"false boxes: {len(false_sizes)}, widths (px) {widths}")
    det.close()


if __name__ == "__main__":
    main()
