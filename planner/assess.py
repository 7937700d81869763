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

import math
import time
import warnings
import weakref
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import partial
from types import SimpleNamespace
from typing import Any, TypedDict, Unpack, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from . import scale, settings
from ._log import log
from ._snap import SnapResult
from ._validate import check_entrances, check_facilities, check_gdf, check_network, warn
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
from .errors import InputError, NetworkError, PlannerWarning, closest
from .network import ModeGraph, Network
from .rules import Category, CategoryTable, Circle, Preset, circle_from_spec, load_preset
from .scale import NetworkSource
from .sources.blocks import join_communities, setting_values, standardise_communities
from .sources.coords import detect_gcj02_shift
from .targets import evaluate_targets

CircleSpec = str | Mapping[str, Any]


class LayerOptions(TypedDict, total=False):
    """The keyword options of :func:`assess` that :func:`check_layers` resolves (with
    their defaults); :func:`check_inputs` and :func:`assess_partitioned` pass them on."""

    preset: str | Preset
    circles: Iterable[CircleSpec] | None
    communities: gpd.GeoDataFrame | None
    entrances: gpd.GeoDataFrame | None
    category: str
    rules: Any
    reference_year: int | None


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
    partitions: Any = None,
    client: Any = None,
) -> Assessment:
    """Check every block against the preset's service circles and the plan's targets.

    Parameters
    ----------
    network
        A :class:`planner.Network`, or a dict of Networks by mode. Circles in other modes
        use the same streets (``network.with_mode``). With ``partitions``, also a
        :class:`planner.scale.NetworkSource` that each partition reads for its own area
        (an ``.osm.pbf`` by bounding box, osmnx by polygon, or a function of the area).
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
    partitions
        None (default): one run in this process. Otherwise the blocks are split, each
        partition assessed as one task on a dask.distributed worker with the streets and
        facilities of its area grown by the farthest any circle reaches (time x the
        fastest speed, or distance_m, plus ``settings.max_snap_m``: nothing reachable is
        lost, see :mod:`planner.scale`), and the per-block results merged, each block
        reported once, by the partition holding its representative point (the first in
        order where it lies on an edge); roll-ups, targets and components are computed on
        the merged whole. The block table equals a single run's. Give polygons (a
        GeoDataFrame or GeoSeries: communities, streets, districts; ids are their index
        labels), a polygon file, ``"grid:<km>"`` (square cells), ``"communities"`` or
        ``"streets"`` (of ``communities``). A single partition runs in this process.
    client
        With ``partitions``: a dask ``distributed.Client``, or a scheduler address
        (``"tcp://host:8786"``); None starts a LocalCluster with one single-threaded
        worker process per core and closes it after. Needs the ``scale`` extra
        (``pip install "planner[scale]"``).

    Returns
    -------
    Assessment
        Block-level results (``blocks``) in the blocks' CRS and index; ``facilities``
        in the facilities' CRS.
    """
    options: LayerOptions = {
        "preset": preset,
        "circles": circles,
        "communities": communities,
        "entrances": entrances,
        "category": category,
        "rules": rules,
        "reference_year": reference_year,
    }
    if partitions is not None or isinstance(network, NetworkSource):
        return assess_partitioned(
            network, facilities, blocks, partitions=partitions, client=client, **options
        )
    if client is not None:
        msg = "client= is used with partitions=...; give partitions (e.g. 'grid:10') too."
        raise InputError(msg)
    checked = check_inputs(network, facilities, blocks, **options)
    rows_of = facility_rows(checked)
    passes = engine_passes(checked, rows_of)
    table = block_table(checked, passes.values, straight_lines(checked, rows_of))
    tables = roll_ups(table, checked, rows_of, component_table(table, checked, passes))
    log(
        f"assess: {len(table):,} blocks, {len(checked.circles)} circles, "
        f"{len(passes.values)} engine passes ({len(passes.networks)} modes), "
        f"preset {checked.preset.id}"
    )
    given = _given(network, facilities, blocks, checked, entrances)
    return _assessment(table, tables, checked, passes.networks, _params(checked), given)


