"""Exact nearest-edge snapping on polylines, fast.

Each street is a polyline made of straight *pieces*. The index cuts every piece into
*parts* no longer than ``h`` metres and keeps the parts' midpoints in a KD-tree. Every
point of a part lies within (its length)/2 <= h/2 of its midpoint, so if p's nearest
part is at distance d*, its midpoint lies within d* + h/2 of p: the parts whose
midpoints lie within (best exact distance found so far) + h/2 contain the true nearest
one. The search asks the tree for the k nearest midpoints, projects p exactly on those
parts, and, only for the points where the k-th midpoint is still inside that radius,
asks again with 4k. The answer is exact whatever ``h`` is; ``h`` only moves work
between the tree and the exact projections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from . import _parallel

_PyKDTree: Any
try:  # pykdtree: a small OpenMP k-d tree that queries float32 data about 3x faster
    from pykdtree.kdtree import KDTree as _PyKDTree
except ImportError:  # pragma: no cover - optional speed-up
    _PyKDTree = None


def _spread_bits(v: np.ndarray) -> np.ndarray:
    v = v & 0xFFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def morton_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Order of points along a Z-curve over a 65536 x 65536 grid of their extent."""
    if len(x) < 2:
        return np.arange(len(x))
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    ix = ((x - x.min()) / span * 65535).astype(np.int64)
    iy = ((y - y.min()) / span * 65535).astype(np.int64)
    return np.argsort(_spread_bits(ix) | (_spread_bits(iy) << 1), kind="stable")


class _Tree:
    """k-nearest-neighbour queries on 2-D points; pykdtree (float32) when installed.

    Returns float64 distances and int64 indices, ``n`` for missing neighbours, and
    ``slack``: how far a returned distance may be from the exact one (float32 rounding
    of centred coordinates), so callers can keep exact guarantees.
    """

    def __init__(self, xy: np.ndarray) -> None:
        self.n = len(xy)
        self.centre = xy.mean(axis=0) if self.n else np.zeros(2)
        if _PyKDTree is not None and self.n:
            local = xy - self.centre
            extent = float(np.abs(local).max()) if self.n else 0.0
            self.slack = 4.0 * max(extent, 1.0) * 2.0**-23 + 1e-3
            self.tree: object = _PyKDTree(local.astype(np.float32), leafsize=16)
            self.fast = True
        else:
            self.slack = 0.0
            self.tree = cKDTree(xy, balanced_tree=False, compact_nodes=False)
            self.fast = False
        self.query_slack = self.slack

    def query(self, xy: np.ndarray, k: int, bound: float) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the k nearest points within ``bound``."""
        if self.fast:
            local = (xy - self.centre).astype(np.float32)
            extent = float(np.abs(local).max()) if len(local) else 0.0
            bound32 = bound + self.slack if np.isfinite(bound) else np.finfo(np.float32).max
            d, i = self.tree.query(local, k=k, distance_upper_bound=bound32)  # type: ignore[attr-defined]
            d = np.asarray(d, dtype=np.float64).reshape(len(xy), k)
            i = np.asarray(i, dtype=np.int64).reshape(len(xy), k)
            bad = (i >= self.n) | ~np.isfinite(d) | (d > 1e18)
            i[bad] = self.n
            d[bad] = np.inf
            self.query_slack = max(self.slack, 4.0 * extent * 2.0**-23 + 1e-3)
            return d, i
        d, i = self.tree.query(xy, k=k, distance_upper_bound=bound, workers=-1)  # type: ignore[attr-defined]
        self.query_slack = 0.0
        return np.asarray(d).reshape(len(xy), k), np.asarray(i, dtype=np.int64).reshape(len(xy), k)


def _stable_order(owner: np.ndarray, n: int) -> np.ndarray:
    """``np.argsort(owner, kind="stable")`` for owners in [0, n) that mostly appear once:
    a counting sort, with a real sort only among the owners that repeat."""
    counts = np.bincount(owner, minlength=n)
    pos = (np.cumsum(counts) - counts)[owner]
    multi = np.flatnonzero(counts[owner] > 1)
    if len(multi):
        o = multi[np.argsort(owner[multi], kind="stable")]
        first = np.r_[True, owner[o][1:] != owner[o][:-1]]
        starts = np.flatnonzero(first)
        pos[o] += np.arange(len(o)) - np.repeat(starts, np.diff(np.r_[starts, len(o)]))
    order = np.empty(len(owner), dtype=np.int64)
    order[pos] = np.arange(len(owner))
    return order


def expand_lists(lo: np.ndarray, cnt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten CSR-style lists: list ``i`` holds positions ``lo[i] .. lo[i] + cnt[i] - 1``.

    Returns (owner, position, starts): for each flattened item the list it came from
    and its position, and where each list starts in the flattened order.
    """
    owner = np.repeat(np.arange(len(cnt)), cnt)
    starts = np.cumsum(cnt) - cnt
    position = np.arange(len(owner)) + np.repeat(lo - starts, cnt)
    return owner, position, starts


