"""Analyse a video: per-frame AUs and expression scores with timestamps and tracks,
episodes (events), per-segment summaries and a self-contained HTML report.

One call, `fau.run_video_job`, does what ``fau video`` and every batch worker do:
analysis, events, summaries and the output files (written atomically).

Usage: python examples/analyze_video.py [VIDEO] [REPORT.html]
       (default: the committed CREMA-D happy clip, report written to ./video_report.html)
"""

import sys
from pathlib import Path

import fau

root = Path(__file__).resolve().parents[1]
video = sys.argv[1] if len(sys.argv) > 1 else root / "tests/data/cremad/1001_DFA_HAP_XX.flv"
report = sys.argv[2] if len(sys.argv) > 2 else "video_report.html"
segments = [(0.0, 1.0, "first second"), (1.0, 60.0, "rest")]  # (start s, end s, label)

with fau.Detector() as det:
    # An existing REPORT is never replaced (a FauError says so; overwrite=True would).
    result = fau.run_video_job(det, video, fau.JobOutputs(report=report), segments=segments,
                               fps=10)  # 10 analysed frames per second

frames, events = result.frames, result.events
print(frames[["frame", "timestamp", "track_id", "AU06", "AU12", "happiness", "expression"]]
      .head(10).to_string(index=False))
print(f"\n{len(frames)} rows, {frames.track_id.nunique()} track(s), {len(events)} events")
print(result.segment_summary.T.head(12).to_string())
print("report:", result.written["report"])
