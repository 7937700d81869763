"""Community attribute tables from the bureaus (民政, 体育, 团委 ...), joined to communities.

Many of the plan's targets are numbers per community that no map holds: community
social organisations, registered social workers, registered volunteers, certified
social sports instructors, the last training of the committee's director and members,
service floor area (二(三), 三(五)1, 三(六)). They arrive as CSV or Excel sheets, often
saved by Chinese Excel in GBK, with Chinese headers, one row per 社区/村.

:func:`read_community_table` reads such a sheet into planner's standard column names
(:data:`STANDARD_COLUMNS`) keyed by community name and/or code;
:func:`join_community_table` attaches it to the community polygons
(:func:`planner.read_communities`) and reports rows that matched nothing, with the
closest community names as suggestions.

CRS rule: the tables hold no geometry; :func:`join_community_table` returns the
communities in their own CRS (read with :func:`planner.read_communities`: EPSG:4326).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InputError, MissingColumnError, PlannerWarning, closest, describe
from ._columns import (
    CODE,
    COMMUNITY_COUNTS,
    COMMUNITY_NAME,
    DIRECTOR_TRAINED_YEAR,
    LEGAL_ADVISERS,
    MEMBERS_TRAINED_YEAR,
    ONE_DOOR_SERVICE,
    SECRETARY_TRAINED_YEAR,
    Field,
    find_column,
)
from ._numbers import read_numbers
from ._tables import read_excel_table, read_text_table
from .files import EXCEL_SUFFIXES, SPATIAL_SUFFIXES, TEXT_SUFFIXES

__all__ = ["STANDARD_COLUMNS", "join_community_table", "read_community_table"]

#: planner's column -> the kind of column and the headers that name it (compared without
#: case, width, spaces, punctuation or brackets). All of these columns are numbers; the
#: ones in YEAR_COLUMNS hold years.
STANDARD_FIELDS: dict[str, Field] = {
    **{k: v for k, v in COMMUNITY_COUNTS.items() if k != "service_floor_area_m2"},
    "director_trained_year": DIRECTOR_TRAINED_YEAR,
    "members_trained_year": MEMBERS_TRAINED_YEAR,
    "secretary_trained_year": SECRETARY_TRAINED_YEAR,
    "service_floor_area_m2": COMMUNITY_COUNTS["service_floor_area_m2"],
}
#: Columns found by default whose values stay as written (a count or 是/否, a flag): the
#: targets read them (planner.targets).
FLAG_FIELDS: dict[str, Field] = {
    "legal_advisers": LEGAL_ADVISERS,
    "one_door_service": ONE_DOOR_SERVICE,
}
#: planner's column -> headers recognised by default (the aliases of STANDARD_FIELDS and
#: FLAG_FIELDS).
STANDARD_COLUMNS: dict[str, tuple[str, ...]] = {
    column: field.aliases for column, field in {**STANDARD_FIELDS, **FLAG_FIELDS}.items()
}
#: Standard columns that hold a year (a date or "2023年" gives its year).
YEAR_COLUMNS = ("director_trained_year", "members_trained_year", "secretary_trained_year")
#: Headers of community names and of community codes, detected in this order.
NAME_HEADERS = COMMUNITY_NAME.aliases
CODE_HEADERS = CODE.aliases
#: Total rows of statistical sheets (dropped with a warning).
TOTAL_ROWS = ("合计", "总计", "小计", "全街道", "全镇", "total", "sum")
#: Committee suffixes that name the same unit: "东风社区居委会" is "东风社区".
_COMMITTEE = re.compile(r"(?:居民委员会|村民委员会|居委会|村委会|委员会)$")


def _warn(msg: str) -> None:
    warnings.warn(msg, PlannerWarning, stacklevel=4)


def match_key(names: pd.Series) -> pd.Series:
    """Community names reduced for matching: full-width to half-width (NFKC), no spaces,
    no committee suffix ("东风社区居委会" -> "东风社区")."""
    text = names.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    return text.str.replace(_COMMITTEE, "", regex=True).astype("string")


def _code_text(values: pd.Series) -> pd.Series:
    """Codes as text: 440304001001.0 (a number read by Excel) -> "440304001001"."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("Float64").round().astype("Int64").astype("string")
    return values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)


