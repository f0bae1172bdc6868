"""`done.json` markers of a batch (`fau.batch.store`): a malformed one means "analyse again"."""

from __future__ import annotations

import json

import pytest

from fau.batch.store import (DONE_MARKER, MARKER_VERSION, file_digest, read_complete_marker,
                             write_marker)

KEY = {"input": {"size": 3}, "fps": 5.0}


def _folder(tmp_path):
    folder = tmp_path / "clip-0123"
    folder.mkdir()
    (folder / "frames.parquet").write_bytes(b"abc")
    return folder


def test_a_complete_marker_gives_its_record(tmp_path):
    folder = _folder(tmp_path)
    write_marker(folder, key=KEY, outputs=["frames.parquet"], record={"faces": 1})
    assert read_complete_marker(folder, KEY) == {"faces": 1}


@pytest.mark.parametrize("outputs", [
    {"frames.parquet": 3},                      # an entry that is not a {size, sha256} object
    {"frames.parquet": ["3", "x"]},
    {"../clip-0123/frames.parquet": None},      # a path, not a file name of the folder
    {"/etc/hostname": {"size": 1, "sha256": "0"}},
    {"..": {"size": 1, "sha256": "0"}},
])
def test_a_malformed_marker_means_analyse_again(tmp_path, outputs, caplog):
    folder = _folder(tmp_path)
    marker = {"version": MARKER_VERSION, "key": KEY, "outputs": outputs, "record": {"faces": 1}}
    (folder / DONE_MARKER).write_text(json.dumps(marker))
    assert read_complete_marker(folder, KEY) is None
    assert "malformed marker" in caplog.text


def test_a_real_entry_beside_a_malformed_one_is_not_enough(tmp_path):
    folder = _folder(tmp_path)
    good = {"frames.parquet": file_digest(folder / "frames.parquet")}
    marker = {"version": MARKER_VERSION, "key": KEY, "outputs": {**good, "x.csv": "big"},
              "record": {}}
    (folder / DONE_MARKER).write_text(json.dumps(marker))
    assert read_complete_marker(folder, KEY) is None
