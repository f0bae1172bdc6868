"""Face crops given without ``cropped=True``: what the plain ``detect_image`` call scores.

Users pass face crops (FER-2013-like datasets, CK+48, crops from their own detector) to
``Detector.detect_image(img)`` without knowing about ``cropped=True``. This script scores
that plain call on the sets where every image is a tight crop, in three modes:

``cropped``  ``detect_image(img, cropped=True)``: the documented crop path.
``before``   the plain call as it was before the face-filling rules: the detector's faces
             only, their patches always cut from the landmarks (`fills_image` patched to
             False in `fau.expression.appearance` and `fau.detector`).
``plain``    the plain call now: a face that fills its image gets the whole image as its
             patch (`fau.expression.appearance.FILL_SHARE`), and when the detector finds
             no face the whole image is tried (`fau.detector.WHOLE_IMAGE_FACE_SHARE`).

Sets: FER-2013 PrivateTest (``--split 2``; PublicTest ``--split 1`` to choose) with its
FER-2013 labels (``fer2013`` model) and FER+ majority labels (``ferplus`` model), a seeded
sample of ``--fer-n`` images or all; ``ckplus_dev/ck48`` per sequence (majority over its 3
frames, `cross_dataset.per_group`; measuring only); the London photos (800×800, faces ~40%
of the side: no face fills them, so ``plain`` must equal ``before``). A face not found
counts wrong.

Usage::

    python benchmarks/face_crops.py --split 2 --out benchmarks/results/face_crops.json
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
        off_det = mock.patch("fau.detector.fills_image", return_value=False)
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", type=int, default=2, choices=[1, 2])
    ap.add_argument("--fer-n", type=int, default=0, help="FER images per protocol (0: all)")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--out", default="benchmarks/results/face_crops.json")
    a = ap.parse_args(argv)
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
