"""Compiled kernels of the engine: multi-source Dijkstra and per-category origin times.

Compiled with numba (``nogil=True, cache=True``): each kernel runs one category (or one
chunk of points) without holding the GIL, so :mod:`planner._parallel` runs categories
side by side on a thread pool. The arithmetic is written operation by operation like
the numpy/scipy path it replaces, so that the answers are the same to the last bit
(the scipy path stays as the fallback and as the oracle in the tests).

Dijkstra here is a label-setting search with a 4-ary heap (lazy deletion) on the
mode's CSR renumbered along a Z-curve (:func:`planner.access.kernel_graph`). Its answer
is, for every node, the least over all paths of the left-to-right float sum of the link
times, which is also what scipy's Fibonacci-heap Dijkstra returns. A node is kept when
its time is at most ``limit`` (scipy's rule).

This module imports numba at import time; import it through
:func:`planner._parallel.kernels`, which falls back to the scipy path without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit

_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(fn: _F) -> _F:
    """Compile without the GIL, cached on disk (see ``settings.jit_cache_dir``)."""
    return cast(_F, njit(nogil=True, cache=True, boundscheck=False)(fn))


def _inlined(fn: _F) -> _F:
    """A helper compiled into its callers (no call, no reference counting per call)."""
    return cast(_F, njit(nogil=True, cache=True, boundscheck=False, inline="always")(fn))


@_inlined
def _push(heap: np.ndarray, size: int, key: float, node: int) -> None:
    """Sift (key, node) up from position ``size`` of a 4-ary min-heap.

    The heap is one float64 array of (key, node) pairs side by side (a node number is
    exact as a float64), so an entry's key and node share a cache line and the four
    children of an entry span one line."""
    i = size
    while i > 0:
        p = (i - 1) >> 2
        if heap[2 * p] <= key:
            break
        heap[2 * i] = heap[2 * p]
        heap[2 * i + 1] = heap[2 * p + 1]
        i = p
    heap[2 * i] = key
    heap[2 * i + 1] = node


@_inlined
def _pop(heap: np.ndarray, size: int) -> None:
    """Remove the top of a 4-ary min-heap of ``size`` entries (the last one sifts down)."""
    size -= 1
    if size == 0:
        return
    key = heap[2 * size]
    node = heap[2 * size + 1]
    i = 0
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        m = c
        mk = heap[2 * c]
        for q in range(c + 1, min(c + 4, size)):
            if heap[2 * q] < mk:
                mk = heap[2 * q]
                m = q
        if mk >= key:
            break
        heap[2 * i] = mk
        heap[2 * i + 1] = heap[2 * m + 1]
        i = m
    heap[2 * i] = key
    heap[2 * i + 1] = node


@_inlined
def heap_size(n_nodes: int, n_links: int) -> int:
    """Length of a heap array that rarely needs to grow for a search on ``n_nodes``
    nodes from ``n_links`` source links (two float64 per entry)."""
    return 2 * (n_nodes + n_links + 16)


@_compiled
def dijkstra(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    src_node: np.ndarray,
    src_w: np.ndarray,
    src_id: np.ndarray,
    limit: float,
    dist: np.ndarray,
    who: np.ndarray,
    heap: np.ndarray,
) -> np.ndarray:
    """Multi-source Dijkstra on a CSR graph, the sources entering through links.

    Source link k reaches node ``src_node[k]`` after ``src_w[k]`` seconds from source
    ``src_id[k]``. Fills ``dist`` (inf beyond ``limit``) and, when ``who`` is not
    empty, the source each node's time comes from (-1 for none). The queue is a 4-ary
    heap of (time, node) entries in ``heap`` (work space, see :func:`heap_size`); a
    node whose time drops is pushed again and its older entries are skipped when they
    come up. Returns the heap array used: ``heap``, or a larger one when more stale
    entries than it holds were queued at once (rare), for the caller to keep.
    """
    while not _search(indptr, indices, data, src_node, src_w, src_id, limit, dist, who, heap):
        heap = np.empty(max(2 * len(heap), 32))  # start again with room for twice as many
    return heap


@_compiled
def _search(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    src_node: np.ndarray,
    src_w: np.ndarray,
    src_id: np.ndarray,
    limit: float,
    dist: np.ndarray,
    who: np.ndarray,
    heap: np.ndarray,
) -> bool:
    """:func:`dijkstra` with a heap of ``len(heap) // 2`` entries; False if it overflows."""
    track = len(who) > 0
    dist[:] = np.inf
    if track:
        who[:] = -1
    size = 0
    cap = len(heap) // 2
    for k in range(len(src_node)):
        v = src_node[k]
        w = src_w[k]
        if w <= limit and w < dist[v]:
            if size == cap:
                return False
            dist[v] = w
            if track:
                who[v] = src_id[k]
            _push(heap, size, w, v)
            size += 1
    while size > 0:
        du = heap[0]
        u = int(heap[1])
        _pop(heap, size)
        size -= 1
        if du > dist[u]:
            continue  # an older entry of a node reached faster since
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = du + data[e]
            if nd <= limit and nd < dist[v]:
                if size == cap:
                    return False
                dist[v] = nd
                if track:
                    who[v] = who[u]
                _push(heap, size, nd, v)
                size += 1
    return True


