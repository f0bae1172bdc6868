"""Video analysis on real CREMA-D clips and generated files (fau.video)."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

import fau
from fau import FauError
from fau.video import iter_frames, probe

from helpers import clip, model_available, write_video


def decode(path: Path) -> list[np.ndarray]:
    return [f.rgb for f in iter_frames(path)]


@pytest.fixture(scope="module")
def det():
    with fau.Detector(expression_model=None) as d:
        yield d


@pytest.fixture(scope="module")
def results(det):
    return {e: det.detect_video(clip(e)) for e in ("HAP", "NEU", "ANG")}


# --- real faces -------------------------------------------------------------------------
def test_columns_and_one_track(results, det):
    df = results["HAP"]
    assert list(df.columns[:3]) == ["frame", "timestamp", "track_id"]
    image_cols = list(det.detect_image(decode(clip("HAP"))[0]).columns)
    assert df.columns[3 : 3 + len(image_cols)].tolist() == image_cols
    assert df.attrs["decoded_frames"] == 56 and df.attrs["analysed_frames"] == 56
    assert len(df) == 56 and df["track_id"].nunique() == 1
    assert df["frame"].tolist() == list(range(56))
    assert (np.diff(df["timestamp"]) > 0).all()
    assert df["timestamp"].iloc[0] == pytest.approx(0.027)  # FLV's first PTS (27 ms)
    for col in ("AU12_smooth", "AU12_rel", "happiness_smooth", "expression_smooth",
                "neutral_frame"):
        assert col in df.columns


def test_au12_higher_through_happy_than_neutral(results):
    hap, neu = results["HAP"]["AU12"].mean(), results["NEU"]["AU12"].mean()
    assert hap > neu + 0.05, (hap, neu)


def test_au04_higher_through_angry_than_neutral(results):
    ang, neu = results["ANG"]["AU04"].mean(), results["NEU"]["AU04"].mean()
    assert ang > neu, (ang, neu)


def test_happy_smile_is_an_event(results):
    # A 2-s acted clip has little rest to learn a baseline from: give the stretch
    # before the smile (0.40-0.60 s) as the neutral window.
    raw = results["HAP"][[c for c in results["HAP"].columns if not c.endswith(
        ("_smooth", "_rel")) and c not in ("neutral_frame",)]]
    df = fau.video.add_temporal(raw, baseline=(0.40, 0.60))
    ev = fau.video.find_events(df)
    smiles = ev[(ev["name"] == "AU12") & (ev["kind"] == "au")]
    assert len(smiles) >= 1
    big = smiles.loc[smiles["peak"].idxmax()]
    assert big["onset"] <= big["apex"] <= big["offset"]
    assert big["peak"] > 0.1  # IOD above the person's baseline
    assert set(fau.video.temporal.EVENT_COLUMNS) == set(ev.columns)


def test_detector_method_equals_function(det, results):
    df = fau.video.detect_video(det, clip("HAP"))
    pd.testing.assert_frame_equal(df, results["HAP"])


def test_unthreaded_same_rows(det, results):
    df = det.detect_video(clip("HAP"), threaded=False)
    pd.testing.assert_frame_equal(df, results["HAP"])


@pytest.mark.skipif(not model_available(), reason="expression model file "
                    "fau/models/expression_ferplus.npz not present yet (trained separately)")
@pytest.mark.slow
def test_expression_scores_when_model_present():
    with fau.Detector() as d:
        df = d.detect_video(clip("HAP"), fps=10)
    probs = df[list(fau.EXPRESSIONS)].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert df["happiness"].mean() > df["anger"].mean()
    sm = df[[f"{e}_smooth" for e in fau.EXPRESSIONS]].to_numpy()
    assert np.allclose(sm.sum(axis=1), 1.0, atol=1e-4)


def test_float32_columns_match_the_float64_path(det, results, monkeypatch):
    """Float columns are float32 (``timestamp`` float64); each face column is the
    float64 path's value rounded to float32, the smoothed, baseline-relative and speech
    columns agree to float32 precision, and the events are the same."""
    import fau.video.detect as video_detect

    df32 = results["HAP"]
    monkeypatch.setattr(video_detect, "VIDEO_FLOAT_DTYPE", np.float64)
    df64 = det.detect_video(clip("HAP"))
    assert list(df64.columns) == list(df32.columns)
    assert df32["timestamp"].dtype == np.float64 and df64["timestamp"].dtype == np.float64
    floats = [c for c in df64.columns if df64[c].dtype == np.float64 and c != "timestamp"]
    assert len(floats) == len(df32.columns) - 9  # all but 3 int, 2 bool, 3 text, timestamp
    wrong = [c for c in floats if df32[c].dtype != np.float32]
    assert not wrong, wrong
    other = [c for c in df64.columns if c not in floats]
    pd.testing.assert_frame_equal(df32[other], df64[other])
    face = [c for c in floats if c in fau.pipeline.FACE_COLUMNS]
    np.testing.assert_array_equal(df32[face].to_numpy(), df64[face].to_numpy(np.float32))
    later = [c for c in floats if c not in face]
    assert {"AU12_smooth", "AU12_rel", "lip_motion", "speech_prob"} <= set(later)
    np.testing.assert_allclose(df32[later].to_numpy(np.float64), df64[later].to_numpy(),
                               rtol=1e-6, atol=1e-7)
    ev32, ev64 = fau.video.find_events(df32), fau.video.find_events(df64)
    assert len(ev64) > 0
    pd.testing.assert_frame_equal(ev32.drop(columns="peak"), ev64.drop(columns="peak"))
    np.testing.assert_allclose(ev32["peak"], ev64["peak"], rtol=1e-6, atol=1e-7)


def test_expression_columns_nan_without_model(results):
    df = results["HAP"]
    assert df["happiness"].isna().all() and df["expression"].isna().all()


# --- sampling ---------------------------------------------------------------------------
def test_fps_sampling_picks_first_frame_at_or_after_each_tick(det, results):
    full = results["HAP"]
    df = det.detect_video(clip("HAP"), fps=5)
    t_all = full["timestamp"].to_numpy()
    expected = []
    for k in range(int(t_all.max() * 5) + 2):
        after = t_all[t_all >= k / 5 - 1e-6]
        if len(after) and (not expected or after[0] > expected[-1]):
            expected.append(after[0])
    assert df["timestamp"].tolist() == pytest.approx(expected)
    assert len(df) == 10 and df.attrs["decoded_frames"] == 56


def test_start_end(det):
    df = det.detect_video(clip("HAP"), start=0.5, end=1.0)
    assert df["timestamp"].min() >= 0.5 and df["timestamp"].max() <= 1.0
    assert df["frame"].min() == 15  # decode-order index is kept, not restarted
    assert len(df) == 15


@pytest.mark.parametrize("kw", [{"fps": 0}, {"fps": -1}, {"start": -1}, {"start": 2, "end": 1},
                                {"fps": "x"}, {"end": float("nan")}])
def test_bad_sampling_arguments(det, kw):
    with pytest.raises(FauError):
        det.detect_video(clip("HAP"), **kw)


# --- generated files --------------------------------------------------------------------
def test_vfr_timestamps_follow_container(tmp_path):
    pts_ms = [0, 33, 50, 120, 400, 410, 700, 1000, 1001, 1500]
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in pts_ms]
    p = write_video(tmp_path / "vfr.mp4", frames, pts=pts_ms, time_base=Fraction(1, 1000))
    got = [f.timestamp for f in iter_frames(p)]
    assert got == pytest.approx([t / 1000 for t in pts_ms], abs=1e-3)
    # fps sampling follows the same presentation time: ticks every 0.25 s
    got5 = [f.timestamp for f in iter_frames(p, fps=4)]
    assert got5 == pytest.approx([0.0, 0.4, 0.7, 1.0, 1.5], abs=1e-3)


@pytest.mark.parametrize("suffix,codec,opts", [
    (".mp4", "libx264", {}),
    (".mov", "libx264", {}),
    (".mkv", "libx264", {}),
    (".avi", "mpeg4", {}),
    (".flv", "flv", {}),
    (".webm", "libvpx", {}),
])
def test_containers(tmp_path, suffix, codec, opts):
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(12)]
    p = write_video(tmp_path / f"clip{suffix}", frames, codec=codec, options=opts)
    got = list(iter_frames(p))
    assert len(got) == 12
    assert [f.index for f in got] == list(range(12))
    assert got[-1].timestamp == pytest.approx(11 / 30, abs=0.002)
    assert got[5].rgb.shape == (48, 64, 3)
    assert abs(int(got[5].rgb.mean()) - 50) <= 6


def test_mediarecorder_style_webm_without_duration(tmp_path):
    frames = [np.full((48, 64, 3), 20, np.uint8) for _ in range(15)]
    p = write_video(tmp_path / "rec.webm", frames, codec="libvpx",
                    container_options={"live": "1"})  # no duration, no cues
    info = probe(p)
    assert info.duration is None
    got = list(iter_frames(p))
    assert len(got) == 15 and got[-1].timestamp == pytest.approx(14 / 30, abs=0.002)


def test_truncated_file_returns_decoded_part_and_warns(det, tmp_path, caplog):
    data = clip("HAP").read_bytes()
    p = tmp_path / "half.flv"
    p.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="fau.video.reader"):
        df = det.detect_video(p)
    assert df.attrs["truncated"] is True
    assert 10 < df.attrs["decoded_frames"] < 56
    assert len(df) == df.attrs["decoded_frames"]
    assert any("truncated" in r.getMessage() for r in caplog.records)


def test_truncated_mp4_without_index_is_an_error(tmp_path):
    frames = [np.zeros((48, 64, 3), np.uint8)] * 10
    p = write_video(tmp_path / "a.mp4", frames)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])  # moov atom is at the end
    with pytest.raises(FauError, match="cannot read"):
        list(iter_frames(cut))


def test_faststart_mp4_truncated_keeps_head(tmp_path):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(60)]
    p = write_video(tmp_path / "fs.mp4", frames, container_options={"movflags": "+faststart"})
    cut = tmp_path / "fs_cut.mp4"
    cut.write_bytes(p.read_bytes()[: int(p.stat().st_size * 0.6)])
    stats = fau.video.reader.DecodeStats()
    got = list(iter_frames(cut, stats=stats))
    assert 0 < len(got) < 60
    assert stats.truncated


def test_no_video_stream(tmp_path):
    p = tmp_path / "audio.m4a"
    with av.open(str(p), "w") as out:
        st = out.add_stream("aac", rate=16000)
        for i in range(10):
            fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                            layout="mono")
            fr.sample_rate, fr.pts = 16000, i * 1024
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    with pytest.raises(FauError, match="no video stream"):
        probe(p)
    with pytest.raises(FauError, match="no video stream"):
        fau.Detector(expression_model=None).detect_video(p)


@pytest.mark.parametrize("content", [None, b"", b"not a video at all " * 20])
def test_missing_empty_and_garbage_files(tmp_path, det, content):
    p = tmp_path / "x.mp4"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(FauError):
        det.detect_video(p)


def test_clip_without_face_gives_empty_table(det, tmp_path):
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(20)]
    p = write_video(tmp_path / "noise.mp4", frames)
    df = det.detect_video(p)
    assert df.empty and df.attrs["analysed_frames"] == 20
    assert list(df.columns[:3]) == ["frame", "timestamp", "track_id"]
    with_face = det.detect_video(clip("HAP"), fps=2)
    assert list(df.columns) == list(with_face.columns)
    assert fau.video.find_events(df).empty


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """HAP clip on the left, ANG clip on the right (960×360), 56 frames."""
    left, right = decode(clip("HAP")), decode(clip("ANG"))
    n = min(len(left), len(right))
    frames = [np.concatenate([left[i], right[i]], axis=1) for i in range(n)]
    return write_video(tmp_path_factory.mktemp("two") / "two.mp4", frames), n


@pytest.mark.slow
def test_two_faces_two_stable_tracks(det, two_faces):
    path, n = two_faces
    df = det.detect_video(path)
    assert sorted(df["track_id"].unique()) == [0, 1]
    assert (df.groupby("frame").size() == 2).all()
    assert df["frame"].nunique() == n
    centre = df.assign(cx=df["face_x"] + df["face_w"] / 2).groupby("track_id")["cx"]
    sides = {tid: (c < 480).mean() for tid, c in centre}
    # each id stays on one side of the picture for the whole clip
    assert sorted(sides.values()) == [0.0, 1.0]
    left_id = next(t for t, v in sides.items() if v == 1.0)
    l, r = df[df["track_id"] == left_id], df[df["track_id"] != left_id]
    assert l["AU12"].mean() > r["AU12"].mean()  # the smiling (HAP) face is on the left


def test_face_leaving_and_returning_keeps_its_id(det, tmp_path):
    """Issue 11: a returning face is re-identified by its signature (fau.video.identity)."""
    hap = decode(clip("HAP"))
    blank = np.zeros_like(hap[0])
    frames = hap[:20] + [blank] * 30 + hap[20:40]  # away for 1 s (> REACQUIRE_S)
    p = write_video(tmp_path / "gap.mp4", frames)
    df = det.detect_video(p)
    assert df["track_id"].unique().tolist() == [0]  # two tracker tracks, one person
    assert df["frame"].max() >= 50 and not df["frame"].between(20, 49).any()


def test_live_file_played_as_camera(det):
    from fau.video.live import LiveStats, run_live

    stats = LiveStats()
    t = []
    for frame, faces in run_live(det, str(clip("HAP")), realtime=True, stats=stats):
        t.append(frame.timestamp)
        assert len(faces) == 1 and faces[0]["latency_ms"] > 0
    assert stats.analysed == len(t) >= 10
    assert stats.offered == 56 and stats.analysed + stats.dropped <= stats.offered
    assert (np.diff(t) > 0).all()
    # paced at the native rate: 56 frames over ~1.83 s of presentation time
    assert stats.seconds >= 1.7
    assert len(stats.latency_ms) == stats.analysed


def test_live_fast_latency_is_not_the_read_ahead(det):
    """Before: with realtime=False (``fau live --fast``) the next frame, decoded while the
    previous one was analysed, counted its wait in the slot, and the latency read about
    twice the analysis time (median 20.9 ms for 10.7 ms of analysis)."""
    from fau.video.live import LiveStats, run_live

    stats = LiveStats()
    for _ in run_live(det, str(clip("HAP")), realtime=False, stats=stats):
        pass
    assert stats.analysed == stats.offered == 56 and stats.dropped == 0
    wait = np.array(stats.latency_ms) - np.array(stats.compute_ms)
    assert (wait >= 0).all()
    # what is left is the wait for decoding (~1 ms a frame here), not a frame's analysis
    assert np.median(wait) < 0.5 * np.median(stats.compute_ms)


def test_live_track_survives_a_change_of_resolution(det):
    """Before: a stream that changed resolution (480x360 -> 960x720 after 28 frames) lost
    its face and gave it a new id (0 -> 1), with a new baseline: the tracking crop came
    from the landmarks in the old pixels."""
    import cv2

    from fau.video.live import LiveAnalyzer

    frames = decode(clip("HAP"))
    live = LiveAnalyzer(det)
    ids, widths = [], []
    for i, rgb in enumerate(frames[:40]):
        if i >= 28:
            rgb = cv2.resize(rgb, (rgb.shape[1] * 2, rgb.shape[0] * 2))
        faces = live.process(rgb, i / 30)
        ids += [f["track_id"] for f in faces]
        widths += [f["face_w"] for f in faces]
    assert ids == [0] * 40
    assert widths[30] == pytest.approx(2 * widths[20], rel=0.1)  # the box is in the new pixels


def test_live_faces_carry_the_gaze_of_detect_image(det):
    """Before: live records had no gaze_yaw/gaze_pitch (docs/video.md: in every face row)."""
    from fau.video.live import LiveAnalyzer

    first = next(iter_frames(clip("HAP"))).rgb
    rec = LiveAnalyzer(det).process(first, 0.0)[0]
    img = det.detect_image(first).iloc[0]
    for c in ("gaze_yaw", "gaze_pitch", "yaw"):
        assert rec[c] == pytest.approx(float(img[c]), abs=1e-3)


def test_first_frame_matches_detect_image(det, results):
    """detect_video's rows come from the same feature code as detect_image."""
    first = next(iter_frames(clip("HAP"))).rgb
    img = det.detect_image(first)
    row = results["HAP"].iloc[0]
    cols = list(fau.AU_NAMES) + ["pitch", "yaw", "roll", "face_x", "face_w", "bs_mouthSmileLeft"]
    np.testing.assert_allclose(row[cols].to_numpy(float), img.iloc[0][cols].to_numpy(float),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not model_available(), reason="expression model file "
                    "fau/models/expression_ferplus.npz not present yet (trained separately)")
