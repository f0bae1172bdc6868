"""Plain HTML tables of DataFrames for the report (values escaped, numbers right-aligned)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

__all__ = ["html_table", "folded"]


def html_table(df: pd.DataFrame, *, left: tuple[str, ...] = (), floats: int = 3) -> str:
    """A ``<table>`` of ``df``; columns in ``left`` are left-aligned; floats rounded."""
    if df.empty:
        return '<p class="small">(none)</p>'
    head = "".join(f'<th class="{"l" if c in left else ""}">{escape(str(c))}</th>'
                   for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            if isinstance(v, (float, np.floating)):
                txt = "" if not np.isfinite(v) else f"{v:.{floats}f}"
            else:
                txt = "" if v is None else str(v)
            cells.append(f'<td class="{"l" if c in left else ""}">{escape(txt)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def folded(summary: str, body: str, *, open_: bool = False) -> str:
    """``body`` inside a ``<details>`` element (closed unless ``open_``)."""
    attr = " open" if open_ else ""
    return f"<details{attr}><summary>{escape(summary)}</summary>{body}</details>"
