"""Exact nearest-edge snapping on polylines, fast.

Each street is a polyline made of straight *pieces*. The index keeps sample points
spaced at most ``h`` metres apart along every piece, both ends included, in a KD-tree.
For a query point p whose nearest piece is at distance d*, some sample of that piece
lies within d* + h/2 of p, so the pieces owning the samples within (best exact
distance found so far) + h/2 contain the true nearest piece. The search asks the tree
for the k nearest samples, projects p exactly on their pieces, and, only for the
points where the k-th sample is still inside that radius, asks again with 4k.
The answer is the exact nearest piece (ties aside) whatever ``h`` is; ``h`` only moves
work between the tree and the exact projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

TIE_M = 1e-6
"""Streets within this many metres of the nearest one count as equally near."""


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


class EdgeSnapper:
    """KD-tree over samples of street pieces; see the module docstring."""

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
        sample_m: float,
        k: int = 8,
    ) -> None:
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.dx = x1 - x0
        self.dy = y1 - y0
        self.len2 = self.dx * self.dx + self.dy * self.dy
        self.piece_street = piece_street
        self.off_start = off_start
        self.off_end = off_end
        self.street_geom_len = street_geom_len
        self.street_len = street_len
        self.h = float(sample_m)
        self.k = int(k)

        plen = np.sqrt(self.len2)
        nseg = np.maximum(1, np.ceil(plen / self.h)).astype(np.int64)
        per = nseg + 1
        total = int(per.sum())
        piece_of = np.repeat(np.arange(len(plen), dtype=np.int64), per)
        starts = np.cumsum(per) - per
        j = np.arange(total, dtype=np.int64) - np.repeat(starts, per)
        frac = j / np.repeat(nseg, per)
        sx = x0[piece_of] + frac * self.dx[piece_of]
        sy = y0[piece_of] + frac * self.dy[piece_of]
        self.sample_piece = piece_of
        self.n_samples = total
        self.tree = cKDTree(np.column_stack([sx, sy]), balanced_tree=False, compact_nodes=False)

    def _project(
        self, px: np.ndarray, py: np.ndarray, piece: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance from points to pieces (elementwise) and the clipped parameter t."""
        dx = self.dx[piece]
        dy = self.dy[piece]
        len2 = self.len2[piece]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = ((px - self.x0[piece]) * dx + (py - self.y0[piece]) * dy) / len2
        t = np.where(len2 > 0, np.clip(t, 0.0, 1.0), 0.0)
        qx = self.x0[piece] + t * dx
        qy = self.y0[piece] + t * dy
        return np.hypot(px - qx, py - qy), t

    def query(self, px: np.ndarray, py: np.ndarray, max_dist: float) -> SnapResult:
        """Snap points to their nearest street within ``max_dist`` metres."""
        px = np.asarray(px, dtype=np.float64)
        py = np.asarray(py, dtype=np.float64)
        n = len(px)
        bound = max_dist + TIE_M + self.h / 2 if np.isfinite(max_dist) else np.inf
        rows = np.flatnonzero(np.isfinite(px) & np.isfinite(py))
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        k = min(self.k, self.n_samples)
        while len(rows):
            sd, si = self.tree.query(
                np.column_stack([px[rows], py[rows]]), k=k, distance_upper_bound=bound, workers=-1
            )
            sd = sd.reshape(len(rows), k)
            si = si.reshape(len(rows), k)
            valid = si < self.n_samples
            piece = self.sample_piece[np.where(valid, si, 0)]
            d, t = self._project(px[rows, None], py[rows, None], piece)
            d = np.where(valid, d, np.inf)
            j = np.argmin(d, axis=1)
            ar = np.arange(len(rows))
            best = d[ar, j]
            # complete when the k-th sample lies beyond best + h/2 (or there are < k)
            done = ~valid[:, -1] | (sd[:, -1] > best + TIE_M + self.h / 2) | (k >= self.n_samples)
            near = d <= best[:, None] + TIE_M
            # a row whose near candidates are all the same piece has one answer
            tie = (near & (piece != piece[ar, j][:, None])).any(axis=1)
            one = done & ~tie
            found.append((rows[one], piece[ar, j][one], best[one], t[ar, j][one]))
            many = done & tie
            if many.any():
                sel = near & many[:, None]
                r_idx, c_idx = np.nonzero(sel)
                found.append((rows[r_idx], piece[r_idx, c_idx], d[r_idx, c_idx], t[r_idx, c_idx]))
            rows = rows[~done]
            k = min(4 * k, self.n_samples)
        if found:
            row, pc, dist, tt = (np.concatenate(a) for a in zip(*found, strict=True))
        else:
            row, pc = np.zeros(0, np.int64), np.zeros(0, np.int64)
            dist, tt = np.zeros(0), np.zeros(0)
        return self._result(row, pc, dist, tt, max_dist, n)

    def _result(
        self,
        row: np.ndarray,
        piece: np.ndarray,
        dist: np.ndarray,
        t: np.ndarray,
        max_dist: float,
        n: int,
    ) -> SnapResult:
        """One entry per (point, street) among the nearest candidates; -1 for the rest."""
        ok = dist <= max_dist
        row, piece, dist, t = row[ok], piece[ok], dist[ok], t[ok]
        street = self.piece_street[piece]
        geo = (1.0 - t) * self.off_start[piece] + t * self.off_end[piece]
        glen = self.street_geom_len[street]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.clip(np.where(glen > 0, geo / glen, 0.0), 0.0, 1.0)
        offset = frac * self.street_len[street]
        qx = self.x0[piece] + t * self.dx[piece]
        qy = self.y0[piece] + t * self.dy[piece]
        # one entry per (point, street, position): a vertex shared by two pieces of a
        # street appears twice among the candidates
        key = np.round(offset, 6)
        order = np.lexsort((key, street, row))
        row, street, key = row[order], street[order], key[order]
        first = np.ones(len(row), dtype=bool)
        first[1:] = (row[1:] != row[:-1]) | (street[1:] != street[:-1]) | (key[1:] != key[:-1])
        sel = order[first]
        row = row[first]
        street = street[first]
        hit = np.zeros(n, dtype=bool)
        hit[row] = True
        missing = np.flatnonzero(~hit)
        owner = np.concatenate([row, missing])
        order2 = np.argsort(owner, kind="stable")
        m = len(missing)
        return SnapResult(
            owner=owner[order2],
            street=np.concatenate([street, np.full(m, -1, dtype=np.int64)])[order2].astype(
                np.int64
            ),
            offset=np.concatenate([offset[sel], np.full(m, np.nan)])[order2],
            connector=np.concatenate([dist[sel], np.full(m, np.inf)])[order2],
            x=np.concatenate([qx[sel], np.full(m, np.nan)])[order2],
            y=np.concatenate([qy[sel], np.full(m, np.nan)])[order2],
            n_points=n,
        )
