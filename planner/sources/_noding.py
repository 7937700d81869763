"""Join streets where their lines cross without a shared vertex.

Road lines from CAD drawings and bureaus often cross at junctions without a vertex at
the crossing, so a network built from their ends alone splits into pieces that never
meet. :func:`node_crossings` splits every edge of a :class:`RawNetwork` at the points
where it crosses (or touches, or overlaps the end of) another edge and puts one node
there, shared by all the edges through it. Edges tagged ``bridge`` or ``tunnel``, and
edges on different ``layer`` values, are left apart (they pass over or under each
other). Edges that already share a node are not tested against each other.

Everything is vectorised with shapely 2 and numpy: one STRtree query for the candidate
pairs, one intersection call, and the pieces built from sorted coordinate arrays.
:func:`dangling_ends` counts dead ends that lie within a few metres of another edge
without meeting it (often a gap in the drawing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

if TYPE_CHECKING:
    from .networks import RawNetwork

__all__ = ["DANGLE_M", "Noding", "cluster_points", "dangling_ends", "node_crossings"]

#: How near (metres) a dead end must be to another edge to be reported as dangling.
DANGLE_M = 5.0
# Tag values that keep an edge apart from the edges it crosses.
_NOT = {"no", "false", "0", ""}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Noding:
    """What :func:`node_crossings` did: crossings joined, and where (input CRS)."""

    crossings: int
    example: tuple[float, float] | None


@dataclass(frozen=True)
class _Splits:
    """Split points: the edge, the distance along it (metric), and the point."""

    edge: IntArray
    at: FloatArray
    xy: FloatArray


def _metric(raw: RawNetwork) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    """Transformers from the network's CRS to its UTM zone and back."""
    crs = pyproj.CRS.from_user_input(raw.crs)
    if crs.is_projected:
        same = pyproj.Transformer.from_crs(crs, crs, always_xy=True)
        return same, same
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    x, y = np.asarray(raw.node_x, float), np.asarray(raw.node_y, float)
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    aoi = AreaOfInterest(
        float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))
    )
    utm = pyproj.CRS.from_epsg(int(query_utm_crs_info("WGS 84", area_of_interest=aoi)[0].code))
    return (
        pyproj.Transformer.from_crs(crs, utm, always_xy=True),
        pyproj.Transformer.from_crs(utm, crs, always_xy=True),
    )


def _apply(tr: pyproj.Transformer, geoms: Any) -> Any:
    def move(xy: FloatArray) -> FloatArray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, move)


def _edge_lines(raw: RawNetwork, to_metric: pyproj.Transformer) -> npt.NDArray[np.object_]:
    """Every edge as a metric LineString (straight from its nodes when it has none)."""
    index = pd.Index(raw.node_ids)
    u, v = index.get_indexer(raw.edges_u), index.get_indexer(raw.edges_v)
    geoms = np.asarray(raw.geometry, dtype=object)
    has = shapely.is_geometry(geoms)
    if has.any():
        has[np.flatnonzero(has)] = (
            shapely.get_type_id(geoms[has]) == shapely.GeometryType.LINESTRING
        )
    lines = np.empty(len(geoms), dtype=object)
    lines[has] = shapely.force_2d(geoms[has])
    if has.any():  # orient every polyline from u to v, as the Network does
        idx = np.flatnonzero(has)
        start = shapely.get_coordinates(shapely.get_point(lines[idx], 0))
        nx, ny = np.asarray(raw.node_x, float), np.asarray(raw.node_y, float)
        keep = np.hypot(start[:, 0] - nx[u[idx]], start[:, 1] - ny[u[idx]])
        flip = np.hypot(start[:, 0] - nx[v[idx]], start[:, 1] - ny[v[idx]])
        turn = idx[flip < keep]
        lines[turn] = shapely.reverse(lines[turn])
    straight = np.flatnonzero(~has)
    x, y = np.asarray(raw.node_x, float), np.asarray(raw.node_y, float)
    ends = np.stack(
        [
            np.column_stack([x[u[straight]], y[u[straight]]]),
            np.column_stack([x[v[straight]], y[v[straight]]]),
        ],
        axis=1,
    )
    if len(straight):
        lines[straight] = shapely.linestrings(ends)
    return np.asarray(_apply(to_metric, lines), dtype=object)


