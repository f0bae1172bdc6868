"""Notebook-style figures of a video analysis with fau.plot, saved as PNG files.

Usage: python examples/plot_video.py [VIDEO] [OUTDIR]
       (default: the committed CREMA-D happy clip; PNGs written to the current folder)

In a notebook, leave out ``savefig``: each function returns a matplotlib Figure, which
Jupyter displays. Nothing here uses pyplot.
"""

import sys
from pathlib import Path

import fau
import fau.files
import fau.plot
import fau.video

root = Path(__file__).resolve().parents[1]
video = sys.argv[1] if len(sys.argv) > 1 else root / "tests/data/cremad/1001_DFA_HAP_XX.flv"
out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(".")
out.mkdir(parents=True, exist_ok=True)

with fau.Detector() as det:
    frames = det.detect_video(video)  # every frame
events = fau.video.find_events(frames)
end = float(frames["timestamp"].max())
segments = fau.video.read_segments([(0.0, end / 2, "first half"), (end / 2, end, "second half")])
summary = fau.video.summarize_segments(frames, segments, events)

figures = {
    "timeline": fau.plot.timeline(frames, events=events, segments=segments),
    "heatmap": fau.plot.au_heatmap(summary, title=Path(str(video)).name),
    "quality": fau.plot.quality_strip(frames),
}
for name, fig in figures.items():
    path = out / f"plot_{name}.png"
    # Atomic, and an existing file is never replaced (FauError).
    fau.files.atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    print(f"{name}: {path} ({len(fig.axes)} axes)")
print(f"{len(frames)} rows, {frames['track_id'].nunique()} track(s), {len(events)} events")
