"""``fau image PATH... [--out results.csv|.json|.parquet]``."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from ..errors import FauError

SUMMARY = ["input", "face", "face_score", "pitch", "yaw", "roll", "AU01", "AU04", "AU06",
           "AU12", "AU25", "AU26", "AU45", "expression"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("image", help="analyse face images", description=(
        "Find faces in images and print a table of AU intensities and expression scores."))
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files")
    p.add_argument("--out", help="write every column to .csv, .json or .parquet")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--cropped", action="store_true",
                   help="each image is one face crop (skip face detection)")
    p.add_argument("--model", default="ferplus", choices=["ferplus", "fer2013"],
                   help="expression model (default: ferplus)")
    p.add_argument("--max-faces", type=int, default=4)
    p.add_argument("--keep-going", action="store_true",
                   help="report unreadable images and go on (exit status 2 at the end)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..detector import Detector
    from ._output import write_table

    status = 0
    frames = []
    with Detector(expression_model=args.model, max_faces=args.max_faces) as det:
        for path in args.paths:
            try:
                df = det.detect_image(path, cropped=args.cropped)
            except FauError as exc:
                if not args.keep_going:
                    raise
                print(f"fau: error: {exc}", file=sys.stderr)
                status = 2
                continue
            df.insert(0, "input", path)
            frames.append(df)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SUMMARY)
    if args.out:
        write_table(table, args.out, overwrite=args.overwrite)
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.float_format", "{:.3f}".format):
        if table.empty:
            print("no faces found")
        else:
            cols = SUMMARY + [c for c in ("happiness", "neutral", "surprise", "sadness",
                                          "anger", "fear", "disgust", "contempt")]
            print(table[cols].to_string(index=False))
    return status
