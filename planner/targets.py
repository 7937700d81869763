"""The plan's targets as computable checks: pass, fail or "input missing", never a guess.

Kinds (see the preset TOML files):

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
    threshold's years before ``reference_year``) against a threshold per class. A class
    passes when ``aggregate`` says so: "each" community, the class "mean", or the class
    "ratio" of sums. Each community's value and status are in the per-unit table.
opening_hours
    Facilities of the target's categories (all when none are given) open at least
    ``threshold`` hours on every day they open (:func:`planner.hours.opening_hours_check`),
    per category and per community.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .hours import BELOW, MEETS, NO_DATA, UNPARSEABLE, opening_hours_check
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
]
#: Per-unit columns; ``community`` is filled for facility rows (the community they lie in).
UNIT_COLUMNS = ["target", "unit", "name", "class", "value", "status", "detail", "community"]


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
    }


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
        The year "within_years" targets count back from (committee training); default
        the current year.

    Returns
    -------
    targets : pandas.DataFrame
        Indexed by (target, class), columns :data:`COLUMNS`.
    per_unit : pandas.DataFrame
        target, unit, name, class, value, status, detail, community (facility rows):
        one row per unit checked.
    """
    rows: list[dict[str, Any]] = []
    units: list[pd.DataFrame] = []
    com = _communities(communities)
    year = date.today().year if reference_year is None else int(reference_year)
    for t in pre.targets.values():
        cats = pre.table.expand(t.categories)
        if t.kind == "community_table":
            r, u = _community_table(t, com, blocks, year)
        elif t.kind == "opening_hours":
            r, u = _opening_hours(t, fac, category, cats, com)
        elif t.kind == "presence":
            r, u = _presence(t, fac, category, cats, com)
        elif t.kind == "per_capita_area":
            r, u = _per_capita_area(t, fac, category, cats, com, blocks)
        elif t.kind == "floor_area_per_households":
            r, u = _floor_per_households(t, com, blocks)
        else:
            r, u = _new_housing(t, blocks)
        rows += r
        if u is not None and len(u):
            units.append(u)
    table = pd.DataFrame(rows, columns=COLUMNS).set_index(["target", "class"])
    per_unit = pd.concat(units, ignore_index=True) if units else pd.DataFrame(columns=UNIT_COLUMNS)
    return table, per_unit.reindex(columns=UNIT_COLUMNS)


