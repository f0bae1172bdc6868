"""Analyse a video: per-frame AUs and expression scores with timestamps and tracks,
episodes (events), per-segment summaries and a self-contained HTML report.

Usage: python examples/analyze_video.py [VIDEO] [REPORT.html]
       (default: the committed CREMA-D happy clip, report written to ./video_report.html)
"""

import sys
from pathlib import Path

import fau
import fau.video
from fau.report import render_report, write_report

root = Path(__file__).resolve().parents[1]
video = sys.argv[1] if len(sys.argv) > 1 else root / "tests/data/cremad/1001_DFA_HAP_XX.flv"
report = sys.argv[2] if len(sys.argv) > 2 else "video_report.html"

with fau.Detector() as det:
    frames = det.detect_video(video, fps=10)  # 10 analysed frames per second of video

print(frames[["frame", "timestamp", "track_id", "AU06", "AU12", "happiness", "expression"]]
      .head(10).to_string(index=False))
events = fau.video.find_events(frames)
print(f"\n{len(frames)} rows, {frames.track_id.nunique()} track(s), {len(events)} events")
segments = [(0.0, 1.0, "first second"), (1.0, 60.0, "rest")]
summary = fau.video.summarize_segments(frames, segments, events)
print(summary.T.head(12).to_string())
html = render_report(frames, events=events, summary=summary, title=Path(str(video)).name)
print("report:", write_report(report, html, overwrite=True))
