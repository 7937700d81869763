"""Road lines that cross without a shared vertex: joined by node_crossings (default on for
planners' own line files, off for OSM and graphs).

Every network is drawn by hand in local metres (UTM 50N); the walking speed is set to
3.6 km/h, so a travel time in seconds is a distance in metres.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from helpers import CRS, X0, Y0, graph, points

import planner
from planner.errors import PlannerWarning
from planner.sources.networks import raw_from_lines

WALK = {"mode": "walk", "speed_kph": 3.6}
# UTM metres are 0.04 % short of ground metres here (scale factor 0.9996 at the meridian):
# lengths measured by planner are geodesic.
GROUND = 1 / 0.9996


def lines(*coords: list[tuple[float, float]], **columns: list) -> gpd.GeoDataFrame:
    geoms = [shapely.LineString([(X0 + x, Y0 + y) for x, y in c]) for c in coords]
    return gpd.GeoDataFrame(dict(columns), geometry=geoms, crs=CRS)


def cross(**columns: list) -> gpd.GeoDataFrame:
    """Two streets crossing at (100, 0), neither with a vertex there::

            (100, 100)
                |
    (0,0) ------+------ (200, 0)
                |
            (100, -100)
    """
    return lines([(0, 0), (200, 0)], [(100, -100), (100, 100)], **columns)


def time_across(net: planner.Network, frm: tuple[float, float], to: tuple[float, float]) -> float:
    fac = points([to], category=["x"])
    return float(planner.travel_times(net, fac, points([frm]), max_time_s=1e6).loc[0, "x"])


def test_a_cross_is_joined_where_the_lines_cross():
    with pytest.warns(PlannerWarning, match=r"joined 1 crossing\(s\)"):
        net = planner.load_network(cross(), **WALK)
    # from the top of the north-south street to the east end: 100 m down, 100 m east
    assert time_across(net, (100, 100), (200, 0)) == pytest.approx(200 * GROUND, rel=1e-6)
    assert net.n_nodes == 5  # four ends and the crossing


def test_without_the_option_the_streets_do_not_meet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and nothing is said about crossings
        net = planner.load_network(cross(), node_crossings=False, **WALK)
    assert math.isinf(time_across(net, (100, 100), (200, 0)))
    assert net.n_nodes == 4


def test_a_line_file_is_noded_by_default(tmp_path):
    path = tmp_path / "roads.gpkg"
    cross().to_file(path)
    with pytest.warns(PlannerWarning, match=r"'roads.gpkg': joined 1 crossing"):
        net = planner.load_network(path, **WALK)
    assert time_across(net, (100, -100), (0, 0)) == pytest.approx(200 * GROUND, rel=1e-6)
    flat = planner.load_network(path, node_crossings=False, **WALK)
    assert math.isinf(time_across(flat, (100, -100), (0, 0)))


@pytest.mark.parametrize(
    "columns",
    [
        {"bridge": [None, "yes"]},  # the north-south street passes over
        {"tunnel": ["yes", None]},
        {"layer": [0, 1]},
    ],
)
def test_bridges_tunnels_and_other_layers_stay_apart(columns):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = planner.load_network(cross(**columns), **WALK)
    assert math.isinf(time_across(net, (100, 100), (200, 0)))


def test_same_layer_and_bridge_no_are_joined():
    with pytest.warns(PlannerWarning, match="joined 1 crossing"):
        net = planner.load_network(cross(layer=["1", 1], bridge=["no", None]), **WALK)
    assert time_across(net, (100, 100), (200, 0)) == pytest.approx(200 * GROUND, rel=1e-6)


def test_a_line_ending_on_another_joins_it():
    """A T: the stem ends on the bar's interior, where the bar has no vertex.

    ::

        (0,0) ----+---------- (200, 0)
                  |
               (50, -100)
    """
    with pytest.warns(PlannerWarning, match="joined 1 crossing"):
        net = planner.load_network(lines([(0, 0), (200, 0)], [(50, -100), (50, 0)]), **WALK)
    assert time_across(net, (50, -100), (0, 0)) == pytest.approx(150 * GROUND, rel=1e-6)
    assert time_across(net, (50, -100), (200, 0)) == pytest.approx(250 * GROUND, rel=1e-6)


def test_a_stated_length_is_shared_by_the_pieces():
    """The east-west street is said to be 400 m long (twice its drawing): its pieces are
    200 m each; the other street is measured."""
    with pytest.warns(PlannerWarning, match="joined 1 crossing"):
        raw = raw_from_lines(cross(length=[400.0, None], name=["ew", "ns"]))
    ew = (raw.tags["name"] == "ew").to_numpy()
    assert raw.length[ew].tolist() == [200.0, 200.0]
    assert np.isnan(raw.length[~ew]).all()
    with pytest.warns(PlannerWarning):
        net = planner.load_network(cross(length=[400.0, None]), **WALK)
    assert time_across(net, (100, 100), (200, 0)) == pytest.approx(100 * GROUND + 200, rel=1e-6)


def test_tags_follow_the_pieces():
    with pytest.warns(PlannerWarning):
        raw = raw_from_lines(cross(highway=["primary", "footway"], name=["东路", "北路"]))
    assert len(raw.edges_u) == 4
    assert sorted(raw.tags["highway"]) == ["footway", "footway", "primary", "primary"]
    assert sorted(raw.tags["name"]) == ["东路", "东路", "北路", "北路"]


def test_a_grid_drawn_without_vertices_at_crossings_equals_the_networkx_oracle():
    """n horizontal and n vertical lines 100 m apart, none with a vertex at a crossing:
    n*n crossings joined; travel times equal networkx Dijkstra on the grid drawn with
    its junctions."""
    n, step = 4, 100.0
    span = [(-50.0, 0.0), ((n - 1) * step + 50.0, 0.0)]
    rows = [[(x, y + i * step) for x, y in span] for i in range(n)]
    cols = [[(y + i * step, x) for x, y in span] for i in range(n)]
    with pytest.warns(PlannerWarning, match=rf"joined {n * n} crossing\(s\)"):
        net = planner.load_network(lines(*rows, *cols), **WALK)
    assert net.n_nodes == n * n + 4 * n
    oracle = nx.grid_2d_graph(n, n)
    far = (n - 1, n - 1)
    origins = points([(i * step, j * step) for i, j in oracle.nodes])
    fac = points([(far[0] * step, far[1] * step)], category=["x"])
    got = planner.travel_times(net, fac, origins, max_time_s=1e6)["x"].to_numpy()
    want = [nx.shortest_path_length(oracle, node, far) * step for node in oracle.nodes]
    np.testing.assert_allclose(got, np.array(want) * GROUND, rtol=1e-6)


def test_osm_and_graphs_are_noded_only_when_asked():
    """An OSM-like graph whose ways cross without a node (a missing junction)."""
    nodes = {"w": (0, 0), "e": (200, 0), "s": (100, -100), "n": (100, 100)}
    G = graph(nodes, [("w", "e"), ("s", "n")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        apart = planner.load_network(G, **WALK)
    assert math.isinf(time_across(apart, (100, 100), (200, 0)))
    with pytest.warns(PlannerWarning, match=r"joined 1 crossing\(s\)"):
        joined = planner.load_network(G, node_crossings=True, **WALK)
    # the graph's lengths are UTM lengths (trusted as given): no ground factor
    assert time_across(joined, (100, 100), (200, 0)) == pytest.approx(200.0, rel=1e-9)
    assert joined.n_nodes == 5


def test_dead_ends_near_another_line_are_counted():
    """Two stems stop short of the bar: 3 m (reported) and 8 m (beyond 5 m: not)."""
    drawn = lines([(0, 0), (200, 0)], [(50, -100), (50, -3)], [(150, -100), (150, -8)])
    with pytest.warns(PlannerWarning, match=r"^road lines: 1 dead end\(s\) lie within 5 m") as w:
        planner.load_network(drawn, **WALK)
    assert "joined" not in str(w[0].message)
    assert f"({X0 + 50:.1f}, {Y0 - 3:.1f})" in str(w[0].message)