def _years(values: pd.Series, column: str, source: str, where: str, keys: pd.Series) -> pd.Series:
    """Years from years (2023), dates (2023-05-10, Excel dates) or "2023年"; warns on others."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.year.astype("Float64").astype(float)
    if pd.api.types.is_numeric_dtype(values):
        num = values.astype(float)
        text = values.astype("string")
        year = num.where(num == np.floor(num))
    else:
        text = values.astype("string").str.normalize("NFKC").str.strip()
        found = text.str.extract(r"^((?:19|20)\d{2})(?:\D|$)", expand=False)
        year = pd.to_numeric(found, errors="coerce").astype(float)
        as_date = pd.to_datetime(
            text.where(year.isna()), errors="coerce", format="mixed"
        ).dt.year.astype(float)
        year = year.fillna(as_date)
    bad = text.notna() & (text != "") & (year.isna() | (year < 1949) | (year > 2100))
    if bad.any():
        rows = [f"{k} ({v!r})" for k, v in zip(keys[bad], text[bad], strict=True)]
        msg = (
            f"{where}: column {source!r} ({column}) holds no year in {int(bad.sum())} rows: "
            f"{', '.join(rows[:8])}{' ...' if len(rows) > 8 else ''}; they count as missing. "
            "Write the year of the last training, e.g. 2023 or 2023-05-10."
        )
        _warn(msg)
    return year.where(~bad).astype(float)


# --- read_community_table: the steps ---------------------------------------------------


@dataclass
class _Table:
    """A community table being read: the raw sheet, the keyed result, and what is where."""

    raw: pd.DataFrame
    out: pd.DataFrame
    keys: pd.Series
    taken: set[str]
    where: str


def _check_table_path(path: Path, sheet: str | int | None, where: str) -> str:
    """The suffix of a readable community-table file."""
    if not path.exists():
        msg = f"{where} does not exist (looked for {path.resolve()}); check the path."
        raise InputError(msg)
    suffix = path.suffix.lower()
    if suffix in SPATIAL_SUFFIXES:
        msg = (
            f"{where} is a spatial file; read boundaries with planner.read_communities and "
            "pass attribute tables (CSV or Excel) here."
        )
        raise InputError(msg)
    if suffix not in (*TEXT_SUFFIXES, *EXCEL_SUFFIXES):
        msg = (
            f"{where}: cannot read {suffix or 'suffix-less'} files; save it as one of "
            f"{', '.join((*TEXT_SUFFIXES, *EXCEL_SUFFIXES))}."
        )
        raise InputError(msg)
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        msg = f"{where}: sheet= applies to Excel workbooks only; drop it for {suffix} files."
        raise InputError(msg)
    return suffix


def _read_sheet(
    path: Path, suffix: str, sheet: str | int | None, encoding: str | None, where: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The sheet's non-empty rows with a ``source_row`` column, and how it was read."""
    if suffix in EXCEL_SUFFIXES:
        raw, used = read_excel_table(path, sheet, where)
        attrs: dict[str, Any] = {"sheet": used, "encoding": None}
    else:
        raw, used = read_text_table(path, encoding, where)
        attrs = {"sheet": None, "encoding": used}
    raw.columns = pd.Index([str(c).strip() for c in raw.columns])
    raw = raw.dropna(how="all").copy()
    if len(raw) == 0:
        msg = f"{where} has a header but no rows; check that it is the right file (and sheet=)."
        raise InputError(msg)
    raw["source_row"] = raw.index.to_numpy()
    return raw, attrs


def _excel_codes_as_text(path: Path, sheet: str, raw: pd.DataFrame, column: str) -> pd.Series:
    """A code column of a workbook re-read as cells ("044030400100" keeps its zero)."""
    position = list(raw.columns).index(column)
    again = pd.read_excel(path, sheet_name=sheet, dtype=object)
    return pd.Series(again.iloc[:, position]).reindex(raw.index)


def _keyed(
    raw: pd.DataFrame,
    name: str | None,
    code: str | None,
    codes_as_text: Any,
    where: str,
) -> _Table:
    """The ``community`` and ``code`` columns, and one key per row (name, else code)."""
    headers = [c for c in raw.columns if c != "source_row"]
    name_col = find_column(headers, COMMUNITY_NAME, given=name, given_as="name", where=where)
    code_col = find_column(headers, CODE, given=code, given_as="code", where=where)
    if name_col is None and code_col is None:
        msg = (
            f"{where}: cannot tell which column names the communities; its columns are "
            f"{describe(headers, limit=30)}. Pass "
            "name='<header of community names>' or code='<header of community codes>'."
        )
        raise MissingColumnError(msg)
    out = pd.DataFrame(index=raw.index)
    if name_col is not None:
        out["community"] = raw[name_col].astype("string").str.strip()
    if code_col is not None:
        out["code"] = _code_text(codes_as_text(code_col))
    keys = out["community"] if "community" in out.columns else out["code"]
    if "community" in out.columns and "code" in out.columns:
        keys = keys.where(keys.notna() & (keys != ""), out["code"])
    taken = {str(c) for c in (name_col, code_col) if c is not None}
    return _Table(raw, out, keys, taken, where)


