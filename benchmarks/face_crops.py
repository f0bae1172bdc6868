"""Face crops given without ``cropped=True``: what the plain ``detect_image`` call scores.

Users pass face crops (FER-2013-like datasets, CK+48, crops from their own detector) to
``Detector.detect_image(img)`` without knowing about ``cropped=True``. This script scores
that plain call on the sets where every image is a tight crop, in three modes:

``cropped``  ``detect_image(img, cropped=True)``: the documented crop path.
``before``   the plain call as it was before the face-filling rules: the detector's faces
             only, their patches always cut from the landmarks (`fills_image` patched to
             False, `fau.detector.whole_image_face` to None).
``plain``    the plain call now: a face that fills its image gets the whole image as its
             patch (`fau.expression.appearance.FILL_SHARE`), and when the detector finds
             no face the whole image is tried (`fau.landmarks.whole_image`).

Sets: FER-2013 PrivateTest (``--split 2``; PublicTest ``--split 1`` to choose) with its
FER-2013 labels (``fer2013`` model) and FER+ majority labels (``ferplus`` model), a seeded
sample of ``--fer-n`` images or all; ``ckplus_dev/ck48`` per sequence (majority over its 3
frames, `cross_dataset.per_group`; measuring only); the London photos (800×800, faces ~40%
of the side: no face fills them, so ``plain`` must equal ``before``). A face not found
counts wrong.

``--whole-image-check`` measures instead how far the whole-image landmark pass
(`LandmarkBackend.mesh_from_crop`, the detector's fallback) can be trusted: every other
London photo cut to a square ``k`` × its face's FER-2013 square (`fer_roi`; ``1 / k`` = the
share the face fills), 256 px, the whole-image mesh against the detector's mesh mapped into
the cut (mean error of the 468 face points over the inter-ocular distance), its presence,
and the share measured from the whole-image mesh (its FER square over the side; the fallback
keeps a face from 0.72 = 1.085 / 1.5: `fau.landmarks.whole_image.fills_crop`).

Usage::

    python benchmarks/face_crops.py --split 2 --out benchmarks/results/face_crops.json
    python benchmarks/face_crops.py --whole-image-check
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
import fer_eval  # noqa: E402
import fau  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402

MODES = ("cropped", "before", "plain")


@contextlib.contextmanager
def mode(name: str) -> Iterator[bool]:
    """Yield the ``cropped`` flag of the mode; ``before`` switches the fill rules off."""
    if name == "before":
        off = mock.patch("fau.expression.appearance.fills_image", return_value=False)
        off_det = mock.patch("fau.detector.whole_image_face", return_value=None)
        with off, off_det:
            yield False
    else:
        yield name == "cropped"


def probabilities(det: fau.Detector, images: list, cropped: bool) -> np.ndarray:
    """(n, 8) `EXPRESSIONS` probabilities of the first face; NaN rows where none was found."""
    out = np.full((len(images), len(EXPRESSIONS)), np.nan)
    for i, img in enumerate(images):
        t = det.detect_image(img, cropped=cropped)
        if len(t):
            out[i] = t[list(EXPRESSIONS)].to_numpy(float)[0]
    return out


def whole_image_check() -> None:
    """Print the whole-image pass's agreement with the detector's mesh per framing ``k``."""
    from fau.expression.appearance import fer_roi
    from fau.io import load_image
    from fau.landmarks.roi import Roi, crop

    lon = xd.load_set("london")
    side_px = 256
    ks = (1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0, 4.0)
    rows: dict[float, list[tuple[float, float, float]]] = {k: [] for k in ks}
    with fau.Detector(expression_model=None) as det:
        for p in lon["path"][::2]:
            img = load_image(str(xd.DATA / "london" / p))
            _, faces = det.meshes(img)
            if not faces:
                continue
            lm = faces[0].landmarks
            fer = fer_roi(lm)
            iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
            for k in ks:
                roi = Roi(fer.cx, fer.cy, fer.size * k, 0.0)
                m = roi.to_crop(side_px)
                ref = lm[:468, :2] @ m[:, :2].T + m[:, 2]
                whole = det.backend.mesh_from_crop(crop(img, roi, side_px))
                err = np.linalg.norm(whole.landmarks[:468, :2] - ref, axis=1).mean()
                rows[k].append((whole.presence, err / (iod * side_px / roi.size),
                                fer_roi(whole.landmarks).size / side_px))
    print("| k | share filled (1/k) | measured share, median | presence >= 0.5 | "
          "error / IOD, median | p95 | max | n |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for k, v in rows.items():
        a = np.array(v)
        print(f"| {k} | {1 / k:.2f} | {np.median(a[:, 2]):.2f} | {np.mean(a[:, 0] >= 0.5):.3f} | "
              f"{np.median(a[:, 1]):.3f} | {np.percentile(a[:, 1], 95):.3f} | {a[:, 1].max():.3f} "
              f"| {len(a)} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", type=int, default=2, choices=[1, 2])
    ap.add_argument("--fer-n", type=int, default=0, help="FER images per protocol (0: all)")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--out", default="benchmarks/results/face_crops.json")
    ap.add_argument("--whole-image-check", action="store_true",
                    help="measure the whole-image landmark pass on London cuts instead")
    a = ap.parse_args(argv)
    if a.whole_image_check:
        whole_image_check()
        return
    t0 = time.time()
    fer = fer_eval.load_fer()
    ck = xd.load_set("ckplus")
    lon = xd.load_set("london")
    ck_imgs = [str(xd.DATA / "ckplus_dev/ck48" / p) for p in ck["path"]]
    lon_imgs = [str(xd.DATA / "london" / p) for p in lon["path"]]
    res: dict = {"command": "python benchmarks/face_crops.py " + " ".join(sys.argv[1:]),
                 "loadavg_start": os.getloadavg()[0], "results": {}}
    for model in ("ferplus", "fer2013"):
        idx, y, _ = fer_eval.protocol_data(fer, model, a.split)
        if a.fer_n:
            pick = np.sort(np.random.default_rng(0).choice(len(idx), a.fer_n, replace=False))
            idx, y = idx[pick], y[pick]
        fer_imgs = list(fer["images"][idx])
        with fau.Detector(expression_model=model) as det:
            for m in a.modes:
                with mode(m) as cropped:
                    r = {}
                    p = probabilities(det, fer_imgs, cropped)
                    r["fer"] = xd.metrics(y, p, EXPRESSIONS if model == "ferplus"
                                          else EXPRESSIONS[:7])
                    p = probabilities(det, ck_imgs, cropped)
                    r["ckplus"] = xd.metrics(*xd.per_group(ck["label"], p, ck["group"]))
                    r["ckplus"]["frames_found"] = int(np.isfinite(p[:, 0]).sum())
                    if not cropped:
                        r["london"] = xd.metrics(lon["label"], probabilities(det, lon_imgs,
                                                                             False))
                res["results"].setdefault(model, {})[m] = r
                print(model, m, {k: (round(v["accuracy"], 4), v["n_unscored"])
                                 for k, v in r.items()}, flush=True)
    res["loadavg_end"] = os.getloadavg()[0]
    res["seconds"] = round(time.time() - t0)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"wrote {a.out} ({res['seconds']} s, load {res['loadavg_start']:.1f}-"
          f"{res['loadavg_end']:.1f})")


if __name__ == "__main__":
    main()
