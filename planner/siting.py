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
from ._validate import warn
from .access import (
    facility_links,
    origin_legs,
    origin_points,
    same_street_times,
    snap_origins,
    with_source_rows,
)
from .assess import assess
from .assessment import Assessment, check_assessment
from .errors import InputError, PlannerWarning
from .network import ModeGraph, Network
from .rules import Circle


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
        ``sites`` and ``candidates`` (facility-level) in the facilities' CRS; ``after``
        as :func:`planner.assess` returns it (blocks in the blocks' CRS).
    """
    t0 = time.perf_counter()
    a = check_assessment(assessment)
    c = a.circle(circle)
    k = _check_problem(k, target, solver)
    provides = _provides(c, categories)
    d = _demand(a, c, provides, capacity)
    net = a.network_for(circle)
    cand, csnap = _snapped_candidates(a, net, d.rows, candidates, exclude)
    t1 = time.perf_counter()
    dsnap = snap_origins(net, a.blocks.iloc[d.rows], _demand_entrances(a, d.rows))
    cover = coverage_matrix(net.graph, csnap, dsnap.snap, c.threshold)
    t2 = time.perf_counter()
    need, message = _need(target, d, cover)
    chosen, status, gap, used = _solve(
        cover,
        d.weights,
        k=k,
        need=need,
        capacity=None if capacity is None else float(capacity),
        households=d.households if capacity is not None else None,
        solver=solver,
        time_limit_s=time_limit_s,
    )
    t3 = time.perf_counter()
    ranked, gains, note = _useful_sites(cover, d, chosen)
    message = _joined(message, note, _solver_note(solver, used, status))
    sites = _sites_table(cand, ranked, gains, cover, d.weights, d.households, d.base, d.total)
    after = _rerun(a, sites, provides, a.preset.table)
    t4 = time.perf_counter()
    log(
        f"site: {circle}, {len(cand):,} candidates, {len(d.rows):,} demand blocks, "
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
        share_before=d.share_before,
        share_after=float(after.summary["population_share"].to_dict()[circle]),
        message=message,
        candidates=cand.assign(covers_blocks=np.asarray(cover.sum(axis=1)).ravel()),
        coverage=cover,
        demand=a.blocks.index[d.rows],
        weights=d.weights,
        seconds={"candidates": t1 - t0, "coverage": t2 - t1, "solve": t3 - t2, "after": t4 - t3},
    )


def _check_problem(k: Any, target: Any, solver: str) -> int | None:
    """The number of sites (None for a target), once k, target and solver are checked."""
    if (k is None) == (target is None):
        msg = "give exactly one of k (number of stations, MCLP) or target (population share, LSCP)."
        raise InputError(msg)
    if target is not None and not (0 < _share(target) <= 1):
        msg = f"target must be a population share between 0 and 1, e.g. 0.9; got {target!r}."
        raise InputError(msg)
    if solver not in {"exact", "greedy"}:
        msg = f"solver={solver!r}; expected 'exact' or 'greedy'."
        raise InputError(msg)
    return None if k is None else _check_count("k", k)


def _provides(c: Circle, categories: Iterable[str] | None) -> tuple[str, ...]:
    """What a new station provides: the circle's categories, or the given ones of them."""
    if isinstance(categories, str):
        categories = [categories]
    provides = tuple(c.categories) if categories is None else tuple(categories)
    for key in provides:
        if key not in c.categories:
            msg = (
                f"categories: {key!r} is not one of the categories of circle {c.id!r} "
                f"({', '.join(c.categories)}); a station must provide what the circle asks for."
            )
            raise InputError(msg)
    return provides


@dataclass
class _Demand:
    """The blocks a new station could bring inside the circle, and the circle's totals."""

    rows: np.ndarray  # positions in the blocks table
    weights: np.ndarray  # their residents
    households: np.ndarray  # their households (NaN when unknown)
    total: float  # residents of the blocks the circle applies to
    base: float  # of whom inside now

    @property
    def share_before(self) -> float:
        return self.base / self.total if self.total > 0 else float("nan")


def _demand(a: Assessment, c: Circle, provides: Sequence[str], capacity: Any) -> _Demand:
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
    if capacity is not None and not (np.isfinite(_share(capacity)) and _share(capacity) > 0):
        msg = f"capacity must be a positive number of households per station; got {capacity!r}."
        raise InputError(msg)
    applies = blocks[c.id].notna().to_numpy()
    inside = blocks[c.id].fillna(False).to_numpy(dtype=bool)
    reach, cats = _circle_reach(a, c.id)
    after_kinds = (reach | np.isin(cats, provides)[None, :]).sum(axis=1)
    rows = np.flatnonzero(applies & ~inside & (after_kinds >= c.min_kinds))
    if capacity is not None and len(rows) and np.isnan(hh[rows]).any():
        msg = "capacity needs the blocks' 'households' column (missing or NaN for demand blocks)."
        raise InputError(msg)
    return _Demand(
        rows=rows,
        weights=pop[rows],
        households=hh[rows],
        total=float(pop[applies].sum()),
        base=float(pop[applies & inside].sum()),
    )


def _snapped_candidates(
    a: Assessment, net: Network, demand: np.ndarray, given: gpd.GeoDataFrame | None, exclude: Any
) -> tuple[gpd.GeoDataFrame, SnapResult]:
    """The candidates that reach a street of the circle's mode, and where they meet it."""
    cand = _candidates(a, net, demand, given, exclude)
    csnap = net.snap_xy(*net.to_metric(cand.geometry))
    ok = csnap.ok
    if not ok.any():
        msg = (
            f"none of the {len(cand)} candidates lies within {settings.max_snap_m:g} m of a street "
            f"usable in mode {net.mode!r}; candidates must be on or near the network."
        )
        raise InputError(msg)
    if not ok.all():
        warn(
            f"{int((~ok).sum())} candidates are farther than {settings.max_snap_m:g} m from the "
            "network and were left out."
        )
        cand = cand[ok]
        csnap = csnap.take(np.flatnonzero(ok))
    return cand, csnap


def _need(target: Any, d: _Demand, cover: sp.csr_matrix) -> tuple[float | None, str]:
    """Residents the sites must bring inside for the target (None for k), and a note."""
    if target is None:
        return None, ""
    reachable = np.asarray(cover.sum(axis=0)).ravel() > 0
    max_new = float(d.weights[reachable].sum())
    need = float(target) * d.total - d.base
    message = ""
    if need > max_new + 1e-9:
        best = (d.base + max_new) / d.total if d.total > 0 else float("nan")
        message = (
            f"target {float(target):.1%} is beyond reach: with every candidate the circle "
            f"reaches at most {best:.1%} of its population; sites below reach that."
        )
        warn(message)
        need = max_new
    return max(need, 0.0), message


def _useful_sites(
    cover: sp.csr_matrix, d: _Demand, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, str]:
    """The chosen sites in rank order with their gains, without those adding nobody."""
    ranked, gains = _rank(cover, d.weights, chosen)
    note = ""
    useless = gains <= 0
    if useless.any():  # e.g. k larger than the sites that still add anyone
        note = (
            f"{int(useless.sum())} of the {len(ranked)} chosen sites bring nobody new inside "
            "the circle and were left out."
        )
        ranked, gains = ranked[~useless], gains[~useless]
    if len(ranked) == 0 and len(d.rows) > 0:
        note = _joined(
            note, "no candidate site brings anyone new inside the circle; nothing is proposed."
        )
    return ranked, gains, note


def _solver_note(solver: str, used: str, status: str) -> str:
    if solver == "exact" and used == "greedy":
        return f"HiGHS found no solution in time: {status}."
    if used == "highs" and status != "Optimal":
        return f"HiGHS stopped: {status}; best sites found so far."
    return ""


def _joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


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
    a: Assessment, net: Network, demand: np.ndarray, given: gpd.GeoDataFrame | None, exclude: Any
) -> gpd.GeoDataFrame:
    """The candidate sites as points in the facilities' CRS, exclusions taken out."""
    crs = a.facilities.crs
    cand = _default_candidates(a, net, demand) if given is None else _given_candidates(given)
    cand = cand.to_crs(crs)
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