def _column_mapping(t: _Table, columns: Mapping[str, str] | None) -> dict[str, str]:
    """Source header -> planner column: the ones given, then the standard ones found."""
    headers = [c for c in t.raw.columns if c != "source_row"]
    mapping: dict[str, str] = {}
    for source, target in (columns or {}).items():
        found = find_column(
            headers, Field(str(target), ()), given=str(source), given_as="columns", where=t.where
        )
        mapping[str(found)] = str(target)
    taken = {*t.taken, *mapping}
    for target, field in {**STANDARD_FIELDS, **FLAG_FIELDS}.items():
        if target in mapping.values():
            continue
        found = find_column(headers, field, skip=taken)
        if found is not None:
            mapping[str(found)] = target
            taken.add(str(found))
    repeated = [t for t in set(mapping.values()) if list(mapping.values()).count(t) > 1]
    if repeated:
        msg = (
            f"{t.where}: several headers map to {repeated}: "
            f"{[s for s, c in mapping.items() if c in repeated]}; map only one of them."
        )
        raise InputError(msg)
    t.taken |= set(mapping)
    return mapping


def _drop_totals_and_blanks(t: _Table) -> _Table:
    """Without total rows (合计, 总计, ...) and rows with no name or code (one warning)."""
    total = match_key(t.keys).str.lower().isin(TOTAL_ROWS).fillna(False)
    empty = t.keys.isna() | (t.keys == "")
    if not (total.any() or empty.any()):
        return t
    dropped = []
    if total.any():
        dropped.append(f"{int(total.sum())} total rows ({describe(t.keys[total].tolist())})")
    if empty.any():
        rows = describe(t.raw.loc[empty, "source_row"].tolist())
        dropped.append(f"{int(empty.sum())} rows without a community name or code ({rows})")
    _warn(f"{t.where}: dropped {' and '.join(dropped)}; rows count from 0 below the header.")
    keep = ~(total | empty)
    return _Table(t.raw[keep], t.out[keep], t.keys[keep], t.taken, t.where)


def _check_unique(t: _Table) -> None:
    for key_col in ("community", "code"):
        if key_col in t.out.columns:
            values = t.out[key_col] if key_col == "code" else match_key(t.out[key_col])
            dup = values.notna() & values.duplicated(keep=False)
            if dup.any():
                msg = (
                    f"{t.where}: {key_col} values repeat: "
                    f"{describe(t.out.loc[dup, key_col].unique().tolist())}; each community "
                    "needs one row. Merge the rows, or key the table by code (code=...)."
                )
                raise InputError(msg)


def _values(t: _Table, mapping: dict[str, str]) -> pd.DataFrame:
    """The planner columns (numbers, years, or as given), then the file's other columns."""
    out = t.out.copy()
    for source, target in mapping.items():
        if target in YEAR_COLUMNS:
            out[target] = _years(t.raw[source], target, source, t.where, t.keys)
        elif target in STANDARD_FIELDS:
            out[target] = read_numbers(
                t.raw[source], where=t.where, column=source, what=target, keys=t.keys
            )
        else:
            out[target] = t.raw[source]
    rest = [c for c in t.raw.columns if c not in {*t.taken, "source_row"} and c not in out]
    return pd.concat([out, t.raw[rest]], axis=1)


