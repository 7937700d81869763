"""Travel times on tiny graphs drawn here, with answers computed by hand.

Coordinates are metres in UTM zone 50N, relative to (X0, Y0) of helpers.py. Walk tests
use 3.6 km/h (1 m/s) and drive tests 36 km/h (10 m/s), so seconds are easy to check.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import graph, points

import planner
from planner.errors import PlannerWarning

pytestmark = pytest.mark.usefixtures("engine")  # each test on both engine paths

WALK_1MS = {"mode": "walk", "speed_kph": 3.6}
DRIVE_10MS = {"mode": "drive", "speed_kph": 36.0}


def one_way_ring():
    """A one-way square ring, 100 m sides, driven anticlockwise A -> B -> C -> D -> A.

    ::

        D(0,100) <----- C(100,100)
          |                ^
          v                |
        A(0,0) -------> B(100,0)

    """
    nodes = {"A": (0, 0), "B": (100, 0), "C": (100, 100), "D": (0, 100)}
    edges = [
        (a, b, {"both": False, "highway": "residential", "oneway": True})
        for a, b in ("AB", "BC", "CD", "DA")
    ]
    return graph(nodes, edges)


def test_one_way_street_drive_and_walk():
    """Facility F 10 m below AB at x=60; O1 5 m above AB at x=30; O2 5 m below at x=80.

    Drive (10 m/s): O1 -> F goes forward along AB: (5 + 30 + 10) m = 4.5 s.
    O2 -> F cannot reverse on AB: 5 + 20 (to B) + 300 (B-C-D-A) + 60 + 10 = 395 m = 39.5 s.
    Walk (1 m/s) ignores one-way: O1 45 s; O2: 5 + 20 + 10 = 35 s.
    """
    G = one_way_ring()
    fac = points([(60, -10)], category=["shop"])
    org = points([(30, 5), (80, -5)])
    drive = planner.load_network(G, **DRIVE_10MS)
    t = planner.travel_times(drive, fac, org, max_time_s=600)
    assert t["shop"].tolist() == pytest.approx([4.5, 39.5], abs=1e-9)
    walk = planner.load_network(G, **WALK_1MS)
    t = planner.travel_times(walk, fac, org, max_time_s=600)
    assert t["shop"].tolist() == pytest.approx([45.0, 35.0], abs=1e-9)


def test_one_way_limit_and_nearest_ids():
    """Same ring: with a 30 s limit O2's 39.5 s trip is inf and its nearest id is NA."""
    G = one_way_ring()
    fac = points([(60, -10)], category=["shop"]).set_index(pd.Index([42]))
    org = points([(30, 5), (80, -5)])
    drive = planner.load_network(G, **DRIVE_10MS)
    t, ids = planner.travel_times(drive, fac, org, max_time_s=30, nearest=True)
    assert t["shop"].iloc[0] == pytest.approx(4.5)
    assert math.isinf(t["shop"].iloc[1])
    assert ids["shop"].iloc[0] == 42
    assert pd.isna(ids["shop"].iloc[1])


def test_off_edge_point_follows_curved_geometry():
    """Street A(0,0) -> B(100,100) drawn as an L through the vertex (100,0), 200 m long.

    ::

        .        B(100,100)
        .        |
        .        |  P(120,50)
        .        |
        A--------+(100,0)

    P projects onto the vertical leg at (100,50): connector 20 m, 150 m along from A.
    A facility at A is 20 + 150 = 170 s away (walk 1 m/s); a straight A-B edge would
    give a different answer (distance from P to the chord is 49.5 m).
    """
    G = graph(
        {"A": (0, 0), "B": (100, 100)}, [("A", "B", {"via": [(100, 0)], "highway": "footway"})]
    )
    net = planner.load_network(G, **WALK_1MS)
    fac = points([(0, 0)], category=["clinic"])
    org = points([(120, 50)])
    t = planner.travel_times(net, fac, org, max_time_s=1000)
    assert t.loc[0, "clinic"] == pytest.approx(170.0, abs=1e-9)


def test_same_edge_pair_takes_the_direct_path():
    """One 1000 m street A(0,0)-B(1000,0); facility at (400,10), origin at (450,-10).

    Direct along the street: 10 + 50 + 10 = 70 s. Through a node it would be at least
    450 + 400 + 20 = 870 s (via A) or 550 + 600 + 20 = 1170 s (via B).
    """
    G = graph({"A": (0, 0), "B": (1000, 0)}, [("A", "B", {"highway": "residential"})])
    net = planner.load_network(G, **WALK_1MS)
    t = planner.travel_times(
        net, points([(400, 10)], category=["x"]), points([(450, -10)]), max_time_s=5000
    )
    assert t.loc[0, "x"] == pytest.approx(70.0, abs=1e-9)


