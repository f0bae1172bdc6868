"""Detector on real face images (committed CREMA-D frames) and edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import fau
from fau.detector import columns

from conftest import needs_model


@pytest.fixture(scope="module")
def frames(data_dir) -> dict[str, np.ndarray]:
    return {
        e: np.asarray(Image.open(data_dir / f"cremad_{e}.jpg").convert("RGB"))
        for e in ("ang", "dis", "fea", "hap", "neu", "sad")
    }


def test_columns_and_one_face(au_detector, data_dir):
    df = au_detector.detect_image(data_dir / "cremad_hap.jpg")
    assert list(df.columns) == columns()
    assert len(df) == 1
    row = df.iloc[0]
    for name in fau.AU_NAMES + ("pitch", "yaw", "roll", "face_score"):
        assert np.isfinite(row[name]), name
    assert 0.9 < row["face_score"] <= 1.0
    assert 60 < row["face_w"] < 200 and 60 < row["face_h"] < 200  # 480×360 frame
    assert abs(row["yaw"]) < 20 and abs(row["roll"]) < 15


def _check_dtypes(df: pd.DataFrame) -> None:
    """The documented dtypes: face int64, expression/compound string, the rest float64."""
    assert df["face"].dtype == np.int64
    for c in ("expression", "compound"):
        assert df[c].dtype == "string", c
    floats = [c for c in df.columns if c not in ("face", "expression", "compound", "input")]
    assert all(df[c].dtype == np.float64 for c in floats), df.dtypes[floats][
        df.dtypes[floats] != np.float64]


def test_required_columns_present(au_detector, data_dir):
    df = au_detector.detect_image(data_dir / "cremad_neu.jpg")
    required = ["face_x", "face_y", "face_w", "face_h", "face_score", "pitch", "yaw", "roll",
                "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
                "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45", "AU12_L", "AU12_R",
                "AU14_L", "AU14_R", "anger", "disgust", "fear", "happiness", "sadness",
                "surprise", "neutral", "contempt", "expression", "compound", "compound_score",
                "valence", "arousal", "bs_jawOpen", "bs_mouthSmileLeft"]
    cols = list(df.columns)
    assert set(required) <= set(cols), sorted(set(required) - set(cols))
    # in the documented order: face, box, pose, AUs, expressions, compound, blendshapes
    order = ["face", "face_x", "face_score", "pitch", "roll", "AU01", "AU45", "anger",
             "contempt", "expression", "compound", "arousal", "bs__neutral", "bs_noseSneerRight"]
    assert [cols.index(c) for c in order] == sorted(cols.index(c) for c in order)
    assert sum(c.startswith("bs_") for c in cols) == 52 and cols[-1].startswith("bs_")
    _check_dtypes(df)
    row = df.iloc[0]
    assert row["face"] == 0 and 0.0 <= row["face_score"] <= 1.0
    bs = row[[c for c in cols if c.startswith("bs_")]].to_numpy(dtype=float)
    assert ((bs >= 0) & (bs <= 1)).all()
    # no expression model: probabilities NaN, expression and compound NA (not None/"nan")
    assert row[list(fau.EXPRESSIONS)].isna().all()
    assert df["expression"].isna().all() and df["compound"].isna().all()


def test_empty_tables_have_the_same_dtypes(au_detector):
    noise = np.random.default_rng(1).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    empty = au_detector.detect_image(noise)
    assert empty.empty
    _check_dtypes(empty)
    assert au_detector.detect_images([]).dtypes["input"] == "string"


def test_face_cap_drops_faces_with_a_warning(frames, caplog):
    both = np.concatenate([frames["hap"], frames["neu"]], axis=1)
    with fau.Detector(expression_model=None, max_faces=1) as det:
        with caplog.at_level("WARNING", logger="fau.detector"):
            df = det.detect_image(both)
    assert len(df) == 1
    assert any("max_faces=1" in r.getMessage() for r in caplog.records), caplog.text
    caplog.clear()
    with fau.Detector(expression_model=None, max_faces=2) as det:
        with caplog.at_level("WARNING", logger="fau.detector"):
            assert len(det.detect_image(both)) == 2
    assert not caplog.records
    assert fau.Detector.__init__.__kwdefaults__["max_faces"] == 32
    with pytest.raises(fau.FauError, match="max_faces"):
        fau.Detector(expression_model=None, max_faces=0)


def test_au_directions_on_acted_frames(au_detector, frames):
    au = {e: au_detector.detect_image(f).iloc[0] for e, f in frames.items()}
    assert au["hap"]["AU12"] > au["neu"]["AU12"] + 0.05
    assert au["hap"]["AU25"] > au["neu"]["AU25"]
    assert au["ang"]["AU04"] > au["neu"]["AU04"]


def test_no_face_gives_empty_table(au_detector):
    noise = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    df = au_detector.detect_image(noise)
    assert df.empty and list(df.columns) == columns()


def test_two_faces_two_rows(au_detector, frames):
    both = np.concatenate([frames["hap"], frames["neu"]], axis=1)
    df = au_detector.detect_image(both).sort_values("face_x")
    assert len(df) == 2
    assert df.iloc[0]["face_x"] < 480 <= df.iloc[1]["face_x"]
    assert df.iloc[0]["AU12"] > df.iloc[1]["AU12"]  # happy on the left


def _face_crop(frame: np.ndarray, det) -> np.ndarray:
    row = det.detect_image(frame).iloc[0]
    cx, cy = row["face_x"] + row["face_w"] / 2, row["face_y"] + row["face_h"] / 2
    half = max(row["face_w"], row["face_h"]) * 0.55
    y0, y1, x0, x1 = (int(round(v)) for v in (cy - half, cy + half, cx - half, cx + half))
    return frame[y0:y1, x0:x1]


def test_small_image_without_cropped(au_detector, frames):
    crop = _face_crop(frames["hap"], au_detector)
    small = np.asarray(Image.fromarray(crop).convert("L").resize((48, 48), Image.BILINEAR))
    df = au_detector.detect_image(small)
    assert len(df) == 1 and df.iloc[0]["AU12"] > 0.05


def test_cropped_always_one_row(au_detector, frames):
    crop = _face_crop(frames["hap"], au_detector)
    grey48 = np.asarray(Image.fromarray(crop).convert("L").resize((48, 48), Image.BILINEAR))
    df = au_detector.detect_image(grey48, cropped=True)
    assert len(df) == 1
    assert df.iloc[0]["face_score"] > 0.5
    assert (df.iloc[0][["face_x", "face_y"]] > -10).all()
    blank = au_detector.detect_image(np.zeros((48, 48), np.uint8), cropped=True)
    assert len(blank) == 1 and blank.iloc[0]["face_score"] < 0.5


def test_cropped_agrees_with_full_image(au_detector, frames):
    full = au_detector.detect_image(frames["hap"]).iloc[0]
    crop = _face_crop(frames["hap"], au_detector)
    c = au_detector.detect_image(crop, cropped=True).iloc[0]
    for name in ("AU12", "AU25", "AU26", "AU06"):
        assert c[name] == pytest.approx(full[name], abs=0.03), name


def test_landmarks_option_and_method(au_detector, data_dir):
    df = au_detector.detect_image(data_dir / "cremad_hap.jpg", landmarks=True)
    assert "x_0" in df.columns and "z_477" in df.columns
    lm = au_detector.landmarks(data_dir / "cremad_hap.jpg")
    assert lm.shape == (1, 478, 3)
    assert df.iloc[0]["x_33"] == pytest.approx(lm[0, 33, 0])


def test_landmarks_match_mediapipe_tasks(au_detector, frames):
    """fau's LiteRT pipeline reproduces MediaPipe's own FaceLandmarker."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    from fau.resources import model_path

    img = frames["neu"]
    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        output_facial_transformation_matrixes=True,
    )
    with vision.FaceLandmarker.create_from_options(opts) as lmk:
        res = lmk.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(img)))
    h, w = img.shape[:2]
    ref = np.array([[p.x * w, p.y * h] for p in res.face_landmarks[0]])
    ours = au_detector.landmarks(img)[0, :, :2]
    # pixels; the landmark crop comes from fau's own decoding of the letterbox view,
    # whose box differs from MediaPipe's by a few pixels (0.3-0.6 px mean, 0.5-3.3 px
    # max on the six CREMA-D frames)
    assert np.linalg.norm(ours - ref, axis=1).mean() < 0.5
    assert np.abs(ours - ref).max() < 2.0
    # Head pose from fau's fit agrees with MediaPipe's transformation matrix.
    m = np.asarray(res.facial_transformation_matrixes[0])[:3, :3]
    from fau.au import head_pose

    ref_pose = head_pose(m.T)  # head_pose takes the face→canonical rotation
    row = au_detector.detect_image(img).iloc[0]
    assert row["yaw"] == pytest.approx(ref_pose[1], abs=5)
    assert row["roll"] == pytest.approx(ref_pose[2], abs=5)
    assert row["pitch"] == pytest.approx(ref_pose[0], abs=8)


