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
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate every target of the preset; returns (targets, per-unit results)."""
    rows: list[dict[str, Any]] = []
    units: list[pd.DataFrame] = []
    com = _communities(communities)
    for t in pre.targets.values():
        cats = [m for c in t.categories for m in pre.table.members(c)]
        if t.kind == "presence":
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
    per_unit = (
        pd.concat(units, ignore_index=True)
        if units
        else pd.DataFrame(columns=["target", "unit", "name", "class", "value", "status"])
    )
    return table, per_unit


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
