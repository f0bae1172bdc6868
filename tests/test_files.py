"""fau.files: the one atomic, no-overwrite writer of every output."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from fau.errors import FauError
from fau.files import (
    atomic_path,
    check_output,
    remove_stale_temporaries,
    to_json_safe,
    write_json,
    write_table,
)


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "input": pd.array(["a/b.jpg", "c.jpg"], dtype="string"),
        "AU12": [0.25, np.nan],
        "expression": pd.array([None, None], dtype="string"),  # all NA (no model)
        "label": ["=HYPERLINK(1)", "-0.5 is text"],
    })


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_write_table_refuses_what_is_not_a_dataframe(tmp_path, suffix):
    with pytest.raises(FauError, match="writes a pandas DataFrame, got list"):
        write_table([1, 2], tmp_path / f"t{suffix}")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_write_table_round_trip(tmp_path, suffix):
    out = write_table(_table(), tmp_path / f"t{suffix}")
    if suffix == ".csv":
        back = pd.read_csv(out, keep_default_na=False)
        assert back["expression"].tolist() == ["", ""]
        assert back["label"].tolist() == ["'=HYPERLINK(1)", "'-0.5 is text"]  # not formulas
    elif suffix == ".json":
        text = out.read_text()
        assert "\\/" not in text and '"a/b.jpg"' in text
        rows = json.loads(text)
        assert rows[0]["expression"] is None and rows[1]["AU12"] is None
        assert rows[0]["label"] == "=HYPERLINK(1)"  # only CSV is read by spreadsheets
    else:
        back = pd.read_parquet(out)
        assert back["expression"].isna().all() and back["input"].tolist() == ["a/b.jpg", "c.jpg"]


def test_parquet_keeps_attrs_but_not_wall_time(tmp_path):
    df = _table()
    df.attrs.update(video={"path": "a.mp4", "width": np.int64(640)}, truncated=False,
                    decoding={"gaps": [[1.0, np.float64(1.5)]], "lost": 3}, seconds=12.3)
    a = write_table(df, tmp_path / "a.parquet")
    df.attrs["seconds"] = 99.0  # another run of the same analysis
    b = write_table(df, tmp_path / "b.parquet")
    back = pd.read_parquet(a)
    assert back.attrs["video"] == {"path": "a.mp4", "width": 640}
    assert back.attrs["decoding"] == {"gaps": [[1.0, 1.5]], "lost": 3}
    assert "seconds" not in back.attrs
    assert a.read_bytes() == b.read_bytes()


def test_never_overwrites_unless_asked(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("precious")
    with pytest.raises(FauError, match="exists") as info:
        write_table(_table(), p)
    # the Python API's own option, not only the command line's
    assert str(info.value).endswith("pass --overwrite (overwrite=True in Python)")
    assert p.read_text() == "precious"
    write_table(_table(), p, overwrite=True)
    assert p.read_text().startswith("input,")
    with pytest.raises(FauError, match="must end in one of"):
        write_table(_table(), tmp_path / "t.xlsx")
    with pytest.raises(FauError, match="does not exist"):
        write_table(_table(), tmp_path / "missing" / "t.csv")


def test_failed_write_leaves_nothing(tmp_path):
    p = tmp_path / "r.json"
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash while writing")
    assert list(tmp_path.iterdir()) == []


def test_temporaries_have_normal_permissions_and_are_cleaned(tmp_path):
    with atomic_path(tmp_path / "x.txt") as tmp:
        assert tmp.name.startswith(".x.txt.") and tmp.name.endswith(".tmp")
        tmp.write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    (tmp_path / ".y.csv.0123456789ab.tmp").write_text("left by a kill")
    (tmp_path / ".keep.tmp").write_text("not ours")
    assert remove_stale_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep.tmp", "x.txt"]


def test_check_output_and_json_safety(tmp_path):
    with pytest.raises(FauError, match="is a folder"):
        check_output(tmp_path)
    assert check_output(tmp_path / "new.html", suffixes=(".html",)) == tmp_path / "new.html"
    value = {"a": np.float64("nan"), "b": np.arange(2), "c": pd.NA, "d": tmp_path, "e": [np.inf]}
    assert to_json_safe(value) == {"a": None, "b": [0, 1], "c": None, "d": str(tmp_path),
                                   "e": [None]}
    write_json(tmp_path / "s.json", value)
    assert json.loads((tmp_path / "s.json").read_text())["b"] == [0, 1]


def test_float32_columns_are_written_to_json_at_float32_precision(tmp_path):
    import json

    import numpy as np
    import pandas as pd

    from fau.files import table_json, write_table

    df = pd.DataFrame({"timestamp": np.array([0.1, 3600.0333333], np.float64),
                       "AU12": np.array([0.1, -1.2345678e-4], np.float32),
                       "AU25": np.array([np.nan, 0.0], np.float32), "path": ["a/b", "c"]})
    text = table_json(df)
    assert '"AU12":0.1,' in text and "0.1000000015" not in text and "a/b" in text
    rows = json.loads(text)
    assert rows[1]["AU12"] == -1.234568e-4 and rows[0]["AU25"] is None and rows[1]["AU25"] == 0.0
    assert rows[1]["timestamp"] == 3600.0333333  # float64 columns as before
    assert abs(rows[1]["AU12"] / float(df["AU12"].iloc[1]) - 1) < 5e-7  # 7 significant digits
    out = write_table(df, tmp_path / "t.json")
    assert json.loads(out.read_text()) == rows
    with pytest.raises(FauError, match="table_json writes a pandas DataFrame, got list"):
        table_json([{"a": 1}])  # was an AttributeError


def test_parquet_is_written_in_row_groups_and_reads_back_as_to_parquet(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    import fau.files
    from fau.files import write_table

    monkeypatch.setattr(fau.files, "PARQUET_CHUNK_ROWS", 4)
    n = 10
    df = pd.DataFrame({"frame": np.arange(n), "AU12": np.linspace(0, 1, n, dtype=np.float32),
                       "expression": pd.array([None] * 5 + ["happiness"] * 5, dtype="string"),
                       "compound": pd.Series([None] * 6 + ["happily surprised"] * 4, dtype=object)})
    df.attrs = {"fps": 30.0, "seconds": 2.5, "decoding": {"lost": 0}}
    out = write_table(df, tmp_path / "t.parquet")
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    back = pd.read_parquet(out)
    ref = df.copy()
    ref.attrs = {}
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    pd.testing.assert_frame_equal(back, pd.read_parquet(tmp_path / "ref.parquet"))
    assert back.attrs == {"fps": 30.0, "decoding": {"lost": 0}}  # the wall time is not kept
    again = df.copy()
    again.attrs = {**df.attrs, "seconds": 9.0}  # another run's wall time: the same bytes
    assert write_table(again, tmp_path / "t2.parquet").read_bytes() == out.read_bytes()
    empty = write_table(df.iloc[:0], tmp_path / "e.parquet")
    assert list(pd.read_parquet(empty).columns) == list(df.columns)
