"""Text cells made safe for spreadsheets before a table is written as CSV.

A CSV cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return)
is run as a formula by Excel, LibreOffice Calc and Google Sheets when the file is
opened ("CSV injection"): a segment label like ``=HYPERLINK("http://…")`` or
``=cmd|' /C calc'!A0`` in a user's segments file would become live in the exported
table. fau follows the OWASP recommendation (OWASP, "CSV Injection"): such text cells
get a leading single quote, which spreadsheets show as text. Only text cells change;
numbers (including negative ones) are written as numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_formulas", "neutralise_text"]

#: First characters that make a spreadsheet treat a cell as a formula (OWASP).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: object) -> object:
    """``value`` with a leading ``'`` if it is a string a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells cannot start a spreadsheet formula.

    Parameters
    ----------
    table : pandas.DataFrame
        Any table about to be written as CSV.

    Returns
    -------
    pandas.DataFrame
        The same table (the same object when nothing needed a change); in text columns
        (``object``, any string dtype incl. Arrow-backed, categorical), cells starting
        with one of `FORMULA_PREFIXES` get a leading single quote; dtypes are kept.
        Column names are treated the same way.
    """
    out = table
    for col in table.columns:
        s = table[col]
        fixed = _neutralised_column(s)
        if fixed is not None:
            if out is table:
                out = table.copy()
            out[col] = fixed
    names = [neutralise_text(c) for c in table.columns]
    if names != list(table.columns):
        out = out.copy() if out is table else out
        out.columns = names
    return out


def _neutralised_column(s: pd.Series) -> pd.Series | None:
    """``s`` with formula-like text quoted, or None when it has none (or is not text)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [neutralise_text(c) for c in dtype.categories]
        if cats == list(dtype.categories):
            return None
        return s.cat.rename_categories(cats)
    if not (dtype == object or pd.api.types.is_string_dtype(dtype)):
        return None
    values = s.to_numpy(dtype=object, na_value=None)
    risky = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_PREFIXES)
                         for v in values), dtype=bool, count=len(values))
    if not risky.any():
        return None
    values = values.copy()
    values[risky] = ["'" + v for v in values[risky]]
    return pd.Series(values, index=s.index, name=s.name, dtype=object).astype(dtype)
