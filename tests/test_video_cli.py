"""``fau video`` and ``fau live`` command lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fau.cli import main

HAP = Path(__file__).parent / "data" / "cremad" / "1001_DFA_HAP_XX.flv"


@pytest.mark.slow
def test_video_writes_table_report_events_summary(tmp_path, capsys):
    seg = tmp_path / "seg.csv"
    seg.write_text("start,end,label\n0,1,first\n1,2,second\n")
    out, rep, ev, summ = (tmp_path / n for n in ("f.parquet", "r.html", "e.csv", "s.json"))
    rc = main(["video", str(HAP), "--model", "none", "--fps", "10", "--out", str(out),
               "--report", str(rep), "--events", str(ev), "--segments", str(seg),
               "--summary", str(summ), "--no-progress"])
    assert rc == 0
    df = pd.read_parquet(out)
    assert len(df) == 19 and {"frame", "timestamp", "track_id", "AU12_rel"} <= set(df.columns)
    html = rep.read_text()
    assert "Responsible use" in html and "first" in html
    assert pd.read_csv(ev).columns[0] == "track_id"
    assert [r["label"] for r in json.loads(summ.read_text())] == ["first", "second"]
    text = capsys.readouterr().out
    assert "analysed" in text and "report:" in text


def test_video_refuses_to_overwrite_and_bad_input(tmp_path, capsys):
    rep = tmp_path / "r.html"
    rep.write_text("mine")
    assert main(["video", str(HAP), "--model", "none", "--report", str(rep)]) == 2
    assert rep.read_text() == "mine"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists" in err
    assert main(["video", str(tmp_path / "missing.mp4"), "--model", "none"]) == 2
    assert main(["video", str(HAP), "--model", "none", "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["video", str(HAP), "--model", "none", "--fps", "-1", "--no-progress"]) == 2
    assert "not found" in capsys.readouterr().err


def test_live_json_lines_from_a_file(capsys):
    rc = main(["live", "--source", str(HAP), "--model", "none", "--json", "--fast"])
    assert rc == 0
    cap = capsys.readouterr()
    lines = [json.loads(x) for x in cap.out.splitlines()]
    assert len(lines) == 56
    assert all(len(x["faces"]) == 1 for x in lines)
    f = lines[-1]["faces"][0]
    assert f["track_id"] == 0 and f["latency_ms"] > 0 and "AU12" in f and "AU12_rel" in f
    assert "fps" in cap.err and "latency" in cap.err


def test_live_interrupted_summary_counts_the_lines_written(capsys, monkeypatch):
    """Before: Ctrl-C while a record was being written (here: the 10th, as when stdout is
    a full pipe) left 9 lines and a summary of 10 frames analysed."""
    import sys

    lines: list[str] = []

    class Out:
        def write(self, text: str) -> int:
            if len(lines) == 9:
                raise KeyboardInterrupt
            lines.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", Out())
    assert main(["live", "--source", str(HAP), "--model", "none", "--json", "--fast"]) == 130
    err = capsys.readouterr().err
    assert len(lines) == 9 and all(json.loads(x)["frame"] == i for i, x in enumerate(lines))
    assert "fau live: 9 frames analysed" in err and "interrupted" in err


def test_live_stops_quietly_when_the_reader_goes_away(tmp_path):
    """Before: ``fau live --json | head -2`` ended with a BrokenPipeError traceback and
    exit status 1."""
    import subprocess
    import sys

    cmd = (f"{sys.executable} -m fau live --json --model none --fast --source {HAP} "
           f"2>{tmp_path / 'err'} | head -2")
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                       timeout=120)
    err = (tmp_path / "err").read_text()
    assert len(r.stdout.splitlines()) == 2
    assert r.returncode == 0 and "Traceback" not in err, err
    # lines in the pipe's buffer when head exited were written, and are counted
    n = int(re.search(r"fau live: (\d+) frames analysed", err).group(1))
    assert 2 <= n < 56 and "closed it; stopped" in err


@pytest.mark.parametrize("duration", ["0", "-1", "nan"])
def test_live_duration_must_be_positive(capsys, duration):
    """NaN ran to the end of the source, 0 or less stopped after one frame: both exit 0."""
    assert main(["live", "--source", str(HAP), "--model", "none", "--json", "--fast",
                 "--duration", duration]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "duration must be a positive number of seconds" in cap.err


def test_live_missing_source(capsys):
    assert main(["live", "--source", "/nonexistent/clip.mp4", "--json"]) == 2
    assert "not found" in capsys.readouterr().err


def test_live_duration_stops_while_no_frame_comes(tmp_path, capsys):
    # --duration was checked only when a frame arrived: a stalled camera or stream (here a
    # file with a 10-s gap between its frames, played as a camera) ran past it
    import time
    from fractions import Fraction

    import av
    from clips import clip_frames

    frames = clip_frames("NEU")
    path = tmp_path / "gap.mp4"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 480, 360, "yuv420p"
        for i, pts in enumerate([0, 1, 2, 300, 301]):  # frames at 0-0.07 s, then at 10 s
            vf = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
            vf.pts, vf.time_base = pts, Fraction(1, 30)
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
    t0 = time.perf_counter()
    assert main(["live", "--source", str(path), "--model", "none", "--json",
                 "--duration", "1"]) == 0
    assert time.perf_counter() - t0 < 6.0  # the models load in ~1-2 s; the gap is 10 s
    cap = capsys.readouterr()
    # the three frames 33 ms apart before the gap: on a busy machine (analysis > 33 ms) one
    # is dropped, as live analysis does
    dropped = int(re.search(r"(\d+) of 3 source frames dropped", cap.err).group(1))
    assert len(cap.out.splitlines()) + dropped == 3 and dropped < 3
