"""Numbers as planners write them: one parser for population, households, areas and staff.

Spreadsheets from bureaus hold counts as text: ``"1,980"``, full-width ``"１９８０"``,
``"1.2万"``, ``"1980人"``, ``"600㎡"``, ``"30平方米"``. :func:`parse_numbers` reads all of
these (and plain numbers) and tells which cells are empty and which cannot be read;
:func:`read_numbers` does that for one column of a reader and reports what it could not
read in one warning, or raises when the column holds no number at all.

The parser is vectorised: each distinct text is parsed once by pandas string methods,
then mapped back to the rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InputError, PlannerWarning, describe

__all__ = ["NUMBER_EXAMPLES", "Parsed", "parse_numbers", "read_numbers"]

#: How to write numbers, for messages.
NUMBER_EXAMPLES = "1980, 1,980, 1.2万 or 1980人"
# Units that may follow a count or an area (after NFKC: ㎡ -> m2, ｍ² -> m2).
_UNITS = r"人|个|名|户|位|家|间|座|处|套|平方米|平米|平方|m2|sqm"
_NUMBER = (
    r"^(?P<sign>[-+]?)"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)"
    rf"(?P<scale>万|亿)?(?:{_UNITS})?$"
)
# Cells that mean "no value": blank, dashes, slashes and spelt-out NaNs.
_EMPTY = ("", "-", "--", "---", "—", "——", "/", "nan", "none", "null", "n/a", "na", "#n/a")
_SCALE = {"万": 1e4, "亿": 1e8}
# How many unreadable values a message shows.
_EXAMPLES = 5

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Parsed:
    """A column read as numbers: ``values`` (NaN where ``empty`` or ``unreadable``)."""

    values: FloatArray
    empty: BoolArray
    unreadable: BoolArray


def _parse_texts(texts: pd.Series) -> tuple[FloatArray, BoolArray]:
    """(number or NaN, is empty) for each distinct text."""
    text = texts.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    text = text.str.lower()
    empty = text.isna() | text.isin(_EMPTY)
    parts = text.str.extract(_NUMBER)
    digits = parts["digits"].str.replace(",", "", regex=False)
    number = pd.to_numeric(digits, errors="coerce").astype("float64")
    scale = parts["scale"].map(_SCALE).fillna(1.0).astype("float64")
    number = (number * scale).where(scale == 1.0, (number * scale).round(4))  # 1.1万: 11000
    number = number.where(parts["sign"] != "-", -number)
    values = np.array(number.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    return values, empty.to_numpy(dtype=bool)


def parse_numbers(values: pd.Series) -> Parsed:
    """Read a column of counts or areas as float64.

    Numeric columns pass through. Text may carry thousands separators (``1,980``),
    full-width digits, a 万/亿 multiplier (``1.2万`` = 12000) and one trailing unit (人, 个,
    名, 户, 位, 家, 间, 座, 处, 套, 平方米, 平米, 平方, m2, ㎡, sqm); spaces are ignored.
    Blank cells, dashes, slashes and "NaN"/"null"/"N/A" are empty.

    Parameters
    ----------
    values
        One column.

    Returns
    -------
    Parsed
        The numbers (NaN where empty or unreadable) and the two masks.
    """
    n = len(values)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        nums = values.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(nums)
        return Parsed(nums, missing, np.zeros(n, dtype=bool))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = pd.Series(np.asarray(uniques, dtype=object)).map(_as_text)
    unique_values, unique_empty = _parse_texts(texts)
    unique_values[unique_empty] = np.nan
    known = codes >= 0
    out = np.full(n, np.nan)
    out[known] = unique_values[codes[known]]
    empty = ~known
    empty[known] = unique_empty[codes[known]]
    return Parsed(out, empty, ~empty & np.isnan(out))


def _as_text(value: object) -> str:
    """A cell as text; whole floats without their ".0" (an Excel number in a text column)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _examples(raw: pd.Series, mask: BoolArray, keys: pd.Series | None) -> str:
    """Up to five ``key ('value')`` examples of the rows in ``mask``."""
    rows = np.flatnonzero(mask)
    shown = rows[:_EXAMPLES]
    labels = (
        keys.iloc[shown].astype(str).tolist()
        if keys is not None
        else [f"row {label}" for label in raw.index[shown]]
    )
    items = [f"{label} ({raw.iloc[i]!r})" for label, i in zip(labels, shown, strict=True)]
    return ", ".join(items) + (" ..." if len(rows) > _EXAMPLES else "")


def read_numbers(
    values: pd.Series,
    *,
    where: str,
    column: str,
    what: str,
    keys: pd.Series | None = None,
    empty: Literal["missing", "zero"] = "missing",
) -> pd.Series:
    """One column of a reader as numbers, with one warning for what could not be read.

    Parameters
    ----------
    values
        The column.
    where
        The file, for messages ("blocks file 'x.gpkg'").
    column
        The column's header in the file.
    what
        What it holds ("population", "social_workers").
    keys
        Row labels for messages (community names); default the row index.
    empty
        {"missing", "zero"}: what empty and unreadable cells become (NaN, or 0 with the
        empty cells counted in the warning too).

    Returns
    -------
    pandas.Series
        float64, on ``values``' index.

    Raises
    ------
    planner.errors.InputError
        When the column has values but none is a number, or a number is negative.

    Warns
    -----
    planner.errors.PlannerWarning
        Once, counting the cells that are not numbers (with examples) and, for
        ``empty="zero"``, the empty ones.
    """
    parsed = parse_numbers(values)
    bad, blank = parsed.unreadable, parsed.empty
    if bad.any() and not np.isfinite(parsed.values).any():
        msg = (
            f"{where}: column {column!r} ({what}) holds no number: {int(bad.sum())} values "
            f"such as {_examples(values, bad, keys)}; check that it is the right column, and "
            f"write numbers such as {NUMBER_EXAMPLES}."
        )
        raise InputError(msg)
    _check_negative(parsed.values, values, where, column, what, keys)
    out = pd.Series(parsed.values, index=values.index, dtype=np.float64)
    if empty == "zero":
        counted = bad | blank
        if counted.any():
            shown = f" (e.g. {_examples(values, bad, keys)})" if bad.any() else ""
            _warn(
                f"{where}: column {column!r} is empty or not a number in {int(counted.sum())} "
                f"rows{shown}; they count as 0. Fill them in to count those {what}; numbers "
                f"may be written {NUMBER_EXAMPLES}."
            )
        return out.fillna(0.0)
    if bad.any():
        _warn(
            f"{where}: column {column!r} ({what}) is not a number in {int(bad.sum())} rows: "
            f"{_examples(values, bad, keys)}; they count as missing. Write numbers such as "
            f"{NUMBER_EXAMPLES}."
        )
    return out


def _check_negative(
    nums: FloatArray,
    values: pd.Series,
    where: str,
    column: str,
    what: str,
    keys: pd.Series | None,
) -> None:
    negative = nums < 0
    if not negative.any():
        return
    who = (
        f"for {describe(keys[negative].tolist())}"
        if keys is not None
        else f"(rows {values.index[negative][:5].tolist()})"
    )
    msg = (
        f"{where}: column {column!r} has {int(negative.sum())} negative values {who}; "
        f"{what} must be zero or more."
    )
    raise InputError(msg)


def _warn(msg: str) -> None:
    warnings.warn(msg, PlannerWarning, stacklevel=4)
