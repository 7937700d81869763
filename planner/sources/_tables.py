"""Reading planners' tables (CSV/TSV/TXT in any common Chinese encoding, Excel) as text.

Shared by the readers of the sources package (facilities, blocks, community tables):
encodings are detected, delimiters sniffed, and columns become numbers only when every
value is a plain number (typecodes such as "060400" keep their leading zeros).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import InputError, closest, describe
from ._sniff import check_file, reading

#: What openpyxl and xlrd raise on a damaged workbook.
_EXCEL_ERRORS = (ValueError, OSError, KeyError, IndexError, EOFError, zipfile.BadZipFile)


def _decode(path: Path, encoding: str | None, where: str) -> tuple[str, str]:
    """The text of a table file and the encoding that decoded it."""
    data = path.read_bytes()
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            msg = f"{where}: unknown encoding={encoding!r}; use e.g. 'utf-8', 'gb18030' or 'big5'."
            raise InputError(msg) from None
        except UnicodeDecodeError as exc:
            msg = (
                f"{where}: cannot be decoded with encoding={encoding!r} ({exc.reason} at byte "
                f"{exc.start}); pass the file's real encoding, or leave encoding=None to detect it."
            )
            raise InputError(msg) from None
    if data.startswith(codecs.BOM_UTF8):
        tries: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        tries = ("utf-16",)  # Excel's "Unicode text" export
    else:
        # UTF-8 first: GBK text is practically never valid UTF-8, while many UTF-8 byte
        # sequences are also valid GB18030, so the reverse order would misread UTF-8.
        tries = ("utf-8", "gb18030")
    for enc in tries:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    msg = (
        f"{where}: cannot be decoded as {' or '.join(tries)}; pass the file's encoding, "
        "e.g. encoding='big5' for traditional-Chinese files."
    )
    raise InputError(msg)


def _sniff_delimiter(text: str, suffix: str) -> str:
    """Comma, tab or semicolon: the one that splits the header into the most columns.

    The header decides (it rarely holds a delimiter inside a name, while values do:
    Amap type strings hold semicolons, locations commas); ties go to the delimiter whose
    split gives the most of the first rows the header's number of fields.
    """
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    order = ("\t", ",", ";") if suffix == ".tsv" else (",", "\t", ";")
    best, best_key = order[0], (0, 0.0)
    for delim in order:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delim) if r]
        except csv.Error:  # a NUL, or a field past csv's size limit: not this delimiter
            continue
        rows = rows[:50]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        same = sum(len(r) == width for r in rows[1:]) / max(len(rows) - 1, 1)
        if (width, same) > best_key:
            best, best_key = delim, (width, same)
    return best


def _numbers_where_possible(df: pd.DataFrame) -> pd.DataFrame:
    """Columns read as text become numbers when every non-empty cell is a number.

    A column with any value written with a leading zero ("060400", "0755") stays text:
    Amap typecodes, area codes and ids must keep their digits.
    """
    out = df.copy()
    for col in out.columns:
        text = out[col]
        if not (pd.api.types.is_string_dtype(text) or text.dtype == object):
            continue
        values = text.dropna().astype(str).str.strip()
        if values.empty or not _all_plain_numbers(values.iloc[:100]):
            continue  # most text columns fail on their first values: skip the full pass
        if _all_plain_numbers(values):
            out[col] = pd.to_numeric(text.astype(str).str.strip().where(text.notna()))
    return out


def _all_plain_numbers(values: pd.Series) -> bool:
    """Every value is a number not written with a leading zero."""
    nums = pd.to_numeric(values, errors="coerce")
    return not (nums.isna().any() or values.str.match(r"^[-+]?0\d").any())


def read_text_table(path: Path, encoding: str | None, where: str) -> tuple[pd.DataFrame, str]:
    """A text table as a DataFrame (numbers where every value is one) and its encoding."""
    check_file(path, where, "text")
    text, used = _decode(path, encoding, where)
    delim = _sniff_delimiter(text, path.suffix.lower())
    try:
        df = pd.read_csv(io.StringIO(text), sep=delim, dtype=str, skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        msg = f"{where} is empty (no header, no rows); check that it is the right file."
        raise InputError(msg) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        msg = (
            f"{where}: cannot be read as a {delim!r}-separated table ({exc}); check the "
            "quoting of fields that contain the delimiter."
        )
        raise InputError(msg) from None
    return _numbers_where_possible(df), used


def read_excel_table(path: Path, sheet: str | int | None, where: str) -> tuple[pd.DataFrame, str]:
    """One sheet of a workbook (the first by default) and the sheet's name."""
    check_file(path, where, "xlsx")
    package = "xlrd" if path.suffix.lower() == ".xls" else "openpyxl"
    try:
        with reading(where, "xlsx", *_EXCEL_ERRORS):
            book = pd.ExcelFile(path)
    except ImportError:
        msg = f"reading {path.suffix} files needs the {package} package: pip install {package}"
        raise InputError(msg) from None
    with book:
        chosen = _sheet(sheet, [str(s) for s in book.sheet_names], where)
        with reading(where, "xlsx", *_EXCEL_ERRORS):
            df = pd.read_excel(book, sheet_name=chosen)
    return df, chosen


def _sheet(sheet: str | int | None, names: list[str], where: str) -> str:
    """The name of the sheet asked for (the first by default)."""
    if sheet is None:
        return names[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            msg = (
                f"{where} has {len(names)} sheet(s) ({describe(names)}); sheet={sheet} is "
                "out of range (sheets count from 0)."
            )
            raise InputError(msg)
        return names[sheet]
    if str(sheet) in names:
        return str(sheet)
    msg = (
        f"{where} has no sheet {sheet!r}; its sheets are {describe(names)}."
        f"{closest(str(sheet), names)}"
    )
    raise InputError(msg)
