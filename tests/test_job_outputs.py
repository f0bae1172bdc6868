"""Job outputs of long videos: the per-frame JSON is written in pieces, byte for byte the
same as in one piece."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import fau.files
from fau.files import write_table


@pytest.mark.parametrize("rows", [0, 1, 5, 6, 13])
def test_json_in_pieces_equals_one_piece(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(fau.files, "JSON_CHUNK_ROWS", 3)
    rng = np.random.default_rng(rows)
    df = pd.DataFrame({
        "frame": np.arange(rows, dtype=np.int64),
        "timestamp": np.arange(rows) / 30.0,
        "AU12": rng.random(rows).astype(np.float32),
        "expression": pd.array(["a/b", None, "c\\d"] * (rows // 3) + ["x"] * (rows % 3),
                               dtype="string"),
        "speaking": rng.random(rows) > 0.5,
    })
    df.loc[df.index[::4], "AU12"] = np.nan
    out = write_table(df, tmp_path / "f.json")
    want = fau.files.table_json(df)  # the whole table as one piece
    assert out.read_text(encoding="utf-8") == want
    assert len(json.loads(out.read_text(encoding="utf-8"))) == rows
    assert ("a/b" in want) == (rows >= 3)  # slashes unescaped
