"""One track per person (fau.video.identity, Tracker.identities) on generated videos.

The videos are made from the committed CREMA-D clips (one actor). A second "person" is
the same clip stretched 15% sideways: other facial proportions, which the geometric
signature must tell apart (its distance is checked first, so the test means something).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fau.video.identity import (
    MAX_SIGNATURE_CM,
    TrackSpan,
    link_tracks,
    signature,
    signature_distance,
    signature_sample,
)
from fau.video.tracking import Tracker

from clips import FPS, clip_frames, write_clip

H, W = 360, 480  # CREMA-D frame size (px)


def stretched(frames, k: float = 1.15) -> list[np.ndarray]:
    """Frames squeezed back to 480 px wide after a sideways stretch of the face by ``k``."""
    out = []
    for f in frames:
        wide = cv2.resize(f, (int(round(W * k)), H))
        x0 = (wide.shape[1] - W) // 2
        out.append(np.ascontiguousarray(wide[:, x0:x0 + W]))
    return out


def grey(n: int, width: int = W) -> list[np.ndarray]:
    return [np.full((H, width, 3), 128, np.uint8) for _ in range(n)]


def run(backend, frames) -> tuple[Tracker, list[tuple[int, int, float]]]:
    """Track ``frames`` at `FPS`; (frame index, tracker id, face centre x) per face."""
    tr = Tracker(backend, max_faces=4)
    seen = []
    for i, f in enumerate(frames):
        for tid, mesh in tr.update(f, i / FPS):
            seen.append((i, tid, float(mesh.landmarks[:, 0].mean())))
    return tr, seen


@pytest.fixture(scope="module")
def backend(au_detector):
    return au_detector.backend


@pytest.fixture(scope="module")
def faces():
    neu, sad = clip_frames("NEU"), clip_frames("SAD")
    return {"neu": neu, "sad": sad, "other": stretched(neu), "other_sad": stretched(sad)}


def test_the_stretched_face_is_another_person_to_the_signature(au_detector, faces):
    def sig(frames):
        s = [signature_sample(au_detector.landmarks(f)[0]) for f in frames[::6]]
        return signature([x for x in s if x is not None])

    same = signature_distance(sig(faces["neu"]), sig(faces["sad"]))
    other = signature_distance(sig(faces["neu"]), sig(faces["other"]))
    assert same < MAX_SIGNATURE_CM < other


def test_a_mesh_with_a_missing_landmark_gives_no_signature_sample(au_detector, faces):
    lm = au_detector.landmarks(faces["neu"][0])[0].astype(np.float64)
    assert signature_sample(lm) is not None
    for bad in (np.nan, np.inf):
        broken = lm.copy()
        broken[33, 0] = bad
        assert signature_sample(broken) is None  # was numpy's LinAlgError from the alignment


@pytest.mark.slow
def test_a_face_that_leaves_for_3_s_comes_back_with_its_id(backend, faces):
    frames = faces["neu"] + grey(3 * FPS) + faces["sad"]
    tr, seen = run(backend, frames)
    assert len(tr.spans) == 2  # the tracker itself saw two tracks ...
    ids = tr.identities()
    assert set(ids.values()) == {0}  # ... of one person
    gap = [i for i, _, _ in seen if len(faces["neu"]) <= i < len(faces["neu"]) + 3 * FPS]
    assert not gap


@pytest.mark.slow
def test_someone_else_arriving_after_the_gap_is_a_new_person(backend, faces):
    tr, _ = run(backend, faces["neu"] + grey(3 * FPS) + faces["other"])
    assert sorted(tr.identities().items()) == [(0, 0), (1, 1)]


@pytest.mark.slow
def test_two_people_side_by_side_then_swapping_places(backend, faces):
    a, b = faces["neu"][:45], faces["other"][:45]
    first = [np.concatenate([x, y], axis=1) for x, y in zip(a, b)]
    later = [np.concatenate([y, x], axis=1) for x, y in zip(faces["sad"][:45], faces["other_sad"][:45])]
    tr, seen = run(backend, first + grey(FPS, 2 * W) + later)
    ids = tr.identities()
    assert len(tr.spans) == 4 and len(set(ids.values())) == 2
    start = [(ids[t], x) for i, t, x in seen if i == 10]
    end = [(ids[t], x) for i, t, x in seen if i == len(first) + FPS + 30]
    left_start = min(start, key=lambda p: p[1])[0]
    right_end = max(end, key=lambda p: p[1])[0]
    assert left_start == right_end  # person A went from the left to the right
    for i in {i for i, _, _ in seen}:  # never one person twice in a frame
        persons = [ids[t] for j, t, _ in seen if j == i]
        assert len(persons) == len(set(persons))


@pytest.mark.slow
def test_two_faces_crossing_keep_their_ids(backend, faces):
    n, width = 80, 1200
    a, b = faces["neu"], faces["other"]
    frames = []
    for i in range(n):
        canvas = np.full((H, width, 3), 128, np.uint8)
        xa = int(round(i * (width - W) / (n - 1)))  # A walks left -> right
        xb = width - W - xa  # B walks right -> left, in front of A
        canvas[:, xa:xa + W] = a[i % len(a)]
        canvas[:, xb:xb + W] = b[i % len(b)]
        frames.append(canvas)
    tr, seen = run(backend, frames)
    ids = tr.identities()
    assert len(set(ids.values())) == 2
    first = sorted((x, ids[t]) for i, t, x in seen if i == 0)
    last = sorted((x, ids[t]) for i, t, x in seen if i == n - 1)
    assert len(first) == 2 and len(last) == 2
    assert first[0][1] == last[1][1] and first[1][1] == last[0][1]  # A left->right, B right->left
    for i in range(n):
        persons = [ids[t] for j, t, _ in seen if j == i]
        assert len(persons) == len(set(persons))


def test_link_tracks_never_joins_faces_seen_together():
    s = np.zeros((50, 2))
    s[:, 0] = np.linspace(-7, 7, 50)
    s[:, 1] = np.sin(np.arange(50))
    spans = [TrackSpan(0, 0.0, 10.0, [s]), TrackSpan(1, 5.0, 12.0, [s]), TrackSpan(2, 11.0, 20.0, [s])]
    ids = link_tracks(spans)
    assert ids[0] != ids[1]  # the same shape, but both in view at 5-10 s
    assert ids[2] == ids[0]  # returns after track 0 ended (track 1 still in view)
    assert link_tracks([TrackSpan(0, 0.0, 1.0), TrackSpan(1, 2.0, 3.0)]) == {0: 0, 1: 1}


@pytest.mark.slow
def test_detect_video_reports_the_person_as_track_id(au_detector, faces, tmp_path):
    path = write_clip(tmp_path / "away.mp4", faces["neu"] + grey(3 * FPS) + faces["sad"])
    df = au_detector.detect_video(path)
    assert df["track_id"].unique().tolist() == [0]
    assert df["timestamp"].max() > 4.0


LONDON = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "london"


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.skipif(not (LONDON / "manifest.csv").is_file(),
                    reason=f"London set not found at {LONDON} (large data is not in the repo)")
@pytest.mark.parametrize("a, b", [("001", "002"), ("003", "004"), ("005", "006")])
def test_two_real_people_swapping_places_keep_their_ids(backend, a, b):
    """Two people of the London set (neutral photos), side by side, swapped after a cut."""
    from fau.io import load_image

    def face(subject: str) -> np.ndarray:
        return cv2.resize(load_image(LONDON / "neutral" / f"{subject}.jpg"), (H, H))

    fa, fb = face(a), face(b)
    first = [np.concatenate([fa, fb], axis=1)] * 30
    later = [np.concatenate([fb, fa], axis=1)] * 30
    tr, seen = run(backend, first + grey(FPS, 2 * H) + later)
    ids = tr.identities()
    assert len(tr.spans) == 4 and len(set(ids.values())) == 2
    start = sorted((x, ids[t]) for i, t, x in seen if i == 5)
    end = sorted((x, ids[t]) for i, t, x in seen if i == 30 + FPS + 5)
    assert start[0][1] == end[1][1] and start[1][1] == end[0][1]
