"""HTML report: self-contained, the three overview sections, crops from the video, quality,
units, long videos, no overwrite, deterministic charts (function length: test_architecture)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fau
from fau import FauError
from fau.report import RESPONSIBLE_USE, render_report, write_report
from fau.report.frames import frames_at
from fau.report.svg import figure_svg, report_style
from fau.video import add_temporal, find_events, iter_frames, read_segments, summarize_segments

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests/data/cremad/1001_DFA_HAP_XX.flv"


def table(n=600, tracks=2, expressions=True, fps=30.0, path="/x/clip.mp4", t=None, seed=0,
          smile=(5.0, 7.0), blink=(3.0, 3.2)):
    """A synthetic detect_video table: AU12 rises during ``smile``, a blink during ``blink`` (s)."""
    rng = np.random.default_rng(seed)
    parts = []
    t = np.arange(n) / fps if t is None else np.asarray(t, dtype=float)
    n = len(t)
    for tid in range(tracks):
        d = {"frame": np.arange(n), "timestamp": t, "track_id": tid, "face": tid,
             "face_x": 10.0 + 200 * tid, "face_y": 20.0, "face_w": 100.0, "face_h": 120.0,
             "face_score": 0.99, "yaw": 2.0, "pitch": 1.0, "roll": 0.5}
        for a in fau.AU_NAMES:
            d[a] = rng.normal(0.02, 0.003, n)
        d["AU12"] = d["AU12"] + 0.15 * ((t > smile[0]) & (t < smile[1]))
        d["AU45"] = d["AU45"] + 0.9 * ((t > blink[0]) & (t < blink[1]))
        p = rng.dirichlet(np.ones(8), n) if expressions else np.full((n, 8), np.nan)
        for j, e in enumerate(fau.EXPRESSIONS):
            d[e] = p[:, j]
        parts.append(pd.DataFrame(d))
    df = add_temporal(pd.concat(parts, ignore_index=True))
    df.attrs.update(video={"path": str(path), "width": 480, "height": 360, "codec": "h264",
                           "format": "mp4", "duration": float(t.max()) + 1 / fps, "fps": fps},
                    decoded_frames=n, analysed_frames=n, fps=None, truncated=False)
    return df


def sections(html: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r'<section id="([^"]+)">(.*?)</section>', html, re.S)}


def test_report_is_self_contained_with_the_overview_sections():
    df = table()
    seg = read_segments([(0, 4, "intro <b>"), (4, 10, "question 2"), (10, 20, "question 3")])
    ev = find_events(df)
    html = render_report(df, events=ev, segments=seg, summary=summarize_segments(df, seg, ev),
                         model="ferplus", video=False)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert RESPONSIBLE_USE in html and "Barrett" in html and "Art. 5(1)(f)" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing loaded
    assert "<script" not in html and "<link" not in html
    parts = sections(html)
    for sid in ("summary-heatmap", "keyframes", "quality", "track-0", "track-1", "tables"):
        assert sid in parts, sid
    assert "<svg" in parts["summary-heatmap"] and "<svg" in parts["quality"]
    assert "without the video file" in parts["keyframes"]  # video=False: a note, no crops
    for s in re.findall(r"<svg.*?</svg>", html, re.S):
        ET.fromstring(s)  # well-formed
    assert "intro &lt;b&gt;" in html and "intro <b>" not in html  # escaped
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # per-chart hash salt: no clashes between inlined SVGs
    assert set(re.findall(r"url\(#([^)]+)\)", html)) <= set(ids)


@pytest.fixture(scope="module")
def one_face_report(tmp_path_factory):
    """One face, repeated segment labels, a video path that does not exist."""
    df = table(tracks=1, path=tmp_path_factory.mktemp("v") / "gone.mp4")
    seg = read_segments([(0, 5, "q1"), (5, 7, "q2"), (7, 20, "q1")])
    summary = summarize_segments(df, seg)
    return summary, sections(render_report(df, segments=seg, summary=summary))


def test_heatmap_cells_are_the_segment_means_with_hover_values(one_face_report):
    summary, parts = one_face_report
    heat = parts["summary-heatmap"]
    # labels repeat: a "by label" heatmap (q1 pooled, frame-weighted) plus every segment
    assert "Track 0, by label" in heat and "Track 0: every segment" in heat
    rows = summary[summary["label"] == "q1"]
    pooled = float(np.average(rows["AU12_mean"], weights=rows["frames"]))
    assert f"q1 · AU12: {pooled:+.3f} IOD" in heat
    q2 = float(summary.loc[summary["label"] == "q2", "AU12_mean"].iloc[0])
    assert q2 > 0.1 and f"q2 · AU12: {q2:+.3f} IOD" in heat
    assert "q1 · 7 s · AU12" in heat  # per segment, a repeated label gets its start time
    assert "AU45: " in heat and "neutral eye openings" in heat  # AU45's own unit and scale


def test_keyframes_degrade_gracefully_without_the_video(one_face_report):
    kf = one_face_report[1]["keyframes"]
    assert "<img" not in kf and "not available" in kf and "gone.mp4" in kf


def test_every_unit_is_right_in_the_timelines(one_face_report):
    tl = one_face_report[1]["track-0"]
    assert "AU45 (neutral eye openings" in tl and "eye op." in tl
    assert "AU12 (IOD" in tl
    assert "AU45 +" in tl and "neutral eye openings at" in tl  # event hover text


@pytest.fixture(scope="module")
def quality_report():
    """60 s at 30 fps, no segments: no face 20–30 s, a small face after 50 s, a decode gap."""
    df = table(n=1800, tracks=1)
    t = df["timestamp"].to_numpy()
    df = df[(t < 20) | (t > 30)].copy()
    df.loc[df["timestamp"] > 50, "face_w"] = 30.0
    df.attrs["decoding"] = {"gaps": [[40.0, 42.0]], "decode_errors": 3, "gap_count": 1,
                            "gap_seconds": 2.0, "expected": 1800, "lost": 60}
    return sections(render_report(df, video=False))


def test_without_segments_the_heatmap_uses_time_bins(quality_report):
    heat = quality_report["summary-heatmap"]
    assert "No segments were given" in heat and "2 s bins" in heat
    assert "0 s–2 s · AU12" in heat


def test_quality_marks_missing_faces_small_faces_and_decode_gaps(quality_report):
    q = quality_report["quality"]
    m = re.search(r"\(([\d:. s]+) of 1:00, (\d+)%\)", q)
    assert m and 35 <= int(m[2]) <= 45, m  # 10 s no face + 2 s gap + 10 s small face
    assert "decode errors: 3" in q and "1 gap(s) in time" in q
    assert "lost: 60 of 1800 frames" in q
    assert "untrusted 20" in q  # hover text of the stretch with no face
    assert "small face" not in quality_report["keyframes"]  # video=False: no crops at all


def test_keyframes_are_crops_of_the_video_at_the_event_times():
    times = [vf.timestamp for vf in iter_frames(CLIP)]
    df = table(tracks=1, t=times, path=CLIP, smile=(1.0, 1.5), blink=(0.3, 0.5))
    df.loc[df["timestamp"] > 1.0, "face_w"] = 50.0  # from the smile on: a small face box
    html = render_report(df, model="ferplus")
    kf = sections(html)["keyframes"]
    imgs = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)"', kf)
    assert 2 <= len(imgs) <= 1 + 8 + 3
    for b64 in imgs:
        assert base64.b64decode(b64)[:2] == b"\xff\xd8"  # JPEG
        assert len(b64) < 20_000  # small
    assert "neutral baseline frame" in kf
    assert "AU45 +" in kf and "neutral eye openings" in kf  # the blink, in its unit
    assert "AU12 +" in kf and " IOD" in kf
    assert "doubtful: small face" in kf


def test_frames_at_seeks_to_the_frames_the_analysis_saw(tmp_path):
    import av

    path = tmp_path / "gop.mp4"
    with av.open(str(path), "w") as out:  # 6 s, a keyframe every 1 s
        st = out.add_stream("libx264", rate=30, options={"g": "30", "preset": "ultrafast"})
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(180):
            img = np.zeros((48, 64, 3), np.uint8)
            img[:, : i % 64] = 255 - i
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    ref = {vf.timestamp: vf.rgb for vf in iter_frames(path)}
    want = [list(ref)[i] for i in (170, 3, 95, 96, 40)] + [99.0]
    got = frames_at(path, want)
    assert set(got) == set(want[:-1])  # 99 s is not in the file
    for t in want[:-1]:
        assert np.array_equal(got[t], ref[t])
    assert frames_at(path, want, scan=True).keys() == got.keys()
    with pytest.raises(FauError):
        frames_at(tmp_path / "missing.mp4", [1.0])


def test_frames_at_follows_rotation_and_repaired_timestamps(tmp_path):
    import badcorpus

    rotated = badcorpus.rotated_clip(tmp_path, 90)
    ref = {vf.timestamp: vf.rgb for vf in iter_frames(rotated)}
    want = list(ref)[::4]
    got = frames_at(rotated, want)  # seek path: the display matrix applied as iter_frames does
    assert set(got) == set(want) and all(np.array_equal(got[t], ref[t]) for t in want)
    reset = badcorpus.ts_timestamp_reset(tmp_path)
    ref = {vf.timestamp: vf.rgb for vf in iter_frames(reset)}
    want = [t for t in ref if t > 2.0][:3]  # after the reset: only a scan finds these times
    got = frames_at(reset, want, scan=True)
    assert set(got) == set(want) and all(np.array_equal(got[t], ref[t]) for t in want)


@pytest.mark.slow
def test_an_hour_long_report_stays_small_and_readable():
    n = 3600 * 5  # one hour at fps=5, two faces side by side
    df = table(n=n, fps=5.0)
    df.attrs["fps"] = 5.0
    html = render_report(df, video=False)
    assert len(html) < 4_000_000
    tl = sections(html)["track-0"]
    # min–max bands per time bin: at most a few hundred points per line, never 18,000
    longest = max(len(d.split()) for d in re.findall(r'<path d="([^"]*)"', tl))
    assert longest < 3000
    heat = sections(html)["summary-heatmap"]
    assert "2:00 bins" in heat  # 30 rows


def test_report_without_expression_model_and_without_faces():
    df = table(expressions=False)
    html = render_report(df, video=False)
    assert "expression (probability)" not in html
    empty = df.iloc[0:0]
    html = render_report(empty, video=False)
    assert "No face was found" in html and 'id="quality"' in html


def test_header_gives_the_square_pixel_size_the_faces_were_measured_in(tmp_path):
    """An anamorphic video is analysed in square pixels (`fau.video.reader.square_pixels`): the
    header says that size, and the coded size with the reason where it differs."""
    from dataclasses import asdict
    from fractions import Fraction

    from fau.video.reader import VideoInfo, probe

    def meta(df):
        return re.search(r'<p class="meta">(.*?)</p>', render_report(df, video=False))[1]

    df = table(tracks=1, n=90)
    assert meta(df).startswith("480×360 px · ")  # square pixels: one size
    pal = VideoInfo(path="/x/pal.mpg", format="mpeg", codec="mpeg2video", width=720, height=576,
                    fps=25.0, duration=3.6, frames=None, sample_aspect_ratio=64 / 45)
    df.attrs["video"] = asdict(pal)
    assert meta(df).startswith("1024×576 px (coded 720×576, sample aspect ratio 64:45) · ")
    df.attrs["decoding"] = {"rotation": 90}  # upright, as the frames were analysed
    assert meta(df).startswith(
        "576×1024 px (coded 720×576, sample aspect ratio 64:45, rotated 90°) · ")
    df.attrs["video"]["sample_aspect_ratio"] = 1.005  # within SQUARE_SAR_TOL: not resized
    assert meta(df).startswith("576×720 px (coded 720×576, rotated 90°) · ")
    pytest.importorskip("cv2")
    from test_video_anamorphic import _clip  # 320×240 coded

    _clip(tmp_path / "a.mp4", Fraction(4, 3))
    df.attrs["video"], df.attrs["decoding"] = asdict(probe(tmp_path / "a.mp4")), {}
    assert meta(df).startswith("427×240 px (coded 320×240, sample aspect ratio 4:3) · ")


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
    with pytest.raises(FauError, match=r"the HTML text of render_report \(a str\), got bytes"):
        write_report(tmp_path / "b.html", b"<html></html>")  # was a TypeError
    assert not (tmp_path / "b.html").exists()


def test_charts_are_deterministic_and_leave_matplotlib_state_alone():
    import matplotlib

    import fau.plot

    df = table(tracks=1)
    before = dict(matplotlib.rcParams)

    def svg(chart_id):
        tips = {}
        with report_style():
            fig = fau.plot.timeline(df, segments=[(0, 5, "a $5 or $6_x")], tooltips=tips)
            return figure_svg(fig, chart_id=chart_id, title="t", tooltips=tips)

    a, b = svg("x"), svg("x")
    assert a == b
    assert dict(matplotlib.rcParams) == before
    assert "a $5 or $6_x" in a  # labels are not parsed as TeX
    assert "Date" not in a and "<?xml" not in a and "<metadata" not in a
    assert svg("other") != a  # ids salted per chart
    root = ET.fromstring(a)
    assert root.get("width") == "100%"


def test_report_and_plots_refuse_what_is_not_a_video_table():
    import fau.plot
    from fau import FauError
    from fau.report import render_report

    image_table = pd.DataFrame({"face": [0], "AU12": [0.1]})
    for call, name in ((lambda: render_report(image_table), "render_report"),
                       (lambda: fau.plot.timeline(image_table), "timeline"),
                       (lambda: fau.plot.quality_strip(image_table), "quality_strip"),
                       (lambda: fau.plot.au_heatmap(image_table), "au_heatmap")):
        with pytest.raises(FauError, match=f"^{name} needs a"):
            call()
    with pytest.raises(FauError, match="render_report takes a detect_video table"):
        render_report(None)


def test_a_short_track_is_seen_from_and_to_tenths_of_a_second():
    # a track seen 0.53-1.43 s (fau video --start 0.5 --end 1.5) read "seen 1 s – 1 s"
    df = table(n=28, tracks=1, t=0.527 + np.arange(28) / 30)
    html = sections(render_report(df, video=False))["track-0"]
    assert "seen 0.5 s – 1.4 s, 28 analysed frames" in html
    long = sections(render_report(table(n=600, tracks=1), video=False))["track-0"]
    assert "seen 0 s – 20 s, 600 analysed frames" in long
