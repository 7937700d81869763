"""The plan's targets as computable checks: pass, fail or "input missing", never a guess.

Kinds (see the preset TOML files); :data:`EVALUATORS` maps each to its function:

presence
    Share of units (communities, or streets/townships) with at least one facility of the
    target's categories inside the unit's boundary, per class (urban, rural, rural in
    the Pearl River Delta, rural elsewhere; streets vs townships), against a threshold.
    This is *presence coverage*, the measure government statistics use; it is reported
    apart from the circles' *accessibility coverage*.
per_capita_area
    Area of the categories' facility polygons (e.g. sports grounds) per resident.
floor_area_per_households
    Community service floor area per 100 households, from a column of the communities.
new_housing_floor_area
    Floor area a new housing project must provide for its number of households.
community_table
    A number per community from a bureau's table (joined to the communities with
    :func:`planner.join_community_table`): a ``column`` (social workers >= 1), or a
    ``numerator`` / ``denominator`` ratio times ``scale`` (volunteers / population >=
    0.15; sports instructors per 10,000 residents >= 30), compared with ``comparison``
    (">=", ">", "<=", "<", "==", or "within_years": a year column no more than the
    threshold's years before the reference year) against a threshold per class. A class
    passes when ``aggregate`` says so: "each" unit, the class "mean", or the class
    "ratio" of sums. With ``unit = "street"`` the column holds a street's value (e.g.
    一门式一网式 in use: 1/0 or 是/否) repeated on each of its communities, and the check
    runs per street/township. Each unit's value and status are in the per-unit table.
opening_hours
    Facilities of the target's categories (all when none are given) open at least
    ``threshold`` hours a day (:func:`planner.hours.opening_hours_check`), read on a
    typical opening day or on every day it opens (the target's ``hours_reading``), per
    category and per community.

Both tables record each target's provenance (``clause``, ``quote``, ``label``,
``source``), the year it is due (``due_year``), the year it was judged at
(``reference_year``: the preset's end year unless given) and, where a unit falls
short, how far (``gap`` in ``gap_unit``, named in Chinese in ``gap_unit_zh``):

============================ ========================================= ==================
kind                         gap of a unit (per-unit table)            gap of a class
============================ ========================================= ==================
presence                     1 facility where it has none              units short of
                                                                       the share
per_capita_area              m2 short of threshold x residents         the same, summed
floor_area_per_households    m2 short of threshold x households / 100  sum over units
new_housing_floor_area       m2 short of the band's minimum            sum over projects
community_table (column)     threshold - value (e.g. social workers);  each: sum; mean:
                             years overdue for "within_years"          total short of
                                                                       the mean
community_table (ratio)      numerator short: threshold x denominator  numerator short
                             / scale - numerator (e.g. volunteers)     over the class
opening_hours                facilities below the minimum (community,  facilities below
                             category); hours short (facility)
============================ ========================================= ==================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import MissingColumnError
from .hours import BELOW, MEETS, NO_DATA, UNPARSEABLE, describe_reading, opening_hours_check
from .rules import Preset, Target

PASS, FAIL, MISSING, NONE = "pass", "fail", "input missing", "no units"

COLUMNS = [
    "target",
    "class",
    "name_zh",
    "name_en",
    "kind",
    "unit",
    "value",
    "threshold",
    "status",
    "units",
    "units_passing",
    "detail",
    "label",
    "source",
    "clause",
    "quote",
    "due_year",
    "reference_year",
    "due",
    "gap",
    "gap_unit",
    "gap_unit_zh",
    "reading",
]
#: Per-unit columns; ``community`` is filled for facility rows (the community they lie in).
UNIT_COLUMNS = [
    "target",
    "unit",
    "name",
    "class",
    "value",
    "status",
    "detail",
    "community",
    "threshold",
    "gap",
    "gap_unit",
    "gap_unit_zh",
]
#: Words a bureau writes for yes / no in a flag column (一门式一网式 in use: 是/否).
_YES = ("是", "有", "已实施", "已应用", "已开通", "yes", "y", "true", "√")
_NO = ("否", "无", "没有", "未实施", "未应用", "未开通", "no", "n", "false", "×")

Rows = list[dict[str, Any]]
Result = tuple[Rows, pd.DataFrame | None]


@dataclass(frozen=True)
class _Inputs:
    """What every evaluator reads."""

    pre: Preset
    fac: gpd.GeoDataFrame
    category: str
    blocks: gpd.GeoDataFrame
    com: gpd.GeoDataFrame | None
    year: int


def _row(t: Target, cls: str, value: Any, threshold: Any, status: str, **kw: Any) -> dict[str, Any]:
    return {
        "target": t.id,
        "class": cls,
        "name_zh": t.name_zh,
        "name_en": t.name_en,
        "kind": t.kind,
        "unit": t.unit,
        "value": value,
        "threshold": threshold,
        "status": status,
        "units": kw.get("units"),
        "units_passing": kw.get("units_passing"),
        "detail": kw.get("detail", ""),
        "label": t.label,
        "source": t.source,
        "clause": t.clause,
        "quote": "……".join(t.quote),
        "due_year": t.due_year,
        "gap": kw.get("gap"),
        "gap_unit": kw.get("gap_unit", ""),
        "gap_unit_zh": _unit_zh(t, kw.get("gap_unit", "")),
        "reading": kw.get("reading", ""),
    }


#: Chinese names of the gap units the evaluators use (a target's own unit: gap_unit_zh).
_UNITS_ZH = {
    "facilities": "处设施",
    "communities": "个社区",
    "streets/townships": "个街道(乡镇)",
    "m2": "平方米",
    "h": "小时",
    "years overdue": "年(逾期)",
}


def _unit_zh(t: Target, unit: str) -> str:
    """The Chinese name of a gap unit ("" when there is no gap)."""
    if t.gap_unit_zh and unit == _gap_unit(t):
        return t.gap_unit_zh
    hours = re.fullmatch(r"facilities open < (\S+) h", unit)
    if hours:
        return f"处设施开放不足{hours[1]}小时"
    return _UNITS_ZH.get(unit, unit)


def _missing(t: Target, detail: str, thresholds: Mapping[str, Any] | None = None) -> Result:
    """One "input missing" row per class (or one "all" row), no per-unit rows."""
    items = thresholds if thresholds is not None else {"all": t.threshold}
    return [_row(t, k, None, v, MISSING, detail=detail) for k, v in items.items()], None


def _unit_rows(
    t: Target, unit: str, names: Any, cls: Any, value: Any, status: Any, **kw: Any
) -> pd.DataFrame:
    """The per-unit table of one target (every column of :data:`UNIT_COLUMNS`)."""
    frame = pd.DataFrame(
        {
            "target": t.id,
            "unit": unit,
            "name": np.asarray(names, dtype=object),
            "class": np.asarray(cls, dtype=object) if not isinstance(cls, str) else cls,
            "value": value,
            "status": status,
            "detail": kw.get("detail", ""),
            "community": kw.get("community"),
            "threshold": kw.get("threshold"),
            "gap": kw.get("gap"),
            "gap_unit": kw.get("gap_unit", ""),
            "gap_unit_zh": _unit_zh(t, kw.get("gap_unit", "")),
        }
    )
    return frame.reindex(columns=UNIT_COLUMNS)


def default_reference_year(pre: Preset) -> int:
    """The year targets are judged at by default: the preset's end year, else this year."""
    return int(pre.end_year) if pre.end_year is not None else date.today().year


