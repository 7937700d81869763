"""travel_times equals networkx Dijkstra with the snapped points inserted as nodes.

The oracle (helpers.oracle_times) snaps with shapely's STRtree and routes with networkx;
it shares nothing with planner's snapping index or its scipy Dijkstra.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import shared_file
from helpers import oracle_times

import planner
from planner.network import Network
from planner.synthetic import grid_graph, grid_raw

pytestmark = pytest.mark.usefixtures("engine")  # each test on both engine paths


def random_points(net, n, seed, margin=0.0, **columns):
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = net.nodes_gdf(to_input_crs=False).total_bounds
    xs = rng.uniform(xmin - margin, xmax + margin, n)
    ys = rng.uniform(ymin - margin, ymax + margin, n)
    cols = {k: v(rng, n) for k, v in columns.items()}
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xs, ys), crs=net.crs)


def assert_same(net, fac, org, max_time_s, category="category"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        got = planner.travel_times(net, fac, org, max_time_s=max_time_s, category=category)
        want = oracle_times(net, fac, org, max_time_s, category=category)[got.columns]
    a, b = got.to_numpy(), want.to_numpy()
    assert (np.isinf(a) == np.isinf(b)).all()
    fin = np.isfinite(a)
    assert fin.mean() > 0.3  # the comparison is not vacuous
    np.testing.assert_allclose(a[fin], b[fin], rtol=0, atol=1e-6)
    return got


@pytest.mark.parametrize("mode", ["walk", "bicycle", "drive"])
def test_helsinki_extract(helsinki_walk, helsinki_pois, mode):
    net = helsinki_walk.with_mode(mode)
    org = random_points(net, 1500, seed=11)
    got = assert_same(net, helsinki_pois.to_crs(4326), org.to_crs(4326), 900)
    assert list(got.columns) == list(dict.fromkeys(helsinki_pois["category"]))


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_futian_walk_graph_curved_edges(mode):
    path = shared_file("shenzhen_futian_walk", "shenzhen_futian_osm_all.graphml")
    net = planner.load_network(path, mode=mode)
    assert net.n_nodes == nx.read_graphml(path).number_of_nodes()  # every node kept
    kinds = lambda rng, n: rng.choice(["a", "b", "c"], n)  # noqa: E731
    fac = random_points(net, 120, seed=3, category=kinds)
    org = random_points(net, 1500, seed=4, margin=300)
    assert_same(net, fac, org, 1200)


def test_futian_nanshan_drive_one_way():
    path = shared_file("shenzhen_futian_nanshan", "shenzhen_futian_nanshan_drive.graphml")
    net = planner.load_network(path, mode="drive")
    kinds = lambda rng, n: rng.choice(["a", "b"], n)  # noqa: E731
    fac = random_points(net, 80, seed=5, category=kinds)
    org = random_points(net, 1200, seed=6)
    assert_same(net, fac, org, 600)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_random_generated_graphs(seed, mode):
    """Jittered grids with curved edges and one-way streets, as arrays and as a graph."""
    kinds = lambda rng, n: rng.choice(["p", "q", "r"], n)  # noqa: E731
    for net in (
        Network.from_raw(grid_raw(900, seed=seed, oneway=0.3), mode=mode),
        planner.load_network(grid_graph(900, seed=seed, oneway=0.3), mode=mode),
    ):
        fac = random_points(net, 40, seed=seed + 10, category=kinds)
        org = random_points(net, 600, seed=seed + 20, margin=100)
        assert_same(net, fac, org, 400)


def test_array_and_graph_forms_agree():
    """The same generated streets drawn once with oneway tags, or as directed graph edges."""
    kinds = lambda rng, n: rng.choice(["p", "q"], n)  # noqa: E731
    a = Network.from_raw(grid_raw(400, seed=7, oneway=0.4), mode="drive")
    b = planner.load_network(grid_graph(400, seed=7, oneway=0.4), mode="drive")
    fac = random_points(a, 30, seed=1, category=kinds)
    org = random_points(a, 300, seed=2)
    ta = planner.travel_times(a, fac, org, max_time_s=600)
    tb = planner.travel_times(b, fac, org, max_time_s=600)
    np.testing.assert_allclose(ta.to_numpy(), tb.to_numpy(), atol=1e-9)


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_nearest_ids_reach_the_best_time(mode):
    """Each nearest facility reported achieves its category's time: checked against the
    times of every facility on its own (each facility made its own category). Origins
    on street vertices meet two streets at once, facilities share streets with origins."""
    net = Network.from_raw(grid_raw(400, seed=3, oneway=0.3), mode=mode)
    kinds = lambda rng, n: rng.choice(["p", "q"], n)  # noqa: E731
    fac = random_points(net, 40, seed=4, category=kinds)
    fac.index = pd.Index([f"f{i}" for i in range(len(fac))])
    org = random_points(net, 300, seed=5)
    snapper = net.graph.snapper
    on_vertex = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(snapper.x0[:100], snapper.y0[:100]), crs=net.crs
    )
    org = pd.concat([org, on_vertex], ignore_index=True)
    times, ids = planner.travel_times(net, fac, org, max_time_s=500, nearest=True)
    each = planner.travel_times(net, fac.assign(one=fac.index), org, max_time_s=500, category="one")
    for cat in ["p", "q"]:
        members = fac.index[fac["category"] == cat]
        np.testing.assert_allclose(times[cat], each[members].min(axis=1), atol=1e-9)
        reached = np.isfinite(times[cat].to_numpy())
        assert reached.mean() > 0.5
        assert ids[cat].isna().to_numpy().tolist() == (~reached).tolist()
        got = each.to_numpy()[np.flatnonzero(reached), each.columns.get_indexer(ids[cat][reached])]
        np.testing.assert_allclose(got, times[cat].to_numpy()[reached], atol=1e-9)
