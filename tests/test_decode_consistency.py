"""One decoder setting for every front end: a damaged file gives the same frames to
``fau video`` (`fau.run_video_job`, threaded) and ``fau batch`` (its worker, unthreaded).

Before: ``fau video`` decoded with FFmpeg's frame threads and lost the frames in flight at
the damaged packet (40 of the cut file's 56 frames), ``fau batch`` with one thread (42).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import av
import pandas as pd
import pytest

import badcorpus as bc
from fau.batch.inputs import collect_inputs
from fau.batch.worker import FRAMES_FILE, SUMMARY_FILE, Job, run_job
from fau.cli import main as fau_main
from fau.errors import FauError
from fau.video.reader import DECODER_THREADS, DecodeStats, iter_frames

#: Stats that depend on the decoder's settings (not on wall time).
STATS = ("decoded", "expected", "lost", "complete", "decode_errors", "corrupt_frames",
         "gaps", "gap_count", "gap_seconds", "timestamp_resets", "late_frames", "truncated",
         "damaged", "last_timestamp")


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict[str, Path]:
    """The cut (truncated) and the corrupt-middle face MP4 of the bad-input corpus."""
    d = tmp_path_factory.mktemp("damaged")
    return {"cut": bc.cut_faststart_mp4(d, keep=0.9), "corrupt": bc.corrupt_middle_mp4(d)}


def _frame_threaded_count(path: Path) -> int:
    """Frames PyAV gives with FFmpeg's automatic (frame + slice) threads: the old setting."""
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for packet in c.demux(s):
            try:
                n += len(s.decode(packet))
            except av.FFmpegError:
                pass
    return n


def _decode(path: Path, **kw) -> tuple[list[tuple[int, float]], dict]:
    stats = DecodeStats()
    frames = [(f.index, f.timestamp) for f in iter_frames(path, stats=stats, **kw)]
    return frames, stats.as_dict()


@pytest.mark.parametrize("kind", ["cut", "corrupt"])
def test_reader_gives_the_same_frames_whatever_the_thread_count(damaged, kind, caplog):
    with caplog.at_level(logging.ERROR, logger="fau.video.reader"):
        default, s_default = _decode(damaged[kind])
        one, s_one = _decode(damaged[kind], decoder_threads=1)
        two, s_two = _decode(damaged[kind], decoder_threads=2)
    assert DECODER_THREADS == 1
    assert default == one == two
    assert s_default == s_one == s_two and s_default["damaged"]
    # never fewer frames than frame threading gave (it loses the frames in flight);
    # the reader drops late frames, which the raw count includes
    delivered = s_default["decoded"] + s_default["late_frames"]
    assert delivered >= _frame_threaded_count(damaged[kind])


def test_cut_file_keeps_the_frames_frame_threading_lost(damaged):
    frames, stats = _decode(damaged["cut"])
    assert stats["late_frames"] == 0
    assert len(frames) > _frame_threaded_count(damaged["cut"])  # 42 against 40 (FFmpeg 8.1)
    assert stats["truncated"] and stats["decode_errors"] >= 1
    assert stats["lost"] == 56 - len(frames)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_decoder_threads_is_a_fau_error(damaged, bad):
    with pytest.raises(FauError, match="decoder_threads"):
        next(iter_frames(damaged["cut"], decoder_threads=bad))


@pytest.mark.parametrize("kind", ["cut", "corrupt"])
def test_fau_video_and_fau_batch_give_the_same_rows(damaged, kind, tmp_path, au_detector):
    path = damaged[kind]
    # fau video (threaded decoding, the default) through the CLI entry point
    out = tmp_path / "video.parquet"
    assert fau_main(["video", str(path), "--out", str(out), "--model", "none",
                     "--no-progress"]) == 0
    video = pd.read_parquet(out)
    # the same front end's library call, for its decode statistics
    from fau.job import run_video_job

    result = run_video_job(au_detector, path, None)
    # fau batch's worker (unthreaded decoding, one core)
    (vid,) = collect_inputs([path])
    job = Job(video=vid, out_dir=tmp_path / "batch", detector_options={"expression_model": None})
    rec = run_job(job)
    assert rec["status"] == "ok", rec["error"]
    batch = pd.read_parquet(job.folder / FRAMES_FILE)
    summary = json.loads((job.folder / SUMMARY_FILE).read_text())

    assert len(video) == len(batch) == len(result.frames) == rec["frames"] > 0
    pd.testing.assert_frame_equal(video[["frame", "timestamp"]].reset_index(drop=True),
                                  batch[["frame", "timestamp"]].reset_index(drop=True))
    a = result.frames.attrs
    assert summary["decoded_frames"] == a["decoded_frames"]
    assert summary["truncated"] == a["truncated"] == rec["truncated"]
    assert {k: summary["decoding"][k] for k in STATS} == {k: a["decoding"][k] for k in STATS}
    assert rec["lost_frames"] == a["decoding"]["lost"]
    assert rec["decode_errors"] == a["decoding"]["decode_errors"]
    assert a["decoding"]["damaged"]
    if kind == "cut":
        assert a["truncated"] and a["decoded_frames"] > _frame_threaded_count(path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
