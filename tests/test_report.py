"""HTML report: self-contained, charts per track, segments, events, notice."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

import fau
from fau import FauError
from fau.report import RESPONSIBLE_USE, render_report, write_report
from fau.report.svg import MAX_POINTS, Band, Line, Marker, downsample, line_chart
from fau.video import add_temporal, find_events, read_segments, summarize_segments


def table(n=600, tracks=2, expressions=True):
    rng = np.random.default_rng(0)
    parts = []
    t = np.arange(n) / 30
    for tid in range(tracks):
        d = {"frame": np.arange(n), "timestamp": t, "track_id": tid, "face": tid,
             "face_x": 10.0 + 200 * tid, "face_y": 20.0, "face_w": 100.0, "face_h": 120.0,
             "face_score": 0.99}
        for a in fau.AU_NAMES:
            d[a] = rng.normal(0.02, 0.003, n)
        d["AU12"] = d["AU12"] + 0.15 * ((t > 5) & (t < 7))
        p = rng.dirichlet(np.ones(8), n) if expressions else np.full((n, 8), np.nan)
        for j, e in enumerate(fau.EXPRESSIONS):
            d[e] = p[:, j]
        parts.append(pd.DataFrame(d))
    df = add_temporal(pd.concat(parts, ignore_index=True))
    df.attrs.update(video={"path": "/x/clip.mp4", "width": 640, "height": 480, "codec": "h264",
                           "format": "mp4", "duration": 20.0},
                    decoded_frames=n, analysed_frames=n, fps=None, truncated=False)
    return df


def test_report_is_self_contained_with_all_parts():
    df = table()
    seg = read_segments([(0, 4, "intro <b>"), (4, 20, "question 2")])
    ev = find_events(df)
    html = render_report(df, events=ev, segments=seg, summary=summarize_segments(df, seg, ev),
                         model="ferplus")
    assert html.startswith("<!DOCTYPE html>")
    assert RESPONSIBLE_USE in html and "Barrett" in html and "Art. 5(1)(f)" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing loaded
    assert "<script" not in html
    assert "Track 0" in html and "Track 1" in html
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 2 * 4  # expression + 3 AU groups per track
    for s in svgs:
        ET.fromstring(s)  # well-formed
    assert "intro &lt;b&gt;" in html and "intro <b>" not in html  # escaped
    assert "question 2" in html and "AU12" in html
    assert html.count("<tr>") > 10


def test_report_without_expression_model_and_without_faces():
    df = table(expressions=False)
    html = render_report(df)
    assert "No expression model" in html
    assert len(re.findall(r"<svg", html)) == 2 * 3
    empty = df.iloc[0:0]
    html = render_report(empty)
    assert "No face was found" in html


def test_long_series_are_downsampled():
    x = np.arange(100_000) / 30
    xs, ys, k = downsample(x, np.sin(x))
    assert len(xs) <= MAX_POINTS + 1 and k > 1
    svg = line_chart([Line("a", x, np.sin(x))], title="t", y_label="y")
    assert "mean of" in svg and len(svg) < 200_000


def test_write_report_never_overwrites(tmp_path):
    p = tmp_path / "r.html"
    write_report(p, "<html></html>")
    assert p.read_text() == "<html></html>"
    with pytest.raises(FauError, match="exists"):
        write_report(p, "other")
    write_report(p, "other", overwrite=True)
    assert p.read_text() == "other"
    with pytest.raises(FauError, match="html"):
        write_report(tmp_path / "r.txt", "x")


def test_every_track_has_matplotlib_svg_charts_and_the_notice():
    df = table(tracks=3)
    seg = read_segments([(0, 4, "intro"), (4, 20, "rest")])
    html = render_report(df, segments=seg, model="ferplus")
    head, *tracks = re.split(r"<h2>Track \d+</h2>", html)
    assert f'<div class="notice"><b>Responsible use.</b> {RESPONSIBLE_USE}</div>' in head
    assert "<svg" not in head and len(tracks) == 3
    for part in tracks:
        svgs = re.findall(r"<svg.*?</svg>", part, re.S)
        assert len(svgs) == 4  # expression + upper face + lower face + eye closure
        for s in svgs:
            root = ET.fromstring(s)
            assert root.get("viewBox") == "0 0 900 240" and root.get("width") == "100%"
            assert root.find(".//{http://www.w3.org/2000/svg}path") is not None
            assert "<text" in s  # svg.fonttype none: labels stay text
        assert "<title>happiness</title>" in svgs[0] and "<title>intro</title>" in svgs[0]
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # per-chart hash salt: no clashes between inlined SVGs
    assert set(re.findall(r"url\(#([^)]+)\)", html)) <= set(ids)


def test_chart_is_deterministic_and_leaves_matplotlib_state_alone():
    import matplotlib

    x = np.arange(900) / 30
    x = np.concatenate([x, x[-1] + 10 + x])  # a 10 s gap: the line breaks there
    before = dict(matplotlib.rcParams)
    args = ([Line("a", x, np.sin(x)), Line("b <i>", x, np.cos(x), "#E69F00")],)
    kw = dict(title="t", y_label="y", markers=[Marker(3.0, 0.5, "peak & more")],
              bands=[Band(1, 2, "seg $5 or $6_x")], zero_line=True)
    a, b = line_chart(*args, **kw), line_chart(*args, **kw)
    assert a == b
    assert dict(matplotlib.rcParams) == before
    assert "<title>peak &amp; more</title>" in a and "b &lt;i&gt;" in a
    assert "seg $5 or $6_x" in a  # labels are not parsed as TeX
    path = re.search(r'<title>a</title>\s*<path d="([^"]*)"', a)[1]
    assert path.count("M") == 2  # broken at the gap
    assert "Date" not in a and "<?xml" not in a and "<metadata" not in a
    assert line_chart(*args, **kw, chart_id="other") != a  # ids salted per chart
    ET.fromstring(re.search(r"<svg.*</svg>", a, re.S)[0])