def test_bad_arguments():
    with pytest.raises(fau.FauError, match="expression_model"):
        fau.Detector(expression_model="affectnet")
    with pytest.raises(fau.FauError, match="max_faces"):
        fau.Detector(max_faces=0, expression_model=None)


def test_bad_image_inputs(au_detector, tmp_path):
    with pytest.raises(fau.FauError):
        au_detector.detect_image(tmp_path / "missing.png")
    with pytest.raises(fau.FauError):
        au_detector.detect_image(np.zeros((8, 8), np.uint8), cropped=True)


@needs_model
def test_expression_scores(detector, frames):
    df = detector.detect_image(frames["hap"])
    probs = df[list(fau.EXPRESSIONS)].to_numpy()
    assert probs.shape == (1, 8)
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)
    assert df.iloc[0]["expression"] == "happiness"
    neu = detector.detect_image(frames["neu"]).iloc[0]
    assert neu["happiness"] < df.iloc[0]["happiness"]


@needs_model
def test_no_face_with_expression_model(detector):
    df = detector.detect_image(np.zeros((120, 160, 3), np.uint8))
    assert df.empty and list(df.columns) == columns()
    assert detector.explain(np.zeros((120, 160, 3), np.uint8)).empty


@needs_model
def test_fer2013_model_has_no_contempt(frames):
    with fau.Detector(expression_model="fer2013") as det:
        df = det.detect_image(frames["hap"])
    assert df.iloc[0]["contempt"] == 0.0
    assert df[list(fau.EXPRESSIONS)].to_numpy().sum() == pytest.approx(1.0, abs=1e-6)


