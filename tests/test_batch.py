"""fau.batch: inputs, output names, markers, local joblib runs, crash isolation, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fau
from fau.batch.inputs import MAX_STEM, HASH_DIGITS, collect_inputs, output_name
from fau.batch.runner import INDEX_COLUMNS, OWNER_FILE
from fau.batch.store import DONE_MARKER, read_complete_marker
from fau.batch.worker import FRAMES_FILE, SUMMARY_FILE, Job, job_key, run_job
from fau.errors import FauError

from helpers import model_available, write_corrupt, write_tiny_video

ROOT = Path(__file__).resolve().parents[1]
CLIPS = sorted((ROOT / "tests/data/cremad").glob("*.flv"))
#: Analysed frames per second of video in these tests (2 s clips → 4-5 frames each).
FPS = 2.0
FAST = {"fps": FPS, "expression_model": None}


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> dict[str, dict]:
    """Output digests of an uninterrupted local run over the first four clips."""
    out = tmp_path_factory.mktemp("reference") / "out"
    index = fau.run_batch(CLIPS[:4], out, jobs=2, **FAST)
    assert (index["status"] == "ok").all()
    return digests(out)


def digests(out: Path) -> dict[str, dict]:
    """Recorded output digests of every completed video in a batch folder."""
    return {
        p.parent.name.rsplit("-", 1)[0]: json.loads(p.read_text())["outputs"]
        for p in sorted(out.glob(f"*/{DONE_MARKER}"))
    }


def test_scaling_doc_names_every_index_column_and_output():
    """docs/scaling.md's description of index.csv and of a video's folder is complete."""
    import re

    from fau.batch.worker import OUTPUT_FILES

    text = (ROOT / "docs/scaling.md").read_text(encoding="utf-8")
    index = text[text.index("* `OUT/index.csv`"):text.index("It is rewritten")]
    named = set(re.findall(r"\b[a-z_]+\b", index))
    assert [c for c in INDEX_COLUMNS if c not in named] == []
    folder = text[text.index("* Per video:"):text.index("* `OUT/index.csv`")]
    assert [f for f in (*OUTPUT_FILES, DONE_MARKER) if f"`{f}`" not in folder] == []


# -- inputs and names ------------------------------------------------------------------
def test_output_names_unique_for_same_basename(tmp_path):
    a = output_name(tmp_path / "a" / "interview.mp4")
    b = output_name(tmp_path / "b" / "interview.mp4")
    assert a != b
    assert a.startswith("interview-") and b.startswith("interview-")
    assert output_name(tmp_path / "a" / "interview.mp4") == a  # stable across runs


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300).filter(lambda s: "/" not in s and "\x00" not in s))
def test_output_name_is_safe(name):
    out = output_name(Path("/videos") / name)
    assert len(out) <= MAX_STEM + 1 + HASH_DIGITS
    assert not out.startswith(".")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in out)


def test_collect_inputs_expands_a_pattern_the_shell_left(tmp_path):
    """Before: ``fau batch "talks/*.flv"`` (quoted, or from Windows' cmd) said the input
    does not exist."""
    (tmp_path / "v" / "sub").mkdir(parents=True)
    shutil.copy(CLIPS[0], tmp_path / "v" / "b.flv")
    shutil.copy(CLIPS[1], tmp_path / "v" / "a.flv")
    shutil.copy(CLIPS[2], tmp_path / "v" / "sub" / "c.flv")
    got = collect_inputs([str(tmp_path / "v" / "*.flv"), tmp_path / "v" / "sub"])
    assert [v.path.name for v in got] == ["a.flv", "b.flv", "c.flv"]
    assert [v.path.name for v in collect_inputs(str(tmp_path / "v" / "**" / "c.flv"))] == ["c.flv"]
    with pytest.raises(FauError, match="as a wildcard pattern it matches no file"):
        collect_inputs([str(tmp_path / "v" / "*.mp4")])


def test_collect_inputs_folders_manifest_and_errors(tmp_path):
    (tmp_path / "v" / "sub").mkdir(parents=True)
    (tmp_path / "v" / ".hidden").mkdir()
    shutil.copy(CLIPS[0], tmp_path / "v" / "a.flv")
    shutil.copy(CLIPS[1], tmp_path / "v" / "sub" / "b.FLV")
    shutil.copy(CLIPS[2], tmp_path / "v" / ".hidden" / "c.flv")
    (tmp_path / "v" / "notes.txt").write_text("x")
    seg = tmp_path / "seg.csv"
    seg.write_text("start,end,label\n0,1,q1\n")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,segments\nv/a.flv,seg.csv\n" f"{CLIPS[3]},\n")
    # folder: recursive, case-insensitive extensions, hidden files and folders skipped
    assert [v.path.name for v in collect_inputs([tmp_path / "v"])] == ["a.flv", "b.FLV"]
    # a.flv listed by the folder (no segments) and by the manifest (segments): conflict
    with pytest.raises(FauError, match="different segment files"):
        collect_inputs([tmp_path / "v", manifest])
    videos = collect_inputs([manifest, str(tmp_path / "v" / "sub")])
    assert [v.path.name for v in videos] == ["a.flv", CLIPS[3].name, "b.FLV"]
    assert videos[0].segments == seg and videos[1].segments is None
    assert len(collect_inputs([CLIPS[0], CLIPS[0]])) == 1  # duplicates dropped

    with pytest.raises(FauError, match="does not exist"):
        collect_inputs([tmp_path / "missing.mp4"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FauError, match="holds no video files"):
        collect_inputs([tmp_path / "empty"])
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    with pytest.raises(FauError, match=r"holds no video files .*; it holds 1 image\(s\): analyse "
                                       r"them with `fau image"):
        collect_inputs([tmp_path / "photos"])
    bad = tmp_path / "bad.csv"
    bad.write_text("file\nx.mp4\n")
    with pytest.raises(FauError, match="'path' column"):
        collect_inputs([bad])


# -- one job in this process: markers -------------------------------------------------------
def test_marker_detects_changed_inputs_outputs_and_options(tmp_path):
    clip = tmp_path / "clip.flv"
    shutil.copy(CLIPS[0], clip)
    (vid,) = collect_inputs([clip])
    job = Job(video=vid, out_dir=tmp_path / "out", fps=FPS,
              detector_options={"expression_model": None})
    rec = run_job(job)
    assert rec["status"] == "ok", rec["error"]
    assert rec["faces"] == 1 and rec["duration_s"] == pytest.approx(2.235, abs=0.05)
    assert read_complete_marker(job.folder, job_key(job)) is not None
    frames = pd.read_parquet(job.folder / FRAMES_FILE)
    assert {"frame", "timestamp", "track_id", "AU12"} <= set(frames.columns)
    assert len(frames) == rec["frames"]  # one face in every analysed frame

    # other options: not complete for them
    other = Job(video=vid, out_dir=job.out_dir, fps=5.0, detector_options=job.detector_options)
    assert read_complete_marker(job.folder, job_key(other)) is None
    # a damaged output (same size, one byte changed)
    data = bytearray((job.folder / SUMMARY_FILE).read_bytes())
    data[-3] ^= 1
    (job.folder / SUMMARY_FILE).write_bytes(bytes(data))
    assert read_complete_marker(job.folder, job_key(job)) is None
    assert run_job(job)["status"] == "ok"
    assert read_complete_marker(job.folder, job_key(job)) is not None
    # the input was replaced (new modification time)
    st_ = clip.stat()
    os.utime(clip, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10**9))
    assert read_complete_marker(job.folder, job_key(job)) is None


def test_detector_built_once_per_worker_and_option_set():
    from fau.batch.worker import _detector

    a = _detector({"expression_model": None, "max_faces": 2})
    assert _detector({"expression_model": None, "max_faces": 2}) is a
    assert a.num_threads == 1  # one thread per model in batch workers
    assert _detector({"expression_model": None, "max_faces": 3}) is not a


def test_failed_job_reports_error_and_leaves_no_marker(tmp_path):
    (vid,) = collect_inputs([write_corrupt(tmp_path / "broken.mp4")])
    job = Job(video=vid, out_dir=tmp_path / "out", fps=FPS,
              detector_options={"expression_model": None})
    rec = run_job(job)
    assert rec["status"] == "failed"
    assert "broken.mp4" in rec["error"]
    assert not (job.folder / DONE_MARKER).exists()


# -- local joblib runs -----------------------------------------------------------------------
@pytest.mark.slow
def test_local_batch_manifest_segments_corrupt_and_rerun(tmp_path):
    seg = tmp_path / "questions.csv"
    seg.write_text("start,end,label\n0,1,first\n1,2.5,second\n")
    bad = write_corrupt(tmp_path / "corrupt.mp4")
    manifest = tmp_path / "videos.csv"
    manifest.write_text(
        "path,segments\n"
        f"{CLIPS[0]},questions.csv\n"
        f"{CLIPS[1]},\n"
        "corrupt.mp4,\n"
        f"{CLIPS[2]},missing_segments.csv\n"
    )
    out = tmp_path / "out"
    inputs_before = {p: p.stat().st_mtime_ns for p in (manifest, seg, bad)}
    seen = []
    index = fau.run_batch([manifest], out, jobs=2, progress=seen.append, **FAST)

    assert list(index.columns) == list(INDEX_COLUMNS)
    assert index["status"].tolist() == ["ok", "ok", "failed", "failed"]
    assert "corrupt.mp4" in index.loc[2, "error"]
    assert "missing_segments.csv' does not exist" in index.loc[3, "error"]
    assert (index.loc[:1, "faces"] == 1).all()
    assert (index.loc[:1, "duration_s"] > 1.5).all()
    assert sorted(r["name"] for r in seen) == sorted(index["name"])
    on_disk = pd.read_csv(out / "index.csv", keep_default_na=False)
    assert on_disk["status"].tolist() == index["status"].tolist()
    assert {p: p.stat().st_mtime_ns for p in inputs_before} == inputs_before

    summary = json.loads((out / index.loc[0, "name"] / SUMMARY_FILE).read_text())
    assert [s["label"] for s in summary["segments"]] == ["first", "second"]
    assert summary["faces"] == 1 and summary["tracks"][0]["frames"] == index.loc[0, "frames"]
    assert summary["segments"][0]["frames"] + summary["segments"][1]["frames"] == \
        index.loc[0, "frames"]

    first = digests(out)
    again = fau.run_batch([manifest], out, jobs=2, **FAST)
    assert again["status"].tolist() == ["skipped", "skipped", "failed", "failed"]
    assert again.loc[:1, "faces"].tolist() == [1, 1]
    assert digests(out) == first


@pytest.mark.slow
def test_same_basename_in_two_folders_do_not_collide(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        shutil.copy(CLIPS[0] if d == "a" else CLIPS[3], tmp_path / d / "interview.flv")
    index = fau.run_batch([tmp_path / "a", tmp_path / "b"], tmp_path / "out", jobs=2, **FAST)
    assert index["status"].tolist() == ["ok", "ok"]
    assert index["name"].nunique() == 2
    ts = [pd.read_parquet(tmp_path / "out" / n / FRAMES_FILE)["AU12"].sum() for n in index["name"]]
    assert ts[0] != ts[1]  # two different clips, two different outputs


def test_output_folder_rules(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(FauError, match="not a fau batch output"):
        fau.run_batch([CLIPS[0]], foreign, **FAST)
    assert (foreign / "thesis.docx").read_text() == "precious"
    vids = tmp_path / "vids"
    vids.mkdir()
    shutil.copy(CLIPS[0], vids / "a.flv")
    with pytest.raises(FauError, match="contains the input"):
        fau.run_batch([vids], vids, **FAST)  # would write beside the user's videos
    assert sorted(p.name for p in vids.iterdir()) == ["a.flv"]
    with pytest.raises(FauError, match="jobs"):
        fau.run_batch([CLIPS[0]], tmp_path / "o", jobs=0, **FAST)
    with pytest.raises(FauError, match="not both"):
        fau.run_batch([CLIPS[0]], tmp_path / "o", jobs=2, scheduler="tcp://127.0.0.1:1", **FAST)
    with pytest.raises(FauError, match="fps"):
        fau.run_batch([CLIPS[0]], tmp_path / "o", fps=-1, expression_model=None)


def test_bad_detector_options_fail_before_any_work(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FauError, match="expression_model must be one of"):
        fau.run_batch([CLIPS[0]], out, expression_model="vibes")
    with pytest.raises(FauError, match="unknown Detector option"):
        fau.run_batch([CLIPS[0]], out, detector_options={"max_face": 2}, **FAST)
    # Values every worker's Detector would refuse: one error here, not a failed row each.
    for options, message in [({"max_faces": 0}, "max_faces"),
                             ({"detector_options": {"min_face_score": 2}}, "min_face_score"),
                             ({"detector_options": {"num_threads": 0}}, "num_threads"),
                             ({"detector_options": {"min_face": 1}}, "min_face"),
                             ({"detector_options": {"backend": "mediapipe"}}, "backend")]:
        with pytest.raises(FauError, match=message):
            fau.run_batch([CLIPS[0]], out, **options, **FAST)
    if not model_available():
        with pytest.raises(FauError, match="expression_ferplus.npz"):
            fau.run_batch([CLIPS[0]], out, fps=FPS)  # the default model, absent
    assert not out.exists()


def test_second_run_on_same_folder_is_refused_while_first_holds_it(tmp_path):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / OWNER_FILE, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(FauError, match="another fau batch"):
            fau.run_batch([CLIPS[0]], out, **FAST)


class CrashOnTinyFrames:
    """Landmark backend that kills its process on 64-px-wide frames (a native crash)."""

    name = "crash-on-tiny-frames"

    def __init__(self) -> None:
        self._inner = None

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self._inner = None

    def __repr__(self) -> str:
        return "CrashOnTinyFrames()"

    def _backend(self):
        if self._inner is None:
            from fau.landmarks.mediapipe import MediaPipeBackend

            self._inner = MediaPipeBackend(num_threads=1)
        return self._inner

    def _guard(self, rgb):
        if rgb.shape[1] == 64:
            os._exit(70)

    def detect(self, image, **kw):
        self._guard(image)
        return self._backend().detect(image, **kw)

    def detect_faces(self, image, **kw):
        self._guard(image)
        return self._backend().detect_faces(image, **kw)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._backend(), name)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class WaitOnTinyFrames(CrashOnTinyFrames):
    """Landmark backend that, on 64-px-wide frames, waits until the file ``gate`` exists
    (at most 60 s): a video that is still being analysed while the test acts."""

    name = "wait-on-tiny-frames"

    def __init__(self, gate: Path) -> None:
        super().__init__()
        self.gate = gate

    def __getstate__(self) -> dict:
        return {"gate": self.gate}

    def __setstate__(self, state: dict) -> None:
        self._inner = None
        self.gate = state["gate"]

    def __repr__(self) -> str:
        return f"WaitOnTinyFrames({str(self.gate)!r})"

    def _guard(self, rgb):
        deadline = time.monotonic() + 60
        while rgb.shape[1] == 64 and not self.gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.mark.slow
def test_worker_crash_fails_only_its_video(tmp_path):
    tiny = write_tiny_video(tmp_path / "tiny.mp4")
    index = fau.run_batch([CLIPS[0], tiny, CLIPS[1]], tmp_path / "out", jobs=2,
                      detector_options={"backend": CrashOnTinyFrames()}, **FAST)
    status = dict(zip(index["path"], index["status"]))
    assert status.pop(str(tiny)) == "failed"
    assert set(status.values()) == {"ok"}
    err = index.set_index("path").loc[str(tiny), "error"]
    assert "worker process died" in err
    assert not list((tmp_path / "out").glob("tiny-*/done.json"))


@pytest.mark.slow
def test_expression_scores_in_batch(tmp_path):
    if not model_available():
        pytest.skip("expression model file fau/models/expression_ferplus.npz absent "
                    "(expression scores cannot be checked without it)")
    index = fau.run_batch([CLIPS[3]], tmp_path / "out", jobs=1, fps=FPS)
    assert index["status"].tolist() == ["ok"]
    frames = pd.read_parquet(tmp_path / "out" / index.loc[0, "name"] / FRAMES_FILE)
    p = frames[list(fau.EXPRESSIONS)].to_numpy()
    assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1, atol=1e-4)


@pytest.mark.slow
def test_report_written_or_clear_error(tmp_path):
    from fau.job import report_supported

    if not report_supported():
        with pytest.raises(FauError, match="HTML report"):
            fau.run_batch([CLIPS[0]], tmp_path / "out", report=True, **FAST)
        return
    index = fau.run_batch([CLIPS[0]], tmp_path / "out", jobs=1, report=True, **FAST)
    assert index["status"].tolist() == ["ok"], index["error"].tolist()
    html = (tmp_path / "out" / index.loc[0, "name"] / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    # rerun without --report (new options: the video is redone): the old report, of the
    # earlier analysis, does not stay beside the new tables
    again = fau.run_batch([CLIPS[0]], tmp_path / "out", jobs=1, report=False, **FAST)
    assert again["status"].tolist() == ["ok"]
    folder = tmp_path / "out" / again.loc[0, "name"]
    assert not (folder / "report.html").exists() and (folder / FRAMES_FILE).is_file()


# -- command line ------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.slow
def test_cli_exit_status_and_summary(tmp_path):
    from fau.cli import main

    bad = write_corrupt(tmp_path / "bad.mp4")
    out = tmp_path / "out"
    assert main(["batch", str(CLIPS[0]), str(bad), "--out", str(out), "--jobs", "2",
                 "--fps", str(FPS), "--model", "none"]) == 1
    index = pd.read_csv(out / "index.csv", keep_default_na=False)
    assert index["status"].tolist() == ["ok", "failed"]
    assert main(["batch", str(tmp_path / "nope.mp4"), "--out", str(out)]) == 2
    assert main(["batch", str(CLIPS[0]), "--out", str(out), "--fps", str(FPS),
                 "--model", "none"]) == 0


@pytest.mark.slow
def test_interrupted_run_resumes_with_identical_outputs(tmp_path, reference):
    clips = CLIPS[:4]
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fau", "batch", *map(str, clips), "--out", str(out),
           "--jobs", "1", "--fps", str(FPS), "--model", "none"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(f"*/{DONE_MARKER}")):
            assert proc.poll() is None, "batch ended before the first video was done"
            assert time.monotonic() < deadline, "no video finished within 120 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, 9)  # the CLI and its worker processes, at once
        proc.wait()
    done_before = len(list(out.glob(f"*/{DONE_MARKER}")))
    assert 1 <= done_before < len(clips), "the run was not interrupted part-way"
    partial = pd.read_csv(out / "index.csv", keep_default_na=False)  # valid after a kill
    assert list(partial.columns) == list(INDEX_COLUMNS)
    # Every row written before the kill is a finished video: status ok and its marker on
    # disk (the index may lag the markers by the video that was finishing).
    done_names = {p.parent.name for p in out.glob(f"*/{DONE_MARKER}")}
    assert partial["status"].tolist() == ["ok"] * len(partial)
    assert set(partial["name"]) <= done_names

    index = fau.run_batch(clips, out, jobs=2, **FAST)
    counts = index["status"].value_counts().to_dict()
    assert counts == {"skipped": done_before, "ok": len(clips) - done_before}
    assert digests(out) == reference
    assert not list(out.glob("*/.*.tmp")) and not list(out.glob(".*.tmp"))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM to oneself is POSIX")
def test_a_signal_stops_the_batch_between_videos_and_the_handlers_come_back(tmp_path):
    """The handler only notes SIGTERM; the loop stops at its next check, with the finished
    video's row in index.csv and the caller's signal handlers back in place."""
    import signal

    before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    seen: list[dict] = []

    def progress(rec: dict) -> None:
        seen.append(rec)
        if len(seen) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # would end pytest without fau's handler

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        fau.run_batch(CLIPS[:4], out, jobs=1, progress=progress, **FAST)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert len(seen) == 1 and seen[0]["status"] == "ok"
    index = pd.read_csv(out / "index.csv")
    assert index["status"].fillna("").tolist().count("ok") == 1  # the rest were never finished
    rerun = fau.run_batch(CLIPS[:4], out, jobs=1, **FAST)  # resumes: one skipped, three run
    assert sorted(rerun["status"]) == ["ok", "ok", "ok", "skipped"]


def test_cli_names_a_failed_video_once(tmp_path):
    """Before: the runner's "WARNING fau.batch.runner: ... failed: ..." log line and the
    command's "fau: failed: ..." line said the same on stderr."""
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video at all\n" * 50)
    r = subprocess.run([sys.executable, "-m", "fau", "batch", str(bad), "--out",
                        str(tmp_path / "out"), "--model", "none"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    said = [line for line in r.stderr.splitlines() if "notes.mp4" in line]
    assert len(said) == 1 and said[0].startswith("fau: failed: "), r.stderr
    assert "1 failed" in r.stdout
