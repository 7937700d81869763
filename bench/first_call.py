"""Benchmark: what the compiled engine costs before its first answer, and on the demo.

Each row runs in a fresh Python process (the cost being measured is per process):

first call, scipy       travel_times + isochrones on a 400-node grid, scipy path
first call, warm cache  the same with the compiled engine, its kernels loaded from the
                        numba cache (import numba + cache load)
first call, cold cache  the same with an empty cache (NUMBA_CACHE_DIR set to a new
                        folder): the kernels are compiled, once per install and user
planner demo, scipy     ``planner demo`` (python -m planner), whole process, scipy path
planner demo, numba     the same with the compiled engine, warm cache

    python bench/first_call.py --repeat 3

The table shows the minimum and median wall time and the CPU time (user + system) of
the minimum run; "vs scipy" is the difference of minima against the scipy row.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FIRST = """
import time, sys
import geopandas as gpd, planner
from planner import settings
from planner.network import Network
from planner.synthetic import grid_raw
settings.engine = sys.argv[1]
net = Network.from_raw(grid_raw(400, seed=1), mode="walk")
pts = gpd.GeoSeries(gpd.points_from_xy(net.x[::7], net.y[::7]), crs=net.crs)
fac = gpd.GeoDataFrame({"category": ["a"] * len(pts)}, geometry=pts)
net.graph
t = time.perf_counter()
planner.travel_times(net, fac, pts, max_time_s=300)
planner.isochrones(net, fac, times_s=(300,))
print("ELAPSED", time.perf_counter() - t)
"""

DEMO = """
import sys
from planner import settings
settings.engine = sys.argv[1]
from planner.cli import main
sys.exit(main(["demo", "--out", sys.argv[2], "-q"]))
"""


def _run(code, args, env=None):
    t0 = time.perf_counter()
    before = os.times()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-500:])
    inner = [float(x.split()[1]) for x in proc.stdout.splitlines() if x.startswith("ELAPSED")]
    return (inner[0] if inner else wall), cpu


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        _run(FIRST, ["numba"])  # the project's own cache warm
        cases = [
            ("first call, scipy", FIRST, ["scipy"], None),
            ("first call, warm cache", FIRST, ["numba"], None),
            ("first call, cold cache", FIRST, ["numba"], "fresh"),
            ("planner demo, scipy", DEMO, ["scipy", f"{tmp}/demo"], None),
            ("planner demo, numba", DEMO, ["numba", f"{tmp}/demo"], None),
        ]
        for i in range(args.repeat):
            for name, code, argv, cache in cases:
                env = {"NUMBA_CACHE_DIR": f"{tmp}/cold{i}"} if cache else None
                rows.setdefault(name, []).append(_run(code, argv, env))
    print("| case | min s | median s | CPU s (min run) | vs scipy |")
    print("|---|---|---|---|---|")
    for name, runs in rows.items():
        best = min(runs)
        base = "first call, scipy" if name.startswith("first") else "planner demo, scipy"
        delta = best[0] - min(rows[base])[0]
        vs = "-" if name == base else f"{delta:+.2f} s"
        walls = [r[0] for r in runs]
        print(f"| {name} | {best[0]:.2f} | {statistics.median(walls):.2f} | {best[1]:.2f} | {vs} |")


if __name__ == "__main__":
    main()
