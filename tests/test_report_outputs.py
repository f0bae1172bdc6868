"""Report and table outputs as a user reads them: charts of a table without faces, the
header's duration, time-bin labels, the time columns of the CSV files, empty windows."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fau import FauError

plot = pytest.importorskip("fau.plot")
from fau.video import summarize_segments  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_report import table  # noqa: E402


def test_charts_of_a_table_without_faces_are_fau_errors():
    # was: au_heatmap and timeline drew empty grids (a video with no face read as "no
    # movement"); face_aus already refused an empty table
    df = table(tracks=1, n=90)
    for summary in (summarize_segments(df, [(0, 1, "a"), (1, 3, "b")]).iloc[0:0],
                    summarize_segments(df.iloc[0:0], [(0, 1, "a"), (1, 3, "b")])):
        with pytest.raises(FauError, match="no face rows"):
            plot.au_heatmap(summary)
        assert plot.heatmap_table(summary).empty  # the numbers: an empty table
    with pytest.raises(FauError, match="no face rows"):
        plot.timeline(df.iloc[0:0])


def test_header_duration_of_a_short_clip_has_tenths():
    # was: "header duration 2 s" for a 1.87-s clip (whole seconds)
    import re

    from fau.report import render_report

    def meta(df):
        return re.search(r'<p class="meta">(.*?)</p>', render_report(df, video=False))[1]

    df = table(tracks=1, n=56)
    df.attrs["video"]["duration"] = 1.87
    assert "header duration 1.9 s" in meta(df)
    df.attrs["video"]["duration"] = 125.4
    assert "header duration 2:05" in meta(df)  # 10 s or longer: whole seconds
    df.attrs["video"]["duration"] = None
    assert "header duration ?" in meta(df)


@pytest.mark.parametrize("t_range, last", [((0.0, 4.4), "4.0 s–4.4 s"),
                                           ((0.027, 4.3), "4.0 s–4.3 s"),
                                           ((0.0, 4.02), "4.000–4.020 s"),
                                           ((0.0, 100.4), "1:40.0–1:40.4")])
def test_time_bin_labels_are_never_one_time_twice(t_range, last):
    # was: the last bin "4 s–4 s" (whole seconds of 4-4.4 s), "1:40–1:40"
    seg = plot.time_bin_segments(t_range)
    assert seg["label"].iloc[-1] == last
    assert seg["label"].iloc[0].startswith("0 s–")  # on the grid of whole steps from 0 s
    for lab in seg["label"]:
        a, b = lab.split("–")
        assert a.removesuffix(" s") != b.removesuffix(" s"), lab


def test_time_bins_of_a_clip_starting_off_the_grid_are_whole_seconds():
    # a clip whose first frame is at 0.027 s (CREMA-D FLV): bins were 0.027-1.027 s, ...
    # labelled "0 s–1 s", "1 s–2 s"; a window from 12.5 s had "12 s–14 s" for 13.5-14.5 s
    seg = plot.time_bin_segments((0.027, 1.86))
    assert seg[["start", "end"]].values.tolist() == [[0.0, 1.0], [1.0, 1.86]]
    seg = plot.time_bin_segments((12.5, 17.2))
    assert seg["start"].tolist() == [12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
    assert seg["label"].tolist()[:2] == ["12 s–13 s", "13 s–14 s"]
    df = table(tracks=1, n=15, t=0.027 + np.arange(15) / 30)
    from fau.report import render_report

    assert "rows are 0.5 s bins" in render_report(df, video=False)  # was "0 s bins"


@pytest.mark.parametrize("window", [["--end", "0"], ["--start", "0", "--end", "0"]])
def test_an_empty_window_is_an_error_before_any_work(tmp_path, capsys, window):
    # was: --end 0 alone decoded a frame, warned "no frame in the requested window" and
    # wrote an empty table (exit 0), while --start 0 --end 0 was an error
    from fau.cli import main
    from fau.video.reader import check_sampling

    clip = Path(__file__).parent / "data" / "cremad" / "1001_DFA_HAP_XX.flv"
    out = tmp_path / "frames.csv"
    assert main(["video", str(clip), "--model", "none", "--no-progress", "--out", str(out),
                 *window]) == 2
    assert "end (0 s) must be after start (0 s" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(FauError, match="must be after start"):
        check_sampling(None, None, 0.0)  # the reader's check: iter_frames, detect_video
    assert check_sampling(None, None, 0.5) == (None, None, 0.5)


def test_csv_time_columns_are_written_to_the_millisecond(tmp_path):
    # was: events CSV "duration" 0.20000000000000004 (offset - onset + a frame interval),
    # per-frame "timestamp" 0.03333333333333333; the OpenFace export writes 0.033
    import pandas as pd

    from fau.files import table_csv, table_json, write_table
    from fau.serve.routes.jobs import table_body
    from fau.video import find_events

    df = table(tracks=1, n=300)
    ev = find_events(df)
    assert len(ev) and (ev["duration"] != ev["duration"].round(3)).any()  # float noise
    for name, t in (("frames", df), ("events", ev)):
        write_table(t, tmp_path / f"{name}.csv")
        t.to_parquet(tmp_path / f"{name}.parquet")
        served = table_body(tmp_path / f"{name}.parquet", "csv", "j", name)[0]
        assert served == table_csv(t) == (tmp_path / f"{name}.csv").read_text()
        back = pd.read_csv(tmp_path / f"{name}.csv")
        for c in ("timestamp", "onset", "apex", "offset", "duration"):
            if c in t.columns:
                text = back[c].astype(str)
                assert text.str.len().max() <= len("1234.567"), (c, text.max())
                assert np.allclose(back[c], t[c], atol=5e-4, rtol=0)
        # the other formats keep the float64 value
        assert pd.read_parquet(tmp_path / f"{name}.parquet")["track_id"].equals(t["track_id"])
    assert '"timestamp":0.0333333333' in table_json(df.head(2))
    seg = pd.DataFrame({"start": [0.12345], "end": [1.0], "label": ["a"]})
    assert "0.12345" in table_csv(seg)  # a segment's times are the user's, as given


def test_report_of_a_video_without_faces_says_so_and_draws_nothing():
    # was: the heatmap section said "No segments were given: rows are 1 s bins of the
    # video" above "No face was found" (there were no rows)
    import re

    from fau.report import render_report

    html = render_report(table(tracks=1, n=45).iloc[0:0], video=False)
    heat = re.search(r'<section id="summary-heatmap">(.*?)</section>', html, re.S)[1]
    assert "No face was found" in heat and "bins" not in heat
    assert "<svg" not in html and html.count("No face was found") == 3
