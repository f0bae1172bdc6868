"""RowChunks: many frames' faces into one table, in float64 or float32 (no video needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fau.landmarks.base import FaceMesh
from fau.pipeline import FACE_COLUMNS, TEXT_COLUMNS, Pipeline, RowChunks, columns

INDEX = (("frame", np.int64), ("timestamp", np.float64), ("face", np.int64))


def _meshes(mesh: np.ndarray, n: int, seed: int = 0) -> list[FaceMesh]:
    """``n`` copies of a real face mesh, each moved a little (pixels)."""
    rng = np.random.default_rng(seed)
    return [FaceMesh((mesh + rng.normal(0, 0.5, mesh.shape)).astype(np.float32),
                     rng.random(52).astype(np.float32), 0.99) for _ in range(n)]


def _rows(meshes: list[FaceMesh], dtype, chunk: int) -> pd.DataFrame:
    rows = RowChunks(Pipeline(expression_model=None), INDEX, float_dtype=dtype)
    rows.reserve(10)  # fewer than the rows: the float array grows (and is copied) too
    image = np.zeros((480, 640, 3), np.uint8)
    for i, m in enumerate(meshes):
        rows.add(image, [m], [(i, i / 30.0, 0)])
        if len(rows) >= chunk:
            rows.flush()
    return rows.result()


@pytest.mark.parametrize("chunk", [1, 7, 256])
def test_float32_rows_are_the_float64_rows_rounded(mesh_hap, chunk):
    meshes = _meshes(mesh_hap, 40)
    r64, r32 = _rows(meshes, np.float64, chunk), _rows(meshes, np.float32, chunk)
    assert list(r32.columns) == ["frame", "timestamp"] + columns()
    floats = [c for c in FACE_COLUMNS if c not in ("face",) + TEXT_COLUMNS]
    assert (r32.dtypes[floats] == np.float32).all() and (r64.dtypes[floats] == np.float64).all()
    assert r32["timestamp"].dtype == np.float64 and r32["frame"].dtype == np.int64
    np.testing.assert_array_equal(r32[floats].to_numpy(), r64[floats].to_numpy(np.float32))
    pd.testing.assert_frame_equal(r32.drop(columns=floats), r64.drop(columns=floats))
    # the same values as the one-table path of images (Pipeline.table); batched mesh
    # blocks differ from one face's in the last bits only
    one = Pipeline(expression_model=None)
    table = one.table(one.features(np.zeros((480, 640, 3), np.uint8), meshes[:1]))
    np.testing.assert_allclose(r64[floats].iloc[:1].to_numpy(), table[floats].to_numpy(),
                               rtol=1e-12, atol=1e-12)


def test_empty_float32_result_has_the_columns():
    rows = RowChunks(Pipeline(expression_model=None), INDEX, float_dtype=np.float32)
    df = rows.result()
    assert df.empty and list(df.columns) == ["frame", "timestamp"] + columns()
    assert df["AU12"].dtype == np.float32 and df["expression"].dtype == "string"


def test_other_float_dtypes_are_refused():
    with pytest.raises(ValueError, match="float32 or float64"):
        RowChunks(Pipeline(expression_model=None), INDEX, float_dtype=np.float16)
