"""Blocks, communities, gated-compound entrances and derived street blocks."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import shared_file
from helpers import X0, Y0, graph, points

import planner
from planner.errors import InputError, MissingColumnError, PlannerWarning
from planner.sources.blocks import (
    block_entrances,
    derive_blocks,
    join_communities,
    standardise_blocks,
    standardise_communities,
)


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def test_standardise_blocks_finds_chinese_columns():
    gdf = gpd.GeoDataFrame(
        {
            "小区名称": ["翠苑", "景园"],
            "常住人口": [1200, "850"],
            "户数": [400, 300],
            "城乡": ["城镇", "农村"],
        },
        geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)],
        crs="EPSG:32650",
    )
    out = standardise_blocks(gdf)
    assert out["population"].tolist() == [1200.0, 850.0]
    assert out["households"].tolist() == [400.0, 300.0]
    assert out["name"].tolist() == ["翠苑", "景园"]
    assert out["setting"].tolist() == ["urban", "rural"]


def test_block_validation_catalogue():
    geom = [box(0, 0, 10, 10), box(20, 0, 30, 10)]
    neg = gpd.GeoDataFrame({"pop": [10, -3]}, geometry=geom, crs="EPSG:32650")
    with pytest.raises(
        InputError, match=r"blocks: column 'pop' has 1 negative values \(rows \[1\]\)"
    ):
        standardise_blocks(neg)
    nan = gpd.GeoDataFrame({"pop": [10, None]}, geometry=geom, crs="EPSG:32650")
    with pytest.warns(PlannerWarning, match=r"column 'pop' is empty or not a number in 1 rows"):
        out = standardise_blocks(nan)
    assert out["population"].tolist() == [10.0, 0.0]
    dup = gpd.GeoDataFrame({"code": ["a", "a"]}, geometry=geom, crs="EPSG:32650")
    with pytest.raises(InputError, match=r"column 'code' should identify blocks but has duplicate"):
        standardise_blocks(dup, id="code")
    with pytest.raises(
        MissingColumnError, match=r"no column 'peeple' for population.*Did you mean"
    ):
        standardise_blocks(neg.rename(columns={"pop": "people"}), population="peeple")
    bad = gpd.GeoDataFrame({"setting": ["urban", "suburb"]}, geometry=geom, crs="EPSG:32650")
    with pytest.raises(InputError, match=r"neither urban nor rural: \['suburb'\]"):
        standardise_blocks(bad)


def test_communities_regions_and_join():
    com = gpd.GeoDataFrame(
        {
            "社区名称": ["东风社区", "石岗村"],
            "城乡": ["城市", "农村"],
            "city": ["广州市", "梅州市"],
        },
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs="EPSG:32650",
    )
    c = standardise_communities(com, region="city")
    assert c["community"].tolist() == ["东风社区", "石岗村"]
    assert c["setting"].tolist() == ["urban", "rural"]
    assert c["region"].tolist() == ["prd", "north"]
    blocks = gpd.GeoDataFrame(
        {"population": [100.0, 50.0, 7.0]},
        geometry=[box(10, 10, 20, 20), box(150, 10, 160, 20), box(500, 500, 510, 510)],
        crs="EPSG:32650",
    ).to_crs(4326)
    with pytest.warns(PlannerWarning, match=r"1 blocks lie outside every community"):
        j = join_communities(blocks, c)
    assert j["community"].tolist()[:2] == ["东风社区", "石岗村"]
    assert pd.isna(j["community"].iloc[2])
    assert j["region"].tolist()[:2] == ["prd", "north"]
    with pytest.raises(InputError, match=r"community names in '社区名称' repeat"):
        standardise_communities(com.assign(社区名称=["a", "a"]))
    with pytest.raises(InputError, match=r"region values planner does not know: \['mars'\]"):
        standardise_communities(com.assign(city=["mars", "广州"]), region="city")
    # one value for every community, in any accepted spelling
    c = standardise_communities(com.drop(columns="城乡"), setting="农村", region="梅州市")
    assert c["setting"].tolist() == ["rural", "rural"]
    assert c["region"].tolist() == ["north", "north"]
    c = standardise_communities(com, setting="城乡", region="粤西")
    assert c["setting"].tolist() == ["urban", "rural"] and c["region"].tolist() == ["west"] * 2
    with pytest.raises(InputError, match=r"no column 'citty' for region class"):
        standardise_communities(com, region="citty")


def test_shenzhen_zones_as_blocks_districts_as_communities():
    """Traffic zones (EPSG:3857 shapefile) as blocks joined to the 10 districts (GeoJSON).

    The expected numbers are read here without planner: the zones with pyogrio, the
    districts with json, and each zone's district by a geopandas sjoin of its
    representative point (491 zones; e.g. 福田 50, 龙岗 104, 盐田 18)."""
    import json

    import pyogrio

    taz_path = shared_file("shenzhen_boundaries", "shenzhen_taz.shp")
    dist_path = shared_file("shenzhen_boundaries", "shenzhen_districts.geojson")
    taz = pyogrio.read_dataframe(taz_path)
    features = json.loads(dist_path.read_text(encoding="utf-8"))["features"]
    districts = gpd.GeoDataFrame.from_features(features, crs=4326)
    zone_points = gpd.GeoDataFrame(geometry=taz.representative_point(), crs=taz.crs)
    hits = gpd.sjoin(zone_points.to_crs(4326), districts[["qh", "geometry"]], predicate="within")
    want = hits["qh"].value_counts().to_dict()
    assert sum(want.values()) == len(taz)  # every zone lies in one district

    blocks = planner.read_blocks(taz_path, id="TAZID")
    assert len(blocks) == len(taz) and blocks.crs.to_epsg() == 4326
    assert sorted(blocks.index) == sorted(taz["TAZID"])
    communities = planner.read_communities(dist_path, name="qh", setting="urban", region="prd")
    assert sorted(communities["community"]) == sorted(f["properties"]["qh"] for f in features)
    joined = join_communities(blocks, communities)
    assert joined["community"].value_counts().to_dict() == want
    assert len(want) == len(features) == 10


# --- gated compounds --------------------------------------------------------------------------


def test_gated_block_is_reached_through_its_gate():
    """A compound 100 x 100 m south of a street y=0 ... drawn:

    ::

        street  A(0,0) ---------------------------- B(300,0)
                 +-----------gate(90,-10)--+
                 |  compound   . rep point |      (the street runs along y=0;
                 +-------------------------+       the compound spans y=-110..-10)

    The compound is x 0..100, y -110..-10; its representative point r (shapely's
    point_on_surface) lies inside. Facility at B (300,0). Without gates: |r.y| to the
    street, then 300 - r.x along it. Through the gate (90,-10): |r - gate| inside the
    compound, 10 m to the street, then 210 m. Walk at 1 m/s.
    """
    G = graph({"A": (0, 0), "B": (300, 0)}, [("A", "B")])
    net = planner.load_network(G, speed_kph=3.6)
    blocks = gpd.GeoDataFrame({"name": ["c"]}, geometry=[box(0, -110, 100, -10)], crs="EPSG:32650")
    fac = points([(300, 0)], category=["x"])
    free = planner.travel_times(net, fac, blocks, max_time_s=1e6)
    r = blocks.representative_point().iloc[0]
    rx, ry = r.x - X0, r.y - Y0
    assert free.loc[0, "x"] == pytest.approx(abs(ry) + 300 - rx, abs=1e-6)
    gates = points([(90, -10), (0, -60)])  # the second gate is on the far west side
    ent = block_entrances(blocks, gates)
    assert ent["block"].tolist() == [0, 0]
    t = planner.travel_times(net, fac, blocks, max_time_s=1e6, entrances=ent)
    via_east = math.hypot(90 - rx, -10 - ry) + 10 + 210
    via_west = math.hypot(0 - rx, -60 - ry) + 60 + 300
    assert via_east < via_west
    assert t.loc[0, "x"] == pytest.approx(via_east, abs=1e-6)


def test_entrances_must_name_blocks():
    G = graph({"A": (0, 0), "B": (300, 0)}, [("A", "B")])
    net = planner.load_network(G, speed_kph=3.6)
    blocks = gpd.GeoDataFrame(geometry=[box(0, -110, 100, -10)], crs="EPSG:32650")
    fac = points([(300, 0)], category=["x"])
    with pytest.raises(MissingColumnError, match=r"entrances needs a 'block' column"):
        planner.travel_times(net, fac, blocks, max_time_s=10, entrances=points([(90, -10)]))
    with pytest.raises(InputError, match=r"1 entrances name blocks that are not in origins"):
        planner.travel_times(
            net, fac, blocks, max_time_s=10, entrances=points([(90, -10)], block=[7])
        )


# --- derived street blocks -------------------------------------------------------------------


def test_derive_blocks_on_a_drawn_grid():
    """Streets on a 3 x 2 grid of 100 m cells: 6 faces of 10,000 m2; a footway cutting
    one cell does not split it (boundaries='roads'), and a 20 m sliver cell is dropped.

    ::

        y=200  +----+----+----+--+
               |    |    |    |  |      x = 0, 100, 200, 300, 320
        y=100  +----+----+----+--+      the 20 m wide column is a sliver (2,000 m2 each
               | .. |    |    |  |      is kept only if min_area_m2 <= 2000)
        y=0    +----+----+----+--+
                 footway (dotted) crosses the first cell

    """
    xs, ys = [0, 100, 200, 300, 320], [0, 100, 200]
    nodes = {f"{x},{y}": (x, y) for x in xs for y in ys}
    nodes["0,50"], nodes["100,50"] = (0, 50), (100, 50)
    road = {"highway": "residential"}
    edges = []
    for y in ys:
        edges += [(f"{a},{y}", f"{b},{y}", road) for a, b in itertools.pairwise(xs)]
    for x in xs:
        col = [0, 50, 100, 200] if x in (0, 100) else ys  # the footway's ends are nodes
        edges += [(f"{x},{a}", f"{x},{b}", road) for a, b in itertools.pairwise(col)]
    edges.append(("0,50", "100,50", {"highway": "footway"}))
    net = planner.load_network(graph(nodes, edges))
    b = derive_blocks(net, buildings=None, water=None, min_area_m2=2500)
    assert len(b) == 6
    assert b.to_crs(net.crs).area.to_numpy() == pytest.approx(np.full(6, 10_000.0))
    assert (b["population_source"] == "area").all()
    assert b["population"].sum() == pytest.approx(6 * 1.0 * 150)  # 6 ha x 150 per ha
    scaled = derive_blocks(net, buildings=None, water=None, min_area_m2=2500, total_population=900)
    assert scaled["population"].to_numpy() == pytest.approx(np.full(6, 150.0))
    allb = derive_blocks(net, buildings=None, water=None, min_area_m2=1000, boundaries="all")
    assert len(allb) == 7 + 2  # the footway splits a cell in two; two sliver cells kept


def test_derive_blocks_buildings_population():
    """One cell with a 20 x 10 m apartment block of 5 levels: 1000 m2 floor -> 28.57 people."""
    xs, ys = [0, 100], [0, 100]
    nodes = {f"{x},{y}": (x, y) for x in xs for y in ys}
    edges = [("0,0", "100,0"), ("100,0", "100,100"), ("100,100", "0,100"), ("0,100", "0,0")]
    net = planner.load_network(graph(nodes, edges))
    bld = gpd.GeoDataFrame(
        {"building": ["apartments", "office"], "building:levels": ["5", "10"]},
        geometry=[box(10, 10, 30, 20), box(50, 50, 70, 70)],
        crs="EPSG:32650",
    )
    b = derive_blocks(net, buildings=bld, water=None)
    assert len(b) == 1
    assert b["floor_area_m2"].iloc[0] == pytest.approx(1000.0)
    assert b["population"].iloc[0] == pytest.approx(1000.0 / 35.0)
    assert b["population_source"].iloc[0] == "buildings"


def test_communities_counts_read_as_planners_write_them(tmp_path):
    """A communities file's 户数 and 社区服务用房面积 in a bureau's spelling become numbers
    (the floor-area target reads them), and one warning names what could not be read."""
    com = gpd.GeoDataFrame(
        {
            "社区名称": ["东风社区", "西村", "南街"],
            "户数（户）": ["1,200户", "９８０", "约一千"],
            "社区服务用房面积": ["600㎡", "0.1万", "350平方米"],
        },
        geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)],
        crs="EPSG:32650",
    )
    path = tmp_path / "communities.gpkg"
    com.to_file(path)
    with pytest.warns(
        PlannerWarning, match=r"'户数（户）' \(households\) is not a number in 1 rows: 南街"
    ):
        out = planner.read_communities(path)
    assert out["households"].tolist()[:2] == [1200.0, 980.0]
    assert math.isnan(out["households"].iloc[2])
    assert out["service_floor_area_m2"].tolist() == [600.0, 1000.0, 350.0]
    assert out["户数（户）"].tolist() == ["1,200户", "９８０", "约一千"]  # the file's own kept
