"""Properties of the pure AU geometry (fau.au)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from fau.au import (
    AU_DEFINITIONS,
    AU_LANDMARKS,
    AU_NAMES,
    AU_UNITS,
    IOD_CM,
    align,
    au_intensities,
    au_occurrence,
    head_pose,
    inter_ocular_distance,
    mirror_landmarks,
    mirror_permutation,
)
from fau.au.geometry import face_frame
from fau.errors import FauError
from fau.landmarks import canonical_face

IDX = {n: i for i, n in enumerate(AU_NAMES)}


def canonical_as_image(scale: float = 20.0) -> np.ndarray:
    """Canonical face as image-pixel landmarks (478 points: iris = eye centres)."""
    v = canonical_face().vertices
    iris = np.repeat(v[[468 - 468 + 159]], 10, axis=0)  # any points: not used by AUs
    pts = np.vstack([v, iris]) * scale
    return pts * np.array([1.0, -1.0, -1.0]) + np.array([300.0, 300.0, 0.0])


def aus(lm: np.ndarray) -> np.ndarray:
    return au_intensities(align(lm).points)


def test_canonical_face_is_zero():
    np.testing.assert_allclose(aus(canonical_as_image()), 0.0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    yaw=st.floats(-45, 45), pitch=st.floats(-30, 30), roll=st.floats(-180, 180),
    scale=st.floats(0.05, 20.0), tx=st.floats(-1e3, 1e3), ty=st.floats(-1e3, 1e3),
    tz=st.floats(-1e3, 1e3),
)
def test_aus_invariant_to_similarity(mesh_hap, yaw, pitch, roll, scale, tx, ty, tz):
    base = aus(mesh_hap)
    rot = Rotation.from_euler("yxz", [yaw, pitch, roll], degrees=True).as_matrix()
    moved = (mesh_hap - mesh_hap.mean(0)) @ rot.T * scale + np.array([tx, ty, tz])
    np.testing.assert_allclose(aus(moved), base, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(width=st.floats(100, 4000))
def test_mirroring_swaps_sides(mesh_hap, width):
    a = aus(mesh_hap)
    m = aus(mirror_landmarks(mesh_hap, width))
    for left, right in (("AU12_L", "AU12_R"), ("AU14_L", "AU14_R")):
        assert left in IDX and right in IDX
        assert m[IDX[left]] == pytest.approx(a[IDX[right]], abs=1e-9)
        assert m[IDX[right]] == pytest.approx(a[IDX[left]], abs=1e-9)
    bilateral = [i for n, i in IDX.items() if not n.endswith(("_L", "_R"))]
    np.testing.assert_allclose(m[bilateral], a[bilateral], atol=1e-9)


def test_mirror_permutation_is_an_involution():
    p = mirror_permutation()
    assert sorted(p.tolist()) == list(range(478))
    np.testing.assert_array_equal(p[p], np.arange(478))
    assert p[33] == 263 and p[61] == 291 and p[1] == 1


@settings(max_examples=40, deadline=None)
@given(yaw=st.floats(-40, 40), pitch=st.floats(-30, 30), roll=st.floats(-60, 60))
def test_head_pose_recovers_rotation(yaw, pitch, roll):
    v = canonical_face().vertices
    # Head rotation in the y-up frame: Ry(yaw) Rx(-pitch) Rz(roll).
    r = Rotation.from_euler("YXZ", [yaw, -pitch, roll], degrees=True).as_matrix()
    face = v @ r.T
    img = np.vstack([face, face[:10]]) * np.array([1.0, -1.0, -1.0]) * 15
    np.testing.assert_allclose(head_pose(align(img).rotation), [pitch, yaw, roll], atol=1e-6)


def test_head_pose_sign_conventions():
    v = canonical_face().vertices
    up = Rotation.from_euler("X", -20, degrees=True).as_matrix()  # nose moves up (+y)
    face = v @ up.T
    assert face[1, 1] > v[1, 1]  # nose tip higher: looking up
    img = np.vstack([face, face[:10]]) * np.array([1.0, -1.0, -1.0])
    assert head_pose(align(img).rotation)[0] == pytest.approx(20, abs=1e-6)


def _moved(points: dict[int, tuple[float, float, float]]) -> np.ndarray:
    """Canonical face (image pixels, scale 20) with some points moved (cm, y up)."""
    v = canonical_face().vertices.copy()
    for i, d in points.items():
        v[i] += d
    pts = np.vstack([v, v[:10]]) * 20.0
    return pts * np.array([1.0, -1.0, -1.0])


def test_directions_on_synthetic_movements():
    up_out = {61: (-0.3, 0.3, 0.0), 291: (0.3, 0.3, 0.0)}
    assert aus(_moved(up_out))[IDX["AU12"]] > 0.05
    left_only = aus(_moved({291: (0.3, 0.3, 0.0)}))
    assert left_only[IDX["AU12_L"]] > 0.05 and abs(left_only[IDX["AU12_R"]]) < 1e-9
    # The mandible carries the chin and the lower lip; the drop counts as AU26 up to the
    # mouth's widening (here the corners move out as the lips part).
    jaw = {i: (0.0, -1.0, 0.0) for i in (152, 148, 176, 149, 150, 377, 400, 378, 379,
                                          17, 84, 314, 181, 405, 18, 200, 199, 175)}
    jaw.update({61: (-0.7, -0.3, 0.0), 291: (0.7, -0.3, 0.0)})
    assert aus(_moved(jaw))[IDX["AU26"]] == pytest.approx(1.0 / IOD_CM)
    lids = {i: (0.0, -0.6, 0.0) for i in (159, 158, 160, 386, 385, 387)}
    assert aus(_moved(lids))[IDX["AU45"]] > 0.5
    brows = {107: (0.3, -0.3, 0), 55: (0.3, -0.3, 0), 336: (-0.3, -0.3, 0),
             285: (-0.3, -0.3, 0), 105: (0, -0.3, 0), 52: (0, -0.3, 0),
             334: (0, -0.3, 0), 282: (0, -0.3, 0)}
    assert aus(_moved(brows))[IDX["AU04"]] > 0.03
    inner_up = {i: (0, 0.4, 0) for i in (107, 66, 55, 65, 336, 296, 285, 295)}
    assert aus(_moved(inner_up))[IDX["AU01"]] > 0.05
    lips_apart = {14: (0, -0.5, 0), 13: (0, 0.1, 0)}
    assert aus(_moved(lips_apart))[IDX["AU25"]] > 0.05


def test_batch_equals_single(mesh_hap):
    batch = np.stack([mesh_hap, canonical_as_image()])
    out = au_intensities(align(batch).points)
    np.testing.assert_allclose(out[0], aus(mesh_hap))
    np.testing.assert_allclose(out[1], 0.0, atol=1e-9)


def test_face_frame_is_proper_rotation():
    p = np.random.default_rng(0).normal(size=(478, 3))
    f = face_frame(p)
    np.testing.assert_allclose(f[:, 0], p[:, 0])
    np.testing.assert_allclose(f[:, 1:], -p[:, 1:])


def test_align_rejects_wrong_shape():
    with pytest.raises(ValueError):
        align(np.zeros((10, 3)))


def test_new_aus_on_synthetic_movements():
    """Each issue-10 AU moves the way its definition says, and only the right ones."""
    base = aus(canonical_as_image())
    # AU17: mentalis pushes the lower lip's centre up (its lateral parts stay).
    chin_up = aus(_moved({17: (0, 0.3, 0), 84: (0, 0.15, 0), 314: (0, 0.15, 0)}))
    assert chin_up[IDX["AU17"]] == pytest.approx(0.3 / IOD_CM)
    assert chin_up[IDX["AU26"]] < 0  # the lip rose: no jaw drop
    # AU16: lower lip beside the midline pulled down towards the chin.
    lip_down = aus(_moved({i: (0, -0.3, 0) for i in (91, 181, 321, 405)}))
    assert lip_down[IDX["AU16"]] == pytest.approx(0.3 / IOD_CM)
    # AU18: corners pulled in and the lip midline forward.
    pucker = aus(_moved({61: (0.3, 0, 0.2), 291: (-0.3, 0, 0.2), 0: (0, 0, 0.4),
                         17: (0, 0, 0.4)}))
    assert pucker[IDX["AU18"]] > 0.05 and pucker[IDX["AU20"]] < 0
    # AU24: the upper lip's outer edge moves forward of its inner edge.
    press = aus(_moved({i: (0, 0, 0.2) for i in (0, 37, 267)}))
    assert press[IDX["AU24"]] == pytest.approx(0.2 / IOD_CM)
    # AU27 vs AU25: opening with a narrowing mouth is a stretch; with a widening one
    # (a broad open smile) it is not.
    stretch = aus(_moved({14: (0, -1.0, 0), 61: (0.2, 0, 0), 291: (-0.2, 0, 0)}))
    grin = aus(_moved({14: (0, -1.0, 0), 61: (-0.8, 0, 0), 291: (0.8, 0, 0)}))
    assert stretch[IDX["AU27"]] > 0.2 and grin[IDX["AU27"]] < 0 < grin[IDX["AU25"]]
    # AU26 vs AU27: the jaw's drop counts as AU26 only up to the mouth's widening, so a
    # stretched, narrowing mouth (AU27) does not read as more AU26 than a relaxed drop.
    mandible = (17, 84, 314, 181, 405, 152, 14)
    relaxed = aus(_moved({**{i: (0, -1.0, 0) for i in mandible},
                          61: (-0.7, -0.3, 0), 291: (0.7, -0.3, 0)}))
    stretched = aus(_moved({**{i: (0, -3.0, 0) for i in mandible},
                            61: (0.3, -0.8, 0), 291: (-0.3, -0.8, 0)}))
    assert stretched[IDX["AU27"]] > relaxed[IDX["AU27"]] + 0.3
    assert relaxed[IDX["AU26"]] > 0.1 > 0 > stretched[IDX["AU26"]]
    # AU14: corners straight back; a smile (up and back) is AU12, not AU14.
    back = aus(_moved({61: (0, 0, -0.3), 291: (0, 0, -0.3)}))
    smile = aus(_moved({61: (-0.3, 0.3, -0.2), 291: (0.3, 0.3, -0.2)}))
    assert back[IDX["AU14"]] == pytest.approx(0.3 / IOD_CM)
    assert smile[IDX["AU14"]] < back[IDX["AU14"]] and smile[IDX["AU12"]] > 0.05
    # AU23: corners forward of the cheek beside them.
    tight = aus(_moved({61: (0, 0, 0.2), 291: (0, 0, 0.2)}))
    assert tight[IDX["AU23"]] == pytest.approx(0.2 / IOD_CM)
    # AU43 (upper lid only) vs AU45 (aperture): the lower lid rising closes the eye
    # (AU45) without the upper lid dropping (AU43).
    lid_drop = aus(_moved({i: (0, -0.3, 0) for i in (159, 158, 160, 386, 385, 387)}))
    lower_up = aus(_moved({i: (0, 0.3, 0) for i in (145, 153, 144, 374, 380, 373)}))
    assert lid_drop[IDX["AU43"]] == pytest.approx(lid_drop[IDX["AU45"]])
    assert lid_drop[IDX["AU43"]] > 0.2
    assert lower_up[IDX["AU45"]] > 0.2 and lower_up[IDX["AU43"]] == pytest.approx(0)
    assert lower_up[IDX["AU07"]] > 0.03
    # AU10: the upper lip rises towards the nose tip (the corners, measured from the
    # lips' midpoint, seem to drop by half of it); lifting the corners with it (a
    # smile) is AU12, not AU10.
    lip_up = aus(_moved({0: (0, 0.3, 0)}))
    assert lip_up[IDX["AU10"]] == pytest.approx(0.15 / IOD_CM)
    lip_up_with_corners = aus(_moved({0: (0, 0.3, 0), 61: (0, 0.6, 0), 291: (0, 0.6, 0)}))
    assert lip_up_with_corners[IDX["AU10"]] < lip_up[IDX["AU10"]]
    np.testing.assert_allclose(base, 0.0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(dy=st.floats(-0.4, 0.4), dz=st.floats(-0.3, 0.3))
def test_one_sided_corner_moves_one_side(dy, dz):
    """Moving the subject's left lip corner changes the _L column and not the _R one."""
    moved = aus(_moved({291: (0.0, dy, dz)}))
    for name in ("AU12", "AU14"):
        assert abs(moved[IDX[f"{name}_R"]]) < 1e-9
        assert moved[IDX[name]] == pytest.approx(
            (moved[IDX[f"{name}_L"]] + moved[IDX[f"{name}_R"]]) / 2)


