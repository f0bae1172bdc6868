"""``fau batch INPUT... --out DIR [--jobs N] [--scheduler ADDRESS] [--fps F] [--report]``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_detector_options, model_choice

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``batch`` sub-command to ``sub``."""
    p = sub.add_parser(
        "batch", help="analyse many videos (local processes or a Dask cluster)",
        description=(
            "Analyse many videos in parallel and resumably. INPUT: video files, folders "
            "(searched recursively) or .csv manifests (column 'path', optional 'segments'). "
            "Writes one folder per video (frames.parquet, summary.json, openface.csv, "
            "annotations.eaf; report.html with --report) and "
            "DIR/index.csv. Rerunning skips videos whose outputs are complete. Exit status: 0 "
            "all ok or skipped, 1 some videos failed (see index.csv), 2 bad arguments."))
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video files, folders, manifests; a quoted pattern such as "
                        "'talks/*.mp4' is expanded")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler, e.g. tcp://host:8786 (needs fau[batch])")
    p.add_argument("--fps", type=float, metavar="F",
                   help="frames analysed per second of video (default: every frame)")
    p.add_argument("--report", action="store_true", help="write an HTML report per video")
    add_detector_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fau batch``; returns the exit status (1 when a video failed)."""
    from tqdm import tqdm

    from ..batch import collect_inputs, run_batch
    from ..batch.runner import without_own_output

    # the inputs run_batch takes: without its own output folder, which a shell's
    # `data/*` names on a rerun of `fau batch data/* --out data/results`
    total = len(collect_inputs(without_own_output(args.inputs, args.out)))
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    # disable=None: no bar when stderr is not a terminal (a log file, a pipe, a test)
    bar = tqdm(total=total, unit="video", file=sys.stderr, dynamic_ncols=True, disable=None)

    def progress(rec: dict[str, Any]) -> None:
        counts[rec["status"]] += 1
        if rec["status"] == "failed":
            bar.write(f"fau: failed: {rec['path']}: {rec['error']}", file=sys.stderr)
        bar.set_postfix(counts, refresh=False)
        bar.update(1)

    try:
        index = run_batch(
            args.inputs, args.out, jobs=args.jobs, scheduler=args.scheduler, fps=args.fps,
            report=args.report, expression_model=model_choice(args.model),
            max_faces=args.max_faces, progress=progress,
        )
    except BaseException:
        bar.leave = False  # the error is the one line left on stderr
        raise
    finally:
        bar.close()
    n = index["status"].value_counts()
    print(f"{n.get('ok', 0)} ok, {n.get('skipped', 0)} skipped, {n.get('failed', 0)} failed; "
          f"index: {args.out.rstrip('/')}/index.csv")
    return 1 if n.get("failed", 0) else 0
