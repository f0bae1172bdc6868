"""Review of the HTML report and the plots: user text that is not TeX or not XML, bad
arguments (clear `FauError`s), event tables with gaps, windows before 0 s, tracks without
segment rows, the wording of expression crops, finite SVG coordinates for any series."""

from __future__ import annotations

import re
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fau import FauError

plot = pytest.importorskip("fau.plot")
from fau.report import render_report  # noqa: E402
from fau.report.keyframes import Moment, _caption, choose_moments  # noqa: E402
from fau.report.svg import figure_svg, report_style  # noqa: E402
from fau.video import find_events, read_segments, summarize_segments  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_plot import face_row  # noqa: E402
from test_report import sections, table  # noqa: E402

#: SVG attributes that hold coordinates or lengths.
GEOMETRY = ("d", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height",
            "points", "transform")


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, re.S)


def well_formed(svg: str) -> ET.Element:
    """Parse ``svg`` and check that no coordinate is NaN or infinite."""
    root = ET.fromstring(svg)
    for el in root.iter():
        for k, v in el.attrib.items():
            if k in GEOMETRY:
                assert not re.search(r"nan|inf", v, re.I), (el.tag, k, v[:120])
    return root


def chart(build) -> str:
    tips: dict[str, str] = {}
    with report_style():
        return figure_svg(build(tips), chart_id="c", title="t", tooltips=tips)


def test_dollar_signs_in_segment_labels_are_text_not_tex():
    # was: ValueError from matplotlib's mathtext parser (heatmap row labels, heatmap title,
    # timeline legend), and "$5 or $6" drawn as italic maths
    df = table(tracks=1)
    seg = read_segments([(0, 5, "price $x^$"), (5, 10, "cost $5 or $6"), (10, 20, "price $x^$")])
    summary = summarize_segments(df, seg)
    heat = chart(lambda tips: plot.au_heatmap(summary, title="title $x^$", tooltips=tips))
    assert "price $x^$" in heat and "title $x^$" in heat and "cost $5 or $6" in heat
    line = chart(lambda tips: plot.timeline(df, segments=seg, tooltips=tips))
    assert "price $x^$" in line
    html = render_report(df, segments=seg, video=False)
    for s in svgs(html):
        well_formed(s)


def test_control_characters_in_labels_and_titles_keep_the_svg_well_formed():
    # was: a label or title with \x01 or U+FFFE (invalid in XML) gave ill-formed SVG
    df = table(tracks=1, n=200)
    bad = "a\x01b\x0bc\ufffe"
    html = render_report(df, segments=[(0, 2, bad), (2, 4, "q"), (4, 6, bad)], video=False,
                         title=bad)
    assert "\x01" not in html and "\ufffe" not in html and "a\ufffdb" in html
    for s in svgs(html):
        well_formed(s)


def test_face_aus_takes_a_pathlib_path(tmp_path):
    import cv2

    p = tmp_path / "face.png"
    cv2.imwrite(str(p), np.zeros((360, 480, 3), np.uint8))
    fig = plot.face_aus(face_row(), p)  # was: TypeError "Image data of dtype object"
    assert fig.axes[0].images
    assert plot.face_aus(face_row(), p.read_bytes()).axes[0].images


def test_face_aus_relative_without_baseline_columns_is_a_fau_error():
    with pytest.raises(FauError, match="relative=True"):  # was: KeyError 'AU01_rel'
        plot.face_aus(face_row(), relative=True)


@pytest.mark.parametrize("width", [0, 100, -5, float("nan")])
def test_too_narrow_figures_are_fau_errors(width):
    # was: ZeroDivisionError or matplotlib's "figure size must be positive finite"
    df = table(tracks=1, n=90)
    summary = summarize_segments(df, [(0, 1, "a"), (1, 3, "b")])
    for call in (lambda: plot.timeline(df, width_px=width),
                 lambda: plot.quality_strip(df, width_px=width),
                 lambda: plot.au_heatmap(summary, width_px=width),
                 lambda: plot.face_aus(face_row(), width_px=width)):
        with pytest.raises(FauError, match="width_px"):
            call()