@settings(max_examples=40, deadline=None)
@given(drop=st.floats(-0.5, 3.0), widen=st.floats(-0.6, 0.8))
def test_jaw_drop_counts_up_to_the_mouth_widening(drop, widen):
    """AU26 = min(descent of the lower lip 17, widening of the mouth 61-291), in IOD: a
    drop beyond the widening (a stretched, narrowing mouth) is AU27, never more AU26."""
    mandible = (17, 84, 314, 181, 405, 152, 14)
    moved = aus(_moved({**{i: (0, -drop, 0) for i in mandible},
                        61: (-widen / 2, 0, 0), 291: (widen / 2, 0, 0)}))
    assert moved[IDX["AU26"]] == pytest.approx(min(drop, widen) / IOD_CM, abs=1e-9)
    more = aus(_moved({**{i: (0, -drop - 0.5, 0) for i in mandible},
                       61: (-widen / 2, 0, 0), 291: (widen / 2, 0, 0)}))
    assert more[IDX["AU27"]] > moved[IDX["AU27"]]  # the extra drop opens the lips more


def test_registries_cover_every_au():
    assert set(AU_DEFINITIONS) == set(AU_UNITS) == set(AU_LANDMARKS) == set(AU_NAMES)
    assert {AU_UNITS[n] for n in ("AU43", "AU45")} == {"neutral eye openings"}
    assert {u for n, u in AU_UNITS.items() if n not in ("AU43", "AU45")} == {"IOD"}
    for name, (right, left) in AU_LANDMARKS.items():
        assert right and left and max(right + left) < 478, name
    assert {"AU16", "AU18", "AU24", "AU27", "AU43"} <= set(AU_NAMES)


