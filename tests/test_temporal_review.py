"""Review of the per-frame interview signals (fau.video.temporal, segments, speech):
NaN rows (frames without a face) and missing AUs, irregular and bad timestamps, tables of
0-2 rows, several faces, segment summaries whose columns must not depend on the data.
Synthetic series, no models needed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fau
from fau import FauError
from fau.video import (
    AU_FILTER,
    EXPRESSION_FILTER,
    OneEuro,
    add_speech,
    add_temporal,
    find_events,
    neutral_baseline,
    smooth,
    summarize_segments,
)
from fau.video.speech import lip_motion
from fau.video.temporal import BRIEF_S, GAP_INTERVALS

FPS = 30.0  # frames/s of the synthetic tables


def table(n: int = 300, tracks: int = 1, seed: int = 0, pulses=(), t0: float = 0.0,
          times: np.ndarray | None = None) -> pd.DataFrame:
    """A detect_video-like table: per-person AU offset + 0.003 IOD noise + pulses
    ``(au, start_s, length_s, height_iod)``; Dirichlet expression probabilities."""
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / FPS if times is None else np.asarray(times, np.float64)
    parts = []
    for tid in range(tracks):
        d = {"frame": np.round(t * FPS).astype(int), "timestamp": t, "track_id": tid}
        for a in fau.AU_NAMES:
            d[a] = 0.05 * (tid + 1) + rng.normal(0, 0.003, len(t))
        for au, s0, length, h in pulses:
            d[au] = d[au] + h * ((t >= s0) & (t < s0 + length))
        p = rng.dirichlet(np.ones(8), len(t))
        for j, e in enumerate(fau.EXPRESSIONS):
            d[e] = p[:, j]
        parts.append(pd.DataFrame(d))
    return pd.concat(parts, ignore_index=True)


# --- smoothing: a missing value is a frame that is not there ---------------------------------
def test_a_first_frame_without_values_does_not_switch_the_filter_off():
    # old: the first NaN poisoned the derivative for good and every later output was the
    # raw input (no smoothing at all for the rest of the track)
    t = np.arange(10) / FPS
    x = np.r_[np.nan, 0.0, 0.01, 0, 0.01, 0, 0.01, 0, 0.01, 0][:, None]  # jitter (IOD)
    for params in (AU_FILTER, EXPRESSION_FILTER):
        got = smooth(x, t, params)
        assert np.isnan(got[0, 0])
        np.testing.assert_allclose(got[1:], smooth(x[1:], t[1:], params))
        assert got[1:, 0].max() < 0.009  # smoothed, not the raw alternation


def test_smoothed_value_of_a_frame_without_a_value_is_nan_not_a_held_one():
    # old: the last estimate was held through NaN frames, so AUxx_smooth/_rel had values
    # (e.g. a whole smile) for frames in which the face was not measured
    t = np.arange(90) / FPS
    x = np.where(t < 1.0, 0.2, 0.0)[:, None]
    x[20:60] = np.nan
    y = smooth(x, t)
    assert np.isnan(y[20:60]).all() and np.isfinite(y[:20]).all() and np.isfinite(y[60:]).all()


@settings(max_examples=60, deadline=None)
@given(
    gaps_ms=st.lists(st.integers(1, 2000), min_size=0, max_size=40),  # VFR, drops, cut-aways
    t0=st.floats(0.0, 5000.0),
    seed=st.integers(0, 10**6),
    chunk=st.integers(1, 41),
)
def test_nan_rows_are_absent_rows_constants_stay_and_chunking_does_not_matter(
        gaps_ms, t0, seed, chunk):
    rng = np.random.default_rng(seed)
    t = t0 + np.cumsum([0] + gaps_ms) / 1000.0
    n, k = len(t), 3
    x = rng.normal(0.1, 0.05, (n, k))
    miss = rng.random((n, k)) < 0.3
    x[miss] = np.nan
    y = smooth(x, t)
    assert (np.isnan(y) == miss).all()
    for j in range(k):  # each component as if its NaN frames were not in the table
        keep = ~miss[:, j]
        if keep.any():
            np.testing.assert_allclose(y[keep, j], smooth(x[keep, j:j + 1], t[keep])[:, 0],
                                       rtol=1e-12, atol=1e-12)
    const = np.where(miss, np.nan, 0.137)
    np.testing.assert_allclose(smooth(const, t)[~miss], 0.137, rtol=1e-12)
    f, parts = OneEuro(AU_FILTER), []
    for s in range(0, n, chunk):  # live, frame by frame, fed in chunks
        parts += [f(x[i], t[i]) for i in range(s, min(s + chunk, n))]
    np.testing.assert_array_equal(np.array(parts).reshape(n, k), y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_timestamp_that_is_not_finite_is_refused(bad):
    # old: silently accepted; after a NaN time every later sample was passed through raw
    df = table(n=60)
    df.loc[10, "timestamp"] = bad
    with pytest.raises(FauError, match="add_temporal: 1 timestamp"):
        add_temporal(df)
    with pytest.raises(FauError, match="find_events: 1 timestamp"):
        find_events(add_temporal(table(n=60)).assign(timestamp=df["timestamp"]))
    with pytest.raises(FauError, match="add_speech: 1 timestamp"):
        add_speech(df, None)
    with pytest.raises(FauError, match="smooth: 1 timestamp"):
        smooth(np.zeros((60, 1)), df["timestamp"].to_numpy())
    with pytest.raises(FauError, match="finite timestamp"):
        OneEuro()(np.zeros(2), bad)
    with pytest.raises(FauError, match="one timestamp per row"):
        smooth(np.zeros((60, 1)), np.arange(59) / FPS)


# --- baseline -----------------------------------------------------------------------------
def test_an_au_never_measured_does_not_make_the_first_frames_the_baseline():
    # old: one all-NaN AU column ranked every frame "missing", so the neutral frames were
    # simply the first ones: here the first 30 frames are a movement
    au = np.full((100, 3), 0.05)
    au[:30] = 0.3
    au[:, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        base, neutral = neutral_baseline(au)
    assert not neutral[:30].any() and neutral.sum() == 20
    np.testing.assert_allclose(base[:2], 0.05)
    assert np.isnan(base[2])


def test_frames_without_a_face_are_not_neutral_and_split_an_event_like_absent_frames():
    # a 3-s smile at 2-5 s; the face is not measured (NaN row) from 3.0 to 4.5 s
    df = table(pulses=[("AU12", 2.0, 3.0, 0.15)])
    away = (df["timestamp"] >= 3.0) & (df["timestamp"] < 4.5)
    masked = df.copy()
    masked.loc[away, list(fau.AU_NAMES) + list(fau.EXPRESSIONS)] = np.nan
    out = add_temporal(masked)
    assert out.loc[away, "AU12_smooth"].isna().all() and out.loc[away, "AU12_rel"].isna().all()
    assert not out.loc[away, "neutral_frame"].any()
    assert out.loc[away, "expression_smooth"].isna().all()
    assert out.loc[~away, "expression_smooth"].notna().all()
    smile = find_events(out, expressions=False).query("name == 'AU12'")
    gone = find_events(add_temporal(df[~away]), expressions=False).query("name == 'AU12'")
    # old: one event from 2.0 to 5.03 s, bridged by held values
    assert len(smile) == len(gone) == 2
    np.testing.assert_allclose(smile[["onset", "offset"]], gone[["onset", "offset"]])


def test_baseline_window_of_frames_without_a_face_falls_back_to_the_rule(caplog):
    df = table(n=300)
    blank = df["timestamp"] < 2.0
    df.loc[blank, list(fau.AU_NAMES)] = np.nan
    with warnings.catch_warnings(), caplog.at_level("WARNING", logger="fau.video.temporal"):
        warnings.simplefilter("error")
        out = add_temporal(df, baseline=(0.0, 1.5))
    assert "no frame in the baseline window" in caplog.text
    assert out.loc[~blank, "AU04_rel"].notna().all()


def test_one_row_of_missing_probabilities_does_not_blank_every_expression_label():
    # old: a single NaN probability anywhere made expression_smooth None in every row
    df = table(n=90, tracks=2)
    df.loc[0, list(fau.EXPRESSIONS)] = np.nan
    out = add_temporal(df)
    assert out["expression_smooth"].isna().sum() == 1 and pd.isna(out.loc[0, "expression_smooth"])
    # the dtype of `expression` (pandas string, missing = pd.NA); it was object with None
    assert out["expression_smooth"].dtype == "string" and out.loc[0, "expression_smooth"] is pd.NA
    s = out[[f"{e}_smooth" for e in fau.EXPRESSIONS]].to_numpy()[1:]
    np.testing.assert_allclose(s.sum(axis=1), 1.0, atol=1e-9)


# --- events -------------------------------------------------------------------------------
def _rel_table(t: np.ndarray, au12: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"frame": np.arange(len(t)), "timestamp": t, "track_id": 0,
                         "AU12_rel": au12, "neutral_frame": True})


def test_one_frame_without_a_value_does_not_split_an_event():
    # old: a NaN AUxx_rel frame in a 1-s smile made two events; a missing row does not
    t = np.arange(150) / FPS
    v = np.where((t >= 2.0) & (t < 3.0), 0.15, 0.0)
    v[75] = np.nan
    ev = find_events(_rel_table(t, v), expressions=False)
    gone = find_events(_rel_table(np.delete(t, 75), np.delete(v, 75)), expressions=False)
    assert len(ev) == 1
    pd.testing.assert_frame_equal(ev.drop(columns=["onset_frame", "apex_frame", "offset_frame"]),
                                  gone.drop(columns=["onset_frame", "apex_frame", "offset_frame"]))
    v[65:85] = np.nan  # 0.7 s without a value (2.13-2.83 s): longer than BRIEF_S, a gap
    assert len(find_events(_rel_table(t, v), expressions=False)) == 2


def _interview(n, tracks, seed, t0, drops, nan_share):
    """Several faces, each seen over its own stretch, at a variable frame rate with drops,
    NaN rows and timestamps that do not start at 0."""
    rng = np.random.default_rng(seed)
    parts = []
    for tid in range(tracks):
        dt = rng.uniform(0.025, 0.045, n)  # 22-40 frames/s
        dt[rng.random(n) < drops] += rng.uniform(0.1, 3.0)  # dropped frames, cut-aways
        t = t0 + rng.uniform(0, 5) + np.cumsum(dt)
        pulses = [("AU12", t[n // 3], 1.0, 0.15), ("AU04", t[n // 2], 0.2, 0.1)] if n else []
        d = table(times=t, seed=seed + tid, pulses=pulses)
        d["track_id"] = tid
        d.loc[rng.random(n) < nan_share, list(fau.AU_NAMES) + list(fau.EXPRESSIONS)] = np.nan
        parts.append(d)
    return pd.concat(parts, ignore_index=True)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 120), tracks=st.integers(1, 3), seed=st.integers(0, 10**6),
       t0=st.sampled_from([0.0, 7.3, 3600.0]), drops=st.sampled_from([0.0, 0.05]),
       nan_share=st.sampled_from([0.0, 0.1, 0.5]))
def test_events_are_ordered_inside_their_track_and_never_overlap(
        n, tracks, seed, t0, drops, nan_share):
    df = _interview(n, tracks, seed, t0, drops, nan_share)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ev = find_events(add_temporal(df))
    assert ev["onset"].is_monotonic_increasing
    assert (ev["onset"] <= ev["apex"]).all() and (ev["apex"] <= ev["offset"]).all()
    assert (ev["duration"] > 0).all()
    for (tid, kind, name), e in ev.groupby(["track_id", "kind", "name"]):
        g = df[df["track_id"] == tid]
        assert e["onset"].min() >= g["timestamp"].min()
        assert e["offset"].max() <= g["timestamp"].max()
        assert (e["onset"].to_numpy()[1:] > e["offset"].to_numpy()[:-1]).all()
        seen = np.sort(g.loc[g[name].notna(), "timestamp"].to_numpy())  # NaN rows: absent
        d = np.diff(np.unique(np.sort(g["timestamp"])))
        longest = max(GAP_INTERVALS * float(np.median(d)), BRIEF_S) if len(d) else BRIEF_S
        for on, off in zip(e["onset"], e["offset"]):
            inside = seen[(seen >= on) & (seen <= off)]
            assert len(inside) >= 2 and (np.diff(inside) <= longest + 1e-9).all()


# --- speech -------------------------------------------------------------------------------
def test_add_speech_refuses_what_is_not_a_video_table():
    # old: AttributeError / KeyError from deep inside
    with pytest.raises(FauError, match=r"add_speech takes a detect_video table \(a DataFrame\)"):
        add_speech(None, None)
    with pytest.raises(FauError, match="add_speech needs a detect_video table; this one has no "
                                       "AU25 column"):
        add_speech(table(n=10).drop(columns=["AU25"]), None)
    with pytest.raises(FauError, match="no track_id, timestamp columns"):
        add_speech(pd.DataFrame({"face": [0], "AU25": [0.1]}), None)
    assert len(add_speech(pd.DataFrame(), None)) == 0


def test_lip_motion_refuses_bad_times():
    with pytest.raises(FauError, match="increasing"):
        lip_motion(np.zeros(3), np.array([0.0, 0.2, 0.1]))
    with pytest.raises(FauError, match="one timestamp per lip opening"):
        lip_motion(np.zeros(3), np.zeros(2))


# --- segments -----------------------------------------------------------------------------
def test_segment_summary_columns_do_not_depend_on_which_segment_has_faces():
    # old: a first segment without a face moved events/event_list before the AU columns,
    # and with no face in any segment the AU and expression columns were missing
    df = add_temporal(table(n=90))
    full = summarize_segments(df, [(0, 1, "a"), (20, 30, "late")])
    first_empty = summarize_segments(df, [(20, 30, "late"), (0, 1, "a")])
    none = summarize_segments(df, [(20, 30, "late")])
    assert list(first_empty.columns) == list(full.columns) == list(none.columns)
    assert full.columns[-2:].tolist() == ["events", "event_list"]
    assert {"AU12_mean", "AU12_peak", "happiness_share"} <= set(none.columns)
    assert np.isnan(none.loc[0, "AU12_mean"]) and none.loc[0, "track_id"] == -1


def test_a_frame_without_probabilities_does_not_blank_a_segments_expressions():
    # old: one NaN probability row in a segment made every <expression>_mean/_share NaN
    df = table(n=90)
    df.loc[5, list(fau.EXPRESSIONS)] = np.nan
    s = summarize_segments(df, [(0.0, 3.0, "all")])
    ok = df.drop(index=5)
    assert s.loc[0, "happiness_mean"] == pytest.approx(ok["happiness"].mean())
    share = [s.loc[0, f"{e}_share"] for e in fau.EXPRESSIONS]
    assert sum(share) == pytest.approx(1.0)
    assert s.loc[0, "frames"] == 90


def test_lip_motion_fills_a_missing_opening_by_time_not_by_row():
    # a talking mouth at an irregular frame rate with a few frames masked (NaN): each masked
    # opening counts as the one interpolated in time between its measured neighbours
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.01, 0.08, 120))
    x = 0.1 + 0.08 * np.sin(2 * np.pi * 4.0 * t)
    masked = x.copy()
    gaps = [10, 11, 40, 77, 78, 79]
    masked[gaps] = np.nan
    ok = np.isfinite(masked)
    by_time = masked.copy()
    by_time[~ok] = np.interp(t[~ok], t[ok], masked[ok])
    np.testing.assert_allclose(lip_motion(masked, t), lip_motion(by_time, t))


@pytest.mark.parametrize("ids", [[0.5, 1.0], ["a", "b"], [True, False], [np.nan, 1.0]])
def test_track_ids_that_are_not_whole_numbers_are_one_clear_error(ids):
    from fau.video import add_temporal

    df = pd.DataFrame({"track_id": ids, "timestamp": [0.0, 0.1], "AU12": [0.1, 0.2]})
    with pytest.raises(fau.FauError, match="track_id column must hold whole numbers"):
        add_temporal(df)
