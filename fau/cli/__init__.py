"""``fau`` command line: thin layers over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)`` (adds its parser and sets ``func``). Errors from bad input
(`fau.FauError`) print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from typing import Sequence

from ..errors import FauError
from .common import add_verbosity, one_line

__all__ = ["main"]

#: Sub-command modules, in the order ``fau --help`` lists them.
COMMANDS = ("image", "video", "live", "serve", "batch")


def build_parser() -> argparse.ArgumentParser:
    """The ``fau`` argument parser with every sub-command.

    Imports only the small sub-command modules (no models, no web or plotting library):
    each imports what it needs when it runs. A sub-command whose optional packages
    (its module's ``REQUIRES``) are not installed is listed with a hint instead.
    """
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="fau",
        description="Facial action units and expression scores from face images and video. "
        "fau measures visible facial movement and how an expression would likely be read; "
        "it does not know what anyone feels (docs/responsible-use.md).",
    )
    parser.add_argument("--version", action="version", version=f"fau {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv: debug); also accepted after COMMAND")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        missing = [m for m in getattr(module, "REQUIRES", ()) if importlib.util.find_spec(m) is None]
        if missing:
            p = sub.add_parser(name, help=f"(needs the optional package {missing[0]!r})")
            p.set_defaults(func=_needs(missing[0]))
        else:
            module.register(sub)
    for p in sub.choices.values():
        add_verbosity(p)
    return parser


def _needs(package: str):
    def run(args: argparse.Namespace) -> int:
        raise FauError(
            f"this command needs the optional package {package!r}: pip install 'fau[all]'"
        )

    return run


def _hide_sklearn() -> bool:
    """Mark scikit-learn as absent while a command runs; True if it was marked.

    xgboost imports scikit-learn, and with it scipy.stats, at its own import, only for
    its scikit-learn-style wrappers (``xgboost.XGBClassifier``), which no fau command
    uses: about 0.6 s of CPU and 65 MB of memory (measured, docs/benchmarks.md "Video")
    in a command that reads a booster (`fau serve`'s explanations; scores come from
    the compiled trees and import no xgboost). A ``None`` entry in
    ``sys.modules`` makes ``import sklearn`` raise ImportError, which xgboost handles.
    Only the command line does this: the library leaves a user's process as it is.
    """
    if "sklearn" in sys.modules or "xgboost" in sys.modules:
        return False
    sys.modules["sklearn"] = None  # type: ignore[assignment]
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fau`` console script; returns the exit status."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    hidden = _hide_sklearn()
    try:
        return _run(argv)
    finally:
        if hidden and sys.modules.get("sklearn", 0) is None:
            del sys.modules["sklearn"]


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FauError as exc:
        print(f"fau: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fau: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