def _flag(tags: pd.DataFrame, key: str) -> BoolArray:
    if key not in tags.columns:
        return np.zeros(len(tags), dtype=bool)
    text = tags[key].astype("string").str.strip().str.lower().fillna("")
    return ~text.isin(_NOT).to_numpy(dtype=bool)


def _candidate_pairs(lines: npt.NDArray[np.object_], raw: RawNetwork) -> tuple[IntArray, IntArray]:
    """Pairs of edges that touch, share no node, and lie on the same level."""
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    u, v = np.asarray(raw.edges_u), np.asarray(raw.edges_v)
    shared = (u[a] == u[b]) | (u[a] == v[b]) | (v[a] == u[b]) | (v[a] == v[b])
    apart = _flag(raw.tags, "bridge") | _flag(raw.tags, "tunnel")
    layer = (
        raw.tags["layer"].astype("string").str.strip().fillna("0").replace("", "0").to_numpy()
        if "layer" in raw.tags.columns
        else np.zeros(len(lines), dtype=object)
    )
    ok = ~shared & ~apart[a] & ~apart[b] & (layer[a] == layer[b])
    return a[ok].astype(np.int64), b[ok].astype(np.int64)


def _splits(lines: npt.NDArray[np.object_], a: IntArray, b: IntArray, tol: float) -> _Splits:
    """Where each edge must be cut: crossings strictly inside it (not at its ends)."""
    inter = shapely.intersection(lines[a], lines[b])
    parts, pair = shapely.get_parts(inter, return_index=True)
    is_point = shapely.get_type_id(parts) == shapely.GeometryType.POINT
    ends, end_pair = shapely.get_parts(shapely.boundary(parts[~is_point]), return_index=True)
    points = np.concatenate([parts[is_point], ends])
    pair = np.concatenate([pair[is_point], pair[~is_point][end_pair]])
    edge = np.concatenate([a[pair], b[pair]])
    points = np.concatenate([points, points])
    at = shapely.line_locate_point(lines[edge], points)
    inside = (at > tol) & (at < shapely.length(lines[edge]) - tol)
    edge, at, points = edge[inside], at[inside], points[inside]
    xy = shapely.get_coordinates(points)
    order = np.lexsort((at, edge))
    edge, at, xy = edge[order], at[order], xy[order]
    fresh = np.ones(len(edge), dtype=bool)
    fresh[1:] = (edge[1:] != edge[:-1]) | (np.diff(at) > tol)
    return _Splits(edge[fresh].astype(np.int64), at[fresh], xy[fresh])


def _pieces(
    lines: npt.NDArray[np.object_], s: _Splits
) -> tuple[npt.NDArray[np.object_], IntArray, IntArray]:
    """The cut edges' pieces, the edge of each, and the split number at each piece's start
    (-1 for an edge's first piece)."""
    cut = np.unique(s.edge)
    coords, which = shapely.get_coordinates(lines[cut], return_index=True)
    step = np.hypot(*np.diff(coords, axis=0).T)
    step[which[1:] != which[:-1]] = 0.0
    along = np.concatenate([[0.0], np.cumsum(step)])
    along -= along[np.searchsorted(which, which)]  # distance from each edge's start
    pos = np.searchsorted(cut, s.edge)
    n = len(s.edge)
    # records: vertices (1), each split as the end of one piece (0) and the start of the next (2)
    rec_edge = np.concatenate([which, pos, pos])
    rec_at = np.concatenate([along, s.at, s.at])
    rec_kind = np.concatenate([np.ones(len(which)), np.zeros(n), np.full(n, 2.0)])
    rec_xy = np.concatenate([coords, s.xy, s.xy])
    rec_split = np.concatenate([np.full(len(which), -1), np.arange(n), np.arange(n)])
    order = np.lexsort((rec_kind, rec_at, rec_edge))
    rec_edge, rec_kind, rec_xy, rec_split = (
        rec_edge[order],
        rec_kind[order],
        rec_xy[order],
        rec_split[order],
    )
    first = np.ones(len(rec_edge), dtype=bool)
    first[1:] = rec_edge[1:] != rec_edge[:-1]
    piece = np.cumsum(first | (rec_kind == 2)) - 1
    geoms = shapely.remove_repeated_points(shapely.linestrings(rec_xy, indices=piece))
    starts = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]])
    start_split = np.where(rec_kind[starts] == 2, rec_split[starts], -1)
    return np.asarray(geoms, dtype=object), cut[rec_edge[starts]], start_split.astype(np.int64)


