"""fau.plot: figures for notebooks (Figure API, expected artists, units, no pyplot state)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fau
from conftest import needs_model
from fau.video import read_segments, summarize_segments

plot = pytest.importorskip("fau.plot")
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from fau.plot.bins import bin_series  # noqa: E402
from fau.plot.time_series import MAX_EVENT_MARKS, track_aus  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_report import table  # noqa: E402

DATA = Path(__file__).parent / "data"


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_import_fau_does_not_import_matplotlib():
    code = "import sys, fau; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_timeline_has_a_strip_per_au_with_its_unit_and_events():
    df = table(tracks=1)
    seg = [(0, 5, "intro"), (5, 20, "question 1")]
    fig = plot.timeline(df, segments=seg)
    assert isinstance(fig, Figure) and fig.canvas.manager is None  # not registered with pyplot
    aus = track_aus(df)
    assert len(fig.axes) == 3  # segments, expressions, the AU strips
    words = texts(fig)
    for a in aus:
        assert a in words
    assert "eye op." in words and "IOD" in words  # AU45 has its own unit
    assert "intro" in " ".join(words)
    strips = fig.axes[2]
    assert strips.get_ylim() == (0, len(aus))  # one unit band per AU, top to bottom
    band = len(aus) - 1 - aus.index("AU12")
    marks = [ln for ln in strips.get_lines() if ln.get_marker() == "v"
             and band < ln.get_ydata()[0] < band + 1]
    assert 1 <= len(marks) <= MAX_EVENT_MARKS  # the 5–7 s smile, on AU12's strip
    assert any(abs(m.get_xdata()[0] - 6) < 1.5 for m in marks)
    assert len(fig.axes[1].collections) == len(fau.EXPRESSIONS)  # stacked probabilities


def test_timeline_of_a_long_track_draws_min_max_bands_and_thins_events():
    df = table(n=5 * 3600, tracks=1, fps=5.0)  # one hour at fps=5
    fig = plot.timeline(df, expressions=False)
    strips = fig.axes[-1]
    aus = track_aus(df)
    bands = [c for c in strips.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(aus)  # min–max per bin, one band per AU
    lines = [ln for ln in strips.get_lines() if ln.get_marker() in ("None", None, "")
             and len(ln.get_xdata()) > 2]
    assert len(lines) == len(aus) and all(len(ln.get_xdata()) <= 450 for ln in lines)
    marks = [ln for ln in strips.get_lines() if ln.get_marker() == "v"]
    assert len(marks) <= MAX_EVENT_MARKS * len(aus)


@pytest.mark.parametrize("every", [1, 3])  # 600 samples: binned; 200: drawn as they are
def test_timeline_lines_break_where_a_track_ends(every):
    # one face at a time in two tracks (0-10 s, 10-20 s), each relative to its own baseline:
    # the report says "lines break where a track ends"; the line ran on from one track's
    # last value to the next one's first
    df = table(n=600, tracks=1)
    df.loc[df["timestamp"] >= 10, "track_id"] = 1
    df.loc[df["track_id"] == 1, "AU12_rel"] += 0.5  # another baseline
    df = df[df["frame"] % every == 0]
    none = df.iloc[0:0][["track_id", "timestamp"]].assign(kind="", name="", onset=0.0,
                                                          apex=0.0, offset=0.0, peak=0.0)
    fig = plot.timeline(df, track=[0, 1], events=none, aus=["AU12"], expressions=False)
    (line,) = [ln for ln in fig.axes[-1].get_lines() if len(ln.get_xdata()) > 2]
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    assert len(x) <= 451 and np.isnan(y).sum() == 1  # one break, and only one
    brk = int(np.flatnonzero(np.isnan(y))[0])
    assert x[brk - 1] < 10 <= x[brk + 1] + 1e-9
    assert np.nanmax(y[:brk]) < np.nanmin(y[brk + 1:])  # no value mixes the two tracks
    one = plot.timeline(df[df["track_id"] == 0], events=none, aus=["AU12"], expressions=False)
    (ln0,) = [ln for ln in one.axes[-1].get_lines() if len(ln.get_xdata()) > 2]
    assert not np.isnan(np.asarray(ln0.get_ydata(), float)).any()


def test_heatmap_cells_colour_bars_and_grouping():
    df = table(tracks=1)
    seg = read_segments([(0, 5, "q1"), (5, 7, "q2"), (7, 20, "q1")])
    summary = summarize_segments(df, seg)
    fig = plot.au_heatmap(summary)
    aus = [c[:-5] for c in summary.columns if c.endswith("_mean") and c.startswith("AU")]
    cells = [p for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == 3 * len(aus)
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert any("(IOD)" in x for x in labels) and any("neutral eye openings" in x for x in labels)
    grouped = plot.heatmap_table(summary, group=True)
    assert list(grouped.index) == ["q1", "q2"] and list(grouped["segments"]) == [2, 1]
    rows = summary[summary["label"] == "q1"]
    assert grouped.loc["q1", "AU12"] == pytest.approx(
        np.average(rows["AU12_mean"], weights=rows["frames"]))
    fig = plot.au_heatmap(summary, group=True)
    assert len([p for ax in fig.axes for p in ax.patches]) == 2 * len(aus)


def test_clock_labels():
    from fau.plot.style import format_time

    assert [format_time(s) for s in (42, 59.8, 1799.8, 3725)] == ["42 s", "1:00", "30:00",
                                                                  "1:02:05"]
    assert format_time(3.25, 0.1) == "3.2 s" and format_time(-5) == "−5 s"


@pytest.mark.parametrize("bad", [(float("nan"), 5.0), (0.0, float("inf")), ("a", 1), 5])
def test_time_bins_of_a_bad_range_are_a_fau_error(bad):
    """Before: (nan, 5) was numpy's ValueError ("cannot convert float NaN to integer")."""
    with pytest.raises(fau.FauError, match="t_range( start| end)? must be"):
        plot.time_bin_segments(bad)


