"""Report and table outputs as a user reads them: charts of a table without faces, the
header's duration, time-bin labels, the time columns of the CSV files, empty windows."""

from __future__ import annotations

import sys
from pathlib import Path

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
