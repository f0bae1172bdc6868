"""Voice activity (fau.audio), speaking from voice + lips (fau.video.speech), speech-aware events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fau import FauError
from fau.audio import CHUNK_S, VoiceActivity, audio_info, iter_audio, speech_runs, voice_activity
from fau.video.speech import LIP_SPEECH_IOD, add_speech, lip_motion
from fau.video.temporal import EVENT_COLUMNS, SPEECH_AUS, find_events

from clips import clip_audio, clip_frames, clip_path, side_by_side, write_clip


# --- audio -------------------------------------------------------------------------------
def test_cremad_clip_speech_is_found_where_the_sentence_is():
    va = voice_activity(clip_path("NEU"))
    assert va is not None and abs(va.duration - 2.06) < 0.05
    assert len(va.runs) == 1  # one sentence
    start, end = va.runs[0]
    assert 0.2 < start < 0.6 and 1.3 < end < 1.8  # "Don't forget a jacket", ~1.1 s
    assert va.prob_at([0.05])[0] < 0.2 and va.prob_at([1.0])[0] > 0.8
    assert va.speech_at([0.05, 1.0]).tolist() == [False, True]
    assert np.isnan(va.prob_at([-1.0, 50.0])).all()


def test_blocks_are_contiguous_16khz_and_a_file_without_audio_has_none(tmp_path):
    blocks = list(iter_audio(clip_path("HAP"), block_s=0.5))
    assert len(blocks) >= 4 and blocks[0][0] == pytest.approx(0.0, abs=0.03)
    for (t0, x), (t1, _) in zip(blocks[:-1], blocks[1:]):
        assert t1 == pytest.approx(t0 + len(x) / 16000, abs=1e-6)
    assert audio_info(clip_path("HAP")).codec == "mp3"
    mute = write_clip(tmp_path / "mute.mp4", clip_frames("HAP")[:10])
    assert audio_info(mute) is None and voice_activity(mute) is None
    with pytest.raises(FauError):
        voice_activity(tmp_path / "missing.mp4")


def test_speech_runs_follow_silero_post_processing():
    t = np.arange(100) * CHUNK_S
    p = np.zeros(100)
    p[10:40] = 0.9  # ~1 s of speech
    p[25:27] = 0.3  # a 64 ms dip (< 0.1 s): same run
    p[60:65] = 0.9  # 160 ms: too short
    p[80:95] = 0.9
    p[88] = 0.4  # between thresholds: holds the run
    runs = speech_runs(t, p)
    assert runs.shape == (2, 2)
    assert runs[0, 0] == pytest.approx(10 * CHUNK_S - 0.03)
    assert runs[0, 1] == pytest.approx(40 * CHUNK_S + 0.03)
    assert runs[1, 1] == pytest.approx(95 * CHUNK_S + 0.03)
    assert speech_runs(t, np.zeros(100)).shape == (0, 2)


# --- lips + voice ---------------------------------------------------------------------------
def _table(tracks: dict[int, np.ndarray], fps: float = 30.0) -> pd.DataFrame:
    rows = []
    for tid, au25 in tracks.items():
        for i, v in enumerate(au25):
            rows.append({"frame": i, "timestamp": i / fps, "track_id": tid, "AU25": v})
    return pd.DataFrame(rows).sort_values(["frame", "track_id"]).reset_index(drop=True)


def _talk(n: int, fps: float = 30.0, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Lip opening (IOD): 4-Hz syllables opening the lips by 0.2 IOD, ``start`` to ``stop``."""
    rng = np.random.default_rng(0)
    x = 0.01 + 0.003 * rng.standard_normal(n)
    stop = n if stop is None else stop
    k = np.arange(start, stop)
    x[k] += 0.1 * (1 - np.cos(2 * np.pi * 4.0 * k / fps))
    return x


def test_lip_motion_rises_with_talking_and_not_with_a_held_smile():
    n = 90
    t = np.arange(n) / 30
    talking = lip_motion(_talk(n), t)
    held = np.r_[np.full(30, 0.01), np.full(60, 0.2)]  # mouth opens once and stays open
    still = lip_motion(held, t)
    assert np.median(talking) > LIP_SPEECH_IOD > 2 * np.median(still)
    # the same motion sampled at 15 fps gives about the same value (windows in seconds)
    t15 = np.arange(45) / 15
    assert np.median(lip_motion(_talk(45, fps=15.0), t15)) == pytest.approx(np.median(talking), rel=0.35)


