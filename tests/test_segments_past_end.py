"""A segment that starts at or after the video's end: refused alike by ``fau video`` (via
`fau.job.run_video_job`) and the web service (both through `fau.video.read_segments`'s
``max_s``); one that only ends after it is kept and clipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fau import FauError
from fau.cli import main
from fau.video import read_segments
from fau.video.reader import probe

HAP = Path(__file__).parent / "data" / "cremad" / "1001_DFA_HAP_XX.flv"
#: The clip's duration in its header (s): 56 frames at 29.97 frames/s.
HAP_S = 1.868


def test_the_clip_lasts_what_the_tests_assume():
    assert probe(HAP).duration == pytest.approx(HAP_S)


def test_read_segments_refuses_a_start_at_or_after_max_s():
    with pytest.raises(FauError) as info:
        read_segments([(0, 1, "a"), (2.5, 3, "late")], max_s=HAP_S)
    msg = str(info.value)
    assert msg == ("segments list row 1: segment 1 'late' (start 2.5 s, end 3 s) starts at or "
                   "after the end of the video, which lasts 1.868 s"), msg
    with pytest.raises(FauError, match=r"line 2: segment 0 \(start 1.868 s, end 2 s\) starts at"):
        read_segments(b"start,end\n1.868,2\n", max_s=HAP_S)  # exactly at the end: no frame
    seg = read_segments([(0, 1, "a"), (1.5, 9, "over")], max_s=HAP_S)  # partly past: kept
    assert seg["end"].tolist() == [1.0, 9.0]
    assert len(read_segments([(50, 60)], max_s=None)) == 1  # no duration known: not checked


def test_cli_refuses_a_segment_past_the_end_before_analysing(tmp_path, capsys):
    seg = tmp_path / "segs.csv"
    seg.write_text("start,end,label\n0,1,first\n2.5,4,after the end\n")
    out, summ = tmp_path / "f.csv", tmp_path / "s.json"
    rc = main(["video", str(HAP), "--model", "none", "--segments", str(seg), "--out", str(out),
               "--summary", str(summ), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("fau: error: ")
    assert (f"segments CSV {str(seg)!r} line 3: segment 1 'after the end' (start 2.5 s, end 4 s) "
            "starts at or after the end of the video, which lasts 1.868 s") in err
    assert not out.exists() and not summ.exists()


@pytest.mark.slow
def test_cli_keeps_a_segment_that_overlaps_the_end(tmp_path, capsys):
    seg = tmp_path / "segs.csv"
    seg.write_text("start,end,label\n0,1,first\n1,5,runs past the end\n")
    summ = tmp_path / "s.json"
    rc = main(["video", str(HAP), "--model", "none", "--fps", "10", "--segments", str(seg),
               "--summary", str(summ), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    rows = json.loads(summ.read_text())
    assert [r["label"] for r in rows] == ["first", "runs past the end"]
    assert rows[1]["end"] == 5.0 and rows[1]["track_id"] == 0 and rows[1]["frames"] >= 8


def test_service_refuses_the_same_segments_with_the_same_message(tmp_path):
    pytest.importorskip("fastapi", reason="fau[serve] extra (fastapi) not installed")
    pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (fau[serve] extra)")
    pytest.importorskip("multipart", reason="fau[serve] extra (python-multipart) not installed")
    from fastapi.testclient import TestClient

    from fau.serve import Settings, create_app

    app = create_app(Settings(data_dir=tmp_path / "data", expression_model=None,
                              analysis_threads=1))
    with TestClient(app) as c:
        r = c.post("/v1/videos", files={
            "file": ("clip.flv", HAP.read_bytes(), "video/x-flv"),
            "segments": ("seg.csv", b"start,end,label\n0,1,first\n2.5,4,after the end\n",
                         "text/csv")})
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "invalid_segments"
        assert body["detail"] == ("segments CSV line 3: segment 1 'after the end' (start 2.5 s, "
                                  "end 4 s) starts at or after the end of the video, which lasts "
                                  "1.868 s")
        assert c.get("/v1/jobs").json()["total"] == 0


@pytest.mark.parametrize("start", ["2.5", "1.868"])
def test_cli_refuses_a_start_at_or_after_the_end_before_analysing(tmp_path, capsys, start):
    # was: the whole video decoded, a warning, empty outputs written and exit status 0
    out, eaf = tmp_path / "f.csv", tmp_path / "a.eaf"
    rc = main(["video", str(HAP), "--model", "none", "--start", start, "--out", str(out),
               "--elan", str(eaf), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("fau: error: ")
    assert (f"start ({float(start):g} s) is at or after the end of the video, which lasts "
            "1.868 s") in err
    assert not out.exists() and not eaf.exists()


def test_run_video_job_refuses_a_start_past_the_end_and_keeps_one_inside():
    import fau

    with fau.Detector(expression_model=None) as det:
        with pytest.raises(FauError, match=r"start \(3 s\) is at or after the end"):
            fau.run_video_job(det, HAP, None, start=3)
        with pytest.raises(FauError, match="start must be"):  # the reader's own check
            fau.run_video_job(det, HAP, None, start="x")
        result = fau.run_video_job(det, HAP, None, start=1.8, fps=None)
    assert result.frames["timestamp"].min() >= 1.8 and len(result.frames) == 2
