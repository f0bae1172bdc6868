"""Memory of the steps after the frame loop, on a generated video table of an hour.

`detect_video`'s frame loop needs the models and a video; what follows it — the table,
`add_temporal`, `add_speech`, and in a job `find_events`, `summary_of` and the output
files — needs only the rows. This script makes a table laid out as `detect_video` makes
it (`fau.pipeline.face_table` around one float block of the face columns in
``--dtype``, default `fau.video.VIDEO_FLOAT_DTYPE`; ``frame``, ``timestamp`` float64,
``track_id``; one track, 30 fps, ``--rows`` rows, default 108,000 = an hour), with
random values (AUs 0-0.3, expression probabilities that sum to 1), and measures each
step: the process's resident memory after it (``VmRSS``) and its peak during it
(``VmHWM``, reset before each step through ``/proc/self/clear_refs``), both in MB.
Linux only. The values are random, so events are few: the event and summary steps'
memory is that of reading the columns, not of many events.

    python benchmarks/bench_table_memory.py                       # float32 hour table
    python benchmarks/bench_table_memory.py --dtype float64
    python benchmarks/bench_table_memory.py --steps temporal,speech,events,summary,parquet
    PYTHONPATH=/tmp/fau-before python benchmarks/bench_table_memory.py   # a tree with rss_mb
"""

from __future__ import annotations

import argparse
import ctypes
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from fau.limits import peak_rss_mb, rss_mb  # VmHWM, VmRSS of this process (MiB)

#: Steps in the order a job runs them (``--steps`` picks among them).
STEPS = ("temporal", "speech", "events", "summary", "parquet", "csv", "json")
FPS = 30.0  # frames/s of the generated table


def _reset_peak() -> None:
    """Start a new VmHWM (Linux ≥ 4.0: writing 5 to clear_refs resets the peak)."""
    Path("/proc/self/clear_refs").write_text("5")


def make_table(rows: int, dtype: np.dtype, seed: int = 0):
    """A one-track video table of ``rows`` rows laid out as `detect_video`'s."""
    from fau.expression.labels import EXPRESSIONS
    from fau.pipeline import TEXT_COLUMNS, columns, face_table

    rng = np.random.default_rng(seed)
    float_names = [c for c in columns() if c not in ("face",) + TEXT_COLUMNS]
    floats = np.empty((rows, len(float_names)), dtype)
    for j in range(len(float_names)):
        floats[:, j] = rng.random(rows, dtype=np.float32) * 0.3
    ex = [float_names.index(e) for e in EXPRESSIONS]
    floats[:, ex] /= floats[:, ex].sum(axis=1, keepdims=True)
    expression = np.asarray(EXPRESSIONS, dtype=object)[floats[:, ex].argmax(axis=1)]
    return face_table(floats, np.zeros(rows, np.int64), expression,
                      np.full(rows, None, dtype=object),
                      front=[("frame", np.arange(rows, dtype=np.int64)),
                             ("timestamp", np.arange(rows) / FPS),
                             ("track_id", np.zeros(rows, np.int64))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=108_000, help="rows (default: an hour)")
    ap.add_argument("--dtype", default=None, help="float32 or float64 (default: the video's)")
    ap.add_argument("--steps", default="temporal,speech,events,summary",
                    help=f"comma-separated, of {','.join(STEPS)}")
    args = ap.parse_args()
    import fau  # noqa: F401  (imports first: their memory is not a step's)
    from fau.files import write_table
    from fau.job import summary_of
    import fau.video
    from fau.video import add_speech, add_temporal, find_events

    # (float64 in source trees from before VIDEO_FLOAT_DTYPE: PYTHONPATH=OLD_TREE python ...)
    dtype = np.dtype(args.dtype or getattr(fau.video, "VIDEO_FLOAT_DTYPE", np.float64))
    steps = [s for s in args.steps.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise SystemExit(f"unknown steps {sorted(unknown)}; known: {', '.join(STEPS)}")
    print(f"{args.rows} rows, float columns {dtype}, load average {os.getloadavg()[0]:.2f}")
    print("| step | VmRSS after (MB) | peak during (MB) | peak − RSS before (MB) | s |")
    print("|---|---:|---:|---:|---:|")
    before = rss_mb()
    print(f"| imports | {before:.0f} | | | |")
    state: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="fau-table-memory-"))

    def run(name: str, fn) -> None:
        nonlocal before
        _reset_peak()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        rss, peak = rss_mb(), peak_rss_mb()
        print(f"| {name} | {rss:.0f} | {peak:.0f} | {peak - before:+.0f} | {dt:.1f} |",
              flush=True)
        before = rss

    run("table", lambda: state.update(df=make_table(args.rows, dtype)))
    ctypes.CDLL(None).malloc_trim(0)  # as detect_video after its frame loop
    print(f"table: {state['df'].shape[0]} × {state['df'].shape[1]}, "
          f"{state['df'].memory_usage(deep=True).sum() / 1e6:.0f} MB")
    actions = {
        "temporal": lambda: state.update(df=add_temporal(state["df"])),
        "speech": lambda: state.update(df=add_speech(state["df"], None)),
        "events": lambda: state.update(events=find_events(state["df"])),
        "summary": lambda: state.update(summary=summary_of(
            state["df"], state.get("events", find_events(state["df"])), None)),
        "parquet": lambda: write_table(state["df"], tmp / "frames.parquet", overwrite=True),
        "csv": lambda: write_table(state["df"], tmp / "frames.csv", overwrite=True),
        "json": lambda: write_table(state["df"], tmp / "frames.json", overwrite=True),
    }
    try:
        for s in STEPS:
            if s in steps:
                run(s, actions[s])
    finally:
        for f in tmp.iterdir():
            print(f"{f.name}: {f.stat().st_size / 1e6:.0f} MB")
            f.unlink()
        tmp.rmdir()
    df = state["df"]
    print(f"final table: {df.shape[0]} × {df.shape[1]}, "
          f"{df.memory_usage(deep=True).sum() / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
