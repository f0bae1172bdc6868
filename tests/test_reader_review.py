"""Review of video reading (fau.video.reader) and the frame loop (fau.video.detect).

Each test below failed before its fix; the clips are written at test time and tiny
(a few 64×48 frames), except the two that run the detector on six face frames.

- A Matroska/WebM file whose timestamps start late (a recording cut from a longer
  stream with its timestamps kept) was reported truncated, with frames "lost": the
  header's duration counts from time 0, fau's timestamps from the first frame.
- An MP4 cut without re-encoding (``ffmpeg -ss ... -c copy``) has an edit list that
  hides the frames before the cut; they were counted as expected and reported lost.
- A file whose metadata text is not UTF-8 (a Latin-1 title) raised UnicodeDecodeError.
- An audio file with cover art (MP3 with an APIC picture) was read as a one-frame video.
- A video stream of a codec FFmpeg does not know raised AttributeError.
- ``detect_every`` NaN was accepted and silently disabled the periodic face detector.
"""

from __future__ import annotations

import io
import logging
import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fau.errors import FauError
from fau.video.detect import detect_video
from fau.video.reader import DecodeStats, iter_frames, probe
from fau.video.tracking import Tracker

from helpers import clip, clip_frames, write_video

W, H = 64, 48  # px of the generated clips
MS = Fraction(1, 1000)  # time base of clips written with explicit timestamps


def _noise(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (H, W, 3), dtype=np.uint8) for _ in range(n)]


def _decode(path: Path, **kw) -> tuple[list[float], DecodeStats]:
    stats = DecodeStats()
    return [f.timestamp for f in iter_frames(path, stats=stats, **kw)], stats


# --- a stream whose first timestamp is not 0 -------------------------------------------------
def _late_start(folder: Path, suffix: str, offset_ms: int, n: int = 10) -> Path:
    codec = "libvpx" if suffix == ".webm" else "libx264"
    return write_video(folder / f"late{offset_ms}{suffix}", _noise(n), codec=codec,
                       pts=[offset_ms + 33 * i for i in range(n)], time_base=MS)


@pytest.mark.parametrize("suffix", [".mkv", ".webm"])
def test_matroska_starting_late_is_complete_not_truncated(tmp_path, suffix, caplog):
    path = _late_start(tmp_path, suffix, 3000)
    assert probe(path).duration == pytest.approx(0.33, abs=0.01)  # was 3.33 (from 0)
    with caplog.at_level(logging.WARNING, logger="fau.video.reader"):
        ts, stats = _decode(path)
    assert ts[0] == 0.0 and ts[-1] == pytest.approx(0.297, abs=1e-3)
    assert stats.expected == 10 and stats.lost == 0  # was 100 expected, 90 lost
    assert not stats.truncated and not stats.damaged
    assert not caplog.records
    # the duration limit holds on the video's own length, not on its start time
    assert len(list(iter_frames(path, max_duration_s=1.0))) == 10


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from([".mkv", ".webm", ".mp4", ".ts", ".flv"]),
       offset_ms=st.integers(0, 5000), n=st.integers(8, 12))
def test_a_complete_file_is_never_damaged_whatever_its_start(tmp_path, suffix, offset_ms, n):
    # (n >= 8: FFmpeg leaves the start time of an H.264 Matroska file of fewer frames
    # unset, as it has not guessed the decoder's delay; timestamps then count from 0)
    codec = {".webm": "libvpx", ".flv": "flv"}.get(suffix, "libx264")
    path = write_video(tmp_path / f"s{suffix}", _noise(n), codec=codec,
                       pts=[offset_ms + 33 * i for i in range(n)], time_base=MS)
    ts, stats = _decode(path)
    assert len(ts) == n and ts[0] == 0.0
    assert not stats.damaged, stats.as_dict()
    assert stats.expected is None or abs(stats.expected - n) <= 1


# --- an MP4 edit list (a file cut without re-encoding) ----------------------------------------
def _cut_copy(folder: Path, hidden: int, n: int = 20, **opts: str) -> Path:
    """An MP4 whose first ``hidden`` frames lie before 0: the muxer writes an edit list
    that hides them, as ``ffmpeg -ss T -i in.mp4 -c copy`` does for the frames between
    the key frame before T and T."""
    return write_video(folder / f"cut{hidden}.mp4", _noise(n), options=opts,
                       pts=[33 * (i - hidden) for i in range(n)], time_base=MS)