@pytest.mark.parametrize("t_range", [(5.0, 5.0), (10.0, 0.0), (float("nan"), 3.0),
                                     (0.0, float("inf")), (1.0,)])
def test_bad_time_ranges_are_fau_errors(t_range):
    # was: an empty or mirrored chart drawn silently, or "cannot convert float NaN"
    df = table(tracks=1, n=90)
    for call in (lambda: plot.timeline(df, t_range=t_range),
                 lambda: plot.quality_strip(df, t_range=t_range),
                 lambda: plot.quality_bins(df, t_range=t_range)):
        with pytest.raises(FauError, match="t_range"):
            call()


def test_unknown_aus_and_tracks_are_fau_errors():
    df = table(tracks=1, n=90)
    summary = summarize_segments(df, [(0, 1, "a"), (1, 3, "b")])
    with pytest.raises(FauError, match="AU99"):  # was: an empty chart, silently
        plot.timeline(df, aus=["AU12", "AU99"])
    with pytest.raises(FauError, match="AU99"):  # was: KeyError "AU99_mean"
        plot.au_heatmap(summary, aus=["AU99"])
    with pytest.raises(FauError, match="track"):  # was: an empty heatmap, silently
        plot.heatmap_table(summary, track=7)
    assert len(plot.heatmap_table(summary, track=0)) == 2


def test_report_notes_a_track_with_no_frame_in_any_segment():
    # two faces at once; face 1 is seen only after the last segment: was an empty heatmap
    df = table(tracks=2)
    df = df[(df["track_id"] == 0) | (df["timestamp"] > 12)].copy()
    heat = sections(render_report(df, segments=[(0, 10, "a"), (10, 11, "b")],
                                  video=False))["summary-heatmap"]
    assert "Track 1: no analysed frame in any segment" in heat
    assert len(svgs(heat)) == 1 and "Track 0, per segment" in heat


def test_two_faces_do_not_make_every_label_a_repeated_one():
    # the summary has a row per segment and face: with two faces every label was "repeated",
    # so distinct segments got a second, identical "by label" heatmap per face and the note
    # "Rows pool the segments that share a label"
    df = table(tracks=2)
    for segments in (None, [(0, 10, "a"), (10, 20, "b")]):
        heat = sections(render_report(df, segments=segments, video=False))["summary-heatmap"]
        assert "share a label" not in heat and "by label" not in heat
        assert len(svgs(heat)) == 2 and "Track 1, per segment" in heat
    heat = sections(render_report(df, segments=[(0, 5, "a"), (5, 10, "b"), (10, 20, "a")],
                                  video=False))["summary-heatmap"]
    assert "share a label" in heat and len(svgs(heat)) == 4  # by label + folded, per face


def test_short_stretches_are_written_in_tenths_of_a_second():
    # whole seconds made a 0.3-s untrusted stretch "0 s of 2 s, 15%", a 0.6-1.4 s segment
    # "b: 1 s – 1 s" and a blink "at 0 s (0 s – 0 s)"
    df = table(n=60, tracks=1, smile=(0.9, 1.3), blink=(0.3, 0.45))
    df = df[(df["timestamp"] < 0.5) | (df["timestamp"] >= 0.8)].copy()
    html = render_report(df, segments=[(0, 0.6, "a"), (0.6, 1.4, "b"), (1.4, 2.0, "a")],
                         video=False)
    assert "(0.3 s of 2.0 s, 15%)" in sections(html)["quality"]
    assert "untrusted 0.5 s – 0.8 s" in html
    assert "b: 0.6 s – 1.4 s" in html and "a · 1.4 s · AU12" in html  # per-segment row
    assert re.search(r"AU45 \+0\.\d+ neutral eye openings at 0\.4 s \(0\.3 s – 0\.4 s\)", html)
    assert not re.search(r"\b(\d+) s – \1 s\b", html)  # no stretch from a second to itself