@needs_model
def test_explanations_add_up(detector, frames):
    ex = detector.explain(frames["hap"])
    assert set(["face", "expression", "group", "contribution", "bias", "logit",
                "probability"]) <= set(ex.columns)
    assert {"AU12", "AU06", "shape"} <= set(ex["group"])
    for _, g in ex.groupby(["face", "expression"]):
        assert g["contribution"].sum() + g["bias"].iloc[0] == pytest.approx(g["logit"].iloc[0], abs=1e-3)
    happy = ex[ex.expression == "happiness"].set_index("group")["contribution"]
    assert happy["AU12"] > 0  # smiling pushes happiness up


def test_detect_images_table(au_detector, data_dir, frames):
    hap, neu = data_dir / "cremad_hap.jpg", data_dir / "cremad_neu.jpg"
    df = au_detector.detect_images([hap, neu])
    assert list(df.columns) == ["input"] + columns()
    assert df["input"].tolist() == [str(hap), str(neu)] and df["input"].dtype == "string"
    assert df["face"].tolist() == [0, 0]
    assert df.iloc[0]["AU12"] > df.iloc[1]["AU12"] + 0.05  # the happy frame smiles more
    one = au_detector.detect_image(hap)
    assert df.iloc[0]["AU12"] == pytest.approx(one.iloc[0]["AU12"])
    assert df.attrs["no_face"] == []
    blank = np.zeros((120, 160, 3), np.uint8)
    arrays = au_detector.detect_images([blank, frames["hap"]])
    assert arrays["input"].tolist() == ["1"] and arrays.attrs["no_face"] == ["0"]
