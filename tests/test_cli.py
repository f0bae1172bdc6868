"""The ``fau image`` command: output files, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import needs_model


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fau", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_missing_file_exit_2_one_line(tmp_path):
    r = run("image", str(tmp_path / "nope.jpg"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_not_an_image_exit_2(tmp_path):
    p = tmp_path / "x.png"
    p.write_text("hello")
    r = run("image", str(p), "--model", "fer2013")
    assert r.returncode == 2 and "not an image" in r.stderr and "Traceback" not in r.stderr


@needs_model
@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_out_formats(tmp_path, data_dir, suffix):
    out = tmp_path / f"faces{suffix}"
    r = run("image", str(data_dir / "cremad_hap.jpg"), str(data_dir / "cremad_neu.jpg"),
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "happiness" in r.stdout
    if suffix == ".csv":
        df = pd.read_csv(out)
    elif suffix == ".json":
        df = pd.DataFrame(json.loads(out.read_text()))
    else:
        df = pd.read_parquet(out)
    assert len(df) == 2 and {"input", "AU12", "expression", "bs_jawOpen"} <= set(df.columns)


@needs_model
def test_out_never_overwritten(tmp_path, data_dir):
    out = tmp_path / "faces.csv"
    out.write_text("precious")
    r = run("image", str(data_dir / "cremad_hap.jpg"), "--out", str(out))
    assert r.returncode == 2 and "exists" in r.stderr
    assert out.read_text() == "precious"
    r = run("image", str(data_dir / "cremad_hap.jpg"), "--out", str(tmp_path / "f.xlsx"))
    assert r.returncode == 2 and ".csv" in r.stderr


@needs_model
def test_keep_going_reports_and_continues(tmp_path, data_dir):
    bad = tmp_path / "empty.jpg"
    bad.write_bytes(b"")
    r = run("image", str(bad), str(data_dir / "cremad_hap.jpg"), "--keep-going")
    assert r.returncode == 2
    assert "empty" in r.stderr and "happiness" in r.stdout


def test_verbosity_after_the_command_and_model_none(tmp_path, data_dir):
    out = tmp_path / "faces.json"
    r = run("image", str(data_dir / "cremad_hap.jpg"), "-v", "--model", "none", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "\\/" not in text and str(data_dir).split("/")[-1] in text  # paths keep their /
    rows = json.loads(text)
    assert rows[0]["input"] == str(data_dir / "cremad_hap.jpg")
    assert rows[0]["happiness"] is None and rows[0]["expression"] is None
    # the terminal table shows the face box; no expression columns without a model
    header = r.stdout.splitlines()[0].split()
    assert header[:7] == ["input", "face", "face_x", "face_y", "face_w", "face_h", "face_score"]
    assert "happiness" not in header
    assert run("image", "-vv", str(data_dir / "cremad_hap.jpg"), "--model", "none").returncode == 0


def test_help_describes_every_option():
    r = run("image", "--help")
    assert r.returncode == 0
    assert "--max-faces N" in r.stdout and "dropped with a warning" in r.stdout
    assert "none" in r.stdout and "-v, --verbose" in r.stdout


def test_multi_image_run_names_images_without_a_face(tmp_path, data_dir):
    import numpy as np
    from PIL import Image

    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(blank)
    r = run("image", str(blank), str(data_dir / "cremad_hap.jpg"), "--model", "none")
    assert r.returncode == 0, r.stderr
    assert f"no face found in {blank}" in r.stderr
    assert "cremad_hap.jpg" in r.stdout and "cremad_hap.jpg" not in r.stderr
    r = run("image", str(blank), "--model", "none")  # one image: the table line says it
    assert r.returncode == 0 and "no faces found" in r.stdout


def test_image_paths_expand_folders(tmp_path):
    from fau.cli.image import image_paths
    from fau import FauError

    (tmp_path / "b").mkdir()
    (tmp_path / ".cache").mkdir()
    for name in ("b/2.PNG", "a.jpg", "notes.txt", ".hidden.jpg", ".cache/x.jpg", "b/1.tif"):
        (tmp_path / name).write_bytes(b"x")
    got = image_paths([str(tmp_path), "given.txt"])
    assert got == [str(tmp_path / "a.jpg"), str(tmp_path / "b/1.tif"),
                   str(tmp_path / "b/2.PNG"), "given.txt"]  # a file named is kept as given
    (tmp_path / "empty").mkdir()
    with pytest.raises(FauError, match="holds no image files"):
        image_paths([str(tmp_path / "empty")])
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"x")
    with pytest.raises(FauError, match="it holds 1 video\\(s\\): analyse them with `fau batch"):
        image_paths([str(tmp_path / "clips")])


def test_image_paths_name_the_phone_and_raw_images_they_skip(tmp_path, capsys):
    from fau.cli.image import image_paths
    from fau import FauError

    for name in ("a.jpg", "IMG_1.HEIC", "IMG_2.heic", "raw/IMG_3.dng", "notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert image_paths([str(tmp_path)]) == [str(tmp_path / "a.jpg")]
    err = capsys.readouterr().err
    assert f"fau: skipping 1 .dng file, 2 .heic files under {tmp_path}" in err
    assert "notes.txt" not in err and ".txt" not in err  # other files stay unnamed
    (tmp_path / "a.jpg").unlink()
    with pytest.raises(FauError, match=r"holds no image files .*; it holds 1 \.dng file, "
                                       r"2 \.heic files, which fau does not read: convert"):
        image_paths([str(tmp_path)])


def test_image_paths_expand_a_pattern_the_shell_left(tmp_path):
    """Before: ``fau image "photos/*.jpg"`` (quoted, or from Windows' cmd) said the path
    does not exist."""
    from fau import FauError
    from fau.cli.image import image_paths

    (tmp_path / "sub").mkdir()
    for name in ("b.jpg", "a.jpg", "c.png", ".hidden.jpg", "sub/d.jpg", "x[1].jpg"):
        (tmp_path / name).write_bytes(b"x")
    assert image_paths([str(tmp_path / "*.jpg")]) == [
        str(tmp_path / n) for n in ("a.jpg", "b.jpg", "x[1].jpg")]  # sorted, no hidden file
    assert image_paths([str(tmp_path / "**" / "d.jpg")]) == [str(tmp_path / "sub" / "d.jpg")]
    named = str(tmp_path / "x[1].jpg")  # a file that exists is never a pattern
    assert image_paths([named]) == [named]
    with pytest.raises(FauError, match="as a wildcard pattern it matches no file"):
        image_paths([str(tmp_path / "*.gif")])
    assert image_paths([str(tmp_path / "none.jpg")]) == [str(tmp_path / "none.jpg")]


@needs_model
def test_image_folder(tmp_path, data_dir):
    import shutil

    (tmp_path / "photos").mkdir()
    shutil.copy(data_dir / "cremad_hap.jpg", tmp_path / "photos" / "hap.jpg")
    (tmp_path / "photos" / "README.txt").write_text("not an image")
    out = tmp_path / "faces.csv"
    r = run("image", str(tmp_path / "photos"), "--out", str(out), "--model", "none")
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(out)["input"].tolist() == [str(tmp_path / "photos" / "hap.jpg")]
    r = run("image", str(tmp_path / "nothing-here"), "--model", "none")
    assert r.returncode == 2 and "does not exist" in r.stderr
