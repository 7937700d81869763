"""Benchmark: writing the offline HTML map of 2,000 blocks and 1,000 facilities.

A generated walk network (about 10,000 nodes, 8 km x 8 km in Guangzhou), 2,000 block
polygons and 1,000 facilities of the urban 15-minute life circle's nine categories;
assess() once, then map_assessment() + save_map() timed (with and without the
isochrone layer). The issue's target: the file <= 6 MB, written in < 5 s.

    python bench/maps.py [--nodes 10000] [--blocks 2000] [--facilities 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from _common import points, quiet_assess, streets

CATEGORIES = [
    "housekeeping",
    "elderly_daycare",
    "patient_escort",
    "maternal_infant_care",
    "kindergarten",
    "supermarket",
    "catering",
    "property_repair",
    "recycling_point",
]


def build(n_nodes=10_000, n_blocks=2_000, n_facilities=1_000, seed=0):
    """An Assessment of generated data (network, blocks, facilities)."""
    net, rng, near = streets(n_nodes, seed)
    cats = np.resize(np.array(CATEGORIES, dtype=object), n_facilities)
    names = [f"设施 {i}" for i in range(n_facilities)]
    fac = points(near(n_facilities, 20), net.crs, {"category": cats, "name": names}).to_crs(4326)
    bxy = near(n_blocks, 60)
    half = rng.uniform(15, 40, n_blocks)
    ring = np.linspace(0, 2 * np.pi, 13)[:-1]  # 12-sided blocks: more vertices than boxes
    polys = [
        shapely.Polygon(np.column_stack([x + h * np.cos(ring), y + h * np.sin(ring)]))
        for (x, y), h in zip(bxy, half, strict=True)
    ]
    blocks = gpd.GeoDataFrame(
        {
            "population": rng.integers(200, 3000, n_blocks).astype(float),
            "setting": "urban",
            "name": [f"地块 {i}" for i in range(n_blocks)],
        },
        geometry=polys,
        crs=net.crs,
    ).to_crs(4326)
    return quiet_assess(net, fac, blocks, circles=["urban_15min_life"])


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--blocks", type=int, default=2_000)
    ap.add_argument("--facilities", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from planner.outputs.maps import map_assessment, save_map

    t = time.perf_counter()
    a = build(args.nodes, args.blocks, args.facilities)
    print(
        f"setup {time.perf_counter() - t:.1f} s: {len(a.blocks):,} blocks, "
        f"{len(a.facilities):,} facilities, {a.params['network']}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'map':<28} {'min s':>7} {'median s':>9} {'size MB':>8}")
        for label, iso in (("without isochrones", False), ("with isochrones", True)):
            times = []
            path = Path(tmp) / f"map_{iso}.html"
            for _ in range(args.repeat):
                s = time.perf_counter()
                save_map(map_assessment(a, isochrones=iso), path)
                times.append(time.perf_counter() - s)
            size = path.stat().st_size / 1e6
            print(f"{label:<28} {min(times):>7.2f} {statistics.median(times):>9.2f} {size:>8.2f}")
        print("target: <= 6 MB and < 5 s")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
