"""Circles -> per-block results, roll-ups by community/street/setting, and the plan's targets.

``assess`` answers, for every residential block: is it inside each service circle, which
categories does it miss, how many people is that; and for every community: coverage
against the plan's targets. Two readings sit side by side everywhere:

- *network*: travel time (or distance) along the street network, exact (the main one);
- *radius*: straight-line distance against the standard radius Chinese standards quote.

Accessibility coverage (population within the threshold) and presence coverage (a
facility inside the community) are separate, labelled measures.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from . import settings
from ._log import log
from ._validate import check_facilities, check_gdf, check_network
from .access import (
    node_times,
    origin_legs,
    origin_points,
    origin_times,
    snap_layer,
    snap_origins,
    warn_unsnapped,
)
from .assessment import DISTANCE_SPEED_KPH, Assessment, EngineKey
from .errors import InputError, PlannerWarning
from .network import Network
from .rules import Circle, Preset, circle_from_spec, load_preset
from .sources.blocks import join_communities, setting_values, standardise_communities
from .sources.coords import detect_gcj02_shift
from .targets import evaluate_targets


def _engine_key(c: Circle) -> EngineKey:
    if c.is_distance:
        return EngineKey(c.mode, DISTANCE_SPEED_KPH, True)
    speed = c.speed_kph
    if speed is None and c.mode != "drive":
        speed = float(settings.speeds_kph[c.mode])
    return EngineKey(c.mode, speed, False)


def _networks(network: Network | Mapping[str, Network]) -> tuple[Network, dict[str, Network]]:
    if isinstance(network, Mapping):
        if not network:
            msg = "network: an empty dict; give a Network or a dict of Networks by mode."
            raise InputError(msg)
        by_mode = {str(m): check_network(n, f"network[{m!r}]") for m, n in network.items()}
        return next(iter(by_mode.values())), by_mode
    net = check_network(network)
    return net, {net.mode: net}


def _net_for(key: EngineKey, base: Network, by_mode: dict[str, Network]) -> Network:
    given = by_mode.get(key.mode)
    if given is not None and (key.distance is False and given.speed_kph == key.speed_kph):
        return given
    src = given if given is not None else base
    return src.with_mode(key.mode, key.speed_kph)


def _blocks_frame(
    blocks: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None, circles: list[Circle]
) -> gpd.GeoDataFrame:
    """Blocks with population, households, setting, community/street/region resolved."""
    out = blocks.copy()
    if "population" not in out.columns:
        warnings.warn(
            "blocks have no 'population' column: every block counts as 1 resident, so shares "
            "are shares of blocks. Read blocks with planner.read_blocks(..., population=...) "
            "or add a population column.",
            PlannerWarning,
            stacklevel=3,
        )
        out["population"] = 1.0
    pop = pd.to_numeric(out["population"], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        msg = (
            "blocks: 'population' must be a number >= 0 in every row; "
            f"{int(pop.isna().sum())} are missing and {int((pop < 0).sum())} negative. "
            "planner.read_blocks reports and fills them."
        )
        raise InputError(msg)
    out["population"] = pop.astype(float)
    if "households" in out.columns:
        out["households"] = pd.to_numeric(out["households"], errors="coerce").astype(float)
    if communities is not None:
        com = communities
        if "community" not in com.columns:
            com = standardise_communities(com)
        if "community" in out.columns and out["community"].notna().any():
            extra = [c for c in ("setting", "region", "street") if c in com.columns]
            attrs = pd.DataFrame(com[["community", *extra]]).drop_duplicates("community")
            attrs = attrs.set_index("community")
            for c in extra:
                joined = out["community"].map(attrs[c])
                if c in out.columns:
                    out[c] = out[c].astype(object).where(out[c].notna(), joined.astype(object))
                else:
                    out[c] = joined
        else:
            out = join_communities(out, com)
    if "setting" not in out.columns:
        out["setting"] = pd.NA
    setting = setting_values(out["setting"], "blocks", "setting")
    missing = setting.isna()
    if missing.any() and any(c.setting == "rural" for c in circles):
        warnings.warn(
            f"{int(missing.sum())} blocks have no urban/rural setting and count as urban; rural "
            "circles do not apply to them. Give blocks a 'setting' column or communities with "
            "one (planner.read_communities(..., setting=...)).",
            PlannerWarning,
            stacklevel=3,
        )
    out["setting"] = setting.fillna("urban")
    return out


def _resolve_circles(
    preset: Preset, circles: Iterable[str | Mapping[str, Any]] | None
) -> list[Circle]:
    if circles is None:
        return list(preset.circles.values())
    if isinstance(circles, str | Mapping):
        circles = [circles]
    out = [circle_from_spec(c, preset) for c in circles]
    ids = [c.id for c in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        msg = f"circles: ids must be unique; repeated: {sorted(dup)}."
        raise InputError(msg)
    if not out:
        msg = "circles: an empty list; give circle ids of the preset or circle dicts."
        raise InputError(msg)
    return out


def assess(
    network: Network | Mapping[str, Network],
    facilities: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    *,
    preset: str | Preset = "guangdong_2016",
    circles: Iterable[str | Mapping[str, Any]] | None = None,
    communities: gpd.GeoDataFrame | None = None,
    entrances: gpd.GeoDataFrame | None = None,
    category: str = "category",
    rules: Any = None,
    reference_year: int | None = None,
) -> Assessment:
    """Check every block against the preset's service circles and the plan's targets.

    Parameters
    ----------
    network
        A :class:`planner.Network`, or a dict of Networks by mode. Circles in other modes
        use the same streets (``network.with_mode``).
    facilities
        Points with a category column of category ids (``planner.load_facilities``,
        ``planner.read_facilities``).
    blocks
        Residential blocks, polygons or points, with optional ``population``,
        ``households``, ``community``, ``street`` and ``setting`` (urban/rural) columns.
        Without population every block counts 1 (with a warning); blocks without a
        setting count as urban (with a warning when rural circles exist).
    preset
        {"guangdong_2016", "gb50180_2018", "tdt1062_2021"}, a preset TOML path or a
        :class:`planner.rules.Preset`.
    circles
        Preset circle ids, or dicts ``{id, categories, minutes | distance_m, mode,
        setting, min_kinds, speed_kph, radius_m}`` (a new circle, or overrides of a preset
        circle with that id, e.g. ``{"id": "rural_30min_life", "mode": "ebike"}``).
        Default: all circles of the preset.
    communities
        社区/村 polygons (``planner.read_communities``): blocks get their community,
        setting, region and street from them, and presence targets are counted on them.
    entrances
        Gates of gated compounds (``planner.block_entrances``).
    category
        The facilities' category column.
    rules
        Category rules (TOML path or CategoryTable) when not the packaged ones.
    reference_year
        The year the plan's targets are judged at (``Assessment.targets`` records it and
        each target's ``due_year``): training "every year" counts back from it, and a
        target is due when this year reaches its due year. Default: the preset's end
        year (2020 for guangdong_2016), so a filed assessment gives the same answer when
        it is run again next year.

    Returns
    -------
    Assessment
    """
    base, by_mode = _networks(network)
    pre = load_preset(preset, rules=rules) if not isinstance(preset, Preset) else preset
    table = pre.table
    chosen = _resolve_circles(pre, circles)
    fac = check_facilities(facilities, category)
    if communities is not None:
        communities = check_gdf(communities, "communities")
        if "community" not in communities.columns:
            communities = standardise_communities(communities)
    blk = _blocks_frame(check_gdf(blocks, "blocks"), communities, chosen)
    _warn_gcj02(fac, base)

    # facility rows of every category/group the circles need
    needed = list(dict.fromkeys(k for c in chosen for k in c.categories))
    codes = fac[category].astype(object).to_numpy()
    rows_of: dict[str, np.ndarray] = {
        k: np.flatnonzero(np.isin(codes, list(table.members(k)))) for k in needed
    }

    # the speed each time rule uses is fixed now, so outputs describe it after settings
    # change; one engine pass per (category, mode, speed): the longest threshold using it
    chosen = [
        replace(c, speed_kph=_engine_key(c).speed_kph) if not c.is_distance else c for c in chosen
    ]
    keys: dict[EngineKey, float] = {}
    key_of = {c.id: _engine_key(c) for c in chosen}
    for c in chosen:
        k = key_of[c.id]
        keys[k] = max(keys.get(k, 0.0), c.threshold)
    nets = {k: _net_for(k, base, by_mode) for k in keys}
    values: dict[tuple[str, EngineKey], np.ndarray] = {}
    n = len(blk)
    warned = False
    for k, net in nets.items():
        mg = net.graph
        osn = snap_origins(net, blk, entrances)
        fsn = snap_layer(net, fac.geometry)
        if not warned:  # once: the first mode's streets decide what lies off the network
            warn_unsnapped(fsn.snap, osn.snap, 0, net)
            warned = True
        legs = origin_legs(mg, osn.snap)
        for cat in needed:
            if not any(key_of[c.id] == k and cat in c.categories for c in chosen):
                continue
            pos = rows_of[cat]
            sub = fsn.snap.take(pos[fsn.snap.ok[pos]]) if len(pos) else fsn.snap.take(pos)
            dist, _ = node_times(mg, sub, keys[k])
            values[(cat, k)], _ = origin_times(mg, dist, None, legs, sub, keys[k])

    # straight-line distance to the nearest facility of each needed category
    bx, by = base.to_metric(origin_points(blk))
    fx, fy = base.to_metric(fac.geometry)
    line: dict[str, np.ndarray] = {}
    for cat in needed:
        pos = rows_of[cat]
        ok = pos[np.isfinite(fx[pos]) & np.isfinite(fy[pos])]
        if len(ok) == 0:
            line[cat] = np.full(n, np.inf)
            continue
        d, _ = cKDTree(np.column_stack([fx[ok], fy[ok]])).query(
            np.column_stack([bx, by]), k=1, workers=-1
        )
        line[cat] = np.where(np.isfinite(bx) & np.isfinite(by), d, np.inf)

    out = blk.copy()
    cols: dict[str, Any] = {}
    for (cat, k), v in values.items():
        name = f"net_{k.mode}_m__{cat}" if k.distance else f"time_{k.label}_s__{cat}"
        cols[name] = v
    for cat in needed:
        cols[f"line_m__{cat}"] = line[cat]
    setting = out["setting"].to_numpy(dtype=object)
    for c in chosen:
        k = key_of[c.id]
        applies = np.ones(n, dtype=bool) if c.setting == "both" else setting == c.setting
        reach = np.column_stack([values[(cat, k)] <= c.threshold for cat in c.categories])
        inside = reach.sum(axis=1) >= c.min_kinds
        # the straight-line reading needs a standard radius (a distance rule is its own)
        radius = c.radius_m if c.radius_m is not None else c.distance_m
        cols[c.id] = pd.array(np.where(applies, inside, False), dtype="boolean")
        cols[c.id][~applies] = pd.NA
        if radius is not None:
            near = np.column_stack([line[cat] <= radius for cat in c.categories])
            inside_r = near.sum(axis=1) >= c.min_kinds
            cols[f"{c.id}__radius"] = pd.array(np.where(applies, inside_r, False), dtype="boolean")
            cols[f"{c.id}__radius"][~applies] = pd.NA
        else:
            cols[f"{c.id}__radius"] = pd.array([pd.NA] * n, dtype="boolean")
        cols[f"{c.id}__missing"] = _missing_text(~reach, c.categories, applies)
        cols[f"{c.id}__n_missing"] = pd.array(
            np.where(applies, (~reach).sum(axis=1), 0), dtype="Int64"
        )
        cols[f"{c.id}__n_missing"][~applies] = pd.NA
    out = pd.concat([out, pd.DataFrame(cols, index=out.index)], axis=1)
    out = gpd.GeoDataFrame(out, geometry=blk.geometry.name, crs=blk.crs)

    summary = _summary(out, chosen, key_of, pre)
    by_community = _rollup(out, chosen, "community")
    by_street = _rollup(out, chosen, "street")
    by_setting = _rollup(out, chosen, "setting")
    coverage = _coverage(out, chosen, key_of, values)
    confidence = _confidence(fac, category, needed, rows_of, table)
    targets, per_unit = evaluate_targets(
        pre, fac, category, out, communities, reference_year=reference_year
    )
    log(
        f"assess: {n:,} blocks, {len(chosen)} circles, {len(values)} engine passes "
        f"({len(nets)} modes), preset {pre.id}"
    )
    return Assessment(
        blocks=out,
        summary=summary,
        by_community=by_community,
        by_street=by_street,
        by_setting=by_setting,
        coverage=coverage,
        confidence=confidence,
        targets=targets,
        targets_by_unit=per_unit,
        circles=chosen,
        preset=pre,
        facilities=fac,
        communities=communities,
        networks=nets,
        params={
            "preset": pre.id,
            "preset_files": pre.files,
            "modes": {c.id: c.describe() for c in chosen},
            "max_snap_m": settings.max_snap_m,
            "network_source": base.source,
            "network": repr(base),
            "entrances": 0 if entrances is None else len(entrances),
        },
        inputs={
            "network": network,
            "facilities": facilities,
            "blocks": blocks,
            "communities": communities,
            "entrances": entrances,
            "category": category,
            "circles": [asdict(c) for c in chosen],
            "key_of": key_of,
            "reference_year": reference_year,
        },
    )


def _warn_gcj02(fac: gpd.GeoDataFrame, net: Network) -> None:
    """Warn when a facility layer declared WGS-84 looks like GCJ-02 (Amap/Tencent)."""
    declared = fac["source_crs"] if "source_crs" in fac.columns else None
    source = fac["source_file"] if "source_file" in fac.columns else None
    groups = (
        fac.groupby(source.fillna("facilities").astype(str)).indices.items()
        if source is not None
        else [("facilities", np.arange(len(fac)))]
    )
    ll = fac.geometry.to_crs("EPSG:4326")
    for name, pos in groups:
        if declared is not None:
            labels = set(declared.iloc[pos].dropna().astype(str))
            if labels and not labels <= {"WGS-84", "CGCS2000", "EPSG:4326"}:
                continue  # declared GCJ-02/BD-09 (already converted) or projected
        pts = ll.iloc[pos]
        found = detect_gcj02_shift(pts.x.to_numpy(), pts.y.to_numpy(), net)
        if found:
            warnings.warn(
                f"facilities from {name} look like GCJ-02 (Amap/Tencent) coordinates declared "
                f"as WGS-84: their median distance to the streets is "
                f"{found['median_as_given_m']:.0f} m as given but "
                f"{found['median_if_gcj02_m']:.0f} m if read as GCJ-02. Read them with "
                "planner.read_facilities(..., crs='gcj02') (Baidu: crs='bd09').",
                PlannerWarning,
                stacklevel=3,
            )


def _missing_text(missing: np.ndarray, cats: Sequence[str], applies: np.ndarray) -> np.ndarray:
    """Comma-separated ids of the missing categories per block, built column by column."""
    text = np.full(missing.shape[0], "", dtype=object)
    for j, cat in enumerate(cats):
        add = missing[:, j]
        sep = np.where(text[add] == "", "", ", ")
        text[add] = text[add] + sep + cat
    out = pd.Series(text, dtype="string")
    out[~applies] = pd.NA
    return out.to_numpy()


def _shares(df: pd.DataFrame) -> pd.DataFrame:
    """Share columns from summed counts (NA where the denominator is 0 or missing)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        for what in ("population", "households"):
            den = df[what]
            df[f"{what}_share"] = (df[f"{what}_inside"] / den).where(den > 0)
        df["radius_population_share"] = (df["population_inside_radius"] / df["population"]).where(
            df["population"] > 0
        )
    return df


