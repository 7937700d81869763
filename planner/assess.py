"""Circles -> per-block results, roll-ups by community/street/setting, and the plan's targets.

``assess`` answers, for every residential block: is it inside each service circle, which
categories does it miss, how many people is that; and for every community: coverage
against the plan's targets. Two readings sit side by side everywhere:

- *network*: travel time (or distance) along the street network, exact (the main one);
- *radius*: straight-line distance against the standard radius Chinese standards quote.

Accessibility coverage (population within the threshold) and presence coverage (a
facility inside the community) are separate, labelled measures.

The steps, each a function of its own so that a partitioned run can apply the per-block
steps to a piece and the roll-ups to the merged whole, and a what-if can recompute the
per-block columns from updated times:

1. :func:`check_inputs`: networks, preset, circles (with the facilities' own categories),
   facilities, communities and blocks checked and resolved;
2. :func:`facility_rows`: the facility rows of every category or group the circles need;
3. :func:`engine_passes`: one multi-source Dijkstra per (category, mode, speed), and the
   network components; :func:`straight_lines`: the radius reading's distances;
4. :func:`block_table`: the per-block table (:func:`circle_columns` reads the time
   columns only);
5. :func:`roll_ups`: summary, roll-ups, coverage, confidence, components and targets.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from . import settings
from ._log import log
from ._snap import SnapResult
from ._validate import check_facilities, check_gdf, check_network, warn
from .access import (
    CategoryJob,
    category_times,
    origin_legs,
    origin_points,
    snap_layer,
    snap_origins,
    warn_unsnapped,
)
from .assessment import (
    DISTANCE_SPEED_KPH,
    Assessment,
    AssessmentInputs,
    AssessmentParams,
    EngineKey,
    line_column,
    value_column,
    value_pairs,
)
from .errors import InputError, closest
from .network import ModeGraph, Network
from .rules import Category, CategoryTable, Circle, Preset, circle_from_spec, load_preset
from .sources.blocks import join_communities, setting_values, standardise_communities
from .sources.coords import detect_gcj02_shift
from .targets import evaluate_targets

CircleSpec = str | Mapping[str, Any]


def assess(
    network: Network | Mapping[str, Network],
    facilities: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    *,
    preset: str | Preset = "guangdong_2016",
    circles: Iterable[CircleSpec] | None = None,
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
        Default: all circles of the preset. A category that no category table declares
        but the facilities hold (a planner's own "AED" layer) is used as it is, with a
        warning; one neither declared nor held is an error.
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
        Block-level results (``blocks``) in the blocks' CRS and index; ``facilities``
        in the facilities' CRS.
    """
    checked = check_inputs(
        network,
        facilities,
        blocks,
        preset=preset,
        circles=circles,
        communities=communities,
        entrances=entrances,
        category=category,
        rules=rules,
        reference_year=reference_year,
    )
    rows_of = facility_rows(checked)
    passes = engine_passes(checked, rows_of)
    table = block_table(checked, passes.values, straight_lines(checked, rows_of))
    tables = roll_ups(table, checked, rows_of, component_table(table, checked, passes))
    log(
        f"assess: {len(table):,} blocks, {len(checked.circles)} circles, "
        f"{len(passes.values)} engine passes ({len(passes.networks)} modes), "
        f"preset {checked.preset.id}"
    )
    return Assessment(
        blocks=table,
        **tables,
        circles=checked.circles,
        preset=checked.preset,
        facilities=checked.facilities,
        communities=checked.communities,
        networks=passes.networks,
        params=_params(checked),
        inputs=AssessmentInputs(
            network=network,
            facilities=facilities,
            blocks=blocks,
            communities=checked.communities,
            entrances=entrances,
            category=category,
            circles=tuple(asdict(c) for c in checked.circles),
            key_of=checked.key_of,
            reference_year=reference_year,
        ),
    )