def test_without_audio_lips_alone_decide():
    df = _table({0: _talk(150, start=30, stop=120), 1: _talk(150, start=0, stop=0)})
    out = add_speech(df, None)
    assert list(out.columns[-4:]) == ["voice_prob", "lip_motion", "speech_prob", "speaking"]
    assert out["voice_prob"].isna().all()
    a = out[out.track_id == 0].set_index("frame")
    assert a.loc[45:105, "speaking"].mean() > 0.9 and a.loc[:10, "speaking"].mean() < 0.1
    assert not out[out.track_id == 1]["speaking"].any()


def test_voice_of_the_wrong_type_is_a_fau_error():
    df = _table({0: _talk(30)})
    for wrong in (5, "audio.wav", {"start": [0.0]}):  # were AttributeErrors deep inside
        with pytest.raises(FauError, match="voice must be a fau.audio.VoiceActivity"):
            add_speech(df, wrong)


def test_with_audio_the_face_whose_lips_move_is_the_speaker():
    n = 150
    t = np.arange(n) / 30
    start = np.arange(0, 5.0, CHUNK_S)
    prob = np.where((start >= 1.0) & (start < 4.0), 0.95, 0.02).astype(np.float32)
    va = VoiceActivity(start, prob, speech_runs(start, prob))
    df = _table({0: _talk(n, start=30, stop=120), 1: _talk(n, start=0, stop=0)})
    out = add_speech(df, va)
    talker = out[out.track_id == 0]
    listener = out[out.track_id == 1]
    in_voice = (talker["timestamp"] > 1.1) & (talker["timestamp"] < 3.9)
    assert talker.loc[in_voice, "speaking"].all()
    assert not talker.loc[talker["timestamp"] < 0.9, "speaking"].any()
    assert not listener["speaking"].any()
    assert (listener["speech_prob"] < 0.1).all()
    assert talker.loc[in_voice, "speech_prob"].min() > 0.9
    np.testing.assert_allclose(out["voice_prob"], va.prob_at(out["timestamp"]))
    assert len(add_speech(df.iloc[:0], va)) == 0


# --- events ---------------------------------------------------------------------------------
def _event_table() -> pd.DataFrame:
    """One track, 6 s: AU25 and AU12 episodes while speaking, an AU25 episode in silence."""
    n = 180
    t = np.arange(n) / 30
    speaking = (t >= 1.0) & (t < 3.0)
    df = pd.DataFrame({"frame": np.arange(n), "timestamp": t, "track_id": 0})
    for a in ("AU01", "AU12", "AU25"):
        df[f"{a}_rel"] = 0.001 * np.sin(np.arange(n))
    df.loc[(t > 1.2) & (t < 1.6), "AU25_rel"] = 0.1
    df.loc[(t > 4.0) & (t < 4.4), "AU25_rel"] = 0.1
    df.loc[(t > 2.0) & (t < 2.5), "AU12_rel"] = 0.1
    df["neutral_frame"] = ~speaking & (t < 0.9)
    df["speaking"] = speaking
    return df


def test_mouth_events_during_speech_are_left_out_by_default():
    df = _event_table()
    ev = find_events(df, expressions=False)
    assert list(ev.columns) == EVENT_COLUMNS
    assert sorted(zip(ev["name"], ev["during_speech"])) == [("AU12", True), ("AU25", False)]
    assert ev.loc[ev.name == "AU25", "onset"].iloc[0] > 3.5
    kept = find_events(df, expressions=False, speech_aus="keep")
    assert sorted(zip(kept["name"], kept["during_speech"])) == [
        ("AU12", True), ("AU25", False), ("AU25", True)]
    unknown = find_events(df.drop(columns=["speaking"]), expressions=False)
    assert len(unknown) == 3 and unknown["during_speech"].isna().all()
    assert "AU25" in SPEECH_AUS and "AU12" not in SPEECH_AUS
    with pytest.raises(FauError):
        find_events(df, speech_aus="drop")


# --- end to end on generated videos ---------------------------------------------------------
@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("speech")
    frames = clip_frames("ANG")
    return write_clip(d / "ang.mp4", frames, clip_audio("ANG")), write_clip(d / "ang_mute.mp4", frames)


def _speaking_table(det, path):
    df = det.detect_video(path)
    if "speaking" not in df.columns:  # the video path computes it once integrated
        df = add_speech(df, voice_activity(path))
    return df


@pytest.mark.slow
def test_speaking_agrees_with_the_audio_on_a_real_clip(au_detector, talking_clip):
    with_audio, mute = talking_clip
    va = voice_activity(with_audio)
    df = _speaking_table(au_detector, with_audio)
    ref = va.speech_at(df["timestamp"].to_numpy())
    assert 0.3 < ref.mean() < 0.8
    assert (df["speaking"].to_numpy() == ref).mean() >= 0.85
    dm = _speaking_table(au_detector, mute)
    assert dm["voice_prob"].isna().all()
    lips = (dm["speaking"].to_numpy() == va.speech_at(dm["timestamp"].to_numpy())).mean()
    assert lips >= 0.7  # lips alone: measured 0.90 on the 88-s loop (docs/benchmarks.md)