def _long(out: gpd.GeoDataFrame, chosen: list[Circle], by: str | None) -> pd.DataFrame:
    """Blocks x circles as a long table of counts (only applicable pairs)."""
    pop = out["population"].to_numpy(dtype=float)
    hh = (
        out["households"].to_numpy(dtype=float)
        if "households" in out.columns
        else np.full(len(out), np.nan)
    )
    parts = []
    for c in chosen:
        inside = out[c.id]
        ok = inside.notna().to_numpy()
        ins = inside.fillna(False).to_numpy(dtype=bool)
        ins_r = out[f"{c.id}__radius"].fillna(False).to_numpy(dtype=bool)
        frame = pd.DataFrame(
            {
                "circle": c.id,
                "blocks": 1,
                "blocks_outside": (~ins).astype(int),
                "population": pop,
                "population_inside": pop * ins,
                "population_inside_radius": pop * ins_r,
                "households": hh,
                "households_inside": hh * ins,
            }
        )
        if by is not None:
            frame[by] = out[by].to_numpy()
        parts.append(frame[ok])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


_SUMS = [
    "blocks",
    "blocks_outside",
    "population",
    "population_inside",
    "population_inside_radius",
    "households",
    "households_inside",
]


def _rollup(out: gpd.GeoDataFrame, chosen: list[Circle], by: str) -> pd.DataFrame:
    if by not in out.columns or out[by].isna().all():
        return pd.DataFrame(columns=[by, "circle", *_SUMS]).set_index([by, "circle"])
    long = _long(out, chosen, by)
    long = long[long[by].notna()]
    g = long.groupby([by, "circle"], sort=True)[_SUMS].sum(min_count=1)
    g["households"] = long.groupby([by, "circle"])["households"].sum(min_count=1)
    return _shares(g)