@pytest.mark.parametrize("threaded", [True, False])
def test_first_frame_scores_match_detect_image(threaded):
    """With the expression model (appearance CNN on its own thread or inline), the
    video path scores frame 0 exactly like detect_image does."""
    first = next(iter_frames(clip("HAP"))).rgb
    with fau.Detector() as d:
        img = d.detect_image(first)
        df = d.detect_video(clip("HAP"), end=0.3, threaded=threaded)
    cols = list(fau.EXPRESSIONS) + ["AU12", "AU04"]
    np.testing.assert_allclose(df.iloc[0][cols].to_numpy(float), img.iloc[0][cols].to_numpy(float),
                               rtol=1e-5, atol=1e-6)
    assert df.iloc[0]["expression"] == img.iloc[0]["expression"]


@pytest.mark.slow
def test_face_entering_is_picked_up_within_detect_every(det, tmp_path):
    left, right = decode(clip("HAP")), decode(clip("NEU"))
    blank = np.zeros_like(right[0])
    frames = [np.concatenate([left[i], right[i] if i >= 20 else blank], axis=1) for i in range(56)]
    df = det.detect_video(write_video(tmp_path / "enter.mp4", frames))
    assert sorted(df["track_id"].unique()) == [0, 1]
    first_seen = df.groupby("track_id")["frame"].min()
    assert first_seen[0] == 0
    # the detector runs at least once per second of video (30 frames) while faces are tracked
    assert 20 <= first_seen[1] <= 20 + 31
    assert (df[df["frame"] >= first_seen[1]].groupby("frame").size() == 2).all()