@pytest.mark.parametrize("hidden, opts", [(4, {}), (4, {"bf": "3", "g": "5"}),
                                          (12, {"bf": "3", "g": "5"}), (7, {"bf": "0"})])
def test_mp4_edit_list_frames_are_not_reported_lost(tmp_path, hidden, opts, caplog):
    path = _cut_copy(tmp_path, hidden, **opts)
    assert probe(path).frames == 20 - hidden  # the shown frames, not the sample count
    with caplog.at_level(logging.WARNING, logger="fau.video.reader"):
        ts, stats = _decode(path)
    assert len(ts) == 20 - hidden and ts[0] == 0.0
    assert stats.expected == 20 - hidden and stats.lost == 0
    assert not stats.damaged and not caplog.records


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hidden=st.integers(1, 10), keyint=st.integers(1, 12), bframes=st.integers(0, 3))
def test_edit_list_expected_frames_equal_decoded(tmp_path, hidden, keyint, bframes):
    path = _cut_copy(tmp_path, hidden, n=14, g=str(keyint), bf=str(bframes))
    ts, stats = _decode(path)
    assert stats.expected == len(ts) == 14 - hidden
    assert not stats.damaged


def test_a_truncated_mp4_is_still_reported_lost(tmp_path):
    """The edit-list count does not hide real loss: a cut faststart MP4."""
    path = write_video(tmp_path / "fs.mp4", _noise(40), container_options={
        "movflags": "+faststart"})
    cut = tmp_path / "fs_cut.mp4"
    cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
    ts, stats = _decode(cut)
    assert stats.expected == 40 and stats.lost == 40 - len(ts) > 0 and stats.damaged


# --- metadata that is not UTF-8 ---------------------------------------------------------------
PLACEHOLDER = b"Interview Mxller"
LATIN1 = b"Interview M\xfcller"  # ü in Latin-1: not valid UTF-8


def _latin1_titled(path: Path, frames: list[np.ndarray]) -> Path:
    write_video(path, frames, metadata={"title": PLACEHOLDER.decode()})
    data = path.read_bytes()
    assert data.count(PLACEHOLDER) == 1
    path.write_bytes(data.replace(PLACEHOLDER, LATIN1))
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_latin1_metadata_does_not_stop_reading(tmp_path, suffix):
    path = _latin1_titled(tmp_path / f"title{suffix}", _noise(3))
    assert probe(path).frames in (3, None)
    ts, stats = _decode(path)
    assert len(ts) == 3 and not stats.damaged


def test_detect_video_reads_a_file_with_latin1_metadata(tmp_path, au_detector, caplog):
    path = _latin1_titled(tmp_path / "face.mp4", clip_frames("HAP")[:6])
    with caplog.at_level(logging.WARNING, logger="fau.video.detect"):
        df = au_detector.detect_video(path, temporal=False)
    assert df["frame"].tolist() == list(range(6))


def test_audio_reader_reads_past_latin1_metadata(tmp_path):
    # the audio track's reader opens the file too (speaking from voice): it must not stop
    # at the title either (was: UnicodeDecodeError from av.open)
    from fau.audio.decode import audio_info

    path = _latin1_titled(tmp_path / "title.mp4", _noise(3))
    assert audio_info(path) is None  # no audio track: said, not raised


# --- streams that are not a video -------------------------------------------------------------
def _mp3_with_cover(path: Path) -> Path:
    """One second of silent MP3 with a JPEG cover (ID3v2 APIC: an ``attached_pic``)."""
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(buf, "JPEG")
    with av.open(str(path), "w") as out:
        aus = out.add_stream("libmp3lame", rate=16000)
        aus.layout = "mono"
        cover = out.add_stream("mjpeg")
        cover.width = cover.height = 64
        cover.pix_fmt = "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        pkt = av.Packet(buf.getvalue())
        pkt.stream, pkt.pts, pkt.dts = cover, 0, 0
        out.mux(pkt)
        for i in range(0, 16000, 1152):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.float32), format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts = 16000, i
            for p in aus.encode(af):
                out.mux(p)
        for p in aus.encode(None):
            out.mux(p)
    return path


def test_audio_with_cover_art_is_not_a_video(tmp_path):
    path = _mp3_with_cover(tmp_path / "interview.mp3")
    with av.open(str(path)) as c:  # FFmpeg shows the cover as a video stream
        assert [s.type for s in c.streams] == ["audio", "video"]
    with pytest.raises(FauError, match="no video stream"):
        probe(path)
    with pytest.raises(FauError, match="no video stream"):
        list(iter_frames(path))