@_inlined
def _part(dist: float, tpm: float) -> float:
    """Seconds to cover ``dist`` metres at ``tpm`` s/m; 0 m costs 0 s (also at inf s/m)."""
    if dist == 0:
        return 0.0
    return dist * tpm


@_inlined
def _from_nodes(
    dist: np.ndarray,
    who: np.ndarray,
    owner: np.ndarray,
    node_u: np.ndarray,
    node_v: np.ndarray,
    to_u: np.ndarray,
    to_v: np.ndarray,
    best: np.ndarray,
    best_who: np.ndarray,
) -> None:
    """Each origin's best time over the ends of its streets (its first entry wins ties)."""
    track = len(best_who) > 0
    for e in range(len(owner)):
        tu = dist[node_u[e]] + to_u[e]
        tv = dist[node_v[e]] + to_v[e]
        t = tu if tu <= tv else tv
        o = owner[e]
        if t < best[o]:
            best[o] = t
            if track:
                best_who[o] = who[node_u[e]] if tu <= tv else who[node_v[e]]


@_inlined
def _along_streets(
    o_owner: np.ndarray,
    o_street: np.ndarray,
    o_offset: np.ndarray,
    o_connector: np.ndarray,
    by_street: np.ndarray,
    street_ptr: np.ndarray,
    f_street: np.ndarray,
    f_offset: np.ndarray,
    f_connector: np.ndarray,
    f_owner: np.ndarray,
    conn_tpm: np.ndarray,
    fwd_tpm: np.ndarray,
    bwd_tpm: np.ndarray,
    best: np.ndarray,
    best_who: np.ndarray,
) -> None:
    """The direct trips along a street an origin shares with a facility, where faster.

    Pairs are visited facility by facility, each street's origins in list order; a
    trip replaces the time only when strictly faster, so the first fastest pair wins.
    """
    track = len(best_who) > 0
    for fi in range(len(f_street)):
        s = f_street[fi]
        for j in range(street_ptr[s], street_ptr[s + 1]):
            oi = by_street[j]
            st = o_street[oi]
            delta = f_offset[fi] - o_offset[oi]
            base = (o_connector[oi] + f_connector[fi]) * conn_tpm[st]
            fwd = base + _part(delta, fwd_tpm[st]) if delta >= 0 else np.inf
            bwd = base + _part(-delta, bwd_tpm[st]) if delta <= 0 else np.inf
            t = fwd if fwd <= bwd else bwd
            o = o_owner[oi]
            if t < best[o]:
                best[o] = t
                if track:
                    best_who[o] = f_owner[fi]


