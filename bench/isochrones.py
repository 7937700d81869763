"""Benchmark: planner.isochrones for a whole category at 15 minutes on 250k nodes.

A generated 250,000-node walk network with 40 m spacing (so that 15-minute catchments of
100 facilities reach most of it, as in the engine issue's measurement: "a 100-facility
category reaching 200k nodes"). planner.isochrones (exact reached parts of streets,
raster buffer, traced outline) is timed against the faithful vector recipe on the same
reached street parts: buffer every reached segment by the same 50 m and union_all.

    python bench/isochrones.py [--nodes 250000] [--facilities 100] [--skip-vector]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=250_000)
    ap.add_argument("--facilities", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-vector", action="store_true", help="do not run the slow baseline")
    args = ap.parse_args()

    import planner
    from planner.access import node_times, snap_layer
    from planner.isochrones import _intervals, _lines, _segments, isochrones
    from planner.network import Network
    from planner.synthetic import grid_raw

    net = Network.from_raw(grid_raw(args.nodes, spacing_m=40.0, seed=3), mode="walk")
    mg = net.graph
    rng = np.random.default_rng(4)
    xmin, ymin, xmax, ymax = net.x.min(), net.y.min(), net.x.max(), net.y.max()
    side = int(np.ceil(np.sqrt(args.facilities)))
    gx, gy = np.meshgrid(
        np.linspace(xmin, xmax, side + 2)[1:-1], np.linspace(ymin, ymax, side + 2)[1:-1]
    )
    xy = np.column_stack([gx.ravel(), gy.ravel()])[: args.facilities] + rng.normal(
        0, 30, (args.facilities, 2)
    )
    fac = gpd.GeoDataFrame(
        {"category": ["x"] * len(xy)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs
    )
    snap = snap_layer(net, fac.geometry).snap
    dist, _ = node_times(mg, snap, 900)
    reached_nodes = int(np.isfinite(dist).sum())
    print(f"{net}; {args.facilities} facilities reach {reached_nodes:,} nodes in 15 min")

    isochrones(net, fac, times_s=[900])  # warm-up
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        iso = isochrones(net, fac, times_s=[900])
        times.append(time.perf_counter() - t)
    area = iso.to_crs(net.crs).area.sum() / 1e6
    print(
        f"planner.isochrones: min {min(times):.2f} s, median {statistics.median(times):.2f} s; "
        f"area {area:,.1f} km2 (target < 3 s)"
    )
    if args.skip_vector:
        return
    lines = _lines(_segments(mg, *_intervals(mg, dist, snap, 900)))
    t = time.perf_counter()
    exact = shapely.union_all(shapely.buffer(lines, planner.settings.isochrone_buffer_m))
    vec = time.perf_counter() - t
    diff = exact.symmetric_difference(shapely.union_all(iso.to_crs(net.crs).geometry.to_numpy()))
    print(
        f"vector buffer + union_all of {len(lines):,} reached segments: {vec:.1f} s "
        f"({vec / statistics.median(times):.0f}x slower); area {exact.area / 1e6:,.1f} km2; "
        f"outlines differ on {diff.area / exact.area:.2%} of the area"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
