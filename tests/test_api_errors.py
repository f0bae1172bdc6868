"""Wrong types and values in the public Python API give a one-line `fau.FauError`.

Found by a new user's acceptance pass: each case below used to end in a ValueError,
TypeError, AttributeError or RuntimeError traceback from deep inside fau (or, for a photo
given as a video, in a silent one-frame "video" analysis).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fau
from fau import FauError
from fau.job import JobOutputs, run_video_job
from fau.video import read_segments
from fau.video.reader import check_sampling, probe

DATA = Path(__file__).parent / "data"
IMAGE = DATA / "cremad_hap.jpg"
VIDEO = DATA / "cremad" / "1001_DFA_HAP_XX.flv"


@pytest.mark.parametrize("options, message", [
    ({"max_faces": "x"}, "max_faces must be a whole number"),
    ({"max_faces": 2.5}, "max_faces must be a whole number"),
    ({"max_faces": True}, "max_faces must be a whole number"),
    ({"max_faces": 0}, "max_faces must be a whole number"),
    ({"min_face_score": "a"}, "min_face_score must be a number in [0, 1]"),
    ({"min_face_score": float("nan")}, "min_face_score must be a number in [0, 1]"),
    ({"num_threads": "2"}, "num_threads must be None or a whole number"),
    ({"num_threads": 0}, "num_threads must be None or a whole number"),
    ({"min_face": "x"}, "min_face must be None or a number of pixels"),
    ({"backend": "x"}, "backend must be a fau.landmarks.LandmarkBackend"),
])
def test_detector_options_refused(options, message):
    with pytest.raises(FauError) as info:
        fau.Detector(**options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_detector_accepts_numpy_integers():
    with fau.Detector(max_faces=np.int64(3), min_face_score=np.float32(0.5),
                      expression_model=None) as det:
        assert det.max_faces == 3


@pytest.fixture(scope="module")
def det():
    with fau.Detector(expression_model=None) as d:
        yield d


def test_detect_images_refuses_a_single_image(det):
    with pytest.raises(FauError, match="takes a list of images, got one str"):
        det.detect_images(str(IMAGE))
    with pytest.raises(FauError, match="takes a list of images, got one ndarray"):
        det.detect_images(np.zeros((64, 64, 3), np.uint8))


def test_detect_images_and_cropped_of_wrong_type(det):
    with pytest.raises(FauError, match="takes a list of images, got NoneType"):
        det.detect_images(None)
    with pytest.raises(FauError, match="takes a list of images, got int"):
        det.detect_images(3)
    with pytest.raises(FauError, match="cropped must be True or False, got 'yes'"):
        det.detect_image(IMAGE, cropped="yes")


def test_closed_detector_says_so():
    d = fau.Detector(expression_model=None)
    d.close()
    with pytest.raises(FauError, match="this Detector was closed"):
        d.detect_image(IMAGE)
    with pytest.raises(FauError, match="this Detector was closed"):
        d.detect_video(VIDEO)


@pytest.mark.parametrize("source", [None, 42, 3.5, ["a.mp4"]])
def test_video_path_of_wrong_type(source):
    with pytest.raises(FauError, match="cannot read a video from a"):
        probe(source)


@pytest.mark.parametrize("image", [IMAGE, DATA / "cremad_neu.jpg"])
def test_photo_given_as_video_is_refused(image, tmp_path):
    with pytest.raises(FauError, match="is a still image, not a video"):
        probe(image)
    png = tmp_path / "face.png"
    from PIL import Image

    Image.open(image).save(png)
    with pytest.raises(FauError, match="is a still image, not a video"):
        probe(png)


def test_video_still_probes():
    info = probe(VIDEO)
    assert info.width == 480 and info.height == 360


@pytest.mark.parametrize("kwargs, message", [
    ({"fps": "5"}, "fps must be a number of frames per second"),
    ({"fps": True}, "fps must be a number of frames per second"),
    ({"fps": None, "start": "1"}, "start must be None or a finite number of seconds >= 0, got .1."),
    ({"fps": None, "end": b"2"}, "end must be None or a finite number of seconds >= 0, got b.2."),
])
def test_sampling_options_are_numbers(kwargs, message):
    with pytest.raises(FauError, match=message):
        check_sampling(**kwargs)
    assert check_sampling(5, 1, 2) == (5.0, 1.0, 2.0)


def test_flags_of_wrong_type(det):
    # a flag given as "no" (or 0) used to count as True: landmark columns, smoothing...
    with pytest.raises(FauError, match="landmarks must be True or False, got 'no'"):
        det.detect_image(IMAGE, landmarks="no")
    with pytest.raises(FauError, match="landmarks must be True or False, got 1"):
        det.analyse(IMAGE, landmarks=1)
    for flag in ("temporal", "landmarks", "threaded", "audio"):
        with pytest.raises(FauError, match=f"{flag} must be True or False, got 'no'"):
            det.detect_video(VIDEO, **{flag: "no"})
    assert "x_0" in det.detect_image(IMAGE, landmarks=np.bool_(True)).columns


def test_detect_video_fps_string_is_one_line(det):
    with pytest.raises(FauError, match="fps must be a number"):
        det.detect_video(VIDEO, fps="5")


@pytest.mark.parametrize("source", [42, 3.5, [1, 2]])
def test_segments_of_wrong_type(source):
    with pytest.raises(FauError, match="segments must be a CSV path"):
        read_segments(source)


def test_segments_path_that_is_a_folder(tmp_path):
    with pytest.raises(FauError, match="is a folder"):
        read_segments(tmp_path)
    with pytest.raises(FauError, match="not found"):
        read_segments(tmp_path / "nope.csv")


def test_run_video_job_arguments(det, tmp_path):
    with pytest.raises(FauError, match="outputs must be a fau.JobOutputs"):
        run_video_job(det, VIDEO, {"frames": tmp_path / "f.csv"})
    with pytest.raises(FauError, match="detector must be a fau.Detector"):
        run_video_job(None, VIDEO, JobOutputs())
    with pytest.raises(FauError, match="must be a file path, got int"):
        run_video_job(det, VIDEO, JobOutputs(frames=3))
    with pytest.raises(FauError) as info:
        run_video_job(det, VIDEO, JobOutputs(segment_summary=tmp_path / "s.csv"))
    assert str(info.value).startswith("the segment summary (--summary) needs segments")
    assert not list(tmp_path.iterdir())


def test_run_video_job_without_outputs_writes_nothing(det, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_video_job(det, VIDEO, None, fps=2)
    assert len(result.frames) > 0 and result.written == {}
    assert not list(tmp_path.iterdir())


def test_outputs_never_replace_the_segments_file(det, tmp_path):
    seg = tmp_path / "segments.csv"
    seg.write_text("start,end,label\n0,1,q1\n")
    before = seg.read_bytes()
    for outputs in (JobOutputs(events=seg), JobOutputs(segment_summary=seg)):
        with pytest.raises(FauError, match="would overwrite the segments file"):
            run_video_job(det, VIDEO, outputs, segments=seg, overwrite=True)
    assert seg.read_bytes() == before


def test_cli_video_outputs_never_replace_the_segments_file(tmp_path, capsys):
    from fau.cli import main

    seg = tmp_path / "segments.csv"
    seg.write_text("start,end,label\n0,1,q1\n")
    before = seg.read_bytes()
    status = main(["video", str(VIDEO), "--segments", str(seg), "--summary", str(seg),
                   "--overwrite", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "would overwrite the segments file" in err
    assert seg.read_bytes() == before


def test_cli_video_on_a_photo_is_one_line(capsys):
    from fau.cli import main

    assert main(["video", str(IMAGE), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fau: error: ") and err.count("\n") == 1
    assert "still image" in err


def test_read_segments_still_reads_lists_and_frames():
    got = read_segments([(0, 1, "a"), (1, 2)])
    assert list(got["label"]) == ["a", ""]
    assert len(read_segments(pd.DataFrame({"start": [0.0], "end": [1.0]}))) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"max_rows": "x"}, "max_rows must be None or a whole number >= 0, got 'x'"),
    ({"max_rows": -1}, "max_rows must be None or a whole number >= 0, got -1"),
    ({"max_s": "x"}, "max_s must be None or a finite number of seconds >= 0, got 'x'"),
    ({"max_s": float("nan")}, "max_s must be None or a finite number of seconds"),
    ({"max_s": -1}, "max_s must be None or a finite number of seconds"),
])
def test_read_segments_limits_of_wrong_type(kwargs, message):
    # were a TypeError, a ValueError from float(), a NaN length that checked nothing, and
    # "at most -1 are accepted"
    with pytest.raises(FauError, match=message):
        read_segments([(0, 1)], **kwargs)
    assert len(read_segments([(0, 1)], max_rows=np.int64(1), max_s=np.float32(2))) == 1


def test_cli_live_missing_camera_is_one_line(capfd):
    from fau.cli import main

    assert main(["live", "--source", "99", "--json"]) == 2
    err = capfd.readouterr().err  # capfd: OpenCV's native log lines go to fd 2
    assert err.endswith("fau: error: cannot open camera 99 (no such camera, or it is in use)\n")
    assert "OpenCV" not in err and "WARN" not in err and "VIDEOIO" not in err
    assert "frames analysed" not in err  # no empty live summary


def test_unwritable_output_is_a_fau_error(tmp_path, monkeypatch):
    from fau.files import atomic_path, check_output, write_table

    df = pd.DataFrame({"a": [1]})
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    with pytest.raises(FauError, match="is a file, not a folder"):
        check_output(blocker / "x.csv")
    with pytest.raises(FauError, match="is a file, not a folder"):
        write_table(df, blocker / "x.csv")
    assert blocker.read_text() == "keep"

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # A folder that the file system refuses at write time (as /sys does for root).
    monkeypatch.setattr(Path, "touch", refuse)
    with pytest.raises(FauError, match=r"cannot write .*x\.csv'?: Permission denied"):
        write_table(df, tmp_path / "x.csv")
    monkeypatch.undo()
    with pytest.raises(FauError, match="No space left on device"):
        with atomic_path(tmp_path / "y.bin") as tmp:
            tmp.write_bytes(b"half")
            raise OSError(28, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_cli_image_unwritable_folder_is_one_line(tmp_path, capsys):
    from fau.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("keep")
    assert main(["image", str(IMAGE), "--out", str(blocker / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder" in err


@pytest.mark.parametrize("flags, message", [
    (["--db", "nonsense://x"], "cannot open the job database 'nonsense://x'"),
    (["--data-dir", "FILE"], "is a file, not a folder"),
    # `--token "$FAU_TOKEN"` with the variable unset must not start an open server
    (["--token", ""], "--token is empty"),
    (["--token", "  "], "--token is empty"),
])
def test_cli_serve_bad_storage_is_one_line(flags, message, tmp_path, capsys, monkeypatch):
    pytest.importorskip("fastapi")
    from fau.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("keep")
    assert main(["serve", "--port", "8799", *flags]) == 2  # before any server starts
    err = capsys.readouterr().err
    assert err.startswith("fau: error: ") and err.count("\n") == 1 and message in err
    assert (tmp_path / "FILE").read_text() == "keep"


def test_error_messages_of_several_lines_print_as_one():
    from fau.cli.common import one_line

    assert one_line(FauError("cannot open x: refused\n\tIs it running?\n")) == (
        "cannot open x: refused; Is it running?")


@pytest.mark.parametrize("argv, message", [
    (["video", str(VIDEO), "--max-faces", "0"], "max_faces must be a whole number"),
    (["video", str(VIDEO), "--min-face", "0"], "min_face must be"),
    (["video", str(VIDEO), "--fps", "0"], "fps must be > 0"),
    (["batch", str(VIDEO), "--out", "OUT", "--jobs", "0"], "jobs must be a whole number"),
])
def test_cli_errors_are_the_only_line_on_stderr(argv, message, tmp_path, capsys, monkeypatch):
    """No progress bar text before (or redrawn after) the error: without a terminal there
    is no bar, and a bad detector option fails before the bar is drawn."""
    from fau.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2  # no --no-progress
    err = capsys.readouterr().err
    assert err.startswith("fau: error: ") and err.count("\n") == 1 and message in err, err
    assert "\r" not in err


@pytest.mark.parametrize("bad", [0, -2, 2.5, "2", True])
def test_pipeline_num_threads_checked_like_the_detectors(bad):
    # 0, -2 and 2.5 were taken (onnxruntime's own default or int(2.5)), "2" failed at the
    # first face with int()'s ValueError
    with pytest.raises(FauError, match="num_threads must be None or a whole number of at least 1"):
        fau.Pipeline(expression_model=None, num_threads=bad)
    assert fau.Pipeline(expression_model=None, num_threads=np.int64(2)).num_threads == 2


def test_pipeline_refuses_what_is_not_an_image_and_meshes():
    import numpy as np

    import fau

    p = fau.Pipeline(expression_model=None)
    rgb = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(FauError, match="takes an RGB uint8 image .* got str"):
        p.features("photo.jpg", [])
    with pytest.raises(FauError, match="dtype float64"):
        p.features(rgb.astype(float), [])
    with pytest.raises(FauError, match="list of FaceMesh .* holding int"):
        p.features(rgb, [1, 2])
    with pytest.raises(FauError, match="Pipeline.table takes the feature blocks"):
        p.table({})
    assert len(p.table(p.features(rgb, []))) == 0


def test_batch_inputs_and_explain_blocks_refuse_wrong_types(tmp_path):
    from fau.expression.explain import explain_blocks

    with pytest.raises(FauError, match="inputs must be a video file, folder or manifest path"):
        fau.run_batch(None, tmp_path)
    with pytest.raises(FauError, match="explain_blocks takes an ExpressionModel"):
        explain_blocks(None, {})
    with pytest.raises(FauError, match="explain_blocks takes the feature blocks"):
        explain_blocks(fau.Pipeline().model, None)