def test_same_edge_pair_on_one_way_street_must_go_round():
    """Ring of test_one_way_street: facility behind the origin on the same one-way edge.

    Origin at (80,-5), facility at (60,-10) on AB (driven A->B): the direct path would
    drive backwards, so the trip is 395 m = 39.5 s (see the first test); the facility
    ahead at (90,-10) is reached directly: 5 + 10 + 10 = 25 m = 2.5 s.
    """
    G = one_way_ring()
    drive = planner.load_network(G, **DRIVE_10MS)
    fac = points([(60, -10), (90, -10)], category=["behind", "ahead"])
    t = planner.travel_times(drive, fac, points([(80, -5)]), max_time_s=600)
    assert t.loc[0, "behind"] == pytest.approx(39.5, abs=1e-9)
    assert t.loc[0, "ahead"] == pytest.approx(2.5, abs=1e-9)


def test_disconnected_component_is_unreachable_not_dropped():
    """Two separate streets: A(0,0)-B(100,0) and E(0,300)-F(100,300).

    A facility on AB reaches an origin on AB (5 + 50 + 5... see below) but an origin next
    to EF is inf: its component has no facility. Both components are kept as loaded.
    Origin 1 at (20,5): 5 + 30 + 0 (facility on the street at x=50) = 35 s.
    """
    G = graph(
        {"A": (0, 0), "B": (100, 0), "E": (0, 300), "F": (100, 300)},
        [("A", "B", {"highway": "footway"}), ("E", "F", {"highway": "footway"})],
    )
    net = planner.load_network(G, **WALK_1MS)
    assert net.n_nodes == 4
    t = planner.travel_times(
        net, points([(50, 0)], category=["x"]), points([(20, 5), (50, 305)]), max_time_s=1e6
    )
    assert t.loc[0, "x"] == pytest.approx(35.0, abs=1e-9)
    assert math.isinf(t.loc[1, "x"])


def test_point_beyond_max_snap_is_inf_with_one_warning():
    """Street A(0,0)-B(100,0); an origin 600 m north is beyond the 500 m default.

    Origin 1 at (50,499) is still within reach: 499 + 50 = 549 s to a facility at A.
    """
    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B", {"highway": "footway"})])
    net = planner.load_network(G, **WALK_1MS)
    fac = points([(0, 0)], category=["x"])
    org = points([(50, 600), (50, 499), (50, 700)])
    with pytest.warns(PlannerWarning, match=r"2 origins are farther than 500 m") as rec:
        t = planner.travel_times(net, fac, org, max_time_s=1e6)
    assert len(rec) == 1
    assert math.isinf(t.loc[0, "x"])
    assert t.loc[1, "x"] == pytest.approx(549.0, abs=1e-9)
    assert math.isinf(t.loc[2, "x"])


def test_max_snap_setting_is_read_at_call_time(monkeypatch):
    """With settings.max_snap_m = 1000 the origin 600 m away snaps: 600 + 50 = 650 s."""
    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B", {"highway": "footway"})])
    net = planner.load_network(G, **WALK_1MS)
    monkeypatch.setattr(planner.settings, "max_snap_m", 1000.0)
    t = planner.travel_times(
        net, points([(0, 0)], category=["x"]), points([(50, 600)]), max_time_s=1e6
    )
    assert t.loc[0, "x"] == pytest.approx(650.0, abs=1e-9)


def test_parallel_edges_of_different_lengths():
    """A(0,0)-B(100,0) twice: a straight 100 m edge and an arc through (50,50), 141.42 m.

    ::

              (50,50)
             /      \\
        A(0,0)------B(100,0)

    Facility at B. Origin (50,60) snaps to the arc's apex: 10 + 70.71 = 80.71 s.
    Origin (50,-5) snaps to the straight edge: 5 + 50 = 55 s.
    Origin (-10,0) snaps to A and takes the shorter parallel edge: 10 + 100 = 110 s.
    """
    arc = 2 * math.hypot(50, 50)
    G = graph(
        {"A": (0, 0), "B": (100, 0)},
        [("A", "B", {"highway": "footway"}), ("A", "B", {"highway": "footway", "via": [(50, 50)]})],
    )
    net = planner.load_network(G, **WALK_1MS)
    t = planner.travel_times(
        net,
        points([(100, 0)], category=["x"]),
        points([(50, 60), (50, -5), (-10, 0)]),
        max_time_s=1e6,
    )
    assert t["x"].tolist() == pytest.approx([10 + arc / 2, 55.0, 110.0], abs=1e-9)


