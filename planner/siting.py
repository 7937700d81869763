"""Where to build: choose new service stations that bring the most people inside a circle.

``site(assessment, circle=..., k=...)`` (maximal covering, MCLP) or ``target=...``
(fewest stations for a population share, LSCP):

1. **Demand**: the blocks outside the circle that a new station could bring inside. A
   station provides the circle's categories (a comprehensive station, counted for every
   category it serves) or only ``categories``; a block can be fixed when what it already
   reaches plus what the station provides makes ``min_kinds`` kinds. Blocks already
   inside are never counted again; existing facilities stay.
2. **Candidates**: points on the streets in and near those blocks (street nodes, points
   every ``settings.siting_spacing_m`` along each street, and where each block meets the
   network), thinned to one per ``siting_spacing_m`` square; or the planner's own parcels,
   buildings or vacant plots.
3. **Coverage sets**: for each candidate, the demand blocks whose trip to it is within the
   circle's threshold, with the same snapping, mode and speed as the engine, found with
   bounded Dijkstra searches in chunks of candidates on the transposed graph: sparse,
   never a dense candidates x nodes matrix kept.
4. **Solve**: an exact MILP with HiGHS (time limit, optimality gap reported), or a lazy
   greedy (at least 1 - 1/e of the optimum; its gap is reported against the LP bound).
5. **After**: the assessment re-run with the chosen stations as facilities.
"""

from __future__ import annotations

import heapq
import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
from .access import (
    facility_links,
    origin_legs,
    origin_points,
    same_street_times,
    snap_origins,
    with_source_rows,
)
from .assess import assess
from .assessment import Assessment
from .errors import InputError, PlannerWarning


@dataclass
class Siting:
    """The result of :func:`site`.

    Attributes
    ----------
    sites
        The chosen sites in rank order (index: candidate labels), with ``rank``,
        ``population_new`` (residents it brings inside the circle, counted in rank
        order: its marginal gain), ``households_new``, ``blocks_new`` and
        ``share_after`` (the circle's population share once it and the sites above it
        are built).
    after
        The assessment re-run with the sites added as facilities.
    gap
        Relative optimality gap: 0 for a proven optimum; for a time-limited or greedy
        solution, the distance to the best bound.
    solver
        "highs" or "greedy".
    """

    sites: gpd.GeoDataFrame
    after: Assessment
    before: Assessment
    circle: str
    provides: tuple[str, ...]
    problem: str
    solver: str
    gap: float | None
    status: str
    share_before: float
    share_after: float
    message: str
    candidates: gpd.GeoDataFrame
    coverage: sp.csr_matrix = field(repr=False)
    demand: pd.Index = field(repr=False)
    weights: np.ndarray = field(repr=False)
    seconds: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"<planner.Siting {self.problem.upper()} for {self.circle!r}: {len(self.sites)} sites, "
            f"population share {self.share_before:.1%} -> {self.share_after:.1%} "
            f"({self.solver}, gap {self.gap if self.gap is not None else 'n/a'})>"
        )


def _circle_reach(a: Assessment, cid: str) -> tuple[np.ndarray, list[str]]:
    """Blocks x categories: does each block reach each of the circle's categories now?"""
    c = a.circle(cid)
    values = a.blocks[[a.value_column(cid, cat) for cat in c.categories]].to_numpy(dtype=float)
    return values <= c.threshold, list(c.categories)


def _check_count(name: str, value: Any) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        msg = f"{name} must be a whole number of sites; got {value!r}."
        raise InputError(msg) from None
    if n != value or n <= 0:
        msg = f"{name} must be 1 or more sites; got {value!r}."
        raise InputError(msg)
    return n


