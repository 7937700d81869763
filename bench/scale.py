"""Benchmark: a partitioned run on a LocalCluster against the single run in one process.

A generated walk network (``planner.synthetic.grid_raw``: 80 m blocks, curved and missing
links) of ``--nodes`` nodes, the 9 categories of the urban 15-minute life circle at
city-like density (31 facilities per 1,000 nodes) and ``--blocks`` block polygons spread
over it. The partitioned run splits the area into square cells of ``--km`` km (district-
sized) and runs each as one task on a ``LocalCluster`` of ``--workers`` single-threaded
worker processes; every partition builds its own streets (``grid_raw(bbox=...)``, through
a ``planner.scale.NetworkSource``), so no process ever holds the whole network.

The single run builds the whole network in this process and assesses it. Where the whole
does not fit (``--single part``), the single run is of a part of about 1M nodes: a square
in the middle of the area with every street touching it grown by the circle's reach and
snapping (the same argument as the partitions'), compared on the blocks inside the square.

Reported per run: wall time (the partitioned one with and without starting the cluster),
peak RSS of each worker process (``ru_maxrss`` read on the workers through
``client.run``; psutil samples their RSS every 0.2 s as a cross-check) and of this
process, and whether the block tables are identical (every column, exactly).

    python bench/scale.py --nodes 1000000 --blocks 100000 --km 20 --workers 2
    python bench/scale.py --nodes 4000000 --blocks 100000 --km 20 --workers 2 --single part
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import threading
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

CATEGORIES = {  # facilities per 1,000 nodes (bench/assess.py's density)
    "housekeeping": 1.2,
    "elderly_daycare": 1.6,
    "patient_escort": 0.6,
    "maternal_infant_care": 0.8,
    "kindergarten": 4.8,
    "supermarket": 6.0,
    "catering": 12.0,
    "property_repair": 2.4,
    "recycling_point": 2.0,
}
SPACING = 80.0
ORIGIN = (400_000.0, 2_540_000.0)
CIRCLE = "urban_15min_life"


class Part:
    """The streets of the generated network touching an area (a NetworkSource loader)."""

    def __init__(self, nodes: int, seed: int = 0) -> None:
        self.nodes = nodes
        self.seed = seed
        self.__name__ = f"grid_raw({nodes:,} nodes)"

    def __call__(self, area):
        from planner.synthetic import grid_raw

        box = None if area is None else tuple(area.to_crs("EPSG:32650").total_bounds)
        return grid_raw(self.nodes, seed=self.seed, bbox=box)


def layers(nodes: int, n_blocks: int, seed: int = 0):
    """Facilities and blocks spread over the grid (near its lattice points)."""
    side = round(np.sqrt(nodes))
    rng = np.random.default_rng(seed + 1)
    span = (side - 1) * SPACING

    def near(n, offset):
        pts = rng.integers(0, side, (n, 2)) * SPACING + np.array(ORIGIN)
        return pts + rng.uniform(-offset, offset, (n, 2))

    counts = {c: max(1, round(d * nodes / 1000)) for c, d in CATEGORIES.items()}
    cats = np.repeat(list(counts), list(counts.values()))
    fxy = near(len(cats), 30)
    fac = gpd.GeoDataFrame(
        {"category": cats}, geometry=gpd.points_from_xy(fxy[:, 0], fxy[:, 1]), crs=32650
    )
    bxy = near(n_blocks, 60)
    half = rng.uniform(15, 40, n_blocks)
    blocks = gpd.GeoDataFrame(
        {
            "population": rng.integers(200, 3000, n_blocks).astype(float),
            "setting": "urban",
        },
        geometry=shapely.box(
            bxy[:, 0] - half, bxy[:, 1] - half, bxy[:, 0] + half, bxy[:, 1] + half
        ),
        crs=32650,
    )
    return fac, blocks, span


def mb(n_bytes: float) -> float:
    return n_bytes / 2**20


def own_peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB (Linux: kB)


class Sampler:
    """psutil RSS of the workers every 0.2 s (a cross-check of their ru_maxrss)."""

    def __init__(self, pids):
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.peak = [0] * len(pids)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            for i, p in enumerate(self.procs):
                with contextlib.suppress(Exception):  # a worker may be gone
                    self.peak[i] = max(self.peak[i], p.memory_info().rss)
            if self.stop.wait(0.2):  # a sample every 0.2 s until closed
                break

    def close(self):
        self.stop.set()
        self.thread.join()
        return [mb(p) for p in self.peak]


def worker_peak():
    import resource as r

    return r.getrusage(r.RUSAGE_SELF).ru_maxrss * 1024


def partitioned(args, fac, blocks):
    import os

    from distributed import Client, LocalCluster

    import planner
    from planner.scale import NetworkSource

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter() - t0
        pids = list(client.run(os.getpid).values())
        sampler = Sampler(pids)
        done = []
        t1 = time.perf_counter()
        with warnings.catch_warnings(), planner.scale.progress(lambda i, n, p: done.append(p)):
            warnings.simplefilter("ignore", planner.errors.PlannerWarning)
            a = planner.assess(
                NetworkSource(Part(args.nodes), mode="walk"),
                fac,
                blocks,
                circles=[CIRCLE],
                partitions=f"grid:{args.km:g}",
                client=client,
            )
        wall = time.perf_counter() - t1
        sampled = sampler.close()
        peaks = [mb(v) for v in client.run(worker_peak).values()]
    return a, {
        "wall": wall,
        "start": start,
        "peaks": peaks,
        "sampled": sampled,
        "partitions": len(done),
    }


def single(args, fac, blocks, reach_m):
    """The whole in one process, or (``--single part``) a 1M-node square in the middle."""
    import planner
    from planner.network import Network
    from planner.synthetic import grid_raw

    side = round(np.sqrt(args.nodes))
    box = None
    if args.single == "part":
        part_side = min(side, round(np.sqrt(args.part_nodes)))
        lo = (side - part_side) // 2 * SPACING
        hi = lo + (part_side - 1) * SPACING
        box = (ORIGIN[0] + lo, ORIGIN[1] + lo, ORIGIN[0] + hi, ORIGIN[1] + hi)
        pts = blocks.representative_point()
        blocks = blocks[(pts.x.between(box[0], box[2])) & (pts.y.between(box[1], box[3]))]
        # every street touching the square grown by the reach and snapping; all facilities
        # (those beyond the reach cannot be reached in time, whatever street they meet)
        grown = shapely.box(*box).buffer(reach_m + 500 + 10, join_style="mitre")
    t0 = time.perf_counter()
    raw = grid_raw(args.nodes, bbox=None if box is None else grown.bounds)
    net = Network.from_raw(raw, mode="walk")
    del raw
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        a = planner.assess(net, fac, blocks, circles=[CIRCLE])
    return a, {
        "wall": time.perf_counter() - t0,
        "build": build,
        "assess": time.perf_counter() - t1,
        "nodes": net.n_nodes,
        "blocks": len(blocks),
    }


def identical(one, many) -> tuple[bool, float]:
    """Every column of the single run's blocks equal in the partitioned run (exactly)."""
    mine = many.blocks.loc[one.blocks.index]
    cols = [c for c in one.blocks.columns if c.startswith(("time_", "line_m__"))]
    a, b = one.blocks[cols].to_numpy(float), mine[cols].to_numpy(float)
    fin = np.isfinite(a)
    diff = float(np.abs(a[fin] - b[fin]).max()) if fin.any() else 0.0
    try:
        pd.testing.assert_frame_equal(one.blocks, mine, check_exact=True)
    except AssertionError:
        return False, diff
    return True, diff


