"""Isochrone polygons from exact travel times: for display, never the basis of coverage.

How a polygon is made, for each threshold T:

1. One multi-source Dijkstra gives every node its time to the nearest facility (the
   same engine and direction as :func:`planner.travel_times`).
2. The *reached part* of every street is computed exactly: from each end the distance
   the remaining time allows, and around a facility on the street itself; partial
   streets are cut at the threshold along their polylines. The unreached parts are
   kept too.
3. Both are drawn on a fine grid (``cell_m``); the reached cells grow by ``buffer_m``
   (a Euclidean distance transform), the cells of unreached streets (and one cell
   around them) are taken out again, and the area is traced into polygons (contourpy).

So the polygon covers every reached street, never contains an unreached street of the
mode, leaves holes where large blocks are farther than ``buffer_m`` from any reached
street, and never bridges a gap that the network does not bridge. The raster step makes
it fast: no union of hundreds of thousands of buffers.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.ndimage import binary_dilation, distance_transform_edt

from . import settings
from ._log import log
from ._snap import SnapResult
from ._validate import check_facilities, check_gdf, check_limit, check_network
from .access import node_times, snap_layer
from .errors import InputError
from .network import ModeGraph, Network

HOW = ("merged", "split", "per_facility")


def isochrones(
    network: Network,
    facilities: gpd.GeoDataFrame,
    *,
    times_s: Sequence[float] | float = (300, 600, 900),
    how: str = "merged",
    category: str | None = "category",
    buffer_m: float | None = None,
    cell_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Areas within each travel time of the nearest facility, per category.

    Parameters
    ----------
    network
        A :class:`planner.Network`; its mode and speed apply.
    facilities
        Points; grouped by ``category`` when that column exists (else one group).
    times_s
        Thresholds in seconds.
    how
        {"merged", "split", "per_facility"}: one polygon per category and threshold
        (the union of all facilities' areas); rings between consecutive thresholds; or
        one polygon per facility and threshold (``facility`` holds its index label).
    category
        The facilities' category column, or None to treat them as one group.
    buffer_m
        How far from a reached street the area extends (``settings.isochrone_buffer_m``).
    cell_m
        Grid cell of the drawing (``settings.isochrone_cell_m``; coarsened to keep the
        grid under ``settings.isochrone_max_cells``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``category``, ``time_s``, ``time_min`` (and ``time_from_s`` for split,
        ``facility`` for per_facility); polygons in the facilities' CRS (a result per
        facility or group of facilities).
    """
    net = check_network(network)
    if how not in HOW:
        msg = f"how={how!r}; expected one of {', '.join(HOW)}."
        raise InputError(msg)
    times = _thresholds(times_s)
    fac, groups = _groups(facilities, category)
    draw = _Drawing(
        net.graph,
        snap_layer(net, fac.geometry).snap,
        times,
        float(settings.isochrone_buffer_m if buffer_m is None else buffer_m),
        float(settings.isochrone_cell_m if cell_m is None else cell_m),
    )
    rows: list[dict[str, Any]] = []
    for cat, pos in groups:
        if how == "per_facility":  # opt-in output: one bounded search per facility
            for p in pos:
                one = {"category": cat, "facility": fac.index[p]}
                rows.extend(draw.rows(np.array([p]), one, single=True))
        else:
            rows.extend(draw.rows(pos, {"category": cat}, split=how == "split"))
    out = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=net.crs)
        if rows
        else gpd.GeoDataFrame({"category": [], "time_s": []}, geometry=[], crs=net.crs)
    )
    out["time_min"] = out["time_s"] / 60.0
    log(f"isochrones: {len(out)} polygons ({how}), {len(groups)} groups, thresholds {times}")
    return out.to_crs(fac.crs)


def _thresholds(times_s: Sequence[float] | float) -> list[float]:
    times = sorted({check_limit(t, "times_s") for t in np.atleast_1d(times_s)})
    if not times or not all(math.isfinite(t) and t > 0 for t in times):
        msg = f"times_s must be positive finite seconds, e.g. (300, 600, 900); got {times_s!r}."
        raise InputError(msg)
    return times