@_compiled
def category_times(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    links: tuple[np.ndarray, np.ndarray, np.ndarray],
    limit: float,
    legs: tuple[np.ndarray, ...],
    facilities: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    street_tpm: tuple[np.ndarray, np.ndarray, np.ndarray],
    best: np.ndarray,
    best_who: np.ndarray,
    work: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """One category from its facilities to every origin: Dijkstra, then the origins.

    ``links``: (node, seconds, facility) of the facilities' links to the graph;
    ``legs``: the origin entries' owner, node_u, node_v, to_u, to_v, street, offset,
    connector, then the entries listed by street and the list pointers;
    ``facilities``: the facility entries' street, offset, connector and owner;
    ``street_tpm``: seconds per metre on connectors, forward and backward.
    Fills ``best`` (seconds, inf beyond ``limit``) and, when it is not empty,
    ``best_who`` (the facility, -1 for none). ``work``: the search's work space, kept
    by the caller between calls (no fresh pages per call): an array per node for the
    times, one for their sources (empty unless ``best_who`` is not), and the heap;
    returns the heap array to keep (see :func:`dijkstra`).
    """
    owner, node_u, node_v, to_u, to_v, street, offset, connector, by_street, ptr = legs
    track = len(best_who) > 0
    dist, who, heap = work
    heap = dijkstra(indptr, indices, data, links[0], links[1], links[2], limit, dist, who, heap)
    best[:] = np.inf
    best_who[:] = -1
    _from_nodes(dist, who, owner, node_u, node_v, to_u, to_v, best, best_who)
    _along_streets(
        owner, street, offset, connector, by_street, ptr,
        facilities[0], facilities[1], facilities[2], facilities[3],
        street_tpm[0], street_tpm[1], street_tpm[2], best, best_who,
    )  # fmt: skip
    for o in range(len(best)):
        if not best[o] <= limit:
            best[o] = np.inf
            if track:
                best_who[o] = -1
    return heap


# --- snapping ---------------------------------------------------------------------------


@_inlined
def _segment(
    px: float, py: float, x0: float, y0: float, dx: float, dy: float, inv_len2: float
) -> tuple[float, float]:
    """Distance from a point to a segment and the clipped parameter of the projection
    (the operations of ``planner._snap._project_segments``, in the same order)."""
    rx = px - x0
    ry = py - y0
    t = rx * dx
    t += ry * dy
    t *= inv_len2
    t = min(max(t, 0.0), 1.0)
    rx -= t * dx
    ry -= t * dy
    rx *= rx
    ry *= ry
    rx += ry
    return np.sqrt(rx), t


@_inlined
def _offer(
    n: int, d: float, best: float, tie: float, cand: np.ndarray, cand_d: np.ndarray,
    cand_t: np.ndarray, k: int, t: float,
) -> tuple[int, float]:  # fmt: skip
    """Offer candidate ``k`` at distance ``d``: added to the list when within ``tie`` of
    the best (which it may become), dropping those no longer within ``tie`` of it when
    the list is full. Returns (the new length, -1 if it cannot hold them; the best)."""
    if d > best + tie:
        return n, best
    best = min(best, d)
    if n == len(cand):
        m = 0
        for j in range(n):
            if cand_d[j] <= best + tie:
                cand[m] = cand[j]
                cand_d[m] = cand_d[j]
                cand_t[m] = cand_t[j]
                m += 1
        if m == len(cand):
            return -1, best
        n = m
    cand[n] = k
    cand_d[n] = d
    cand_t[n] = t
    return n + 1, best


@_inlined
def _cell_candidates(
    px: float, py: float, lo: int, hi: int, piece: np.ndarray, seg: np.ndarray, tie: float,
    cand: np.ndarray, cand_d: np.ndarray, cand_t: np.ndarray,
) -> tuple[int, float]:  # fmt: skip
    """Pieces ``piece[lo:hi]`` (a grid cell's list) within ``tie`` of the nearest:
    (count, best). ``seg`` rows: a piece's x0, y0, dx, dy, 1 / squared length."""
    n = 0
    best = np.inf
    for j in range(lo, hi):
        k = piece[j]
        d, t = _segment(px, py, seg[k, 0], seg[k, 1], seg[k, 2], seg[k, 3], seg[k, 4])
        n, best = _offer(n, d, best, tie, cand, cand_d, cand_t, k, t)
        if n < 0:
            return -1, best
    return n, best


@_inlined
def _rect_gap(px: float, py: float, x_lo: float, y_lo: float, size: float) -> float:
    gx = max(x_lo - px, 0.0, px - (x_lo + size))
    gy = max(y_lo - py, 0.0, py - (y_lo + size))
    return np.sqrt(gx * gx + gy * gy)


@_inlined
def _scan_bucket(
    px: float, py: float, lo: int, hi: int, data: np.ndarray, tie: float, best: float,
    n: int, cand: np.ndarray, cand_d: np.ndarray, cand_t: np.ndarray,
) -> tuple[int, float]:  # fmt: skip
    """Project on rows ``lo:hi`` of the bucket-ordered part data (a bucket's parts)."""
    for j in range(lo, hi):
        d, t = _segment(px, py, data[j, 0], data[j, 1], data[j, 2], data[j, 3], data[j, 4])
        n, best = _offer(n, d, best, tie, cand, cand_d, cand_t, j, t)
        if n < 0:
            return -1, best
    return n, best


@_inlined
def _ring_candidates(
    px: float, py: float, grid: tuple[float, float, float, int, int], ptr: np.ndarray,
    data: np.ndarray, reach0: float, limit: float, tie: float, cand: np.ndarray,
    cand_d: np.ndarray, cand_t: np.ndarray,
) -> tuple[int, float]:  # fmt: skip
    """Parts within ``tie`` of the nearest, found ring by ring of buckets (each part is
    in the bucket of its midpoint; a part within d of p has its midpoint within
    d + half of p, so rings beyond best + tie + half hold none): (count, best); the
    candidates are rows of the bucket-ordered part data. ``reach0`` is tie + half +
    a margin; ``grid`` the buckets' origin, side and counts."""
    bx, by, size, nx, ny = grid
    cx = int(np.floor((px - bx) / size))
    cy = int(np.floor((py - by) / size))
    n = 0
    best = np.inf
    r = max(0, -cx, cx - nx + 1, -cy, cy - ny + 1)  # rings before it lie outside the grid
    while (r - 1) * size <= min(best, limit) + reach0:
        for y in range(max(cy - r, 0), min(cy + r, ny - 1) + 1):
            step = 1 if y == cy - r or y == cy + r else 2 * r
            for x in range(cx - r, cx + r + 1, step):
                reach = min(best, limit) + reach0
                if 0 <= x < nx and _rect_gap(px, py, bx + x * size, by + y * size, size) <= reach:
                    b = y * nx + x
                    n, best = _scan_bucket(
                        px, py, ptr[b], ptr[b + 1], data, tie, best, n, cand, cand_d, cand_t
                    )
                    if n < 0:
                        return -1, best
        r += 1
    return n, best


@_compiled
def snap_points(
    px: np.ndarray, py: np.ndarray, lo: int, hi: int, limit: float, tie: float,
    half: float, parts: tuple, pieces: tuple, bucket: tuple, cells: tuple,
    out_f: np.ndarray, out_i: np.ndarray,
) -> int:  # fmt: skip
    """Snap points ``lo``..``hi - 1``: one entry per (point, equally near street), the
    nearest position along each street, the first along it among equals; one entry
    with street -1 for a point beyond ``limit``. Writes rows (owner, street) of
    ``out_i`` and (offset, connector, x, y) of ``out_f`` while they have room; returns
    the number of entries (-1: a point with too many equally near streets).

    ``parts``: the part of each bucket row, its piece and its range on the piece
    (ta, tb); ``pieces``: rows x0, y0, dx, dy, 1 / squared length, then each piece's
    street and offsets at its ends, then each street's geometric and network length;
    ``bucket``: origin x, y, side, nx, ny, ptr and rows (x, y, dx, dy, 1 / squared
    length) of the parts; ``cells``: the grid (origin, side, nx, ny, ptr, piece lists,
    listed) or nx = 0. The tuples are unpacked here, once: helpers get arrays.
    """
    row_part, part_piece, part_ta, part_tb = parts
    seg, piece_street, off_start, off_end, street_glen, street_len = pieces
    bx, by, bsize, bnx, bny, bptr, bdata = bucket
    cx0, cy0, csize, cnx, cny, cptr, cpiece, listed = cells
    cand = np.empty(256, dtype=np.int64)
    cand_d = np.empty(256)
    cand_t = np.empty(256)
    street = np.empty(256, dtype=np.int64)
    offset = np.empty(256)
    w = 0
    for i in range(lo, hi):
        m = 0
        x, y = px[i], py[i]
        if np.isfinite(x) and np.isfinite(y):
            fx = np.floor((x - cx0) / csize)
            fy = np.floor((y - cy0) / csize)
            cell = int(fy) * cnx + int(fx) if 0 <= fx < cnx and 0 <= fy < cny else -1
            if cell >= 0 and listed[cell]:
                n, best = _cell_candidates(x, y, cptr[cell], cptr[cell + 1], cpiece, seg, tie,
                                           cand, cand_d, cand_t)  # fmt: skip
            else:
                n, best = _ring_candidates(x, y, (bx, by, bsize, bnx, bny), bptr, bdata,
                                           tie + half + 1e-3, limit, tie, cand, cand_d,
                                           cand_t)  # fmt: skip
                for j in range(n):  # bucket row -> piece, part parameter -> piece's
                    k = row_part[cand[j]]
                    cand_t[j] = (1.0 - cand_t[j]) * part_ta[k] + cand_t[j] * part_tb[k]
                    cand[j] = part_piece[k]
            if n < 0:
                return -1
            for j in range(n):
                if cand_d[j] <= best + tie and cand_d[j] <= limit:
                    k = cand[j]
                    t = cand_t[j]
                    cand[m], cand_d[m], cand_t[m] = k, cand_d[j], t
                    street[m] = piece_street[k]
                    geo = (1.0 - t) * off_start[k] + t * off_end[k]
                    glen = street_glen[street[m]]
                    frac = min(max(geo / glen if glen > 0 else 0.0, 0.0), 1.0)
                    offset[m] = frac * street_len[street[m]]
                    m += 1
        w = _write(i, m, cand, cand_d, cand_t, street, offset, seg, w, out_f, out_i)
    return w


@_inlined
def _write(
    i: int, m: int, cand: np.ndarray, cand_d: np.ndarray, cand_t: np.ndarray,
    street: np.ndarray, offset: np.ndarray, seg: np.ndarray, w: int, out_f: np.ndarray,
    out_i: np.ndarray,
) -> int:  # fmt: skip
    """Write point i's entries (one per street: the first of :func:`_beaten`'s order;
    one unsnapped entry when it has none) from position ``w``; returns the next one."""
    cap = out_i.shape[1]
    kept = 0
    for j in range(m):
        if _beaten(j, m, street, cand_d, offset):
            continue
        if w < cap:
            k = cand[j]
            out_i[0, w] = i
            out_i[1, w] = street[j]
            out_f[0, w] = offset[j]
            out_f[1, w] = cand_d[j]
            out_f[2, w] = seg[k, 0] + cand_t[j] * seg[k, 2]
            out_f[3, w] = seg[k, 1] + cand_t[j] * seg[k, 3]
        w += 1
        kept += 1
    if kept == 0:
        if w < cap:
            out_i[0, w] = i
            out_i[1, w] = -1
            out_f[0, w] = np.nan
            out_f[1, w] = np.inf
            out_f[2, w] = np.nan
            out_f[3, w] = np.nan
        w += 1
    return w


@_inlined
def _beaten(j: int, m: int, street: np.ndarray, d: np.ndarray, offset: np.ndarray) -> bool:
    """Does another candidate on the same street come first (nearer, then smaller
    offset, then earlier)?"""
    for q in range(m):
        if q == j or street[q] != street[j]:
            continue
        if d[q] != d[j]:
            if d[q] < d[j]:
                return True
        elif offset[q] < offset[j] or (offset[q] == offset[j] and q < j):
            return True
    return False


@_compiled
def cell_order(
    px: np.ndarray, py: np.ndarray, x0: float, y0: float, size: float, nx: int, ny: int
) -> np.ndarray:
    """Positions of the points in the order of the square cells holding them (cells row
    by row from (x0, y0); points outside them or not finite first), stable: a counting
    sort, O(points + cells)."""
    n = len(px)
    cell = np.zeros(n, dtype=np.int64)
    for i in range(n):
        x, y = px[i], py[i]
        if np.isfinite(x) and np.isfinite(y):
            fx = np.floor((x - x0) / size)
            fy = np.floor((y - y0) / size)
            if 0 <= fx < nx and 0 <= fy < ny:
                cell[i] = int(fy) * nx + int(fx) + 1
    return _counting_order(cell, nx * ny + 1)


@_compiled
def owner_order(owner: np.ndarray, n: int) -> np.ndarray:
    """Positions of entries sorted by owner (0..n-1), stable: a counting sort."""
    return _counting_order(owner, n)


@_inlined
def _counting_order(key: np.ndarray, n_keys: int) -> np.ndarray:
    start = np.zeros(n_keys + 1, dtype=np.int64)
    for i in range(len(key)):
        start[key[i] + 1] += 1
    for k in range(n_keys):
        start[k + 1] += start[k]
    order = np.empty(len(key), dtype=np.int64)
    for i in range(len(key)):
        k = key[i]
        order[start[k]] = i
        start[k] += 1
    return order
