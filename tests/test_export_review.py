"""Review of the OpenFace CSV and ELAN EAF writers (fau.export): edge cases that made
files ELAN or OpenFace readers misread, or failed with a traceback after the analysis."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fau import FauError
from fau.export import elan_document, openface_table, speaking_runs
from fau.video.temporal import EVENT_COLUMNS, find_events

from test_export import _annotations, _parse, events_table, video_table


# --- OpenFace: position estimate of a portrait (rotated) phone video ---------------------------
def test_openface_position_uses_the_upright_frame_of_a_rotated_video():
    """A phone's portrait video is coded landscape (header 1920×1080) with a display matrix;
    fau analyses the upright 1080×1920 frames, so the camera model must use that size."""
    df = video_table(n=2, tracks=(0,))
    # a 300-px face in the centre of the upright 1080×1920 frame
    df[["face_x", "face_y", "face_w", "face_h"]] = [540.0 - 150, 960.0 - 150, 300.0, 300.0]
    df.attrs["video"] = {"path": "phone.mov", "width": 1920, "height": 1080}
    df.attrs["decoding"] = {"rotation": 90}
    t = openface_table(df, events_table())
    focal = 500.0 * 1080 / 640  # OpenFace's default camera for a 1080-px wide frame
    assert t["pose_Tz"].iloc[0] == pytest.approx(focal * 155.0 / 300.0)
    assert t["pose_Tx"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert t["pose_Ty"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    # not turned (or turned by 180°): the header's size is the frame's
    df.attrs["decoding"] = {"rotation": 180}
    df.attrs["video"] = {"path": "phone.mov", "width": 1080, "height": 1920}
    assert openface_table(df, events_table())["pose_Tx"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    # an explicit size is taken as given
    df.attrs["decoding"] = {"rotation": 270}
    t = openface_table(df, events_table(), width=1080, height=1920)
    assert t["pose_Tx"].iloc[0] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_openface_position_of_a_rotated_clip_matches_the_upright_clip(tmp_path, detector):
    from badcorpus import rotated_clip

    upright = detector.detect_video(Path(__file__).parent / "data" / "cremad"
                                    / "1001_DFA_HAP_XX.flv", end=0.5)
    turned = detector.detect_video(rotated_clip(tmp_path, 90), end=0.5)
    assert turned.attrs["decoding"]["rotation"] == 90
    a = openface_table(upright)[["pose_Tx", "pose_Ty", "pose_Tz"]].iloc[0].to_numpy()
    b = openface_table(turned)[["pose_Tx", "pose_Ty", "pose_Tz"]].iloc[0].to_numpy()
    np.testing.assert_allclose(b, a, atol=5.0)  # mm (re-encoding moves the box a little)


# --- ELAN: media link ---------------------------------------------------------------------------
def test_elan_video_on_another_drive_than_the_eaf(tmp_path, monkeypatch):
    """Windows: os.path.relpath raises ValueError for D:\\clip.mp4 and C:\\out\\a.eaf; the
    file keeps its absolute link instead of failing after the analysis."""
    def other_drive(path, start=None):
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr(os.path, "relpath", other_drive)
    clip = tmp_path / "clip.mp4"
    root = _parse(elan_document(video_table(), events_table(), None, media=clip,
                                eaf_path=tmp_path / "a.eaf"))
    media = root.find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL") == "file://" + clip.resolve().as_posix()
    assert media.get("RELATIVE_MEDIA_URL") is None


def _elan_path(url: str) -> str:
    """The path ELAN opens for a MEDIA_URL (its ``FileUtility.urlToAbsPath``: the scheme
    and two of the slashes removed, nothing decoded)."""
    path = url[len("file:"):] if url.startswith("file:") else url
    return path[2:] if path.startswith("///") else path


@pytest.mark.parametrize("folder, name", [("my videos", "interview 3.mp4"),
                                          ("entretiens é", "séance #2 100%.mp4")])
def test_elan_links_a_video_with_spaces_as_elan_reads_it(tmp_path, folder, name):
    """ELAN does not %-decode MEDIA_URL: ``file:///my%20videos/...`` (RFC 8089, what
    ``Path.as_uri`` writes) named a file that does not exist, so ELAN did not find a
    video moved away from the .eaf; and ELAN writes the parent folder as ``../``."""
    clip = tmp_path / folder / name
    clip.parent.mkdir()
    clip.write_bytes(b"")
    (tmp_path / "out").mkdir()
    root = _parse(elan_document(video_table(), events_table(), None, media=clip,
                                eaf_path=tmp_path / "out" / "a.eaf"))
    media = root.find("HEADER/MEDIA_DESCRIPTOR")
    assert Path(_elan_path(media.get("MEDIA_URL"))).is_file()
    assert media.get("RELATIVE_MEDIA_URL") == f"../{folder}/{name}"
    assert (tmp_path / "out" / media.get("RELATIVE_MEDIA_URL")).is_file()


def test_elan_video_name_that_is_not_utf8(tmp_path):
    """A file name with a Latin-1 byte (an old archive's ``interview_\\xe9.mp4``) is a lone
    surrogate in Python: the .eaf must still be UTF-8 text, linked by its %-encoded URL."""
    clip = tmp_path / os.fsdecode(b"interview_\xe9.mp4")
    text = elan_document(video_table(), events_table(), None, media=clip,
                         eaf_path=tmp_path / "a.eaf")
    data = text.encode("utf-8")  # what fau.files.write_text does
    media = ET.fromstring(data.split(b"\n", 1)[1]).find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL").endswith("/interview_%E9.mp4")
    assert media.get("MEDIA_URL") == clip.as_uri()
    assert media.get("RELATIVE_MEDIA_URL") is None


def test_elan_time_slots_are_in_time_order():
    """pympi numbers slots as annotations are added, tier by tier: a real clip's TIME_ORDER
    read 361, 1395, 27, 227, 27, 327 ms. Renumbered in time order, the annotations keep
    their times."""
    frames, events = video_table(), events_table()
    root = _parse(elan_document(frames, events, None))
    slots = [(s.get("TIME_SLOT_ID"), int(s.get("TIME_VALUE"))) for s in root.iter("TIME_SLOT")]
    assert [t for _, t in slots] == sorted(t for _, t in slots)
    assert [i for i, _ in slots] == [f"ts{k}" for k in range(1, len(slots) + 1)]
    anns = _annotations(root)
    assert anns["P0 AU events"] and anns["P0 speaking"]
    assert all(a < b for tier in anns.values() for a, b, _ in tier)


@pytest.mark.parametrize("table", ["frames", "onset", "duration"])
def test_elan_times_before_zero_are_a_clear_error(table):
    """EAF times are unsigned ms: a table whose timestamps start before 0 s (a user's own
    table, a stream with pre-roll) made pympi raise 'ValueError: Start is negative...'
    from inside; a NaN event duration was int()'s 'cannot convert float NaN'."""
    frames, events = video_table(), events_table()
    if table == "frames":
        frames["timestamp"] -= 0.5
    elif table == "onset":
        events.loc[1, "onset"] = -0.2
    else:
        events.loc[0, "duration"] = np.nan
    with pytest.raises(FauError, match="0 s or later"):
        elan_document(frames, events, None)


def test_elan_segment_label_that_is_not_utf8():
    """A label made from a Latin-1 file name (``os.listdir`` gives ``caf\\udce9``): pandas'
    Arrow strings raised UnicodeEncodeError in read_segments (found by the property test
    below); the label is kept with its byte written as ``\\xe9``."""
    from fau.video import read_segments

    assert read_segments([(0.0, 1.0, "caf\udce9")])["label"].tolist() == ["caf\\xe9"]
    root = _parse(elan_document(video_table(), events_table(), [(0.0, 1.0, "caf\udce9")]))
    assert _annotations(root)["segments"] == [(0, 1000, "caf\\xe9")]


# --- ELAN: segments -----------------------------------------------------------------------------
def test_elan_segments_are_checked_and_labelled():
    df, ev = video_table(), events_table()
    no_label = pd.DataFrame({"start": [0.0, 1.0], "end": [1.0, 2.0]})
    assert _annotations(_parse(elan_document(df, ev, no_label)))["segments"] == [
        (0, 1000, "segment 0"), (1000, 2000, "segment 1")]
    nan_label = pd.DataFrame({"start": [0.0], "end": [1.0], "label": [np.nan]})
    assert _annotations(_parse(elan_document(df, ev, nan_label)))["segments"] == [
        (0, 1000, "segment 0")]
    tuples = [(0.0, 1.0, "q1"), (1.0, 2.5, "q2")]
    assert _annotations(_parse(elan_document(df, ev, tuples)))["segments"] == [
        (0, 1000, "q1"), (1000, 2500, "q2")]
    for bad in ([(-1.0, 1.0, "x")], [(2.0, 1.0, "x")], [(float("nan"), 1.0, "x")]):
        with pytest.raises(FauError, match="segments|start|end"):
            elan_document(df, ev, bad)


def test_elan_segments_out_of_order_share_one_tier():
    seg = [(5.0, 10.0, "second"), (0.0, 3.0, "first")]
    anns = _annotations(_parse(elan_document(video_table(), events_table(), seg)))
    assert anns["segments"] == [(0, 3000, "first"), (5000, 10000, "second")]
    assert "segments 2" not in anns


# --- ELAN: speaking runs -------------------------------------------------------------------------
def test_speaking_runs_with_a_variable_frame_rate_do_not_overlap():
    """A burst of closely spaced frames: one silent frame between two speaking ones, less
    than one median interval apart. The first run ends where the silent frame begins."""
    t = [0.0, 0.04, 0.08, 0.12, 0.13, 0.14, 0.18, 0.22]
    s = [False, True, True, True, False, True, True, False]
    df = pd.DataFrame({"frame": range(8), "track_id": 0, "timestamp": t, "speaking": s})
    runs = speaking_runs(df)
    assert runs == [(0, 0.04, pytest.approx(0.13)), (0, 0.14, pytest.approx(0.22))]
    anns = _annotations(_parse(elan_document(df, pd.DataFrame(columns=EVENT_COLUMNS), None)))
    assert anns["P0 speaking"] == [(40, 130, "speaking"), (140, 220, "speaking")]
    assert "P0 speaking 2" not in anns


@pytest.mark.parametrize("missing, runs", [(6, 1), (13, 1), (20, 2)])
def test_speaking_runs_end_at_the_gaps_that_end_events(missing, runs):
    """docs/video.md: the speaking runs end at the gaps that end events (longer than 2.5
    frame intervals and than 0.5 s); a face lost for 0.2 s while talking split the run."""
    n = 90
    t = np.delete(np.arange(n) / 30, np.arange(40, 40 + missing))  # the face lost a while
    df = pd.DataFrame({"frame": np.arange(len(t)), "track_id": 0, "timestamp": t,
                       "speaking": True, "AU12_rel": 0.05})
    got = speaking_runs(df)
    assert len(got) == runs
    events = find_events(df, expressions=False, speech_aus="keep")
    assert (events["name"] == "AU12").sum() == runs  # the same gap rule as events
    assert got[0][0] == 0 and got[0][1] == 0.0 and got[-1][2] == pytest.approx(3.0)


@st.composite
def _speaking_tables(draw):
    n = draw(st.integers(0, 40))
    # increasing timestamps (fau.video.reader guarantees it), variable intervals and gaps
    steps = draw(st.lists(st.sampled_from([0.005, 0.02, 0.033, 0.04, 0.05, 0.6]),
                          min_size=n, max_size=n))
    t = np.cumsum(steps) + draw(st.sampled_from([0.0, 12.345]))
    return pd.DataFrame({"frame": np.arange(n), "track_id": 0, "timestamp": t,
                         "speaking": draw(st.lists(st.booleans(), min_size=n, max_size=n))})


@settings(max_examples=150, deadline=None)
@given(_speaking_tables())
def test_speaking_runs_property(df):
    runs = speaking_runs(df)
    t = df["timestamp"].to_numpy()
    for (_, a0, a1), (_, b0, _) in zip(runs, runs[1:]):
        assert a1 <= b0 + 1e-12  # never overlapping
    for _, a, b in runs:
        assert a < b or np.isclose(a, b)
        assert df.loc[np.isclose(t, a), "speaking"].any()  # a run starts on a speaking frame


# --- ELAN: any labels, times and tracks give a file ELAN reads -----------------------------------
_LABEL = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)