def _groups(
    facilities: gpd.GeoDataFrame, category: str | None
) -> tuple[gpd.GeoDataFrame, list[tuple[Hashable, np.ndarray]]]:
    """The checked facilities and their positions by category (one group without one)."""
    if category is not None and category in getattr(facilities, "columns", []):
        fac = check_facilities(facilities, category)
        codes = fac[category].to_numpy()
        cats = pd.unique(fac[category].dropna())
        return fac, [(cat, np.flatnonzero(codes == cat)) for cat in cats]
    fac = check_gdf(facilities, "facilities")
    return fac, [(None, np.arange(len(fac)))]


class _Drawing:
    """Polygons of the areas reached from sets of snapped facilities at the thresholds."""

    def __init__(
        self, mg: ModeGraph, snapped: SnapResult, times: list[float], buffer: float, cell: float
    ) -> None:
        self.mg, self.snapped, self.times = mg, snapped, times
        self.buffer, self.cell = buffer, cell

    def rows(
        self, pos: np.ndarray, attrs: dict[str, Any], *, split: bool = False, single: bool = False
    ) -> list[dict[str, Any]]:
        """One row per threshold for the facilities at ``pos`` (a ``single`` facility off
        the network: no row; a group: empty polygons)."""
        sub = self.snapped.take(pos[self.snapped.ok[pos]])
        if single and not sub.ok.any():
            return []
        dist, _ = node_times(self.mg, sub, self.times[-1])
        masks = _masks(self.mg, dist, sub, self.times, self.buffer, self.cell)
        if not split:
            return [
                {**attrs, "time_s": t, "geometry": g}
                for t, g in zip(self.times, masks.polygons(), strict=True)
            ]
        lower = [0.0, *self.times[:-1]]
        return [
            {**attrs, "time_from_s": lo, "time_s": t, "geometry": g}
            for lo, t, g in zip(lower, self.times, masks.polygons(split=True), strict=True)
        ]


class _Masks:
    """Rasterised reach of one facility set at several thresholds, on one grid.

    ``layers`` are the cells of each threshold; ``reached``/``unreached`` the exact
    street segments, used to take unreached streets that share a grid cell with a
    reached one (a footbridge over a street, two close parallel paths) out of the traced
    polygon with vector precision.
    """

    def __init__(
        self,
        origin: tuple[float, float],
        cell: float,
        layers: list[np.ndarray],
        reached: list[np.ndarray] | None = None,
        unreached: list[np.ndarray] | None = None,
    ) -> None:
        self.origin = origin
        self.cell = cell
        self.layers = layers
        self.reached = reached or [np.zeros(0, dtype=object) for _ in layers]
        self.unreached = unreached or [np.zeros(0, dtype=object) for _ in layers]

    def polygons(self, *, split: bool = False) -> list[shapely.Geometry]:
        out = []
        prev: np.ndarray | None = None
        for i, layer in enumerate(self.layers):
            grid = layer & ~prev if (split and prev is not None) else layer
            geom = _trace(grid, self.origin, self.cell)
            out.append(_carve(geom, self.reached[i], self.unreached[i]))
            prev = layer
        return out


def _carve(geom: shapely.Geometry, reached: np.ndarray, unreached: np.ndarray) -> shapely.Geometry:
    """Remove unreached street segments that the raster could not separate."""
    if geom.is_empty or len(unreached) == 0:
        return geom
    tree = shapely.STRtree(unreached)
    hit = tree.query(geom, predicate="intersects")
    if len(hit) == 0:
        return geom
    cut = shapely.union_all(shapely.buffer(unreached[hit], 0.75))
    near = shapely.STRtree(reached).query(cut, predicate="intersects") if len(reached) else []
    if len(near):  # where a reached street crosses an unreached one, the reached one wins
        cut = shapely.difference(cut, shapely.union_all(shapely.buffer(reached[near], 0.75)))
    return shapely.difference(geom, cut)