def test_unknown_video_codec_is_a_fau_error(tmp_path):
    path = write_video(tmp_path / "codec.mp4", _noise(3))
    data = path.read_bytes()
    path.write_bytes(data.replace(b"avc1", b"ZZZZ"))  # a codec tag FFmpeg does not know
    with pytest.raises(FauError, match="codec"):
        probe(path)
    with pytest.raises(FauError, match="codec"):
        list(iter_frames(path))


# --- bad detect_every -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "1", None, True, 0, -1.0])
def test_bad_detect_every_is_a_fau_error(bad):
    with pytest.raises(FauError, match="detect_every"):
        detect_video(None, clip("HAP"), detect_every=bad)  # checked before anything runs
    with pytest.raises(FauError, match="detect_every"):
        Tracker(object(), detect_every=bad)


@pytest.mark.parametrize("options, message", [
    ({"max_faces": 0}, "max_faces must be a whole number of at least 1, got 0"),
    ({"max_faces": 2.5}, "max_faces must be a whole number"),
    ({"min_face_score": 2}, r"min_face_score must be a number in \[0, 1\], got 2"),
    ({"min_face_score": "0.5"}, "min_face_score must be a number"),
])
def test_bad_tracker_options_are_fau_errors(options, message):
    # max_faces=0 tracked no face without a word; a string failed at the first frame
    with pytest.raises(FauError, match=message):
        Tracker(object(), **options)
    assert Tracker(object(), max_faces=np.int64(2), min_face_score=np.float32(0.5)).max_faces == 2


def test_good_detect_every_is_kept():
    assert Tracker(object(), detect_every=np.float32(0.5)).detect_every == 0.5
    assert Tracker(object(), detect_every=2).detect_every == 2.0


# --- sampling (checked: correct before this review; kept as a property) ----------------------
# --- frames a damaged file delivers late ------------------------------------------------------
def _one_frame_early(path: Path, n: int = 30, early: int = 12, ahead: int = 8) -> Path:
    """Intra-only (MJPEG) frames at 30 frames/s whose sample ``early`` has the PTS of
    the frame ``ahead`` frames later, so that after it the decoder delivers frames whose
    PTS lie before it: what a damaged packet does to an H.264 decode."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("mjpeg", rate=30)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuvj420p"
        packets = []
        for i, img in enumerate(_noise(n)):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuvj420p")
            vf.pts = i
            packets += list(vs.encode(vf))
        packets += list(vs.encode())
        tick = 1 / (30 * packets[0].time_base)  # time-base units per frame
        for i, pkt in enumerate(packets):
            pkt.dts = round(i * tick)
            pkt.pts = round((i + ahead if i == early else i) * tick)
            out.mux(pkt)
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_late_frames_do_not_shift_the_rest_of_the_video(tmp_path, suffix):
    path = _one_frame_early(tmp_path / f"early{suffix}")
    ts, stats = _decode(path)
    frames = [t * 30 for t in ts]
    # every timestamp is a frame's own: before the fix the frames after the early one
    # were taken for a timestamp reset and all moved 8 frames later (up to 37/30 s)
    assert max(frames) == pytest.approx(29, abs=0.05)  # (MKV: 1-ms timestamps)
    assert stats.timestamp_resets == 0 and stats.late_frames == 7  # frames 13-19
    assert (np.diff(ts) >= 0).all()
    assert sorted({round(f) for f in frames}) == [*range(12), *range(20, 30)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-12, 3), min_size=2, max_size=60))
def test_timeline_without_discontinuities_keeps_every_frames_own_time(jitter):
    """In MP4/MKV (no ``AVFMT_TS_DISCONT``) a frame up to 15 frames back is late."""
    from fau.video.reader import _Timeline

    step = 1 / 30
    raw = [(i + j) * step for i, j in enumerate(jitter)]
    stats = DecodeStats()
    tl = _Timeline(step, stats, discontinuous=False)
    out = [t for r in raw for _, t in tl.push(None, r)]
    tl.finish()
    assert stats.timestamp_resets == 0
    assert len(out) + stats.late_frames == len(raw)
    assert set(out) <= set(raw) and all(b >= a for a, b in zip(out, out[1:]))