def evaluate_targets(
    pre: Preset,
    fac: gpd.GeoDataFrame,
    category: str,
    blocks: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None,
    *,
    reference_year: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate every target of the preset; returns (targets, per-unit results).

    Parameters
    ----------
    pre
        The preset whose targets are checked.
    fac
        Facilities with a category column (and ``opening_hours`` for that kind).
    category
        The facilities' category column.
    blocks
        Blocks with population, households and community.
    communities
        Community polygons with setting, region, street and table columns.
    reference_year
        The year the targets are judged at: "within_years" targets (committee training)
        count back from it, and a target is ``due`` when it is at least its
        ``due_year``. Default: the preset's end year (2020 for guangdong_2016), so the
        same inputs give the same answer whenever they are run.

    Returns
    -------
    targets : pandas.DataFrame
        Indexed by (target, class), columns :data:`COLUMNS`: the value, threshold and
        status (pass / fail / input missing / no units), units and units passing, the
        provenance (clause, quote, label, source), ``due_year``, ``reference_year``,
        ``due`` (reference_year >= due_year), ``gap``/``gap_unit`` (how far the class
        falls short; 0 when it passes) and ``reading`` (opening hours: the reading used,
        in words).
    per_unit : pandas.DataFrame
        Columns :data:`UNIT_COLUMNS`: one row per unit checked (community, street,
        block, category or facility) with its value, threshold, status, detail and
        ``gap``/``gap_unit`` (see the module docstring).
    """
    year = default_reference_year(pre) if reference_year is None else int(reference_year)
    ctx = _Inputs(pre, fac, category, blocks, _communities(communities), year)
    rows: Rows = []
    units: list[pd.DataFrame] = []
    for t in pre.targets.values():
        r, u = EVALUATORS[t.kind](t, ctx)
        rows += r
        if u is not None and len(u):
            units.append(u)
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["reference_year"] = year
    due = pd.to_numeric(table["due_year"], errors="coerce").to_numpy(dtype=float)
    table["due"] = pd.array(year >= due, dtype="boolean")
    table.loc[np.isnan(due), "due"] = pd.NA
    per_unit = pd.concat(units, ignore_index=True) if units else pd.DataFrame(columns=UNIT_COLUMNS)
    return table.set_index(["target", "class"]), per_unit.reindex(columns=UNIT_COLUMNS)


def _communities(communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if communities is None:
        return None
    com = communities
    if "community" not in com.columns:
        from .sources.blocks import standardise_communities

        com = standardise_communities(com)
    return com


# --- units and classes -----------------------------------------------------------------


def _text_column(com: gpd.GeoDataFrame, col: str) -> pd.Series:
    if col in com.columns:
        return com[col].astype("string")
    return pd.Series(pd.NA, index=com.index, dtype="string")


def _community_class(com: gpd.GeoDataFrame) -> pd.Series:
    """urban / rural_prd / rural_other / rural_unknown / unknown per community."""
    setting, region = _text_column(com, "setting"), _text_column(com, "region")
    out = pd.Series("unknown", index=com.index, dtype=object)
    out[setting == "urban"] = "urban"
    rural = (setting == "rural").fillna(False)
    out[rural & (region == "prd").fillna(False)] = "rural_prd"
    out[rural & region.isin(["east", "west", "north"]).fillna(False)] = "rural_other"
    out[rural & region.isna()] = "rural_unknown"
    return out


def _street_class(names: pd.Series) -> np.ndarray:
    """township when a street/township name ends in 镇 or 乡, else street."""
    return np.where(names.astype(str).str.endswith(("镇", "乡")), "township", "street")


def _members(cls: pd.Series, key: str) -> tuple[np.ndarray, int]:
    """Units of threshold class ``key`` and how many have an unknown class."""
    if key == "all":
        return np.ones(len(cls), dtype=bool), 0
    if key == "rural":
        return (
            cls.isin(["rural_prd", "rural_other", "rural_unknown"]).to_numpy(),
            int((cls == "unknown").sum()),
        )
    unknown = cls.isin(["unknown", "rural_unknown"]) if key != "urban" else cls == "unknown"
    return (cls == key).to_numpy(), int(unknown.sum())


def _unit_limits(cls: pd.Series, thresholds: Mapping[str, float]) -> np.ndarray:
    """The threshold of each unit: that of its most specific class listed."""
    limit = np.full(len(cls), np.nan)
    order = ("all", "rural", "urban")
    for key in sorted(thresholds, key=lambda k: order.index(k) if k in order else 3):
        member, _ = _members(cls, key)
        limit[member] = thresholds[key]
    return limit


def _counts_in(
    units: gpd.GeoDataFrame, pts: gpd.GeoDataFrame, weights: np.ndarray | None = None
) -> np.ndarray:
    """Number (or weight sum) of points inside each unit polygon."""
    if len(pts) == 0 or len(units) == 0:
        return np.zeros(len(units))
    left = gpd.GeoDataFrame(
        {"w": np.ones(len(pts)) if weights is None else weights},
        geometry=pts.geometry.to_crs(units.crs).values,
        crs=units.crs,
    )
    right = gpd.GeoDataFrame(
        {"_u": np.arange(len(units))}, geometry=units.geometry.values, crs=units.crs
    )
    hit = gpd.sjoin(left, right, predicate="within", how="inner")
    hit = hit[~hit.index.duplicated()]  # a point on a shared border counts once
    sums = hit.groupby("_u")["w"].sum()
    out = np.zeros(len(units))
    out[sums.index.to_numpy()] = sums.to_numpy()
    return out


def _streets(com: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    if "street" not in com.columns or com["street"].isna().all():
        return None
    st = com[com["street"].notna()].dissolve(by="street", as_index=False)[["street", "geometry"]]
    st["class"] = _street_class(st["street"])
    return st


def _community_sums(blocks: gpd.GeoDataFrame, com: gpd.GeoDataFrame, col: str) -> np.ndarray:
    """A blocks column summed per community (NaN where no block has a value)."""
    if col not in blocks.columns or "community" not in blocks.columns:
        return np.full(len(com), np.nan)
    sums = blocks.groupby("community")[col].sum(min_count=1)
    return sums.reindex(com["community"]).to_numpy(dtype=float)


# --- presence ------------------------------------------------------------------------------


def _presence(t: Target, ctx: _Inputs) -> Result:
    if ctx.com is None:
        return _missing(t, "no community boundaries given (communities=...)", t.thresholds)
    if t.unit == "street":
        units = _streets(ctx.com)
        if units is None:
            return _missing(t, "communities have no street/township column", t.thresholds)
        cls, names = units["class"], units["street"].astype(str)
    else:
        units, cls, names = ctx.com, _community_class(ctx.com), ctx.com["community"].astype(str)
    cats = ctx.pre.table.expand(t.categories)
    count = _counts_in(units, ctx.fac[ctx.fac[ctx.category].isin(cats)])
    has = count > 0
    what = {"street": "streets/townships"}.get(t.unit, "communities")
    rows = [_presence_row(t, key, thr, cls, has, what) for key, thr in t.thresholds.items()]
    per = _unit_rows(
        t,
        t.unit,
        names,
        cls,
        count,
        np.where(has, PASS, FAIL),
        threshold=1.0,
        gap=np.where(has, 0.0, 1.0),
        gap_unit="facilities",
    )
    return rows, per


def _presence_row(
    t: Target, key: str, threshold: float, cls: pd.Series, has: np.ndarray, what: str
) -> dict[str, Any]:
    """A class's share of units with a facility against its threshold."""
    member, unknown = _members(cls, key)
    n, ok = int(member.sum()), int((member & has).sum())
    counts = {"units": n, "units_passing": ok}
    if unknown:
        detail = "urban/rural setting" if key in {"urban", "rural"} else "setting or region"
        return _row(
            t,
            key,
            ok / n if n else None,
            threshold,
            MISSING,
            **counts,
            detail=f"{unknown} units lack their {detail}",
        )
    if n == 0:
        return _row(t, key, None, threshold, NONE, **counts, detail="no units of this class")
    share = ok / n
    short = max(0, int(np.ceil(threshold * n - 1e-9)) - ok)
    return _row(
        t,
        key,
        share,
        threshold,
        PASS if share >= threshold else FAIL,
        **counts,
        detail=f"{ok} of {n} units have one ({t.unit} presence)",
        gap=float(short),
        gap_unit=what,
    )


# --- areas ---------------------------------------------------------------------------------


def _sports_grounds(t: Target, ctx: _Inputs) -> gpd.GeoDataFrame:
    """Facility polygons of the target's categories with an area, each ground once."""
    pts = ctx.fac[ctx.fac[ctx.category].isin(ctx.pre.table.expand(t.categories))]
    if "area_m2" not in pts.columns:
        return pts.iloc[:0]
    pts = pts[pts["area_m2"].notna()]
    key = pts["osm_id"].astype(str) if "osm_id" in pts.columns else pts.geometry.to_wkb()
    return pts[~pd.Series(key.to_numpy()).duplicated().to_numpy()]  # one ground, several cats


def _per_capita_area(t: Target, ctx: _Inputs) -> Result:
    threshold = float(t.threshold or 0.0)
    pts = _sports_grounds(t, ctx)
    if len(pts) == 0:
        detail = "no facility areas (area_m2): load sports grounds as OSM polygons"
        return _missing(t, detail)
    pop = float(ctx.blocks["population"].sum())
    per = None
    if ctx.com is not None:
        area = _counts_in(ctx.com, pts, pts["area_m2"].to_numpy(dtype=float))
        pop_c = _community_sums(ctx.blocks, ctx.com, "population")
        with np.errstate(invalid="ignore", divide="ignore"):
            value = area / pop_c
        status = np.where(np.isnan(value), MISSING, np.where(value >= threshold, PASS, FAIL))
        per = _unit_rows(
            t,
            "community",
            ctx.com["community"].astype(str),
            _community_class(ctx.com),
            value,
            status,
            threshold=threshold,
            gap=np.maximum(threshold * pop_c - area, 0.0),
            gap_unit="m2",
        )
        total_area = float(area.sum())
    else:
        total_area = float(pts["area_m2"].sum())
    value_all = total_area / pop if pop > 0 else None
    status_all = MISSING if value_all is None else (PASS if value_all >= threshold else FAIL)
    detail = (
        f"{total_area:,.0f} m2 of mapped grounds for {pop:,.0f} residents "
        "(mapped polygons only: indoor and school venues are usually missing)"
    )
    gap = max(threshold * pop - total_area, 0.0) if value_all is not None else None
    row = _row(t, "all", value_all, threshold, status_all, detail=detail, gap=gap, gap_unit="m2")
    return [row], per


def _households(ctx: _Inputs) -> np.ndarray | None:
    """Households per community: its own column, else summed from the blocks."""
    assert ctx.com is not None
    if "households" in ctx.com.columns:
        return pd.to_numeric(ctx.com["households"], errors="coerce").to_numpy(dtype=float)
    if "households" in ctx.blocks.columns and "community" in ctx.blocks.columns:
        return _community_sums(ctx.blocks, ctx.com, "households")
    return None


def _floor_per_households(t: Target, ctx: _Inputs) -> Result:
    col, threshold = t.column or "service_floor_area_m2", float(t.threshold or 0.0)
    if ctx.com is None or col not in ctx.com.columns:
        return _missing(t, f"communities need a {col!r} column (community service floor area)")
    hh = _households(ctx)
    if hh is None:
        return _missing(t, "households are needed (a communities or blocks column)")
    floor = pd.to_numeric(ctx.com[col], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = floor / (hh / 100.0)
    known = np.isfinite(value)
    ok = known & (value >= threshold)
    gap = np.where(known, np.maximum(threshold * hh / 100.0 - floor, 0.0), np.nan)
    per = _unit_rows(
        t,
        "community",
        ctx.com["community"].astype(str),
        _community_class(ctx.com),
        value,
        np.where(~known, MISSING, np.where(ok, PASS, FAIL)),
        threshold=threshold,
        gap=gap,
        gap_unit="m2",
    )
    n, n_ok, total = int(known.sum()), int(ok.sum()), len(ctx.com)
    if n == 0:
        return [
            _row(t, "all", None, threshold, MISSING, detail="no community has both inputs")
        ], per
    status = PASS if n_ok == n == total else (MISSING if n_ok == n else FAIL)
    overall = float(np.nansum(floor[known]) / (np.nansum(hh[known]) / 100.0))
    detail = f"{n_ok} of {n} communities with data meet it; {total - n} lack data"
    row = _row(
        t,
        "all",
        overall,
        threshold,
        status,
        units=n,
        units_passing=n_ok,
        detail=detail,
        gap=float(np.nansum(gap)),
        gap_unit="m2",
    )
    return [row], per


def _new_housing(t: Target, ctx: _Inputs) -> Result:
    flag, col = t.flag or "new_housing", t.column or "service_floor_area_m2"
    need = [c for c in (flag, col, "households") if c not in ctx.blocks.columns]
    if need:
        return [
            _row(
                t,
                "all",
                None,
                None,
                MISSING,
                detail=f"blocks need column(s) {need} for new housing projects",
            )
        ], None
    new = ctx.blocks[ctx.blocks[flag].fillna(False).astype(bool)]
    if len(new) == 0:
        return [_row(t, "all", None, None, NONE, detail="no block is flagged as new housing")], None
    hh = pd.to_numeric(new["households"], errors="coerce").to_numpy(dtype=float)
    floor = pd.to_numeric(new[col], errors="coerce").to_numpy(dtype=float)
    need_min = np.full(len(new), np.nan)
    for lo, hi, fmin, _fmax in t.bands:
        need_min[(hh >= lo) & (hh < hi)] = fmin
    known = np.isfinite(floor) & np.isfinite(need_min)
    ok = known & (floor >= need_min)
    gap = np.where(known, np.maximum(need_min - floor, 0.0), np.nan)
    per = _unit_rows(
        t,
        "block",
        new.index.astype(str),
        "new_housing",
        floor,
        np.where(~known, MISSING, np.where(ok, PASS, FAIL)),
        threshold=need_min,
        gap=gap,
        gap_unit="m2",
    )
    n, n_ok = int(known.sum()), int(ok.sum())
    status = MISSING if n < len(new) else (PASS if ok.all() else FAIL)
    detail = f"{n_ok} of {len(new)} new housing projects provide the band's minimum"
    row = _row(
        t,
        "all",
        n_ok / n if n else None,
        1.0,
        status,
        units=len(new),
        units_passing=n_ok,
        detail=detail,
        gap=float(np.nansum(gap)),
        gap_unit="m2",
    )
    return [row], per


# --- community tables (non-spatial) --------------------------------------------------------

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
    "==": np.isclose,
}


def _numbers(values: pd.Series, years: bool = False) -> np.ndarray:
    """Numbers from a bureau's column: numbers, yes/no words (1/0), "2023年" (years)."""
    num = pd.to_numeric(values, errors="coerce").astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return num.to_numpy(dtype=float)
    text = values.astype("string").str.strip().str.lower()
    num = num.mask(text.isin(_YES).fillna(False), 1.0).mask(text.isin(_NO).fillna(False), 0.0)
    if years:
        found = pd.to_numeric(text.str.extract(r"^((?:19|20)\d{2})", expand=False), errors="coerce")
        num = num.fillna(found.astype(float))
    return num.to_numpy(dtype=float)


def _describe_rule(t: Target, threshold: float) -> str:
    if t.comparison == "within_years":
        return f"trained within {threshold:g} year(s)"
    return f"{t.comparison} {threshold:g}"


def _with_block_sums(t: Target, ctx: _Inputs) -> tuple[gpd.GeoDataFrame | None, str]:
    """Communities with a ratio's missing denominator (residents...) summed from blocks."""
    com, den = ctx.com, t.denominator
    if com is None or den is None or den in com.columns:
        return com, ""
    if den not in ctx.blocks.columns or "community" not in ctx.blocks.columns:
        return com, ""
    com = com.assign(**{den: _community_sums(ctx.blocks, com, den)})
    return com, f"; {den} summed from the blocks in each community"


@dataclass
class _TableUnits:
    """A community_table target's units: names, classes, numerator, denominator, value."""

    names: pd.Series
    cls: pd.Series
    num: np.ndarray
    den: np.ndarray
    value: np.ndarray
    detail: np.ndarray


def _table_units(t: Target, com: gpd.GeoDataFrame) -> _TableUnits:
    """Per community, or per street (its communities' values: the smallest one)."""
    years = t.comparison == "within_years"
    if t.column:
        num = den = value = _numbers(com[t.column], years)
    else:
        num, den = _numbers(com[str(t.numerator)]), _numbers(com[str(t.denominator)])
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(den > 0, num / den * t.scale, np.nan)
    if t.unit != "street":
        names = com["community"].astype(str)
        detail = np.full(len(com), "", dtype=object)
        return _TableUnits(names, _community_class(com), num, den, value, detail)
    frame = pd.DataFrame({"street": com["street"], "num": num, "den": den, "value": value})
    g = frame[frame["street"].notna()].groupby("street", sort=True)
    low, high = g["value"].min(), g["value"].max()
    detail = np.where(low < high, "its communities give different values: the smallest used", "")
    names = pd.Series(low.index.astype(str))
    cls = pd.Series(_street_class(names), dtype=object)
    num_s, den_s = g["num"].sum(min_count=1), g["den"].sum(min_count=1)
    street_value = low.to_numpy(dtype=float) if t.column else (num_s / den_s * t.scale).to_numpy()
    return _TableUnits(names, cls, num_s.to_numpy(), den_s.to_numpy(), street_value, detail)


def _table_gaps(t: Target, u: _TableUnits, limit: np.ndarray, year: int) -> np.ndarray:
    """How far each unit falls short (see the module docstring); 0 when it passes."""
    with np.errstate(invalid="ignore"):
        if t.comparison == "within_years":
            gap = (year - limit) - u.value
        elif t.column is None:
            gap = limit * u.den / t.scale - u.num
        elif t.comparison in (">=", ">"):
            gap = limit - u.value
        elif t.comparison in ("<=", "<"):
            gap = u.value - limit
        else:
            gap = np.abs(u.value - limit)
    return np.where(np.isfinite(gap), np.maximum(gap, 0.0), np.nan)


def _gap_unit(t: Target) -> str:
    if t.gap_unit:
        return t.gap_unit
    if t.comparison == "within_years":
        return "years overdue"
    return str(t.numerator) if t.column is None else t.units_label


def _community_table(t: Target, ctx: _Inputs) -> Result:
    thresholds = dict(t.thresholds) or {"all": float(t.threshold or 0.0)}
    cols = [str(c) for c in ([t.column] if t.column else [t.numerator, t.denominator])]
    com, from_blocks = _with_block_sums(t, ctx)
    absent = [c for c in cols if com is None or c not in com.columns]
    if t.unit == "street" and com is not None and "street" not in com.columns:
        absent.append("street")
    if com is None or absent:
        what = (
            "no communities given (communities=...)"
            if com is None
            else f"communities have no {absent} column"
        )
        detail = what + (
            ": read the bureau's table with planner.read_community_table and attach it with "
            "planner.join_community_table"
        )
        return _missing(t, detail, thresholds)
    u = _table_units(t, com)
    limit = _unit_limits(u.cls, thresholds)
    known = np.isfinite(u.value)
    future = known & (u.value > ctx.year) if t.comparison == "within_years" else known & False
    known &= ~future
    with np.errstate(invalid="ignore"):
        if t.comparison == "within_years":
            ok = known & (u.value >= ctx.year - limit)
        else:
            ok = known & _OPS[t.comparison](u.value, limit)
    judged = known & np.isfinite(limit)
    gap = np.where(judged, _table_gaps(t, u, limit, ctx.year), np.nan)
    why = _table_why(t, u, cols, known, future, limit, ctx.year)
    per = _unit_rows(
        t,
        t.unit,
        u.names,
        u.cls,
        u.value,
        np.where(judged, np.where(ok, PASS, FAIL), MISSING),
        detail=why,
        threshold=limit,
        gap=gap,
        gap_unit=_gap_unit(t),
    )
    rows = [
        _table_class_row(t, key, thr, u, ok, judged, gap, from_blocks)
        for key, thr in thresholds.items()
    ]
    return rows, per


def _table_why(
    t: Target,
    u: _TableUnits,
    cols: list[str],
    known: np.ndarray,
    future: np.ndarray,
    limit: np.ndarray,
    year: int,
) -> np.ndarray:
    """Why a unit is not judged (no value, a year after the reference year, no class)."""
    why = u.detail.astype(object).copy()
    why[~known & ~future] = f"no value in {', '.join(cols)}"
    if t.comparison == "within_years":
        why[future] = f"year after the reference year {year}"
    why[known & ~np.isfinite(limit)] = "no threshold for this unit's class"
    return why


def _table_class_row(
    t: Target,
    key: str,
    threshold: float,
    u: _TableUnits,
    ok: np.ndarray,
    judged: np.ndarray,
    gap: np.ndarray,
    from_blocks: str,
) -> dict[str, Any]:
    """One class of a community_table target: each unit, the class mean or the ratio."""
    member, unknown = _members(u.cls, key)
    m = int(member.sum())
    if m == 0 and not unknown:
        what = "streets/townships" if t.unit == "street" else "communities"
        return _row(
            t,
            key,
            None,
            threshold,
            NONE,
            units=0,
            units_passing=0,
            detail=f"no {what} of this class",
        )
    have = member & judged
    passing, lacking = int((have & ok).sum()), int((member & ~judged).sum())
    rule = _describe_rule(t, threshold)
    short: float | None
    if t.aggregate == "each":
        value, verdict, text, short = _each(have, ok, gap, lacking, unknown, rule, t.unit)
    else:
        value, text, short = _pooled(t, threshold, member, have, u)
        text += f" {rule}; individually {passing} of {int(have.sum())} meet it"
        if value is None or lacking or unknown:
            verdict = MISSING
        else:
            verdict = PASS if bool(_OPS[t.comparison](value, threshold)) else FAIL
    if lacking:
        text += f"; {lacking} lack data"
    if unknown:
        text += f"; {unknown} communities lack their urban/rural setting or region"
    return _row(
        t,
        key,
        value,
        threshold,
        verdict,
        units=m,
        units_passing=passing,
        detail=text + from_blocks,
        gap=short,
        gap_unit=_gap_unit(t),
    )


def _each(
    have: np.ndarray,
    ok: np.ndarray,
    gap: np.ndarray,
    lacking: int,
    unknown: int,
    rule: str,
    unit: str,
) -> tuple[float | None, str, str, float]:
    """aggregate = "each": every unit must pass; the class gap is the units' gaps summed."""
    n, passing = int(have.sum()), int((have & ok).sum())
    failing = n - passing
    value = passing / n if n else None
    verdict = FAIL if failing else (MISSING if lacking or unknown or not n else PASS)
    what = "streets/townships" if unit == "street" else "communities"
    text = f"{passing} of {n} {what} with data meet {rule}"
    return value, verdict, text, float(np.nansum(gap[have]))


def _pooled(
    t: Target, threshold: float, member: np.ndarray, have: np.ndarray, u: _TableUnits
) -> tuple[float | None, str, float | None]:
    """aggregate = "mean" or "ratio": the class value and what the class lacks in total."""
    if t.aggregate == "mean":
        value = float(np.mean(u.value[have])) if have.any() else None
        short = float(threshold * have.sum() - u.value[have].sum()) if have.any() else None
        text = f"mean over {int(have.sum())} communities"
    else:
        use = member & np.isfinite(u.num) & np.isfinite(u.den) & (u.den > 0)
        num, den = float(u.num[use].sum()), float(u.den[use].sum())
        value = num / den * t.scale if den > 0 else None
        short = threshold * den / t.scale - num if den > 0 else None
        text = f"{num:,.0f} / {den:,.0f}" + (f" x {t.scale:g}" if t.scale != 1 else "")
    return value, text, (max(short, 0.0) if short is not None else None)


# --- opening hours ------------------------------------------------------------------------


def _opening_hours(t: Target, ctx: _Inputs) -> Result:
    minimum = float(t.threshold if t.threshold is not None else 8.0)
    reading = describe_reading(t.hours_reading, minimum)
    cats = ctx.pre.table.expand(t.categories)
    sub = ctx.fac[ctx.fac[ctx.category].isin(cats)] if cats else ctx.fac
    which = f"facilities of {', '.join(t.categories)}" if t.categories else "facilities"
    problem = _hours_problem(sub, t, which)
    if problem:
        found = 0 if len(sub) == 0 else None
        return [
            _row(t, "all", None, minimum, MISSING, units=found, detail=problem, reading=reading)
        ], None
    per_fac, summary = opening_hours_check(
        sub,
        minimum_h=minimum,
        column=t.column,
        communities=ctx.com,
        category=ctx.category,
        reading=t.hours_reading,
    )
    every = summary.xs(("all", "all"))
    row = _hours_row(t, pd.Series(every), minimum, reading, which)
    return [row], _hours_units(t, per_fac, summary, ctx.com)


def _hours_problem(sub: pd.DataFrame, t: Target, which: str) -> str:
    """Why an opening_hours target cannot be judged ("" when it can)."""
    from .hours import find_hours_column

    if len(sub) == 0:
        return f"no {which} found"
    try:
        find_hours_column(sub, t.column)
    except MissingColumnError:
        return f"{which} have no opening-hours column (opening_hours, 营业时间, 开放时间)"
    return ""


def _hours_row(
    t: Target, every: pd.Series, minimum: float, reading: str, which: str
) -> dict[str, Any]:
    """The whole area's row: share of facilities with readable hours that meet it."""
    n_read, n_all, n_below = int(every["with_hours"]), int(every["facilities"]), int(every["below"])
    counts = (
        f"{int(every['meeting'])} of {n_read} facilities with readable hours open {reading}; "
        f"{int(every['unparseable'])} unparseable, {int(every['no_data'])} without hours "
        f"(of {n_all})"
    )
    if n_read == 0:
        detail = f"none of the {which} has readable hours: {counts}"
        kw: dict[str, Any] = {"units": n_all, "units_passing": 0, "detail": detail}
        return _row(t, "all", None, minimum, MISSING, reading=reading, **kw)
    kw = {
        "units": n_read,
        "units_passing": int(every["meeting"]),
        "detail": counts,
        "gap": float(n_below),
        "gap_unit": f"facilities open < {minimum:g} h",
    }
    status = PASS if n_below == 0 else FAIL
    return _row(t, "all", float(every["share_meeting"]), minimum, status, reading=reading, **kw)


def _hours_groups(
    t: Target, summary: pd.DataFrame, com: gpd.GeoDataFrame | None, minimum: float
) -> list[pd.DataFrame]:
    """Per-unit rows of each category and each community: share meeting, facilities below."""
    parts = []
    for by in ("category", "community"):
        if by not in summary.index.get_level_values("by"):
            continue
        s = summary.loc[by]
        verdict = np.where(s["with_hours"] == 0, MISSING, np.where(s["below"] > 0, FAIL, PASS))
        cls = pd.Series("", index=s.index)
        if by == "community" and com is not None:
            cls = _community_class(com).set_axis(com["community"].astype(str)).reindex(s.index)
        detail = (
            s["meeting"].astype(str)
            + " of "
            + s["with_hours"].astype(str)
            + " with readable hours meet it; "
            + s["below"].astype(str)
            + " below, "
            + s["unparseable"].astype(str)
            + " unparseable, "
            + s["no_data"].astype(str)
            + " without hours"
        )
        parts.append(
            _unit_rows(
                t,
                by,
                s.index.astype(str),
                cls.to_numpy(),
                s["share_meeting"].to_numpy(dtype=float),
                verdict,
                detail=detail.to_numpy(),
                threshold=minimum,
                gap=s["below"].to_numpy(dtype=float),
                gap_unit=f"facilities open < {minimum:g} h",
            )
        )
    return parts


def _hours_units(
    t: Target, per_fac: pd.DataFrame, summary: pd.DataFrame, com: gpd.GeoDataFrame | None
) -> pd.DataFrame:
    """Per-unit rows: each category, each community, and each facility with hours text."""
    minimum = float(per_fac.attrs.get("minimum_h", t.threshold or 8.0))
    parts = _hours_groups(t, summary, com, minimum)
    shown = per_fac[per_fac["status"] != NO_DATA]
    names = (
        shown["name"].astype("string").fillna("(unnamed)")
        if "name" in shown.columns
        else pd.Series("(unnamed)", index=shown.index)
    )
    note, below_days = shown["detail"].astype(str), shown["days_below"].astype(str)
    text = (
        shown["hours"].astype(str)
        + np.where(note != "", " | " + note, "")
        + np.where(below_days != "", " | below on " + below_days, "")
    )
    hours = shown["median_h" if t.hours_reading == "median_day" else "min_h"].to_numpy(dtype=float)
    status = np.select(
        [shown["status"] == MEETS, shown["status"] == BELOW, shown["status"] == UNPARSEABLE],
        [PASS, FAIL, MISSING],
        default=MISSING,
    )
    short = np.where(status == FAIL, np.nan_to_num(minimum - hours, nan=minimum), 0.0)
    parts.append(
        _unit_rows(
            t,
            "facility",
            names.to_numpy(),
            shown["category"].to_numpy() if "category" in shown.columns else "",
            hours,
            status,
            detail=np.asarray(text, dtype=object),
            community=shown["community"].to_numpy(dtype=object)
            if "community" in shown.columns
            else None,
            threshold=minimum,
            gap=np.where(status == MISSING, np.nan, short),
            gap_unit="h",
        )
    )
    return pd.concat(parts, ignore_index=True)


#: The evaluator of each target kind: ``(target, inputs) -> (class rows, per-unit table)``.
EVALUATORS: dict[str, Callable[[Target, _Inputs], Result]] = {
    "presence": _presence,
    "per_capita_area": _per_capita_area,
    "floor_area_per_households": _floor_per_households,
    "new_housing_floor_area": _new_housing,
    "community_table": _community_table,
    "opening_hours": _opening_hours,
}
