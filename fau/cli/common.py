"""Options several sub-commands share: the expression model, the face cap, verbosity."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..limits import MAX_SIDE
from ..resources import DEFAULT_EXPRESSION_MODEL, DEFAULT_MAX_FACES, EXPRESSION_MODELS

if TYPE_CHECKING:  # pragma: no cover
    from ..detector import Detector

__all__ = ["add_detector_options", "add_min_face_option", "add_verbosity", "detector_from_args",
           "model_choice", "one_line", "MODEL_CHOICES", "DEFAULT_MAX_FACES"]

#: ``--model`` values: the bundled expression models and ``none`` (AUs only).
MODEL_CHOICES: tuple[str, ...] = EXPRESSION_MODELS + ("none",)


def add_detector_options(p: argparse.ArgumentParser, *, default_model: str | None =
                         DEFAULT_EXPRESSION_MODEL, default_max_faces: int | None =
                         DEFAULT_MAX_FACES) -> None:
    """Add ``--model`` and ``--max-faces``."""
    p.add_argument("--model", default=default_model, choices=MODEL_CHOICES,
                   help=f"expression model (default: {default_model or 'from FAU_* settings'}; "
                        "none: action units only, no expression scores)")
    p.add_argument("--max-faces", type=int, default=default_max_faces, metavar="N",
                   help="most faces analysed per image or frame; faces beyond it are "
                        "dropped with a warning "
                        f"(default: {default_max_faces or 'from FAU_* settings'})")


def add_min_face_option(p: argparse.ArgumentParser) -> None:
    """Add ``--min-face`` (pixels; `fau.Detector`'s ``min_face``)."""
    p.add_argument("--min-face", type=float, default=None, metavar="PX",
                   help="smallest face to look for, landmark-box width in pixels (default "
                        "30; larger is faster: 70 or more on a 640x480 image runs "
                        "MediaPipe's single detector view; at most "
                        f"{MAX_SIDE}, the largest image side fau accepts)")


def add_verbosity(p: argparse.ArgumentParser) -> None:
    """Add ``-v`` (repeatable) so that it is accepted after the sub-command too."""
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                   help="more log output (-vv: debug)")


def model_choice(value: str | None) -> str | None:
    """``--model`` value → `fau.Detector`'s ``expression_model`` (``none`` → None)."""
    return None if value in (None, "none") else value


def detector_from_args(args: argparse.Namespace, **options) -> "Detector":
    """A `fau.Detector` from ``--model``, ``--max-faces`` and ``--min-face`` (where the
    command has it), plus ``options``."""
    from ..detector import Detector

    return Detector(expression_model=model_choice(args.model), max_faces=args.max_faces,
                    min_face=getattr(args, "min_face", None), **options)


def one_line(exc: BaseException) -> str:
    """An error message on one line (the CLI promises one line on stderr): the lines of a
    message of several (e.g. a database driver's) are joined with "; "."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
