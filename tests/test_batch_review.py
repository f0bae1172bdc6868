"""fau.batch review: file names that are not UTF-8, inputs missing on a rerun, the index as
text whatever the names."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import fau
from fau.batch.inputs import collect_inputs, output_name
from fau.batch.runner import INDEX_COLUMNS, INDEX_FILE, _Index
from fau.batch.store import DONE_MARKER, read_complete_marker
from fau.batch.worker import SUMMARY_FILE, Job, job_key
from fau.files import text_of, write_json
from fau.resources import DEFAULT_MAX_FACES

ROOT = Path(__file__).resolve().parents[1]
#: A 2-s CREMA-D clip (one face) from the repository's test data.
CLIP = ROOT / "tests/data/cremad/1001_DFA_HAP_XX.flv"
#: Analysed frames per second in these tests (2-s clip → 4-5 frames).
FPS = 2.0
FAST = {"fps": FPS, "expression_model": None}
#: A Latin-1 file name (``entrevista_é.flv``): not UTF-8, as from an old Windows zip.
LATIN1_NAME = b"entrevista_\xe9.flv"


def _latin1_copy(folder: Path) -> Path:
    """Copy `CLIP` under `LATIN1_NAME`; skip where the file system refuses such names."""
    if sys.platform in ("darwin", "win32"):
        pytest.skip("APFS/NTFS do not store file names that are not Unicode")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / os.fsdecode(LATIN1_NAME)
    try:
        shutil.copy(CLIP, path)
    except (OSError, UnicodeEncodeError) as exc:
        pytest.skip(f"this file system refuses non-UTF-8 names: {exc}")
    return path


# -- a file name that is not UTF-8 ------------------------------------------------------
def test_write_json_keeps_names_that_are_not_utf8(tmp_path):
    name = os.fsdecode(b"/videos/caf\xe9.mp4")  # '\udce9' stands for the byte 0xe9
    out = write_json(tmp_path / "s.json", {"path": name, "label": "caf\u00e9 \u2713"})
    text = out.read_bytes().decode("utf-8")  # valid UTF-8
    assert "\\udce9" in text and "caf\u00e9 \u2713" in text  # only the surrogate escaped
    back = json.loads(text)
    assert back["path"] == name and os.fsencode(back["path"]) == b"/videos/caf\xe9.mp4"


def test_non_utf8_file_name_is_analysed_indexed_and_resumed(tmp_path):
    video = _latin1_copy(tmp_path / "in")
    out = tmp_path / "out"
    index = fau.run_batch([tmp_path / "in"], out, jobs=1, **FAST)  # was: UnicodeEncodeError
    assert index["status"].tolist() == ["ok"], index["error"].tolist()
    assert index["path"].tolist() == [str(tmp_path / "in" / "entrevista_\\xe9.flv")]
    on_disk = pd.read_csv(out / INDEX_FILE, keep_default_na=False, encoding="utf-8")
    assert on_disk["path"].tolist() == index["path"].tolist()
    folder = out / index.loc[0, "name"]
    summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert os.fsencode(summary["path"]) == os.fsencode(video)  # the exact name, back
    assert summary["faces"] == 1
    # the marker's key reads back equal: the rerun skips the video
    again = fau.run_batch([tmp_path / "in"], out, jobs=1, **FAST)
    assert again["status"].tolist() == ["skipped"]


_ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(os.fsdecode),  # file-name bytes, surrogates for non-UTF-8
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_ANY_TEXT, _ANY_TEXT), min_size=1, max_size=5))
@example(rows=[(os.fsdecode(b"caf\xe9.mp4"), "")])  # not UTF-8: the batch stopped
@example(rows=[("a\rb.mp4", "x"), ("c.mp4", "\r")])  # a bare CR split the row in two
def test_index_is_utf8_csv_whatever_the_paths_and_errors(tmp_path, rows):
    path = tmp_path / INDEX_FILE
    index = _Index(path, [f"v{i}" for i in range(len(rows))])
    for i, (p, err) in enumerate(rows):
        index.add({"path": "/v/" + p, "name": f"v{i}", "status": "failed", "error": err})
    back = pd.read_csv(path, keep_default_na=False, dtype=str, encoding="utf-8")
    assert list(back.columns) == list(INDEX_COLUMNS)
    assert back["name"].tolist() == [f"v{i}" for i in range(len(rows))]
    for (p, err), got_p, got_err in zip(rows, back["path"], back["error"]):
        assert got_p == text_of("/v/" + p)
        want = text_of(err)
        assert got_err in {want, "'" + want}  # a leading formula character is quoted


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=30).filter(lambda b: b"/" not in b
                                                          and b"\x00" not in b),
                min_size=2, max_size=6, unique=True))
def test_output_names_differ_even_ignoring_case(names):
    """Distinct files (also names that differ only in case or extension, ``a.mp4`` and
    ``a.MOV``) never share an output folder, even on a case-insensitive file system."""
    outs = [output_name(Path("/videos") / os.fsdecode(n)) for n in names]
    assert len({o.lower() for o in outs}) == len(outs)


# -- an input missing when the batch is run again -----------------------------------------
@pytest.mark.parametrize("missing", ["video", "segments"])
def test_missing_input_keeps_the_last_complete_outputs(tmp_path, missing):
    """A rerun while the videos' drive is not mounted (or a file was moved away) fails
    those videos but does not delete their finished outputs (it did: ``done.json`` and
    every output were removed); with the file back, the video is skipped again."""
    clip = tmp_path / "data" / "clip.flv"
    clip.parent.mkdir()
    shutil.copy(CLIP, clip)
    seg = tmp_path / "data" / "questions.csv"
    seg.write_text("start,end,label\n0,1,q1\n")
    manifest = tmp_path / "videos.csv"
    manifest.write_text(f"path,segments\n{clip},{seg}\n")
    out = tmp_path / "out"
    first = fau.run_batch([manifest], out, jobs=1, **FAST)
    assert first["status"].tolist() == ["ok"], first["error"].tolist()
    folder = out / first.loc[0, "name"]
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert DONE_MARKER in before

    gone = clip if missing == "video" else seg
    away = tmp_path / "elsewhere"
    gone.rename(away)
    index = fau.run_batch([manifest], out, jobs=1, **FAST)
    assert index["status"].tolist() == ["failed"]
    assert "does not exist" in index.loc[0, "error"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before

    away.rename(gone)  # the drive is back, the file unchanged (same size and mtime)
    (vid,) = collect_inputs([manifest])
    job = Job(video=vid, out_dir=out, fps=FPS,
              detector_options={"expression_model": None, "max_faces": DEFAULT_MAX_FACES})
    assert read_complete_marker(folder, job_key(job)) is not None
    index = fau.run_batch([manifest], out, jobs=1, **FAST)
    assert index["status"].tolist() == ["skipped"]


def test_video_report_of_a_non_utf8_file_name(tmp_path):
    # `fau video --report` on such a file: the report's title names the file with its bytes
    # as \xNN (was: UnicodeEncodeError from the writer, after the whole analysis)
    import subprocess

    video = _latin1_copy(tmp_path)
    report = tmp_path / "r.html"
    done = subprocess.run([sys.executable, "-m", "fau", "video", os.fsencode(video), "--report",
                           str(report), "--model", "geometric"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    html = report.read_text(encoding="utf-8")
    assert "entrevista_\\xe9.flv" in html


def test_folder_scan_follows_linked_folders_once(tmp_path):
    # an interview folder linked in from elsewhere is scanned (was: silently left out); a link
    # back up the tree, or a second link to a scanned folder, is not scanned again
    from fau.paths import files_under

    if sys.platform == "win32":
        pytest.skip("symbolic links need privileges on Windows")
    elsewhere = tmp_path / "drive" / "P02"
    elsewhere.mkdir(parents=True)
    (elsewhere / "b.mp4").write_bytes(b"x")
    data = tmp_path / "data"
    (data / "P01").mkdir(parents=True)
    (data / "P01" / "a.mp4").write_bytes(b"x")
    (data / "P02").symlink_to(elsewhere, target_is_directory=True)
    (data / "P02again").symlink_to(elsewhere, target_is_directory=True)
    (data / "P01" / "up").symlink_to(data, target_is_directory=True)  # a loop
    got = files_under(data, {".mp4"})
    assert got == [data / "P01" / "a.mp4", data / "P02" / "b.mp4"]


def test_rerun_whose_inputs_name_the_output_folder(tmp_path):
    # `fau batch data/* --out data/results`, run twice: the second time the shell's data/*
    # names data/results too (was: "holds no video files", exit 2); it is skipped
    data = tmp_path / "data"
    (data / "P01").mkdir(parents=True)
    shutil.copy(CLIP, data / "P01" / "a.flv")
    out = data / "results"
    first = fau.run_batch([data / "P01"], out, jobs=1, **FAST)
    assert first["status"].tolist() == ["ok"]
    again = fau.run_batch(sorted(data.iterdir()), out, jobs=1, **FAST)
    assert again["status"].tolist() == ["skipped"]
    with pytest.raises(fau.FauError, match="holds no video files"):  # alone, still an error
        fau.run_batch([out], tmp_path / "other", jobs=1, **FAST)


def test_cli_rerun_whose_inputs_name_the_output_folder(tmp_path, capsys):
    # the same through `fau batch`: it counted the inputs for its progress bar before
    # run_batch left the output folder out, and stopped there ("holds no video files")
    from fau.cli import main

    data = tmp_path / "data"
    (data / "P01").mkdir(parents=True)
    shutil.copy(CLIP, data / "P01" / "a.flv")
    out = data / "results"
    args = ["--out", str(out), "--jobs", "1", "--fps", str(FAST["fps"]), "--model", "none"]
    assert main(["batch", str(data / "P01"), *args]) == 0
    assert main(["batch", *map(str, sorted(data.iterdir())), *args]) == 0
    assert "0 ok, 1 skipped, 0 failed" in capsys.readouterr().out
