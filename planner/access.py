"""Exact multi-source travel times from facilities to origins, one Dijkstra per category.

Both facilities and origins snap to the nearest *edge* of the mode's network, following
the edge's polyline. A point's trip to or from the network is the straight connector
to its projection plus the partial edge to the edge's end node; a facility and an
origin on the same edge also get the direct path along it. All facilities of a
category enter one Dijkstra as virtual source nodes whose links carry their snapping
offsets, run on the transposed graph so that one-way streets are respected in the
direction of the trip (origin -> facility).

Two engines give the same answers to the last bit: the compiled kernels of
:mod:`planner._kernels` (numba, the default when installed), which release the GIL so
that categories run side by side on ``settings.threads`` threads, each category's
search and its origins' times in one call; and the scipy path
(``scipy.sparse.csgraph.dijkstra`` with ``min_only=True``, one category at a time),
the fallback and the tests' oracle (``settings.engine``)."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from . import _parallel, settings
from ._log import log
from ._snap import SnapResult, expand_lists, morton_order
from ._validate import check_entrances, check_facilities, check_gdf, check_limit, check_network
from .errors import PlannerWarning
from .network import ModeGraph, Network


@dataclass
class Snapped:
    """Points of a layer snapped to a network: metric coordinates and where they meet it."""

    x: np.ndarray
    y: np.ndarray
    snap: SnapResult


def origin_points(origins: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Access points of origins: points as given, other geometries' representative point."""
    geom = origins.geometry
    values = geom.to_numpy()
    type_id = shapely.get_type_id(values)
    other = (type_id >= 0) & (type_id != shapely.GeometryType.POINT)
    if not other.any():
        return geom
    other[other] = ~shapely.is_empty(values[other])
    values = values.copy()
    values[other] = shapely.point_on_surface(values[other])
    return gpd.GeoSeries(values, index=geom.index, crs=geom.crs)


def snap_layer(network: Network, geoms: gpd.GeoSeries) -> Snapped:
    """Project points to the network's metric CRS and snap them."""
    x, y = network.to_metric(geoms)
    return Snapped(x, y, network.snap_xy(x, y))


def snap_origins(
    network: Network, origins: gpd.GeoDataFrame, entrances: gpd.GeoDataFrame | None = None
) -> Snapped:
    """Snap origins; a gated block is reached only through its entrances.

    ``entrances`` holds points with a ``block`` column naming the origin (index label)
    each belongs to. A block with entrances starts from each of them, after the straight
    walk from its representative point to that entrance inside the compound; the best
    entrance wins. Blocks without entrances start from their representative point.
    """
    pts = snap_layer(network, origin_points(origins))
    if entrances is None or len(entrances) == 0:
        return pts
    ent, owner = check_entrances(entrances, origins.index, "origins")
    ex, ey = network.to_metric(ent.geometry)
    inside = np.hypot(ex - pts.x[owner], ey - pts.y[owner])
    es = network.snap_xy(ex, ey)
    gated = np.zeros(len(origins), dtype=bool)
    gated[owner] = True
    base = pts.snap
    keep = ~gated[base.owner]
    e_ok = es.street >= 0
    parts = (
        (
            base.owner[keep],
            base.street[keep],
            base.offset[keep],
            base.connector[keep],
            base.x[keep],
            base.y[keep],
        ),
        (
            owner[es.owner[e_ok]],
            es.street[e_ok],
            es.offset[e_ok],
            es.connector[e_ok] + inside[es.owner[e_ok]],
            es.x[e_ok],
            es.y[e_ok],
        ),
    )
    o, st, off, conn, qx, qy = (np.concatenate(a) for a in zip(*parts, strict=True))
    lost = np.setdiff1d(np.flatnonzero(gated), o)  # gated blocks none of whose gates snapped
    m = len(lost)
    o = np.concatenate([o, lost])
    order = np.argsort(o, kind="stable")
    merged = SnapResult(
        owner=o[order],
        street=np.concatenate([st, np.full(m, -1, dtype=np.int64)])[order],
        offset=np.concatenate([off, np.full(m, np.nan)])[order],
        connector=np.concatenate([conn, np.full(m, np.inf)])[order],
        x=np.concatenate([qx, np.full(m, np.nan)])[order],
        y=np.concatenate([qy, np.full(m, np.nan)])[order],
        n_points=len(origins),
    )
    return Snapped(pts.x, pts.y, merged)


