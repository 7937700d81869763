"""Benchmark: planner.site against spopt, and a 10,000-block, 2,000-candidate instance.

Part 1 (peer check): on the same coverage sets, planner's MCLP and LSCP optima equal
spopt's (PuLP/CBC), and planner, including building the coverage sets from the network,
is faster than spopt given a ready cost matrix. Part 2: 10,000 blocks and 2,000
candidates, solved to optimality (or the gap is reported) within 60 s.

Both parts use a generated walk network, blocks scattered near streets, 30 existing
facilities, and a 10-minute circle for one category (most blocks start outside).

    python bench/siting.py [--peer-blocks 3000 --peer-candidates 600 --k 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import points, quiet_assess, streets


def instance(n_nodes, n_blocks, n_candidates, seed=0):
    net, rng, near = streets(n_nodes, seed)
    fac = points(near(30, 10), net.crs, {"category": ["library"] * 30})
    bxy = near(n_blocks, 50)
    population = rng.integers(100, 3000, n_blocks).astype(float)
    blocks = points(bxy, net.crs, {"population": population, "setting": "urban"})
    cxy = near(n_candidates, 5)
    cands = points(cxy, net.crs, index=[f"c{i}" for i in range(n_candidates)])
    circle = {"id": "library_10min", "categories": ["library"], "minutes": 10, "setting": "both"}
    return quiet_assess(net, fac, blocks, circles=[circle]), cands


def peer(args):
    import pulp
    from spopt.locate import LSCP, MCLP

    import planner
    from planner.siting import _solve

    a, cands = instance(args.peer_nodes, args.peer_blocks, args.peer_candidates)
    t = time.perf_counter()
    s = planner.site(a, circle="library_10min", k=args.k, candidates=cands)
    ours = s.seconds["coverage"] + s.seconds["solve"]
    ours_total = time.perf_counter() - t
    cover, w = s.coverage, s.weights
    ours_obj = float(s.sites["population_new"].sum())
    cost = np.where(cover.T.toarray() > 0, 0.0, 1.0)  # clients x facilities
    t = time.perf_counter()
    m = MCLP.from_cost_matrix(cost, w, service_radius=0.5, p_facilities=args.k)
    m = m.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_time = time.perf_counter() - t
    spopt_obj = float(pulp.value(m.problem.objective))
    print(
        f"MCLP  k={args.k}: demand {cover.shape[1]:,} blocks, {cover.shape[0]:,} candidates, "
        f"{cover.nnz:,} coverage pairs"
    )
    print(
        f"  planner (coverage sets from the network + HiGHS): {ours:.2f} s, objective "
        f"{ours_obj:,.0f} (whole site() incl. re-assessment {ours_total:.2f} s)"
    )
    print(
        f"  spopt   (cost matrix given, PuLP/CBC):            {spopt_time:.2f} s, objective "
        f"{spopt_obj:,.0f}"
    )
    equal = abs(ours_obj - spopt_obj) < 1e-6
    print(f"  objectives equal: {equal}; planner {spopt_time / ours:.1f}x faster")

    keep = np.asarray(cover.sum(axis=0)).ravel() > 0  # LSCP: cover every coverable block
    sub = cover[:, keep]
    t = time.perf_counter()
    chosen, status, _, _ = _solve(
        sub,
        w[keep],
        k=None,
        need=float(w[keep].sum()),
        capacity=None,
        households=None,
        solver="exact",
        time_limit_s=60,
    )
    ours_l = time.perf_counter() - t + s.seconds["coverage"]
    t = time.perf_counter()
    lm = LSCP.from_cost_matrix(np.where(sub.T.toarray() > 0, 0.0, 1.0), service_radius=0.5)
    lm = lm.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_l = time.perf_counter() - t
    spopt_sites = round(pulp.value(lm.problem.objective))
    print(f"LSCP  cover all {int(keep.sum()):,} coverable blocks:")
    print(
        f"  planner: {ours_l:.2f} s, {len(chosen)} sites ({status}); spopt: {spopt_l:.2f} s, "
        f"{spopt_sites} sites; equal: {len(chosen) == spopt_sites}; planner "
        f"{spopt_l / ours_l:.1f}x faster"
    )


def big(args):
    import planner

    a, cands = instance(args.big_nodes, 10_000, 2_000, seed=5)
    t = time.perf_counter()
    s = planner.site(a, circle="library_10min", k=args.big_k, candidates=cands, time_limit_s=60)
    total = time.perf_counter() - t
    secs = ", ".join(f"{k} {v:.1f} s" for k, v in s.seconds.items())
    print(
        f"10,000 blocks, 2,000 candidates, k={args.big_k}: {total:.1f} s ({secs}); "
        f"{s.coverage.nnz:,} coverage pairs; solver {s.solver}, status {s.status}, "
        f"gap {s.gap}; share {s.share_before:.1%} -> {s.share_after:.1%}"
    )


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--peer-nodes", type=int, default=60_000)
    ap.add_argument("--peer-blocks", type=int, default=3_000)
    ap.add_argument("--peer-candidates", type=int, default=600)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--big-nodes", type=int, default=250_000)
    ap.add_argument("--big-k", type=int, default=100)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    peer(args)
    if not args.skip_big:
        big(args)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