def test_iod_constant_matches_the_bundled_canonical_face():
    from fau.au import inter_ocular_distance

    assert IOD_CM == pytest.approx(float(inter_ocular_distance(canonical_face().vertices)),
                                   rel=1e-12)


def test_fau_au_imports_without_opencv_or_model_files():
    """`import fau.au` needs neither OpenCV nor reading the 3.7 MB landmarker bundle."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['cv2'] = None\n"
        "import fau.resources as r\n"
        "def refuse(*a, **k): raise AssertionError('model file read at import')\n"
        "r.face_landmarker_bytes = refuse\n"
        "import fau.au, fau.au.geometry\n"
        "assert fau.au.IOD_CM > 6 and len(fau.au.AU_NAMES) == len(fau.au.AU_UNITS)\n"
        "assert 'cv2' not in sys.modules or sys.modules['cv2'] is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_geometry_functions_name_the_shape_they_take():
    # a wrong array gets one ValueError saying what was expected, not an IndexError
    with pytest.raises(ValueError, match=r"au_intensities takes aligned landmarks of shape"):
        au_intensities(np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"head_pose takes rotation matrices of shape \(\.\.\., 3, 3\)"):
        head_pose(np.zeros(3))
    assert head_pose(np.eye(3)) == pytest.approx([0.0, 0.0, 0.0])
    assert aus(canonical_as_image()).shape == (len(AU_NAMES),)


def test_geometry_functions_raise_fau_errors():
    # the public API's one error type, never an IndexError, a broadcasting error or an
    # SVD that does not converge from deep in numpy
    bad = np.zeros((10, 3))
    for call, message in [(lambda: align(bad), "align takes landmarks"),
                          (lambda: inter_ocular_distance(bad), "inter_ocular_distance takes"),
                          (lambda: face_frame(np.zeros((10, 2))), r"face_frame takes points"),
                          (lambda: au_intensities(bad), "au_intensities takes"),
                          (lambda: head_pose(np.zeros(3)), "head_pose takes"),
                          (lambda: au_occurrence(np.zeros(5)), "AU_NAMES")]:
        with pytest.raises(FauError, match=message):
            call()
    face = canonical_as_image()
    face[33] = np.nan
    with pytest.raises(FauError, match="NaN or infinite"):
        align(face)
    assert inter_ocular_distance(canonical_as_image()) > 0


def test_align_refuses_landmarks_collapsed_to_one_point(mesh_hap):
    # An all-zero mesh (a placeholder some tools write for "no face") fitted with scale 0
    # and gave AU04 = 0.355, AU06 = 0.272 ... as if measured.
    with pytest.raises(FauError, match="all lie at one point"):
        align(np.zeros((478, 3)))
    batch = np.stack([mesh_hap, np.full((478, 3), 7.0)])
    with pytest.raises(FauError, match="face 1 all lie at one point"):
        align(batch)
    # normalised coordinates (0-1, MediaPipe's own output) are a face, not a point
    small = mesh_hap / 480.0
    np.testing.assert_allclose(aus(small), aus(mesh_hap), atol=1e-9)


def test_mirror_landmarks_refuses_wrong_shapes_and_widths(mesh_hap):
    for bad in (mesh_hap[:100], mesh_hap.ravel(), mesh_hap[:, :1]):
        with pytest.raises(FauError, match="mirror_landmarks takes landmarks"):
            mirror_landmarks(bad, 480)
    for width in (0, -480, float("nan"), float("inf"), True, "480"):
        with pytest.raises(FauError, match="width must be"):
            mirror_landmarks(mesh_hap, width)


def test_mirror_landmarks_of_468_points_is_the_478_mirror_without_the_iris(mesh_hap):
    np.testing.assert_array_equal(mirror_landmarks(mesh_hap[:468], 480),
                                  mirror_landmarks(mesh_hap, 480)[:468])
    np.testing.assert_array_equal(mirror_landmarks(mesh_hap[None, :, :2], 480)[0],
                                  mirror_landmarks(mesh_hap, 480)[:, :2])


def test_au_functions_name_input_that_is_not_numbers(mesh_hap):
    from fau.au.gaze import gaze_vectors

    ragged = [[1.0, 2.0, 3.0], [1.0, 2.0]]
    text = np.array([["x", "y", "z"]] * 478)
    for name, call in [("align", align), ("au_intensities", au_intensities),
                       ("inter_ocular_distance", inter_ocular_distance),
                       ("face_frame", face_frame), ("head_pose", head_pose),
                       ("au_occurrence", au_occurrence), ("gaze_vectors", gaze_vectors),
                       ("mirror_landmarks", lambda x: mirror_landmarks(x, 480))]:
        for bad in (text, ragged):
            with pytest.raises(FauError, match=f"{name} takes numeric arrays"):
                call(bad)
