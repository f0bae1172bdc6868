"""OpenFace CSV and ELAN EAF export (fau.export): pure functions of the video table."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fau import FauError
from fau.export import elan_document, openface_csv, openface_rotation, openface_table, speaking_runs
from fau.export.elan import elan_file_url
from fau.export.openface import OPENFACE_AUS_R
from fau.video.temporal import EVENT_COLUMNS

OPENFACE_HEAD = ["frame", "face_id", "timestamp", "confidence", "success", "gaze_angle_x",
                 "gaze_angle_y", "pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"]


def video_table(n: int = 60, tracks=(0, 1)) -> pd.DataFrame:
    rows = []
    for i in range(n):
        for k, tid in enumerate(tracks):
            r = {"frame": i, "timestamp": i / 30, "track_id": tid, "face": k,
                 "face_x": 100.0 + 300 * k, "face_y": 80.0, "face_w": 155.0, "face_h": 180.0,
                 "face_score": 0.9, "pitch": 10.0, "yaw": -20.0, "roll": 0.0,
                 "gaze_yaw": 15.0 if i < n // 2 else -15.0, "gaze_pitch": 5.0,
                 "speaking": bool(tid == 0 and 10 <= i < 40)}
            for a in OPENFACE_AUS_R + ("AU12_L",):
                r[a] = 0.01
                r[f"{a}_rel"] = -0.01 if a == "AU04" else 0.02
            rows.append(r)
    df = pd.DataFrame(rows)
    df.attrs["video"] = {"path": "clip.mp4", "width": 640, "height": 480}
    return df


def events_table() -> pd.DataFrame:
    ev = pd.DataFrame([
        (0, "au", "AU12", 0.5, 0.6, 0.8, 11 / 30, 0.08, 15, 18, 24, True, True),
        (0, "au", "AU25", 0.6, 0.7, 0.9, 10 / 30, 0.05, 18, 21, 27, True, True),
        (1, "expression", "happiness", 1.0, 1.2, 1.5, 16 / 30, 0.8, 30, 36, 45, False, False),
    ], columns=EVENT_COLUMNS)
    ev["during_speech"] = ev["during_speech"].astype("boolean")
    return ev


# --- OpenFace --------------------------------------------------------------------------------
def test_openface_columns_order_and_units():
    df = video_table()
    t = openface_table(df, events_table())
    aus_r = [f"{a}_r" for a in OPENFACE_AUS_R]
    aus_c = [f"{a}_c" for a in OPENFACE_AUS_R]  # AU28_c: fau does not measure it
    assert list(t.columns) == OPENFACE_HEAD + aus_r + aus_c
    assert t["frame"].min() == 1 and t["face_id"].tolist()[:2] == [0, 1]
    np.testing.assert_allclose(t["AU12_r"], 0.02)
    assert (t["AU04_r"] == 0).all()  # negative baseline-relative values are 0
    c = t[t.face_id == 0].set_index("frame")["AU12_c"]
    assert c.loc[16:25].eq(1).all() and c.loc[:15].eq(0).all() and c.loc[26:].eq(0).all()
    assert t.loc[t.face_id == 1, "AU12_c"].eq(0).all()
    # gaze: OpenFace x > 0 towards the image's right, y > 0 looking down (radians)
    first, last = t.iloc[0], t.iloc[-1]
    assert first["gaze_angle_x"] == pytest.approx(np.radians(15.0), abs=1e-6)
    assert last["gaze_angle_x"] < 0 and first["gaze_angle_y"] < 0  # gaze_pitch 5 = up
    # pose: fau pitch 10 (chin up) -> Rx < 0; yaw -20 -> Ry > 0
    assert first["pose_Rx"] == pytest.approx(-np.radians(10.0), abs=0.02)
    assert first["pose_Ry"] == pytest.approx(np.radians(20.0), abs=0.02)
    # a 155-px wide face at 640 px: 500 px focal length -> 500 mm away
    assert first["pose_Tz"] == pytest.approx(500.0)
    assert first["pose_Tx"] < 0 < t.iloc[1]["pose_Tx"]  # left face, right face


def test_openface_rotation_small_angles():
    r = openface_rotation(np.array([10.0, 0, 0]), np.array([0, 10.0, 0]), np.array([0, 0, 10.0]))
    np.testing.assert_allclose(np.diag(r), -np.radians(10.0), atol=1e-9)
    assert np.allclose(r - np.diag(np.diag(r)), 0.0, atol=1e-9)


def test_openface_csv_text_reads_back():
    df = video_table()
    df.loc[3, "gaze_yaw"] = np.nan  # a blink
    text = openface_csv(df, events_table())
    header = text.splitlines()[0]
    assert header.startswith("frame, face_id, timestamp, confidence, success, gaze_angle_x")
    back = pd.read_csv(io.StringIO(text), skipinitialspace=True)
    assert list(back.columns) == list(openface_table(df, events_table()).columns)
    assert len(back) == len(df) and np.isnan(back.loc[3, "gaze_angle_x"])
    assert back["timestamp"].iloc[-1] == pytest.approx(59 / 30, abs=1e-3)
    # scripts written for OpenFace files select columns with the leading space
    raw = pd.read_csv(io.StringIO(text))
    assert " AU12_r" in raw.columns


def test_openface_needs_a_video_table():
    with pytest.raises(FauError, match="detect_video"):
        openface_table(pd.DataFrame({"AU12": [0.1]}))


# --- ELAN --------------------------------------------------------------------------------
def _parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.split("\n", 1)[1])


def _annotations(root: ET.Element) -> dict[str, list[tuple[int, int, str]]]:
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    out = {}
    for tier in root.iter("TIER"):
        anns = []
        for a in tier.iter("ALIGNABLE_ANNOTATION"):
            anns.append((slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")],
                         a.findtext("ANNOTATION_VALUE")))
        out[tier.get("TIER_ID")] = sorted(anns)
    return out


def test_elan_document_structure(tmp_path):
    df = video_table()
    seg = pd.DataFrame({"start": [0.0, 1.0], "end": [1.0, 2.0], "label": ["q1", ""]})
    eaf = tmp_path / "out" / "a.eaf"
    eaf.parent.mkdir()
    root = _parse(elan_document(df, events_table(), seg, media=tmp_path / "clip.mp4", eaf_path=eaf))
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0"
    assert root.get("VERSION") == "3.0" and root.get("AUTHOR") == "fau" and root.get("DATE")
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation").endswith(
        "EAFv3.0.xsd")
    # the EAF 3.0 schema's element order
    order = [c.tag for c in root]
    first = {t: order.index(t) for t in set(order)}
    assert first["HEADER"] == 0 and first["TIME_ORDER"] == 1
    assert first["TIER"] < first["LINGUISTIC_TYPE"] < first["CONSTRAINT"]
    header = root.find("HEADER")
    assert header.get("TIME_UNITS") == "milliseconds"
    media = header.find("MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL") == "file://" + (tmp_path / "clip.mp4").resolve().as_posix()
    assert media.get("RELATIVE_MEDIA_URL") == "../clip.mp4"
    assert media.get("MIME_TYPE") == "video/mp4"
    lt = root.find("LINGUISTIC_TYPE")
    assert lt.get("LINGUISTIC_TYPE_ID") == "fau" and lt.get("TIME_ALIGNABLE") == "true"
    assert all(t.get("LINGUISTIC_TYPE_REF") == "fau" for t in root.iter("TIER"))
    ids = [a.get("ANNOTATION_ID") for a in root.iter("ALIGNABLE_ANNOTATION")]
    assert len(ids) == len(set(ids))
    anns = _annotations(root)
    assert {"segments", "P0 speaking", "P0 expression", "P0 AU events", "P1 speaking",
            "P1 expression", "P1 AU events"} <= set(anns)
    assert anns["segments"] == [(0, 1000, "q1"), (1000, 2000, "segment 1")]
    assert anns["P0 speaking"] == [(333, 1333, "speaking")]
    assert anns["P1 speaking"] == []
    assert anns["P1 expression"] == [(1000, 1533, "happiness (peak 0.80)")]
    # AU12 and AU25 overlap: two lanes, neither with overlapping annotations
    assert anns["P0 AU events"] == [(500, 867, "AU12 (peak 0.080 IOD), during speech")]
    assert anns["P0 AU events 2"] == [(600, 933, "AU25 (peak 0.050 IOD), during speech")]
    for tier in anns.values():
        for (a0, a1, _), (b0, _, _) in zip(tier, tier[1:]):
            assert a1 <= b0
        assert all(a < b for a, b, _ in tier)
    last = [p.text for p in header.iter("PROPERTY") if p.get("NAME") == "lastUsedAnnotationId"]
    assert last and int(last[0]) >= len(ids)


def test_elan_eye_closure_events_are_labelled_in_eye_openings():
    """AU43 and AU45 are fractions of the neutral eye opening, not of the IOD (fau.au.AU_UNITS)."""
    ev = pd.DataFrame([
        (0, "au", "AU43", 0.5, 0.6, 0.8, 11 / 30, 0.95, 15, 18, 24, False, False),
        (0, "au", "AU45", 1.0, 1.1, 1.2, 6 / 30, 0.80, 30, 33, 36, False, False),
        (0, "au", "AU12", 1.5, 1.6, 1.8, 9 / 30, 0.06, 45, 48, 54, False, False),
    ], columns=EVENT_COLUMNS)
    anns = _annotations(_parse(elan_document(video_table(), ev, None)))
    labels = sorted(v for k, t in anns.items() if "AU events" in k for _, _, v in t)
    assert labels == ["AU12 (peak 0.060 IOD)", "AU43 (peak 0.950 opening)",
                      "AU45 (peak 0.800 opening)"]


def test_elan_file_reads_back_with_pympi(tmp_path):
    from pympi.Elan import Eaf

    path = tmp_path / "b.eaf"
    path.write_text(elan_document(video_table(), events_table(), None), encoding="utf-8")
    eaf = Eaf(str(path))
    assert eaf.get_annotation_data_for_tier("P0 speaking") == [(333, 1333, "speaking")]
    assert eaf.media_descriptors[0]["MEDIA_URL"].endswith("clip.mp4")


def test_elan_document_is_well_formed_whatever_the_labels(tmp_path):
    # control characters (a spreadsheet's vertical tab, a NUL) are not XML 1.0 characters:
    # the file must still parse, as ELAN parses it, with the rest of each label kept
    labels = ["q1 \x0b part two", "nul\x00here", "a < b & \"c\"", "tab\tkept"]
    seg = pd.DataFrame({"start": [0.0, 1.0, 2.0, 3.0], "end": [1.0, 2.0, 3.0, 4.0],
                        "label": labels})
    root = _parse(elan_document(video_table(), events_table(), seg, media=None))
    got = [v for _, _, v in _annotations(root)["segments"]]
    assert got == ["q1 \ufffd part two", "nul\ufffdhere", 'a < b & "c"', "tab\tkept"]


def test_elan_links_an_upload_by_the_users_file_name(tmp_path):
    # a service analyses its copy of the upload: the link names the user's file, beside the .eaf
    upload = tmp_path / "server" / "jobs" / "0f3a" / "input.mp4"
    root = _parse(elan_document(video_table(), events_table(), None, media=upload,
                                media_name="C:\\Users\\me\\interview 3.mp4",
                                eaf_path=tmp_path / "x.eaf"))
    media = root.find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL") == media.get("RELATIVE_MEDIA_URL") == "./interview 3.mp4"
    assert "server" not in ET.tostring(root, encoding="unicode")


def test_speaking_runs_split_at_gaps():
    df = video_table(tracks=(0,))
    assert speaking_runs(df) == [(0, pytest.approx(10 / 30), pytest.approx(40 / 30))]
    assert speaking_runs(df.drop(columns=["speaking"])) == []
    with pytest.raises(FauError):
        elan_document(pd.DataFrame({"a": [1]}))


# --- from the command line -------------------------------------------------------------------
@pytest.mark.slow
def test_cli_writes_openface_and_elan(tmp_path):
    from fau.cli import main

    clip = Path(__file__).parent / "data" / "cremad" / "1001_DFA_HAP_XX.flv"
    out_csv, out_eaf = tmp_path / "of.csv", tmp_path / "a.eaf"
    assert main(["video", str(clip), "--model", "none", "--no-progress",
                 "--openface-csv", str(out_csv), "--elan", str(out_eaf)]) == 0
    of = pd.read_csv(out_csv, skipinitialspace=True)
    assert list(of.columns[:13]) == OPENFACE_HEAD and "AU12_r" in of.columns
    assert len(of) == 56 and of["face_id"].eq(0).all()
    assert of["gaze_angle_x"].notna().mean() > 0.9  # the video table has gaze
    root = _parse(out_eaf.read_text(encoding="utf-8"))
    assert root.find("HEADER/MEDIA_DESCRIPTOR").get("MEDIA_URL") == elan_file_url(clip)
    speaking = _annotations(root)["P0 speaking"]
    assert len(speaking) >= 1 and 200 < speaking[0][0] < 700  # the sentence starts at ~0.35 s
    # nothing is overwritten
    assert main(["video", str(clip), "--model", "none", "--no-progress",
                 "--openface-csv", str(out_csv)]) == 2


def test_openface_presence_uses_fau_occurrence_columns_when_present():
    df = video_table()
    for a in OPENFACE_AUS_R:
        df[f"{a}_c"] = 0.0
    df.loc[df.frame == 5, "AU12_c"] = 1.0
    t = openface_table(df, events_table())
    assert t.loc[t["AU12_c"] == 1, "frame"].unique().tolist() == [6]  # OpenFace frame = 5 + 1
