"""Faces rolled in the image plane, all the way round: found, measured, read the same?

Each London photo (``../shared/data/london``, CC BY 4.0; ``--photos`` of them, neutral
and smiling alternately) is shrunk to a 400×400 face picture, placed on a 640×640 grey
canvas and rolled about the canvas centre by each of ``--angles`` (degrees,
counter-clockwise as seen; grey fills the corners). Each rolled canvas goes through
`fau.Detector.meshes` and `fau.Detector.detect_image` (the default model).

Truth is the unrolled canvas (angle 0): its mesh, rolled with the canvas, and its row.
Reported per angle:

- ``found``: canvases with a face whose landmark box overlaps the truth's (IoU >= 0.5);
- ``lmk``: mean distance of the 478 landmarks (x, y) to the rolled truth, in the truth's
  inter-ocular distances (`fau.au.alignment.inter_ocular_distance`);
- ``bs``: mean over faces of the largest blendshape difference to the truth's (0-1);
- ``au``: mean absolute AU intensity difference to the truth's (the table's AU columns);
- ``same``: share of found faces whose most probable expression is the truth's;
- ``smile``: share of found smiling photos read as happiness.

``--scores`` reports instead, per angle, the detector's score of each rolled face before
`fau.landmarks.detection.FaceDetector.upright` looks at it both ways up (minimum, median,
maximum; the face's strongest detection overlapping the truth), the basis of
`fau.landmarks.detection.TURN_CHECK_SCORE`.

Usage::

    python benchmarks/rolled_faces.py [--photos 40] [--angles 0 15 30 ... 345] [--scores]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import time
import zipfile

import cv2
import numpy as np

import fau
from fau.au.alignment import inter_ocular_distance
from fau.io import load_image
from fau.pipeline import columns
from fau.resources import face_landmarker_bytes
from fau.landmarks.detection import FaceDetector
from fau.landmarks.mediapipe import landmark_box
from fau.video.tracking import iou
from group_faces import LONDON

CANVAS = 640  # px, side of the square canvas
FACE = 400  # px, side of the face picture on it
GREY = 90  # canvas and fill grey level (0-255)


def rolled(canvas: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The canvas rolled by ``angle`` degrees about its centre, and the 2×3 map."""
    m = cv2.getRotationMatrix2D((CANVAS / 2.0, CANVAS / 2.0), angle, 1.0)
    out = cv2.warpAffine(canvas, m, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR,
                         borderValue=(GREY, GREY, GREY))
    return out, m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--angles", type=float, nargs="+", default=list(range(0, 360, 15)))
    ap.add_argument("--scores", action="store_true",
                    help="report detector scores before the upside-down check")
    args = ap.parse_args()
    rows = list(csv.DictReader(open(LONDON / "manifest.csv")))
    neutral = [r for r in rows if r["label"] == "neutral"]
    smiling = [r for r in rows if r["label"] != "neutral"]
    picked = [r for pair in zip(neutral, smiling) for r in pair][: args.photos]
    det = fau.Detector()
    aus = [c for c in columns() if len(c) == 4 and c.startswith("AU")]  # AU01 ... AU45
    t0 = time.time()
    truth = []
    for r in picked:
        face = cv2.resize(load_image(LONDON / r["path"]), (FACE, FACE),
                          interpolation=cv2.INTER_AREA)
        canvas = np.full((CANVAS, CANVAS, 3), GREY, np.uint8)
        at = (CANVAS - FACE) // 2
        canvas[at:at + FACE, at:at + FACE] = face
        _, meshes = det.meshes(canvas)
        table = det.detect_image(canvas)
        if not meshes or table.empty:
            continue
        truth.append((canvas, meshes[0], table.iloc[0], r["label"] != "neutral"))
    print(f"{len(truth)} of {len(picked)} photos have an upright face; "
          f"fau {fau.__version__}, load {os.getloadavg()[0]:.1f}")
    if args.scores:
        with zipfile.ZipFile(io.BytesIO(face_landmarker_bytes())) as bundle:
            plain = FaceDetector(bundle.read("face_detector.tflite"), turn_check_score=0.0)
        print("angle  found  min score  median  max")
        for angle in args.angles:
            got = []
            for canvas, mesh, _, _ in truth:
                img, m = rolled(canvas, angle)
                want = landmark_box(mesh.landmarks[:, :2] @ m[:, :2].T + m[:, 2])
                dets = plain.detect(img, turn_retry=False)
                near = [d.score for d in dets if iou(want, np.array(
                    [d.box[0], d.box[1], d.box[0] + d.box[2], d.box[1] + d.box[3]])) >= 0.3]
                if near:
                    got.append(max(near))
            if got:
                print(f"{angle:5.0f} {len(got):3d}/{len(truth):<3d} {min(got):9.3f} "
                      f"{np.median(got):7.3f} {max(got):5.3f}", flush=True)
        return
    print("angle  found    lmk     bs     au   same  smile")
    for angle in args.angles:
        found, lmk, bs, au, same, smile, smiles = 0, [], [], [], 0, 0, 0
        for canvas, mesh, row, smiling_photo in truth:
            img, m = rolled(canvas, angle)
            want = mesh.landmarks[:, :2] @ m[:, :2].T + m[:, 2]
            _, got = det.meshes(img)
            boxes = [landmark_box(g.landmarks) for g in got]
            match = [i for i, b in enumerate(boxes) if iou(b, landmark_box(want)) >= 0.5]
            if not match:
                continue
            found += 1
            g = got[match[0]]
            lmk.append(np.linalg.norm(g.landmarks[:, :2] - want, axis=1).mean()
                       / inter_ocular_distance(want))
            bs.append(np.abs(g.blendshapes - mesh.blendshapes).max())
            table = det.detect_image(img)
            if table.empty:
                continue
            r = table.iloc[0]
            au.append(np.nanmean(np.abs(r[aus].to_numpy(float) - row[aus].to_numpy(float))))
            same += r["expression"] == row["expression"]
            if smiling_photo:
                smiles += 1
                smile += r["expression"] == "happiness"
        n = max(found, 1)
        print(f"{angle:5.0f} {found:3d}/{len(truth):<3d} {np.mean(lmk) if lmk else np.nan:6.3f} "
              f"{np.mean(bs) if bs else np.nan:6.3f} {np.mean(au) if au else np.nan:6.3f} "
              f"{same / n:6.2f} {smile / max(smiles, 1):6.2f}", flush=True)
    print(f"{time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