@pytest.mark.parametrize("fps", [1e9, 1e6])
def test_fps_above_the_video_rate_analyses_every_frame_once(det, results, fps):
    # the row reservation counted fps × duration rows: fps=1e9 asked numpy for 917 GiB
    # (a MemoryError traceback instead of the video's rows)
    df = det.detect_video(clip("HAP"), fps=fps)
    assert df["frame"].tolist() == results["HAP"]["frame"].tolist()
    assert df.attrs["analysed_frames"] == 56


def test_expected_frames_counts_at_most_the_video_rate():
    from fau.video.detect import _expected_frames
    from fau.video.reader import VideoInfo

    hour = [VideoInfo("x.mp4", "mp4", "h264", 640, 480, 30.0, 3600.0, None)]
    assert _expected_frames(hour, None, None, None) == 108001
    assert _expected_frames(hour, 5.0, None, None) == 18001
    assert _expected_frames(hour, 1e9, None, None) == 108001
    assert _expected_frames(hour, 1e9, 60.0, 120.0) == 1801
    no_rate = [VideoInfo("x.webm", "webm", "vp8", 640, 480, None, 3600.0, None)]
    assert _expected_frames(no_rate, 1e9, None, None) == 0


def test_faces_beyond_max_faces_are_dropped_with_a_warning(two_faces, caplog):
    # `--max-faces` promises "faces beyond it are dropped with a warning": videos dropped
    # the second person silently
    path, n = two_faces
    with fau.Detector(expression_model=None, max_faces=1) as one:
        with caplog.at_level(logging.WARNING, logger="fau.video.tracking"):
            df = one.detect_video(path, fps=10)
    assert df["track_id"].nunique() == 1 and (df.groupby("frame").size() == 1).all()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["more than max_faces=1 faces in view at 0.00 s; the others are not "
                        "analysed (raise max_faces, --max-faces, to analyse more)"]


def test_one_face_and_max_faces_one_gives_no_warning(caplog):
    with fau.Detector(expression_model=None, max_faces=1) as one:
        with caplog.at_level(logging.WARNING, logger="fau.video.tracking"):
            df = one.detect_video(clip("HAP"))
    assert len(df) == 56 and not caplog.records


@pytest.mark.parametrize("kw, says", [
    ({"end": 0.01}, "the first frame after it is at 0.027 s"),
    ({"start": 0.5, "end": 0.51}, "the first frame after it is at 0.527 s"),
    ({"start": 1.87}, "the video's last frame is at 1.862 s"),
])
def test_empty_window_warning_names_the_right_frame(det, caplog, kw, says):
    # decoding stops at the first frame past `end`: the warning called it "the video's
    # last frame" ("... last frame is at 0.03 s" for a 1.9-s clip)
    with caplog.at_level(logging.WARNING, logger="fau.video.detect"):
        df = det.detect_video(clip("HAP"), **kw)
    assert len(df) == 0
    assert says in caplog.text, caplog.text
