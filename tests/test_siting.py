"""Siting: hand-computed optima, the greedy guarantee, the test town, bad input."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from helpers import points
from sharing import copied, frozen
from town import town

import planner
from planner.errors import InputError, PlannerWarning
from planner.siting import _solve, coverage_matrix


def cover(rows):
    """Candidates x blocks 0/1 matrix from lists of covered block positions."""
    r = [i for i, cols in enumerate(rows) for _ in cols]
    c = [j for cols in rows for j in cols]
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), 4))


# Blocks p, q, r, s with 4, 4, 3, 3 residents. Candidate X covers p and r (7), Y covers q
# and s (7), Z covers p and q (8). With k = 2 greedy takes Z first (8) and then X or Y
# (+3): 11; the optimum is X + Y: 14.
W = np.array([4.0, 4.0, 3.0, 3.0])
A = cover([[0, 2], [1, 3], [0, 1]])


def test_mclp_exact_optimum_and_greedy_guarantee():
    chosen, status, gap, used = _solve(
        A, W, k=2, need=None, capacity=None, households=None, solver="exact", time_limit_s=10
    )
    assert sorted(chosen.tolist()) == [0, 1] and used == "highs" and gap == 0.0
    assert status == "Optimal"
    greedy, _, ggap, gused = _solve(
        A, W, k=2, need=None, capacity=None, households=None, solver="greedy", time_limit_s=10
    )
    assert gused == "greedy" and greedy.tolist()[0] == 2  # Z first
    value = W[np.asarray(A[greedy].sum(axis=0)).ravel() > 0].sum()
    assert value == 11.0
    assert value >= (1 - 1 / math.e) * 14.0
    assert ggap == pytest.approx((14 - 11) / 14)  # against the LP bound, here 14


def test_lscp_fewest_sites():
    chosen, *_ = _solve(
        A, W, k=None, need=14.0, capacity=None, households=None, solver="exact", time_limit_s=10
    )
    assert sorted(chosen.tolist()) == [0, 1]
    greedy, *_ = _solve(
        A, W, k=None, need=14.0, capacity=None, households=None, solver="greedy", time_limit_s=10
    )
    assert len(greedy) == 3  # Z, then X and Y


def test_capacity_decides_which_site_serves_most():
    """Households 4, 1, 3, 1 and 2 per station: X serves half of p or two thirds of r
    (2 residents), Y all of q and s (1 + 1 households: 7 residents), Z all of q and a
    quarter of p (4 + 1 = 5). Without the capacity Z (8) is best; with it, Y."""
    hh = np.array([4.0, 1.0, 3.0, 1.0])
    kw = {"need": None, "households": hh, "time_limit_s": 10}
    free, *_ = _solve(A, W, k=1, capacity=None, solver="exact", **kw)
    assert free.tolist() == [2]
    chosen, status, gap, _ = _solve(A, W, k=1, capacity=2.0, solver="exact", **kw)
    assert chosen.tolist() == [1] and status == "Optimal" and gap == 0.0
    # greedy with capacity serves the heaviest blocks that fit whole: X fits neither p
    # nor r (0), Y both (7), Z only q (4)
    greedy, *_ = _solve(A, W, k=1, capacity=2.0, solver="greedy", **kw)
    assert greedy.tolist() == [1]


@pytest.fixture(scope="module")
def _assessed():
    net, fac, blocks, communities = town()
    return frozen(planner.assess(net, fac, blocks, communities=communities))


@pytest.fixture
def assessed(_assessed):
    return copied(_assessed)


def test_town_mclp_fixes_u1_and_after_agrees(assessed):
    """U1 misses only the recycling point: one comprehensive station near U1 brings its
    1,000 residents inside; U2 (already inside) is never counted again."""
    s = planner.site(assessed, circle="urban_15min_life", k=1)
    assert list(s.demand) == ["U1"]
    assert s.sites["population_new"].tolist() == [1000.0]
    assert s.share_before == pytest.approx(600 / 1600)
    assert s.share_after == pytest.approx(1.0)
    assert s.sites["share_after"].iloc[-1] == pytest.approx(s.share_after)
    assert s.after.blocks.loc["U1", "urban_15min_life"]
    assert s.gap == 0.0 and s.solver == "highs"
    assert "urban_15min_life" in repr(s)


def test_town_single_category_station(assessed):
    s = planner.site(assessed, circle="urban_15min_life", categories=["recycling_point"], k=1)
    assert s.share_after == pytest.approx(1.0)
    assert (s.after.facilities["source_file"] == "planner.site").sum() == 1
    with pytest.raises(InputError, match=r"no candidate sites: there are no blocks outside"):
        planner.site(assessed, circle="urban_15min_life", categories=["housekeeping"], k=1)


def test_town_rural_target_beyond_reach(assessed):
    """Rural half-hour circle: R1 (300) is inside; R2 (200) can be fixed, W1 (100) too,
    but no single site serves both (they are 2,500 m apart along the north street)."""
    s = planner.site(assessed, circle="rural_30min_life", k=1)
    assert s.sites["population_new"].tolist() == [200.0]
    assert s.share_after == pytest.approx(500 / 600)
    two = planner.site(assessed, circle="rural_30min_life", target=1.0)
    assert len(two.sites) == 2 and two.share_after == pytest.approx(1.0)
    # no station may stand in the north-west (around W1): W1 cannot be reached any more
    import shapely
    from helpers import X0, Y0

    zone = gpd.GeoDataFrame(
        geometry=[shapely.box(X0 - 100, Y0 + 2000, X0 + 2300, Y0 + 3600)], crs="EPSG:32650"
    )
    with pytest.warns(PlannerWarning, match=r"target 100.0% is beyond reach.*at most 83.3%"):
        best = planner.site(assessed, circle="rural_30min_life", target=1.0, exclude=zone)
    assert best.share_after == pytest.approx(500 / 600) and len(best.sites) == 1
    assert "beyond reach" in best.message


def test_user_candidates_and_exclusion(assessed):
    cands = points([(400, 0), (3000, 0), (600, 0)], name=["a", "b", "c"]).set_index(
        np.array(["lot-a", "lot-b", "lot-c"])
    )
    s = planner.site(assessed, circle="urban_15min_life", k=1, candidates=cands)
    assert s.sites.index[0] in {"lot-a", "lot-c"}
    s2 = planner.site(
        assessed, circle="urban_15min_life", k=1, candidates=cands, exclude=["lot-a", "lot-c"]
    )
    assert len(s2.sites) == 0  # lot-b is too far from U1 to help
    with pytest.raises(InputError, match=r"every candidate was excluded"):
        planner.site(
            assessed, circle="urban_15min_life", k=1, candidates=cands, exclude=list(cands.index)
        )


def test_solver_limits_are_reported(assessed):
    # No time at all: HiGHS has no incumbent, greedy answers and the result says so.
    with pytest.warns(PlannerWarning, match=r"HiGHS stopped with status 'Time limit reached'"):
        s = planner.site(assessed, circle="urban_15min_life", k=1, time_limit_s=0)
    assert s.status == "greedy (HiGHS: Time limit reached)"
    assert "HiGHS found no solution in time" in s.message
    assert s.share_after == pytest.approx(1600 / 1600)
    # Nothing to gain: an empty proposal comes with a message, not silence.
    far = points([(7000, 3000)], name=["far"])
    s = planner.site(assessed, circle="urban_15min_life", k=1, candidates=far)
    assert len(s.sites) == 0 and "nothing is proposed" in s.message


def test_bad_input(assessed):
    for bad in (0, -1, 1.5):
        with pytest.raises(InputError, match=r"k must be"):
            planner.site(assessed, circle="urban_15min_life", k=bad)
    with pytest.raises(InputError, match=r"give exactly one of k"):
        planner.site(assessed, circle="urban_15min_life", k=1, target=0.9)
    for bad in (1.5, "most", None):
        with pytest.raises(InputError, match=r"target must be a population share|exactly one"):
            planner.site(assessed, circle="urban_15min_life", target=bad)
    with pytest.raises(InputError, match=r"no circle 'urban_15'"):
        planner.site(assessed, circle="urban_15", k=1)
    far = points([(0, 90_000)], name=["far"])
    with pytest.raises(InputError, match=r"none of the 1 candidates lies within 500 m"):
        planner.site(assessed, circle="urban_15min_life", k=1, candidates=far)
    assessed.blocks.loc["U1", "population"] = np.nan  # the test's own copy
    with pytest.raises(InputError, match=r"population is missing \(NaN\) in 1 rows"):
        planner.site(assessed, circle="urban_15min_life", k=1)


def test_coverage_matrix_equals_travel_times(assessed):
    """Coverage pairs equal travel_times from the blocks to each candidate, one by one."""
    net, _, blocks, _ = town()
    cands = points([(400, 0), (2600, 0), (3000, 3000), (900, -50)])
    c = assessed.circle("urban_15min_life")
    wnet = net.with_mode("walk", 4.0)
    mg = wnet.graph
    csnap = wnet.snap_xy(*wnet.to_metric(cands.geometry))
    dsnap = wnet.snap_xy(*wnet.to_metric(blocks.geometry))
    got = coverage_matrix(mg, csnap, dsnap, c.threshold).toarray()
    want = np.zeros_like(got)
    for j in range(len(cands)):
        one = cands.iloc[[j]].assign(category="x")
        t = planner.travel_times(wnet, one, blocks, max_time_s=c.threshold)["x"].to_numpy()
        want[j] = t <= c.threshold
    np.testing.assert_array_equal(got, want)
    # by hand, 1,000 m (15 min at 4 km/h) along the streets plus the connectors:
    # (400,0): U1 100 + 100 m; (2600,0): U2 800 + 100 m, R1 400 + 50 m (U1 2,200 m);
    # (3000,3000): R2 50 m (W1 2,550 m); (900,-50): U1 50 + 400 + 100 m (U2 1,050 m)
    by_hand = [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0]]
    np.testing.assert_array_equal(got, np.array(by_hand, dtype=got.dtype))


def test_greedy_solver_option(assessed):
    s = planner.site(assessed, circle="urban_15min_life", k=1, solver="greedy")
    assert s.solver == "greedy" and s.share_after == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"solver='cbc'"):
        planner.site(assessed, circle="urban_15min_life", k=1, solver="cbc")


def test_siting_on_helsinki_is_the_optimum_of_an_independent_model(helsinki_walk, helsinki_pbf):
    """k = 2 stations for the culture circle: the residents planner's sites bring inside
    equal the optimum of the same covering problem written again with scipy's MILP
    (its own formulation: x_j open, y_i covered <= sum of the x covering it), and the
    re-assessment with the sites built agrees with the shares reported."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    fac = planner.load_facilities(helsinki_pbf)
    blocks = planner.derive_blocks(helsinki_walk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        a = planner.assess(helsinki_walk, fac, blocks, circles=["urban_10min_culture"])
        s = planner.site(a, circle="urban_10min_culture", k=2)
    cover, w = s.coverage.tocsr(), np.asarray(s.weights, dtype=float)
    m, n = cover.shape
    model = milp(
        np.r_[np.zeros(m), -w],
        constraints=[
            LinearConstraint(sp.hstack([-cover.T, sp.eye(n)]), -np.inf, 0),
            LinearConstraint(np.r_[np.ones(m), np.zeros(n)][None, :], 0, 2),
        ],
        integrality=np.r_[np.ones(m), np.zeros(n)],
        bounds=Bounds(0, 1),
    )
    assert model.status == 0
    brought = s.sites["population_new"].sum()
    assert brought == pytest.approx(-model.fun, rel=1e-9)
    assert brought < w.sum()  # two stations cannot fix every block: the choice matters
    pop = a.blocks["population"].to_numpy(dtype=float)
    inside = a.blocks["urban_10min_culture"].to_numpy(dtype=bool)
    assert s.share_before == pytest.approx(pop[inside].sum() / pop.sum())
    assert s.share_after == pytest.approx((pop[inside].sum() + brought) / pop.sum())
    assert s.after.summary.loc["urban_10min_culture", "population_share"] == pytest.approx(
        s.share_after
    )
    assert s.share_after == pytest.approx(s.sites["share_after"].iloc[-1])
    assert len(s.sites) == 2
    assert isinstance(s.sites, gpd.GeoDataFrame) and s.sites.crs.to_epsg() == 4326