def test_walk_drops_motorways_and_bare_trunks_but_drive_uses_them():
    """A direct motorway A-B (100 m) and a footpath detour A-C-B (2 x 100 m).

    ::

        C(50,86.6)
        /        \\
       A(0,0)====B(100,0)      (==== motorway)

    Walk from A to a facility at B: the motorway is not walkable: 200 s.
    Drive at 10 m/s uses the motorway: 10 s (the footpaths are not drivable).
    A trunk road with sidewalk=no is dropped for walking, one without the tag is kept.
    """
    h = 100 * math.sqrt(3) / 2
    nodes = {"A": (0, 0), "B": (100, 0), "C": (50, h)}
    fac = points([(100, 0)], category=["x"])
    org = points([(0, 0)])
    for tags, walk_s in (
        ({"highway": "motorway"}, 200.0),
        ({"highway": "trunk", "sidewalk": "no"}, 200.0),
        ({"highway": "trunk"}, 100.0),
        ({"highway": "primary", "foot": "no"}, 200.0),
        ({"highway": "service", "access": "private"}, 200.0),
        ({"highway": "service", "access": "private", "foot": "yes"}, 100.0),
        ({"highway": "primary", "motorroad": "yes"}, 200.0),
    ):
        G = graph(
            nodes,
            [
                ("A", "B", tags),
                ("A", "C", {"highway": "footway"}),
                ("C", "B", {"highway": "footway"}),
            ],
        )
        walk = planner.load_network(G, **WALK_1MS)
        got = planner.travel_times(walk, fac, org, max_time_s=1e6).loc[0, "x"]
        assert got == pytest.approx(walk_s, abs=1e-9), tags
    G = graph(
        nodes,
        [
            ("A", "B", {"highway": "motorway"}),
            ("A", "C", {"highway": "footway"}),
            ("C", "B", {"highway": "footway"}),
        ],
    )
    drive = planner.load_network(G, **DRIVE_10MS)
    assert planner.travel_times(drive, fac, org, max_time_s=1e6).loc[0, "x"] == pytest.approx(10.0)


def test_drive_speeds_from_maxspeed_and_highway_defaults():
    """A-B 1000 m with maxspeed=60 -> 60 s; A-B with maxspeed '30 mph' -> 74.56 s;
    without maxspeed, highway=residential uses settings.drive_speeds_kph (25 km/h) -> 144 s.
    """
    nodes = {"A": (0, 0), "B": (1000, 0)}
    fac = points([(1000, 0)], category=["x"])
    org = points([(0, 0)])
    for tags, expect in (
        ({"highway": "primary", "maxspeed": "60"}, 60.0),
        ({"highway": "primary", "maxspeed": "30 mph"}, 1000 / (30 * 1.609344 / 3.6)),
        ({"highway": "residential"}, 144.0),
        ({"highway": "primary", "maxspeed": ["40", "60"]}, 72.0),
    ):
        net = planner.load_network(graph(nodes, [("A", "B", tags)]), mode="drive")
        assert planner.travel_times(net, fac, org, max_time_s=1e6).loc[0, "x"] == pytest.approx(
            expect
        ), tags


def test_network_keeps_every_node_and_reports_mode():
    G = one_way_ring()
    G.add_node("lonely", x=1e6, y=2.6e6)
    net = planner.load_network(G, mode="walk_elderly")
    assert net.n_nodes == 5
    assert net.speed_kph == pytest.approx(3.6)
    assert "walk_elderly 3.6 km/h" in repr(net)
    assert net.crs.to_epsg() == 32650
    assert net.with_mode("drive").graph.n_streets == 4


def test_polygons_use_representative_point_and_results_keep_index():
    """A block polygon straddling the street A(0,0)-B(100,0): its representative point
    lies on the street (connector 0); facility at B. Index labels come back unchanged."""
    import geopandas as gpd
    import shapely
    from helpers import X0, Y0

    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B", {"highway": "footway"})])
    net = planner.load_network(G, **WALK_1MS)
    poly = shapely.box(X0 + 10, Y0 - 10, X0 + 30, Y0 + 10)
    blocks = gpd.GeoDataFrame(
        {"name": ["b"]}, geometry=[poly], crs="EPSG:32650", index=pd.Index(["blk-7"])
    )
    rp = blocks.representative_point().iloc[0]
    t = planner.travel_times(net, points([(100, 0)], category=["x"]), blocks, max_time_s=1e6)
    assert list(t.index) == ["blk-7"]
    expect = abs(rp.y - Y0) + (X0 + 100 - rp.x)
    assert t.loc["blk-7", "x"] == pytest.approx(expect, abs=1e-9)


def test_results_in_any_input_crs():
    """Facilities and origins in EPSG:4326 give the same answer as in UTM."""
    G = one_way_ring()
    net = planner.load_network(G, **DRIVE_10MS)
    fac = points([(60, -10)], category=["shop"])
    org = points([(30, 5), (80, -5)])
    a = planner.travel_times(net, fac, org, max_time_s=600)
    b = planner.travel_times(net, fac.to_crs(4326), org.to_crs(4326), max_time_s=600)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-6)
