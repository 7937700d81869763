"""Benchmark: the whole assess() against the engine passes it needs.

A generated 250,000-node walk network, the 9 categories of the urban 15-minute life
circle (5,550 facilities) and 20,000 block polygons. assess() snaps the blocks, runs one
Dijkstra per category, adds the straight-line reading, the per-block columns, the
roll-ups and the targets. The baseline is planner.travel_times for the same 9 categories
and blocks (snapping + Dijkstra), timed in the same process.

    python bench/assess.py [--nodes 250000] [--blocks 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from _common import points, streets

CATEGORIES = {  # facilities per category; group members stand for the plan's groups
    "housekeeping": 300,
    "elderly_daycare": 400,
    "patient_escort": 150,
    "maternal_infant_care": 200,
    "kindergarten": 1200,
    "supermarket": 1500,
    "catering": 3000,
    "property_repair": 600,
    "recycling_point": 500,
}


def build(n_nodes, n_blocks, seed=0):
    net, rng, near = streets(n_nodes, seed)
    cats = np.repeat(list(CATEGORIES), list(CATEGORIES.values()))
    fac = points(near(len(cats), 20), net.crs, {"category": cats})
    bxy = near(n_blocks, 60)
    half = rng.uniform(15, 40, n_blocks)
    blocks = gpd.GeoDataFrame(
        {"population": rng.integers(200, 3000, n_blocks).astype(float), "setting": "urban"},
        geometry=shapely.box(
            bxy[:, 0] - half, bxy[:, 1] - half, bxy[:, 0] + half, bxy[:, 1] + half
        ),
        crs=net.crs,
    )
    return net, fac, blocks


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=250_000)
    ap.add_argument("--blocks", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import planner

    t = time.perf_counter()
    net, fac, blocks = build(args.nodes, args.blocks)
    net.graph  # noqa: B018 - the network's CSR and snapping index, built once
    setup = time.perf_counter() - t
    print(f"setup {setup:.1f} s: {net}, {len(fac):,} facilities, {len(blocks):,} blocks")

    def run_assess():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", planner.errors.PlannerWarning)
            return planner.assess(net, fac, blocks, circles=["urban_15min_life"])

    def run_engine():
        return planner.travel_times(net, fac, blocks, max_time_s=900)

    a = run_assess()
    run_engine()
    ta, te = [], []
    for _ in range(args.repeat):
        s = time.perf_counter()
        run_assess()
        ta.append(time.perf_counter() - s)
        s = time.perf_counter()
        run_engine()
        te.append(time.perf_counter() - s)
    share = a.summary.loc["urban_15min_life", "population_share"]
    print(f"population inside the circle: {share:.1%}")
    print(f"{'step':<34} {'min s':>8} {'median s':>9}")
    print(
        f"{'assess (9 categories, all tables)':<34} {min(ta):>8.3f} {statistics.median(ta):>9.3f}"
    )
    print(f"{'engine passes (travel_times, 9)':<34} {min(te):>8.3f} {statistics.median(te):>9.3f}")
    ratio = statistics.median(ta) / statistics.median(te)
    verdict = "<" if statistics.median(ta) < 3 else ">="
    print(f"assess / engine passes: {ratio:.2f}x (target <= 2x); assess {verdict} 3 s")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
