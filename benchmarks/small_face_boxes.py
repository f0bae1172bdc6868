"""Meshes of small faces: from the whole finer pyramid level's box, from a local window's,
or from the letterbox's own box.

A face that the 128×128 letterbox finds but that is narrower than
`fau.landmarks.pyramid.HANDOVER` × `MIN_FACE_INPUT` in its input (under about 105 px on a
640×480 image) is measured from a box of the next, finer pyramid level, which
localises such faces better. `fau.landmarks.detection.FaceDetector.stages` sees it again
at that level's scale in a window around it only (`LOCAL_CONTEXT` face widths, at least
128 px: ``local``), so that the landmark model can measure it while the whole level still
runs on the detector's thread; before, the face waited for the whole level (``level``:
its merged box, weighted NMS with the letterbox's box). ``letterbox`` is the mesh from the
letterbox's own box (what a shortcut without the second look would give).

Each of the 204 London photos (``../shared/data/london``, CC BY 4.0) is cut around its
face, scaled so that the face is ``--widths`` pixels wide (landmark box) and placed at a
random position (fixed seed) on a 640×480 canvas with one of `group_faces.BACKGROUNDS`
(no roll, gamma, blur or JPEG). Truth: the landmarks fau finds on the 800×800 original
photo, scaled and moved with the face (`group_faces.face_landmarks`).

Reported per width: faces with a letterbox box left to the finer level; faces found by
``Detector.meshes`` (``local``) and by the whole-level box; mean distance of the 478
landmarks (x, y) to the truth, in inter-ocular distances of the truth
(`fau.au.alignment.inter_ocular_distance`), for each box; mean absolute AU difference
local - level (fractions of the IOD); how often the default model's most probable
expression agrees between the two.

Usage::

    python benchmarks/small_face_boxes.py [--widths 50 60 70 80 90 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from PIL import Image

import fau
from fau.au.alignment import inter_ocular_distance
from fau.landmarks.blazeface import RawDetections, weighted_nms
from fau.landmarks.detection import Detection
from fau.landmarks.mediapipe import landmark_box
from fau.landmarks.pyramid import HANDOVER, MIN_FACE_INPUT
from fau.video.tracking import iou
from group_faces import BACKGROUNDS, LONDON, face_landmarks, make_canvas


def _closest(boxes: np.ndarray, truth: np.ndarray) -> int | None:
    """Index of the box (x0, y0, x1, y1) overlapping ``truth`` most, IoU >= 0.5, or None."""
    scores = [iou(truth, b) for b in boxes]
    if not scores or max(scores) < 0.5:
        return None
    return int(np.argmax(scores))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", type=float, nargs="+", default=[50, 60, 70, 80, 90, 100])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="first N photos only")
    args = ap.parse_args()

    det = fau.Detector()
    be, fd, pipe = det.backend, det.backend.detector, det.pipeline
    nms_iou = fd.spec.nms_iou
    paths, marks = face_landmarks(det)
    n = len(paths) if args.limit is None else args.limit
    photos = [np.asarray(Image.open(LONDON / p).convert("RGB")) for p in paths[:n]]
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    print(f"{n} London photos per width on 640×480 canvases, seed {args.seed}; load average "
          f"{os.getloadavg()[0]:.2f}\n")
    print("| face width (px) | faces | left to the finer level | found: local / level "
          "| to truth (IOD): local | level | letterbox | mean abs AU local - level "
          "| same expression |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for width in args.widths:
        err: dict[str, list[float]] = {"local": [], "level": [], "letterbox": []}
        au, same = [], []
        handed_n = found_local = found_level = 0
        for k in range(n):
            canvas = make_canvas(("one", 640, 480, width, width), BACKGROUNDS[k % len(BACKGROUNDS)],
                                 [photos[k]], [marks[k]], rng, max_faces=1, vary=False)
            if not canvas.boxes:
                continue
            img, truth_box = canvas.image, canvas.boxes[0]
            src = landmark_box(marks[k])
            truth = (marks[k] - src[:2]) * (truth_box[2] - truth_box[0]) / (src[2] - src[0]) \
                + truth_box[:2]
            iod = float(inter_ocular_distance(np.c_[truth, np.zeros(len(truth))]))
            # the letterbox and the whole finer level, as FaceDetector.stages runs them
            views = fd.views(*img.shape[:2])
            found = weighted_nms(fd.run_views(img, views[:1]), nms_iou)
            narrow = (found.boxes[:, 2] - found.boxes[:, 0]) * views[0].scale \
                < HANDOVER * MIN_FACE_INPUT
            j = _closest(found.boxes[narrow], truth_box)
            if j is None:
                continue  # not a face the letterbox leaves to the finer level
            handed_n += 1
            handed = RawDetections(found.boxes[narrow], found.keypoints[narrow],
                                   found.scores[narrow])
            level = weighted_nms(RawDetections.concatenate(
                [fd.run_views(img, views[1:], model=fd.fine_model), handed]), nms_iou)
            meshes = {}
            _, local_faces = det.meshes(img)
            i = _closest(np.array([landmark_box(f.landmarks) for f in local_faces]).reshape(-1, 4),
                         truth_box)
            meshes["local"] = None if i is None else local_faces[i]
            for name, raw in (("level", level), ("letterbox", handed)):
                i = _closest(raw.boxes, truth_box)
                mesh = None
                if i is not None:
                    b = raw.boxes[i]
                    box = (float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1]))
                    mesh = be.mesh(img, Detection(box, raw.keypoints[i], float(raw.scores[i])
                                                  ).roi())
                meshes[name] = mesh if mesh is not None and mesh.presence >= be.min_presence \
                    else None
            found_local += meshes["local"] is not None
            found_level += meshes["level"] is not None
            if any(m is None for m in meshes.values()):
                continue
            for name, mesh in meshes.items():
                d = np.linalg.norm(mesh.landmarks[:, :2] - truth, axis=1).mean() / iod
                err[name].append(float(d))
            tl, bl = pipe.analyse(img, [meshes["local"]])
            tv, bv = pipe.analyse(img, [meshes["level"]])
            au.append(float(np.abs(bl["au"] - bv["au"]).mean()))
            same.append(float(tl["expression"].iloc[0] == tv["expression"].iloc[0]))
        m = {k: (np.mean(v) if v else float("nan")) for k, v in err.items()}
        print(f"| {width:.0f} | {n} | {handed_n} | {found_local} / {found_level} "
              f"| {m['local']:.4f} | {m['level']:.4f} | {m['letterbox']:.4f} "
              f"| {np.mean(au) if au else float('nan'):.4f} "
              f"| {np.mean(same) if same else float('nan'):.3f} |")
    print(f"\n{time.time() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    det.close()


if __name__ == "__main__":
    main()