def site(
    assessment: Assessment,
    *,
    circle: str,
    categories: Iterable[str] | None = None,
    k: int | None = None,
    target: float | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    capacity: float | None = None,
    exclude: Any = None,
    solver: str = "exact",
    time_limit_s: float = 60.0,
) -> Siting:
    """Choose sites for new stations that close the gaps of a circle.

    Parameters
    ----------
    assessment
        The result of :func:`planner.assess`.
    circle
        The circle to improve (one of the assessment's circle ids).
    categories
        What a new station provides; default all of the circle's categories (a
        comprehensive station). Group ids count as their group.
    k
        Number of stations: maximise the population brought inside (MCLP).
    target
        Population share of the circle to reach (0-1) with the fewest stations (LSCP);
        if no choice of candidates reaches it, the best share is reported.
    candidates
        Candidate sites (points or polygons; the index labels the results). Default:
        network nodes in and near the blocks outside the circle, thinned to
        ``settings.siting_spacing_m``.
    capacity
        Households one station can serve (blocks' ``households`` column needed). The
        solver honours it when choosing sites (a block counts as served only up to the
        capacity of the sites that reach it, fractionally); ``sites``' per-site gains and
        ``after`` are travel-time coverage, which ignores capacity.
    exclude
        Candidate labels to leave out, or polygons no station may stand in.
    solver
        {"exact", "greedy"}: HiGHS MILP within ``time_limit_s``, or lazy greedy.
    time_limit_s
        Time limit of the exact solver; the gap at the limit is reported.

    Returns
    -------
    Siting
    """
    t0 = time.perf_counter()
    if not isinstance(assessment, Assessment):
        got = type(assessment).__name__
        msg = f"assessment must be a planner.Assessment (from planner.assess); got {got}."
        raise InputError(msg)
    a = assessment
    c = a.circle(circle)
    if (k is None) == (target is None):
        msg = "give exactly one of k (number of stations, MCLP) or target (population share, LSCP)."
        raise InputError(msg)
    if k is not None:
        k = _check_count("k", k)
    if target is not None and not (0 < _share(target) <= 1):
        msg = f"target must be a population share between 0 and 1, e.g. 0.9; got {target!r}."
        raise InputError(msg)
    if solver not in {"exact", "greedy"}:
        msg = f"solver={solver!r}; expected 'exact' or 'greedy'."
        raise InputError(msg)
    table = a.preset.table
    if isinstance(categories, str):
        categories = [categories]
    provides = tuple(c.categories) if categories is None else tuple(categories)
    for key in provides:
        if key not in c.categories:
            msg = (
                f"categories: {key!r} is not one of circle {circle!r}'s categories "
                f"({', '.join(c.categories)}); a station must provide what the circle asks for."
            )
            raise InputError(msg)

    blocks = a.blocks
    pop = pd.to_numeric(blocks["population"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(pop).any():
        msg = (
            f"blocks: population is missing (NaN) in {int(np.isnan(pop).sum())} rows; fill it "
            "before siting (planner.read_blocks reports and fills such rows)."
        )
        raise InputError(msg)
    hh = (
        pd.to_numeric(blocks["households"], errors="coerce").to_numpy(dtype=float)
        if "households" in blocks.columns
        else np.full(len(blocks), np.nan)
    )
    if capacity is not None and (not np.isfinite(float(capacity)) or float(capacity) <= 0):
        msg = f"capacity must be a positive number of households per station; got {capacity!r}."
        raise InputError(msg)
    applies = blocks[circle].notna().to_numpy()
    inside = blocks[circle].fillna(False).to_numpy(dtype=bool)
    reach, cats = _circle_reach(a, circle)
    fixable = np.isin(cats, provides)
    after_kinds = (reach | fixable[None, :]).sum(axis=1)
    demand_mask = applies & ~inside & (after_kinds >= c.min_kinds)
    demand = np.flatnonzero(demand_mask)
    total = float(pop[applies].sum())
    base = float(pop[applies & inside].sum())
    share_before = base / total if total > 0 else float("nan")
    if capacity is not None and len(demand) and np.isnan(hh[demand]).any():
        msg = "capacity needs the blocks' 'households' column (missing or NaN for demand blocks)."
        raise InputError(msg)

    net = a.network_for(circle)
    mg = net.graph
    cand = _candidates(a, net, demand, candidates, exclude)
    csnap = net.snap_xy(*net.to_metric(cand.geometry))
    ok = csnap.ok
    if not ok.any():
        msg = (
            f"none of the {len(cand)} candidates lies within {settings.max_snap_m:g} m of a street "
            f"usable in mode {net.mode!r}; candidates must be on or near the network."
        )
        raise InputError(msg)
    if not ok.all():
        warnings.warn(
            f"{int((~ok).sum())} candidates are farther than {settings.max_snap_m:g} m from the "
            "network and were left out.",
            PlannerWarning,
            stacklevel=2,
        )
        cand = cand[ok]
        csnap = csnap.take(np.flatnonzero(ok))
    t1 = time.perf_counter()
    dsnap = snap_origins(net, blocks.iloc[demand], _demand_entrances(a, demand))
    cover = coverage_matrix(mg, csnap, dsnap.snap, c.threshold)
    t2 = time.perf_counter()
    w = pop[demand]
    reachable = np.asarray(cover.sum(axis=0)).ravel() > 0
    max_new = float(w[reachable].sum())
    message = ""
    if target is not None:
        need = float(target) * total - base
        if need > max_new + 1e-9:
            best = (base + max_new) / total if total > 0 else float("nan")
            message = (
                f"target {float(target):.1%} is beyond reach: with every candidate the circle "
                f"reaches at most {best:.1%} of its population; sites below reach that."
            )
            warnings.warn(message, PlannerWarning, stacklevel=2)
            need = max_new
    h_w = hh[demand] if capacity is not None else None
    chosen, status, gap, used = _solve(
        cover,
        w,
        k=k,
        need=None if target is None else max(need, 0.0),
        capacity=None if capacity is None else float(capacity),
        households=h_w,
        solver=solver,
        time_limit_s=time_limit_s,
    )
    t3 = time.perf_counter()
    ranked, gains = _rank(cover, w, chosen)
    useless = gains <= 0
    if useless.any():  # e.g. k larger than the sites that still add anyone
        note = (
            f"{int(useless.sum())} of the {len(ranked)} chosen sites bring nobody new inside "
            "the circle and were left out."
        )
        message = f"{message} {note}".strip()
        ranked, gains = ranked[~useless], gains[~useless]
    if solver == "exact" and used == "greedy":
        message = f"{message} HiGHS found no solution in time: {status}.".strip()
    elif used == "highs" and status != "Optimal":
        message = f"{message} HiGHS stopped: {status}; best sites found so far.".strip()
    if len(ranked) == 0 and len(demand) > 0:
        note = "no candidate site brings anyone new inside the circle; nothing is proposed."
        message = f"{message} {note}".strip()
    sites = _sites_table(cand, ranked, gains, cover, w, hh[demand], base, total)
    after = _rerun(a, sites, provides, table)
    share_after = float(after.summary["population_share"].to_dict()[circle])
    t4 = time.perf_counter()
    log(
        f"site: {circle}, {len(cand):,} candidates, {len(demand):,} demand blocks, "
        f"{cover.nnz:,} coverage pairs, {len(ranked)} sites ({used}, {status})"
    )
    return Siting(
        sites=sites,
        after=after,
        before=a,
        circle=circle,
        provides=provides,
        problem="mclp" if k is not None else "lscp",
        solver=used,
        gap=gap,
        status=status,
        share_before=share_before,
        share_after=share_after,
        message=message,
        candidates=cand.assign(covers_blocks=np.asarray(cover.sum(axis=1)).ravel()),
        coverage=cover,
        demand=blocks.index[demand],
        weights=w,
        seconds={"candidates": t1 - t0, "coverage": t2 - t1, "solve": t3 - t2, "after": t4 - t3},
    )


def _demand_entrances(a: Assessment, demand: np.ndarray) -> gpd.GeoDataFrame | None:
    ent = a.inputs.get("entrances")
    if ent is None or len(ent) == 0:
        return None
    labels = set(a.blocks.index[demand])
    return ent[ent["block"].isin(labels)]


def _share(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _candidates(
    a: Assessment, net: Any, demand: np.ndarray, given: gpd.GeoDataFrame | None, exclude: Any
) -> gpd.GeoDataFrame:
    if given is not None:
        if not isinstance(given, gpd.GeoDataFrame) or given.crs is None:
            msg = "candidates must be a GeoDataFrame with a CRS (points or polygons)."
            raise InputError(msg)
        if not given.index.is_unique:
            msg = "candidates: index labels must be unique (they name the chosen sites)."
            raise InputError(msg)
        geom = given.geometry
        types = shapely.get_type_id(geom.to_numpy())
        pts = geom.copy()
        areas = types != shapely.GeometryType.POINT
        if areas.any():
            pts[areas] = geom[areas].representative_point()
        cand = gpd.GeoDataFrame(
            given.drop(columns=given.geometry.name), geometry=pts.values, crs=given.crs
        )
    else:
        cand = _default_candidates(a, net, demand)
    if exclude is not None:
        if isinstance(exclude, gpd.GeoDataFrame | gpd.GeoSeries):
            zone = exclude.to_crs(cand.crs).union_all()
            cand = cand[~cand.geometry.within(zone).to_numpy()]
        else:
            drop = set(exclude if isinstance(exclude, list | tuple | set | pd.Index) else [exclude])
            cand = cand[~cand.index.isin(drop)]
    if len(cand) == 0:
        msg = "no candidate sites: " + (
            "every candidate was excluded."
            if exclude is not None
            else "there are no blocks outside the circle that a station could bring inside."
        )
        raise InputError(msg)
    return cand


def _default_candidates(a: Assessment, net: Any, demand: np.ndarray) -> gpd.GeoDataFrame:
    """Points of the network in and near the demand blocks, one per ``siting_spacing_m``.

    The street nodes, points every ``siting_spacing_m`` along the streets, and where each
    demand block meets the network, kept within ``siting_radius_m`` of a demand block and
    thinned to one per square of side ``siting_spacing_m``.
    """
    if len(demand) == 0:
        msg = "no candidate sites: there are no blocks outside the circle that a station could fix."
        raise InputError(msg)
    mg = net.graph
    spacing = float(settings.siting_spacing_m)
    sn = mg.snapper
    plen = np.hypot(sn.dx, sn.dy)
    k = np.maximum(1, np.ceil(plen / spacing)).astype(np.int64)
    rep = np.repeat(np.arange(len(plen)), k + 1)
    j = np.arange(int((k + 1).sum())) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)
    f = j / np.repeat(k, k + 1)
    px = sn.x0[rep] + f * sn.dx[rep]
    py = sn.y0[rep] + f * sn.dy[rep]
    bx, by = net.to_metric(origin_points(a.blocks.iloc[demand]))
    own = net.snap_xy(bx, by)
    ok = own.street >= 0
    px = np.concatenate([own.x[ok], px])  # the blocks' own access points first
    py = np.concatenate([own.y[ok], py])
    good = np.isfinite(bx) & np.isfinite(by)
    tree = cKDTree(np.column_stack([bx[good], by[good]]))
    dist, _ = tree.query(np.column_stack([px, py]), distance_upper_bound=settings.siting_radius_m)
    near = np.isfinite(dist)
    px, py = px[near], py[near]
    if len(px) == 0:
        msg = (
            f"no street lies within {settings.siting_radius_m:g} m of the blocks outside "
            "the circle."
        )
        raise InputError(msg)
    cell = np.floor(np.column_stack([px, py]) / spacing).astype(np.int64)
    _, first = np.unique(cell, axis=0, return_index=True)
    first = np.sort(first)
    cand = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(px[first], py[first]),
        crs=net.crs,
        index=pd.Index([f"site_{i}" for i in range(len(first))], name="candidate"),
    )
    return cand.to_crs(net.input_crs)


def coverage_matrix(
    mg: Any, cand: SnapResult, demand: SnapResult, threshold: float
) -> sp.csr_matrix:
    """Sparse candidates x demand matrix: 1 where the trip block -> candidate is in time.

    Bounded Dijkstra from chunks of candidates (as virtual sources) on the transposed
    graph; each chunk's rows are reduced to the demand blocks at once, so no candidates
    x nodes matrix is kept.
    """
    n_nodes = mg.csr.shape[0]
    m = cand.n_points
    legs = origin_legs(mg, demand)
    chunk = max(1, min(m, int(settings.siting_chunk_cells // max(n_nodes, 1))))
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    buffers: dict[str, Any] = {}  # the graph is copied once, the facility rows per chunk
    for start in range(0, m, chunk):
        idx = np.arange(start, min(m, start + chunk))
        sub = cand.take(idx)
        fpos, node, wgt = facility_links(mg, sub)
        ext = with_source_rows(mg.csr_t, fpos, node, wgt, len(idx), buffers, "siting")
        d = dijkstra(
            ext, directed=True, indices=np.arange(n_nodes, n_nodes + len(idx)), limit=threshold
        )
        t = np.minimum(
            legs.to_u[None, :] + d[:, legs.node_u], legs.to_v[None, :] + d[:, legs.node_v]
        )
        r, e = np.nonzero(t <= threshold)
        rows.append(idx[r])
        cols.append(legs.owner[e])
        same = same_street_times(mg, legs, sub)  # the direct path along a shared street
        if same is not None:
            near = same[2] <= threshold
            rows.append(idx[same[1][near]])
            cols.append(same[0][near])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    mat = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(m, demand.n_points))
    mat.data[:] = 1.0  # duplicates (several entries of one block) count once
    return mat


# --- solvers --------------------------------------------------------------------------------


def _solve(
    cover: sp.csr_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    need: float | None,
    capacity: float | None,
    households: np.ndarray | None,
    solver: str,
    time_limit_s: float,
) -> tuple[np.ndarray, str, float | None, str]:
    """Chosen candidate positions, status, gap and the solver used."""
    if cover.shape[0] == 0:
        return np.zeros(0, np.int64), "no candidates", None, "none"
    if need is not None and need <= 0:
        return np.zeros(0, np.int64), "target already met", 0.0, "none"
    if solver == "exact":
        chosen, status, gap, _ = _highs_model(
            cover,
            w,
            k=k,
            need=need,
            capacity=capacity,
            households=households,
            integer=True,
            time_limit_s=time_limit_s,
        )
        used = "highs"
        if status == "Optimal":
            return chosen, status, gap, used
        if len(chosen) == 0 or status not in {"Time limit reached", "Interrupted by user"}:
            # No usable incumbent (or HiGHS failed): fall back to greedy, and say so.
            warnings.warn(
                f"HiGHS stopped with status {status!r} and no usable solution within "
                f"time_limit_s={time_limit_s:g}; the greedy solver's sites are returned "
                "instead. Raise time_limit_s for an optimal answer.",
                PlannerWarning,
                stacklevel=3,
            )
        else:
            gap_text = f"{gap:.2%}" if gap is not None else "unknown"
            warnings.warn(
                f"HiGHS stopped with status {status!r} after time_limit_s={time_limit_s:g}; "
                f"the sites are the best found (gap to optimal at most {gap_text}). Raise "
                "time_limit_s to close the gap.",
                PlannerWarning,
                stacklevel=3,
            )
            return chosen, status, gap, used
        fallback = f"greedy (HiGHS: {status})"
    else:
        fallback = "greedy"
    chosen = _greedy(cover, w, k=k, need=need, capacity=capacity, households=households)
    bound = _lp_bound(cover, w, k=k, need=need)
    value = float(len(chosen)) if need is not None else _covered(cover, w, chosen)
    gap = None
    if bound > 0:
        gap = (
            max(0.0, (bound - value) / bound) if need is None else max(0.0, (value - bound) / value)
        )
    return chosen, fallback, gap, "greedy"


def _covered(cover: sp.csr_matrix, w: np.ndarray, chosen: np.ndarray) -> float:
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(cover[chosen].sum(axis=0)).ravel() > 0
    return float(w[hit].sum())


def _greedy(
    cover: sp.csr_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    need: float | None,
    capacity: float | None,
    households: np.ndarray | None,
) -> np.ndarray:
    """Lazy greedy: pick the candidate with the largest marginal gain until done."""
    csr = cover.tocsr()
    left = w.astype(float).copy()  # weight not yet covered
    hh_left = households.astype(float).copy() if households is not None else None
    gains = csr @ left
    heap = [(-g, j) for j, g in enumerate(gains) if g > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    covered = 0.0
    while heap and (k is None or len(chosen) < k) and (need is None or covered < need - 1e-9):
        _, j = heapq.heappop(heap)
        cols = csr.indices[csr.indptr[j] : csr.indptr[j + 1]]
        fresh = _serve(cols, left, hh_left, capacity)[0]
        if fresh <= 0:
            continue
        if heap and fresh < -heap[0][0] - 1e-12:  # stale: push back with its current gain
            heapq.heappush(heap, (-fresh, j))
            continue
        _, served = _serve(cols, left, hh_left, capacity)
        left[served] = 0.0
        if hh_left is not None:
            hh_left[served] = 0.0
        covered += fresh
        chosen.append(j)
    return np.asarray(chosen, dtype=np.int64)


def _serve(
    cols: np.ndarray, left: np.ndarray, hh_left: np.ndarray | None, capacity: float | None
) -> tuple[float, np.ndarray]:
    """Gain of opening a site over blocks ``cols`` (heaviest first within its capacity)."""
    open_cols = cols[left[cols] > 0]
    if capacity is None or hh_left is None:
        return float(left[open_cols].sum()), open_cols
    order = open_cols[np.argsort(-left[open_cols], kind="stable")]
    fits = np.cumsum(hh_left[order]) <= capacity
    served = order[fits]
    return float(left[served].sum()), served


def _lp_bound(cover: sp.csr_matrix, w: np.ndarray, *, k: int | None, need: float | None) -> float:
    """The LP relaxation's optimum: a bound on the best integer solution."""
    res = _highs_model(
        cover,
        w,
        k=k,
        need=need,
        capacity=None,
        households=None,
        integer=False,
        time_limit_s=60.0,
    )
    return res[3]


def _highs_model(
    cover: sp.csr_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    need: float | None,
    capacity: float | None,
    households: np.ndarray | None,
    integer: bool,
    time_limit_s: float,
) -> tuple[np.ndarray, str, float | None, float]:
    """Build and solve the MCLP/LSCP (optionally capacitated) with HiGHS.

    Columns: x_j (open candidate j) then z_i (block i covered) or, with a capacity,
    y_ij (share of block i served by j) for every coverage pair.
    """
    import highspy

    m, n = cover.shape
    inf = highspy.kHighsInf
    cov = cover.tocsc()  # column i: the candidates covering block i
    if capacity is None:
        # rows 0..n-1: z_i - sum_j a_ij x_j <= 0 ; then the cardinality or coverage row
        x_rows = [cover.tocoo()]  # x_j appears in the rows of the blocks it covers
        coo = x_rows[0]
        x_entries = (coo.col, coo.row, -np.ones(coo.nnz))  # (row, col, value)
        z_entries = (np.arange(n), m + np.arange(n), np.ones(n))
        n_cols = m + n
        extra_row = n
        if need is None:
            card = (np.full(m, extra_row), np.arange(m), np.ones(m))
            parts = [x_entries, z_entries, card]
            row_lower = np.r_[np.full(n, -inf), -inf]
            row_upper = np.r_[np.zeros(n), float(k or 0)]
            cost = np.r_[np.zeros(m), w]
            sense = highspy.ObjSense.kMaximize
        else:
            cov_row = (np.full(n, extra_row), m + np.arange(n), w.astype(float))
            parts = [x_entries, z_entries, cov_row]
            row_lower = np.r_[np.full(n, -inf), need]
            row_upper = np.r_[np.zeros(n), inf]
            cost = np.r_[np.ones(m), np.zeros(n)]
            sense = highspy.ObjSense.kMinimize
        col_upper = np.ones(n_cols)
        n_rows = n + 1
        int_cols = m
    else:
        pairs = cover.tocoo()
        p = pairs.nnz
        hh = households if households is not None else np.ones(n)
        # columns: x (m), y (p); rows: per block sum_j y_ij <= 1 (n), per site
        # sum_i h_i y_ij - cap x_j <= 0 (m), cardinality (1)
        blk = (pairs.col, m + np.arange(p), np.ones(p))
        cap_y = (n + pairs.row, m + np.arange(p), hh[pairs.col].astype(float))
        cap_x = (n + np.arange(m), np.arange(m), -float(capacity) * np.ones(m))
        last = n + m
        if need is None:
            card = (np.full(m, last), np.arange(m), np.ones(m))
            parts = [blk, cap_y, cap_x, card]
            row_lower = np.r_[np.full(n, -inf), np.full(m, -inf), -inf]
            row_upper = np.r_[np.ones(n), np.zeros(m), float(k or 0)]
            cost = np.r_[np.zeros(m), w[pairs.col].astype(float)]
            sense = highspy.ObjSense.kMaximize
        else:
            cov_row = (np.full(p, last), m + np.arange(p), w[pairs.col].astype(float))
            parts = [blk, cap_y, cap_x, cov_row]
            row_lower = np.r_[np.full(n, -inf), np.full(m, -inf), need]
            row_upper = np.r_[np.ones(n), np.zeros(m), inf]
            cost = np.r_[np.ones(m), np.zeros(p)]
            sense = highspy.ObjSense.kMinimize
        n_cols = m + p
        col_upper = np.ones(n_cols)
        n_rows = n + m + 1
        int_cols = m
    del cov
    r = np.concatenate([pp[0] for pp in parts]).astype(np.int64)
    c = np.concatenate([pp[1] for pp in parts]).astype(np.int64)
    v = np.concatenate([pp[2] for pp in parts]).astype(float)
    a = sp.csc_matrix((v, (r, c)), shape=(n_rows, n_cols))
    a.sum_duplicates()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.sense_ = sense
    lp.col_cost_ = cost.astype(float)
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = col_upper
    lp.row_lower_ = row_lower.astype(float)
    lp.row_upper_ = row_upper.astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * int_cols + [
            highspy.HighsVarType.kContinuous
        ] * (n_cols - int_cols)
    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = np.asarray(h.getSolution().col_value)
    info = h.getInfo()
    objective = float(info.objective_function_value)
    chosen = np.flatnonzero(sol[:m] > 0.5) if len(sol) else np.zeros(0, np.int64)
    gap: float | None = None
    if integer:
        gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
        if status == "Optimal":
            gap = 0.0 if gap is None else min(gap, 1e-6) if gap < 1e-6 else gap
    return chosen.astype(np.int64), status, gap, objective


def _quiet_highs() -> Any:
    """A Highs instance, without the banner HiGHS prints to stdout when first created."""
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


# --- results ---------------------------------------------------------------------------------


def _rank(cover: sp.csr_matrix, w: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen sites by marginal gain (greedy within the chosen set)."""
    left = w.astype(float).copy()
    csr = cover.tocsr()
    remaining = list(chosen)
    order, gains = [], []
    while remaining:
        g = np.array(
            [left[csr.indices[csr.indptr[j] : csr.indptr[j + 1]]].sum() for j in remaining]
        )
        best = int(np.argmax(g))
        j = remaining.pop(best)
        order.append(j)
        gains.append(float(g[best]))
        left[csr.indices[csr.indptr[j] : csr.indptr[j + 1]]] = 0.0
    return np.asarray(order, dtype=np.int64), np.asarray(gains)


def _sites_table(
    cand: gpd.GeoDataFrame,
    order: np.ndarray,
    gains: np.ndarray,
    cover: sp.csr_matrix,
    w: np.ndarray,
    hh: np.ndarray,
    base: float,
    total: float,
) -> gpd.GeoDataFrame:
    csr = cover.tocsr()
    seen = np.zeros(cover.shape[1], dtype=bool)
    blocks_new, hh_new = [], []
    for j in order:
        cols = csr.indices[csr.indptr[j] : csr.indptr[j + 1]]
        fresh = cols[~seen[cols]]
        seen[fresh] = True
        blocks_new.append(len(fresh))
        hh_new.append(float(np.nansum(hh[fresh])) if len(fresh) else 0.0)
    out = cand.iloc[order].copy()
    out.insert(0, "rank", np.arange(1, len(order) + 1))
    out["population_new"] = gains
    out["households_new"] = hh_new
    out["blocks_new"] = blocks_new
    out["share_after"] = (base + np.cumsum(gains)) / total if total > 0 else np.nan
    return out


def _rerun(
    a: Assessment, sites: gpd.GeoDataFrame, provides: Sequence[str], table: Any
) -> Assessment:
    """The assessment with one facility per (site, category it provides) added."""
    inp = a.inputs
    cat_col = inp["category"]
    fac = inp["facilities"]
    if len(sites):
        members = [table.members(p)[0] for p in provides]  # a group: its first member serves
        pts = sites.geometry.to_crs(fac.crs)
        new = gpd.GeoDataFrame(
            {
                cat_col: np.repeat(
                    np.asarray(members, dtype=object)[None, :], len(sites), 0
                ).ravel(),
                "name": np.repeat(
                    np.asarray([f"new site {s}" for s in sites.index], dtype=object), len(members)
                ),
                "source_file": "planner.site",
            },
            geometry=np.repeat(pts.to_numpy(), len(members)),
            crs=fac.crs,
        )
        fac = pd.concat([fac, new], ignore_index=True)
        fac = gpd.GeoDataFrame(fac, geometry=fac.geometry.name, crs=inp["facilities"].crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)  # the same warnings as the first run
        return assess(
            inp["network"],
            fac,
            inp["blocks"],
            preset=a.preset,
            circles=inp["circles"],
            communities=inp["communities"],
            entrances=inp["entrances"],
            category=cat_col,
        )