def _communities(communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if communities is None:
        return None
    com = communities
    if "community" not in com.columns:
        from .sources.blocks import standardise_communities

        com = standardise_communities(com)
    return com


def _community_class(com: gpd.GeoDataFrame) -> pd.Series:
    """urban / rural_prd / rural_other / rural_unknown / unknown per community."""
    setting = (
        com["setting"].astype("string")
        if "setting" in com.columns
        else pd.Series(pd.NA, index=com.index, dtype="string")
    )
    region = (
        com["region"].astype("string")
        if "region" in com.columns
        else pd.Series(pd.NA, index=com.index, dtype="string")
    )
    out = pd.Series("unknown", index=com.index, dtype=object)
    out[setting == "urban"] = "urban"
    rural = (setting == "rural").fillna(False)
    out[rural & (region == "prd").fillna(False)] = "rural_prd"
    out[rural & region.isin(["east", "west", "north"]).fillna(False)] = "rural_other"
    out[rural & region.isna()] = "rural_unknown"
    return out


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
    name = st["street"].astype(str)
    st["class"] = np.where(name.str.endswith(("镇", "乡")), "township", "street")
    return st


def _presence(
    t: Target, fac: gpd.GeoDataFrame, category: str, cats: list[str], com: gpd.GeoDataFrame | None
) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    if com is None:
        return [
            _row(t, k, None, v, MISSING, detail="no community boundaries given (communities=...)")
            for k, v in t.thresholds.items()
        ], None
    pts = fac[fac[category].isin(cats)]
    if t.unit == "street":
        units = _streets(com)
        if units is None:
            return [
                _row(t, k, None, v, MISSING, detail="communities have no street/township column")
                for k, v in t.thresholds.items()
            ], None
        cls = units["class"]
        names = units["street"].astype(str)
    else:
        units = com
        cls = _community_class(com)
        names = com["community"].astype(str)
    count = _counts_in(units, pts)
    has = count > 0
    rows = []
    for key, threshold in t.thresholds.items():
        if key == "all":
            member = np.ones(len(units), dtype=bool)
            unknown = 0
        elif key == "rural":
            member = cls.isin(["rural_prd", "rural_other", "rural_unknown"]).to_numpy()
            unknown = int((cls == "unknown").sum())
        else:
            member = (cls == key).to_numpy()
            unknown = int(cls.isin(["unknown", "rural_unknown"]).sum())
        n = int(member.sum())
        ok = int((member & has).sum())
        if unknown and key != "all":
            what = "urban/rural setting" if key in {"urban", "rural"} else "setting or region"
            rows.append(
                _row(
                    t,
                    key,
                    ok / n if n else None,
                    threshold,
                    MISSING,
                    units=n,
                    units_passing=ok,
                    detail=f"{unknown} units lack their {what}",
                )
            )
            continue
        if n == 0:
            rows.append(
                _row(
                    t,
                    key,
                    None,
                    threshold,
                    NONE,
                    units=0,
                    units_passing=0,
                    detail="no units of this class",
                )
            )
            continue
        share = ok / n
        rows.append(
            _row(
                t,
                key,
                share,
                threshold,
                PASS if share >= threshold else FAIL,
                units=n,
                units_passing=ok,
                detail=f"{ok} of {n} units have one ({t.unit} presence)",
            )
        )
    per = pd.DataFrame(
        {
            "target": t.id,
            "unit": t.unit,
            "name": names.to_numpy(),
            "class": cls.to_numpy(),
            "value": count,
            "status": np.where(has, PASS, FAIL),
        }
    )
    return rows, per


def _per_capita_area(
    t: Target,
    fac: gpd.GeoDataFrame,
    category: str,
    cats: list[str],
    com: gpd.GeoDataFrame | None,
    blocks: gpd.GeoDataFrame,
) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    threshold = t.threshold
    pts = fac[fac[category].isin(cats)]
    if "area_m2" not in pts.columns or pts["area_m2"].notna().sum() == 0:
        return [
            _row(
                t,
                "all",
                None,
                threshold,
                MISSING,
                detail="no facility areas (area_m2): load sports grounds as OSM polygons",
            )
        ], None
    pts = pts[pts["area_m2"].notna()]
    key = pts["osm_id"].astype(str) if "osm_id" in pts.columns else pts.geometry.to_wkb()
    pts = pts[~pd.Series(key.to_numpy()).duplicated().to_numpy()]  # one ground, several categories
    pop = float(blocks["population"].sum())
    rows, per = [], None
    if com is not None:
        area = _counts_in(com, pts, pts["area_m2"].to_numpy(dtype=float))
        inside = blocks.get("community")
        pop_c = (
            blocks.groupby("community")["population"].sum().reindex(com["community"]).to_numpy()
            if inside is not None
            else np.full(len(com), np.nan)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            value = area / pop_c
        per = pd.DataFrame(
            {
                "target": t.id,
                "unit": "community",
                "name": com["community"].astype(str).to_numpy(),
                "class": _community_class(com).to_numpy(),
                "value": value,
                "status": np.where(
                    np.isnan(value), MISSING, np.where(value >= (threshold or 0), PASS, FAIL)
                ),
            }
        )
        total_area = float(area.sum())
    else:
        total_area = float(pts["area_m2"].sum())
    value = total_area / pop if pop > 0 else None
    status = (
        MISSING if value is None or threshold is None else (PASS if value >= threshold else FAIL)
    )
    rows.append(
        _row(
            t,
            "all",
            value,
            threshold,
            status,
            detail=f"{total_area:,.0f} m2 of mapped grounds for {pop:,.0f} residents "
            "(mapped polygons only: indoor and school venues are usually missing)",
        )
    )
    return rows, per


def _floor_per_households(
    t: Target, com: gpd.GeoDataFrame | None, blocks: gpd.GeoDataFrame
) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    col = t.column or "service_floor_area_m2"
    if com is None or col not in com.columns:
        return [
            _row(
                t,
                "all",
                None,
                t.threshold,
                MISSING,
                detail=f"communities need a {col!r} column (community service floor area)",
            )
        ], None
    floor = pd.to_numeric(com[col], errors="coerce").to_numpy(dtype=float)
    if "households" in com.columns:
        hh = pd.to_numeric(com["households"], errors="coerce").to_numpy(dtype=float)
    elif "households" in blocks.columns and "community" in blocks.columns:
        hh = (
            blocks.groupby("community")["households"]
            .sum(min_count=1)
            .reindex(com["community"])
            .to_numpy(dtype=float)
        )
    else:
        return [
            _row(
                t,
                "all",
                None,
                t.threshold,
                MISSING,
                detail="households are needed (a communities or blocks column)",
            )
        ], None
    with np.errstate(invalid="ignore", divide="ignore"):
        value = floor / (hh / 100.0)
    known = np.isfinite(value)
    ok = known & (value >= (t.threshold or 0))
    per = pd.DataFrame(
        {
            "target": t.id,
            "unit": "community",
            "name": com["community"].astype(str).to_numpy(),
            "class": _community_class(com).to_numpy(),
            "value": value,
            "status": np.where(~known, MISSING, np.where(ok, PASS, FAIL)),
        }
    )
    n = int(known.sum())
    if n == 0:
        return [
            _row(t, "all", None, t.threshold, MISSING, detail="no community has both inputs")
        ], per
    status = (
        PASS
        if ok.sum() == n and n == len(com)
        else (MISSING if n < len(com) and ok.sum() == n else FAIL)
    )
    total = float(np.nansum(floor[known]) / (np.nansum(hh[known]) / 100.0))
    return [
        _row(
            t,
            "all",
            total,
            t.threshold,
            status,
            units=n,
            units_passing=int(ok.sum()),
            detail=f"{int(ok.sum())} of {n} communities with data meet it; "
            f"{len(com) - n} lack data",
        )
    ], per


def _new_housing(
    t: Target, blocks: gpd.GeoDataFrame
) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    flag, col = t.flag or "new_housing", t.column or "service_floor_area_m2"
    need = [c for c in (flag, col, "households") if c not in blocks.columns]
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
    new = blocks[blocks[flag].fillna(False).astype(bool)]
    if len(new) == 0:
        return [_row(t, "all", None, None, NONE, detail="no block is flagged as new housing")], None
    hh = pd.to_numeric(new["households"], errors="coerce").to_numpy(dtype=float)
    floor = pd.to_numeric(new[col], errors="coerce").to_numpy(dtype=float)
    need_min = np.full(len(new), np.nan)
    for lo, hi, fmin, _fmax in t.bands:
        inside = (hh >= lo) & (hh < hi)
        need_min[inside] = fmin
    known = np.isfinite(floor) & np.isfinite(need_min)
    ok = known & (floor >= need_min)
    per = pd.DataFrame(
        {
            "target": t.id,
            "unit": "block",
            "name": new.index.astype(str).to_numpy(),
            "class": "new_housing",
            "value": floor,
            "status": np.where(~known, MISSING, np.where(ok, PASS, FAIL)),
        }
    )
    n = int(known.sum())
    status = MISSING if n < len(new) else (PASS if ok.all() else FAIL)
    return [
        _row(
            t,
            "all",
            int(ok.sum()) / n if n else None,
            1.0,
            status,
            units=len(new),
            units_passing=int(ok.sum()),
            detail=f"{int(ok.sum())} of {len(new)} new housing projects provide the band's minimum",
        )
    ], per


# --- community tables (non-spatial) --------------------------------------------------------

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
    "==": np.isclose,
}


def _members(cls: pd.Series, key: str) -> tuple[np.ndarray, int]:
    """Communities of threshold class ``key`` and how many have an unknown class."""
    if key == "all":
        return np.ones(len(cls), dtype=bool), 0
    if key == "rural":
        return (
            cls.isin(["rural_prd", "rural_other", "rural_unknown"]).to_numpy(),
            int((cls == "unknown").sum()),
        )
    unknown = cls.isin(["unknown", "rural_unknown"]) if key != "urban" else cls == "unknown"
    return (cls == key).to_numpy(), int(unknown.sum())


def _describe_rule(t: Target, threshold: float) -> str:
    if t.comparison == "within_years":
        return f"trained within {threshold:g} year(s)"
    return f"{t.comparison} {threshold:g}"


def _block_sums(
    t: Target, com: gpd.GeoDataFrame | None, blocks: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame | None, str]:
    """A ratio's missing denominator (residents, households) summed from the blocks."""
    den = t.denominator
    if (
        com is None
        or den is None
        or den in com.columns
        or den not in blocks.columns
        or "community" not in blocks.columns
    ):
        return com, ""
    sums = blocks.groupby("community")[den].sum(min_count=1)
    com = com.assign(**{den: com["community"].map(sums).to_numpy(dtype=float)})
    return com, f"; {den} summed from the blocks in each community"


def _community_table(
    t: Target, com: gpd.GeoDataFrame | None, blocks: gpd.GeoDataFrame, year: int
) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    thresholds = dict(t.thresholds) or {"all": float(t.threshold or 0.0)}
    needed = [t.column] if t.column else [t.numerator, t.denominator]
    cols = [str(c) for c in needed]
    com, from_blocks = _block_sums(t, com, blocks)
    absent = [c for c in cols if com is None or c not in com.columns]
    if com is None or absent:
        detail = (
            "no communities given (communities=...)"
            if com is None
            else f"communities have no {absent} column"
        ) + (
            ": read the bureau's table with planner.read_community_table and attach it with "
            "planner.join_community_table"
        )
        return [_row(t, k, None, v, MISSING, detail=detail) for k, v in thresholds.items()], None
    if t.column:
        raw = pd.to_numeric(com[t.column], errors="coerce").to_numpy(dtype=float)
        num = den = raw
        value = raw
    else:
        num = pd.to_numeric(com[t.numerator], errors="coerce").to_numpy(dtype=float)
        den = pd.to_numeric(com[t.denominator], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(den > 0, num / den * t.scale, np.nan)
    cls = _community_class(com)
    n = len(com)
    # the threshold of each community: its most specific class listed
    limit = np.full(n, np.nan)
    for key in sorted(
        thresholds,
        key=lambda k: ("all", "rural", "urban").index(k) if k in ("all", "rural", "urban") else 3,
    ):
        member, _ = _members(cls, key)
        limit[member] = thresholds[key]
    known = np.isfinite(value)
    future = np.zeros(n, dtype=bool)
    if t.comparison == "within_years":
        future = known & (value > year)
        known &= ~future
        ok = known & (value >= year - limit)
    else:
        with np.errstate(invalid="ignore"):
            ok = known & _OPS[t.comparison](value, limit)
    judged = known & np.isfinite(limit)
    status = np.where(judged, np.where(ok, PASS, FAIL), MISSING)
    why = np.full(n, "", dtype=object)
    why[~known] = f"no value in {', '.join(cols)}"
    why[future] = f"year after the reference year {year}"
    why[known & ~np.isfinite(limit)] = "no threshold for this community's class"
    rule = {k: _describe_rule(t, v) for k, v in thresholds.items()}
    per = pd.DataFrame(
        {
            "target": t.id,
            "unit": "community",
            "name": com["community"].astype(str).to_numpy(),
            "class": cls.to_numpy(),
            "value": value,
            "status": status,
            "detail": why,
        }
    )
    rows = []
    for key, threshold in thresholds.items():
        member, unknown = _members(cls, key)
        m = int(member.sum())
        if m == 0 and not unknown:
            rows.append(
                _row(
                    t,
                    key,
                    None,
                    threshold,
                    NONE,
                    units=0,
                    units_passing=0,
                    detail="no communities of this class",
                )
            )
            continue
        have = member & judged
        passing = int((have & ok).sum())
        lacking = int((member & ~judged).sum())
        failing = int((have & ~ok).sum())
        if t.aggregate == "each":
            value_k = passing / int(have.sum()) if have.any() else None
            verdict = (
                FAIL if failing else (MISSING if lacking or unknown or not have.any() else PASS)
            )
            text = f"{passing} of {int(have.sum())} communities with data meet {rule[key]}"
        else:
            if t.aggregate == "mean":
                value_k = float(np.mean(value[have])) if have.any() else None
                text = f"mean over {int(have.sum())} communities"
            else:
                use = member & np.isfinite(num) & np.isfinite(den) & (den > 0)
                total = float(den[use].sum())
                value_k = float(num[use].sum()) / total * t.scale if total > 0 else None
                text = f"{num[use].sum():,.0f} / {total:,.0f}" + (
                    f" x {t.scale:g}" if t.scale != 1 else ""
                )
            text += f" {rule[key]}; individually {passing} of {int(have.sum())} meet it"
            if value_k is None or lacking or unknown:
                verdict = MISSING
            else:
                verdict = PASS if bool(_OPS[t.comparison](value_k, threshold)) else FAIL
        if lacking:
            text += f"; {lacking} lack data"
        if unknown:
            text += f"; {unknown} communities lack their urban/rural setting or region"
        text += from_blocks
        rows.append(
            _row(t, key, value_k, threshold, verdict, units=m, units_passing=passing, detail=text)
        )
    return rows, per


# --- opening hours ------------------------------------------------------------------------


def _opening_hours(
    t: Target, fac: gpd.GeoDataFrame, category: str, cats: list[str], com: gpd.GeoDataFrame | None
) -> tuple[list[dict[str, Any]], pd.DataFrame | None]:
    from .errors import MissingColumnError
    from .hours import find_hours_column

    minimum = float(t.threshold if t.threshold is not None else 8.0)
    sub = fac[fac[category].isin(cats)] if cats else fac
    which = f"facilities of {', '.join(t.categories)}" if t.categories else "facilities"
    if len(sub) == 0:
        return [_row(t, "all", None, minimum, MISSING, units=0, detail=f"no {which} found")], None
    try:
        find_hours_column(sub, t.column)
    except MissingColumnError:
        return [
            _row(
                t,
                "all",
                None,
                minimum,
                MISSING,
                detail=f"{which} have no opening-hours column (opening_hours, 营业时间, 开放时间)",
            )
        ], None
    per_fac, summary = opening_hours_check(
        sub, minimum_h=minimum, column=t.column, communities=com, category=category
    )
    every = summary.loc[[("all", "all")]].iloc[0]
    n_read = int(every["with_hours"])
    counts = (
        f"{int(every['meeting'])} of {n_read} facilities with readable hours open >= "
        f"{minimum:g} h on every day they open; {int(every['unparseable'])} unparseable, "
        f"{int(every['no_data'])} without hours (of {int(every['facilities'])})"
    )
    if n_read == 0:
        return [
            _row(
                t,
                "all",
                None,
                minimum,
                MISSING,
                units=int(every["facilities"]),
                units_passing=0,
                detail=f"none of the {which} has readable hours: {counts}",
            )
        ], _hours_units(t, per_fac, summary, com)
    status = PASS if int(every["below"]) == 0 else FAIL
    row = _row(
        t,
        "all",
        float(every["share_meeting"]),
        minimum,
        status,
        units=n_read,
        units_passing=int(every["meeting"]),
        detail=counts,
    )
    return [row], _hours_units(t, per_fac, summary, com)


def _hours_units(
    t: Target, per_fac: pd.DataFrame, summary: pd.DataFrame, com: gpd.GeoDataFrame | None
) -> pd.DataFrame:
    """Per-unit rows: each category, each community, and each facility with hours text."""
    parts = []
    for by in ("category", "community"):
        if by not in summary.index.get_level_values("by"):
            continue
        s = summary.loc[by]
        verdict = np.where(s["with_hours"] == 0, MISSING, np.where(s["below"] > 0, FAIL, PASS))
        cls = (
            _community_class(com).set_axis(com["community"].astype(str)).reindex(s.index)
            if by == "community" and com is not None
            else pd.Series("", index=s.index)
        )
        parts.append(
            pd.DataFrame(
                {
                    "target": t.id,
                    "unit": by,
                    "name": s.index.astype(str),
                    "class": cls.to_numpy(),
                    "value": s["share_meeting"].to_numpy(dtype=float),
                    "status": verdict,
                    "detail": (
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
                    ).to_numpy(),
                }
            )
        )
    shown = per_fac[per_fac["status"] != NO_DATA]
    names = (
        shown["name"].astype("string").fillna("(unnamed)")
        if "name" in shown.columns
        else pd.Series("(unnamed)", index=shown.index)
    )
    note = shown["detail"].astype(str)
    below_days = shown["days_below"].astype(str)
    text = (
        shown["hours"].astype(str)
        + np.where(note != "", " | " + note, "")
        + np.where(below_days != "", " | below on " + below_days, "")
    )
    parts.append(
        pd.DataFrame(
            {
                "target": t.id,
                "unit": "facility",
                "name": names.to_numpy(),
                "class": shown["category"].to_numpy() if "category" in shown.columns else "",
                "value": shown["min_h"].to_numpy(dtype=float),
                "status": np.select(
                    [
                        shown["status"] == MEETS,
                        shown["status"] == BELOW,
                        shown["status"] == UNPARSEABLE,
                    ],
                    [PASS, FAIL, MISSING],
                    default=MISSING,
                ),
                "detail": np.asarray(text, dtype=object),
                "community": (
                    shown["community"].to_numpy(dtype=object)
                    if "community" in shown.columns
                    else None
                ),
            }
        )
    )
    return pd.concat(parts, ignore_index=True)