def _given_candidates(given: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The planner's own candidates as points (a polygon: a point inside it)."""
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
    return gpd.GeoDataFrame(
        given.drop(columns=given.geometry.name), geometry=pts.values, crs=given.crs
    )


def _default_candidates(a: Assessment, net: Network, demand: np.ndarray) -> gpd.GeoDataFrame:
    """Points of the network in and near the demand blocks, one per ``siting_spacing_m``.

    The street nodes, points every ``siting_spacing_m`` along the streets, and where each
    demand block meets the network, kept within ``siting_radius_m`` of a demand block and
    thinned to one per square of side ``siting_spacing_m``.
    """
    if len(demand) == 0:
        msg = (
            "no candidate sites: there are no blocks outside the circle that a station could "
            "bring inside."
        )
        raise InputError(msg)
    spacing = float(settings.siting_spacing_m)
    bx, by = net.to_metric(origin_points(a.blocks.iloc[demand]))
    own = net.snap_xy(bx, by)
    ok = own.street >= 0
    sx, sy = _street_points(net.graph, spacing)
    px = np.concatenate([own.x[ok], sx])  # the blocks' own access points first
    py = np.concatenate([own.y[ok], sy])
    good = np.isfinite(bx) & np.isfinite(by)
    tree = cKDTree(np.column_stack([bx[good], by[good]]))
    dist, _ = tree.query(np.column_stack([px, py]), distance_upper_bound=settings.siting_radius_m)
    near = np.isfinite(dist)
    if not near.any():
        msg = (
            f"no street lies within {settings.siting_radius_m:g} m of the blocks outside "
            "the circle."
        )
        raise InputError(msg)
    first = _one_per_cell(px[near], py[near], spacing)
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(px[near][first], py[near][first]),
        crs=net.crs,
        index=pd.Index([f"site_{i}" for i in range(len(first))], name="candidate"),
    )