def _given(
    network: Any,
    facilities: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    layers: Layers,
    entrances: gpd.GeoDataFrame | None,
) -> AssessmentInputs:
    """What the run was given, for the record and a re-run."""
    return AssessmentInputs(
        network=network,
        facilities=facilities,
        blocks=blocks,
        communities=layers.communities,
        entrances=entrances,
        category=layers.category,
        circles=tuple(asdict(c) for c in layers.circles),
        key_of=layers.key_of,
        reference_year=layers.reference_year,
    )


def _assessment(
    table: gpd.GeoDataFrame,
    tables: Mapping[str, pd.DataFrame],
    layers: Layers,
    networks: dict[EngineKey, Network],
    params: AssessmentParams,
    given: AssessmentInputs,
) -> Assessment:
    return Assessment(
        blocks=table,
        **tables,
        circles=layers.circles,
        preset=layers.preset,
        facilities=layers.facilities,
        communities=layers.communities,
        networks=networks,
        params=params,
        inputs=given,
    )


# --- 1. inputs --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Layers:
    """The inputs of an assessment other than the network, checked and resolved.

    ``circles`` carry the speed each time rule uses (fixed at the time of the run);
    ``key_of`` says how each circle is travelled; ``blocks`` have ``population`` (float),
    ``setting`` and the community attributes resolved, in the blocks' CRS; ``access``
    holds the point each block is reached from (a polygon's representative point), once.
    A partitioned run checks these once, on the whole (:func:`check_layers`).
    """

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


@dataclass(frozen=True, kw_only=True)
class Checked(Layers):
    """The inputs of an assessment, checked and resolved (:func:`check_inputs`): the
    :class:`Layers` and the network (``base``, and ``by_mode`` when given by mode)."""

    base: Network
    by_mode: dict[str, Network]


def check_inputs(
    network: Network | Mapping[str, Network],
    facilities: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    **options: Unpack[LayerOptions],
) -> Checked:
    """Step 1 of :func:`assess`: every input checked, circles and blocks resolved.

    ``options`` are those of :func:`check_layers`. Raises
    :class:`planner.errors.InputError` (or a subclass) naming the argument and the fix.
    """
    base, by_mode = _networks(network)
    layers = check_layers(facilities, blocks, **options)
    _warn_gcj02(layers.facilities, base)
    return Checked(base=base, by_mode=by_mode, **_fields(layers))


def _fields(layers: Layers) -> dict[str, Any]:
    return {f.name: getattr(layers, f.name) for f in fields(Layers)}


