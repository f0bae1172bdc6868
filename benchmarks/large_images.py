"""Face detection on large photos (36 and 100 megapixels): time, peak memory and recall,
side by side with the bare MediaPipe Tasks FaceLandmarker on the same array.

Each image size is measured in a fresh interpreter (its own peak memory): the image is
built in place from ``uint8`` slices (no float temporaries), a noise background tiled
from a 256×256 patch with the six CREMA-D stills the repo ships (``tests/data``, ODbL)
pasted at face widths of ``--widths`` pixels (landmark-box width: the face's landmark box
on the still, found by fau, scaled). Then, in this order:

* ``detect_faces``: fau's face detector alone (`fau.landmarks.detection.FaceDetector`,
  the pyramid of `fau.landmarks.pyramid`), one call;
* ``detect_image``: `fau.Detector` (default expression model, DataFrame included), one
  call; a true face is found when a row's box has IoU >= 0.5 with its landmark box;
* the extra peak memory of those two calls: ``VmHWM`` of ``/proc/self/status`` (the
  interpreter's own high-water mark) after them minus before them (the image and the
  models already loaded);
* the bare MediaPipe ``FaceLandmarker`` (IMAGE mode, ``num_faces`` = the number of faces
  pasted) on the same array, last (its own copy of the image would count in the peak).

Wall and CPU seconds (the process's, all threads) per call; the load average at the
start and end. ``--flat`` measures a uniform grey image as well (nothing to find: the
black-border retry runs too).

``--single WxH`` instead counts rows per image on photos of that size with one face of
each of `SINGLE_WIDTHS` pixels (six stills × six seeds): a face larger than a finer
level's band can be boxed in parts there, and each part must not become a second row.

Usage::

    python benchmarks/large_images.py [--sizes 7360x4912 10000x10000] [--flat]
    python benchmarks/large_images.py --single 4032x3024
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STILLS = ("ang", "dis", "fea", "hap", "neu", "sad")
#: Face widths pasted (landmark-box width, pixels): from the default ``min_face`` (30 px)
#: to a close-up of a sixth of a 7360-px side; all fit side by side on one shelf.
WIDTHS = (32, 40, 60, 100, 200, 400, 800, 1200)
#: Face widths (pixels) of ``--single``: from the finest level's band on a 12 MP photo
#: (160 / (14 / 30) = 343 px) to a close-up.
SINGLE_WIDTHS = (250, 350, 450, 600, 800, 1000, 1300)


def peak_mb() -> float:
    """Peak resident memory of this interpreter (MiB): `fau.limits.peak_rss_mb` (VmHWM)."""
    from fau.limits import peak_rss_mb

    mb = peak_rss_mb()
    if mb is None:
        raise SystemExit("this benchmark reads VmHWM from /proc: Linux only")
    return mb


def build_image(height: int, width: int, faces: list[tuple[np.ndarray, np.ndarray]],
                widths: tuple[int, ...], flat: bool, seed: int = 0
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """A ``height``×``width`` RGB uint8 image with faces pasted on noise, and their boxes."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.uint8)
    if flat:
        img[...] = 128
        return img, []
    patch = np.clip(rng.normal(128, 40, (256, 256, 3)), 0, 255).astype(np.uint8)
    for y in range(0, height, 256):
        for x in range(0, width, 256):
            img[y:y + 256, x:x + 256] = patch[: height - y, : width - x]
    truth = []
    x = gap = 16
    for i, face_w in enumerate(widths):  # one shelf, left to right (largest first)
        still, box = faces[i % len(faces)]
        s = face_w / (box[2] - box[0])
        # the face with 40% of its box as context on each side, scaled to its width
        bw, bh = box[2] - box[0], box[3] - box[1]
        x0, y0 = max(0, int(box[0] - 0.4 * bw)), max(0, int(box[1] - 0.4 * bh))
        x1 = min(still.shape[1], int(box[2] + 0.4 * bw))
        y1 = min(still.shape[0], int(box[3] + 0.4 * bh))
        cut = cv2.resize(still[y0:y1, x0:x1], None, fx=s, fy=s,
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        ch, cw = cut.shape[:2]
        if x + cw > width or ch > height:
            raise SystemExit(f"a {face_w}-px face does not fit in {width}×{height}")
        y = int(rng.integers(0, height - ch + 1))
        img[y:y + ch, x:x + cw] = cut
        truth.append((box - [x0, y0, x0, y0]) * s + [x, y, x, y])
        x += cw + gap
    return img, truth


def _timed(call):
    c, t = time.process_time(), time.perf_counter()
    out = call()
    return out, time.perf_counter() - t, time.process_time() - c


def measure_one(height: int, width: int, widths: tuple[int, ...], flat: bool) -> dict:
    """Measure one image size in this interpreter (run in a fresh one: see `main`)."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from PIL import Image

    import fau
    from fau.resources import model_path
    from fau.video.tracking import iou

    widths = tuple(sorted(widths, reverse=True))  # the order build_image places them in
    det = fau.Detector()
    stills = []
    for name in STILLS:
        still = np.asarray(Image.open(ROOT / f"tests/data/cremad_{name}.jpg").convert("RGB"))
        lm = det.landmarks(still)[0, :, :2]
        stills.append((still, np.r_[lm.min(0), lm.max(0)]))
    det.detect_image(stills[0][0])  # warm-up
    img, truth = build_image(height, width, stills, widths, flat)
    base = peak_mb()
    dets, d_wall, d_cpu = _timed(lambda: det.backend.detect_faces(img))
    views = det.backend.detector.last_views
    df, i_wall, i_cpu = _timed(lambda: det.detect_image(img))
    extra = peak_mb() - base
    found = [np.array([r.face_x, r.face_y, r.face_x + r.face_w, r.face_y + r.face_h])
             for r in df.itertuples()]
    hits = [max((iou(t, f) for f in found), default=0.0) >= 0.5 for t in truth]
    det.close()
    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        output_face_blendshapes=True, output_facial_transformation_matrixes=True,
        num_faces=max(1, len(truth)))
    with vision.FaceLandmarker.create_from_options(opts) as bare:
        bare.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=stills[0][0]))
        mp_img = mp.Image(image_format=mp.ImageFormat.SRGB, data=img)
        res, b_wall, b_cpu = _timed(lambda: bare.detect(mp_img))
    return {
        "size": f"{width}×{height}", "flat": flat, "views": len(views),
        "view_pixels": int(sum(v.width * v.height for v in views)),
        "scales": sorted({round(v.scale, 4) for v in views}),
        "detections": len(dets), "rows": len(df), "faces": len(truth), "hits": int(sum(hits)),
        "missed_widths": [w for w, h in zip(widths, hits) if not h],
        "detect_faces_s": d_wall, "detect_faces_cpu_s": d_cpu,
        "detect_image_s": i_wall, "detect_image_cpu_s": i_cpu,
        "bare_s": b_wall, "bare_cpu_s": b_cpu, "bare_faces": len(res.face_landmarks),
        "base_mb": base, "extra_mb": extra, "image_mb": img.nbytes / 2**20,
    }


def single_faces(height: int, width: int) -> None:
    """Rows per image on ``height``×``width`` photos with one face (``--single``)."""
    from PIL import Image

    import fau
    from fau.video.tracking import iou

    load0 = os.getloadavg()
    with fau.Detector(expression_model=None) as det:
        stills = []
        for name in STILLS:
            still = np.asarray(Image.open(ROOT / f"tests/data/cremad_{name}.jpg").convert("RGB"))
            lm = det.landmarks(still)[0, :, :2]
            stills.append((still, np.r_[lm.min(0), lm.max(0)]))
        print("| face width (px) | photos | face found (IoU >= 0.5) | photos with extra rows "
              "| extra rows |")
        print("|---:|---:|---:|---:|---:|")
        totals = np.zeros(4, int)
        for face_w in SINGLE_WIDTHS:
            counts = np.zeros(4, int)
            for seed in range(len(STILLS)):
                order = stills[seed:] + stills[:seed]
                img, truth = build_image(height, width, order, (face_w,), False, seed=seed)
                df = det.detect_image(img)
                boxes = [np.array([r.face_x, r.face_y, r.face_x + r.face_w, r.face_y + r.face_h])
                         for r in df.itertuples()]
                found = any(iou(truth[0], b) >= 0.5 for b in boxes)
                extra = len(boxes) - int(found)
                counts += [1, int(found), int(extra > 0), extra]
            totals += counts
            print(f"| {face_w} | {counts[0]} | {counts[1]} | {counts[2]} | {counts[3]} |")
        print(f"| **all** | {totals[0]} | {totals[1]} | {totals[2]} | {totals[3]} |")
    load = os.getloadavg()
    print(f"\n{width}×{height}; load average {load0[0]:.2f} at the start, {load[0]:.2f} at the end")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["7360x4912", "10000x10000"],
                    help="WxH of each image (7360×4912: a 36 MP camera; 10000²: fau's limit)")
    ap.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    ap.add_argument("--flat", action="store_true", help="also a uniform grey image per size")
    ap.add_argument("--single", default=None, metavar="WxH",
                    help="rows per photo of this size with one face (see above)")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # WxH[:flat], in a child
    args = ap.parse_args()
    if args.single:
        w, h = map(int, args.single.split("x"))
        single_faces(h, w)
        return
    if args.one:
        size, _, kind = args.one.partition(":")
        w, h = map(int, size.split("x"))
        print("RESULT " + json.dumps(measure_one(h, w, tuple(args.widths), kind == "flat")))
        return
    load0 = os.getloadavg()
    rows = []
    for size in args.sizes:
        for kind in (["", "flat"] if args.flat else [""]):
            cmd = [sys.executable, __file__, "--one", f"{size}:{kind}",
                   "--widths", *map(str, args.widths)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.rsplit("RESULT ", 1)[1]))
            print(f"# {rows[-1]}", flush=True)
    load = os.getloadavg()
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} (1/5/15 min) at the "
          f"start, {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end; face widths "
          f"{args.widths} px\n")
    print("| image | detector runs (input Mpx) | `detect_faces` s (CPU s) "
          "| `detect_image` s (CPU s) | bare landmarker s (CPU s) | ratio to bare "
          "| faces found | bare found | extra peak MB (image MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        name = r["size"] + (" grey" if r["flat"] else "")
        found = (f"{r['hits']}/{r['faces']} ({r['rows']} rows)" if r["faces"]
                 else f"{r['rows']} rows")
        print(f"| {name} | {r['views']} ({r['view_pixels'] / 1e6:.1f}) "
              f"| {r['detect_faces_s']:.2f} ({r['detect_faces_cpu_s']:.2f}) "
              f"| {r['detect_image_s']:.2f} ({r['detect_image_cpu_s']:.2f}) "
              f"| {r['bare_s']:.2f} ({r['bare_cpu_s']:.2f}) "
              f"| {r['detect_image_s'] / r['bare_s']:.1f} | {found} | {r['bare_faces']} "
              f"| {r['extra_mb']:.0f} ({r['image_mb']:.0f}) |")


if __name__ == "__main__":
    main()