def cluster_points(xy: FloatArray, tolerance_m: float) -> IntArray:
    """Label points so that points within ``tolerance_m`` (transitively) share a label."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(xy).query_pairs(r=tolerance_m, output_type="ndarray")
    n = len(xy)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return labels.astype(np.int64)


def _new_ids(ids: np.ndarray, n: int) -> np.ndarray:
    """``n`` node ids that are not in ``ids``: the next integers, else ("crossing", k)."""
    if np.issubdtype(ids.dtype, np.integer):
        return np.asarray(ids.max(initial=-1) + 1 + np.arange(n), dtype=ids.dtype)
    out = np.empty(n, dtype=object)
    out[:] = [("crossing", k) for k in range(n)]
    return out


def _split_nodes(
    raw: RawNetwork, s: _Splits, node_metric: FloatArray, back: pyproj.Transformer, tol: float
) -> tuple[np.ndarray, np.ndarray, FloatArray, FloatArray]:
    """The node id of each split point (an existing node within ``tol``, else a new one
    shared by the split points within ``tol``), the new ids and their coordinates."""
    from scipy.spatial import cKDTree

    label = cluster_points(s.xy, tol)
    distinct = int(label.max()) + 1
    centre = np.zeros((distinct, 2))
    np.add.at(centre, label, s.xy)
    centre /= np.bincount(label, minlength=distinct)[:, None]
    dist, near = cKDTree(node_metric).query(centre, distance_upper_bound=tol)
    existing = np.isfinite(dist)
    ids = np.asarray(raw.node_ids)
    new_ids = _new_ids(ids, int((~existing).sum()))
    node_of = np.empty(distinct, dtype=ids.dtype if ids.dtype != object else object)
    node_of[existing] = ids[near[existing]]
    node_of[~existing] = new_ids
    x, y = back.transform(centre[~existing, 0], centre[~existing, 1])
    return node_of[label], new_ids, np.asarray(x, float), np.asarray(y, float)


def _assemble(
    raw: RawNetwork,
    lines: npt.NDArray[np.object_],
    s: _Splits,
    back: pyproj.Transformer,
    tol: float,
    to_metric: pyproj.Transformer,
) -> RawNetwork:
    """The network with every cut edge replaced, in place, by its pieces."""
    pieces, parent, start_split = _pieces(lines, s)
    nx, ny = to_metric.transform(np.asarray(raw.node_x, float), np.asarray(raw.node_y, float))
    node_metric = np.column_stack([nx, ny])
    split_node, new_ids, new_x, new_y = _split_nodes(raw, s, node_metric, back, tol)
    last = np.r_[parent[1:] != parent[:-1], True]
    end_split = np.r_[start_split[1:], -1]
    end_split[last] = -1
    u, v = np.asarray(raw.edges_u), np.asarray(raw.edges_v)
    pu = np.where(start_split >= 0, split_node[np.maximum(start_split, 0)], u[parent])
    pv = np.where(end_split >= 0, split_node[np.maximum(end_split, 0)], v[parent])
    whole = np.setdiff1d(np.arange(len(u)), parent)
    order = np.argsort(np.concatenate([whole, parent]), kind="stable")
    share = shapely.length(pieces) / shapely.length(lines[parent])
    length = np.asarray(raw.length, dtype=np.float64)

    def both(kept: Any, cut: Any) -> Any:
        return np.concatenate([np.asarray(kept, dtype=object), np.asarray(cut, dtype=object)])[
            order
        ]

    ids = np.asarray(raw.node_ids)
    tags = pd.concat([raw.tags.iloc[whole], raw.tags.iloc[parent]], ignore_index=True)
    return replace(
        raw,
        node_ids=np.concatenate([ids, new_ids]),
        node_x=np.concatenate([np.asarray(raw.node_x, float), new_x]),
        node_y=np.concatenate([np.asarray(raw.node_y, float), new_y]),
        edges_u=both(u[whole], pu).astype(u.dtype),
        edges_v=both(v[whole], pv).astype(v.dtype),
        length=np.concatenate([length[whole], length[parent] * share])[order].astype(float),
        geometry=both(np.asarray(raw.geometry, dtype=object)[whole], _apply(back, pieces)),
        tags=tags.iloc[order].reset_index(drop=True),
    )


def node_crossings(raw: RawNetwork, *, tolerance_m: float = 0.5) -> tuple[RawNetwork, Noding]:
    """Split edges where they cross without a shared node, joining them there.

    Parameters
    ----------
    raw
        A network as a reader hands it over.
    tolerance_m
        Crossings closer than this to an edge's end are its end (no split), and split
        points closer than this to each other or to an existing node are one node.

    Returns
    -------
    tuple
        The noded network (edges cut into pieces that keep the edge's tags and, for a
        stated length, its share of it) and a :class:`Noding` report.
    """
    to_metric, back = _metric(raw)
    lines = _edge_lines(raw, to_metric)
    a, b = _candidate_pairs(lines, raw)
    if len(a) == 0:
        return raw, Noding(0, None)
    s = _splits(lines, a, b, tolerance_m)
    if len(s.edge) == 0:
        return raw, Noding(0, None)
    distinct = int(cluster_points(s.xy, tolerance_m).max()) + 1
    x, y = back.transform(s.xy[:1, 0], s.xy[:1, 1])
    noded = _assemble(raw, lines, s, back, tolerance_m, to_metric)
    return noded, Noding(distinct, (float(x[0]), float(y[0])))


def _dead_ends(raw: RawNetwork) -> IntArray:
    """Positions of nodes with exactly one neighbour."""
    index = pd.Index(raw.node_ids)
    u, v = index.get_indexer(raw.edges_u), index.get_indexer(raw.edges_v)
    pairs = np.unique(np.column_stack([np.minimum(u, v), np.maximum(u, v)]), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    degree = np.bincount(pairs.ravel(), minlength=len(index))
    return np.flatnonzero(degree == 1).astype(np.int64)


def dangling_ends(
    raw: RawNetwork, *, dangle_m: float = DANGLE_M
) -> tuple[int, tuple[float, float] | None]:
    """How many dead ends lie within ``dangle_m`` of an edge they do not meet, and one of
    them (in the network's CRS)."""
    ends = _dead_ends(raw)
    if len(ends) == 0:
        return 0, None
    to_metric, _ = _metric(raw)
    lines = _edge_lines(raw, to_metric)
    node_x, node_y = np.asarray(raw.node_x, float), np.asarray(raw.node_y, float)
    x, y = to_metric.transform(node_x[ends], node_y[ends])
    pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
    p, e = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=dangle_m)
    node = np.asarray(raw.node_ids)[ends[p]]
    other = (np.asarray(raw.edges_u)[e] != node) & (np.asarray(raw.edges_v)[e] != node)
    near = np.unique(p[other])
    if len(near) == 0:
        return 0, None
    first = ends[near[0]]
    return len(near), (float(node_x[first]), float(node_y[first]))
