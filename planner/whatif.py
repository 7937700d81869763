"""What-if siting: add or remove facilities and get the assessment a full re-run would give.

``what_if(assessment, add=stations, remove=labels)`` returns a new :class:`Assessment`
equal to :func:`planner.assess` run again with the facilities changed (travel times to
1e-6 s, every other table exactly), computed from the changed points only:

- **adding** a station of category c: each block's time to c becomes the smaller of its
  old time and its time from the station; one bounded search (the engine's Dijkstra,
  as far as the way of travelling's longest threshold) from each new point per way of
  travelling, the trips along a street shared with the station, and the straight-line
  distance, exactly as the engine computes them;
- **removing** a facility: only the street nodes whose nearest facility of the
  category was removed are searched again, from the rim of that area (where the nodes
  keep their nearest facility) and from the remaining facilities; which facility is
  nearest to each node is found once per category, on the first removal in it;
- the per-circle columns are recomputed for the blocks whose times changed, and the
  roll-ups, coverage, confidence, components and targets for the circles and targets
  whose categories changed (targets that count facilities are judged again on the
  updated facilities; the others do not depend on them).

The first call on an assessment snaps its blocks once per way of travelling; the
result is kept while the assessment lives and carried over to the assessments
:func:`what_if` returns, so a sequence of edits pays it once.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from . import settings
from ._log import log
from ._snap import SnapResult
from ._validate import check_facilities, check_gdf
from .access import (
    CategoryJob,
    OriginLegs,
    category_times,
    facility_links,
    node_times,
    origin_legs,
    origin_points,
    origin_times_many,
    snap_layer,
    snap_origins,
)
from .assess import (
    ROLL_UP_SUMS,
    Checked,
    Passes,
    add_shares,
    circle_columns,
    circle_roll_ups,
    component_table,
    confidence_table,
    coverage_values,
    facility_rows,
    on_components_of,
    roll_ups,
    street_components,
)
from .assessment import (
    Assessment,
    EngineKey,
    check_assessment,
    line_column,
    value_column,
    value_pairs,
)
from .errors import InputError, MissingColumnError, closest, describe
from .network import Network
from .rules import Circle, Preset
from .targets import evaluate_targets

#: Target kinds that read no facilities (their results never change in a what-if).
FACILITY_FREE_TARGETS = frozenset(
    {"floor_area_per_households", "new_housing_floor_area", "community_table"}
)

Pair = tuple[str, EngineKey]


class OffNetworkError(InputError):
    """A station stands farther than ``settings.max_snap_m`` from every usable street."""

    def __init__(self, message: str, *, label: Hashable, lon: float, lat: float, mode: str):
        super().__init__(message)
        self.label, self.lon, self.lat, self.mode = label, lon, lat, mode


Searches = dict[tuple[float, float, EngineKey], np.ndarray]  # node times per new point


# --- the state kept per assessment -----------------------------------------------------


@dataclass
class _Way:
    """One way of travelling: its network, search limit, and what is snapped to it."""

    net: Network
    limit: float
    origins: SnapResult
    legs: OriginLegs
    labels: np.ndarray
    facilities: SnapResult  # every facility row of the current table, in order
    entry_owner: np.ndarray  # the snapped entries of the blocks: whose, and the
    entry_piece: np.ndarray  # street component each lies on


@dataclass
class _Nodes:
    """Per street node: time to the nearest facility of a category, and which one (uid)."""

    dist: np.ndarray
    src: np.ndarray


@dataclass
class _State:
    """What a what-if needs beyond the assessment's tables (never modified once made)."""

    checked: Checked
    given: gpd.GeoDataFrame  # the facilities as given to assess (inputs["facilities"])
    codes: np.ndarray  # their categories (objects)
    ways: dict[EngineKey, _Way]
    uid: np.ndarray  # a stable id per facility row
    next_uid: int
    fx: np.ndarray
    fy: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    rows_of: dict[str, np.ndarray]
    linked: dict[Pair, np.ndarray]
    snapped: dict[EngineKey, np.ndarray]
    components: dict[EngineKey, int]
    nodes: dict[Pair, _Nodes]
    added: int = 0  # stations labelled added_<n> so far
    # per (roll-up table, circle): its rows there and each block's row among them; a
    # cache shared by the states of one assessment (the blocks' groups never change)
    groups: dict[tuple[str, str], tuple[pd.Index, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )


#: State per assessment (id -> (weak reference, state)), dropped when the assessment goes.
_STATES: dict[int, tuple[weakref.ref[Assessment], _State]] = {}


def _remember(a: Assessment, st: _State) -> None:
    _STATES[id(a)] = (weakref.ref(a), st)
    weakref.finalize(a, _STATES.pop, id(a), None)


def _state_of(a: Assessment) -> _State:
    known = _STATES.get(id(a))
    if known is not None and known[0]() is a:
        return known[1]
    st = _initial_state(a)
    _remember(a, st)
    return st


def _networks_given(network: Any) -> tuple[Network, dict[str, Network]]:
    if isinstance(network, Mapping):
        by_mode = {str(m): n for m, n in network.items()}
        return next(iter(by_mode.values())), by_mode
    return network, {network.mode: network}


def _checked_from(a: Assessment) -> Checked:
    """The checked inputs of an assessment, from what it records (no check runs again)."""
    inp = a.inputs
    if inp.get("facilities") is None or not inp.get("key_of") or not a.networks:
        msg = (
            "what_if needs an assessment made by planner.assess (it records the inputs a "
            "re-run needs); this one has none."
        )
        raise InputError(msg)
    base, by_mode = _networks_given(inp["network"])
    return Checked(
        base=base,
        by_mode=by_mode,
        preset=a.preset,
        circles=list(a.circles),
        key_of=dict(inp["key_of"]),
        facilities=a.facilities,
        category=inp["category"],
        blocks=a.blocks,
        communities=a.communities,
        entrances=inp["entrances"],
        access=gpd.GeoDataFrame(geometry=origin_points(a.blocks), index=a.blocks.index),
        reference_year=inp["reference_year"],
    )


def _initial_state(a: Assessment) -> _State:
    """Snap the blocks and facilities once per way of travelling of the assessment."""
    checked = _checked_from(a)
    rows_of = facility_rows(checked)
    ways: dict[EngineKey, _Way] = {}
    components: dict[EngineKey, int] = {}
    limits = checked.limits
    for key, net in a.networks.items():
        mg = net.graph
        origins = snap_origins(net, checked.access, checked.entrances).snap
        labels, components[key] = street_components(mg)
        e = origins.entries()
        ways[key] = _Way(
            net,
            limits[key],
            origins,
            origin_legs(mg, origins),
            labels,
            snap_layer(net, a.facilities.geometry).snap,
            origins.owner[e],
            labels[mg.su[origins.street[e]]],
        )
    linked = {}
    for cat, key in value_pairs(checked.circles, checked.key_of):
        w = ways[key]
        sub = _category_snap(w.facilities, rows_of[cat])
        linked[(cat, key)] = on_components_of(w.net.graph, w.labels, w.origins, sub)
    bx, by = checked.base.to_metric(checked.access.geometry)
    fx, fy = checked.base.to_metric(a.facilities.geometry)
    return _State(
        checked=checked,
        given=a.inputs["facilities"],
        codes=a.inputs["facilities"][checked.category].astype(object).to_numpy(),
        ways=ways,
        uid=np.arange(len(a.facilities), dtype=np.int64),
        next_uid=len(a.facilities),
        fx=fx,
        fy=fy,
        bx=bx,
        by=by,
        rows_of=rows_of,
        linked=linked,
        snapped={key: w.origins.ok for key, w in ways.items()},
        components=components,
        nodes={},
    )


def _category_snap(snap: SnapResult, pos: np.ndarray) -> SnapResult:
    """The snapped rows among ``pos`` (as the engine passes take them)."""
    return snap.take(pos[snap.ok[pos]]) if len(pos) else snap.take(pos)


def _snapped_rows(snap: SnapResult, pos: np.ndarray) -> np.ndarray:
    return pos[snap.ok[pos]] if len(pos) else pos


def _concat_snaps(first: SnapResult, second: SnapResult) -> SnapResult:
    """The entries of two snap results, the second's points numbered after the first's."""
    return SnapResult(
        owner=np.concatenate([first.owner, second.owner + first.n_points]),
        street=np.concatenate([first.street, second.street]),
        offset=np.concatenate([first.offset, second.offset]),
        connector=np.concatenate([first.connector, second.connector]),
        x=np.concatenate([first.x, second.x]),
        y=np.concatenate([first.y, second.y]),
        n_points=first.n_points + second.n_points,
    )


# --- the public calls --------------------------------------------------------------------


def new_stations(
    points: Any,
    services: Sequence[str] | Sequence[Sequence[str]],
    *,
    crs: Any = "EPSG:4326",
    names: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    category: str = "category",
) -> gpd.GeoDataFrame:
    """Stations as :func:`what_if` takes them: one row per station and service it bundles.

    Parameters
    ----------
    points
        Where the stations stand: (x, y) pairs in ``crs``, shapely Points, or a
        GeoSeries (its own CRS is used).
    services
        The category ids each station provides: one list per station, or one list for
        every station.
    crs
        The CRS of (x, y) pairs (default WGS-84 longitude/latitude).
    names
        A name per station (default "new station S1", ...).
    labels
        A label per station (default "S1", "S2", ...); a row's index label is
        ``"<label>:<category>"``.
    category
        The category column (the facilities' one).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category`` (or the given name), ``station``, ``name`` and the points.
    """
    if isinstance(points, gpd.GeoSeries):
        geoms = list(points.to_numpy())
        crs = points.crs
    else:
        geoms = [p if isinstance(p, shapely.Geometry) else shapely.Point(p) for p in points]
    n = len(geoms)
    per = _services_per_station(services, n)
    labels = [f"S{i + 1}" for i in range(n)] if labels is None else [str(s) for s in labels]
    names = [f"new station {s}" for s in labels] if names is None else [str(s) for s in names]
    if len(labels) != n or len(names) != n:
        msg = f"new_stations: {n} points but {len(labels)} labels and {len(names)} names."
        raise InputError(msg)
    rows = [(i, cat) for i in range(n) for cat in per[i]]
    return gpd.GeoDataFrame(
        {
            category: [cat for _, cat in rows],
            "station": [labels[i] for i, _ in rows],
            "name": [names[i] for i, _ in rows],
        },
        geometry=[geoms[i] for i, _ in rows],
        crs=crs,
        index=pd.Index([f"{labels[i]}:{cat}" for i, cat in rows]),
    )


def _services_per_station(services: Any, n: int) -> list[list[str]]:
    if isinstance(services, str):
        services = [services]
    items = list(services)
    if items and all(isinstance(s, str) for s in items):
        return [list(items)] * n
    if len(items) != n:
        msg = f"new_stations: {n} points but {len(items)} lists of services; give one per point."
        raise InputError(msg)
    return [[s] if isinstance(s, str) else [str(c) for c in s] for s in items]


def what_if(
    assessment: Assessment,
    *,
    add: gpd.GeoDataFrame | None = None,
    remove: Iterable[Hashable] | Hashable | None = None,
) -> Assessment:
    """The assessment with facilities added and removed, without re-running it whole.

    Parameters
    ----------
    assessment
        The result of :func:`planner.assess` (or of an earlier :func:`what_if`).
    add
        New stations: points shaped like the facilities layer, one row per station and
        service it bundles, with the facilities' category column
        (:func:`new_stations` builds them). Rows keep their index labels when these
        are new; otherwise they are labelled ``added_1``, ``added_2``, ... Every row
        must reach a street of each way of travelling its category is assessed in.
    remove
        Index labels of facilities to remove (of the facilities given to
        :func:`planner.assess`, or of stations added before).

    Returns
    -------
    Assessment
        Equal to ``planner.assess`` run with the facilities changed (``inputs`` records
        that layer, so :func:`planner.site` and the outputs read it as usual).

    Raises
    ------
    planner.errors.InputError
        A label that is no facility, a station without a category, with a category no
        rule knows, off the streets, or not a point.
    """
    a = check_assessment(assessment)
    st = _state_of(a)
    gone = _removed_positions(st, remove)
    new = _stations(st, add)
    if not len(gone) and new is None:
        out = replace(a)
        _remember(out, st)
        return out
    out, st_new = _apply(a, st, gone, new)
    _remember(out, st_new)
    return out


def _removed_positions(st: _State, remove: Any) -> np.ndarray:
    """Positions (in the current facilities) of the rows whose labels are given."""
    if remove is None:
        return np.zeros(0, dtype=np.int64)
    labels = [remove] if isinstance(remove, str | int | np.integer) else list(remove)
    index = st.given.index
    unknown = [x for x in labels if x not in index]
    if unknown:
        shown = [str(x) for x in index[:2000]]
        msg = (
            f"remove: {describe(unknown)} {'is' if len(unknown) == 1 else 'are'} not a "
            f"facility of this assessment (facility index labels, e.g. "
            f"{describe(list(index[:3]))}; {len(index):,} facilities)."
            + closest(str(unknown[0]), shown)
        )
        raise InputError(msg)
    return np.flatnonzero(index.isin(labels)).astype(np.int64)


def _stations(st: _State, add: Any) -> gpd.GeoDataFrame | None:
    """The stations checked: points, a known category each, labels, the facilities' CRS."""
    if add is None:
        return None
    gdf = check_gdf(add, "add")
    if len(gdf) == 0:
        return None
    col = st.checked.category
    if col not in gdf.columns:
        msg = (
            f"add: the stations need the facilities' category column {col!r} (one row per "
            f"station and service it bundles); columns present: {list(gdf.columns)}. "
            "planner.new_stations builds them."
        )
        raise MissingColumnError(msg)
    _check_points(gdf)
    _check_categories(st, gdf[col])
    given = st.given
    out = gdf.copy() if gdf.crs == given.crs else gdf.to_crs(given.crs)
    if out.geometry.name != given.geometry.name:
        out = out.rename_geometry(given.geometry.name)
    labels = out.index
    if labels.has_duplicates or any(label in given.index for label in labels):
        out.index = pd.Index([f"added_{st.added + i + 1}" for i in range(len(out))], dtype=object)
        st.added += len(out)  # a counter: labels are never given twice
    return out


def _check_points(gdf: gpd.GeoDataFrame) -> None:
    values = gdf.geometry.to_numpy()
    ok = (shapely.get_type_id(values) == shapely.GeometryType.POINT) & ~shapely.is_empty(values)
    if not ok.all():
        first = gdf.index[np.flatnonzero(~ok)[0]]
        msg = (
            f"add: stations must be points; {int((~ok).sum())} rows are not (first at "
            f"index {first!r}). Give each station's location as a point."
        )
        raise InputError(msg)


def _check_categories(st: _State, cats: pd.Series) -> None:
    table = st.checked.preset.table
    col = st.checked.category
    if cats.isna().any():
        first = cats.index[np.flatnonzero(cats.isna().to_numpy())[0]]
        msg = (
            f"add: {int(cats.isna().sum())} station rows have no {col!r} (first at index "
            f"{first!r}); each row is one service the station provides: tick at least one."
        )
        raise InputError(msg)
    own = [c for c in dict.fromkeys(cats.astype(str)) if c not in table.categories]
    held = set(pd.unique(st.given[col].dropna().astype(str))) if own else set()
    for cat in own:
        if cat in held:
            continue
        if cat in table.groups:
            members = ", ".join(table.groups[cat].members)
            msg = (
                f"add: {cat!r} is a group of categories ({members}); give the category a "
                "station provides, one of its members."
            )
            raise InputError(msg)
        msg = (
            f"add: unknown category {cat!r}: no category table declares it and no facility "
            f"holds it.{closest(cat, [*table.categories, *held])}"
        )
        raise InputError(msg)


# --- one edit ----------------------------------------------------------------------------


@dataclass
class _Edit:
    """An edit resolved against the current state."""

    st: _State  # the state after the edit (tables of the assessment not yet made)
    kept: np.ndarray  # positions of the old rows that stay
    gone_uid: dict[str, np.ndarray]  # needed key -> uids of its removed facilities
    new_rows: dict[str, np.ndarray]  # needed key -> positions (in the new table) of new rows
    touched: list[str]  # needed keys whose facilities changed
    changed: set[str]  # raw category values removed or added


def _apply(
    a: Assessment, st: _State, gone: np.ndarray, new: gpd.GeoDataFrame | None
) -> tuple[Assessment, _State]:
    edit = _edit(st, gone, new)
    values = _new_values(a, st, edit)
    table, redo = _table_after(a.blocks, values, a.circles, edit.st.checked.key_of)
    return _assessment_after(a, st, edit, table, redo), edit.st


def _edit(st: _State, gone: np.ndarray, new: gpd.GeoDataFrame | None) -> _Edit:
    col = st.checked.category
    keep = np.ones(len(st.given), dtype=bool)
    keep[gone] = False
    kept = np.flatnonzero(keep)
    parts = [st.given.iloc[kept] if len(gone) else st.given] + ([new] if new is not None else [])
    given = pd.concat(parts)
    if not (
        isinstance(given, gpd.GeoDataFrame)
        and given.geometry.name == st.given.geometry.name
        and given.crs == st.given.crs
    ):
        given = gpd.GeoDataFrame(given, geometry=st.given.geometry.name, crs=st.given.crs)
    fac = check_facilities(given, col)
    n_new = 0 if new is None else len(new)
    checked = replace(st.checked, facilities=fac)
    table = checked.preset.table
    added = new[col].astype(object).to_numpy() if new is not None else st.codes[:0]
    codes = np.concatenate([st.codes[kept], added])
    removed = st.codes[gone]
    changed = {str(c) for c in removed if c is not None and not pd.isna(c)}
    changed |= {str(c) for c in added}
    touched = [k for k in checked.needed if changed & set(table.members(k))]
    new_pos = np.arange(len(kept), len(kept) + n_new)
    rows_of = _rows_after(st, kept, codes, new_pos)
    new_rows = {k: new_pos[np.isin(codes[new_pos], table.members(k))] for k in touched}
    gone_uid = {k: st.uid[gone[np.isin(removed, table.members(k))]] for k in touched}
    ways = _ways_after(st, kept, given.iloc[len(kept) :], new_rows)
    bx, by = st.bx, st.by
    fx, fy = (
        st.checked.base.to_metric(given.geometry.iloc[len(kept) :])
        if n_new
        else (st.fx[:0], st.fy[:0])
    )
    after = replace(
        st,
        checked=checked,
        given=given,
        codes=codes,
        ways=ways,
        uid=np.concatenate([st.uid[kept], np.arange(st.next_uid, st.next_uid + n_new)]),
        next_uid=st.next_uid + n_new,
        fx=np.concatenate([st.fx[kept], fx]),
        fy=np.concatenate([st.fy[kept], fy]),
        bx=bx,
        by=by,
        rows_of=rows_of,
        linked=dict(st.linked),
        nodes=dict(st.nodes),
    )
    return _Edit(after, kept, gone_uid, new_rows, touched, changed)


def _rows_after(
    st: _State, kept: np.ndarray, codes: np.ndarray, new_pos: np.ndarray
) -> dict[str, np.ndarray]:
    """Each needed category's facility rows in the new table (as facility_rows finds them)."""
    moved = np.full(len(st.codes), -1, dtype=np.int64)
    moved[kept] = np.arange(len(kept))
    table = st.checked.preset.table
    out = {}
    for k, rows in st.rows_of.items():
        old = moved[rows]
        new = new_pos[np.isin(codes[new_pos], list(table.members(k)))] if len(new_pos) else new_pos
        out[k] = np.concatenate([old[old >= 0], new]).astype(np.int64)
    return out


def _ways_after(
    st: _State, kept: np.ndarray, new: gpd.GeoDataFrame, new_rows: Mapping[str, np.ndarray]
) -> dict[EngineKey, _Way]:
    """Each way's facility snaps for the new table; stations must reach its streets."""
    out = {}
    pairs = value_pairs(st.checked.circles, st.checked.key_of)
    for key, w in st.ways.items():
        snap = snap_layer(w.net, new.geometry).snap if len(new) else w.facilities.take(kept[:0])
        used = [k for k, kk in pairs if kk == key and k in new_rows]
        _check_reach(w.net, snap, new, new_rows, used, len(kept))
        kept_snap = w.facilities if len(kept) == w.facilities.n_points else w.facilities.take(kept)
        out[key] = replace(w, facilities=_concat_snaps(kept_snap, snap))
    return out


def _check_reach(
    net: Network,
    snap: SnapResult,
    new: gpd.GeoDataFrame,
    new_rows: Mapping[str, np.ndarray],
    used: list[str],
    offset: int,
) -> None:
    if not used:
        return
    rows = np.unique(np.concatenate([new_rows[k] for k in used])) - offset
    off = [int(r) for r in rows if not snap.ok[r]]
    if not off:
        return
    where = new.geometry.iloc[off[:1]].to_crs(4326).iloc[0]
    msg = (
        f"add: station {new.index[off[0]]!r} at ({where.x:.6f}, {where.y:.6f}) is farther than "
        f"{settings.max_snap_m:g} m (settings.max_snap_m) from every street usable in mode "
        f"{net.mode!r}: nobody could reach it. Place it nearer a street of the network"
        + (f" ({len(off)} station rows are off the streets)." if len(off) > 1 else ".")
    )
    raise OffNetworkError(msg, label=new.index[off[0]], lon=where.x, lat=where.y, mode=net.mode)


# --- new times ---------------------------------------------------------------------------


def _new_values(a: Assessment, st: _State, edit: _Edit) -> dict[str, np.ndarray]:
    """The value and straight-line columns that the edit can change, recomputed."""
    after = edit.st
    out: dict[str, np.ndarray] = {}
    searches: Searches = {}
    for cat, key in value_pairs(after.checked.circles, after.checked.key_of):
        if cat not in edit.touched:
            continue
        col = value_column(cat, key)
        old = a.blocks[col].to_numpy(dtype=float)
        out[col] = _pair_times(after, edit, cat, key, old, searches)
        after.linked[(cat, key)] = _linked(after, edit, cat, key)
    for cat in edit.touched:
        col = line_column(cat)
        out[col] = _line_after(after, edit, cat, a.blocks[col].to_numpy(dtype=float))
    return out


def _linked(after: _State, edit: _Edit, cat: str, key: EngineKey) -> np.ndarray:
    """Per block: does a street piece it lies on hold a facility of ``cat``?"""
    w = after.ways[key]
    mg = w.net.graph
    if len(edit.gone_uid[cat]):
        sub = _category_snap(w.facilities, after.rows_of[cat])
        return on_components_of(mg, w.labels, w.origins, sub)
    new = w.facilities.take(edit.new_rows[cat])
    pieces = w.labels[mg.su[new.street[new.entries()]]]
    out = after.linked[(cat, key)].copy()
    out[w.entry_owner[np.isin(w.entry_piece, pieces)]] = True
    return out


def _search(
    after: _State,
    key: EngineKey,
    row: int,
    searches: Searches,
) -> np.ndarray:
    """Node times to the new facility at ``row`` (one bounded search, kept for reuse)."""
    point = (float(after.fx[row]), float(after.fy[row]), key)  # one search per point
    found = searches.get(point)
    if found is None:
        w = after.ways[key]
        found = node_times(w.net.graph, w.facilities.take(np.array([row])), w.limit)[0]
        searches[point] = found
    return found


def _pair_times(
    after: _State,
    edit: _Edit,
    cat: str,
    key: EngineKey,
    old: np.ndarray,
    searches: Searches,
) -> np.ndarray:
    """Seconds (metres) from each block to the nearest facility of ``cat`` after the edit."""
    w = after.ways[key]
    mg = w.net.graph
    new_rows = _snapped_rows(w.facilities, edit.new_rows[cat])
    nodes = after.nodes.get((cat, key))
    removal = len(edit.gone_uid[cat]) > 0
    if nodes is None and not removal:  # additions only: the smaller of old and new
        if not len(new_rows):
            return old
        # one engine pass from the new points alone: node times never leave the kernel
        job = CategoryJob(mg, w.legs, w.facilities.take(new_rows), w.limit)
        return np.minimum(old, category_times([job])[0][0])
    pos = _snapped_rows(w.facilities, after.rows_of[cat])
    sub = w.facilities.take(pos)
    if nodes is None:  # the first removal in this category: one pass, noting the sources
        dist, src = node_times(mg, sub, w.limit, with_source=True)
        assert src is not None
        uid = after.uid[pos]
        nodes = _Nodes(dist, np.where(src >= 0, uid[np.maximum(src, 0)] if len(uid) else -1, -1))
    else:
        if removal:
            nodes = _without(w, nodes, edit.gone_uid[cat], sub, after.uid[pos])
        for r in new_rows:
            nodes = _with(nodes, _search(after, key, int(r), searches), int(after.uid[r]))
    after.nodes[(cat, key)] = nodes
    return _read(w, nodes.dist, sub)


def _read(w: _Way, dist: np.ndarray, sub: SnapResult) -> np.ndarray:
    """Block times from node times and the same-street trips to ``sub`` (engine's way)."""
    best, _ = origin_times_many(w.net.graph, [dist], None, w.legs, [sub], w.limit)
    return best[:, 0]


def _with(nodes: _Nodes, dist: np.ndarray, uid: int) -> _Nodes:
    better = dist < nodes.dist
    if not better.any():
        return nodes
    return _Nodes(np.where(better, dist, nodes.dist), np.where(better, uid, nodes.src))


def _without(
    w: _Way, nodes: _Nodes, gone: np.ndarray, sub: SnapResult, sub_uid: np.ndarray
) -> _Nodes:
    """Node times once the facilities ``gone`` are removed: the nodes they served only.

    A node served by a removed facility is reached, after the removal, along a path
    whose last node outside that area keeps its time: the search starts from those rim
    nodes (with their times) and from the remaining facilities' links into the area,
    on the area's streets alone.
    """
    mg = w.net.graph
    area = np.isin(nodes.src, gone)
    if not area.any():
        return nodes
    r = np.flatnonzero(area)
    local = np.full(len(area), -1, dtype=np.int64)
    local[r] = np.arange(len(r))
    # rim: trips x -> b (CSR row x) with x in the area and b outside it, reached
    starts, ends = mg.csr.indptr[r], mg.csr.indptr[r + 1]
    counts = (ends - starts).astype(np.int64)
    x = np.repeat(r, counts)
    at = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    at += np.repeat(starts.astype(np.int64), counts)
    b = mg.csr.indices[at]
    keep = ~area[b] & np.isfinite(nodes.dist[b])
    seed_node = x[keep]
    seed_w = nodes.dist[b[keep]] + mg.csr.data[at[keep]]
    seed_src = nodes.src[b[keep]]
    fpos, fnode, fw = facility_links(mg, sub)
    inside = area[fnode]
    seed_node = np.concatenate([seed_node, fnode[inside]])
    seed_w = np.concatenate([seed_w, fw[inside]])
    seed_src = np.concatenate([seed_src, sub_uid[fpos[inside]]])
    dist, src = _area_search(mg.csr_t, r, local, seed_node, seed_w, seed_src, w.limit)
    out = _Nodes(nodes.dist.copy(), nodes.src.copy())
    out.dist[r] = dist
    out.src[r] = src
    return out


def _area_search(
    csr_t: sp.csr_matrix,
    r: np.ndarray,
    local: np.ndarray,
    seed_node: np.ndarray,
    seed_w: np.ndarray,
    seed_src: np.ndarray,
    limit: float,
) -> tuple[np.ndarray, np.ndarray]:
    """A multi-source search on the nodes ``r`` alone, each source a facility (uid)."""
    m = len(r)
    if len(seed_src) == 0:
        return np.full(m, np.inf), np.full(m, -1, dtype=np.int64)
    labels, row = np.unique(seed_src, return_inverse=True)
    # one link per (source, node): the shortest (a sparse matrix would add duplicates)
    order = np.lexsort((seed_w, local[seed_node], row))
    first = np.r_[True, (np.diff(row[order]) != 0) | (np.diff(local[seed_node][order]) != 0)]
    pick = order[first]
    area = csr_t[r][:, r].tocoo()
    k = len(labels)
    graph = sp.csr_matrix(
        (
            np.concatenate([area.data, seed_w[pick]]),
            (
                np.concatenate([area.row, m + row[pick]]),
                np.concatenate([area.col, local[seed_node[pick]]]),
            ),
        ),
        shape=(m + k, m + k),
    )
    dist, _, src = dijkstra(
        graph,
        directed=True,
        indices=np.arange(m, m + k),
        limit=limit,
        min_only=True,
        return_predecessors=True,
    )
    found = (src >= m) & np.isfinite(dist)
    out_src = np.where(found, labels[np.clip(src - m, 0, k - 1)], -1)
    return np.where(found, dist, np.inf)[:m], out_src[:m].astype(np.int64)


def _line_after(after: _State, edit: _Edit, cat: str, old: np.ndarray) -> np.ndarray:
    """Straight-line metres to the nearest facility of ``cat`` after the edit."""
    placed = np.isfinite(after.bx) & np.isfinite(after.by)
    if len(edit.gone_uid[cat]):  # a removal: the category's distances found again
        pos = after.rows_of[cat]
        ok = pos[np.isfinite(after.fx[pos]) & np.isfinite(after.fy[pos])]
        if len(ok) == 0:
            return np.full(len(old), np.inf)
        tree = cKDTree(np.column_stack([after.fx[ok], after.fy[ok]]))
        d, _ = tree.query(np.column_stack([after.bx, after.by]), k=1, workers=-1)
        return np.where(placed, d, np.inf)
    out = old
    for row in edit.new_rows[cat]:
        dx = after.bx - after.fx[row]
        dy = after.by - after.fy[row]
        d = np.sqrt(dx * dx + dy * dy)
        out = np.minimum(out, np.where(placed & np.isfinite(d), d, np.inf))
    return out


# --- the tables --------------------------------------------------------------------------


def _table_after(
    old: gpd.GeoDataFrame,
    values: Mapping[str, np.ndarray],
    circles: Sequence[Circle],
    key_of: Mapping[str, EngineKey],
) -> tuple[gpd.GeoDataFrame, dict[str, bool]]:
    """The blocks table with the new values and the circle columns of the changed rows.

    Also returns, per circle whose blocks changed, whether its roll-ups can have
    changed: a block's inside flags, or whether it reaches one of the categories.
    """
    table = old.copy(deep=False)
    diff: dict[str, np.ndarray] = {}
    for col, v in values.items():
        prev = old[col].to_numpy(dtype=float)
        changed = ~((prev == v) | (np.isnan(prev) & np.isnan(v)))
        if changed.any():
            table[col] = v
            diff[col] = changed
    setting = old["setting"].to_numpy(dtype=object)
    redo: dict[str, bool] = {}
    for c in circles:
        timed = [value_column(cat, key_of[c.id]) for cat in c.categories]
        cols = timed + [line_column(cat) for cat in c.categories]
        masks = [diff[col] for col in cols if col in diff]
        if not masks:
            continue
        rows = np.flatnonzero(np.logical_or.reduce(masks))
        times = pd.DataFrame({col: table[col].to_numpy()[rows] for col in cols})
        part = circle_columns(times, setting[rows], [c], key_of).set_axis(old.index[rows])
        flags = False
        for name in part.columns:
            before = old[name].iloc[rows]
            flags |= name in (c.id, f"{c.id}__radius") and not before.equals(part[name])
            table[name] = _set_rows(table[name], rows, part[name])
        reach = any(
            ((old[col].to_numpy()[rows] <= c.threshold) != (v[rows] <= c.threshold)).any()
            for col, v in ((col, table[col].to_numpy()) for col in timed if col in diff)
        )
        redo[c.id] = flags or reach
    return table, redo


def _set_rows(column: pd.Series, rows: np.ndarray, values: pd.Series) -> Any:
    """The column's values with those at ``rows`` replaced (same dtype)."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype):
        out = column.to_numpy(copy=True)
        if dtype.kind == "O":
            out[rows] = values.to_numpy(dtype=object)
            return out
        try:
            out[rows] = np.asarray(values.astype(dtype))
        except (TypeError, ValueError):
            raise _MismatchError from None
        return out
    arr = column.array.copy()
    try:
        arr[rows] = pd.array(values.to_numpy(dtype=object), dtype=dtype)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise _MismatchError from None
    return arr


ROLLED = ("summary", "by_community", "by_street", "by_setting", "coverage", "confidence")


def _assessment_after(
    a: Assessment, st: _State, edit: _Edit, table: gpd.GeoDataFrame, redo: Mapping[str, bool]
) -> Assessment:
    after = edit.st
    checked = after.checked
    components = a.components
    if _relinked(st, after):  # a station on streets that had no facility of its kind
        passes = Passes(
            values={},
            networks=a.networks,
            linked=after.linked,
            snapped=after.snapped,
            components=after.components,
        )
        components = component_table(table, checked, passes)
    try:
        tables = _rolled_after(a, edit, table, redo, components)
    except _MismatchError:  # pragma: no cover - a table whose rows changed: all of it again
        sub = replace(checked, preset=replace(checked.preset, targets={}))
        full = roll_ups(table, sub, after.rows_of, components)
        tables = {name: full[name] for name in ROLLED}
    targets, per_unit = _targets_after(a, checked, table, edit.changed)
    log(
        f"what_if: {len(edit.kept):,} facilities kept, "
        f"{len(checked.facilities) - len(edit.kept)} added; {len(edit.touched)} categories "
        f"changed; roll-ups of {sum(redo.values())} circles recomputed"
    )
    return Assessment(
        blocks=table,
        **tables,
        targets=targets,
        targets_by_unit=per_unit,
        circles=a.circles,
        preset=a.preset,
        facilities=checked.facilities,
        communities=a.communities,
        networks=a.networks,
        components=components,
        params=a.params,
        inputs=replace(a.inputs, facilities=after.given),
    )


def _rolled_after(
    a: Assessment,
    edit: _Edit,
    table: gpd.GeoDataFrame,
    redo: Mapping[str, bool],
    components: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """summary, by_*, coverage and confidence: the rows of the circles that changed."""
    checked = edit.st.checked
    tables = {name: getattr(a, name) for name in ROLLED}
    again = [c for c in checked.circles if redo.get(c.id)]
    quick = _quick_roll_ups(edit.st, tables, table, again) if again else None
    coverage = (
        _quick_coverage(tables["coverage"], table, again, checked.key_of, edit.touched)
        if quick is not None
        else None
    )
    if quick is not None and coverage is not None:
        tables.update(quick, coverage=coverage)
    elif again:
        parts = circle_roll_ups(table, again, checked.key_of)
        parts["summary"] = parts["summary"].join(components[["components", "population_cut_off"]])
        tables.update({name: _splice(tables[name], part) for name, part in parts.items()})
    cut = ["components", "population_cut_off"]
    summary = tables["summary"]
    if components is not a.components and not components[cut].reindex(summary.index).equals(
        summary[cut]
    ):
        summary = summary.copy()
        for col in cut:
            summary[col] = components[col].reindex(summary.index).to_numpy()
        tables["summary"] = summary
    using = [c for c in checked.circles if set(edit.touched) & set(c.categories)]
    if using:
        conf = confidence_table(replace(checked, circles=using), edit.st.rows_of)
        tables["confidence"] = _confidence_after(tables["confidence"], conf)
    return tables


def _confidence_after(old: pd.DataFrame, conf: pd.DataFrame) -> pd.DataFrame:
    """``old`` with the rows of ``conf``: numbers written in place where the text
    columns (names, sources, flags) stay as they were, else spliced."""
    pos = old.index.get_indexer(conf.index)
    if (pos < 0).any() or list(conf.columns) != list(old.columns):
        return _splice(old, conf)
    fresh = {}
    for col in conf.columns:
        if isinstance(old[col].dtype, np.dtype):
            fresh[col] = conf[col].to_numpy()
        elif not old[col].iloc[pos].reset_index(drop=True).equals(conf[col].reset_index(drop=True)):
            return _splice(old, conf)
    out = _write_rows(old, pos, fresh)
    return out if out is not None else _splice(old, conf)


def _relinked(before: _State, after: _State) -> bool:
    """Did the edit change, for some category and way, which blocks lie on streets that
    hold a facility of it (and so the components table)?"""
    for k, v in after.linked.items():
        old = before.linked.get(k)
        if old is None or (v is not old and not np.array_equal(v, old)):
            return True
    return False


# --- roll-ups of whole-number counts ------------------------------------------------------

ROLL_UP_BY = ("community", "street", "setting")


def _quick_roll_ups(
    st: _State, tables: Mapping[str, pd.DataFrame], table: pd.DataFrame, again: list[Circle]
) -> dict[str, pd.DataFrame] | None:
    """``summary`` and ``by_*`` with the rows of the circles ``again`` summed again, as
    :func:`circle_roll_ups` and :func:`_splice` give them, but with numpy sums over the
    groups the old tables hold (found once per assessment, see ``_State.groups``).

    Only where population and households are whole numbers with no gaps (as census and
    building tables give them): their sums are then exact whatever the order of
    addition, so equal to pandas' group sums to the last bit. None otherwise, or where
    a table does not have the expected shape: the caller takes the general path.
    """
    counts = _whole_counts(table)
    if counts is None:
        return None
    flags = {c.id: _flags(table, c.id) for c in again}
    if not all(flags[c.id][0].any() for c in again):
        return None  # a circle that applies to no block: pandas' empty sums
    out: dict[str, pd.DataFrame] = {}
    for name in ("summary", *(f"by_{by}" for by in ROLL_UP_BY)):
        old = tables[name]
        if len(old) == 0:
            continue
        rows, parts = [], []
        for c in again:
            found = _group_rows(st, name, old, table, c.id)
            if found is None:
                return None
            pos, codes = found
            if len(pos) == 0:
                continue
            rows.append(pos)
            parts.append(_group_sums(codes, len(pos), flags[c.id], counts))
        if rows:
            merged = {col: np.concatenate([part[col] for part in parts]) for col in parts[0]}
            new = _write_rows(old, np.concatenate(rows), merged)
            if new is None:
                return None
            out[name] = new
    return out


def _quick_coverage(
    old: pd.DataFrame,
    table: pd.DataFrame,
    again: list[Circle],
    key_of: Mapping[str, EngineKey],
    touched: Sequence[str],
) -> pd.DataFrame | None:
    """``coverage`` with the rows of the circles ``again`` and the categories
    ``touched`` computed again (the others' times did not change), in place of
    :func:`coverage_table` and :func:`_splice` (the same sums; None: rows missing)."""
    keys, reaching, shares = [], [], []
    for c in again:  # not empty: the caller computes nothing when no circle changed
        cats = [cat for cat in c.categories if cat in touched]
        if not cats:
            continue
        total, inside = coverage_values(table, c, key_of, cats)
        keys += [(c.id, cat) for cat in cats]
        reaching += inside
        shares += [x / total if total > 0 else np.nan for x in inside]
    if not keys:
        return old
    pos = old.index.get_indexer(pd.MultiIndex.from_tuples(keys))
    if (pos < 0).any():
        return None
    fresh = {"population_reaching": np.array(reaching), "population_share": np.array(shares)}
    return _write_rows(old, pos, fresh)


def _whole_counts(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(population, households or None when absent or empty) if all are whole numbers."""
    pop = table["population"].to_numpy(dtype=float)
    hh = table["households"].to_numpy(dtype=float) if "households" in table.columns else None
    if hh is not None and np.isnan(hh).all():
        hh = None
    for v in (pop,) if hh is None else (pop, hh):
        if not (np.isfinite(v).all() and (v == np.round(v)).all() and np.abs(v).sum() < 2**53):
            return None
    return pop, hh


def _group_rows(
    st: _State, name: str, old: pd.DataFrame, table: pd.DataFrame, cid: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Positions of circle ``cid``'s rows in the roll-up ``old`` and each block's row
    among them (-1: none); None when ``old`` lacks a row that one of the circle's blocks
    belongs to (a table filtered by hand: the caller takes the general path). Kept per
    assessment while ``old``'s index stays the same."""
    key = (name, cid)
    known = st.groups.get(key)
    if known is None or not known[0].equals(old.index):
        found = _find_groups(name, old, table, cid)
        if found is None:
            return None
        known = st.groups[key] = (old.index, *found)
    return known[1], known[2]


def _find_groups(
    name: str, old: pd.DataFrame, table: pd.DataFrame, cid: str
) -> tuple[np.ndarray, np.ndarray] | None:
    if name == "summary":
        pos = np.flatnonzero(old.index == cid)
        return (pos, np.zeros(len(table), dtype=np.int64)) if len(pos) == 1 else None
    by = name.removeprefix("by_")
    if by not in table.columns:
        return None
    pos = np.flatnonzero(old.index.get_level_values("circle") == cid)
    labels = pd.Index(old.index.get_level_values(by)[pos])
    if not labels.is_unique:
        return None
    values = table[by]
    codes = labels.get_indexer(pd.Index(values.to_numpy()))
    held = table[cid].notna().to_numpy() & values.notna().to_numpy()
    return None if (codes[held] < 0).any() else (pos, codes)


def _flags(table: pd.DataFrame, cid: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block: the circle applies, the block is inside, inside the straight radius."""
    inside = table[cid]
    ok = inside.notna().to_numpy()
    ins = inside.fillna(False).to_numpy(dtype=bool)
    ins_r = table[f"{cid}__radius"].fillna(False).to_numpy(dtype=bool)
    return ok, ins, ins_r


def _group_sums(
    codes: np.ndarray,
    n: int,
    flags: tuple[np.ndarray, np.ndarray, np.ndarray],
    counts: tuple[np.ndarray, np.ndarray | None],
) -> dict[str, np.ndarray]:
    """The summed columns and shares of ``n`` groups (exact for whole-number counts)."""
    ok, ins, ins_r = flags
    pop, hh = counts
    w = ok & (codes >= 0)
    c, i, r, p = codes[w], ins[w], ins_r[w], pop[w]
    sums: dict[str, np.ndarray] = {
        "blocks": np.bincount(c, minlength=n).astype(np.int64),
        "blocks_outside": np.bincount(c[~i], minlength=n).astype(np.int64),
        "population": np.bincount(c, weights=p, minlength=n),
        "population_inside": np.bincount(c, weights=p * i, minlength=n),
        "population_inside_radius": np.bincount(c, weights=p * r, minlength=n),
        "households": np.full(n, np.nan),
        "households_inside": np.full(n, np.nan),
    }
    if hh is not None:
        sums["households"] = np.bincount(c, weights=hh[w], minlength=n)
        sums["households_inside"] = np.bincount(c, weights=hh[w] * i, minlength=n)
    return add_shares({col: sums[col] for col in ROLL_UP_SUMS})


def _write_rows(
    old: pd.DataFrame, pos: np.ndarray, new: Mapping[str, np.ndarray]
) -> pd.DataFrame | None:
    """``old`` with the columns of ``new`` written at rows ``pos`` (None if a column is
    missing or would change its type)."""
    data: dict[Hashable, Any] = {}
    for col in old.columns:
        if col not in new:
            data[col] = old[col].array.copy()  # nothing shared with the old table
            continue
        if not isinstance(old[col].dtype, np.dtype):
            return None  # an extension dtype (nullable, string) would not survive numpy
        values = old[col].to_numpy(copy=True)
        if values.dtype != new[col].dtype:
            return None
        values[pos] = new[col]
        data[col] = values
    if len(data) != old.shape[1] or not set(new) <= set(data):
        return None
    out = pd.DataFrame(data, index=old.index, copy=False)
    out.columns = old.columns
    return out


class _MismatchError(Exception):
    """A recomputed part of a table does not fit the rows of the old table."""


def _splice(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` with the rows of ``new`` (same index labels and columns) replaced."""
    if len(new) == 0:
        return old
    pos = old.index.get_indexer(new.index)
    if (pos < 0).any() or list(new.columns) != list(old.columns):
        raise _MismatchError
    keep = np.ones(len(old), dtype=bool)
    keep[pos] = False
    out = pd.concat([old[keep], new]).reindex(old.index)
    if out.dtypes.equals(old.dtypes):
        return out
    cols = {j: _set_rows(old.iloc[:, j], pos, new.iloc[:, j]) for j in range(old.shape[1])}
    out = pd.DataFrame(cols, index=old.index)
    out.columns = old.columns
    return out


def _targets_after(
    a: Assessment, checked: Checked, table: gpd.GeoDataFrame, changed: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The targets judged again where they count facilities of a changed category."""
    pre = checked.preset
    touched = {
        tid: t
        for tid, t in pre.targets.items()
        if t.kind not in FACILITY_FREE_TARGETS
        and (not t.categories or changed & set(pre.table.expand(t.categories)))
    }
    if not touched:
        return a.targets, a.targets_by_unit
    new, units = evaluate_targets(
        replace(pre, targets=touched),
        checked.facilities,
        checked.category,
        table,
        checked.communities,
        reference_year=checked.reference_year,
    )
    try:
        return _splice(a.targets, new), _splice_units(a.targets_by_unit, units, pre, touched)
    except _MismatchError:
        return _all_targets(pre, checked, table)


def _all_targets(
    pre: Preset, checked: Checked, table: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return evaluate_targets(
        pre,
        checked.facilities,
        checked.category,
        table,
        checked.communities,
        reference_year=checked.reference_year,
    )


def _splice_units(
    old: pd.DataFrame, new: pd.DataFrame, pre: Preset, touched: Mapping[str, Any]
) -> pd.DataFrame:
    """Per-unit rows: those of the touched targets replaced, in the preset's order."""
    rank = {tid: i for i, tid in enumerate(pre.targets)}
    keep = old[~old["target"].isin(list(touched))]
    out = pd.concat([keep, new.reindex(columns=old.columns)], ignore_index=True)
    order = np.argsort(out["target"].map(rank).to_numpy(dtype=float), kind="stable")
    out = out.iloc[order].reset_index(drop=True)
    for col in old.columns:
        if out[col].dtype != old[col].dtype:
            raise _MismatchError
    return out