def _project_segments(
    px: np.ndarray,
    py: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    inv_len2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points to segments (start, direction, 1 / squared length; all
    elementwise) and the clipped parameter of the projection (0 for a zero-length one)."""
    rx = px - x0
    ry = py - y0
    t = rx * dx
    t += ry * dy
    t *= inv_len2
    np.clip(t, 0.0, 1.0, out=t)
    rx -= t * dx
    ry -= t * dy
    rx *= rx
    ry *= ry
    rx += ry
    return np.sqrt(rx, out=rx), t


TIE_M = 1e-6
"""Streets within this many metres of the nearest one count as equally near."""

CELL_MAX = 500_000
"""Largest number of grid cells built for snapping (a few seconds of build at most)."""
GRID_AFTER = 2.0
"""The grid is built once the points snapped reach this many times its cells (a KD-tree
snap costs about 0.75 us a point, a grid snap 0.2 us, a cell 1.7 us to build)."""
CELL_SIZE_H = 0.5
"""Default cell side, in part lengths (smaller cells list fewer pieces but cost more)."""
CELL_MAX_SIZE_H = 2.0
CELL_LEVELS = 2
"""Halvings from the grid whose lists the KD-tree finds to the grid used."""
CELL_CHUNK = 500_000
"""Candidate (cell, part) pairs handled at once while building the grid (bounds memory)."""
CELL_MARGIN_M = 100.0
"""The grid extends this far beyond the streets; points outside it use the KD-tree."""
CELL_REACH_M = 150.0
"""Cells farther than this from every street are not listed (their points use the tree)."""
CELL_MAX_PIECES = 48
"""Cells with more candidate pieces than this are not listed."""
CELL_EPS_M = 1e-3
"""Margin added to every grid-cell search radius, far above float64 rounding."""
BUCKET_PARTS = 2.0
"""Parts per bucket, on average, of the compiled engine's snapping index."""
SNAP_CHUNK = 2048
"""Most points snapped by one task of the compiled engine (tasks run on
settings.threads); fewer points are cut into at least four tasks per thread, so that
the threads finish together."""
SNAP_CHUNK_MIN = 256
"""Fewest points in one snapping task (but the last)."""
SNAP_SORT_MIN = 4096
"""From this many points on, the compiled engine snaps them in the order of the coarse
cells holding them (nearby points one after the other: the index's memory is read
while it is still in the cache) and puts the entries back in the points' order."""
SNAP_SORT_CELL = 8
"""Side of those coarse cells, in buckets of the snapping index."""


@dataclass
class SnapResult:
    """Where points meet the network, one entry per (point, equally-near street).

    A point usually meets one street; where several are exactly as near (a node where
    streets meet, two ways drawn on top of each other) it has one entry per street and
    every use takes the best of them. A point that meets no street within the limit
    has one entry with ``street == -1``.

    Attributes
    ----------
    owner
        Position of the point each entry belongs to, sorted ascending.
    street
        Index of the street, -1 when the point lies beyond the limit.
    offset
        Position of the projection along the street from its first node, in the
        street's length units (metres), 0 <= offset <= length.
    connector
        Straight distance from the point to its projection, metres (inf if unsnapped).
    x, y
        The projection point (NaN if unsnapped), in the network's metric CRS.
    n_points
        Number of points that were snapped.
    """

    owner: np.ndarray
    street: np.ndarray
    offset: np.ndarray
    connector: np.ndarray
    x: np.ndarray
    y: np.ndarray
    n_points: int

    @property
    def ok(self) -> np.ndarray:
        """Per point: did it snap?"""
        out = np.zeros(self.n_points, dtype=bool)
        out[self.owner[self.street >= 0]] = True
        return out

    @property
    def primary(self) -> np.ndarray:
        """Per point: position of its first entry."""
        return np.searchsorted(self.owner, np.arange(self.n_points))

    def entries(self) -> np.ndarray:
        """Positions of the entries that did snap."""
        return np.flatnonzero(self.street >= 0)

    def take(self, points: np.ndarray) -> SnapResult:
        """The entries of a subset of points (by position), renumbered 0..len(points)-1."""
        points = np.asarray(points, dtype=np.int64)
        new = np.full(self.n_points, -1, dtype=np.int64)
        new[points] = np.arange(len(points))
        keep = new[self.owner] >= 0
        owner = new[self.owner[keep]]
        order = np.argsort(owner, kind="stable")
        sel = np.flatnonzero(keep)[order]
        return SnapResult(
            owner[order],
            self.street[sel],
            self.offset[sel],
            self.connector[sel],
            self.x[sel],
            self.y[sel],
            len(points),
        )


@dataclass
class _Cells:
    """A grid over the streets; each cell lists every piece that can be nearest to a
    point in it (or is flagged, and its points go to the KD-tree).

    Let U be the largest distance from the cell's corners to some piece P (distance to a
    segment is convex, so no point of the square is farther from P). Every point p of the
    cell is then within U of a piece, and a piece Q at most TIE_M farther than p's nearest
    one lies within U + TIE_M of p, hence of the square. The cell lists every piece within
    U + TIE_M (+ CELL_EPS_M) of the square; P is the piece nearest the centre, or for a
    refined cell the best of its parent's list.
    """

    x_min: float
    y_min: float
    size: float
    nx: int
    ny: int
    ptr: np.ndarray  # int32 (int64 for huge grids), nx * ny + 1
    piece: np.ndarray  # same type: pieces of every cell, cell after cell
    listed: np.ndarray  # bool per cell: False sends its points to the KD-tree

    def split(self, px: np.ndarray, py: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """(rows in listed cells, their cells, the other rows)."""
        fx = np.floor((px[rows] - self.x_min) / self.size)
        fy = np.floor((py[rows] - self.y_min) / self.size)
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        cell = np.where(inside, fy * self.nx + fx, 0).astype(np.int64)
        hit = inside & self.listed[cell]
        return rows[hit], cell[hit], rows[~hit]


class EdgeSnapper:
    """KD-tree over parts of street pieces (see the module docstring) and, on networks
    small enough, a grid of per-cell candidate pieces (:class:`_Cells`)."""

    def __init__(
        self,
        x0: np.ndarray,
        y0: np.ndarray,
        x1: np.ndarray,
        y1: np.ndarray,
        piece_street: np.ndarray,
        off_start: np.ndarray,
        off_end: np.ndarray,
        street_geom_len: np.ndarray,
        street_len: np.ndarray,
        sample_m: float | None,
        k: int = 6,
        cell_m: float | None = None,
        grid: str = "auto",
    ) -> None:
        self.piece_street = piece_street
        self.off_start = off_start
        self.off_end = off_end
        self.street_geom_len = street_geom_len
        self.street_len = street_len
        self.k = int(k)

        dx, dy = x1 - x0, y1 - y0
        plen = np.hypot(dx, dy)
        if sample_m is None:  # half the typical piece, within [5, 20] m (see settings)
            sample_m = float(np.clip(np.median(plen) / 2, 5.0, 20.0)) if len(plen) else 10.0
        self._set_parts(x0, y0, dx, dy, plen, float(sample_m))
        self._tree: _Tree | None = None  # built on first use (the compiled engine needs
        # it only to build the grid)
        self.x0, self.y0, self.dx, self.dy = x0, y0, dx, dy
        with np.errstate(divide="ignore"):
            self.inv_len2 = np.where(plen > 0, 1.0 / plen**2, 0.0)
        self.cells: _Cells | None = None
        self._buckets: tuple[Any, ...] | None = None
        self._pieces: np.ndarray | None = None
        self.cell_m = cell_m
        off = grid == "never" or (cell_m is not None and cell_m <= 0) or not self.n_parts
        self.grid_state = "off" if off else "pending"
        self.snapped = 0  # points snapped so far (the grid pays off after enough of them)
        self._set_grid_extent(x0, y0, x1, y1, off)
        if grid == "always":
            self.build_grid()

    def _set_parts(
        self,
        x0: np.ndarray,
        y0: np.ndarray,
        dx: np.ndarray,
        dy: np.ndarray,
        plen: np.ndarray,
        sample_m: float,
    ) -> None:
        """Cut every piece into parts of at most ``sample_m``, in Z-curve order of their
        midpoints (nearby queries read nearby memory), as separate contiguous arrays:
        start x, y, direction x, y, 1 / squared length (0 for a point), piece, t range."""
        nseg = np.maximum(1, np.ceil(plen / sample_m)).astype(np.int64)
        piece = np.repeat(np.arange(len(plen), dtype=np.int64), nseg)
        j = np.arange(int(nseg.sum()), dtype=np.int64) - np.repeat(np.cumsum(nseg) - nseg, nseg)
        mx = x0[piece] + (j + 0.5) / nseg[piece] * dx[piece]
        my = y0[piece] + (j + 0.5) / nseg[piece] * dy[piece]
        z = morton_order(mx, my)
        piece, j = piece[z], j[z]
        ta = j / nseg[piece]
        tb = (j + 1) / nseg[piece]
        ax = x0[piece] + ta * dx[piece]
        ay = y0[piece] + ta * dy[piece]
        self.part_x, self.part_y = ax, ay
        self.part_dx = x0[piece] + tb * dx[piece] - ax
        self.part_dy = y0[piece] + tb * dy[piece] - ay
        len2 = self.part_dx**2 + self.part_dy**2
        with np.errstate(divide="ignore"):
            self.part_inv_len2 = np.where(len2 > 0, 1.0 / len2, 0.0)
        self.part_piece = piece
        self.part_ta = ta
        self.part_tb = tb
        self.n_parts = len(piece)
        self.h = float(np.sqrt(len2.max())) if self.n_parts else sample_m

    def _set_grid_extent(
        self, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, off: bool
    ) -> None:
        """The grid's area: the streets' extent plus CELL_MARGIN_M all round."""
        self._grid_origin = (0.0, 0.0)
        self._grid_span = (0.0, 0.0)
        self._grid_cells = 0
        if off:
            return
        xs = np.concatenate([x0, x1])
        ys = np.concatenate([y0, y1])
        self._grid_origin = (float(xs.min()) - CELL_MARGIN_M, float(ys.min()) - CELL_MARGIN_M)
        self._grid_span = (
            float(np.ptp(xs)) + 2 * CELL_MARGIN_M,
            float(np.ptp(ys)) + 2 * CELL_MARGIN_M,
        )
        size = self.cell_m or self._default_cell_size()
        self._grid_cells = int(self._grid_span[0] * self._grid_span[1] / size**2)

    def _default_cell_size(self) -> float:
        """CELL_SIZE_H part lengths, or larger to keep the grid within CELL_MAX cells."""
        area = self._grid_span[0] * self._grid_span[1]
        return max(CELL_SIZE_H * self.h, float(np.sqrt(area / CELL_MAX)))

    def build_grid(self) -> bool:
        """Build the grid of candidate lists now (see :class:`_Cells`); True if built.

        Without this call the grid is built by the query that brings the points snapped
        so far to GRID_AFTER times its number of cells: one-off uses never pay for it,
        repeated ones do once, when the queries it speeds up have cost about as much as
        building it (0.6 s for a 2-km-wide city centre, 378,000 cells).
        """
        if self.grid_state == "pending":
            self.cells = self._build_cells(self.cell_m)
            self.grid_state = "built" if self.cells is not None else "off"
        return self.cells is not None

    @property
    def tree(self) -> _Tree:
        """KD-tree of the parts' midpoints (built on first use)."""
        if self._tree is None:
            mid = np.column_stack(
                [self.part_x + 0.5 * self.part_dx, self.part_y + 0.5 * self.part_dy]
            )
            self._tree = _Tree(mid)
        return self._tree

    def prepare(self) -> bool:
        """Build the indexes queries will use now: the grid (see :meth:`build_grid`) and,
        for the compiled engine, its bucket index; True if the grid was built."""
        if _parallel.kernels() is not None and self.n_parts:
            self._bucket_index()
        return self.build_grid()

    @property
    def n_samples(self) -> int:
        """Number of points in the KD-tree (part midpoints)."""
        return self.n_parts

    def _project(
        self, px: np.ndarray, py: np.ndarray, part: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance from points to parts (elementwise) and the parameter on the part."""
        return _project_segments(
            px,
            py,
            self.part_x[part],
            self.part_y[part],
            self.part_dx[part],
            self.part_dy[part],
            self.part_inv_len2[part],
        )

    def query(self, px: np.ndarray, py: np.ndarray, max_dist: float) -> SnapResult:
        """Snap points to their nearest street within ``max_dist`` metres."""
        px = np.asarray(px, dtype=np.float64)
        py = np.asarray(py, dtype=np.float64)
        n = len(px)
        if self.grid_state == "pending":
            self.snapped += n
            if self.snapped >= GRID_AFTER * self._grid_cells:
                self.build_grid()
        kernels = _parallel.kernels()
        if kernels is not None and self.n_parts:
            snapped = self._compiled_query(kernels, px, py, max_dist)
            if snapped is not None:
                return snapped
        rows = np.flatnonzero(np.isfinite(px) & np.isfinite(py))
        found: list[tuple[np.ndarray, ...]] = []
        if self.cells is not None and len(rows):
            hit, cell, rows = self.cells.split(px, py, rows)
            if len(hit):
                found.append(self._cell_nearest(px[hit], py[hit], hit, cell))
        if len(rows):
            found += self._tree_nearest(px, py, rows, max_dist)
        if found:
            row, pc, dist, tt = (np.concatenate(a) for a in zip(*found, strict=True))
        else:
            row, pc = np.zeros(0, np.int64), np.zeros(0, np.int64)
            dist, tt = np.zeros(0), np.zeros(0)
        return self._result(row, pc, dist, tt, max_dist, n)

    def _bucket_index(self) -> tuple[Any, ...]:
        """Parts listed by the square bucket holding their midpoint (for the compiled
        engine's ring search): (x, y of the first bucket, side, nx, ny, ptr, the parts'
        x, y, dx, dy, 1 / squared length in bucket order, the part of each row)."""
        if self._buckets is None:
            mx = self.part_x + 0.5 * self.part_dx
            my = self.part_y + 0.5 * self.part_dy
            x_min, y_min = float(mx.min()), float(my.min())
            area = max(float(np.ptp(mx)) * float(np.ptp(my)), 1.0)
            size = max(self.h, float(np.sqrt(area * BUCKET_PARTS / self.n_parts)), 1e-3)
            nx = int((float(mx.max()) - x_min) // size) + 1
            ny = int((float(my.max()) - y_min) // size) + 1
            cell = ((my - y_min) // size).astype(np.int64) * nx + ((mx - x_min) // size).astype(
                np.int64
            )
            small = np.int32 if self.n_parts < 2**31 - 1 else np.int64
            order = np.argsort(cell, kind="stable").astype(small)
            ptr = np.zeros(nx * ny + 1, dtype=small)
            np.cumsum(np.bincount(cell, minlength=nx * ny), out=ptr[1:])
            data = np.empty((self.n_parts, 5))
            for j, a in enumerate((self.part_x, self.part_y, self.part_dx, self.part_dy,
                                   self.part_inv_len2)):  # fmt: skip
                data[:, j] = a[order]
            self._buckets = (x_min, y_min, size, nx, ny, ptr, data, order)
        return self._buckets

    def _piece_rows(self) -> np.ndarray:
        """Per piece: x0, y0, dx, dy, 1 / squared length, side by side (one cache line)."""
        if self._pieces is None:
            self._pieces = np.column_stack([self.x0, self.y0, self.dx, self.dy, self.inv_len2])
        return self._pieces

    def _compiled_query(
        self, kernels: Any, px: np.ndarray, py: np.ndarray, max_dist: float
    ) -> SnapResult | None:
        """:meth:`query` with the compiled kernels, chunks of points on the engine's
        threads; the same entries as the numpy path (None: a point has too many
        equally near streets for the kernel, use the numpy path)."""
        n = len(px)
        if n == 0:
            return None
        px, py = np.ascontiguousarray(px), np.ascontiguousarray(py)  # one compiled signature
        bucket = self._bucket_index()
        parts = (bucket[7], self.part_piece, self.part_ta, self.part_tb)
        pieces = (self._piece_rows(), self.piece_street, self.off_start, self.off_end,
                  self.street_geom_len, self.street_len)  # fmt: skip
        c = self.cells
        cells = (
            (c.x_min, c.y_min, c.size, c.nx, c.ny, c.ptr, c.piece, c.listed)
            if c is not None
            else (0.0, 0.0, 1.0, 0, 0, np.zeros(1, np.int32), np.zeros(0, np.int32),
                  np.zeros(0, dtype=bool))
        )  # fmt: skip
        limit = float(max_dist)

        step = min(SNAP_CHUNK, max(SNAP_CHUNK_MIN, -(-n // (4 * _parallel.n_threads()))))

        def chunk(lo: int) -> tuple[np.ndarray, np.ndarray] | None:
            hi = min(lo + step, n)
            cap = 2 * (hi - lo) + 16
            while True:
                out_f, out_i = np.empty((4, cap)), np.empty((2, cap), dtype=np.int64)
                w = kernels.snap_points(
                    px, py, lo, hi, limit, TIE_M, self.h / 2, parts, pieces, bucket[:7], cells,
                    out_f, out_i,
                )  # fmt: skip
                if w < 0:
                    return None
                if w <= cap:
                    return out_f[:, :w], out_i[:, :w]
                cap = w

        order = None
        if n >= SNAP_SORT_MIN:
            bx, by, bsize, bnx, bny = bucket[:5]
            k = SNAP_SORT_CELL
            order = kernels.cell_order(px, py, bx, by, bsize * k, bnx // k + 1, bny // k + 1)
            px, py = px[order], py[order]
        done = _parallel.run(chunk, range(0, n, step))
        if any(d is None for d in done):
            return None
        f = np.concatenate([d[0] for d in done], axis=1)
        i = np.concatenate([d[1] for d in done], axis=1)
        if order is not None:  # entries back in the points' order (each point's in its own)
            owner = order[i[0]]
            back = kernels.owner_order(owner, n)
            f, i = f[:, back], i[:, back]
            i[0] = owner[back]
        return SnapResult(i[0], i[1], f[0], f[1], f[2], f[3], n)

    def _project_pieces(
        self, px: np.ndarray, py: np.ndarray, piece: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance from points to whole pieces (elementwise) and the parameter on them."""
        return _project_segments(
            px,
            py,
            self.x0[piece],
            self.y0[piece],
            self.dx[piece],
            self.dy[piece],
            self.inv_len2[piece],
        )

    def _cell_nearest(
        self, qx: np.ndarray, qy: np.ndarray, rows: np.ndarray, cell: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """Nearest pieces of points (``rows``) in listed grid cells: project on the list."""
        cells = self.cells
        assert cells is not None
        lo = cells.ptr[cell]
        local, at, starts = expand_lists(lo, cells.ptr[cell + 1] - lo)
        piece = cells.piece[at]
        d, t = self._project_pieces(qx[local], qy[local], piece)
        best = np.minimum.reduceat(d, starts)
        near = np.flatnonzero(d <= best[local] + TIE_M)
        return rows[local[near]], piece[near], d[near], t[near]

    def _build_cells(self, size: float | None) -> _Cells | None:
        """The grid of candidate lists (see :class:`_Cells`), or None.

        ``size`` None picks CELL_SIZE_H part lengths, or the smallest size that keeps the
        grid within CELL_MAX cells; a grid that would need cells over CELL_MAX_SIZE_H part
        lengths is not built (large networks use the KD-tree, which costs little next to
        their Dijkstra passes). The lists are first found for cells CELL_LEVELS times
        twice as large, through the KD-tree, then refined: a cell's list is a subset of
        its parent's, so each refinement only filters four children's copies of it.
        """
        if self.n_parts == 0:
            return None
        x_min, y_min = self._grid_origin
        width, height = self._grid_span
        auto = size is None
        if size is None:
            size = self._default_cell_size()
        while True:
            coarse = size * 2**CELL_LEVELS
            nxc = max(1, int(np.ceil(width / coarse)))
            nyc = max(1, int(np.ceil(height / coarse)))
            if (nxc * nyc) << (2 * CELL_LEVELS) <= CELL_MAX:
                break
            if not auto:
                return None
            size *= 1.02  # rounding up the grid's sides overshot the budget
        if auto and size > CELL_MAX_SIZE_H * self.h:
            return None
        ptr, piece, listed = self._coarse_cells(x_min, y_min, coarse, nxc, nyc)
        for _ in range(CELL_LEVELS):
            if not listed.any():
                return None
            ptr, piece, listed = self._refine(x_min, y_min, coarse, nxc, nyc, ptr, piece, listed)
            coarse, nxc, nyc = coarse / 2, 2 * nxc, 2 * nyc
        if not listed.any():
            return None
        # 32-bit lists: half the memory the random lookups of a query walk through
        small = np.int32 if max(len(piece), len(self.x0)) < 2**31 - 1 else np.int64
        return _Cells(
            x_min, y_min, coarse, nxc, nyc, ptr.astype(small), piece.astype(small), listed
        )

    def _coarse_cells(
        self, x_min: float, y_min: float, size: float, nx: int, ny: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate lists of a grid through the KD-tree: (ptr, pieces, listed)."""
        r = size * np.sqrt(0.5)
        k = CELL_MAX_PIECES * 2**CELL_LEVELS  # lists of the larger cells are longer
        pairs_cell: list[np.ndarray] = []
        pairs_piece: list[np.ndarray] = []
        listed = np.zeros(nx * ny, dtype=bool)
        chunk = max(1, CELL_CHUNK // k)
        for lo in range(0, nx * ny, chunk):
            cell = np.arange(lo, min(lo + chunk, nx * ny), dtype=np.int64)
            cx = x_min + (cell % nx + 0.5) * size
            cy = y_min + (cell // nx + 0.5) * size
            # the piece nearest to each centre (any one of equals), within CELL_REACH_M
            found = self._tree_nearest(cx, cy, np.arange(len(cell)), CELL_REACH_M)
            if not found:
                continue
            row, pc = (np.concatenate([f[i] for f in found]) for i in (0, 1))
            first = np.unique(row, return_index=True)[1]
            row, pc = row[first], pc[first]
            far, _ = self._corner_distances(cx[row], cy[row], size / 2, pc)
            reach = far + TIE_M + CELL_EPS_M
            c_row, c_piece, complete = self._pieces_within(cx[row], cy[row], reach + r, k)
            # keep the pieces within ``reach`` of the square itself (tighter than r + reach
            # from its centre)
            qx, qy = cx[row][c_row], cy[row][c_row]
            _, near = self._corner_distances(qx, qy, size / 2, c_piece)
            close = self._square_gap(qx, qy, size / 2, c_piece, near) <= reach[c_row]
            c_row, c_piece = c_row[close], c_piece[close]
            ok = complete & (np.bincount(c_row, minlength=len(row)) <= k)
            keep = ok[c_row]
            pairs_cell.append(cell[row[c_row[keep]]])
            pairs_piece.append(c_piece[keep])
            listed[cell[row[ok]]] = True
        ptr = np.zeros(nx * ny + 1, dtype=np.int64)
        if not pairs_cell:
            return ptr, np.zeros(0, np.int64), listed
        pc_cell = np.concatenate(pairs_cell)  # ascending: chunks in order, rows in order
        np.cumsum(np.bincount(pc_cell, minlength=nx * ny), out=ptr[1:])
        return ptr, np.concatenate(pairs_piece), listed

    def _refine(
        self,
        x_min: float,
        y_min: float,
        size: float,
        nx: int,
        ny: int,
        ptr: np.ndarray,
        piece: np.ndarray,
        listed: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lists of the grid of half-size cells, from their parents' lists.

        A piece that can be nearest to a point of a child can be so for the parent, which
        contains the point; the child's bound U (the least, over the parent's pieces, of
        their largest distance to the child's corners) is at least as tight as its own
        nearest-piece bound.
        """
        half = size / 2
        nxf, nyf = 2 * nx, 2 * ny
        counts = np.zeros(nxf * nyf, dtype=np.int64)
        listed_f = np.zeros(nxf * nyf, dtype=bool)
        pieces_f: list[np.ndarray] = []
        longest = int(np.diff(ptr).max()) if len(ptr) > 1 else 1
        chunk = max(1, CELL_CHUNK // max(longest, 1))
        for lo in range(0, nxf * nyf, chunk):
            fine = np.arange(lo, min(lo + chunk, nxf * nyf), dtype=np.int64)
            fy, fx = np.divmod(fine, nxf)
            parent = (fy // 2) * nx + fx // 2
            sel = np.flatnonzero(listed[parent])
            if not len(sel):
                continue
            fine, fx, fy, parent = fine[sel], fx[sel], fy[sel], parent[sel]
            local, at, starts = expand_lists(ptr[parent], ptr[parent + 1] - ptr[parent])
            pc = piece[at]
            qx = (x_min + (fx + 0.5) * half)[local]
            qy = (y_min + (fy + 0.5) * half)[local]
            far, near = self._corner_distances(qx, qy, half / 2, pc)
            reach = np.minimum.reduceat(far, starts) + TIE_M + CELL_EPS_M
            keep = self._square_gap(qx, qy, half / 2, pc, near) <= reach[local]
            n_keep = np.bincount(local[keep], minlength=len(fine))
            ok = n_keep <= CELL_MAX_PIECES
            keep &= ok[local]
            counts[fine[ok]] = n_keep[ok]
            listed_f[fine[ok]] = True
            pieces_f.append(pc[keep])  # by child, ascending; each in its parent's order
        ptr_f = np.zeros(nxf * nyf + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr_f[1:])
        piece_f = np.concatenate(pieces_f) if pieces_f else np.zeros(0, np.int64)
        return ptr_f, piece_f, listed_f

    def _corner_distances(
        self, cx: np.ndarray, cy: np.ndarray, a: float, piece: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Largest and smallest distance from the corners of squares (centre, half-side
        ``a``) to pieces, elementwise. No point of a square is farther from a piece than
        its farthest corner (distance to a segment is convex)."""
        far = np.zeros(len(piece))
        near = np.full(len(piece), np.inf)
        for sx in (-a, a):
            for sy in (-a, a):
                d, _ = self._project_pieces(cx + sx, cy + sy, piece)
                np.maximum(far, d, out=far)
                np.minimum(near, d, out=near)
        return far, near

    def _square_gap(
        self, cx: np.ndarray, cy: np.ndarray, a: float, piece: np.ndarray, corner: np.ndarray
    ) -> np.ndarray:
        """Distance between squares (centre, half-side ``a``) and pieces, elementwise,
        given the least distance from the squares' corners to the pieces (``corner``)."""
        x0, y0 = self.x0[piece] - cx, self.y0[piece] - cy  # the square's centre at 0
        dx, dy = self.dx[piece], self.dy[piece]
        # the segment meets the square when its clipped parameter range is not empty
        lo = np.zeros(len(piece))
        hi = np.ones(len(piece))
        with np.errstate(divide="ignore", invalid="ignore"):
            for p0, dp in ((x0, dx), (y0, dy)):
                t1 = (-a - p0) / dp
                t2 = (a - p0) / dp
                flat = dp == 0
                out = flat & (np.abs(p0) > a)
                np.maximum(lo, np.where(flat, 0.0, np.minimum(t1, t2)), out=lo)
                np.minimum(hi, np.where(flat, 1.0, np.maximum(t1, t2)), out=hi)
                hi[out] = -1.0
        # otherwise the nearest pair has an end of the segment or a corner of the square
        best = corner.copy()
        for ex, ey in ((x0, y0), (x0 + dx, y0 + dy)):
            np.minimum(
                best,
                np.hypot(np.maximum(np.abs(ex) - a, 0.0), np.maximum(np.abs(ey) - a, 0.0)),
                out=best,
            )
        best[lo <= hi] = 0.0
        return best

    def _pieces_within(
        self, cx: np.ndarray, cy: np.ndarray, radius: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(centre, piece) pairs, each once, covering every piece within ``radius`` of its
        centre (and maybe a few more), and per centre whether the search was complete (it
        asks the KD-tree for ``k`` part midpoints)."""
        n_pieces = len(self.x0)
        k = min(k, self.n_parts)
        half = self.h / 2
        reach = radius + half + 2 * self.tree.slack
        sd, si = self.tree.query(np.column_stack([cx, cy]), k, float(reach.max()))
        inside = (si < self.n_parts) & (sd <= reach[:, None] + self.tree.query_slack)
        complete = ~inside[:, -1] | (k >= self.n_parts)
        piece = np.where(inside, self.part_piece[np.minimum(si, self.n_parts - 1)], n_pieces)
        piece.sort(axis=1)
        first = piece < n_pieces
        first[:, 1:] &= piece[:, 1:] != piece[:, :-1]
        r_idx, c_idx = np.nonzero(first)
        return r_idx, piece[r_idx, c_idx], complete

    def _tree_nearest(
        self, px: np.ndarray, py: np.ndarray, rows: np.ndarray, max_dist: float
    ) -> list[tuple[np.ndarray, ...]]:
        """Nearest pieces of points through the KD-tree of part midpoints."""
        half = self.h / 2
        bound = max_dist + TIE_M + half if np.isfinite(max_dist) else np.inf
        rows = rows[morton_order(px[rows], py[rows])]  # nearby points together: cache-friendly
        found: list[tuple[np.ndarray, ...]] = []
        k = min(self.k, self.n_parts)
        while len(rows):
            qx, qy = px[rows], py[rows]
            sd, si = self.tree.query(np.column_stack([qx, qy]), k, bound)
            slack = self.tree.query_slack
            # a part's midpoint lies on it, so the nearest part is no farther than the
            # nearest midpoint (sd[:, 0]); a part whose midpoint is more than h/2 beyond
            # that cannot be the nearest: project only the others
            cand = (si < self.n_parts) & (sd <= sd[:, :1] + half + TIE_M + 2 * slack)
            r_idx, c_idx = np.nonzero(cand)
            part = si[r_idx, c_idx]
            d, tp = self._project(qx[r_idx], qy[r_idx], part)
            starts = np.flatnonzero(np.r_[True, r_idx[1:] != r_idx[:-1]]) if len(r_idx) else r_idx
            best = np.full(len(rows), np.inf)
            best[r_idx[starts]] = np.minimum.reduceat(d, starts) if len(d) else d
            # complete when the k-th midpoint lies beyond best + h/2 (or there are < k)
            done = (si[:, -1] >= self.n_parts) | (sd[:, -1] > best + TIE_M + half + slack)
            done |= k >= self.n_parts
            near = (d <= best[r_idx] + TIE_M) & done[r_idx]
            sel = np.flatnonzero(near)
            part = part[sel]
            t = (1.0 - tp[sel]) * self.part_ta[part] + tp[sel] * self.part_tb[part]
            found.append((rows[r_idx[sel]], self.part_piece[part], d[sel], t))
            rows = rows[~done]
            k = min(4 * k, self.n_parts)
        return found

    def _result(
        self,
        row: np.ndarray,
        piece: np.ndarray,
        dist: np.ndarray,
        t: np.ndarray,
        max_dist: float,
        n: int,
    ) -> SnapResult:
        """One entry per (point, equally-near street); -1 for points beyond the limit."""
        ok = dist <= max_dist
        if not ok.all():
            row, piece, dist, t = row[ok], piece[ok], dist[ok], t[ok]
        street = self.piece_street[piece]
        geo = (1.0 - t) * self.off_start[piece] + t * self.off_end[piece]
        glen = self.street_geom_len[street]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.clip(np.where(glen > 0, geo / glen, 0.0), 0.0, 1.0)
        offset = frac * self.street_len[street]
        # most points have one candidate; de-duplicate only the others, keeping per
        # (point, street) the nearest position, the first along the street among equals
        # (as GEOS' project does): a vertex shared by two parts shows up twice
        count = np.bincount(row, minlength=n)
        multi = count[row] > 1
        keep = ~multi
        if multi.any():
            mi = np.flatnonzero(multi)
            order = mi[np.lexsort((offset[mi], dist[mi], street[mi], row[mi]))]
            r, s_ = row[order], street[order]
            keep[order[np.r_[True, (r[1:] != r[:-1]) | (s_[1:] != s_[:-1])]]] = True
        if not keep.all():
            idx = np.flatnonzero(keep)
            row, piece, street, offset, dist, t = (
                a[idx] for a in (row, piece, street, offset, dist, t)
            )
        missing = np.flatnonzero(count == 0)
        m = len(missing)
        x = self.x0[piece] + t * self.dx[piece]
        y = self.y0[piece] + t * self.dy[piece]
        owner = row
        if m == 0 and (len(owner) < 2 or bool((owner[1:] >= owner[:-1]).all())):
            # already in point order (the usual case: every point found in the grid)
            return SnapResult(owner, street, offset, dist, x, y, n)
        owner = np.concatenate([owner, missing])
        order2 = _stable_order(owner, n)
        nan = np.full(m, np.nan)
        return SnapResult(
            owner=owner[order2],
            street=np.concatenate([street, np.full(m, -1, dtype=np.int64)])[order2],
            offset=np.concatenate([offset, nan])[order2],
            connector=np.concatenate([dist, np.full(m, np.inf)])[order2],
            x=np.concatenate([x, nan])[order2],
            y=np.concatenate([y, nan])[order2],
            n_points=n,
        )