def _summary(
    out: gpd.GeoDataFrame, chosen: list[Circle], key_of: dict[str, EngineKey], pre: Preset
) -> pd.DataFrame:
    long = _long(out, chosen, None)
    if len(long):
        g = long.groupby("circle", sort=False)[_SUMS].sum(min_count=1)
    else:
        g = pd.DataFrame(columns=_SUMS)
    g = g.reindex([c.id for c in chosen])
    g[["blocks", "blocks_outside"]] = g[["blocks", "blocks_outside"]].fillna(0).astype(int)
    g = _shares(g)
    meta = pd.DataFrame(
        [
            {
                "circle": c.id,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "setting": c.setting,
                "mode": c.mode,
                "speed_kph": key_of[c.id].speed_kph if not c.is_distance else None,
                "minutes": c.minutes,
                "distance_m": c.distance_m,
                "radius_m": c.radius_m,
                "categories": ", ".join(c.categories),
                "min_kinds": c.min_kinds,
                "how": c.describe(),
                "label": c.label,
                "mode_label": c.mode_label,
                "radius_label": c.radius_label,
                "source": c.source,
            }
            for c in chosen
        ]
    ).set_index("circle")
    return g.join(meta)


def _coverage(
    out: gpd.GeoDataFrame,
    chosen: list[Circle],
    key_of: dict[str, EngineKey],
    values: Mapping[tuple[str, EngineKey], np.ndarray],
) -> pd.DataFrame:
    pop = out["population"].to_numpy(dtype=float)
    rows = []
    for c in chosen:
        ok = out[c.id].notna().to_numpy()
        total = pop[ok].sum()
        for cat in c.categories:
            reach = values[(cat, key_of[c.id])] <= c.threshold
            inside = pop[ok & reach].sum()
            rows.append(
                {
                    "circle": c.id,
                    "category": cat,
                    "population": total,
                    "population_reaching": inside,
                    "population_share": inside / total if total > 0 else np.nan,
                }
            )
    return pd.DataFrame(rows).set_index(["circle", "category"])


def _confidence(
    fac: gpd.GeoDataFrame,
    category: str,
    needed: list[str],
    rows_of: Mapping[str, np.ndarray],
    table: Any,
) -> pd.DataFrame:
    src = fac["source_file"] if "source_file" in fac.columns else None
    rows = []
    for cat in needed:
        members = table.members(cat)
        labels = sorted(
            {table[m].osm_label for m in members} | {table[m].amap_label for m in members}
        )
        n = len(rows_of[cat])
        sources: list[Hashable] = (
            sorted(src.iloc[rows_of[cat]].dropna().astype(str).unique()) if src is not None else []
        )
        rows.append(
            {
                "category": cat,
                "name_zh": table.name(cat, "zh"),
                "name_en": table.name(cat, "en"),
                "facilities": n,
                "sources": ", ".join(map(str, sources)),
                "rule_labels": "".join(labels),
                "flag": (
                    "no facilities found: coverage 0 reflects missing data, not necessarily "
                    "missing services"
                    if n == 0
                    else ""
                ),
            }
        )
    return pd.DataFrame(rows).set_index("category")
