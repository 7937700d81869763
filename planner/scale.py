"""Partitioned runs on dask.distributed: whole prefectures and the province.

``planner.assess(..., partitions=..., client=...)`` splits the blocks into partitions
(polygons: communities, streets, districts, or a grid), assesses each partition as one
task on a dask.distributed worker, with the streets and facilities of its area only, and
merges the per-block results; the roll-ups, targets and components are computed on the
whole afterwards. This module holds the machinery that does not depend on what is
computed: the partition areas and their buffers, which block belongs where, networks
read or cut per partition, running the tasks (scattered once, retried once, progress),
and joining the network components of the pieces. ``planner.assess`` owns the per-block
step that runs on the workers and hands it to :func:`run_tasks`.

Why nothing reachable is lost
-----------------------------
A trip from a block to a facility is a polyline: the connector from the block's point
to its street (or the walk inside a compound to a gate, then its connector), street
pieces, and the facility's connector. Every part is travelled at some speed no higher
than the fastest speed ``v`` any street of the mode can have (connectors at their
street's speed), so a trip of time ``t`` has length at most ``t * v``; and no polyline
is shorter than the straight line between its ends. So every trip within a circle's
limit ``T`` stays inside the disc of radius ``R = T * v`` (``distance_m`` for distance
rules) around the block's point. A partition therefore keeps

- the facilities within ``R`` of its area (its polygon and the points of its blocks
  and their gates), and
- every street that touches the area grown by ``R + max_snap_m``: each such facility
  snaps to a street within ``max_snap_m`` of it, so it meets the same street as in the
  whole network, and every street a trip within ``T`` uses is there, whole.

A network that holds every street of the whole network touching that area (and maybe
more) gives every block of the partition the same snapped points, the same shortest
trips within ``T`` and so the same times (inf beyond ``T``) as the whole network: a
partition's network is a part of the whole, so no trip in it is shorter, and the
trips that matter are all there. The buffers are drawn as polygons whose edges lie
outside the true circles (the radius is divided by cos(pi / 64) for 16 segments a
quarter circle) plus 1 m, so rounding never shrinks them.

Drive mode has per-edge speeds: ``v`` is the fastest speed any edge of the network can
have (its ``maxspeed`` tags and ``settings.drive_speeds_kph``); for a network read per
partition, the largest of ``settings.drive_speeds_kph`` and ``drive_default_kph``
unless :class:`NetworkSource` ``fastest_kph`` says more, and a partition whose streets
turn out faster stops with an error naming the speed to give.

Straight-line distances (the radius reading) are computed on the whole, before the
partitions run: they need every facility, and cost one KD-tree query.

Components across partitions
----------------------------
``Assessment.components`` counts the connected pieces of a mode's streets and the
residents on pieces holding none of a circle's facilities. Each partition labels the
pieces of its own streets; pieces of different partitions that share a node (the same
node id) are one piece (:func:`merge_components`). The merged answer equals the single
run's when the partitions' areas together hold every street and every facility of the
network: always for ``"grid:<km>"`` over an in-memory network (the grid covers the
network's extent; cells without blocks run as small component-only tasks). With
polygons (communities, streets, districts) that leave streets or facilities outside
every partition's buffered area, or a network read per partition from a larger file,
pieces lying wholly outside are not counted and a link running only outside is not
seen: the counts are those of the streets the partitions hold.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import re
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from . import settings
from ._log import log
from .assessment import DISTANCE_SPEED_KPH, EngineKey
from .errors import InputError, PlannerError, closest
from .modes import edge_speeds_kph, resolve_mode
from .network import Network, load_network
from .sources import networks as readers
from .sources.networks import RawNetwork

#: How to install what partitioned runs need.
EXTRA = 'pip install "planner[scale]"'
#: Segments per quarter circle of the buffers, and the factor that puts their edges
#: outside the true circle.
QUAD_SEGS = 16
OUTSIDE = 1.0 / math.cos(math.pi / (4 * QUAD_SEGS))
#: Metres added to every buffer, far above rounding.
MARGIN_M = 1.0
#: How long to try to reach a scheduler given by address.
CONNECT_TIMEOUT = "20s"
#: Names of partitions given as text.
NAMED = ("communities", "streets")


class PartitionError(PlannerError):
    """A partition failed twice (it was retried once); the message names its id."""


class MissingExtraError(PlannerError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


def require_distributed() -> ModuleType:
    """The ``distributed`` module, or :class:`MissingExtraError` naming the extra."""
    try:
        import distributed
    except ImportError:
        msg = (
            "partitioned runs need dask.distributed, which is not installed; install the "
            f"extra: {EXTRA} (dask[distributed] and psutil)."
        )
        raise MissingExtraError(msg) from None
    return distributed


# --- partitions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """One task of a partitioned run (areas in the run's metric CRS).

    ``blocks`` are the positions of the blocks it reports; ``shape`` its polygon with
    the points of those blocks (and their gates) that lie outside it; ``facility_area``
    and ``network_area`` what it keeps of the facilities and streets. A partition
    without blocks (a grid cell kept for the components) keeps its own cell only.
    """

    id: str
    shape: Any
    blocks: np.ndarray
    facility_area: Any
    network_area: Any
    reach_m: float

    @property
    def components_only(self) -> bool:
        """True for a partition without blocks, kept for the network components."""
        return len(self.blocks) == 0


def partition_areas(
    spec: Any,
    *,
    crs: pyproj.CRS,
    extent: Sequence[float],
    communities: gpd.GeoDataFrame | None = None,
) -> gpd.GeoSeries:
    """The partition polygons in ``crs``, indexed by partition id (text).

    Parameters
    ----------
    spec
        A GeoDataFrame or GeoSeries of polygons (ids: its index labels), a polygon file
        (read with :func:`planner.read_layer`), ``"grid:<km>"`` (square cells of that
        side over ``extent``: its width and height split into the whole number of cells
        nearest to that side, covering it exactly), ``"communities"`` (the
        communities' polygons, ids their names) or ``"streets"`` (the communities
        merged by their street/township).
    crs
        The run's metric CRS.
    extent
        (xmin, ymin, xmax, ymax) in ``crs`` that a grid covers.
    communities
        Standardised communities (``community`` and ``street`` columns).
    """
    if isinstance(spec, str) and spec.strip().lower().startswith("grid"):
        return _grid(grid_km(spec), extent, crs)
    if isinstance(spec, str) and spec in NAMED:
        return _named(spec, communities).to_crs(crs)
    if isinstance(spec, str | Path) and Path(spec).suffix:
        from .sources.files import read_layer

        spec = read_layer(Path(spec), what="partitions")
    if isinstance(spec, gpd.GeoDataFrame | gpd.GeoSeries):
        return _polygons(spec).to_crs(crs)
    msg = (
        f"partitions must be polygons (a GeoDataFrame), a polygon file, 'grid:<km>', "
        f"'communities' or 'streets'; got {spec!r}.{closest(str(spec), [*NAMED, 'grid:10'])}"
    )
    raise InputError(msg)


def grid_km(spec: str) -> float:
    """The cell side of ``"grid:<km>"``, or :class:`InputError`."""
    m = re.fullmatch(r"\s*grid\s*:\s*([0-9.]+)\s*(km)?\s*", spec, flags=re.IGNORECASE)
    km = float(m.group(1)) if m and re.fullmatch(r"\d+(\.\d*)?|\.\d+", m.group(1)) else math.nan
    if not (math.isfinite(km) and km > 0):
        msg = (
            f"partitions {spec!r}: write a grid as 'grid:<km>' with a side above 0, e.g. 'grid:10'."
        )
        raise InputError(msg)
    return km


def _grid(km: float, extent: Sequence[float], crs: pyproj.CRS) -> gpd.GeoSeries:
    """Cells of about ``km`` covering ``extent`` exactly (its width and height each split
    into the whole number of cells nearest to km), ids "grid <km> km (column, row)"."""
    side = km * 1000.0
    x0, y0, x1, y1 = (float(v) for v in extent)
    nx = max(1, round((x1 - x0) / side))
    ny = max(1, round((y1 - y0) / side))
    xs = np.linspace(x0, x1, nx + 1)
    ys = np.linspace(y0, y1, ny + 1)
    gi, gj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ii, jj = gi.ravel(), gj.ravel()
    cells = shapely.box(xs[ii], ys[jj], xs[ii + 1], ys[jj + 1])
    ids = [f"grid {km:g} km ({i}, {j})" for i, j in zip(ii.tolist(), jj.tolist(), strict=True)]
    return gpd.GeoSeries(cells, index=pd.Index(ids, name="partition"), crs=crs)


def _named(spec: str, communities: gpd.GeoDataFrame | None) -> gpd.GeoSeries:
    if communities is None or len(communities) == 0:
        msg = (
            f"partitions={spec!r} needs communities (the communities= argument, or "
            "[communities] file in a plan); give polygons or 'grid:<km>' otherwise."
        )
        raise InputError(msg)
    key = "community" if spec == "communities" else "street"
    if key not in communities.columns or communities[key].isna().all():
        msg = (
            "partitions='streets': the communities have no street/township column; read "
            "them with planner.read_communities(..., street='<column>') or use "
            "'communities' or 'grid:<km>'."
        )
        raise InputError(msg)
    com = communities[communities[key].notna()]
    merged = com.dissolve(by=key) if spec == "streets" else com.set_index(key)
    return _polygons(gpd.GeoSeries(merged.geometry, crs=communities.crs))


def _polygons(given: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    geo = given.geometry if isinstance(given, gpd.GeoDataFrame) else given
    if geo.crs is None:
        msg = "partitions have no CRS; set it, e.g. partitions.set_crs('EPSG:4326')."
        raise InputError(msg)
    polys = shapely.get_type_id(geo.to_numpy()) >= 0
    polys &= np.isin(
        shapely.get_type_id(geo.to_numpy()),
        [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON],
    )
    if len(geo) == 0 or not polys.all():
        msg = (
            f"partitions must be polygons; got {len(geo)} rows, {int((~polys).sum())} of them "
            "not polygons (or empty)."
        )
        raise InputError(msg)
    ids = pd.Index([str(i) for i in geo.index], name="partition")
    if not ids.is_unique:
        counts: dict[str, int] = {}
        labels = []
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
            labels.append(i if counts[i] == 1 else f"{i} #{counts[i]}")
        ids = pd.Index(labels, name="partition")
    return gpd.GeoSeries(shapely.make_valid(geo.to_numpy()), index=ids, crs=geo.crs)


def assign_blocks(x: np.ndarray, y: np.ndarray, areas: gpd.GeoSeries) -> np.ndarray:
    """The partition (position in ``areas``) each block point belongs to.

    A point belongs to the first partition, in order, whose polygon covers it (a point
    on the edge of two is reported once, by the first); a point in none goes to the
    nearest; a block without a point (no geometry) to the first partition.
    """
    n = len(x)
    owner = np.full(n, -1, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok) == 0:
        return np.zeros(n, dtype=np.int64)
    pts = shapely.points(x[ok], y[ok])
    tree = shapely.STRtree(areas.to_numpy())
    pi, ai = tree.query(pts, predicate="covered_by")
    first = np.full(len(ok), np.iinfo(np.int64).max)
    np.minimum.at(first, pi, ai)
    inside = first < np.iinfo(np.int64).max
    owner[ok[inside]] = first[inside]
    stray = np.flatnonzero(~inside)
    if len(stray):
        pi, ai = tree.query_nearest(pts[stray], all_matches=True)
        near = np.full(len(stray), np.iinfo(np.int64).max)
        np.minimum.at(near, pi, ai)
        owner[ok[stray]] = near
        log(f"scale: {len(stray):,} blocks lie in no partition; each joins the nearest")
    owner[owner < 0] = 0
    return owner


def grow(shape: Any, metres: float) -> Any:
    """``shape`` grown by at least ``metres`` everywhere (edges outside the true circle)."""
    return shapely.buffer(shape, (metres + MARGIN_M) * OUTSIDE, quad_segs=QUAD_SEGS)


def plan_partitions(
    areas: gpd.GeoSeries,
    owner: np.ndarray,
    points: tuple[np.ndarray, np.ndarray],
    *,
    reach_m: float,
    snap_m: float,
    keep_empty: bool,
    gates: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> list[Partition]:
    """One :class:`Partition` per area with blocks (and, with ``keep_empty``, per area
    without: component-only tasks covering their own cell).

    ``points`` are the blocks' metric x, y; ``gates`` (block position, x, y) the gates
    of gated blocks, which join their block's partition shape.
    """
    bx, by = points
    out = []
    polys = areas.to_numpy()
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(polys) + 1))
    gate_of = owner[gates[0]] if gates is not None and len(gates[0]) else None
    for i, pid in enumerate(areas.index):
        mine = order[bounds[i] : bounds[i + 1]]
        core = polys[i]
        if len(mine) == 0:
            if keep_empty:
                out.append(Partition(str(pid), core, mine, core, grow(core, snap_m), 0.0))
            continue
        xs, ys = bx[mine], by[mine]
        if gate_of is not None and gates is not None:
            sel = gate_of == i
            xs, ys = np.r_[xs, gates[1][sel]], np.r_[ys, gates[2][sel]]
        fin = np.isfinite(xs) & np.isfinite(ys)
        xs, ys = xs[fin], ys[fin]
        out_pts = ~shapely.contains_xy(core, xs, ys)
        shape = core
        if out_pts.any():
            shape = shapely.union(core, shapely.multipoints(np.column_stack([xs, ys])[out_pts]))
        out.append(
            Partition(
                str(pid), shape, mine, grow(shape, reach_m), grow(shape, reach_m + snap_m), reach_m
            )
        )
    return out


# --- how far a trip can go --------------------------------------------------------------


def fastest_kph(
    key: EngineKey, network: Network | None = None, given: float | None = None
) -> float:
    """The fastest speed, km/h, of any street of ``key``'s mode (see the module doc).

    Distance rules count metres as seconds at :data:`DISTANCE_SPEED_KPH`. Drive on an
    in-memory network: the fastest edge of its tags; without one: ``given`` or the
    largest of ``settings.drive_speeds_kph`` and ``drive_default_kph`` (times
    ``drive_speed_factor``).
    """
    if key.distance:
        return float(DISTANCE_SPEED_KPH)
    if key.speed_kph is not None:
        return float(key.speed_kph)
    if network is not None:
        return float(edge_speeds_kph(network.tags, resolve_mode(key.mode, None)).max())
    if given is not None:
        return float(given)
    top = max([*settings.drive_speeds_kph.values(), settings.drive_default_kph])
    return float(top) * float(settings.drive_speed_factor)


def reach_m(limits: Mapping[EngineKey, float], speeds: Mapping[EngineKey, float]) -> float:
    """The farthest a trip within its limit can go, metres, over every way of travelling."""
    return max((limit * speeds[key] / 3.6 for key, limit in limits.items()), default=0.0)


def loaded_kph(network: Network, key: EngineKey) -> float:
    """The fastest street of a loaded network in ``key``'s mode, km/h (its mode graph)."""
    mg = network.with_mode(key.mode, key.speed_kph).graph
    tpm = np.minimum(mg.fwd_tpm, mg.bwd_tpm)
    tpm = tpm[np.isfinite(tpm) & (tpm > 0)]
    return 3.6 / float(tpm.min()) if len(tpm) else 0.0


# --- networks read per partition ----------------------------------------------------------


@dataclass(frozen=True)
class NetworkSource:
    """A street network that each partition reads for its own area only.

    Pass one as ``network`` to :func:`planner.assess` with ``partitions``; without
    partitions the whole network is read and the run is an ordinary one.

    Parameters
    ----------
    source
        - a path to an ``.osm.pbf`` file: each partition reads the bounding box of its
          area (pyrosm), so its memory follows the partition;
        - a place name or a shapely polygon in EPSG:4326: each partition downloads its
          area with osmnx (needs internet);
        - another network file (.osm, .graphml, road lines): read whole by each
          partition, then cut;
        - a function ``f(area)`` of a GeoSeries holding one polygon (in the run's metric
          CRS; None: the whole network) returning a Network, RawNetwork, networkx graph
          or GeoDataFrame of road lines holding at least the streets touching the area.
    mode, speed_kph, node_crossings
        As :func:`planner.load_network`.
    crs
        The metric CRS every partition works in. Default: the UTM zone of the median of
        the blocks' points (an in-memory Network keeps its own CRS). A single run gives
        the same times when its network lies in the same UTM zone.
    fastest_kph
        For drive: the fastest speed any street can have, when ``maxspeed`` tags exceed
        ``settings.drive_speeds_kph`` (see the module doc).
    """

    source: Any
    mode: str = "walk"
    speed_kph: float | None = None
    node_crossings: bool | None = None
    crs: Any = None
    fastest_kph: float | None = None

    def __repr__(self) -> str:
        name = getattr(self.source, "__name__", None) or str(self.source)
        return f"<planner.NetworkSource {name} ({self.mode})>"

    def load(self, area: Any = None, crs: Any = None) -> Network:
        """The network of ``area`` (a shapely geometry in ``crs``; None: all of it).

        Returns the streets touching ``area``, whole, in ``crs`` (when given).
        """
        got = self._read(area, crs)
        if isinstance(got, RawNetwork):
            raw = project_raw(got, crs) if crs is not None else got
            raw = readers.apply_node_crossings(raw, self.node_crossings)
            net = Network.from_raw(raw, mode=self.mode, speed_kph=self.speed_kph)
        else:
            net = load_network(
                got, mode=self.mode, speed_kph=self.speed_kph, node_crossings=self.node_crossings
            )
        return net if area is None else net.clip(area, crs=crs)

    def _read(self, area: Any, crs: Any) -> Any:
        src = self.source
        if callable(src):
            return src(None if area is None else gpd.GeoSeries([area], crs=crs))
        if isinstance(src, str | Path) and Path(src).exists():
            path = Path(src)
            if readers.suffix_of(path) in readers.PBF_SUFFIXES:
                box = None if area is None else lonlat_box(area, crs)
                return readers.raw_from_pbf(path, boundary=box)
            return load_network(path, mode=self.mode, node_crossings=self.node_crossings)
        if isinstance(src, str | shapely.Polygon | shapely.MultiPolygon):
            if area is None:
                return readers.raw_from_osmnx_query(src)
            return readers.raw_from_osmnx_query(lonlat_area(area, crs))
        msg = (
            f"NetworkSource: cannot read {type(src).__name__} {src!r}; give a path to an "
            ".osm.pbf (or other network) file, a place name, a polygon or a function of "
            "the area."
        )
        raise InputError(msg)


def project_raw(raw: RawNetwork, crs: Any) -> RawNetwork:
    """The RawNetwork in ``crs`` (nodes and geometries transformed alike)."""
    target = pyproj.CRS.from_user_input(crs)
    if raw.crs is not None and pyproj.CRS.from_user_input(raw.crs).equals(target):
        return raw
    tr = pyproj.Transformer.from_crs(raw.crs, target, always_xy=True)
    x, y = tr.transform(np.asarray(raw.node_x, float), np.asarray(raw.node_y, float))
    geoms = np.asarray(raw.geometry, dtype=object)
    has = shapely.is_geometry(geoms)
    out = np.empty(len(geoms), dtype=object)
    if has.any():
        out[has] = shapely.transform(
            geoms[has], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
        )
    return replace(raw, node_x=np.asarray(x), node_y=np.asarray(y), geometry=out, crs=target)


def lonlat_area(area: Any, crs: Any) -> Any:
    """``area`` in EPSG:4326, its edges cut every 100 m first so that they stay outside."""
    dense = shapely.segmentize(grow(area, 50.0), 100.0)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(dense, lambda c: np.column_stack(to_ll.transform(c[:, 0], c[:, 1])))


def lonlat_box(area: Any, crs: Any) -> Any:
    """The bounding box of ``area`` in EPSG:4326 (a little larger)."""
    return shapely.box(*shapely.bounds(lonlat_area(area, crs)))


def run_crs(network: Any, x_ll: np.ndarray, y_ll: np.ndarray) -> pyproj.CRS:
    """The metric CRS of a partitioned run: the network's, the source's, or the UTM zone
    of the median of the given lon/lat points."""
    if isinstance(network, Network):
        return network.crs
    if isinstance(network, Mapping) and network:
        return next(iter(network.values())).crs
    if isinstance(network, NetworkSource) and network.crs is not None:
        return pyproj.CRS.from_user_input(network.crs)
    ok = np.isfinite(x_ll) & np.isfinite(y_ll)
    lon = float(np.median(x_ll[ok])) if ok.any() else 113.3
    lat = float(np.median(y_ll[ok])) if ok.any() else 23.1
    zone = min(60, int((lon + 180.0) // 6.0) + 1)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


# --- settings and progress ----------------------------------------------------------------


def settings_snapshot() -> dict[str, Any]:
    """planner.settings as plain values, for the workers (they start from the defaults)."""
    kinds = (bool, int, float, str, dict, type(None))
    return {
        k: copy.deepcopy(v)
        for k, v in vars(settings).items()
        if not k.startswith("_") and isinstance(v, kinds)
    }


@contextlib.contextmanager
def applied(snapshot: Mapping[str, Any]) -> Iterator[None]:
    """planner.settings set to ``snapshot`` for the duration (restored after)."""
    old = {k: getattr(settings, k) for k in snapshot if hasattr(settings, k)}
    try:
        for k, v in snapshot.items():
            setattr(settings, k, copy.deepcopy(v))
        yield
    finally:
        for k, v in old.items():
            setattr(settings, k, v)


Progress = Callable[[int, int, str], None]
_PROGRESS: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "planner_scale_progress", default=None
)


@contextlib.contextmanager
def progress(callback: Progress) -> Iterator[None]:
    """Call ``callback(done, total, partition_id)`` as each partition finishes."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far, bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


# --- clients and tasks --------------------------------------------------------------------


@contextlib.contextmanager
def connect(client: Any = None, *, workers: int | None = None) -> Iterator[Any]:
    """A dask Client: the one given, one connected to an address (``"tcp://host:8786"``),
    or a LocalCluster of ``workers`` processes (default: one per core) with one thread
    each; a client made here is closed on exit."""
    dist = require_distributed()
    if isinstance(client, dist.Client):
        yield client
        return
    if isinstance(client, str):
        try:
            made = dist.Client(client, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            text = " ".join(str(exc).split())
            msg = (
                f"scheduler {client!r}: cannot connect ({text}); check the address and port, "
                "and that the scheduler runs."
            )
            raise InputError(msg) from None
        with made:
            yield made
        return
    if client is not None:
        msg = f"client must be a dask Client, a scheduler address or None; got {client!r}."
        raise InputError(msg)
    n = workers or _cores()
    import logging

    with (
        dist.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        dist.Client(cluster) as made,
    ):
        yield made


def _cores() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class _Flight:
    pid: str
    make: Callable[[], Any]
    tries: int = 0
    data: Any = None
    future: Any = None


@dataclass
class TaskRun:
    """What :func:`run_tasks` measured: seconds from the start to each partition's end,
    and the attempts it took."""

    seconds: dict[str, float] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunStats:
    """A partitioned run, for the record and benchmarks (:data:`last_run`): per partition
    its blocks, the nodes of its network, the seconds its task took on the worker and
    the peak memory of that worker process so far (bytes)."""

    partitions: pd.DataFrame
    reach_m: float
    seconds: float


#: The statistics of the last partitioned run in this process (None before one).
last_run: RunStats | None = None


def run_tasks(
    client: Any,
    fn: Callable[[Any], Any],
    tasks: Iterable[tuple[str, Callable[[], Any]]],
    *,
    total: int,
    window: int | None = None,
    record: TaskRun | None = None,
) -> dict[str, Any]:
    """Run ``fn(payload)`` for every (id, make_payload) on the client; results by id.

    Each payload is built when its task is about to start (at most ``window`` at once,
    default twice the workers, so the caller holds few at a time), scattered to the
    cluster once and the task submitted on it. A task that fails is retried once (its
    payload built and scattered again: a lost worker takes its data along); a second
    failure cancels the others and raises :class:`PartitionError` naming the id.
    """
    dist = require_distributed()
    if window is None:
        window = max(2, 2 * len(client.scheduler_info().get("workers", {})) or 2)
    queue = iter(tasks)
    done_count = 0
    results: dict[str, Any] = {}
    flights: dict[str, _Flight] = {}
    ac = dist.as_completed()
    started = time.perf_counter()

    def launch(f: _Flight) -> None:
        f.tries += 1
        f.data = client.scatter(f.make(), hash=False)
        f.future = client.submit(fn, f.data, pure=False, key=f"planner-{f.pid}-{f.tries}-{id(f)}")
        flights[f.future.key] = f
        ac.add(f.future)

    def next_task() -> None:
        item = next(queue, None)
        if item is not None:
            launch(_Flight(item[0], item[1]))

    try:
        for _ in range(window):
            next_task()
        for fut in ac:
            f = flights.pop(fut.key)
            if fut.status != "finished":
                error = _error_of(fut)
                client.cancel([fut, f.data])
                if f.tries < 2:
                    log(f"scale: partition {f.pid!r} failed ({error!r}); retrying it once")
                    launch(f)
                    continue
                raise PartitionError(_failure(f.pid, error)) from error
            results[f.pid] = fut.result()
            client.cancel([fut, f.data])
            done_count += 1
            if record is not None:
                record.seconds[f.pid] = time.perf_counter() - started
                record.attempts[f.pid] = f.tries
            callback = _PROGRESS.get()
            if callback is not None:
                callback(done_count, total, f.pid)
            next_task()
    except BaseException:
        client.cancel([f.future for f in flights.values()] + [f.data for f in flights.values()])
        raise
    return results


def _error_of(fut: Any) -> BaseException | None:
    """The exception of a failed or cancelled future (a lost worker cancels its tasks)."""
    try:
        return fut.exception()
    except BaseException as exc:  # cancelled: the cancellation is the error
        return exc


def _failure(pid: str, error: BaseException | None) -> str:
    text = " ".join(str(error).split()) if error is not None else "no result"
    kind = type(error).__name__ if error is not None else "error"
    return (
        f"partition {pid!r} failed twice (it was retried once): {kind}: {text}. Nothing was "
        "written; fix the input of that area or run it alone (partitions=<its polygon>)."
    )


# --- components across partitions ----------------------------------------------------------


def merge_components(
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[list[np.ndarray], int]:
    """Join the pieces of several partial networks through the nodes they share.

    ``parts`` holds, per partition, the node ids of its streets and the local piece
    label of each (0, 1, ...). Returns, per partition, the global piece of each local
    label (-1 for labels without streets), and the number of global pieces.
    """
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    for i, (_nodes, labels) in enumerate(parts):
        offsets[i + 1] = offsets[i] + (int(labels.max()) + 1 if len(labels) else 0)
    n = int(offsets[-1])
    if n == 0:
        return [np.zeros(0, dtype=np.int64) for _ in parts], 0
    ids = np.concatenate([np.asarray(nodes) for nodes, _ in parts])
    vert = np.concatenate([labels + offsets[i] for i, (_, labels) in enumerate(parts)])
    order = np.argsort(ids, kind="stable")
    ids, vert = ids[order], vert[order]
    same = np.flatnonzero(ids[1:] == ids[:-1])
    links = sp.coo_matrix(
        (np.ones(len(same), dtype=np.int8), (vert[same], vert[same + 1])), shape=(n, n)
    )
    _, comp = connected_components(links, directed=False)
    used = np.zeros(n, dtype=bool)
    used[vert] = True
    comp = np.where(used, comp, -1)
    count = len(np.unique(comp[used]))
    return [comp[offsets[i] : offsets[i + 1]] for i in range(len(parts))], count