def _lines(seg: tuple[np.ndarray, ...]) -> np.ndarray:
    x0, y0, x1, y1 = seg[:4]
    keep = (x0 != x1) | (y0 != y1)
    coords = np.stack(
        [np.column_stack([x0[keep], y0[keep]]), np.column_stack([x1[keep], y1[keep]])], axis=1
    )
    return shapely.linestrings(coords) if len(coords) else np.zeros(0, dtype=object)


def _intervals(
    mg: ModeGraph, dist: np.ndarray, fac: SnapResult, t: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reached intervals (street, start, end) in length units along each street."""
    length = mg.length
    du = dist[mg.su]
    dv = dist[mg.sv]
    with np.errstate(invalid="ignore", divide="ignore"):
        from_u = np.where(du <= t, np.minimum(length, (t - du) / mg.bwd_tpm), -1.0)
        from_v = np.where(dv <= t, np.maximum(0.0, length - (t - dv) / mg.fwd_tpm), np.inf)
    s_all = np.arange(len(length))
    a = from_u >= 0
    b = np.isfinite(from_v)
    streets = [s_all[a], s_all[b]]
    starts = [np.zeros(int(a.sum())), from_v[b]]
    ends = [from_u[a], length[b]]
    e = fac.entries()
    if len(e):  # around facilities on the street itself
        s = fac.street[e]
        left = t - fac.connector[e] * mg.conn_tpm[s]
        ok = left >= 0
        s, off, left = s[ok], fac.offset[e][ok], left[ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            lo = np.maximum(0.0, off - np.nan_to_num(left / mg.fwd_tpm[s], nan=0.0))
            hi = np.minimum(length[s], off + np.nan_to_num(left / mg.bwd_tpm[s], nan=0.0))
        streets.append(s)
        starts.append(lo)
        ends.append(hi)
    st = np.concatenate(streets)
    lo = np.concatenate(starts)
    hi = np.concatenate(ends)
    keep = hi >= lo
    return st[keep], lo[keep], hi[keep]


def _complement(
    n: int, length: np.ndarray, st: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts of every street not covered by the given intervals."""
    order = np.lexsort((lo, st))
    st, lo, hi = st[order], lo[order], hi[order]
    # running maximum of interval ends within each street
    hi_run = pd.Series(hi).groupby(st).cummax().to_numpy()
    prev_end = np.r_[np.nan, hi_run[:-1]]
    first = np.r_[True, st[1:] != st[:-1]]
    gap_lo = np.where(first, 0.0, prev_end)
    gaps = [(st, gap_lo, lo)]
    last = np.r_[st[1:] != st[:-1], True]
    gaps.append((st[last], hi_run[last], length[st[last]]))
    touched = np.zeros(n, dtype=bool)
    touched[st] = True
    untouched = np.flatnonzero(~touched)
    gaps.append((untouched, np.zeros(len(untouched)), length[untouched]))
    s = np.concatenate([g[0] for g in gaps])
    a = np.concatenate([g[1] for g in gaps])
    b = np.concatenate([g[2] for g in gaps])
    keep = b > a + 1e-9
    return s[keep], a[keep], b[keep]


def _segments(
    mg: ModeGraph, st: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Straight segments (x0, y0, x1, y1, street) of the street intervals along polylines."""
    sn = mg.snapper
    piece_street = sn.piece_street
    first = np.searchsorted(piece_street, np.arange(len(mg.length) + 1))
    glen = sn.street_geom_len[st]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(mg.length[st] > 0, glen / mg.length[st], 0.0)
    g_lo, g_hi = lo * scale, hi * scale
    count = first[st + 1] - first[st]
    rep = np.repeat(np.arange(len(st)), count)
    piece = np.repeat(first[st], count) + (
        np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    )
    ps, pe = sn.off_start[piece], sn.off_end[piece]
    pmin, pmax = np.minimum(ps, pe), np.maximum(ps, pe)
    a = np.maximum(g_lo[rep], pmin)
    b = np.minimum(g_hi[rep], pmax)
    ok = b >= a
    rep, piece, a, b, ps, pe = rep[ok], piece[ok], a[ok], b[ok], ps[ok], pe[ok]
    span = pe - ps
    with np.errstate(invalid="ignore", divide="ignore"):
        ta = np.where(span != 0, (a - ps) / span, 0.0)
        tb = np.where(span != 0, (b - ps) / span, 0.0)
    x0, y0, dx, dy = sn.x0[piece], sn.y0[piece], sn.dx[piece], sn.dy[piece]
    return x0 + ta * dx, y0 + ta * dy, x0 + tb * dx, y0 + tb * dy, st[rep]


def _cells(
    seg: tuple[np.ndarray, ...],
    origin: tuple[float, float],
    cell: float,
    shape: tuple[int, int],
) -> np.ndarray:
    """Boolean grid of the cells the segments pass through (sampled every half cell)."""
    x0, y0, x1, y1 = seg[:4]
    grid = np.zeros(shape, dtype=bool)
    if len(x0) == 0:
        return grid
    seglen = np.hypot(x1 - x0, y1 - y0)
    k = np.maximum(1, np.ceil(seglen / (cell / 2.0))).astype(np.int64)
    rep = np.repeat(np.arange(len(x0)), k + 1)
    j = np.arange(int((k + 1).sum())) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)
    f = j / np.repeat(k, k + 1)
    px = x0[rep] + f * (x1 - x0)[rep]
    py = y0[rep] + f * (y1 - y0)[rep]
    col = np.floor((px - origin[0]) / cell).astype(np.int64)
    row = np.floor((py - origin[1]) / cell).astype(np.int64)
    inside = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    grid[row[inside], col[inside]] = True
    return grid


def _masks(
    mg: ModeGraph, dist: np.ndarray, fac: SnapResult, times: list[float], buffer: float, cell: float
) -> _Masks:
    reached = [_intervals(mg, dist, fac, t) for t in times]
    seg_all = _segments(mg, *reached[-1])[:4]
    if len(seg_all[0]) == 0:
        return _Masks((0.0, 0.0), cell, [np.zeros((1, 1), dtype=bool) for _ in times])
    grid = _Grid.around(seg_all, buffer, cell)
    layers, on_lines, off_lines = [], [], []
    for st, lo, hi in reached:
        layer, on, off = _layer(mg, grid, buffer, st, lo, hi)
        layers.append(layer)
        on_lines.append(on)
        off_lines.append(off)
    return _Masks(grid.origin, grid.cell, layers, on_lines, off_lines)


@dataclass(frozen=True)
class _Grid:
    """The drawing lattice: lower-left corner, cell side and shape (rows, columns)."""

    origin: tuple[float, float]
    cell: float
    shape: tuple[int, int]

    @classmethod
    def around(cls, seg: tuple[np.ndarray, ...], buffer: float, cell: float) -> _Grid:
        """A lattice covering the segments and the buffer, coarsened past the cell limit."""
        pad = buffer + 3 * cell
        xmin = float(min(seg[0].min(), seg[2].min())) - pad
        ymin = float(min(seg[1].min(), seg[3].min())) - pad
        xmax = float(max(seg[0].max(), seg[2].max())) + pad
        ymax = float(max(seg[1].max(), seg[3].max())) + pad
        cells = (xmax - xmin) * (ymax - ymin) / cell**2
        if cells > settings.isochrone_max_cells:
            cell = cell * math.sqrt(cells / settings.isochrone_max_cells)
        # one lattice for every call with this cell size, so grids of different facility
        # sets line up (per-facility polygons tile the merged one)
        xmin, ymin = math.floor(xmin / cell) * cell, math.floor(ymin / cell) * cell
        shape = (math.ceil((ymax - ymin) / cell) + 1, math.ceil((xmax - xmin) / cell) + 1)
        return cls((xmin, ymin), cell, shape)

    def cells(self, seg: tuple[np.ndarray, ...]) -> np.ndarray:
        """The cells the segments pass through."""
        return _cells(seg, self.origin, self.cell, self.shape)


def _layer(
    mg: ModeGraph, grid: _Grid, buffer: float, st: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One threshold's cells, and the reached and unreached street lines to carve with.

    The cells within ``buffer`` of a reached street, less the cells of unreached streets
    (and one cell around them). Streets not reached at all (another component, a
    footbridge over a reached street, a path beside one) that share cells with reached
    streets are carved from the outline with vector precision; the unreached rest of a
    partly reached street is left to the raster (within a cell of the cut).
    """
    n_streets = len(mg.length)
    on_seg = _segments(mg, st, lo, hi)
    off_seg = _segments(mg, *_complement(n_streets, mg.length, st, lo, hi))
    on = grid.cells(on_seg)
    off = grid.cells(off_seg)
    radius = max(buffer / grid.cell, 1.0)  # the outline lies within a cell of the exact buffer
    near = distance_transform_edt(~on) <= radius if on.any() else on
    blocked = binary_dilation(off & ~on) & ~on
    touched = np.zeros(n_streets, dtype=bool)
    touched[st] = True
    candidates = ~touched[off_seg[4]]
    conflict = np.zeros(len(off_seg[0]), dtype=bool)
    if candidates.any():
        conflict[candidates] = _conflicts(
            tuple(a[candidates] for a in off_seg), on, grid.origin, grid.cell
        )
    bad = tuple(a[conflict] for a in off_seg)
    on_lines = np.zeros(0, dtype=object)
    if conflict.any():  # the reached segments near them, to keep reached streets whole
        around = binary_dilation(grid.cells(bad), iterations=2)
        keep = _conflicts(on_seg, around, grid.origin, grid.cell)
        on_lines = _lines(tuple(a[keep] for a in on_seg))
    return near & ~blocked, on_lines, _lines(bad)


def _conflicts(
    seg: tuple[np.ndarray, ...],
    on: np.ndarray,
    origin: tuple[float, float],
    cell: float,
) -> np.ndarray:
    """Segments (by position) that pass through a marked cell or next to one."""
    x0, y0, x1, y1 = seg[:4]
    if len(x0) == 0:
        return np.zeros(0, dtype=bool)
    grown = binary_dilation(on)
    seglen = np.hypot(x1 - x0, y1 - y0)
    k = np.maximum(1, np.ceil(seglen / (cell / 3.0))).astype(np.int64)
    rep = np.repeat(np.arange(len(x0)), k + 1)
    j = np.arange(int((k + 1).sum())) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)
    f = j / np.repeat(k, k + 1)
    col = np.floor((x0[rep] + f * (x1 - x0)[rep] - origin[0]) / cell).astype(np.int64)
    row = np.floor((y0[rep] + f * (y1 - y0)[rep] - origin[1]) / cell).astype(np.int64)
    inside = (row >= 0) & (row < on.shape[0]) & (col >= 0) & (col < on.shape[1])
    hit = np.zeros(len(rep), dtype=bool)
    hit[inside] = grown[row[inside], col[inside]]
    out = np.zeros(len(x0), dtype=bool)
    out[rep[hit]] = True
    return out


def _trace(grid: np.ndarray, origin: tuple[float, float], cell: float) -> shapely.Geometry:
    """Polygons (with holes) of the True cells, traced at the cells' mid-lines."""
    import contourpy

    if not grid.any():
        return shapely.MultiPolygon()
    z = np.pad(grid.astype(np.float64), 1)
    xs = origin[0] + (np.arange(z.shape[1]) - 0.5) * cell
    ys = origin[1] + (np.arange(z.shape[0]) - 0.5) * cell
    gen = contourpy.contour_generator(xs, ys, z, fill_type=contourpy.FillType.OuterOffset)
    filled: Any = gen.filled(0.5, 1.5)  # OuterOffset: (points per polygon, ring offsets)
    points, offsets = filled[0], filled[1]
    polys = []
    for pts, offs in zip(points, offsets, strict=True):
        rings = [pts[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
        polys.append(shapely.Polygon(rings[0], rings[1:]))
    return shapely.MultiPolygon(polys) if len(polys) != 1 else polys[0]
