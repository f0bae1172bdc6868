"""CLI start-up time: ``fau --help`` and ``fau image`` wall time, trees side by side.

Runs each command ``--repeat`` times per source tree, the trees interleaved (so a load
change on the machine hits every tree alike), each in a fresh interpreter with the
tree first on ``PYTHONPATH``; prints median / min wall seconds, the heavy libraries each
command loaded, and the load average before and after.

    python benchmarks/cli_startup.py --tree before=/tmp/fau-before --tree after=. \
        --repeat 10

(make the "before" tree with ``git worktree add /tmp/fau-before <commit>``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "examples" / "data" / "cremad_happy.jpg"
#: Libraries whose import issue 9 wants kept out of start-up.
HEAVY = ("xgboost", "sklearn", "matplotlib", "fastapi", "av", "dask", "onnxruntime",
         "pandas", "cv2")
#: The commands timed (arguments of ``fau``).
COMMANDS = {
    "fau --help": ["--help"],
    "fau image (default model)": ["image", str(IMAGE)],
    "fau image --model none": ["image", str(IMAGE), "--model", "none"],
}

_PROBE = """
import contextlib, io, json, sys
from fau.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as exc:
        rc = exc.code
heavy = {heavy!r}
print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)
sys.exit(rc or 0)
"""


def run_once(tree: Path, args: list[str]) -> tuple[float, list[str]] | None:
    """Wall time (s) and heavy modules loaded; None when the tree refuses the command."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args], env=env, cwd=tree,
                       capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    if r.returncode:
        return None
    return wall, json.loads(r.stderr.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", required=True, metavar="NAME=PATH",
                    help="a source tree holding fau/ (repeatable)")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    trees = {t.split("=", 1)[0]: Path(t.split("=", 1)[1]).resolve() for t in args.tree}
    load0 = os.getloadavg()
    times: dict[tuple[str, str], list[float]] = {}
    loaded: dict[tuple[str, str], list[str]] = {}
    for _ in range(args.repeat):
        for cmd, argv in COMMANDS.items():
            for name, tree in trees.items():
                got = run_once(tree, argv)
                if got is not None:
                    times.setdefault((cmd, name), []).append(got[0])
                    loaded[(cmd, name)] = got[1]
    load1 = os.getloadavg()
    print(f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; {os.cpu_count()} CPUs; "
          f"{args.repeat} runs each")
    print("| command | tree | median s | min s | heavy modules loaded |")
    print("|---|---|---|---|---|")
    for cmd in COMMANDS:
        for name in trees:
            t = times.get((cmd, name))
            if not t:
                print(f"| `{cmd}` | {name} | refused | | |")
                continue
            print(f"| `{cmd}` | {name} | {statistics.median(t):.2f} | {min(t):.2f} | "
                  f"{', '.join(loaded[(cmd, name)]) or 'none'} |")


if __name__ == "__main__":
    main()
