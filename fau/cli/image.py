"""``fau image PATH... [--out results.csv|.json|.parquet]``."""

from __future__ import annotations

import argparse
import sys

from ..errors import FauError
from .common import add_detector_options, add_min_face_option, detector_from_args, one_line

__all__ = ["register", "run", "image_paths", "SUMMARY", "UNREAD_IMAGE_EXTENSIONS"]

#: Columns printed on the terminal (every column goes to ``--out``): the input, the face
#: box (pixels) and score, head pose, a few AUs, the leading expression and the
#: probabilities (the expression columns only with a model).
SUMMARY = ["input", "face", "face_x", "face_y", "face_w", "face_h", "face_score", "pitch",
           "yaw", "roll", "AU01", "AU04", "AU06", "AU12", "AU25", "AU26", "AU45", "expression"]
#: Extensions of image formats that fau does not read (`fau.io`: HEIC/HEIF and AVIF from
#: phones, JPEG 2000, camera raw files): a folder's files with them are named on stderr,
#: not skipped in silence as other files are.
UNREAD_IMAGE_EXTENSIONS = frozenset({".heic", ".heif", ".hif", ".avif", ".jp2", ".j2k", ".jpx",
                                     ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2",
                                     ".raf"})
_PROBABILITIES = ["happiness", "neutral", "surprise", "sadness", "anger", "fear", "disgust",
                  "contempt"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``image`` sub-command to ``sub``."""
    p = sub.add_parser("image", help="analyse face images", description=(
        "Find faces in images and print a table of face boxes, AU intensities and "
        "expression scores (every column goes to --out). Images without a face are named "
        "on stderr; the exit status is still 0."))
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="image files, or folders (searched recursively for images by "
                        "extension: .jpg, .png, .tif, .webp, ...); a quoted pattern such as "
                        "'photos/*.jpg' is expanded")
    p.add_argument("--out", help="write every column to .csv, .json or .parquet")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--cropped", action="store_true",
                   help="each image is one face crop (skip face detection)")
    add_detector_options(p)
    add_min_face_option(p)
    p.add_argument("--keep-going", action="store_true",
                   help="report unreadable images and go on (exit status 2 at the end)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fau image``; returns the exit status."""
    import pandas as pd

    from ..files import check_output, write_table

    if args.out:
        check_output(args.out, overwrite=args.overwrite, suffixes=(".csv", ".json", ".parquet"),
                     what="--out")
    paths = image_paths(args.paths)
    status = 0
    frames = []
    no_face = []
    with detector_from_args(args) as det:
        for path in paths:
            try:
                df = det.detect_image(path, cropped=args.cropped)
            except FauError as exc:
                if not args.keep_going:
                    raise
                print(f"fau: error: {one_line(exc)}", file=sys.stderr)
                status = 2
                continue
            if df.empty:
                no_face.append(path)
            df.insert(0, "input", pd.array([path] * len(df), dtype="string"))
            frames.append(df)
        empty = det.pipeline.empty_table()
    if frames:
        table = pd.concat(frames, ignore_index=True)
    else:
        table = empty
        table.insert(0, "input", pd.array([], dtype="string"))
    if args.out:
        write_table(table, args.out, overwrite=args.overwrite)
    if len(paths) > 1:
        for path in no_face:
            print(f"fau: no face found in {path}", file=sys.stderr)
    _print_table(table, has_model=det.expression_model_name is not None)
    return status


def image_paths(paths: list[str]) -> list[str]:
    """``paths`` with each folder replaced by the images under it (`fau.paths.files_under`
    with `fau.io.image_extensions`: recursive, sorted, hidden files skipped), in the order
    given; a folder without images is an error (`FauError`). Files are kept as given,
    whatever their extension; a wildcard pattern the shell did not expand (quoted, or
    Windows' ``cmd``) is replaced by the paths it matches (`fau.paths.expand_pattern`)."""
    import os

    from ..io import image_extensions
    from ..paths import files_under

    out = []
    for raw in _expanded(paths):
        if raw.strip() and os.path.isdir(raw):
            found = files_under(raw, image_extensions())
            unread = _unread_images(raw)
            if not found:
                from ..batch.inputs import VIDEO_EXTENSIONS

                videos = files_under(raw, VIDEO_EXTENSIONS)
                raise FauError(f"folder {raw!r} holds no image files "
                               f"({', '.join(sorted(image_extensions()))})"
                               + (f"; it holds {unread}, which fau does not read: convert "
                                  "them to JPEG or PNG" if unread else "")
                               + (f"; it holds {len(videos)} video(s): analyse them with "
                                  f"`fau batch {raw}`" if videos else ""))
            if unread:
                print(f"fau: skipping {unread} under {raw}: formats fau does not read "
                      "(convert them to JPEG or PNG)", file=sys.stderr)
            out.extend(str(f) for f in found)
        else:
            out.append(raw)
    return out


def _unread_images(folder: str) -> str:
    """The files under ``folder`` with an `UNREAD_IMAGE_EXTENSIONS` extension, counted per
    extension ("3 .heic files, 1 .dng file"); "" for none."""
    from collections import Counter

    from ..paths import files_under

    counts = Counter(f.suffix.lower() for f in files_under(folder, UNREAD_IMAGE_EXTENSIONS))
    return ", ".join(f"{n} {ext} file{'s' if n > 1 else ''}"
                     for ext, n in sorted(counts.items()))


def _expanded(paths: list[str]) -> list[str]:
    """``paths`` with each wildcard pattern left by the shell replaced by its matches
    (`fau.paths.expand_pattern`)."""
    from ..paths import expand_pattern

    out = []
    for raw in paths:
        found = expand_pattern(raw)
        out.extend([raw] if found is None else found)
    return out


def _print_table(table, *, has_model: bool) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 40,
                           "display.float_format", "{:.3f}".format):
        if table.empty:
            print("no faces found")
            return
        cols = SUMMARY + _PROBABILITIES if has_model else SUMMARY[:-1]
        print(table[cols].to_string(index=False))