def test_time_bins_have_a_round_length():
    seg = plot.time_bin_segments((0.0, 3600.0))
    assert len(seg) == 30 and (seg["end"] - seg["start"]).iloc[0] == 120


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 7200.0))
@example(10.000000000000002)  # a hair past a whole step: was past the last segment's end
@example(20.000000001)
def test_time_bins_cover_the_last_timestamp(t1):
    seg = plot.time_bin_segments((0.0, t1))
    assert seg["end"].iloc[-1] >= t1 and seg["start"].iloc[0] == 0.0
    assert (seg["start"].to_numpy()[1:] == seg["end"].to_numpy()[:-1]).all()


def test_quality_strip_rows_and_untrusted_stretches():
    df = table(n=1800, tracks=1)
    df = df[(df["timestamp"] < 20) | (df["timestamp"] > 30)].copy()
    q = plot.quality_bins(df)
    spans = plot.untrusted_spans(q)
    assert len(spans) == 1 and spans[0][0] == pytest.approx(20, abs=1) \
        and spans[0][1] == pytest.approx(30, abs=1)
    fig = plot.quality_strip(df)
    assert len(fig.axes) == 5  # the untrusted flags, then four measures
    flags = fig.axes[0].patches
    assert len(flags) == 1 and flags[0].get_x() == pytest.approx(20, abs=1)
    words = " ".join(texts(fig))
    for w in ("untrusted", "face found", "face score", "head pose", "face width"):
        assert w in words


@pytest.mark.parametrize("fps, native, seconds, start", [
    (10, 30, 8, 0.0),       # --fps 10: frames at k / 10 s, bins 0.1 s wide from 0
    (5, 30, 60, 0.0),       # --fps 5 on a minute
    (None, 29.97, 8, 0.0),  # every frame of a short NTSC clip
    (None, 30, 1.8, 0.027),  # millisecond timestamps starting at 27 ms (CREMA-D's FLV)
])
def test_a_face_in_every_analysed_frame_is_never_untrusted(fps, native, seconds, start):
    # bins one analysed-frame interval wide sat on the frames' own grid: rounding put two
    # frames in one bin and none in the next, so 31% of an --fps 10 video with a face in
    # every frame was "untrusted" (no face found)
    frames = np.arange(0, int(seconds * native), round(native / fps) if fps else 1)
    df = table(t=np.round(frames / native + start, 3) if start else frames / native, tracks=1)
    end = float(df["timestamp"].max()) + (0 if start else 1 / native)  # as many bins as frames
    df.attrs.update(fps=fps, video={**df.attrs["video"], "fps": native, "duration": end})
    q = plot.quality_bins(df)
    assert q["expected"].eq(1).all()
    assert not q["untrusted"].any(), q[q["untrusted"]]
    assert plot.untrusted_spans(q) == []
    gap = df[(df["timestamp"] < 1) | (df["timestamp"] >= 1.5)]  # 0.5 s without a face
    spans = plot.untrusted_spans(plot.quality_bins(gap))
    step = 1 / (fps or native)
    assert len(spans) == 1 and spans[0][0] == pytest.approx(1.0, abs=step / 2)
    assert 1.5 - step / 2 <= spans[0][1] <= 1.5 + step * 1.01


def test_doubtful_rows_follow_the_rule():
    rule = plot.DEFAULT_RULE
    df = pd.DataFrame({"face_score": [0.99, 0.6, 0.99, 0.99, 0.99],
                       "yaw": [0, 0, rule.max_yaw + 1, 0, 0],
                       "pitch": [0, 0, 0, -rule.max_pitch - 1, 0],
                       "face_w": [100, 100, 100, 100, rule.min_face_px - 1]})
    flags = plot.doubtful_rows(df)
    assert flags["doubtful"].tolist() == [False, True, True, True, True]
    assert flags["turned"].tolist() == [False, False, True, True, False]


