"""The plan's targets on a test town drawn here: a passing and a failing case for each new
target, and every quantified gap by hand.

::

    x:   0 ------ 1000 ------ 2000 ------ 3000 ------ 4000   (y 0 .. 1000, metres)
         |  东风社区  |  南岭社区  |   石岗村   |    西村    |
         |   urban    |   urban    | rural PRD  | rural east |
         |<------- 东风街道 ------>|<-------- 石岗镇 -------->|

One block per community at its centre (x + 500, 500):

========  ========== ========== ===== ====== ===== ====== ======== ======== =========
name      population households floor  orgs  worker volunt. instruct. advisers secretary
========  ========== ========== ===== ====== ===== ====== ======== ======== =========
东风社区   1000       600        150    12     2     150     3        1        2020
南岭社区   2000       300        120    6      0     200     4        是       2019
石岗村     500        200        40     5      1     100     2        2        2018
西村       500        100        30     3      0     50      1        无       (none)
========  ========== ========== ===== ====== ===== ====== ======== ======== =========

By hand (reference year 2020):

- floor area per 100 households: 25, 40, 20, 30 m2; short of 30: 30 x 6 - 150 = 30 m2 and
  30 x 2 - 40 = 20 m2; 50 m2 in all.
- social workers: 南岭 and 西村 have none: 1 short each, 2 in all.
- social organisations, class means: urban (12 + 6) / 2 = 9 < 10, 2 short; rural
  (5 + 3) / 2 = 4 < 5, 2 short; each: 南岭 4 short of 10, 西村 2 short of 5.
- volunteers: 500 / 4000 = 12.5 % < 15 %: 0.15 x 4000 - 500 = 100 short; 南岭 100,
  西村 25.
- sports instructors: 10 / 4000 x 10,000 = 25 < 30: 30 x 4000 / 10,000 - 10 = 2 short;
  南岭 6 - 4 = 2, 西村 1.5 - 1 = 0.5.
- secretary trained in 2019 or 2020: 石岗村 (2018) is 1 year overdue, 西村 has no year.
- legal advisers (>= 1, 是 = 1, 无 = 0): 西村 has none.
- sports ground of 2,000 m2 in 东风社区: 2.0 m2 per resident there (500 m2 short of 2.5 x
  1000); 0.5 m2 per resident overall (10,000 - 2,000 = 8,000 m2 short).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import X0, Y0, graph, points

import planner
from planner.rules import categories, load_preset
from planner.targets import UNIT_COLUMNS, evaluate_targets

NAMES = ["东风社区", "南岭社区", "石岗村", "西村"]


def communities(**columns):
    base = {
        "community": NAMES,
        "setting": ["urban", "urban", "rural", "rural"],
        "region": ["prd", "prd", "prd", "east"],
        "street": ["东风街道", "东风街道", "石岗镇", "石岗镇"],
        "households": [600.0, 300.0, 200.0, 100.0],
        "service_floor_area_m2": [150.0, 120.0, 40.0, 30.0],
        "social_organisations": [12.0, 6.0, 5.0, 3.0],
        "social_workers": [2.0, 0.0, 1.0, 0.0],
        "volunteers": [150.0, 200.0, 100.0, 50.0],
        "sports_instructors": [3.0, 4.0, 2.0, 1.0],
        "legal_advisers": ["1", "是", "2", "无"],
        "secretary_trained_year": [2020.0, 2019.0, 2018.0, np.nan],
    }
    base.update(columns)
    geom = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(4)]
    return gpd.GeoDataFrame(base, geometry=geom, crs="EPSG:32650")


def blocks(**columns):
    b = points(
        [(500 + 1000 * i, 500) for i in range(4)],
        population=[1000.0, 2000.0, 500.0, 500.0],
        households=[600.0, 300.0, 200.0, 100.0],
        community=NAMES,
    )
    for k, v in columns.items():
        b[k] = v
    return b


def facilities(rows):
    """(x, y, category) rows; area_m2 for sports grounds."""
    if not rows:
        return gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:32650")
    return points([(x, y) for x, y, _ in rows], category=[c for _, _, c in rows])


def evaluate(fac_rows=(), com=None, year=None, blk=None, preset=None):
    pre = preset or load_preset()
    fac = facilities(list(fac_rows))
    com = communities() if com is None else com
    blk = blocks() if blk is None else blk
    return evaluate_targets(pre, fac, "category", blk, com, reference_year=year)


def status(targets, tid, cls="all"):
    return targets.loc[(tid, cls), "status"]


def unit(per, tid, name, col="status"):
    return per.set_index(["target", "name"]).loc[(tid, name), col]


# --- the street / township target ---------------------------------------------------------


def from_names(names_xy):
    """Facilities categorised from their names as an Amap export would be."""
    names = pd.Series([n for n, _, _ in names_xy])
    pairs = categories().match_amap(pd.Series(["130106"] * len(names)), names)
    return [
        (names_xy[int(r)][1], names_xy[int(r)][2], c)
        for r, c in zip(pairs["row"], pairs["category"], strict=True)
    ]


def test_street_target_fails_with_only_committees_and_stations():
    rows = from_names(
        [
            ("东风社区居委会", 100, 100),
            ("南岭社区党群服务中心", 1100, 100),
            ("福田街道办事处南岭社区居委会", 1200, 100),
            ("石岗村村委会", 2100, 100),
            ("西村社区服务站", 3100, 100),
        ]
    )
    assert {c for *_, c in rows} == {"community_service_station"}
    targets, per = evaluate(rows)
    assert status(targets, "street_service_center_coverage", "street") == "fail"
    assert status(targets, "street_service_center_coverage", "township") == "fail"
    assert targets.loc[("street_service_center_coverage", "street"), "value"] == 0.0
    assert unit(per, "street_service_center_coverage", "东风街道") == "fail"
    # the communities' own target is met by the same stations
    assert status(targets, "service_facility_coverage", "urban") == "pass"


def test_street_target_passes_with_a_street_centre():
    rows = from_names(
        [
            ("东风社区居委会", 100, 100),
            ("东风街道党群服务中心", 1500, 100),
            ("石岗镇党群服务中心", 2500, 100),
        ]
    )
    targets, per = evaluate(rows)
    assert status(targets, "street_service_center_coverage", "street") == "pass"
    assert status(targets, "street_service_center_coverage", "township") == "pass"
    assert unit(per, "street_service_center_coverage", "东风街道", "value") == 1
    # a street centre is not a community station: 南岭社区 still lacks one
    assert unit(per, "service_facility_coverage", "南岭社区") == "fail"
    assert unit(per, "service_facility_coverage", "南岭社区", "gap") == 1
    row = targets.loc[("service_facility_coverage", "urban")]
    assert row["value"] == 0.5 and row["gap"] == 1 and row["gap_unit"] == "communities"


# --- new presence targets -----------------------------------------------------------------


def test_culture_service_centres_due_2018():
    one_each = [(500 + 1000 * i, 100, "culture_service_center") for i in range(4)]
    targets, _ = evaluate(one_each)
    row = targets.loc[("culture_service_center_coverage", "all")]
    assert row["status"] == "pass" and row["due_year"] == 2018
    assert row["clause"] == "专栏1 第3项"
    assert row["quote"] == "2018年全省基本实现社区(村)综合性文化服务中心全覆盖"
    targets, per = evaluate(one_each[:3])  # 西村 has none
    assert status(targets, "culture_service_center_coverage") == "fail"
    assert targets.loc[("culture_service_center_coverage", "all"), "gap"] == 1
    assert unit(per, "culture_service_center_coverage", "西村") == "fail"
    # a culture room (文化室) is not a comprehensive culture service centre
    targets, _ = evaluate([*one_each[:3], (3500, 100, "culture_station")])
    assert status(targets, "culture_service_center_coverage") == "fail"


def test_due_depends_on_the_reference_year():
    targets, _ = evaluate(year=2018)
    assert bool(targets.loc[("culture_service_center_coverage", "all"), "due"]) is True
    assert bool(targets.loc[("service_facility_coverage", "urban"), "due"]) is False
    targets, _ = evaluate(year=2017)
    assert not targets["due"].astype(bool).any()
    targets, _ = evaluate()  # the plan's end year
    assert (targets["reference_year"] == 2020).all() and targets["due"].astype(bool).all()


def test_public_legal_services_in_every_community():
    kinds = ["legal_service_station", "judicial_office", "legal_service_station"]
    rows = [(500 + 1000 * i, 100, k) for i, k in enumerate(kinds)]
    targets, per = evaluate(rows)
    assert status(targets, "public_legal_service_coverage") == "fail"  # 西村
    assert unit(per, "public_legal_service_coverage", "石岗村") == "pass"
    targets, _ = evaluate([*rows, (3500, 100, "legal_service_station")])
    assert status(targets, "public_legal_service_coverage") == "pass"


def test_elderly_activity_centres_count_as_elderly_facilities():
    rows = [(500, 100, "elderly_daycare"), (1500, 100, "elderly_activity_center")]
    targets, per = evaluate(rows)
    assert status(targets, "elderly_daycare_communities", "urban") == "pass"
    assert unit(per, "elderly_daycare_communities", "南岭社区") == "pass"
    row = targets.loc[("elderly_daycare_communities", "rural")]
    assert row["status"] == "fail" and row["gap"] == 2  # 60 % of 2: 2 communities short
    rows += [(2500, 100, "elderly_activity_center"), (3500, 100, "nursing_home")]
    targets, _ = evaluate(rows)
    assert status(targets, "elderly_daycare_communities", "rural") == "fail"  # 1 of 2 < 60 %
    assert status(targets, "elderly_daycare_streets") == "pass"  # both streets have one


# --- new table targets --------------------------------------------------------------------


def test_legal_adviser_in_every_community():
    targets, per = evaluate()
    assert status(targets, "legal_adviser_each_community") == "fail"
    assert unit(per, "legal_adviser_each_community", "南岭社区", "value") == 1  # 是
    assert unit(per, "legal_adviser_each_community", "西村", "value") == 0  # 无
    assert unit(per, "legal_adviser_each_community", "西村", "gap") == 1
    targets, _ = evaluate(com=communities(legal_advisers=[1, 1, 2, 1]))
    assert status(targets, "legal_adviser_each_community") == "pass"


def test_one_door_service_in_every_street():
    targets, per = evaluate(com=communities(one_door_service=["是", "是", "是", "是"]))
    assert status(targets, "one_door_service_streets") == "pass"
    rows = per[per["target"] == "one_door_service_streets"]
    assert rows["unit"].tolist() == ["street", "street"]
    assert rows["name"].tolist() == ["东风街道", "石岗镇"]
    assert rows["value"].tolist() == [1.0, 1.0]
    targets, per = evaluate(com=communities(one_door_service=["是", "是", "否", "否"]))
    assert status(targets, "one_door_service_streets") == "fail"
    assert unit(per, "one_door_service_streets", "石岗镇", "gap") == 1
    assert unit(per, "one_door_service_streets", "石岗镇", "class") == "township"
    # communities of a street that disagree: the street counts as not in use, and says so
    targets, per = evaluate(com=communities(one_door_service=["是", "否", "是", "是"]))
    assert unit(per, "one_door_service_streets", "东风街道") == "fail"
    assert "different values" in unit(per, "one_door_service_streets", "东风街道", "detail")
    targets, _ = evaluate()  # no such column
    assert status(targets, "one_door_service_streets") == "input missing"


def test_secretary_training():
    targets, per = evaluate()
    assert status(targets, "committee_secretary_training") == "fail"
    assert unit(per, "committee_secretary_training", "南岭社区") == "pass"  # 2019
    assert unit(per, "committee_secretary_training", "石岗村") == "fail"  # 2018
    assert unit(per, "committee_secretary_training", "石岗村", "gap") == 1  # a year overdue
    assert unit(per, "committee_secretary_training", "西村") == "input missing"
    com = communities(secretary_trained_year=["2020年", 2019, 2020, 2019])
    targets, _ = evaluate(com=com)
    assert status(targets, "committee_secretary_training") == "pass"
    assert (
        targets.loc[("committee_secretary_training", "all"), "quote"]
        == "书记、主任每年至少培训一次"
    )


# --- gaps by hand -------------------------------------------------------------------------


def test_quantified_gaps_equal_hand_arithmetic():
    targets, per = evaluate()

    def gaps(tid):
        return [unit(per, tid, n, "gap") for n in NAMES]

    assert gaps("service_floor_area_per_100_households") == [30.0, 0.0, 20.0, 0.0]
    assert targets.loc[("service_floor_area_per_100_households", "all"), "gap"] == 50.0
    assert unit(per, "service_floor_area_per_100_households", "西村", "value") == 30.0
    assert gaps("community_social_workers") == [0.0, 1.0, 0.0, 1.0]
    assert targets.loc[("community_social_workers", "all"), "gap"] == 2.0
    assert gaps("community_social_organisations") == [0.0, 4.0, 0.0, 2.0]
    orgs = targets.xs("community_social_organisations")
    assert orgs.loc["urban", "value"] == 9.0 and orgs.loc["urban", "gap"] == 2.0
    assert orgs.loc["rural", "value"] == 4.0 and orgs.loc["rural", "gap"] == 2.0
    assert gaps("registered_volunteer_share") == [0.0, 100.0, 0.0, 25.0]
    vol = targets.loc[("registered_volunteer_share", "all")]
    assert vol["value"] == 0.125 and vol["gap"] == pytest.approx(100.0)
    assert vol["gap_unit"] == "registered volunteers" and vol["gap_unit_zh"] == "名注册志愿者"
    assert gaps("sports_instructors_per_10000") == pytest.approx([0.0, 2.0, 0.0, 0.5])
    assert targets.loc[("sports_instructors_per_10000", "all"), "gap"] == pytest.approx(2.0)
    assert unit(per, "community_social_workers", "南岭社区", "threshold") == 1.0
    assert unit(per, "community_social_workers", "南岭社区", "gap_unit_zh") == "名社会工作人才"
    assert unit(per, "service_floor_area_per_100_households", "东风社区", "gap_unit_zh") == "平方米"
    training = unit(per, "committee_secretary_training", "石岗村", "gap_unit_zh")
    assert training == "年(逾期)"
    assert unit(per, "community_social_organisations", "西村", "threshold") == 5.0


def test_sports_area_and_new_housing_gaps():
    ground = facilities([(500, 100, "multi_sport_small")]).assign(area_m2=2000.0)
    pre = load_preset()
    new = blocks(
        new_housing=[True, False, False, False],
        service_floor_area_m2=[500.0, np.nan, np.nan, np.nan],
        households=[1500.0, 300.0, 200.0, 100.0],
    )
    targets, per = evaluate_targets(
        pre, ground, "category", new, communities(), reference_year=2020
    )
    assert unit(per, "sports_area_per_capita", "东风社区", "value") == 2.0
    assert unit(per, "sports_area_per_capita", "东风社区", "gap") == 500.0
    row = targets.loc[("sports_area_per_capita", "all")]
    assert row["value"] == 0.5 and row["gap"] == 8000.0 and row["gap_unit"] == "m2"
    # 1,500 households: the 1000-2000 band asks 600 m2; 500 m2 is 100 short
    block = per[per["target"] == "new_housing_service_floor_area"].iloc[0]
    assert block["threshold"] == 600.0 and block["gap"] == 100.0 and block["status"] == "fail"


def test_facilities_open_less_than_8_hours_per_community():
    fac = points(
        [(100, 100), (200, 100), (2100, 100)],
        category=["community_service_station"] * 3,
        name=["A", "B", "C"],
        opening_hours=["Mo-Fr 09:00-12:00", "Mo-Fr 08:00-18:00", "Mo-Su 09:00-21:00"],
    )
    targets, per = evaluate_targets(
        load_preset(), fac, "category", blocks(), communities(), reference_year=2020
    )
    u = per[per["target"] == "service_facility_opening_hours"].set_index(["unit", "name"])
    assert u.loc[("community", "东风社区"), "gap"] == 1  # A: 3 h a day
    assert u.loc[("community", "东风社区"), "gap_unit_zh"] == "处设施开放不足8小时"
    assert u.loc[("community", "石岗村"), "gap"] == 0
    assert u.loc[("facility", "A"), "gap"] == 5.0  # 5 h short of 8
    assert u.loc[("facility", "A"), "community"] == "东风社区"
    row = targets.loc[("service_facility_opening_hours", "all")]
    assert row["gap"] == 1 and "typical opening day" in row["reading"]


def test_every_target_carries_its_provenance_and_the_per_unit_columns():
    targets, per = evaluate()
    assert list(per.columns) == UNIT_COLUMNS
    assert targets["clause"].ne("").all()
    assert targets["due_year"].notna().all()
    v = targets[targets["label"] == "V"]
    assert v["quote"].ne("").all()


def test_assess_passes_the_reference_year():
    nodes = {"a": (0, 500), "b": (4000, 500)}
    net = planner.load_network(graph(nodes, [("a", "b", {"highway": "residential"})]), mode="walk")
    fac = facilities([(500, 490, "park")])
    kw = {"communities": communities(), "circles": ["fitness_15min"]}
    a = planner.assess(net, fac, blocks(), **kw)
    assert (a.targets["reference_year"] == 2020).all()
    later = planner.assess(net, fac, blocks(), reference_year=2023, **kw)
    assert (later.targets["reference_year"] == 2023).all()
    # 石岗村's secretary (2018) is 1 year overdue in 2020, 4 years in 2023
    u = later.targets_by_unit.set_index(["target", "name"])
    assert u.loc[("committee_secretary_training", "石岗村"), "gap"] == 4
    assert u.loc[("committee_secretary_training", "东风社区"), "gap"] == 2


def test_a_bureau_table_feeds_the_new_targets(tmp_path):
    """法律顾问, 一门式一网式 and 书记培训年份 are found by default (as written: a count or
    是/否; a year from "2019年"), and the targets read them after the join."""
    path = tmp_path / "民政局.csv"
    pd.DataFrame(
        {
            "社区名称": NAMES,
            "法律顾问": ["1", "是", "2", "无"],
            "一门式一网式": ["是", "是", "是", "否"],
            "书记培训年份": ["2020年", "2019", "2018", ""],
        }
    ).to_csv(path, index=False, encoding="gbk")
    table = planner.read_community_table(path)
    assert table.attrs["columns"] == {
        "法律顾问": "legal_advisers",
        "一门式一网式": "one_door_service",
        "书记培训年份": "secretary_trained_year",
    }
    assert table["legal_advisers"].tolist() == ["1", "是", "2", "无"]
    assert table["secretary_trained_year"].tolist()[:3] == [2020, 2019, 2018]
    base = communities().drop(columns=["legal_advisers", "secretary_trained_year"])
    joined, _ = planner.join_community_table(base, table)
    _, per = evaluate(com=joined)
    assert unit(per, "legal_adviser_each_community", "西村", "gap") == 1
    assert unit(per, "one_door_service_streets", "石岗镇") == "fail"  # 西村 says 否
    assert unit(per, "committee_secretary_training", "石岗村", "gap") == 1  # 2018
    assert unit(per, "committee_secretary_training", "西村") == "input missing"