def test_a_summary_without_segments_gives_the_heatmap_rows_and_a_wrong_one_a_fau_error():
    # render_report(df, summary=...) drew 1-s time bins ("No segments were given") while the
    # segment table listed the summary's segments; a table that is not a summary: KeyError
    df = table(tracks=1)
    summary = summarize_segments(df, [(0, 5, "intro"), (5, 20, "answer")])
    parts = sections(render_report(df, summary=summary, video=False))
    heat = parts["summary-heatmap"]
    assert "No segments were given" not in heat and "intro" in heat and "answer" in heat
    cells = [t for t in svgs(heat)[0].split("<title>")[1:] if " · AU12: " in t]
    assert [c.split(" · ")[0] for c in cells] == ["intro", "answer"]
    assert "intro: 0.0 s – 5.0 s" in parts["track-0"]  # shaded on the timeline too
    with pytest.raises(FauError, match="summary needs a summarize_segments table"):
        render_report(df, summary=df, segments=[(0, 5, "a")], video=False)


def test_report_refuses_an_events_table_without_the_columns_it_draws():
    df = table(tracks=1)
    ev = find_events(df)
    for col in ("peak", "apex", "offset"):  # was: KeyError / AttributeError deep inside
        with pytest.raises(FauError, match=f"render_report: events .* {col}"):
            render_report(df, events=ev.drop(columns=[col]), video=False)
    with pytest.raises(FauError, match="timeline: events .* peak"):
        plot.timeline(df, events=ev.drop(columns=["peak"]))
    # optional columns (an older events CSV): the table lists what there is
    html = render_report(df, events=ev.drop(columns=["brief", "duration"]), video=False)
    assert "<th" in sections(html)["tables"]


def test_events_without_a_peak_do_not_break_the_report():
    # an events CSV with an empty peak cell: was pandas' "idxmax ... all NA values"
    df = table(tracks=1)
    ev = find_events(df)
    ev.loc[ev["name"] == "AU45", "peak"] = np.nan
    moments = choose_moments(df, ev, [[0]], plot.time_series.track_aus(df))
    assert "AU12" in {m.name for m in moments} and "AU45" not in {m.name for m in moments}
    assert "<svg" in render_report(df, events=ev, video=False)


def test_a_window_that_ends_before_zero_gets_valid_time_bins():
    # was: one segment 0–0 s, and render_report failed with "end must be after start"
    seg = plot.time_bin_segments((-1.0, -0.5))
    assert len(seg) == 1 and seg["end"].iloc[0] > seg["start"].iloc[0] == 0.0
    df = table(tracks=1, n=20, t=-1 + np.arange(20) / 60)
    assert "No segments were given" in render_report(df, video=False)


def test_expression_crops_are_captioned_as_a_reading_with_its_probability():
    m = Moment(0, 1.0, "expression", "anger", 0.914, (0, 0, 10, 10))
    text = _caption(m)
    assert "likely read as anger" in text and "p = 0.91" in text  # was "anger 0.91"
    assert "emotion" not in text


values = st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")))


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(values, min_size=1, max_size=40), st.floats(0, 500), st.booleans())
@example([float("nan")], 0.0, False)
@example([0.25] * 5, 100.0, False)  # all equal, starting at 100 s
def test_any_series_gives_well_formed_svg_with_finite_coordinates(ys, t0, uneven):
    n = len(ys)
    step = np.random.default_rng(n).uniform(0.001, 2, n) if uneven else np.full(n, 1 / 30)
    df = table(n=n, tracks=1, t=t0 + np.cumsum(step), expressions=False)
    y = np.array(ys, dtype=float)
    df["AU12_rel"], df["face_score"], df["yaw"] = y.astype(np.float32), y, y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        well_formed(chart(lambda tips: plot.timeline(df, tooltips=tips)))
        well_formed(chart(lambda tips: plot.quality_strip(df, tooltips=tips)))
        summary = summarize_segments(df, plot.time_bin_segments(plot.quality.time_range(df)))
        if (summary["track_id"] >= 0).any():
            well_formed(chart(lambda tips: plot.au_heatmap(summary, tooltips=tips)))