@pytest.mark.slow
def test_a_still_face_beside_a_talking_one_is_not_speaking(au_detector, tmp_path):
    talk = clip_frames("HAP")
    still = [clip_frames("NEU")[0]] * len(talk)  # a photo: no lip motion at all
    path = write_clip(tmp_path / "two.mp4", side_by_side(still, talk), clip_audio("HAP"))
    df = _speaking_table(au_detector, path)
    assert df["track_id"].nunique() == 2
    left = df.groupby("track_id")["face_x"].mean().idxmin()
    assert not df.loc[df.track_id == left, "speaking"].any()
    right = df[df.track_id != left]
    va = voice_activity(path)
    assert (right["speaking"].to_numpy() == va.speech_at(right["timestamp"].to_numpy())).mean() >= 0.85


def test_segment_summary_splits_au_activity_by_speech():
    from fau.video import summarize_segments

    df = _event_table()
    df["AU25_rel"] = np.where(df["speaking"], 0.05, 0.01)
    df["AU25"] = df["AU25_rel"]  # summaries cover the AUs the table has
    s = summarize_segments(df, [(0.0, 6.0, "all"), (4.0, 6.0, "quiet")],
                           find_events(df, expressions=False))
    whole, quiet = s.iloc[0], s.iloc[1]
    assert whole["speaking_share"] == pytest.approx(60 / 180)
    assert whole["AU25_mean_speech"] == pytest.approx(0.05)
    assert whole["AU25_mean_quiet"] == pytest.approx(0.01)
    assert quiet["speaking_share"] == 0 and np.isnan(quiet["AU25_mean_speech"])
    assert "AU25_mean_speech" not in summarize_segments(df.drop(columns=["speaking"]), [(0, 6)]).columns


def test_voice_activity_of_a_window_scores_only_that_window(tmp_path):
    audio = np.concatenate([clip_audio(e) for e in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")])
    frames = [np.zeros((48, 64, 3), np.uint8)] * int(len(audio) / 44100 * 30)
    path = write_clip(tmp_path / "long.mp4", frames, audio)  # ~13 s of speech, no face
    whole = voice_activity(path)
    assert whole.duration > 12 and len(whole.runs) == 6  # six sentences
    part = voice_activity(path, start=12.5)  # 10-s blocks: the first ends before 12.5 - 2
    assert part.start[0] == pytest.approx(10.0, abs=0.05) and len(part.prob) < len(whole.prob) / 3
    assert voice_activity(path, end=5.0).start[-1] < 10.0
    assert voice_activity(clip_path("ANG"), start=30.0) is None  # nothing left to score


@pytest.mark.parametrize("window, match", [
    ((5.0, 1.0), "must be after start"), ((-1.0, None), "start must be"),
    ((None, float("nan")), "end must be"), (("1", None), "start must be")])
def test_a_bad_voice_window_is_refused(window, match):
    """Before: start=5, end=1 returned None, which means "no audio track"; -1 was taken."""
    with pytest.raises(FauError, match=match):
        voice_activity(clip_path("ANG"), start=window[0], end=window[1])


def test_audio_is_opened_under_the_video_frame_limit(monkeypatch):
    """FFmpeg decodes a video frame while it opens a file; opened for its audio, a
    16000×16000 video must not get that frame allocated (detect_video peaked at 783 MB
    refusing it, 365 MB with the bound; the video reader has the same bound)."""
    import av

    from fau.limits import MAX_VIDEO_PIXELS

    seen = []
    real_open = av.open

    def spy(*args, **kwargs):
        seen.append(kwargs.get("options") or {})
        return real_open(*args, **kwargs)

    monkeypatch.setattr(av, "open", spy)
    assert audio_info(clip_path("HAP")) is not None
    assert sum(len(b) for _, b in iter_audio(clip_path("HAP"))) > 0
    assert len(seen) == 2 and all(o.get("max_pixels") == str(MAX_VIDEO_PIXELS) for o in seen)


def test_a_non_video_gets_the_readers_error_alone(au_detector, tmp_path, caplog):
    """Before: the audio thread's "audio not used for speaking (...)" warning came first,
    then the reader's error about the same file."""
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video at all\n" * 50)
    with caplog.at_level("WARNING", logger="fau"), pytest.raises(FauError, match="as a video"):
        au_detector.detect_video(bad)
    import threading

    for t in threading.enumerate():  # the voice task may still be running: let it end
        if t.name.startswith("fau-voice"):
            t.join(timeout=30)
    assert not [r for r in caplog.records if "audio" in r.getMessage()]