def planner_stats():
    from planner import scale

    return scale.last_run.partitions


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--blocks", type=int, default=100_000)
    ap.add_argument("--km", type=float, default=20.0, help="partition cell side (km)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--single", choices=["whole", "part", "none"], default="whole")
    ap.add_argument("--part-nodes", type=int, default=1_000_000)
    args = ap.parse_args()

    fac, blocks, span = layers(args.nodes, args.blocks)
    print(
        f"{args.nodes:,} nodes ({span / 1000:.0f} km square), {len(fac):,} facilities in 9 "
        f"categories, {len(blocks):,} blocks; circle {CIRCLE}; grid:{args.km:g}, "
        f"{args.workers} workers",
        flush=True,
    )
    many, m = partitioned(args, fac, blocks)
    share = many.summary.loc[CIRCLE, "population_share"]
    cols = [c for c in many.blocks.columns if c.startswith("time_")]
    reached = np.isfinite(many.blocks[cols].to_numpy(float)).mean()
    stats = planner_stats()
    print(
        f"partitioned: {m['partitions']} partitions, {m['wall']:.1f} s wall (+{m['start']:.1f} s "
        f"to start the cluster); peak RSS per worker {', '.join(f'{p:,.0f}' for p in m['peaks'])} "
        f"MB (psutil samples {', '.join(f'{p:,.0f}' for p in m['sampled'])} MB); "
        f"driver {own_peak():,.0f} MB; tasks {stats['seconds'].sum():.1f} s in all, largest "
        f"partition {stats['nodes'].max():,} nodes; population inside {share:.1%}, "
        f"(block, category) pairs within 15 min {reached:.1%}",
        flush=True,
    )
    if args.single == "none":
        return
    reach = 900 * 4.0 / 3.6
    one, s = single(args, fac, blocks, reach)
    same, diff = identical(one, many)
    print(
        f"single ({'whole' if args.single == 'whole' else 'part'}): {s['nodes']:,} nodes, "
        f"{s['blocks']:,} blocks, {s['wall']:.1f} s wall (network {s['build']:.1f} s, assess "
        f"{s['assess']:.1f} s); peak RSS {own_peak():,.0f} MB",
        flush=True,
    )
    print(f"block tables identical: {'yes' if same else 'NO'} (largest time difference {diff:g} s)")
    print(
        f"| {args.nodes / 1e6:g}M | partitioned grid:{args.km:g} on LocalCluster({args.workers}) "
        f"| {m['partitions']} | {m['wall']:.1f} (+{m['start']:.1f} start) | "
        f"{max(m['peaks']):,.0f} | {'yes' if same else 'no'} |"
    )
    print(
        f"| {args.nodes / 1e6:g}M | single, {args.single} ({s['nodes']:,} nodes) | 1 | "
        f"{s['wall']:.1f} | {own_peak():,.0f} | - |"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