def face_row() -> pd.Series:
    pts = np.load(DATA / "mesh_cremad_hap.npy").astype(float)
    d = {f"{c}_{i}": pts[i, k] for k, c in enumerate("xyz") for i in range(len(pts))}
    for j, a in enumerate(fau.AU_NAMES):
        d[a] = 0.02 * (j % 5 - 2)
    d["AU12"], d["AU45"] = 0.25, 0.9
    return pd.Series(d)


def test_face_aus_draws_the_mesh_and_non_overlapping_labels():
    fig = plot.face_aus(face_row())
    ax = fig.axes[0]
    mesh = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert mesh and len(mesh[0].get_segments()) > 2000  # MediaPipe's tessellation
    labels = [t for t in ax.texts if t.get_text().startswith("AU")]
    names = {t.get_text().split()[0] for t in labels}
    assert {"AU01", "AU12", "AU45", "AU26"} <= names
    words = {t.get_text() for t in labels}
    assert "AU12 +0.250 IOD" in words and "AU45 +0.900 eye op." in words
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


def test_default_aus_are_the_22_named_in_the_docstrings():
    # the docstrings said "the 17 bilateral AUs"; both draw all of BILATERAL_AUS (22)
    from fau.video.temporal import BILATERAL_AUS

    n = len(BILATERAL_AUS)
    assert n == 22
    labels = [t.get_text() for t in plot.face_aus(face_row()).axes[0].texts]
    assert len([t for t in labels if t.startswith("AU")]) == n
    strips = plot.timeline(table(tracks=1), expressions=False).axes[-1].texts
    assert len([t for t in strips if t.get_text() in BILATERAL_AUS]) == n
    for f in (plot.face_aus, plot.timeline):
        assert f"the {n} AUs of `fau.video.temporal.BILATERAL_AUS`" in f.__doc__
        assert "17 bilateral" not in f.__doc__


def test_one_au_given_as_a_string_is_that_au():
    """Before: aus="AU12" was read letter by letter ("no column for A, U, 1, 2")."""
    df = table(tracks=1)
    strips = [t.get_text() for t in plot.timeline(df, aus="AU12", expressions=False).axes[-1].texts]
    assert "AU12" in strips and "AU06" not in strips
    summary = summarize_segments(df, read_segments([(0, 5, "q1"), (5, 20, "q2")]))
    table12 = plot.heatmap_table(summary, aus="AU12")
    assert list(table12.columns) == ["AU12", "frames", "segments", "seconds"]
    labels = [t.get_text() for t in plot.face_aus(face_row(), aus="AU12").axes[0].texts]
    assert [t.split()[0] for t in labels if t.startswith("AU")] == ["AU12"]


def test_face_aus_over_the_image_and_bad_input():
    img = np.zeros((360, 480, 3), np.uint8)
    fig = plot.face_aus(face_row().to_frame().T, img)
    assert fig.axes[0].images
    with pytest.raises(fau.FauError, match="landmarks=True"):
        plot.face_aus(pd.Series({"AU12": 0.1}))
    with pytest.raises(fau.FauError, match="one face"):
        plot.face_aus(pd.concat([face_row().to_frame().T] * 2))
    for wrong in (None, face_row().to_dict()):  # were AttributeErrors
        with pytest.raises(fau.FauError, match="a Series or a one-row DataFrame"):
            plot.face_aus(wrong)


def test_units_come_from_fau_au():
    from fau.plot.units import au_unit, au_unit_short

    assert au_unit("AU45_rel") == "neutral eye openings" and au_unit_short("AU43") == "eye op."
    assert au_unit("AU12_mean") == "IOD" and au_unit("AU12_L") == "IOD"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=3000), st.integers(5, 500))
@example([0.0] * 15, 13)  # 13 bins x width fell short of the span: the last sample was lost
def test_bins_keep_the_extremes(values, n):
    y = np.array(values)
    t = np.arange(len(y)) / 30.0
    b = bin_series(t, y, n=n)
    assert np.nanmax(b.hi) == pytest.approx(y.max()) and np.nanmin(b.lo) == pytest.approx(y.min())
    ok = np.isfinite(b.mean)
    assert (b.lo[ok] <= b.mean[ok] + 1e-9).all() and (b.mean[ok] <= b.hi[ok] + 1e-9).all()
    assert len(b.x) <= max(n, len(y)) + len(y)  # raw series gain at most one break per gap
    assert b.count.sum() == len(y)


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str, cwd) -> str:
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                       text=True, timeout=300, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.slow
@needs_model
def test_plot_examples_save_their_figures(tmp_path):
    out = run_example("plot_face.py", str(EXAMPLES / "data/cremad_happy.jpg"),
                      str(tmp_path / "face.png"), cwd=tmp_path)
    assert "AU12" in out and (tmp_path / "face.png").stat().st_size > 20_000
    out = run_example("plot_video.py", str(DATA / "cremad/1001_DFA_NEU_XX.flv"), str(tmp_path),
                      cwd=tmp_path)
    for name in ("timeline", "heatmap", "quality"):
        assert (tmp_path / f"plot_{name}.png").stat().st_size > 10_000, name
    assert "track(s)" in out