@st.composite
def _documents(draw):
    tracks = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True))
    n = draw(st.integers(1, 30))
    rows = [{"frame": i, "timestamp": 7.0 + i / 25, "track_id": tid,
             "speaking": draw(st.booleans())} for i in range(n) for tid in tracks]
    frames = pd.DataFrame(rows)
    ev = []
    for _ in range(draw(st.integers(0, 8))):
        onset = draw(st.floats(7.0, 9.0))
        dur = draw(st.floats(0.0, 1.5))
        kind = draw(st.sampled_from(["au", "expression"]))
        name = draw(st.sampled_from(["AU12", "AU45", "happiness"]))
        ev.append((draw(st.sampled_from(tracks + [9])), kind, name, onset, onset + dur / 2,
                   onset + dur, dur, draw(st.floats(0.0, 1.0)), 0, 1, 2,
                   draw(st.booleans()), False))
    events = pd.DataFrame(ev, columns=EVENT_COLUMNS)
    seg = [(s, s + d, draw(_LABEL)) for s, d in draw(st.lists(
        st.tuples(st.floats(0.0, 100.0), st.floats(0.001, 50.0)), max_size=6))]
    # a file name: any text, or bytes that are not UTF-8 (as Python decodes them)
    name = draw(st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
                          st.binary(max_size=8).map(os.fsdecode)))
    return frames, events, (seg or None), name


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_elan_document_property(tmp_path_factory, doc):
    frames, events, segments, name = doc
    folder = tmp_path_factory.mktemp("eaf")
    media = folder / (name.replace("/", "_").replace("\x00", "_") + "clip.mp4")
    text = elan_document(frames, events, segments, media=media, eaf_path=folder / "a.eaf")
    root = ET.fromstring(text.encode("utf-8").split(b"\n", 1)[1])  # UTF-8, well-formed
    slots = {}
    for s in root.iter("TIME_SLOT"):
        assert s.get("TIME_SLOT_ID") not in slots
        value = s.get("TIME_VALUE")
        assert value.isdigit()  # xsd:unsignedInt, milliseconds
        slots[s.get("TIME_SLOT_ID")] = int(value)
    times = list(slots.values())  # TIME_ORDER: the time line, in order
    assert times == sorted(times)
    ids = [a.get("ANNOTATION_ID") for a in root.iter("ALIGNABLE_ANNOTATION")]
    assert len(ids) == len(set(ids))
    last = [p.text for p in root.iter("PROPERTY") if p.get("NAME") == "lastUsedAnnotationId"]
    assert all(int(i[1:]) <= int(last[0]) for i in ids)
    tier_ids = [t.get("TIER_ID") for t in root.iter("TIER")]
    assert len(tier_ids) == len(set(tier_ids))
    for tier in root.iter("TIER"):
        spans = sorted((slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")])
                       for a in tier.iter("ALIGNABLE_ANNOTATION"))
        assert all(a < b for a, b in spans)
        assert all(a1 <= b0 for (_, a1), (b0, _) in zip(spans, spans[1:]))
    n_seg = sum(len(t.findall("ANNOTATION")) for t in root.iter("TIER")
                if t.get("TIER_ID").startswith("segments"))
    assert n_seg == len(segments or [])


def test_media_type_does_not_depend_on_the_hosts_mime_database(monkeypatch):
    # the host's database (/etc/mime.types, the Windows registry) may call .mp4 anything;
    # the .eaf of the same video must be the same on every machine
    import mimetypes

    from fau.export.elan import media_type

    monkeypatch.setattr(mimetypes, "guess_type", lambda *a, **k: ("application/x-odd", None))
    assert media_type("/v/a.mp4") == "video/mp4"
    assert media_type("./a.mov") == "video/quicktime"
    assert media_type("a.unknownext") == "video/*"