def read_community_table(
    path: str | Path,
    *,
    name: str | None = None,
    code: str | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a bureau's table of community attributes (CSV/TSV/TXT or Excel).

    Parameters
    ----------
    path
        A ``.csv``, ``.tsv``, ``.txt``, ``.xlsx``, ``.xlsm`` or ``.xls`` file, one row
        per community (社区/村). Text files may be UTF-8 (with or without BOM), UTF-16 or
        GBK/GB18030 (detected), delimited by commas, tabs or semicolons.
    name
        Header of the community names; detected by default (社区名称, 社区, 村, 名称,
        name, ...).
    code
        Header of the community codes (统计用区划代码 ...); detected by default (社区代码,
        区划代码, code, ...). Codes stay text: leading zeros are kept.
    columns
        Source header -> planner column, e.g. ``{"社工数": "social_workers"}``. Headers
        listed in :data:`STANDARD_COLUMNS` (社会组织数, 社工人数, 注册志愿者, 社会体育指导员,
        常住人口, 户数, 主任培训年份, 成员培训年份, 社区服务用房面积, ...) are found
        without it (headers are compared without case, width, spaces, punctuation or
        a bracketed unit: ``常住人口（人）`` is 常住人口). A planner column that is not
        standard is kept as given (numbers where every value is one).
    sheet
        Excel: the sheet, by name or position; default the first.
    encoding
        Text files: the encoding, when detection picks the wrong one.

    Returns
    -------
    pandas.DataFrame
        ``community`` (names, when a name column exists) and ``code`` (text, when a
        code column exists), the standard columns found (floats read as planners write
        them: ``1,980``, ``１９８０``, ``1.2万``, ``1980人``, ``600㎡``; the training
        columns hold years), the file's other columns unchanged, and ``source_file`` /
        ``source_row`` (0 = first row under the header). ``attrs["columns"]`` maps each
        source header to the planner column it became.

    Raises
    ------
    planner.errors.MissingColumnError
        No name or code column, or a header given in ``name``/``code``/``columns``
        that the file lacks.
    planner.errors.InputError
        Unreadable, empty, truncated or misnamed file, a repeated community name or
        code, negative counts, a standard column with no number in it.

    Warns
    -----
    planner.errors.PlannerWarning
        Values that are not numbers (or years), listed by community; total rows
        (合计, 总计, ...) and rows without a name or code, which are dropped.

    Examples
    --------
    >>> table = read_community_table("民政局社区统计.xlsx", columns={"持证社工": "social_workers"})
    >>> table[["community", "social_workers", "volunteers"]]
    """
    path = Path(path)
    where = f"community table {path.name!r}"
    suffix = _check_table_path(path, sheet, where)
    raw, attrs = _read_sheet(path, suffix, sheet, encoding, where)

    def codes_as_text(column: str) -> pd.Series:
        if suffix in EXCEL_SUFFIXES:  # pandas reads "044030400100" as a number
            return _excel_codes_as_text(path, str(attrs["sheet"]), raw, column)
        return raw[column]

    table = _keyed(raw, name, code, codes_as_text, where)
    mapping = _column_mapping(table, columns)
    table = _drop_totals_and_blanks(table)
    _check_unique(table)
    out = _values(table, mapping)
    out["source_file"] = path.name
    out["source_row"] = table.raw["source_row"].to_numpy()
    out = out.reset_index(drop=True)
    out.attrs.update(attrs, columns=dict(mapping), file=path.name)
    return out


def _suggest(name: str, choices: list[str]) -> str:
    return ", ".join(difflib.get_close_matches(name, choices, n=3, cutoff=0.5))


# --- join_community_table: the steps ---------------------------------------------------


def _join_keys(
    communities: gpd.GeoDataFrame, table: pd.DataFrame, on: str, where: str
) -> tuple[gpd.GeoDataFrame, pd.Series, pd.Series]:
    """The communities (standardised) and the keys of both sides, checked unique."""
    if on not in {"community", "code"}:
        msg = (
            f"join_community_table: on must be 'community' or 'code'; got {on!r}."
            f"{closest(on, ['community', 'code'])}"
        )
        raise InputError(msg)
    com = communities
    if "community" not in com.columns:
        from .blocks import standardise_communities

        com = standardise_communities(com)
    for frame, what in ((com, "communities"), (table, where)):
        if on not in frame.columns:
            fix = (
                "read the table with name=... (community names)"
                if on == "community"
                else "give both a 'code' column (read_community_table(code=...))"
            )
            msg = f"join_community_table: {what} have no {on!r} column to join on; {fix}."
            raise MissingColumnError(msg)
    if on == "community":
        left, right = match_key(com["community"]), match_key(table["community"])
    else:
        left, right = _code_text(com["code"]), _code_text(table["code"])
    if left.dropna().duplicated().any():
        msg = f"join_community_table: communities repeat {on} values; they must be unique."
        raise InputError(msg)
    if right.dropna().duplicated().any():
        msg = f"{where}: {on} values repeat after normalising names; each needs one row."
        raise InputError(msg)
    return com, left, right


def _table_row_of(left: pd.Series, right: pd.Series) -> npt.NDArray[np.int64]:
    """For each community, the position of its table row (-1 for none)."""
    pos = pd.Series(np.arange(len(right)), index=right.to_numpy())
    pos = pos[pos.index.notna()]
    return np.asarray(left.map(pos).fillna(-1).astype(int).to_numpy(), dtype=np.int64)


def _with_table_columns(
    com: gpd.GeoDataFrame, table: pd.DataFrame, rows: npt.NDArray[np.int64], on: str
) -> gpd.GeoDataFrame:
    """The communities with the table's columns (the table's value wins unless missing)."""
    standard = [c for c in STANDARD_COLUMNS if c in table.columns]
    mapped = [c for c in dict(table.attrs.get("columns", {})).values() if c in table.columns]
    cols = list(dict.fromkeys([*standard, *mapped]))
    if on == "community" and "code" in table.columns and "code" not in com.columns:
        cols.append("code")
    out = com.copy()
    take = np.clip(rows, 0, None)
    for c in cols:
        if len(table) == 0:
            got = pd.Series(np.nan, index=out.index)
        else:
            got = pd.Series(table[c].iloc[take].to_numpy(), index=out.index).where(rows >= 0)
        out[c] = got.where(got.notna(), out[c]) if c in out.columns else got
    if "code" in cols:
        out["code"] = out["code"].astype("string")
    return out


def _join_report(
    com: gpd.GeoDataFrame, table: pd.DataFrame, rows: npt.NDArray[np.int64]
) -> pd.DataFrame:
    """One row per table row that matched no community and per community without a row."""
    used = np.zeros(len(table), dtype=bool)
    used[rows[rows >= 0]] = True
    names = com["community"].astype(str).tolist()
    key_col = "community" if "community" in table.columns else "code"
    lost = table[~used]
    lost_keys = lost[key_col].astype(str).tolist()
    unmatched = pd.DataFrame(
        {
            "issue": "table row matches no community",
            "key": lost[key_col].astype(str).to_numpy(),
            "source_row": (
                lost["source_row"].astype("Int64").to_numpy()
                if "source_row" in lost
                else pd.array([pd.NA] * len(lost), dtype="Int64")
            ),
            "community": pd.NA,
            "suggestions": [_suggest(k, names) for k in lost_keys],
        }
    )
    alone = com[rows < 0]
    missing = pd.DataFrame(
        {
            "issue": "community has no table row",
            "key": pd.NA,
            "source_row": pd.array([pd.NA] * len(alone), dtype="Int64"),
            "community": alone["community"].astype(str).to_numpy(),
            "suggestions": [_suggest(c, lost_keys) for c in alone["community"].astype(str)],
        }
    )
    return pd.concat([unmatched, missing], ignore_index=True)


def _warn_lost(report: pd.DataFrame, on: str, where: str) -> None:
    lost = report[report["issue"] == "table row matches no community"]
    if len(lost) == 0:
        return
    hint = "; ".join(
        f"{k!r} (closest: {s})" if s else repr(k)
        for k, s in zip(lost["key"][:5], lost["suggestions"][:5], strict=True)
    )
    _warn(
        f"{where}: {len(lost)} rows match no community by {on}: {hint}"
        f"{' ...' if len(lost) > 5 else ''}. Their values are not used; fix the names "
        "(the report lists suggestions)."
    )


def join_community_table(
    communities: gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    on: str = "community",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Attach a community table (:func:`read_community_table`) to the community polygons.

    Parameters
    ----------
    communities
        Community polygons (:func:`planner.read_communities`), with ``community``
        names (and a ``code`` column to join on codes).
    table
        One row per community with ``community`` and/or ``code``.
    on
        {"community", "code"}. Names match after full-width to half-width folding,
        removal of spaces and of a committee suffix ("东风社区居委会" = "东风社区");
        nothing else is matched: near misses are only suggested.

    Returns
    -------
    joined : geopandas.GeoDataFrame
        In the communities' CRS (EPSG:4326 when read with :func:`read_communities`).
        The communities with the table's standard columns (and any other columns
        mapped by ``columns=``). Where a community already has such a column, the
        table's value wins unless it is missing.
    report : pandas.DataFrame
        One row per problem: ``issue`` ("table row matches no community" or
        "community has no table row"), ``key`` (the table's name or code),
        ``source_row``, ``community`` and ``suggestions`` (closest community names for
        an unmatched row; closest unmatched table names for a community without row).

    Warns
    -----
    planner.errors.PlannerWarning
        When table rows match no community (their values would otherwise be lost).
    """
    where = f"community table {table.attrs.get('file', '')!r}".replace(" ''", "")
    com, left, right = _join_keys(communities, table, on, where)
    rows = _table_row_of(left, right)
    out = _with_table_columns(com, table, rows, on)
    report = _join_report(com, table, rows)
    _warn_lost(report, on, where)
    out.attrs.update(community_table=table.attrs.get("file"))
    return out, report
