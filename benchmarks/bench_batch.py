"""Batch throughput: videos/hour and speed-up of 2 workers over 1, joblib and Dask.

Workload: the six committed CREMA-D clips (tests/data/cremad/*.flv: 480×360 VP6, 29.97
fps, 1.9–2.3 s, one face), each copied ``--copies`` times under distinct folders of a
temporary directory (so every copy is its own video with its own outputs), analysed at
full frame rate (``--fps`` to sub-sample) without the expression model unless
``--model`` is given (the model file may be absent while it is trained).

Configurations, each run into a fresh output folder (nothing is skipped):

* ``joblib 1``: `fau.run_batch(jobs=1)`: one worker process, single-threaded models, one
  video at a time — the baseline;
* ``joblib 2``: `fau.run_batch(jobs=2)`;
* ``dask 1`` / ``dask 2``: a Dask ``LocalCluster`` with 1 or 2 worker processes of one
  thread each (started before the clock; the workers load fau and the models on their
  first video, inside the timing, as joblib's do).

Each configuration runs ``--repeats`` times, interleaved (1, 2, 1, 2, ...) so that
changes in the machine's background load hit all of them alike; the table gives the
median wall time. Speed-up = median wall time of the 1-worker run / that of the
2-worker run of the same engine. Peak memory per worker = the largest peak RSS a
worker process reported (``worker_peak_rss_mb`` of ``index.csv``). The 1-minute load
average is recorded before every run (these machines are shared).

    python benchmarks/bench_batch.py                       # table on stdout
    python benchmarks/bench_batch.py --write-docs          # also docs/benchmarks.md
    python benchmarks/bench_batch.py --json results.json   # raw numbers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIPS = sorted((ROOT / "tests/data/cremad").glob("*.flv"))
DOCS = ROOT / "docs/benchmarks.md"
SECTION = "## Batch"


def make_inputs(tmp: Path, copies: int) -> list[Path]:
    videos = []
    for c in range(copies):
        d = tmp / f"copy{c:02d}"
        d.mkdir(parents=True)
        for clip in CLIPS:
            shutil.copy(clip, d / clip.name)
            videos.append(d / clip.name)
    return videos


def run_once(engine: str, workers: int, videos: list[Path], out: Path, fps: float | None,
             model: str | None, cluster=None) -> dict:
    import fau

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    if engine == "joblib":
        index = fau.run_batch(videos, out, jobs=workers, fps=fps, expression_model=model)
    else:
        index = fau.run_batch(videos, out, scheduler=cluster.scheduler_address, fps=fps,
                          expression_model=model)
    wall = time.perf_counter() - t0
    if (index["status"] != "ok").any():
        raise SystemExit(f"{engine} {workers}: not all ok:\n{index[['path', 'error']]}")
    return {
        "engine": engine,
        "workers": workers,
        "wall_s": wall,
        "videos": len(index),
        "video_seconds": float(index["duration_s"].sum()),
        "frames": int(index["frames"].sum()),
        "busy_s": float(index["seconds"].sum()),
        "cpu_s": float(index["cpu_s"].sum()),
        "worker_processes": int(index["worker"].nunique()),
        "peak_rss_mb": float(index["worker_peak_rss_mb"].max()),
        "load_1min_before": load,
    }


def summarise(runs: list[dict]) -> list[dict]:
    rows = []
    for engine in ("joblib", "dask"):
        base = None
        for workers in (1, 2):
            rs = [r for r in runs if r["engine"] == engine and r["workers"] == workers]
            if not rs:
                continue
            wall = statistics.median(r["wall_s"] for r in rs)
            cpu = statistics.median(r["cpu_s"] for r in rs)
            r0 = rs[0]
            row = {
                "engine": engine,
                "workers": workers,
                "runs": len(rs),
                "wall_s": wall,
                "wall_s_all": [round(r["wall_s"], 2) for r in rs],
                "videos": r0["videos"],
                "videos_per_hour": r0["videos"] / wall * 3600,
                "video_s_per_s": r0["video_seconds"] / wall,
                "frames_per_s": r0["frames"] / wall,
                "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                "cpu_s": cpu,
                "cores_used": statistics.median(r["cpu_s"] / r["wall_s"] for r in rs),
                "cpu_ms_per_frame": cpu / r0["frames"] * 1000,
                "cpu_s_per_video_s": cpu / r0["video_seconds"],
                "videos_per_core_hour": r0["videos"] / cpu * 3600,
                "load": [round(r["load_1min_before"], 2) for r in rs],
            }
            if workers == 1:
                base = wall
            row["speedup"] = base / wall if base else None
            rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| engine | workers | median wall (s) | runs (s) | videos/hour | frames/s "
            "| speed-up (wall) | CPU cores obtained | CPU ms/frame | CPU s per video s "
            "| videos per CPU-hour | peak RSS per worker (MiB) | load avg before runs |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r['engine']} | {r['workers']} | {r['wall_s']:.1f} | "
            f"{', '.join(f'{w:.1f}' for w in r['wall_s_all'])} | {r['videos_per_hour']:,.0f} | "
            f"{r['frames_per_s']:.1f} | {r['speedup']:.2f}× | {r['cores_used']:.2f} | "
            f"{r['cpu_ms_per_frame']:.1f} | {r['cpu_s_per_video_s']:.3f} | "
            f"{r['videos_per_core_hour']:,.0f} | "
            f"{r['peak_rss_mb']:.0f} | {', '.join(f'{x:.1f}' for x in r['load'])} |"
        )
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replace (or append) the ``## Batch`` section of docs/benchmarks.md only."""
    old = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.strip() == SECTION), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    else:
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + text.rstrip("\n") + "\n" + (
            "\n" + "".join(lines[end:]) if end < len(lines) else "")
    tmp = DOCS.with_name(f".{DOCS.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, DOCS)


def sharing_note() -> str:
    """How the Linux scheduler shares CPUs here (it decides what a speed-up can show)."""
    try:
        autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return ""
    if not autogroup:
        return ""
    return ("Scheduler: `kernel.sched_autogroup_enabled=1` — CPU time is shared equally "
            "between sessions, not processes, so while other sessions keep the cores busy "
            "(load average above the core count) this run gets a fixed share whatever its "
            "number of workers, and the wall-clock speed-up cannot show; 'CPU cores "
            "obtained' says how much it got.")


def preface() -> str:
    """The paragraph that opens the docs section: what the columns mean."""
    return (
        "`benchmarks/bench_batch.py`: `fau.batch` over copies of the CREMA-D clips, 1 vs 2 "
        "workers, joblib processes and a Dask `LocalCluster` (see the script's docstring). "
        "Speed-up = median wall time with 1 worker / with 2. 'CPU cores obtained' = the "
        "workers' CPU time / wall time: a 2-worker run can only be ~2× faster when it "
        "obtains ~2 cores. " + sharing_note()
    ).strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=3, help="copies of the 6 clips (default 3)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fps", type=float, default=None, help="sub-sample (default: all frames)")
    ap.add_argument("--model", default=None, help="expression model (default: none)")
    ap.add_argument("--engines", default="joblib,dask")
    ap.add_argument("--json", help="write the raw runs here")
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument("--from-json", nargs="+", metavar="JSON",
                    help="no runs: print (and --write-docs) saved --json results, in order")
    args = ap.parse_args()
    if args.from_json:
        blocks = []
        for f in args.from_json:
            saved = json.loads(Path(f).read_text())
            facts = saved["facts"].split(" Scheduler: ")[0]  # said once, in the preface
            blocks.append(f"{facts}\n\n{table(summarise(saved['runs']))}\n")
        print("\n".join(blocks))
        if args.write_docs:
            write_docs(f"{SECTION}\n\n{preface()}\n\n" + "\n".join(blocks))
        return

    import logging

    logging.basicConfig(level=logging.WARNING)
    engines = args.engines.split(",")
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="fau-bench-batch-") as tmp_s:
        tmp = Path(tmp_s)
        videos = make_inputs(tmp / "in", args.copies)
        n = 0

        def out() -> Path:
            nonlocal n
            n += 1
            return tmp / f"out{n:03d}"

        if "joblib" in engines:
            for _ in range(args.repeats):
                for w in (1, 2):
                    runs.append(run_once("joblib", w, videos, out(), args.fps, args.model))
                    print(json.dumps(runs[-1]), file=sys.stderr)
        if "dask" in engines:
            from distributed import LocalCluster

            clusters = {w: LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                        dashboard_address=None) for w in (1, 2)}
            try:
                for _ in range(args.repeats):
                    for w in (1, 2):
                        runs.append(run_once("dask", w, videos, out(), args.fps, args.model,
                                             cluster=clusters[w]))
                        print(json.dumps(runs[-1]), file=sys.stderr)
            finally:
                for c in clusters.values():
                    c.close()

    rows = summarise(runs)
    cmd = "python benchmarks/bench_batch.py " + " ".join(sys.argv[1:])
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    facts = (f"Command: `{cmd.strip()}`. Machine: {os.cpu_count()} logical CPUs ({cpu}), "
             f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}. Workload: "
             f"{len(CLIPS) * args.copies} videos ({args.copies} copies of the 6 CREMA-D clips, "
             f"480×360, ~2.1 s each), "
             f"{'every frame' if args.fps is None else f'{args.fps:g} frames/s'}, "
             f"expression model {args.model or 'none'}.")
    out_text = table(rows)
    print(preface())
    print(facts)
    print(out_text)
    if args.json:
        Path(args.json).write_text(json.dumps({"facts": facts, "rows": rows, "runs": runs},
                                              indent=1))
    if args.write_docs:
        write_docs(f"{SECTION}\n\n{preface()}\n\n{facts}\n\n{out_text}\n")


if __name__ == "__main__":
    main()
