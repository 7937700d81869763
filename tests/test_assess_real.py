"""assess on the Helsinki extract against networkx, and the Assessment's outputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyogrio
import pytest
from helpers import oracle_times
from sharing import copied, frozen

import planner
from planner.rules import load_preset

URBAN = [
    "urban_15min_life",
    "urban_10min_culture",
    "learning_15min",
    "fitness_15min",
    "fitness_15min_bicycle",
]


@pytest.fixture(scope="module")
def _helsinki_assessment(_helsinki_walk, helsinki_pbf):
    fac = planner.load_facilities(helsinki_pbf)
    blocks = planner.derive_blocks(_helsinki_walk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)  # no setting: urban
        a = planner.assess(_helsinki_walk, fac, blocks, circles=URBAN)
    return frozen((a, fac, blocks))


@pytest.fixture
def helsinki_assessment(_helsinki_assessment):
    return copied(_helsinki_assessment)


def test_urban_circles_equal_networkx(helsinki_assessment, helsinki_walk):
    """Every block's pass/fail, recomputed with networkx Dijkstra on inserted points."""
    a, fac, blocks = helsinki_assessment
    table = load_preset().table
    nontrivial = 0
    for cid in URBAN:
        c = a.circle(cid)
        net = helsinki_walk.with_mode(c.mode, c.speed_kph or planner.settings.speeds_kph[c.mode])
        reached = []
        for key in c.categories:
            members = table.members(key)
            sub = fac[fac["category"].isin(members)].assign(category=key)
            if len(sub) == 0:
                reached.append(np.zeros(len(blocks), dtype=bool))
                continue
            t = oracle_times(net, sub, blocks, c.threshold)[key]
            reached.append((t <= c.threshold).to_numpy())
        expect = np.column_stack(reached).sum(axis=1) >= c.min_kinds
        got = a.blocks[cid].to_numpy(dtype=bool)
        np.testing.assert_array_equal(got, expect, err_msg=cid)
        nontrivial += 0 < expect.sum() < len(expect)
    assert nontrivial >= 3  # several circles split the blocks: the check has teeth


def test_summary_and_html(helsinki_assessment):
    a, _, _ = helsinki_assessment
    assert list(a.summary.index) == URBAN
    assert set(a.summary.columns) >= {
        "population_share",
        "households_share",
        "blocks_outside",
        "how",
    }
    assert a.summary.loc["fitness_15min_bicycle", "how"] == "bicycle 12 km/h, 15 min"
    html = a._repr_html_()
    assert "城市社区15分钟生活圈" in html and "walk 4 km/h, 15 min" in html
    assert "No facilities found" in html  # housekeeping etc. are not mapped in OSM here
    text = repr(a)
    assert "urban_10min_culture" in text


def test_to_files_writes_bilingual_tables_atomically(helsinki_assessment, tmp_path):
    a, _, _ = helsinki_assessment
    paths = a.to_files(tmp_path, name="hel")
    names = sorted(p.name for p in paths)
    assert "hel.gpkg" in names and "hel.xlsx" in names and "hel_summary.csv" in names
    layers = {row[0] for row in pyogrio.list_layers(tmp_path / "hel.gpkg")}
    assert {"blocks", "summary", "by_community", "coverage", "confidence", "targets"} <= layers
    blocks = pyogrio.read_dataframe(tmp_path / "hel.gpkg", layer="blocks")
    assert len(blocks) == len(a.blocks)
    assert "人口 population" in blocks.columns
    assert "城市社区15分钟生活圈 urban_15min_life" in blocks.columns
    summary = pd.read_csv(tmp_path / "hel_summary.csv")
    assert "人口覆盖率 population_share" in summary.columns
    xl = pd.ExcelFile(tmp_path / "hel.xlsx")
    assert {"blocks", "summary", "targets"} <= set(xl.sheet_names)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_failed_write_leaves_nothing(helsinki_assessment, tmp_path, monkeypatch):
    a, _, _ = helsinki_assessment
    calls = {"n": 0}
    real = pyogrio.write_dataframe

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", flaky)
    with pytest.raises(OSError, match="disk full"):
        a.to_files(tmp_path, formats=["gpkg"])
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(planner.errors.InputError, match=r"formats \['pdf'\] are not supported"):
        a.to_files(tmp_path, formats=["pdf"])


# Shifted points also land off the Helsinki streets; that second warning is
# expected and tested elsewhere.
@pytest.mark.filterwarnings("ignore:.*farther than 500 m:planner.errors.PlannerWarning")
def test_gcj02_layer_declared_wgs84_is_reported():
    """Points on Futian's streets moved to GCJ-02 but declared WGS-84: assess warns and
    says which crs to use; the same points declared correctly raise no warning."""
    import geopandas as gpd
    import shapely
    from conftest import shared_file

    from planner.sources.coords import wgs84_to_gcj02

    net = planner.load_network(
        shared_file("shenzhen_futian_walk", "shenzhen_futian_osm_all.graphml")
    )
    lines = net.streets_gdf().geometry.to_numpy()
    rng = np.random.default_rng(8)
    pts = shapely.line_interpolate_point(
        lines[rng.integers(0, len(lines), 300)], rng.random(300), normalized=True
    )
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    glon, glat = wgs84_to_gcj02(lon, lat)
    n = len(glon)
    fac = gpd.GeoDataFrame(
        {
            "category": ["library"] * n,
            "source_file": ["amap.csv"] * n,
            "source_crs": ["WGS-84"] * n,
        },
        geometry=gpd.points_from_xy(glon, glat),
        crs=4326,
    )
    blocks = gpd.GeoDataFrame(
        {"population": [1.0], "setting": ["urban"]}, geometry=[pts[0]], crs=4326
    )
    circles = [{"id": "lib", "categories": ["library"], "minutes": 10}]
    with pytest.warns(
        planner.errors.PlannerWarning,
        match=r"facilities from amap.csv look like "
        r"GCJ-02.*crs='gcj02'",
    ):
        planner.assess(net, fac, blocks, circles=circles)
    good = fac.set_geometry(gpd.points_from_xy(lon, lat), crs=4326)
    planner.assess(net, good, blocks, circles=circles)  # no warning (warnings are errors)