# --- 1. inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """The inputs of an assessment, checked and resolved (:func:`check_inputs`).

    ``circles`` carry the speed each time rule uses (fixed at the time of the run);
    ``key_of`` says how each circle is travelled; ``blocks`` have ``population`` (float),
    ``setting`` and the community attributes resolved, in the blocks' CRS; ``access``
    holds the point each block is reached from (a polygon's representative point), once.
    """

    base: Network
    by_mode: dict[str, Network]
    preset: Preset
    circles: list[Circle]
    key_of: dict[str, EngineKey]
    facilities: gpd.GeoDataFrame
    category: str
    blocks: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    entrances: gpd.GeoDataFrame | None
    access: gpd.GeoDataFrame
    reference_year: int | None = None

    @property
    def needed(self) -> list[str]:
        """The categories and groups the circles need, in order, once each."""
        return list(dict.fromkeys(k for c in self.circles for k in c.categories))

    @property
    def limits(self) -> dict[EngineKey, float]:
        """One engine pass per way of travelling, as far as its longest threshold."""
        out: dict[EngineKey, float] = {}
        for c in self.circles:
            key = self.key_of[c.id]
            out[key] = max(out.get(key, 0.0), c.threshold)
        return out


def check_inputs(
    network: Network | Mapping[str, Network],
    facilities: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    *,
    preset: str | Preset = "guangdong_2016",
    circles: Iterable[CircleSpec] | None = None,
    communities: gpd.GeoDataFrame | None = None,
    entrances: gpd.GeoDataFrame | None = None,
    category: str = "category",
    rules: Any = None,
    reference_year: int | None = None,
) -> Checked:
    """Step 1 of :func:`assess`: every input checked, circles and blocks resolved.

    Parameters are those of :func:`assess`. Raises :class:`planner.errors.InputError`
    (or a subclass) naming the argument and the fix.
    """
    base, by_mode = _networks(network)
    pre = load_preset(preset, rules=rules) if not isinstance(preset, Preset) else preset
    fac = check_facilities(facilities, category)
    specs = _circle_specs(circles)
    if specs is not None:
        pre = with_own_categories(pre, specs, fac, category)
    chosen = _resolve_circles(pre, specs)
    com = _check_communities(communities)
    blk = _blocks_frame(check_gdf(blocks, "blocks"), com, chosen)
    _warn_gcj02(fac, base)
    # the speed each time rule uses is fixed now, so outputs describe it after settings change
    chosen = [
        c if c.is_distance else replace(c, speed_kph=_engine_key(c).speed_kph) for c in chosen
    ]
    return Checked(
        base=base,
        by_mode=by_mode,
        preset=pre,
        circles=chosen,
        key_of={c.id: _engine_key(c) for c in chosen},
        facilities=fac,
        category=category,
        blocks=blk,
        communities=com,
        entrances=entrances,
        access=gpd.GeoDataFrame(geometry=origin_points(blk), index=blk.index),
        reference_year=reference_year,
    )


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


def _circle_specs(circles: Iterable[CircleSpec] | None) -> list[CircleSpec] | None:
    if circles is None:
        return None
    if isinstance(circles, str | Mapping):
        return [circles]
    return list(circles)


def _resolve_circles(preset: Preset, specs: list[CircleSpec] | None) -> list[Circle]:
    if specs is None:
        return list(preset.circles.values())
    out = [circle_from_spec(c, preset) for c in specs]
    ids = [c.id for c in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        msg = f"circles: ids must be unique; repeated: {sorted(dup)}."
        raise InputError(msg)
    if not out:
        msg = "circles: an empty list; give circle ids of the preset or circle dicts."
        raise InputError(msg)
    return out


def with_own_categories(
    preset: Preset, specs: Sequence[CircleSpec], facilities: gpd.GeoDataFrame, category: str
) -> Preset:
    """The preset, its category table extended by the facilities' own categories.

    A circle given as a dict may name a category that no category table declares but
    that ``facilities[category]`` holds (a planner's own "AED" or "菜鸟驿站" layer): it is
    added under its id, labelled I, with one warning per id. A category neither declared
    nor held raises :class:`planner.errors.InputError` listing what the facilities hold
    and how a rules TOML declares one.
    """
    table = preset.table
    undeclared: dict[str, str] = {}  # category -> the first circle naming it
    for spec in specs:
        if isinstance(spec, Mapping):
            raw = spec.get("categories", [])
            if not isinstance(raw, str | list | tuple):
                continue  # not a list: the circle's own check says so
            for cat in [raw] if isinstance(raw, str) else raw:
                if str(cat) not in table:
                    undeclared.setdefault(str(cat), str(spec.get("id", "")))
    if not undeclared:
        return preset
    held = pd.Series(facilities[category].dropna().astype(str).to_numpy()).value_counts(sort=False)
    for cat, cid in undeclared.items():
        if cat not in held.index:
            raise InputError(_unknown_category_message(cat, cid, table, held, category))
    for cat, cid in undeclared.items():
        warn(
            f"circle {cid!r}: category {cat!r} is declared in no category table; it is taken "
            f"as the facilities' own category ({int(held[cat])} rows of facilities"
            f"[{category!r}] hold it) and labelled I. To name it or match it in OSM and Amap "
            "data, declare it in a rules TOML (rules=...)."
        )
    own = {cat: Category(id=cat, name_zh=cat, name_en=cat) for cat in undeclared}
    extended = CategoryTable(
        categories={**table.categories, **own},
        groups=table.groups,
        sources=[*table.sources, "the facilities' own categories"],
    )
    return replace(preset, table=extended)


def _unknown_category_message(
    cat: str, cid: str, table: CategoryTable, held: pd.Series, category: str
) -> str:
    values = sorted(held.index)
    listed = ", ".join(values[:20]) + (f", ... ({len(values)} in all)" if len(values) > 20 else "")
    return (
        f"circle {cid!r}: unknown category or group {cat!r}: no category table declares it "
        f"and no facility holds it (facilities[{category!r}] holds: {listed or 'nothing'})."
        f"{closest(cat, [*table.categories, *table.groups, *values])} Give facilities of "
        "that category, or declare it in a rules TOML passed as rules=... ([assessment] "
        "rules = ... in a plan):\n"
        f'  [[category]]\n  id = "{cat}"\n  name_zh = "{cat}"\n  name_en = "{cat}"'
    )


def _check_communities(communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if communities is None:
        return None
    com = check_gdf(communities, "communities")
    return com if "community" in com.columns else standardise_communities(com)


def _blocks_frame(
    blocks: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None, circles: list[Circle]
) -> gpd.GeoDataFrame:
    """Blocks with population, households, setting, community/street/region resolved."""
    out = _with_population(blocks.copy())
    if "households" in out.columns:
        out["households"] = pd.to_numeric(out["households"], errors="coerce").astype(float)
    if communities is not None:
        if "community" in out.columns and out["community"].notna().any():
            out = _community_attributes(out, communities)
        else:
            out = join_communities(out, communities)
    return _with_setting(out, circles)


def _with_population(out: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "population" not in out.columns:
        warn(
            "blocks have no 'population' column: every block counts as 1 resident, so shares "
            "are shares of blocks. Read blocks with planner.read_blocks(..., population=...) "
            "or add a population column."
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
    return out


def _community_attributes(out: gpd.GeoDataFrame, com: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Setting, region and street of each block's named community (given values win)."""
    extra = [c for c in ("setting", "region", "street") if c in com.columns]
    attrs = pd.DataFrame(com[["community", *extra]]).drop_duplicates("community")
    attrs = attrs.set_index("community")
    for c in extra:
        joined = out["community"].map(attrs[c])
        if c in out.columns:
            out[c] = out[c].astype(object).where(out[c].notna(), joined.astype(object))
        else:
            out[c] = joined
    return out


def _with_setting(out: gpd.GeoDataFrame, circles: list[Circle]) -> gpd.GeoDataFrame:
    if "setting" not in out.columns:
        out["setting"] = pd.NA
    setting = setting_values(out["setting"], "blocks", "setting")
    missing = setting.isna()
    if missing.any() and any(c.setting == "rural" for c in circles):
        warn(
            f"{int(missing.sum())} blocks have no urban/rural setting and count as urban; rural "
            "circles do not apply to them. Give blocks a 'setting' column or communities with "
            "one (planner.read_communities(..., setting=...))."
        )
    out["setting"] = setting.fillna("urban")
    return out


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
            warn(
                f"facilities from {name} look like GCJ-02 (Amap/Tencent) coordinates declared "
                f"as WGS-84: their median distance to the streets is "
                f"{found['median_as_given_m']:.0f} m as given but "
                f"{found['median_if_gcj02_m']:.0f} m if read as GCJ-02. Read them with "
                "planner.read_facilities(..., crs='gcj02') (Baidu: crs='bd09')."
            )


def _params(checked: Checked) -> AssessmentParams:
    base = checked.base
    return AssessmentParams(
        preset=checked.preset.id,
        preset_files=tuple(checked.preset.files),
        modes={c.id: c.describe() for c in checked.circles},
        max_snap_m=float(settings.max_snap_m),
        network_source=base.source,
        network=repr(base),
        entrances=0 if checked.entrances is None else len(checked.entrances),
    )


# --- 2. facility rows -------------------------------------------------------------------------


def facility_rows(checked: Checked) -> dict[str, np.ndarray]:
    """Step 2: positions of the facilities of every category or group the circles need."""
    codes = checked.facilities[checked.category].astype(object).to_numpy()
    table = checked.preset.table
    return {k: np.flatnonzero(np.isin(codes, list(table.members(k)))) for k in checked.needed}


# --- 3. engine passes -------------------------------------------------------------------------


@dataclass
class Passes:
    """What the engine passes found (:func:`engine_passes`), by way of travelling.

    ``values[(category, key)]``: seconds (metres for distance rules) from each block to
    the nearest facility, inf beyond the key's longest threshold. ``linked[(category,
    key)]``: the block lies on a network component holding a facility of the category.
    ``snapped[key]``: the block reaches a street at all. ``components[key]``: the number
    of components the streets of that mode form.
    """

    values: dict[tuple[str, EngineKey], np.ndarray]
    networks: dict[EngineKey, Network]
    linked: dict[tuple[str, EngineKey], np.ndarray]
    snapped: dict[EngineKey, np.ndarray]
    components: dict[EngineKey, int]


def engine_passes(checked: Checked, rows_of: Mapping[str, np.ndarray]) -> Passes:
    """Step 3: one multi-source Dijkstra per (category, way of travelling) the circles use,
    all handed to the engine at once, so that they run side by side on its threads."""
    pairs = set(value_pairs(checked.circles, checked.key_of))
    out = Passes({}, {}, {}, {}, {})
    jobs: dict[tuple[str, EngineKey], CategoryJob] = {}
    for key, limit in checked.limits.items():
        net = _net_for(key, checked.base, checked.by_mode)
        mg = net.graph
        origins = snap_origins(net, checked.access, checked.entrances).snap
        fsnap = snap_layer(net, checked.facilities.geometry).snap
        if not out.networks:  # once: the first mode's streets decide what lies off the network
            warn_unsnapped(fsnap, origins, 0, net)
        out.networks[key] = net
        legs = origin_legs(mg, origins)
        labels, out.components[key] = street_components(mg)
        out.snapped[key] = origins.ok
        for cat in checked.needed:
            if (cat, key) in pairs:
                sub = _category_snap(fsnap, rows_of[cat])
                jobs[(cat, key)] = CategoryJob(mg, legs, sub, limit)
                out.linked[(cat, key)] = on_components_of(mg, labels, origins, sub)
    times = category_times(list(jobs.values()))
    out.values = {pair: t for pair, (t, _) in zip(jobs, times, strict=True)}
    return out


def _net_for(key: EngineKey, base: Network, by_mode: dict[str, Network]) -> Network:
    given = by_mode.get(key.mode)
    if given is not None and (key.distance is False and given.speed_kph == key.speed_kph):
        return given
    src = given if given is not None else base
    return src.with_mode(key.mode, key.speed_kph)


def _category_snap(snap: SnapResult, pos: np.ndarray) -> SnapResult:
    """The snapped facilities of one category (the rows that reached a street)."""
    return snap.take(pos[snap.ok[pos]]) if len(pos) else snap.take(pos)


#: Components found per mode graph (id -> (weak reference, labels, count)), kept while
#: the graph lives: assessing the same network again (siting's re-run) finds them here.
_COMPONENTS: dict[int, tuple[weakref.ref[ModeGraph], np.ndarray, int]] = {}


def street_components(mg: ModeGraph) -> tuple[np.ndarray, int]:
    """Component label of every node, and how many components the mode's streets form.

    Streets connect their two ends whatever their direction (weak connection): a block
    and a facility on different components can never reach each other.
    """
    known = _COMPONENTS.get(id(mg))
    if known is not None and known[0]() is mg:
        return known[1], known[2]
    n = mg.csr.shape[0]
    links = sp.coo_matrix((np.ones(len(mg.su), dtype=np.int8), (mg.su, mg.sv)), shape=(n, n))
    _, labels = connected_components(links, directed=False)
    count = len(np.unique(labels[mg.su]))
    for key in [k for k, v in _COMPONENTS.items() if v[0]() is None]:
        _COMPONENTS.pop(key, None)  # graphs gone
    _COMPONENTS[id(mg)] = (weakref.ref(mg), labels, count)
    return labels, count


def on_components_of(
    mg: ModeGraph, labels: np.ndarray, points: SnapResult, facilities: SnapResult
) -> np.ndarray:
    """Per point: does one of its streets lie on a component holding one of the facilities?"""
    held = np.zeros(len(labels), dtype=bool)
    held[labels[mg.su[facilities.street[facilities.entries()]]]] = True
    e = points.entries()
    hit = held[labels[mg.su[points.street[e]]]]
    out = np.zeros(points.n_points, dtype=bool)
    out[points.owner[e][hit]] = True
    return out


def straight_lines(checked: Checked, rows_of: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Step 3b: straight-line metres from each block to the nearest facility of a category."""
    base = checked.base
    bx, by = base.to_metric(checked.access.geometry)
    fx, fy = base.to_metric(checked.facilities.geometry)
    queries = np.column_stack([bx, by])
    placed = np.isfinite(bx) & np.isfinite(by)
    line: dict[str, np.ndarray] = {}
    for cat in checked.needed:
        pos = rows_of[cat]
        ok = pos[np.isfinite(fx[pos]) & np.isfinite(fy[pos])]
        if len(ok) == 0:
            line[cat] = np.full(len(bx), np.inf)
            continue
        d, _ = cKDTree(np.column_stack([fx[ok], fy[ok]])).query(queries, k=1, workers=-1)
        line[cat] = np.where(placed, d, np.inf)
    return line


# --- 4. the per-block table -------------------------------------------------------------------


def block_table(
    checked: Checked,
    values: Mapping[tuple[str, EngineKey], np.ndarray],
    line: Mapping[str, np.ndarray],
) -> gpd.GeoDataFrame:
    """Step 4: the blocks with their value columns and, per circle, the result columns."""
    blk = checked.blocks
    cols: dict[str, Any] = {value_column(cat, k): v for (cat, k), v in values.items()}
    cols.update({line_column(cat): d for cat, d in line.items()})
    times = pd.DataFrame(cols, index=blk.index)
    results = circle_columns(times, blk["setting"], checked.circles, checked.key_of)
    out = pd.concat([blk, times, results], axis=1)
    return gpd.GeoDataFrame(out, geometry=blk.geometry.name, crs=blk.crs)


def circle_columns(
    times: pd.DataFrame,
    setting: pd.Series | np.ndarray,
    circles: Sequence[Circle],
    key_of: Mapping[str, EngineKey],
) -> pd.DataFrame:
    """Per circle ``<id>``, ``<id>__radius``, ``<id>__missing``, ``<id>__n_missing``.

    Read from the value columns of ``times`` only (``time_*``/``net_*``/``line_m__*``, as
    :func:`planner.assessment.value_column` names them; a blocks table will do) and each
    block's ``setting`` (urban/rural), so that they can be recomputed when times change.
    """
    kind = np.asarray(setting, dtype=object)
    cols: dict[str, Any] = {}
    for c in circles:
        applies = np.ones(len(times), dtype=bool) if c.setting == "both" else kind == c.setting
        cols.update(_circle_result(times, c, key_of[c.id], applies))
    return pd.DataFrame(cols, index=times.index)


def _circle_result(
    table: pd.DataFrame, c: Circle, key: EngineKey, applies: np.ndarray
) -> dict[str, Any]:
    def within(columns: list[str], limit: float) -> np.ndarray:
        return np.column_stack([table[col].to_numpy(dtype=float) <= limit for col in columns])

    reach = within([value_column(cat, key) for cat in c.categories], c.threshold)
    # the straight-line reading needs a standard radius (a distance rule is its own)
    radius = c.radius_m if c.radius_m is not None else c.distance_m
    if radius is not None:
        near = within([line_column(cat) for cat in c.categories], radius)
        by_radius = _where_applies(near.sum(axis=1) >= c.min_kinds, applies)
    else:
        by_radius = pd.array([pd.NA] * len(table), dtype="boolean")
    n_missing = pd.array(np.where(applies, (~reach).sum(axis=1), 0), dtype="Int64")
    n_missing[~applies] = pd.NA
    return {
        c.id: _where_applies(reach.sum(axis=1) >= c.min_kinds, applies),
        f"{c.id}__radius": by_radius,
        f"{c.id}__missing": missing_lists(~reach, c.categories, applies),
        f"{c.id}__n_missing": n_missing,
    }


def _where_applies(flag: np.ndarray, applies: np.ndarray) -> pd.arrays.BooleanArray:
    out = pd.array(np.where(applies, flag, False), dtype="boolean")
    out[~applies] = pd.NA
    return out


def missing_lists(missing: np.ndarray, cats: Sequence[str], applies: np.ndarray) -> np.ndarray:
    """Per block, a new list of the categories it misses (``[]``: none; NA: not applicable).

    Blocks x categories booleans in; the lists are built once per distinct pattern and
    copied to each block.
    """
    n = missing.shape[0]
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    bits = np.packbits(missing, axis=1, bitorder="little")
    patterns, which = np.unique(bits, axis=0, return_inverse=True)
    unpacked = np.unpackbits(patterns, axis=1, count=len(cats), bitorder="little").astype(bool)
    names = np.asarray(cats, dtype=object)
    lists = [list(names[row]) for row in unpacked]
    out = np.fromiter((lists[i].copy() for i in which.ravel()), dtype=object, count=n)
    out[~applies] = pd.NA
    return out


# --- 5. roll-ups ------------------------------------------------------------------------------


def component_table(table: pd.DataFrame, checked: Checked, passes: Passes) -> pd.DataFrame:
    """Per circle: components of its mode's streets, and who is cut off from its categories.

    ``blocks_cut_off``/``population_cut_off``: blocks the circle applies to whose streets
    lie on components holding no facility of any of its categories;
    ``blocks_off_network``/``population_off_network``: those that reach no street.
    """
    pop = table["population"].to_numpy(dtype=float)
    rows = []
    for c in checked.circles:
        key = checked.key_of[c.id]
        applies = table[c.id].notna().to_numpy()
        snapped = passes.snapped[key]
        linked = np.logical_or.reduce([passes.linked[(cat, key)] for cat in c.categories])
        cut = applies & snapped & ~linked
        off = applies & ~snapped
        rows.append(
            {
                "circle": c.id,
                "mode": key.mode,
                "components": passes.components[key],
                "blocks_cut_off": int(cut.sum()),
                "population_cut_off": float(pop[cut].sum()),
                "blocks_off_network": int(off.sum()),
                "population_off_network": float(pop[off].sum()),
            }
        )
    return pd.DataFrame(rows).set_index("circle")


def roll_ups(
    table: gpd.GeoDataFrame,
    checked: Checked,
    rows_of: Mapping[str, np.ndarray],
    components: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """Step 5: the tables of :class:`Assessment` other than ``blocks``, from the block table."""
    chosen = checked.circles
    targets, per_unit = evaluate_targets(
        checked.preset,
        checked.facilities,
        checked.category,
        table,
        checked.communities,
        reference_year=checked.reference_year,
    )
    summary = _summary(table, chosen, checked.key_of)
    summary = summary.join(components[["components", "population_cut_off"]])
    return {
        "summary": summary,
        "by_community": _rollup(table, chosen, "community"),
        "by_street": _rollup(table, chosen, "street"),
        "by_setting": _rollup(table, chosen, "setting"),
        "coverage": _coverage(table, chosen, checked.key_of),
        "confidence": _confidence(checked, rows_of),
        "targets": targets,
        "targets_by_unit": per_unit,
        "components": components,
    }


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


def _long(out: pd.DataFrame, chosen: list[Circle], by: str | None) -> pd.DataFrame:
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


def _rollup(out: pd.DataFrame, chosen: list[Circle], by: str) -> pd.DataFrame:
    if by not in out.columns or out[by].isna().all():
        return pd.DataFrame(columns=[by, "circle", *_SUMS]).set_index([by, "circle"])
    long = _long(out, chosen, by)
    long = long[long[by].notna()]
    g = long.groupby([by, "circle"], sort=True)[_SUMS].sum(min_count=1)
    g["households"] = long.groupby([by, "circle"])["households"].sum(min_count=1)
    return _shares(g)


def _summary(
    out: pd.DataFrame, chosen: list[Circle], key_of: Mapping[str, EngineKey]
) -> pd.DataFrame:
    long = _long(out, chosen, None)
    if len(long):
        g = long.groupby("circle", sort=False)[_SUMS].sum(min_count=1)
    else:
        g = pd.DataFrame(columns=_SUMS)
    g = g.reindex([c.id for c in chosen])
    g[["blocks", "blocks_outside"]] = g[["blocks", "blocks_outside"]].fillna(0).astype(int)
    g = _shares(g)
    meta = pd.DataFrame([_circle_meta(c, key_of[c.id]) for c in chosen]).set_index("circle")
    return g.join(meta)


def _circle_meta(c: Circle, key: EngineKey) -> dict[str, Any]:
    return {
        "circle": c.id,
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "setting": c.setting,
        "mode": c.mode,
        "speed_kph": key.speed_kph if not c.is_distance else None,
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


def _coverage(
    out: pd.DataFrame, chosen: list[Circle], key_of: Mapping[str, EngineKey]
) -> pd.DataFrame:
    pop = out["population"].to_numpy(dtype=float)
    rows = []
    for c in chosen:
        ok = out[c.id].notna().to_numpy()
        total = pop[ok].sum()
        for cat in c.categories:
            reach = out[value_column(cat, key_of[c.id])].to_numpy(dtype=float) <= c.threshold
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


def _confidence(checked: Checked, rows_of: Mapping[str, np.ndarray]) -> pd.DataFrame:
    fac, table = checked.facilities, checked.preset.table
    src = fac["source_file"] if "source_file" in fac.columns else None
    rows = []
    for cat in checked.needed:
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