def _street_points(mg: ModeGraph, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points along every street piece: its ends and every ``spacing`` metres between."""
    sn = mg.snapper
    plen = np.hypot(sn.dx, sn.dy)
    k = np.maximum(1, np.ceil(plen / spacing)).astype(np.int64)
    rep = np.repeat(np.arange(len(plen)), k + 1)
    j = np.arange(int((k + 1).sum())) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)
    f = j / np.repeat(k, k + 1)
    return sn.x0[rep] + f * sn.dx[rep], sn.y0[rep] + f * sn.dy[rep]


def _one_per_cell(x: np.ndarray, y: np.ndarray, spacing: float) -> np.ndarray:
    """Positions of the first point in each square of side ``spacing``, in input order."""
    cell = np.floor(np.column_stack([x, y]) / spacing).astype(np.int64)
    _, first = np.unique(cell, axis=0, return_index=True)
    return np.sort(first)


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
    fallback = "greedy"
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
        if _usable(chosen, status, gap, time_limit_s):
            return chosen, status, gap, "highs"
        fallback = f"greedy (HiGHS: {status})"
    chosen = _greedy(cover, w, k=k, need=need, capacity=capacity, households=households)
    return chosen, fallback, _greedy_gap(cover, w, chosen, k=k, need=need), "greedy"


def _usable(chosen: np.ndarray, status: str, gap: float | None, time_limit_s: float) -> bool:
    """Whether HiGHS's answer stands; warns when it is not proven optimal."""
    if status == "Optimal":
        return True
    if len(chosen) == 0 or status not in {"Time limit reached", "Interrupted by user"}:
        # No usable incumbent (or HiGHS failed): fall back to greedy, and say so.
        warn(
            f"HiGHS stopped with status {status!r} and no usable solution within "
            f"time_limit_s={time_limit_s:g}; the greedy solver's sites are returned "
            "instead. Raise time_limit_s for an optimal answer."
        )
        return False
    gap_text = f"{gap:.2%}" if gap is not None else "unknown"
    warn(
        f"HiGHS stopped with status {status!r} after time_limit_s={time_limit_s:g}; "
        f"the sites are the best found (gap to optimal at most {gap_text}). Raise "
        "time_limit_s to close the gap."
    )
    return True


def _greedy_gap(
    cover: sp.csr_matrix, w: np.ndarray, chosen: np.ndarray, *, k: int | None, need: float | None
) -> float | None:
    """The greedy answer's relative distance to the LP bound (None without a bound)."""
    bound = _lp_bound(cover, w, k=k, need=need)
    if bound <= 0:
        return None
    if need is None:
        return max(0.0, (bound - _covered(cover, w, chosen)) / bound)
    return max(0.0, (len(chosen) - bound) / len(chosen))


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


@dataclass
class _Model:
    """A MILP in HiGHS's column-wise form: entries (row, column, value), bounds, costs."""

    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    row_lower: np.ndarray
    row_upper: np.ndarray
    cost: np.ndarray
    maximise: bool
    n_rows: int
    n_cols: int
    n_int: int  # the first n_int columns are integer (the sites), the rest continuous


def _covering_model(
    cover: sp.csr_matrix, w: np.ndarray, k: int | None, need: float | None
) -> _Model:
    """Columns x_j (open site j), z_i (block i covered); rows z_i - sum_j a_ij x_j <= 0,
    then sum x_j <= k (MCLP, maximise covered weight) or sum w_i z_i >= need (LSCP,
    minimise sites)."""
    m, n = cover.shape
    inf = np.inf
    coo = cover.tocoo()  # x_j appears in the rows of the blocks it covers
    x_entries = (coo.col, coo.row, -np.ones(coo.nnz))
    z_entries = (np.arange(n), m + np.arange(n), np.ones(n))
    if need is None:
        last = (np.full(m, n), np.arange(m), np.ones(m))
        lower, upper, cost = [-inf, -inf], [0.0, float(k or 0)], np.r_[np.zeros(m), w]
    else:
        last = (np.full(n, n), m + np.arange(n), w.astype(float))
        lower, upper, cost = [-inf, need], [0.0, inf], np.r_[np.ones(m), np.zeros(n)]
    return _Model(
        entries=[x_entries, z_entries, last],
        row_lower=np.r_[np.full(n, lower[0]), lower[1]],
        row_upper=np.r_[np.full(n, upper[0]), upper[1]],
        cost=cost,
        maximise=need is None,
        n_rows=n + 1,
        n_cols=m + n,
        n_int=m,
    )


def _capacitated_model(
    cover: sp.csr_matrix,
    w: np.ndarray,
    k: int | None,
    need: float | None,
    capacity: float,
    households: np.ndarray | None,
) -> _Model:
    """Columns x_j, then y_ij (share of block i served by j) per coverage pair; rows: per
    block sum_j y_ij <= 1, per site sum_i h_i y_ij - capacity x_j <= 0, then the
    cardinality (MCLP) or coverage (LSCP) row."""
    m, n = cover.shape
    inf = np.inf
    pairs = cover.tocoo()
    p = pairs.nnz
    hh = households if households is not None else np.ones(n)
    blk = (pairs.col, m + np.arange(p), np.ones(p))
    cap_y = (n + pairs.row, m + np.arange(p), hh[pairs.col].astype(float))
    cap_x = (n + np.arange(m), np.arange(m), -float(capacity) * np.ones(m))
    served = w[pairs.col].astype(float)
    if need is None:
        last = (np.full(m, n + m), np.arange(m), np.ones(m))
        lower, upper, cost = -inf, float(k or 0), np.r_[np.zeros(m), served]
    else:
        last = (np.full(p, n + m), m + np.arange(p), served)
        lower, upper, cost = need, inf, np.r_[np.ones(m), np.zeros(p)]
    return _Model(
        entries=[blk, cap_y, cap_x, last],
        row_lower=np.r_[np.full(n, -inf), np.full(m, -inf), lower],
        row_upper=np.r_[np.ones(n), np.zeros(m), upper],
        cost=cost,
        maximise=need is None,
        n_rows=n + m + 1,
        n_cols=m + p,
        n_int=m,
    )


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

    Returns the chosen sites, HiGHS's status, the gap (integer models) and the objective.
    """
    if capacity is None:
        model = _covering_model(cover, w, k, need)
    else:
        model = _capacitated_model(cover, w, k, need, capacity, households)
    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.passModel(_highs_lp(model, integer=integer))
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = np.asarray(h.getSolution().col_value)
    info = h.getInfo()
    chosen = np.flatnonzero(sol[: cover.shape[0]] > 0.5) if len(sol) else np.zeros(0, np.int64)
    gap: float | None = None
    if integer:
        gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
        if status == "Optimal":
            gap = 0.0 if gap is None else min(gap, 1e-6) if gap < 1e-6 else gap
    return chosen.astype(np.int64), status, gap, float(info.objective_function_value)


def _highs_lp(model: _Model, *, integer: bool) -> Any:
    """The model as a ``highspy.HighsLp`` (integer site columns if ``integer``)."""
    import highspy

    r, c, v = (np.concatenate([e[i] for e in model.entries]) for i in range(3))
    a = sp.csc_matrix(
        (v.astype(float), (r.astype(np.int64), c.astype(np.int64))),
        shape=(model.n_rows, model.n_cols),
    )
    a.sum_duplicates()
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = model.n_rows
    lp.sense_ = highspy.ObjSense.kMaximize if model.maximise else highspy.ObjSense.kMinimize
    lp.col_cost_ = model.cost.astype(float)
    lp.col_lower_ = np.zeros(model.n_cols)
    lp.col_upper_ = np.ones(model.n_cols)
    lp.row_lower_ = np.nan_to_num(model.row_lower.astype(float), neginf=-inf, posinf=inf)
    lp.row_upper_ = np.nan_to_num(model.row_upper.astype(float), neginf=-inf, posinf=inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if integer:
        kinds = highspy.HighsVarType
        lp.integrality_ = [kinds.kInteger] * model.n_int + [kinds.kContinuous] * (
            model.n_cols - model.n_int
        )
    return lp


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
            reference_year=inp["reference_year"],
        )
