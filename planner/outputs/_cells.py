"""Spreadsheet cells that stay what they are: text from data never becomes a formula.

Names in POI exports and bureau tables can start with ``=``, ``+``, ``-`` or ``@``; a
spreadsheet program would run them (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). The
rule followed is OWASP's "CSV injection" advice: in a CSV every text cell starting with
one of ``= + - @``, a tab or a carriage return gets a leading apostrophe, which Excel and
LibreOffice show as text; in an XLSX such a cell is stored as a string cell (openpyxl
would otherwise store a leading ``=`` as a formula). Cells longer than an XLSX cell can
hold (32,767 characters) are cut, and characters XML cannot carry are dropped, each with
one warning per table, never silently. Only text cells are touched (numbers, booleans and
dates are written as they are), whatever the column's dtype: object, string or
categorical.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import PlannerWarning

#: Characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Longest text an XLSX cell holds (Excel's limit).
XLSX_MAX_CHARS = 32_767
#: Control characters XML 1.0 (so XLSX) cannot store; openpyxl refuses them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text_column(col: pd.Series) -> pd.Series | None:
    """The column as object values when it may hold text (None for numbers, dates...)."""
    dt = col.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return col.astype(object)
    if pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt):
        return col.astype(object)
    return None


def _starts(values: pd.Series, prefixes: tuple[str, ...]) -> np.ndarray:
    """True where a cell is text starting with one of ``prefixes``."""
    try:
        hit = values.str.startswith(prefixes, na=False)
    except AttributeError:  # no text at all in the column (e.g. only None or numbers)
        return np.zeros(len(values), dtype=bool)
    return np.asarray(hit.fillna(False), dtype=bool)


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and headers) cannot start a formula.

    Every text cell starting with ``= + - @``, a tab or a carriage return gets a leading
    apostrophe (OWASP); numbers stay numbers, so ``-5`` is written as ``-5`` and
    ``"-5"`` (text) as ``'-5``.
    """
    out = frame.copy()
    for name in frame.columns:
        values = _text_column(frame[name])
        if values is None:
            continue
        hit = _starts(values, FORMULA_START)
        if hit.any():
            values = values.copy()
            values[hit] = "'" + values[hit].astype(str)
            out[name] = values
    out.columns = [_safe_header(c) for c in frame.columns]
    return out


def _safe_header(name: Any) -> Any:
    text = str(name)
    return "'" + text if isinstance(name, str) and text.startswith(FORMULA_START) else name


def xlsx_ready(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """A copy of ``frame`` an XLSX can hold: text cut to 32,767 characters and characters
    XML cannot carry dropped, with one warning naming ``where`` for each kind of change."""
    out = frame.copy()
    cut: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for name in frame.columns:
        values = _text_column(frame[name])
        if values is None:
            continue
        text = values.where(values.map(lambda v: isinstance(v, str)))  # other cells: NaN
        bad = np.asarray(text.str.contains(_XML_ILLEGAL, na=False), dtype=bool)
        if bad.any():
            text[bad] = text[bad].str.replace(_XML_ILLEGAL, "", regex=True)
            dropped[str(name)] = int(bad.sum())
        long = np.asarray(text.str.len().fillna(0) > XLSX_MAX_CHARS, dtype=bool)
        if long.any():
            text[long] = text[long].str.slice(0, XLSX_MAX_CHARS)
            cut[str(name)] = int(long.sum())
        if bad.any() or long.any():
            out[name] = values.where(~(bad | long), text)
    _warn(
        cut,
        f"{where}: {{n}} text cell(s) longer than {XLSX_MAX_CHARS:,} characters (the most an "
        "XLSX cell holds) were cut to that length ({cols}); the CSV and GPKG keep the whole "
        "text.",
    )
    _warn(
        dropped,
        f"{where}: {{n}} text cell(s) held control characters an XLSX cannot store; they "
        "were left out ({cols}).",
    )
    return out


def _warn(counts: dict[str, int], template: str) -> None:
    if counts:
        cols = ", ".join(f"{c!r}: {n}" for c, n in counts.items())
        msg = template.format(n=sum(counts.values()), cols=cols)
        warnings.warn(msg, PlannerWarning, stacklevel=4)


def xlsx_strings(sheet: Any, frame: pd.DataFrame) -> None:
    """Make every text cell of a sheet written from ``frame`` (header row 1, data from
    row 2, no index) a string cell: openpyxl stores text starting with "=" as a formula."""
    for j, name in enumerate(frame.columns, start=1):
        if isinstance(name, str) and name.startswith("="):
            sheet.cell(row=1, column=j).data_type = "s"
        values = _text_column(frame[name])
        if values is None:
            continue
        for i in np.flatnonzero(_starts(values, ("=",))):
            sheet.cell(row=int(i) + 2, column=j).data_type = "s"


def to_csv(frame: pd.DataFrame, path: Path, *, index: bool = False) -> None:
    """Write ``frame`` as a CSV a spreadsheet opens safely: UTF-8 with a BOM (so Excel
    reads it as UTF-8), text made safe by :func:`csv_safe`, CRLF line ends (so a cell
    holding a carriage return is quoted and cannot start a new row)."""
    csv_safe(frame).to_csv(path, index=index, encoding="utf-8-sig", lineterminator="\r\n")
