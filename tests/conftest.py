"""Shared fixtures: the committed face images/clips and, where present, ../shared data.

Plain helpers (model-present check, clips, video writers) live in ``tests/helpers.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from helpers import model_available, needs_model  # noqa: F401  (shared; see helpers.py)

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
SHARED_FER = Path(os.environ.get("FAU_FER2013", ROOT.parent / "shared/data/fer2013.npz"))


needs_fer = pytest.mark.skipif(
    not SHARED_FER.is_file(),
    reason=f"FER-2013 data not found at {SHARED_FER} (set FAU_FER2013); large data is not in the repo",
)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def detector():
    import fau

    name = "ferplus" if model_available() else None
    with fau.Detector(expression_model=name) as det:
        yield det


@pytest.fixture(scope="session")
def au_detector():
    """A detector without expression model (AU geometry only)."""
    import fau

    with fau.Detector(expression_model=None) as det:
        yield det


@pytest.fixture(scope="session")
def mesh_hap() -> np.ndarray:
    return np.load(DATA / "mesh_cremad_hap.npy").astype(np.float64)


@pytest.fixture(scope="session")
def fer():
    if not SHARED_FER.is_file():
        pytest.skip(f"FER-2013 data not found at {SHARED_FER}")
    return np.load(SHARED_FER)
