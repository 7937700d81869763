"""Benchmark: planner.what_if (one station added or one facility removed) against a full assess.

The 250k-node generated walk network of bench/assess.py (the urban 15-minute life circle,
9 categories, 7,850 facilities, 20,000 block polygons). A full ``assess`` is timed
``--repeat`` times; then ``what_if`` adds one station at a random street point, each time
to the same assessment: with one service (a random one of the 9) and with all 9 (a
comprehensive station); then removes one random facility (the first removal in a
category also finds each street node's nearest facility, once). The first ``what_if``
on an assessment snaps its blocks (setup, timed apart). Every ``--check``-th update is
compared with a full assess of the same facilities (travel times to 1e-6 s, every other
table exactly). ``--helsinki`` also times the explorer's update per click on the demo
district (Session.add: what_if and the state the page draws).

    python bench/what_if.py [--nodes 250000] [--blocks 20000] [--stations 15] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

TABLES = ["summary", "by_setting", "coverage", "confidence", "targets", "components"]


def same(got, want):
    pd.testing.assert_frame_equal(got.blocks, want.blocks, check_exact=False, atol=1e-6, rtol=0)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)


def timed(f, *args, **kwargs):
    t = time.perf_counter()
    out = f(*args, **kwargs)
    return out, time.perf_counter() - t


def stations_at(planner, streets, rng, services, n):
    lines = streets.geometry.to_numpy()
    pts = shapely.line_interpolate_point(
        lines[rng.integers(0, len(lines), n)], rng.random(n), normalized=True
    )
    return [
        planner.new_stations([p], [services(i)], crs=streets.crs, labels=[f"B{i}"])
        for i, p in enumerate(pts)
    ]


def row(name, seconds, base=None):
    med = statistics.median(seconds)
    ratio = f"{base / med:.1f}x" if base else ""
    return f"| {name} | {len(seconds)} | {min(seconds) * 1000:.1f} | {med * 1000:.1f} | {ratio} |"


def generated(args, planner, build, categories):
    t = time.perf_counter()
    net, fac, blocks = build(args.nodes, args.blocks)
    net.graph  # noqa: B018 - the CSR and the snapping index, built once
    print(f"setup {time.perf_counter() - t:.1f} s: {net}, {len(fac):,} facilities, "
          f"{len(blocks):,} blocks")  # fmt: skip

    def full(facilities):
        return planner.assess(net, facilities, blocks, circles=["urban_15min_life"])

    a = full(fac)
    ta = [timed(full, fac)[1] for _ in range(args.repeat)]
    base = statistics.median(ta)
    _, setup = timed(planner.what_if, a)
    rng = np.random.default_rng(1)
    streets = net.streets_gdf()
    cats = list(categories)
    one = stations_at(planner, streets, rng, lambda i: [cats[i % len(cats)]], args.stations)
    every = stations_at(planner, streets, rng, lambda i: cats, args.stations)
    checks = 0
    results = {}
    for name, batch in (("one service", one), ("all 9 services", every)):
        times = []
        for i, st in enumerate(batch):
            b, dt = timed(planner.what_if, a, add=st)
            times.append(dt)
            if i % args.check == 0:
                same(b, full(b.inputs["facilities"]))
                checks += 1
        results[name] = times
    labels = rng.choice(fac.index, size=args.stations, replace=False)
    first, later = [], []
    current = a
    for i, label in enumerate(labels):
        seen = set(planner.whatif._state_of(current).nodes)
        b, dt = timed(planner.what_if, current, remove=[label])
        cat = fac.loc[label, "category"]
        (later if any(k[0] == cat for k in seen) else first).append(dt)
        if i % args.check == 0:
            same(b, full(b.inputs["facilities"]))
            checks += 1
        current = b
    print(
        f"\n{args.nodes:,}-node network: full assess median {base:.3f} s (min {min(ta):.3f}); "
        f"what_if setup (first call: blocks snapped) {setup:.3f} s\n"
    )
    print("| update | n | min ms | median ms | faster than a full assess |")
    print("|---|---|---|---|---|")
    print(row("full assess", ta))
    for name, times in results.items():
        print(row(f"add one station, {name}", times, base))
    if first:
        print(row("remove a facility, first in its category", first, base))
    if later:
        print(row("remove a facility, later in its category", later, base))
    one_med = statistics.median(results["one service"])
    print(f"\nequal to a full assess: yes ({checks} updates checked)")
    print(f"one added station (one service): {base / one_med:.1f}x faster than a full assess "
          f"(target >= 20x)")  # fmt: skip


def helsinki(planner, n):
    from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities, demo_data
    from planner.explorer import Session

    path = demo_data()
    net = planner.load_network(path, mode="walk")
    fac = planner.load_facilities(path)
    blocks, com = demo_blocks(net), demo_communities(net)

    def full():
        return planner.assess(net, fac, blocks, circles=DEMO_CIRCLES, communities=com)

    a = full()
    ta = [timed(full)[1] for _ in range(3)]
    session = Session(a)
    rng = np.random.default_rng(2)
    lines = net.streets_gdf().to_crs(4326).geometry.to_numpy()
    pts = shapely.line_interpolate_point(
        lines[rng.integers(0, len(lines), n)], rng.random(n), normalized=True
    )
    times = {"library": [], "pharmacy + shopping + library": []}
    for p in pts:
        for name, services in (("library", ["library"]),
                               ("pharmacy + shopping + library",
                                ["pharmacy", "convenience_shopping", "library"])):  # fmt: skip
            t = time.perf_counter()
            session.handle({"type": "add", "lon": p.x, "lat": p.y, "services": services})
            times[name].append(time.perf_counter() - t)
            session.undo()
    base = statistics.median(ta)
    print(
        f"\nHelsinki demo district ({len(blocks)} blocks, {len(fac)} facilities, "
        f"{len(a.circles)} circles, 4 communities): full assess median {base:.3f} s\n"
    )
    print("| explorer click (what_if + the page's state) | n | min ms | median ms | faster |")
    print("|---|---|---|---|---|")
    for name, t in times.items():
        print(row(f"add a station: {name}", t, base))


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=250_000)
    ap.add_argument("--blocks", type=int, default=20_000)
    ap.add_argument("--stations", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", type=int, default=5, help="compare every n-th update")
    ap.add_argument("--helsinki", action="store_true", help="also time the explorer's clicks")
    args = ap.parse_args()
    from assess import CATEGORIES, build

    import planner

    warnings.simplefilter("ignore", planner.errors.PlannerWarning)
    generated(args, planner, build, CATEGORIES)
    if args.helsinki:
        helsinki(planner, args.stations)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