def _part(dist: np.ndarray, tpm: np.ndarray) -> np.ndarray:
    """Time to cover ``dist`` metres at ``tpm`` seconds per metre; 0 m costs 0 s always."""
    with np.errstate(invalid="ignore"):
        return np.where(dist == 0, 0.0, dist * tpm)


def facility_links(
    mg: ModeGraph, snap: SnapResult, *, reverse: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Links between each facility and the end nodes of its street, with their times.

    Returns (facility position, node, seconds) for the finite links. With
    ``reverse=True`` the links are the trips node -> facility: a facility on street
    (u, v) at offset o is reached from u after o metres forward and from v after
    (length - o) metres backward, plus the connector, where the mode may go that way.
    With ``reverse=False`` they are the trips facility -> node.
    """
    e = snap.entries()
    s = snap.street[e]
    off = snap.offset[e]
    conn = snap.connector[e] * mg.conn_tpm[s]
    to_u, to_v = (mg.fwd_tpm, mg.bwd_tpm) if reverse else (mg.bwd_tpm, mg.fwd_tpm)
    # (u link, v link) of each entry side by side: the links stay sorted by facility
    w2 = np.empty((len(e), 2))
    w2[:, 0] = conn + _part(off, to_u[s])
    w2[:, 1] = conn + _part(mg.length[s] - off, to_v[s])
    node2 = np.empty((len(e), 2), dtype=mg.su.dtype)
    node2[:, 0] = mg.su[s]
    node2[:, 1] = mg.sv[s]
    fpos = np.repeat(snap.owner[e], 2)
    w, node = w2.ravel(), node2.ravel()
    keep = np.isfinite(w)
    if keep.all():
        return fpos, node, w
    return fpos[keep], node[keep], w[keep]


def node_times(
    mg: ModeGraph,
    snap: SnapResult,
    limit: float,
    *,
    with_source: bool = False,
    reverse: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """One multi-source Dijkstra from snapped facilities.

    Returns the time from every node to its nearest facility (``reverse=True``, the trip
    origin -> facility) or from the facilities to every node (``reverse=False``), inf
    beyond ``limit``, and, if asked, the position of that facility (-1 for none).
    """
    n = mg.csr.shape[0]
    f = snap.n_points
    if f == 0 or not snap.ok.any():
        return np.full(n, np.inf), (np.full(n, -1, dtype=np.int64) if with_source else None)
    fpos, node, w = facility_links(mg, snap, reverse=reverse)
    kernels = _parallel.kernels()
    if kernels is not None:
        kg = kernel_graph(mg, reverse=reverse)
        dist, who, heap = _work_space(kernels, n, len(node), with_source)
        _work.heap = kernels.dijkstra(
            kg.indptr, kg.indices, kg.data, kg.rank[node], w, fpos, float(limit), dist, who, heap
        )  # into this thread's work space; the answers are copied out in node order
        return dist[kg.rank], (who[kg.rank] if with_source else None)
    base = mg.csr_t if reverse else mg.csr
    sources = np.arange(n, n + f)
    own = mg.lock.acquire(blocking=False)  # the reusable buffer serves one call at a time
    try:
        key = "rev" if reverse else "fwd"
        ext = with_source_rows(base, fpos, node, w, f, mg.buffers if own else {}, key)
        if with_source:
            dist, _pred, src = dijkstra(
                ext,
                directed=True,
                indices=sources,
                limit=limit,
                min_only=True,
                return_predecessors=True,
            )
            src = np.where(src >= n, src - n, -1).astype(np.int64)
            return dist[:n], src[:n]
        dist = dijkstra(ext, directed=True, indices=sources, limit=limit, min_only=True)
        return dist[:n], None
    finally:
        if own:
            mg.lock.release()


@dataclass
class KernelGraph:
    """A mode's CSR for the compiled kernels: nodes renumbered along a Z-curve of their
    coordinates (nearby nodes, nearby memory: the searches run 20-30 % faster than on
    the source's order). ``rank[node]`` is a node's number here."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    rank: np.ndarray


_kernel_graph_lock = threading.Lock()


def kernel_graph(mg: ModeGraph, *, reverse: bool = True) -> KernelGraph:
    """The mode's (transposed, for ``reverse``) CSR renumbered for the kernels; cached."""
    key = "kernel_rev" if reverse else "kernel_fwd"
    with _kernel_graph_lock:
        kg = mg.buffers.get(key)
        if kg is None:
            kg = _renumbered(mg.csr_t if reverse else mg.csr, mg)
            mg.buffers[key] = kg
    return kg


def _renumbered(csr: sp.csr_matrix, mg: ModeGraph) -> KernelGraph:
    n = csr.shape[0]
    small = np.int32 if max(n, csr.nnz) < 2**31 - 1 else np.int64
    if mg.node_x is None or mg.node_y is None or n < 2:
        order = np.arange(n)
    else:
        order = morton_order(mg.node_x, mg.node_y)
    rank = np.empty(n, dtype=small)
    rank[order] = np.arange(n, dtype=small)
    deg = np.diff(csr.indptr)[order]
    indptr = np.zeros(n + 1, dtype=small)
    np.cumsum(deg, out=indptr[1:])
    _, at, _ = expand_lists(csr.indptr[order].astype(np.int64), deg.astype(np.int64))
    return KernelGraph(indptr, rank[csr.indices[at]], csr.data[at], rank)


@dataclass
class _Buffer:
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    rows: int
    links: int


def with_source_rows(
    base: sp.csr_matrix,
    fpos: np.ndarray,
    node: np.ndarray,
    w: np.ndarray,
    f: int,
    buffers: dict[str, _Buffer],
    key: str,
) -> sp.csr_matrix:
    """The CSR plus ``f`` rows (virtual facility nodes) linking to graph nodes.

    The graph's arrays are copied once into a buffer with room at the end; later calls
    only write the facility rows there, so a call costs O(facilities), not O(graph).
    """
    n, nnz, m = base.shape[0], base.nnz, len(w)
    idx_dtype = base.indices.dtype
    buf = buffers.get(key)
    if buf is None or buf.rows < f or buf.links < m:
        rows = max(f, 2 * buf.rows if buf else 1024)
        links = max(m, 2 * buf.links if buf else 4096)
        data = np.empty(nnz + links)
        data[:nnz] = base.data
        indices = np.empty(nnz + links, dtype=idx_dtype)
        indices[:nnz] = base.indices
        indptr = np.empty(n + 1 + rows, dtype=idx_dtype)
        indptr[: n + 1] = base.indptr
        buf = _Buffer(data, indices, indptr, rows, links)
        buffers[key] = buf
    if len(fpos) > 1 and bool((fpos[1:] < fpos[:-1]).any()):
        order = np.argsort(fpos, kind="stable")
        fpos, node, w = fpos[order], node[order], w[order]
    buf.data[nnz : nnz + m] = w
    buf.indices[nnz : nnz + m] = node
    buf.indptr[n + 1 : n + 1 + f] = nnz + np.cumsum(np.bincount(fpos, minlength=f))
    return sp.csr_matrix(
        (buf.data[: nnz + m], buf.indices[: nnz + m], buf.indptr[: n + 1 + f]),
        shape=(n + f, n + f),
        copy=False,
    )


@dataclass
class OriginLegs:
    """Snapped origins with the time of their first leg to each end of their street.

    One entry per (origin, equally-near street), sorted by origin; ``group`` holds the
    first entry of each origin that has entries and ``multi`` the entries of origins that
    have several (both None when no origin has two); ``by_street``/``street_ptr`` list
    the entries street by street, so that per category only the streets holding
    facilities are looked at.
    """

    owner: np.ndarray
    street: np.ndarray
    offset: np.ndarray
    connector: np.ndarray
    node_u: np.ndarray
    node_v: np.ndarray
    to_u: np.ndarray
    to_v: np.ndarray
    n_points: int
    group: np.ndarray | None
    multi: np.ndarray | None
    by_street: np.ndarray
    street_ptr: np.ndarray
    kernel: tuple[np.ndarray, ...] | None = field(default=None, repr=False)


def origin_legs(mg: ModeGraph, origins: SnapResult) -> OriginLegs:
    """First legs of snapped origins (computed once, used for every category)."""
    e = origins.entries()
    s = origins.street[e]
    off = origins.offset[e]
    conn = origins.connector[e] * mg.conn_tpm[s]
    owner = origins.owner[e]
    repeated = len(owner) > 1 and bool((owner[1:] == owner[:-1]).any())
    group = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if repeated else None
    multi = None
    if repeated:  # the entries of origins that have several
        same = owner[1:] == owner[:-1]
        multi = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
    # entries grouped by street, in order: a counting sort (scipy's COO -> CSR)
    n_e = len(s)
    lists = sp.coo_matrix(
        (np.ones(n_e, dtype=np.int8), (s, np.arange(n_e))), shape=(len(mg.su), n_e)
    ).tocsr()
    by_street = lists.indices.astype(np.int64, copy=False)
    street_ptr = lists.indptr.astype(np.int64, copy=False)
    return OriginLegs(
        owner=owner,
        street=s,
        offset=off,
        connector=origins.connector[e],
        node_u=mg.su[s],
        node_v=mg.sv[s],
        to_u=conn + _part(off, mg.bwd_tpm[s]),
        to_v=conn + _part(mg.length[s] - off, mg.fwd_tpm[s]),
        n_points=origins.n_points,
        group=group,
        multi=multi,
        by_street=by_street,
        street_ptr=street_ptr,
    )


def origin_times(
    mg: ModeGraph,
    dist: np.ndarray,
    src: np.ndarray | None,
    legs: OriginLegs,
    facilities: SnapResult,
    limit: float,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Time from each snapped origin to its nearest facility, and which facility.

    ``dist``/``src`` come from :func:`node_times` (reverse=True). Unsnapped origins and
    trips over ``limit`` get inf (and -1).
    """
    best, who = origin_times_many(
        mg, [dist], None if src is None else [src], legs, [facilities], limit
    )
    return best[:, 0], (None if who is None else who[:, 0])


def origin_times_many(
    mg: ModeGraph,
    dists: list[np.ndarray],
    srcs: list[np.ndarray] | None,
    legs: OriginLegs,
    facilities: list[SnapResult],
    limit: float,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`origin_times` for several categories at once: (points x categories) arrays.

    The node times of all categories are read in one pass over the origins (one
    gather per street end instead of one per category and end).
    """
    n, c = legs.n_points, len(dists)
    node_t = np.column_stack(dists)  # nodes x categories: one origin reads one row
    t = node_t[legs.node_u]
    t += legs.to_u[:, None]
    t_v = node_t[legs.node_v]
    t_v += legs.to_v[:, None]
    f = None
    if srcs is not None:
        node_f = np.column_stack(srcs)
        f = np.where(t <= t_v, node_f[legs.node_u], node_f[legs.node_v])
    np.minimum(t, t_v, out=t)
    o = legs.owner
    best = np.full((n, c), np.inf)
    who = None
    if f is not None:
        if legs.group is not None and len(t):  # origins on several equally near streets
            g = legs.group
            t_best = np.minimum.reduceat(t, g, axis=0)
            # the first entry of each origin reaching its best time
            size = np.diff(np.r_[g, len(t)])
            at = np.where(t == np.repeat(t_best, size, axis=0), np.arange(len(t))[:, None], len(t))
            f = np.take_along_axis(f, np.minimum.reduceat(at, g, axis=0), axis=0)
            t, o = t_best, o[g]
        best[o] = t
        who = np.full((n, c), -1, dtype=np.int64)
        who[o] = f
    else:
        best[o] = t  # an origin on several streets gets one of them here, ...
        if legs.multi is not None:  # ... then the best of them
            np.minimum.at(best, o[legs.multi], t[legs.multi])
    # the direct path along a street shared by an origin and a facility
    pairs = same_street_times_many(mg, legs, facilities)
    if pairs is not None:
        po, pc, pf, pt = pairs
        flat = best.reshape(-1)  # a view: (origin, category) -> origin * c + category
        key = po * c + pc
        better = pt < flat[key]
        if better.any():
            key, pf, pt = key[better], pf[better], pt[better]
            np.minimum.at(flat, key, pt)
            if who is not None:  # per origin, the first of its fastest shared-street trips
                win = np.flatnonzero(pt == flat[key])
                _, first = np.unique(key[win], return_index=True)
                who.reshape(-1)[key[win[first]]] = pf[win[first]]
    over = best > limit
    best[over] = np.inf
    if who is not None:
        who[over | ~np.isfinite(best)] = -1
    return best, who


def same_street_times(
    mg: ModeGraph, legs: OriginLegs, facilities: SnapResult
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(origin, facility, seconds) of the direct paths along streets they share.

    Only (origin, facility) pairs on the same street are formed, from the facilities'
    streets through the origins' street lists: cost grows with the facilities and the
    pairs, never with origins x facilities (nor with all the origins).
    """
    pairs = same_street_times_many(mg, legs, [facilities])
    return None if pairs is None else (pairs[0], pairs[2], pairs[3])


def same_street_times_many(
    mg: ModeGraph, legs: OriginLegs, facilities: list[SnapResult]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`same_street_times` of several categories in one pass:
    (origin, category, facility, seconds)."""
    fis = [fac.entries() for fac in facilities]
    f_cat = np.repeat(np.arange(len(facilities)), [len(fi) for fi in fis])
    f_street, f_off, f_conn, f_owner = (
        np.concatenate([getattr(fac, a)[fi] for fac, fi in zip(facilities, fis, strict=True)])
        if fis
        else np.zeros(0)
        for a in ("street", "offset", "connector", "owner")
    )
    f_street = f_street.astype(np.int64, copy=False)
    lo = legs.street_ptr[f_street]
    cnt = legs.street_ptr[f_street + 1] - lo
    total = int(cnt.sum())
    if total == 0:
        return None
    fi, at, _ = expand_lists(lo, cnt)
    oi = legs.by_street[at]
    st = legs.street[oi]
    delta = f_off[fi] - legs.offset[oi]
    base = (legs.connector[oi] + f_conn[fi]) * mg.conn_tpm[st]
    fwd = np.where(delta >= 0, base + _part(delta, mg.fwd_tpm[st]), np.inf)
    bwd = np.where(delta <= 0, base + _part(-delta, mg.bwd_tpm[st]), np.inf)
    return legs.owner[oi], f_cat[fi], f_owner[fi].astype(np.int64), np.minimum(fwd, bwd)


@dataclass
class CategoryJob:
    """One engine pass: a category's snapped facilities to the origins' first legs, on
    one mode's graph, within ``limit`` seconds."""

    mg: ModeGraph
    legs: OriginLegs
    facilities: SnapResult
    limit: float


def category_times(
    jobs: Sequence[CategoryJob], *, nearest: bool = False
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Per job, the time from each origin to its nearest facility (inf beyond the limit)
    and, with ``nearest``, which facility (-1 for none).

    With the compiled engine the jobs run side by side on ``settings.threads`` threads
    (the largest first), each a Dijkstra and the origins' times in one call without
    the GIL; otherwise one after the other on the scipy path. Same answers either way.
    """
    kernels = _parallel.kernels()
    if kernels is None:
        return _category_times_scipy(jobs, nearest)
    tasks = [_kernel_task(job) for job in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -len(tasks[i][3][0]))

    def one(i: int) -> tuple[np.ndarray, np.ndarray | None]:
        n = jobs[i].legs.n_points
        best = np.empty(n)
        who = np.empty(n if nearest else 0, dtype=np.int64)
        task = tasks[i]
        work = _work_space(kernels, len(task[0]) - 1, len(task[3][0]), nearest)
        _work.heap = kernels.category_times(*task, best, who, work)
        return best, (who if nearest else None)

    out: list[tuple[np.ndarray, np.ndarray | None]] = [(np.zeros(0), None)] * len(jobs)
    for i, result in zip(order, _parallel.run(one, order), strict=True):
        out[i] = result
    return out


_work = threading.local()


def _work_space(
    kernels: Any, n: int, links: int, track: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's work space for a search on ``n`` nodes: times, sources (empty
    unless ``track``) and heap. Kept between calls, so that a search does not fault in
    fresh pages (about 5 % of a search on a million nodes); it grows to the largest
    network searched on the thread (24 bytes a node, 32 with sources)."""
    dist = getattr(_work, "dist", None)
    if dist is None or len(dist) < n:
        dist = _work.dist = np.empty(n)
    who = getattr(_work, "who", None)
    if track and (who is None or len(who) < n):
        who = _work.who = np.empty(n, dtype=np.int64)
    heap = getattr(_work, "heap", None)
    size = kernels.heap_size(n, links)
    if heap is None or len(heap) < size:
        heap = _work.heap = np.empty(size)
    return dist[:n], (who[:n] if track and who is not None else _NO_SOURCES), heap


_NO_SOURCES = np.empty(0, dtype=np.int64)


def _kernel_task(job: CategoryJob) -> tuple[Any, ...]:
    """The arguments of ``_kernels.category_times`` for a job (but the outputs)."""
    mg, legs, sub = job.mg, job.legs, job.facilities
    kg = kernel_graph(mg)
    if legs.kernel is None:
        legs.kernel = (legs.owner, kg.rank[legs.node_u], kg.rank[legs.node_v], legs.to_u,
                       legs.to_v, legs.street, legs.offset, legs.connector, legs.by_street,
                       legs.street_ptr)  # fmt: skip
    fpos, node, w = facility_links(mg, sub)
    e = sub.entries()
    facilities = (sub.street[e], sub.offset[e], sub.connector[e], sub.owner[e])
    return (kg.indptr, kg.indices, kg.data, (kg.rank[node], w, fpos), float(job.limit),
            legs.kernel, facilities, (mg.conn_tpm, mg.fwd_tpm, mg.bwd_tpm))  # fmt: skip


def _same_pass(a: CategoryJob, b: CategoryJob) -> bool:
    return a.mg is b.mg and a.legs is b.legs and a.limit == b.limit


def _category_times_scipy(
    jobs: Sequence[CategoryJob], nearest: bool
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """:func:`category_times` on the scipy path; consecutive jobs on the same graph,
    origins and limit share one pass over the origins."""
    out: list[tuple[np.ndarray, np.ndarray | None]] = []
    start = 0
    while start < len(jobs):
        first = jobs[start]
        stop = start + 1
        while stop < len(jobs) and _same_pass(jobs[stop], first):
            stop += 1
        group = jobs[start:stop]
        dists, srcs = [], []
        for job in group:
            dist, src = node_times(job.mg, job.facilities, job.limit, with_source=nearest)
            dists.append(dist)
            if src is not None:
                srcs.append(src)
        best, who = origin_times_many(
            first.mg, dists, srcs if nearest else None, first.legs,
            [job.facilities for job in group], first.limit,
        )  # fmt: skip
        out += [(best[:, j], None if who is None else who[:, j]) for j in range(len(group))]
        start = stop
    return out


def _categories(fac: gpd.GeoDataFrame, category: str) -> list[Hashable]:
    col = fac[category]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return [v for v in pd.unique(col.to_numpy()) if not pd.isna(v)]  # one per category


def _labels(index: pd.Index, pos: np.ndarray, out_index: pd.Index) -> pd.Series:
    """Facility index labels at positions ``pos`` (-1 -> missing), as a nullable Series."""
    missing = pos < 0
    taken = index.take(np.where(missing, 0, pos)) if len(index) else pd.Index([None] * len(pos))
    if pd.api.types.is_integer_dtype(index.dtype):
        arr = pd.array(np.asarray(taken, dtype=np.int64), dtype="Int64")
        arr[missing] = pd.NA
        return pd.Series(arr, index=out_index)
    values = np.asarray(taken, dtype=object)
    values[missing] = pd.NA
    return pd.Series(values, index=out_index, dtype=object)


@overload
def travel_times(
    network: Network,
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_time_s: float,
    category: str = ...,
    nearest: Literal[False] = ...,
    entrances: gpd.GeoDataFrame | None = ...,
) -> pd.DataFrame: ...


@overload
def travel_times(
    network: Network,
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_time_s: float,
    category: str = ...,
    nearest: Literal[True],
    entrances: gpd.GeoDataFrame | None = ...,
) -> tuple[pd.DataFrame, pd.DataFrame]: ...


def travel_times(
    network: Network,
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_time_s: float,
    category: str = "category",
    nearest: bool = False,
    entrances: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Travel time from every origin to the nearest facility of each category.

    Parameters
    ----------
    network
        A :class:`planner.Network`; its mode and speed apply.
    facilities
        Points in any CRS, with a category column.
    origins
        Points or polygons in any CRS (a polygon starts from its representative point).
    max_time_s
        Search limit in seconds; trips longer than this are inf. ``math.inf`` for none.
    category
        Name of the facilities' category column.
    nearest
        Also return, per origin and category, the index label of the nearest facility.
    entrances
        Gates of gated compounds: points with a ``block`` column naming the origin
        (index label) they open. Such an origin is reached only through its gates, after
        the straight walk inside the compound from its representative point to the gate;
        see :func:`planner.block_entrances`.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.DataFrame)
        Seconds, indexed like ``origins``, one float64 column per category value (inf
        where nothing is reachable within ``max_time_s``). With ``nearest=True``, also a
        frame of the same shape holding the nearest facility's index label (NA for none).

    Notes
    -----
    A point farther than ``settings.max_snap_m`` from every usable edge is unreachable;
    such points are counted in one :class:`planner.errors.PlannerWarning`.

    Examples
    --------
    >>> times = planner.travel_times(net, pois, blocks, max_time_s=900)  # doctest: +SKIP
    >>> (times <= 600).mean()  # share of blocks within 10 minutes, per category  # doctest: +SKIP
    """
    net = check_network(network)
    limit = check_limit(max_time_s)
    fac = check_facilities(facilities, category)
    org = check_gdf(origins, "origins")
    mg = net.graph

    fvalues = fac.geometry.to_numpy()
    present = shapely.is_geometry(fvalues) & ~shapely.is_empty(fvalues)
    fac_ok = fac if present.all() else fac[present]
    fsn = snap_layer(net, fac_ok.geometry)
    osn = snap_origins(net, org, entrances)
    warn_unsnapped(fsn.snap, osn.snap, int((~present).sum()), net)

    cats = _categories(fac, category)
    codes = fac_ok[category].to_numpy()
    legs = origin_legs(mg, osn.snap)
    positions = [np.flatnonzero((codes == cat) & fsn.snap.ok) for cat in cats]
    jobs = [CategoryJob(mg, legs, fsn.snap.take(pos), limit) for pos in positions]
    results = category_times(jobs, nearest=nearest)
    best = np.column_stack([r[0] for r in results]) if cats else np.zeros((len(org), 0))
    who = np.column_stack([r[1] for r in results if r[1] is not None]) if nearest and cats else None
    out = pd.DataFrame(best, index=org.index, columns=pd.Index(cats), dtype=np.float64)
    ids: dict[Hashable, pd.Series] = {}
    if nearest and who is not None:
        for j, (cat, pos) in enumerate(zip(cats, positions, strict=True)):
            w = who[:, j]
            ids[cat] = _labels(fac_ok.index, np.where(w >= 0, pos[np.maximum(w, 0)], -1), org.index)
    log(
        f"travel_times: {len(org):,} origins, {len(fac_ok):,} facilities in {len(cats)} "
        f"categories, {net.spec.label}, limit {limit:g} s"
    )
    if nearest:
        return out, pd.DataFrame(ids, index=org.index, columns=pd.Index(cats))
    return out


def warn_unsnapped(fac: SnapResult, org: SnapResult, fac_empty: int, net: Network) -> None:
    n_fac = int((~fac.ok).sum())
    n_org = int((~org.ok).sum())
    if n_fac or n_org or fac_empty:
        parts = []
        if n_fac:
            parts.append(f"{n_fac} facilities")
        if n_org:
            parts.append(f"{n_org} origins")
        msg = (
            f"{' and '.join(parts) or 'no points'} are farther than {settings.max_snap_m:g} m "
            f"(settings.max_snap_m) from every street usable in mode {net.mode!r}, or have no "
            "geometry, and are treated as unreachable (inf). Check their CRS (GCJ-02 data "
            "must be declared) and that the network covers them."
        )
        if fac_empty:
            msg += f" {fac_empty} facilities have no geometry and were ignored."
        warnings.warn(msg, PlannerWarning, stacklevel=3)