def check_layers(
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
) -> Layers:
    """Step 1 without the network: preset, circles, facilities, communities and blocks.

    Parameters are those of :func:`assess`. Raises :class:`planner.errors.InputError`
    (or a subclass) naming the argument and the fix.
    """
    pre = load_preset(preset, rules=rules) if not isinstance(preset, Preset) else preset
    fac = check_facilities(facilities, category)
    specs = _circle_specs(circles)
    if specs is not None:
        pre = with_own_categories(pre, specs, fac, category)
    chosen = _resolve_circles(pre, specs)
    com = _check_communities(communities)
    blk = _blocks_frame(check_gdf(blocks, "blocks"), com, chosen)
    # the speed each time rule uses is fixed now, so outputs describe it after settings change
    chosen = [
        c if c.is_distance else replace(c, speed_kph=_engine_key(c).speed_kph) for c in chosen
    ]
    return Layers(
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


def _params(checked: Layers, base: Any = None) -> AssessmentParams:
    base = checked.base if base is None and isinstance(checked, Checked) else base
    return AssessmentParams(
        preset=checked.preset.id,
        preset_files=tuple(checked.preset.files),
        modes={c.id: c.describe() for c in checked.circles},
        max_snap_m=float(settings.max_snap_m),
        network_source=getattr(base, "source", repr(base)),
        network=repr(base),
        entrances=0 if checked.entrances is None else len(checked.entrances),
    )


# --- 2. facility rows -------------------------------------------------------------------------


def facility_rows(checked: Layers) -> dict[str, np.ndarray]:
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
    of components the streets of that mode form. ``pieces[key]``: the components in
    detail, for joining those of a partitioned run (:class:`Pieces`).
    """

    values: dict[tuple[str, EngineKey], np.ndarray]
    networks: dict[EngineKey, Network]
    linked: dict[tuple[str, EngineKey], np.ndarray]
    snapped: dict[EngineKey, np.ndarray]
    components: dict[EngineKey, int]
    pieces: dict[EngineKey, Pieces] = field(default_factory=dict)
    facility_ok: np.ndarray | None = None


@dataclass
class Pieces:
    """The street components of one mode: node ids of the streets with their component
    label, the labels holding a facility of each category, and the label of each snapped
    entry of the blocks (``owner``: block position)."""

    nodes: np.ndarray
    labels: np.ndarray
    held: dict[str, np.ndarray]
    owner: np.ndarray
    on: np.ndarray

    @classmethod
    def none(cls) -> Pieces:
        """No streets at all."""
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, {}, empty, empty)


def engine_passes(
    checked: Checked, rows_of: Mapping[str, np.ndarray], *, part: bool = False
) -> Passes:
    """Step 3: one multi-source Dijkstra per (category, way of travelling) the circles use,
    all handed to the engine at once, so that they run side by side on its threads.

    ``part=True``: the network is a partition's part of a larger one: a mode without
    streets here leaves its blocks unreached (inf) instead of raising, and points off the
    streets are counted by the caller (no warning here).
    """
    pairs = set(value_pairs(checked.circles, checked.key_of))
    out = Passes({}, {}, {}, {}, {})
    n = len(checked.blocks)
    jobs: dict[tuple[str, EngineKey], CategoryJob] = {}
    for key, limit in checked.limits.items():
        net = _net_for(key, checked.base, checked.by_mode)
        cats = [cat for cat in checked.needed if (cat, key) in pairs]
        if part and not _has_streets(net):
            _unreached(out, key, net, cats, n)
            continue
        mg = net.graph
        origins = snap_origins(net, checked.access, checked.entrances).snap
        fsnap = snap_layer(net, checked.facilities.geometry).snap
        if out.facility_ok is None:  # the first mode's streets decide what lies off the network
            out.facility_ok = fsnap.ok
            if not part:
                warn_unsnapped(fsnap, origins, 0, net)
        out.networks[key] = net
        legs = origin_legs(mg, origins)
        labels, out.components[key] = street_components(mg)
        out.snapped[key] = origins.ok
        subs = {cat: _category_snap(fsnap, rows_of[cat]) for cat in cats}
        for cat, sub in subs.items():
            jobs[(cat, key)] = CategoryJob(mg, legs, sub, limit)
            out.linked[(cat, key)] = on_components_of(mg, labels, origins, sub)
        if part:
            out.pieces[key] = _pieces(net, labels, origins, subs)
    times = category_times(list(jobs.values()))
    out.values.update({pair: t for pair, (t, _) in zip(jobs, times, strict=True)})
    return out


def _has_streets(net: Network) -> bool:
    try:
        net.graph  # noqa: B018 - builds the mode's streets, or says there are none
    except NetworkError:
        return False
    return True


def _unreached(out: Passes, key: EngineKey, net: Network, cats: list[str], n: int) -> None:
    """A mode without streets in a partition: nothing reached, nothing snapped."""
    out.networks[key] = net
    out.components[key] = 0
    out.snapped[key] = np.zeros(n, dtype=bool)
    for cat in cats:
        out.values[(cat, key)] = np.full(n, np.inf)
        out.linked[(cat, key)] = np.zeros(n, dtype=bool)
    out.pieces[key] = Pieces.none()


def _pieces(
    net: Network, labels: np.ndarray, origins: SnapResult, subs: Mapping[str, SnapResult]
) -> Pieces:
    mg = net.graph
    nodes = np.unique(np.concatenate([mg.su, mg.sv]))
    e = origins.entries()
    held = {cat: np.unique(labels[mg.su[sub.street[sub.entries()]]]) for cat, sub in subs.items()}
    return Pieces(
        nodes=net.node_ids[nodes],
        labels=labels[nodes],
        held=held,
        owner=origins.owner[e],
        on=labels[mg.su[origins.street[e]]],
    )


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
    return line_metres((bx, by), (fx, fy), rows_of, checked.needed)


def line_metres(
    blocks_xy: tuple[np.ndarray, np.ndarray],
    facilities_xy: tuple[np.ndarray, np.ndarray],
    rows_of: Mapping[str, np.ndarray],
    needed: Sequence[str],
) -> dict[str, np.ndarray]:
    """Straight-line metres from metric block points to the nearest facility of each
    category (inf for blocks without a point or categories without facilities)."""
    bx, by = blocks_xy
    fx, fy = facilities_xy
    queries = np.column_stack([bx, by])
    placed = np.isfinite(bx) & np.isfinite(by)
    line: dict[str, np.ndarray] = {}
    for cat in needed:
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
    checked: Layers,
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


def component_table(table: pd.DataFrame, checked: Layers, passes: Passes) -> pd.DataFrame:
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
    checked: Layers,
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
        "coverage": coverage_table(table, chosen, checked.key_of),
        "confidence": _confidence(checked, rows_of),
        "targets": targets,
        "targets_by_unit": per_unit,
        "components": components,
    }


def add_shares(df: Any) -> Any:
    """Share columns from summed counts (NA where the denominator is 0 or missing),
    added to ``df`` (a DataFrame, or a dict of arrays) in place, and returned."""

    def share(part: str, whole: str) -> np.ndarray:
        den = np.asarray(df[whole], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, np.asarray(df[part], dtype=float) / den, np.nan)

    df["population_share"] = share("population_inside", "population")
    df["households_share"] = share("households_inside", "households")
    df["radius_population_share"] = share("population_inside_radius", "population")
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


#: The summed columns of ``summary`` and the ``by_*`` roll-ups, in their order.
ROLL_UP_SUMS = [
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
        return pd.DataFrame(columns=[by, "circle", *ROLL_UP_SUMS]).set_index([by, "circle"])
    long = _long(out, chosen, by)
    long = long[long[by].notna()]
    g = long.groupby([by, "circle"], sort=True)[ROLL_UP_SUMS].sum(min_count=1)
    g["households"] = long.groupby([by, "circle"])["households"].sum(min_count=1)
    return add_shares(g)


def _summary(
    out: pd.DataFrame, chosen: list[Circle], key_of: Mapping[str, EngineKey]
) -> pd.DataFrame:
    long = _long(out, chosen, None)
    if len(long):
        g = long.groupby("circle", sort=False)[ROLL_UP_SUMS].sum(min_count=1)
    else:
        g = pd.DataFrame(columns=ROLL_UP_SUMS)
    g = g.reindex([c.id for c in chosen])
    g[["blocks", "blocks_outside"]] = g[["blocks", "blocks_outside"]].fillna(0).astype(int)
    g = add_shares(g)
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


def coverage_table(
    out: pd.DataFrame, chosen: list[Circle], key_of: Mapping[str, EngineKey]
) -> pd.DataFrame:
    """Per circle and category: the population the circle applies to and the part of it
    that reaches the category within the circle's threshold (``Assessment.coverage``)."""
    rows = []
    for c in chosen:
        total, reaching = coverage_values(out, c, key_of)
        for cat, inside in zip(c.categories, reaching, strict=True):
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


def coverage_values(
    out: pd.DataFrame,
    c: Circle,
    key_of: Mapping[str, EngineKey],
    categories: Sequence[str] | None = None,
) -> tuple[float, list[float]]:
    """A circle's rows of :func:`coverage_table`: the population it applies to and, per
    category in order (its own, or ``categories``), the part of it that reaches the
    category in time."""
    pop = out["population"].to_numpy(dtype=float)
    ok = out[c.id].notna().to_numpy()
    reaching = []
    for cat in c.categories if categories is None else categories:
        reach = out[value_column(cat, key_of[c.id])].to_numpy(dtype=float) <= c.threshold
        reaching.append(pop[ok & reach].sum())
    return pop[ok].sum(), reaching


def _confidence(checked: Layers, rows_of: Mapping[str, np.ndarray]) -> pd.DataFrame:
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


# --- partitioned runs (planner.scale) ---------------------------------------------------------


def assess_partitioned(
    network: Any,
    facilities: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    *,
    partitions: Any,
    client: Any = None,
    workers: int | None = None,
    **options: Unpack[LayerOptions],
) -> Assessment:
    """:func:`assess` split into partitions, each one task on a dask.distributed worker.

    ``options`` are the other keyword arguments of :func:`assess`; ``workers`` sizes the
    LocalCluster started when ``client`` is None. The inputs are checked on the whole
    first; straight-line distances are computed on the whole; the per-block step
    (:func:`assess_part`) runs per partition; roll-ups, targets and components on the
    merged table. See :mod:`planner.scale` for why nothing reachable is lost.
    """
    source = network if isinstance(network, NetworkSource) else None
    base, by_mode = (None, {}) if source is not None else _networks(network)
    early: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as early:
            warnings.simplefilter("always")
            layers = check_layers(facilities, blocks, **options)
            if base is not None:
                _warn_gcj02(layers.facilities, base)
            run = _plan_run(network, base, source, layers, partitions)
    except BaseException:
        _show(early)
        raise
    given = _given(network, facilities, blocks, layers, options.get("entrances"))
    if sum(not p.components_only for p in run.parts) <= 1:  # one partition: in this process
        whole = source.load(None, run.crs) if source is not None else network
        return replace(assess(whole, facilities, blocks, **options), inputs=given)
    _show(early)
    log(f"assess: {len(run.parts)} partitions, grown by {run.reach:,.0f} m (+ snapping)")
    t0 = time.perf_counter()
    with scale.connect(client, workers=workers) as c:
        results = scale.run_tasks(
            c,
            assess_part,
            ((p.id, partial(_part_input, run, p)) for p in run.parts),
            total=len(run.parts),
        )
    ordered = [results[p.id] for p in run.parts]
    _record(run, ordered, time.perf_counter() - t0)
    table = _merged_table(layers, ordered)
    passes = _merged_passes(layers, ordered, base)
    for text in dict.fromkeys(t for r in ordered for t in r.warnings):
        warn(text)
    tables = roll_ups(table, layers, run.rows_of, component_table(table, layers, passes))
    nets = {k: _net_for(k, base, by_mode) for k in layers.limits} if base is not None else {}
    return _assessment(table, tables, layers, nets, _params(layers, base or source), given)


def _record(run: _Run, results: Sequence[PartResult], seconds: float) -> None:
    stats = pd.DataFrame(
        {
            "blocks": [len(p.blocks) for p in run.parts],
            "nodes": [r.nodes for r in results],
            "seconds": [r.seconds for r in results],
            "peak_rss": [r.peak_rss for r in results],
        },
        index=pd.Index([p.id for p in run.parts], name="partition"),
    )
    scale.last_run = scale.RunStats(stats, run.reach, seconds)
    log(
        f"assess: {len(results)} partitions in {seconds:.1f} s ({stats['seconds'].sum():.1f} s "
        f"of tasks), largest {stats['nodes'].max():,} nodes, worker peak "
        f"{stats['peak_rss'].max() / 2**20:,.0f} MB"
    )


def _show(recorded: Sequence[warnings.WarningMessage]) -> None:
    """Show warnings recorded meanwhile (planner's attributed to the caller's code)."""
    for w in recorded:
        if issubclass(w.category, PlannerWarning):
            warn(str(w.message))
        else:
            warnings.warn(w.message, w.category, stacklevel=3)


@dataclass
class _Run:
    """A partitioned run planned on the driver (:func:`_plan_run`)."""

    network: Any
    source: NetworkSource | None
    layers: Layers
    crs: Any
    parts: list[scale.Partition]
    reach: float
    rows_of: dict[str, np.ndarray]
    line: dict[str, np.ndarray]
    fac_xy: tuple[np.ndarray, np.ndarray]
    gate_block: np.ndarray | None
    settings: dict[str, Any]


def _plan_run(
    network: Any, base: Network | None, source: NetworkSource | None, layers: Layers, spec: Any
) -> _Run:
    """The partitions of a run, their areas and what every task shares."""
    ll = layers.access.geometry.to_crs("EPSG:4326")
    with np.errstate(invalid="ignore"):
        crs = scale.run_crs(network, ll.x.to_numpy(), ll.y.to_numpy())
    bx, by = _metric_xy(layers.access.geometry, crs)
    fx, fy = _metric_xy(layers.facilities.geometry, crs)
    rows_of = facility_rows(layers)
    given = source.fastest_kph if source is not None else None
    by_mode = dict(network) if isinstance(network, Mapping) else {}
    speeds = {
        k: scale.fastest_kph(k, _net_for(k, base, by_mode) if base is not None else None, given)
        for k in layers.limits
    }
    reach = scale.reach_m(layers.limits, speeds)
    pts = np.column_stack([np.r_[bx, fx], np.r_[by, fy]])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if base is not None:
        pts = np.r_[pts, [[base.x.min(), base.y.min()], [base.x.max(), base.y.max()]]]
    extent = (*pts.min(axis=0), *pts.max(axis=0)) if len(pts) else (0.0, 0.0, 1.0, 1.0)
    areas = scale.partition_areas(spec, crs=crs, extent=extent, communities=layers.communities)
    owner = scale.assign_blocks(bx, by, areas)
    gate_block, gates = _gates(layers, crs)
    is_grid = isinstance(spec, str) and spec.strip().lower().startswith("grid")
    parts = scale.plan_partitions(
        areas,
        owner,
        (bx, by),
        reach_m=reach,
        snap_m=float(settings.max_snap_m),
        keep_empty=is_grid,
        gates=gates,
    )
    return _Run(
        network=network,
        source=source,
        layers=layers,
        crs=crs,
        parts=parts,
        reach=reach,
        rows_of=rows_of,
        line=line_metres((bx, by), (fx, fy), rows_of, layers.needed),
        fac_xy=(fx, fy),
        gate_block=gate_block,
        settings=_worker_settings(),
    )


def _worker_settings() -> dict[str, Any]:
    """The driver's settings for the tasks; the engine on one thread per task unless
    ``settings.threads`` says otherwise (the partitions are the unit of parallelism)."""
    snapshot = scale.settings_snapshot()
    if "threads" in snapshot and snapshot["threads"] is None:
        snapshot["threads"] = 1
    return snapshot


def _metric_xy(geoms: gpd.GeoSeries, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Metric x, y of points as :meth:`Network.to_metric` computes them (NaN: none)."""
    values = geoms.to_numpy()
    ok = (shapely.get_type_id(values) == shapely.GeometryType.POINT) & ~shapely.is_empty(values)
    x = np.full(len(values), np.nan)
    y = np.full(len(values), np.nan)
    x[ok], y[ok] = shapely.get_x(values[ok]), shapely.get_y(values[ok])
    src = pyproj.CRS.from_user_input(geoms.crs)
    if not src.equals(pyproj.CRS.from_user_input(crs)):
        tr = pyproj.Transformer.from_crs(src, crs, always_xy=True)
        x, y = (np.asarray(a, dtype=np.float64) for a in tr.transform(x, y))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _gates(
    layers: Layers, crs: Any
) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """Per entrance the position of its block, and (block, x, y) of the gates."""
    ent = layers.entrances
    if ent is None or len(ent) == 0:
        return None, None
    ent, block = check_entrances(ent, layers.blocks.index, "blocks")
    gx, gy = _metric_xy(ent.geometry, crs)
    return block, (block, gx, gy)


@dataclass
class Part:
    """What one partition's task receives (:func:`assess_part`); built on the driver."""

    id: str
    network: Any
    source: NetworkSource | None
    area: Any
    crs: Any
    reach: float
    layers: Layers
    facility_pos: np.ndarray
    line: dict[str, np.ndarray]
    settings: dict[str, Any]
    first: bool


def _part_input(run: _Run, p: scale.Partition) -> Part:
    """A partition's rows of blocks, facilities and gates, and its network (cut)."""
    layers = run.layers
    fx, fy = run.fac_xy
    fac_pos = np.flatnonzero(shapely.intersects_xy(p.facility_area, fx, fy))
    blk = layers.blocks.iloc[p.blocks].set_axis(pd.Index(p.blocks), axis=0)
    ent = None
    if run.gate_block is not None and layers.entrances is not None:
        mine = np.isin(run.gate_block, p.blocks)
        ent = layers.entrances.iloc[np.flatnonzero(mine)].assign(block=run.gate_block[mine])
    network = None
    if run.source is None:
        net = run.network
        network = (
            {m: n.clip(p.network_area) for m, n in net.items()}
            if isinstance(net, Mapping)
            else net.clip(p.network_area)
        )
    part_layers = replace(
        layers,
        facilities=layers.facilities.iloc[fac_pos],
        blocks=blk,
        communities=None,
        entrances=ent,
        access=gpd.GeoDataFrame(geometry=origin_points(blk), index=blk.index),
    )
    return Part(
        id=p.id,
        network=network,
        source=run.source,
        area=p.network_area,
        crs=run.crs,
        reach=p.reach_m,
        layers=part_layers,
        facility_pos=fac_pos,
        line={cat: d[p.blocks] for cat, d in run.line.items()},
        settings=run.settings,
        first=p is run.parts[0],
    )


@dataclass
class PartResult:
    """What one partition's task returns: its blocks' columns (indexed by position in
    the whole), per mode their snapping and street pieces, its facilities' snapping,
    the warnings it raised, its time and its process's peak memory."""

    id: str
    columns: pd.DataFrame
    snapped: dict[EngineKey, np.ndarray]
    pieces: dict[EngineKey, Pieces]
    facility_pos: np.ndarray
    facility_ok: np.ndarray | None
    warnings: list[str]
    seconds: float
    peak_rss: int
    nodes: int


def assess_part(part: Part) -> PartResult:
    """The per-block steps of :func:`assess` on one partition (runs on a worker).

    Reads the partition's network (when it comes from a :class:`NetworkSource`), then
    facility rows, engine passes and the per-block table of its blocks, with the
    settings of the driver. Warnings are returned, not shown: the driver shows each
    once.
    """
    t0 = time.perf_counter()
    with scale.applied(part.settings), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        network = part.network
        if network is None and part.source is not None:
            network = part.source.load(part.area, part.crs)
        base, by_mode = _networks(network)
        if part.source is not None:
            _check_fastest(part, base)
        checked = Checked(base=base, by_mode=by_mode, **_fields(part.layers))
        if part.first and part.source is not None:
            _warn_gcj02(checked.facilities, base)
        rows = facility_rows(checked)
        passes = engine_passes(checked, rows, part=True)
        table = block_table(checked, passes.values, part.line)
    texts = [str(w.message) for w in seen if issubclass(w.category, PlannerWarning)]
    return PartResult(
        id=part.id,
        columns=pd.DataFrame(table.drop(columns=list(checked.blocks.columns))),
        snapped=passes.snapped,
        pieces=passes.pieces,
        facility_pos=part.facility_pos,
        facility_ok=passes.facility_ok,
        warnings=texts,
        seconds=time.perf_counter() - t0,
        peak_rss=scale.peak_rss_bytes(),
        nodes=base.n_nodes,
    )


def _check_fastest(part: Part, net: Network) -> None:
    """A network read per partition must be no faster than its buffer assumed."""
    for key, limit in part.layers.limits.items():
        if key.distance or key.speed_kph is not None or net.n_edges == 0:
            continue
        kph = scale.loaded_kph(net, key)
        if limit * kph / 3.6 > part.reach + 1e-9:
            msg = (
                f"streets in mode {key.mode} reach {kph:g} km/h here, faster than the "
                f"partition buffer assumed ({part.reach * 3.6 / limit:g} km/h); give "
                f"NetworkSource(..., fastest_kph={math.ceil(kph)})."
            )
            raise InputError(msg)


def _merged_table(layers: Layers, results: Sequence[PartResult]) -> gpd.GeoDataFrame:
    """The blocks with the columns the partitions computed, in the blocks' order."""
    blk = layers.blocks
    cols = pd.concat([r.columns for r in results if len(r.columns)]).sort_index()
    if len(cols) != len(blk) or not (cols.index.to_numpy() == np.arange(len(blk))).all():
        msg = "a partitioned run lost or repeated blocks; please report this as a bug."
        raise RuntimeError(msg)
    cols.index = blk.index
    out = pd.concat([blk, cols], axis=1)
    return gpd.GeoDataFrame(out, geometry=blk.geometry.name, crs=blk.crs)


def _merged_passes(layers: Layers, results: Sequence[PartResult], base: Network | None) -> Passes:
    """Snapping, components and links of the whole, from the partitions' pieces."""
    n = len(layers.blocks)
    out = Passes({}, {}, {}, {}, {})
    pairs = set(value_pairs(layers.circles, layers.key_of))
    for key in layers.limits:
        pos = [r.columns.index.to_numpy() for r in results]
        pieces = [r.pieces.get(key, Pieces.none()) for r in results]
        glob, out.components[key] = scale.merge_components([(p.nodes, p.labels) for p in pieces])
        out.snapped[key] = np.zeros(n, dtype=bool)
        for r, at in zip(results, pos, strict=True):
            if key in r.snapped:
                out.snapped[key][at] = r.snapped[key]
        for cat in (c for c in layers.needed if (c, key) in pairs):
            held = np.unique(
                np.concatenate(
                    [g[p.held[cat]] for g, p in zip(glob, pieces, strict=True) if cat in p.held]
                    or [np.zeros(0, dtype=np.int64)]
                )
            )
            linked = np.zeros(n, dtype=bool)
            for g, p, at in zip(glob, pieces, pos, strict=True):
                hit = np.isin(g[p.on], held)
                linked[at[p.owner[hit]]] = True
            out.linked[(cat, key)] = linked
    _warn_off_network(layers, results, out)
    return out


def _warn_off_network(layers: Layers, results: Sequence[PartResult], passes: Passes) -> None:
    """The single run's warning about points off the streets, counted on the whole."""
    key = next(iter(layers.limits))
    seen = np.zeros(len(layers.facilities), dtype=bool)
    ok = np.zeros(len(layers.facilities), dtype=bool)
    for r in results:
        if r.facility_ok is not None:
            seen[r.facility_pos] = True
            ok[r.facility_pos] |= r.facility_ok
    geo = layers.facilities.geometry
    seen |= (geo.isna() | geo.is_empty).to_numpy()  # no point: off the streets, as in one run
    mode = cast(Network, SimpleNamespace(mode=key.mode))  # the warning names the mode only
    warn_unsnapped(_as_snaps(ok[seen]), _as_snaps(passes.snapped[key]), 0, mode)


def _as_snaps(ok: np.ndarray) -> SnapResult:
    """Snapped or not, per point, as a SnapResult (one entry each)."""
    n = len(ok)
    nan = np.full(n, np.nan)
    return SnapResult(
        owner=np.arange(n, dtype=np.int64),
        street=np.where(ok, 0, -1).astype(np.int64),
        offset=nan,
        connector=np.where(ok, 0.0, np.inf),
        x=nan,
        y=nan,
        n_points=n,
    )


# --- the roll-ups in parts (an incremental what-if recomputes the circles that changed) ---


def circle_roll_ups(
    table: pd.DataFrame, circles: list[Circle], key_of: Mapping[str, EngineKey]
) -> dict[str, pd.DataFrame]:
    """The rows of some circles in ``summary`` (without the components columns),
    ``by_community``, ``by_street``, ``by_setting`` and ``coverage``, as :func:`roll_ups`
    computes them."""
    return {
        "summary": _summary(table, circles, key_of),
        "by_community": _rollup(table, circles, "community"),
        "by_street": _rollup(table, circles, "street"),
        "by_setting": _rollup(table, circles, "setting"),
        "coverage": coverage_table(table, circles, key_of),
    }


def confidence_table(checked: Checked, rows_of: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The ``confidence`` rows of the categories ``checked.circles`` need (see roll_ups)."""
    return _confidence(checked, rows_of)
