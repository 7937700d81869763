"""Bureau tables of community attributes: reading (UTF-8, GBK, Excel), joining, targets.

Five communities, x 0..5000 in 1 km boxes: 东风社区, 南岭社区, 北山社区 (urban, Pearl
River Delta), 石岗村 (rural, PRD), 西村 (rural, east Guangdong). Y is the reference year.

======== ===== ======= ========== =========== ========== ===== ======== ======== =====
name     orgs  workers volunteers instructors population hh    director members  floor
======== ===== ======= ========== =========== ========== ===== ======== ======== =====
东风社区  12    2       1,500      30          10000      3500  Y        Y-1      1200
南岭社区  9     0       1000       20          8000       2800  Y-1      Y-3      700
北山社区  10    1       900        25人        6000       2000  Y-2年    Y-2      600
石岗村    6     1       300        5           3000       900   Y        Y        300
西村      4     1       450        10          2000       600   (empty)  Y-1-05-01 150
======== ===== ======= ========== =========== ========== ===== ======== ======== =====

By hand:

- social organisations, class means: urban (12 + 9 + 10) / 3 = 10.33 >= 10 pass; rural
  (6 + 4) / 2 = 5 >= 5 pass; each: 南岭 9 < 10 and 西村 4 < 5 fail.
- social workers >= 1 in each: 南岭 has 0: fail, 4 of 5 pass.
- volunteers: 4,150 / 29,000 = 14.3 % < 15 %: fail; 东风 and 北山 15 % exactly pass.
- sports instructors: 90 / 29,000 x 10,000 = 31.0 >= 30 pass; 南岭 25 and 石岗 16.7 fail.
- director trained in Y or Y-1: 北山 (Y-2) fails, 西村 has no year: fail overall.
- members trained in Y-2 .. Y: 南岭 (Y-3) fails.
"""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import X0, Y0
from town import town

import planner
from planner.rules import load_preset
from planner.sources.community_tables import join_community_table, read_community_table
from planner.targets import evaluate_targets

Y = 2024
NAMES = ["东风社区", "南岭社区", "北山社区", "石岗村", "西村"]
HEADER = (
    "社区名称,社区代码,社会组织数,社工人数,注册志愿者,社会体育指导员,常住人口,户数,"
    "主任培训年份,成员培训年份,社区服务用房面积"
)


def rows(year, stone="石岗村", total=False):
    lines = [
        f'东风社区,440304001001,12,2,"1,500",30,10000,3500,{year},{year - 1},1200',
        f"南岭社区居委会,440304001002,9,0,1000,20,8000,2800,{year - 1},{year - 3},700",
        f"北山社区,440304001003,10,1,900,25人,6000,2000,{year - 2}年,{year - 2},600",
        f"{stone},440304002001,6,1,300,5,3000,900,{year},{year},300",
        f"西村,440304002002,4,1,450,10,2000,600,,{year - 1}-05-01,150",
    ]
    if total:
        lines.append("合计,,41,5,4150,90,29000,9800,,,2950")
    return "\n".join([HEADER, *lines]) + "\n"


def communities(setting=True):
    return gpd.GeoDataFrame(
        {
            "community": NAMES,
            "setting": ["urban"] * 3 + ["rural"] * 2 if setting else [None] * 5,
            "region": ["prd"] * 4 + ["east"],
            "code": [f"44030400{i}" for i in ("1001", "1002", "1003", "2001", "2002")],
        },
        geometry=[shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(5)],
        crs="EPSG:32650",
    )


def evaluate(com, year=Y):
    pre = load_preset()
    fac = gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:32650")
    blocks = gpd.GeoDataFrame({"population": []}, geometry=[], crs="EPSG:32650")
    return evaluate_targets(pre, fac, "category", blocks, com, reference_year=year)


def test_read_utf8_csv_with_chinese_headers(tmp_path):
    path = tmp_path / "民政局.csv"
    path.write_text(rows(Y, total=True), encoding="utf-8")
    with pytest.warns(planner.errors.PlannerWarning, match=r"dropped 1 total rows \('合计'\)"):
        t = read_community_table(path)
    assert t["community"].tolist() == ["东风社区", "南岭社区居委会", "北山社区", "石岗村", "西村"]
    assert t["code"].tolist()[0] == "440304001001"  # codes stay text
    assert t["volunteers"].tolist() == [1500.0, 1000.0, 900.0, 300.0, 450.0]  # "1,500"
    assert t["sports_instructors"].tolist() == [30.0, 20.0, 25.0, 5.0, 10.0]  # "25人"
    assert t["director_trained_year"].tolist()[:4] == [Y, Y - 1, Y - 2, Y]  # "2022年"
    assert np.isnan(t.loc[4, "director_trained_year"])
    assert t.loc[4, "members_trained_year"] == Y - 1  # a date gives its year
    assert t["source_row"].tolist() == [0, 1, 2, 3, 4]
    assert t.attrs["encoding"] == "utf-8"
    assert t.attrs["columns"]["社工人数"] == "social_workers"


def test_read_gbk_csv(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(rows(Y).encode("gbk"))
    t = read_community_table(path)
    assert t.attrs["encoding"] == "gb18030"
    assert t["community"].tolist()[3] == "石岗村"
    assert t["social_organisations"].tolist() == [12.0, 9.0, 10.0, 6.0, 4.0]


def test_read_xlsx_with_mapping_and_bad_values(tmp_path):
    path = tmp_path / "街道统计.xlsx"
    frame = pd.DataFrame(
        {
            "村(社区)": ["东风社区", "西村"],
            "统计用区划代码": ["044030400100", "044030400200"],  # leading zeros kept
            "持证社工": [3, 1],
            "社会组织数": [12, "十二"],  # not a number
            "主任最近培训时间": [datetime(Y, 6, 1), datetime(Y - 1, 3, 5)],
        }
    )
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"说明": ["封面"]}).to_excel(xl, sheet_name="封面", index=False)
        frame.to_excel(xl, sheet_name="社区", index=False)
    with pytest.warns(
        planner.errors.PlannerWarning, match=r"not a number in 1 rows: 西村 \('十二'\)"
    ):
        t = read_community_table(path, sheet="社区", columns={"持证社工": "social_workers"})
    assert t["community"].tolist() == ["东风社区", "西村"]
    assert t["code"].tolist() == ["044030400100", "044030400200"]
    assert t["social_workers"].tolist() == [3.0, 1.0]
    assert t["social_organisations"].tolist()[0] == 12.0
    assert np.isnan(t.loc[1, "social_organisations"])
    assert t["director_trained_year"].tolist() == [Y, Y - 1]
    assert t.attrs["sheet"] == "社区"


def test_read_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(rows(Y) + "东风社区,1,1,1,1,1,1,1,,,1\n", encoding="utf-8")
    with pytest.raises(planner.errors.InputError, match=r"community values repeat: '东风社区'"):
        read_community_table(path)
    path.write_text("名字,社工人数\n东风社区,1\n", encoding="utf-8")
    with pytest.raises(planner.errors.MissingColumnError, match=r"Pass name='<header"):
        read_community_table(path)
    t = read_community_table(path, name="名字")
    assert t["social_workers"].tolist() == [1.0]
    with pytest.raises(planner.errors.MissingColumnError, match=r"Did you mean '社工人数'"):
        read_community_table(path, name="名字", columns={"社工人": "social_workers"})
    path.write_text("社区,社工人数\n东风社区,-1\n", encoding="utf-8")
    with pytest.raises(planner.errors.InputError, match=r"negative values for '东风社区'"):
        read_community_table(path)
    spatial = tmp_path / "x.geojson"
    spatial.write_text("{}", encoding="utf-8")
    with pytest.raises(planner.errors.InputError, match=r"is a spatial file"):
        read_community_table(spatial)
    with pytest.raises(planner.errors.InputError, match=r"does not exist"):
        read_community_table(tmp_path / "none.csv")


def test_join_reports_unmatched_rows_with_suggestions(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(rows(Y, stone="石冈村"), encoding="utf-8")  # 石岗村 misspelt
    table = read_community_table(path)
    with pytest.warns(
        planner.errors.PlannerWarning,
        match=r"1 rows match no community.*'石冈村' \(closest: 石岗村\)",
    ):
        joined, report = join_community_table(communities(), table)
    shown = report[["issue", "key", "community", "suggestions"]].astype(object)
    assert shown.where(shown.notna(), None).to_numpy().tolist() == [
        ["table row matches no community", "石冈村", None, "石岗村"],
        ["community has no table row", None, "石岗村", "石冈村"],
    ]
    assert report["source_row"].tolist()[0] == 3
    j = joined.set_index("community")
    assert j.loc["南岭社区", "social_organisations"] == 9.0  # "南岭社区居委会" is 南岭社区
    assert np.isnan(j.loc["石岗村", "social_organisations"])
    assert joined.geometry.equals(communities().geometry)
    # 石岗村 lacks data: its classes cannot pass, the failures still fail
    targets, per = evaluate(joined)
    assert targets.loc[("community_social_organisations", "rural"), "status"] == "input missing"
    assert targets.loc[("community_social_organisations", "rural"), "value"] == 4.0
    assert targets.loc[("community_social_organisations", "urban"), "status"] == "pass"
    assert targets.loc[("community_social_workers", "all"), "status"] == "fail"  # 南岭
    u = per.set_index(["target", "name"])
    assert u.loc[("community_social_workers", "石岗村"), "status"] == "input missing"


def test_join_by_code(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("社区代码,社工人数\n440304002002,2\n440304009999,1\n", encoding="utf-8")
    table = read_community_table(path)
    with pytest.warns(planner.errors.PlannerWarning, match=r"'440304009999'"):
        joined, report = join_community_table(communities(), table, on="code")
    assert joined["social_workers"].tolist()[4] == 2.0
    assert joined["social_workers"].isna().sum() == 4
    assert report["issue"].value_counts().to_dict() == {
        "community has no table row": 4,
        "table row matches no community": 1,
    }
    with pytest.raises(planner.errors.MissingColumnError, match=r"no 'community' column"):
        join_community_table(communities(), table)


@pytest.fixture
def full(tmp_path):
    path = tmp_path / "full.csv"
    path.write_bytes(rows(Y).encode("gbk"))
    joined, report = join_community_table(communities(), read_community_table(path))
    assert report.empty
    return joined


def test_community_table_targets_by_hand(full):
    targets, per = evaluate(full)
    t = targets["status"]
    v = targets["value"]
    assert t[("community_social_organisations", "urban")] == "pass"
    assert v[("community_social_organisations", "urban")] == pytest.approx(31 / 3)
    assert t[("community_social_organisations", "rural")] == "pass"
    assert v[("community_social_organisations", "rural")] == pytest.approx(5.0)
    assert t[("community_social_workers", "all")] == "fail"
    assert v[("community_social_workers", "all")] == pytest.approx(4 / 5)
    assert t[("registered_volunteer_share", "all")] == "fail"
    assert v[("registered_volunteer_share", "all")] == pytest.approx(4150 / 29000)
    assert t[("sports_instructors_per_10000", "all")] == "pass"
    assert v[("sports_instructors_per_10000", "all")] == pytest.approx(90 / 29000 * 10000)
    assert t[("committee_director_training", "all")] == "fail"
    assert t[("committee_members_training", "all")] == "fail"
    assert targets.loc[("community_social_organisations", "urban"), "label"] == "V"
    assert targets.loc[("committee_director_training", "all"), "label"] == "I"
    assert targets.loc[("community_social_workers", "all"), "clause"] == "二(三); 三(六)2"
    # each community, by hand
    u = per.set_index(["target", "name"])

    def statuses(target):
        return [u.loc[(target, n), "status"] for n in NAMES]

    assert statuses("community_social_organisations") == ["pass", "fail", "pass", "pass", "fail"]
    assert statuses("community_social_workers") == ["pass", "fail", "pass", "pass", "pass"]
    assert statuses("registered_volunteer_share") == ["pass", "fail", "pass", "fail", "pass"]
    assert statuses("sports_instructors_per_10000") == ["pass", "fail", "pass", "fail", "pass"]
    assert statuses("committee_director_training") == [
        "pass",
        "pass",
        "fail",
        "pass",
        "input missing",
    ]
    assert statuses("committee_members_training") == ["pass", "fail", "pass", "pass", "pass"]
    assert u.loc[("sports_instructors_per_10000", "石岗村"), "value"] == pytest.approx(50 / 3)
    assert u.loc[("community_social_organisations", "西村"), "class"] == "rural_other"
    # the existing floor-area target reads the joined columns too: 1200 m2 / 35 x 100 hh
    assert u.loc[("service_floor_area_per_100_households", "东风社区"), "value"] == pytest.approx(
        1200 / 35
    )


def test_training_depends_on_reference_year(full):
    _, per = evaluate(full, year=Y + 1)
    u = per.set_index(["target", "name"])
    assert u.loc[("committee_director_training", "东风社区"), "status"] == "pass"  # Y
    assert u.loc[("committee_director_training", "南岭社区"), "status"] == "fail"  # Y - 1
    _, per = evaluate(full, year=Y - 1)
    u = per.set_index(["target", "name"])
    assert u.loc[("committee_director_training", "东风社区"), "status"] == "input missing"
    assert (
        "after the reference year" in u.loc[("committee_director_training", "东风社区"), "detail"]
    )


def test_missing_columns_and_settings(full):
    targets, _ = evaluate(full.drop(columns=["sports_instructors"]))
    row = targets.loc[("sports_instructors_per_10000", "all")]
    assert row["status"] == "input missing"
    assert "sports_instructors" in row["detail"] and "read_community_table" in row["detail"]
    assert targets.loc[("community_social_workers", "all"), "status"] == "fail"  # others still run
    targets, _ = evaluate(None)
    assert (targets.xs("community_social_organisations")["status"] == "input missing").all()
    # without urban/rural settings the class checks cannot be judged
    bare = full.assign(setting=None)
    targets, _ = evaluate(bare)
    assert targets.loc[("community_social_organisations", "urban"), "status"] == "input missing"
    assert (
        "lack their urban/rural setting"
        in targets.loc[("community_social_organisations", "urban"), "detail"]
    )


def test_assess_shows_table_targets_beside_spatial_ones(tmp_path):
    net, fac, blocks, com = town()
    year = 2020  # assess judges at the plan's end year unless told otherwise
    path = tmp_path / "town.csv"
    path.write_text(
        "社区,社工人数,主任培训年份,注册志愿者,常住人口\n"
        f"东风社区,2,{year},300,1600\n石岗村,1,{year - 1},50,500\n西村,0,{year - 3},10,100\n",
        encoding="utf-8",
    )
    joined, report = join_community_table(com, read_community_table(path))
    assert report.empty
    a = planner.assess(net, fac, blocks, communities=joined)
    t = a.targets["status"]
    assert t[("community_social_workers", "all")] == "fail"  # 西村 0
    assert t[("committee_director_training", "all")] == "fail"  # 西村 three years ago
    assert t[("registered_volunteer_share", "all")] == "pass"  # 360 / 2200 = 16.4 %
    assert t[("sports_instructors_per_10000", "all")] == "input missing"
    assert t[("service_facility_coverage", "urban")] == "pass"  # spatial checks unchanged
    per = a.targets_by_unit.set_index(["target", "name"])
    assert per.loc[("community_social_workers", "石岗村"), "value"] == 1.0
    assert per.loc[("committee_director_training", "东风社区"), "status"] == "pass"
    # judged three years later, 东风社区's training is overdue too
    later = planner.assess(net, fac, blocks, communities=joined, reference_year=year + 3)
    per = later.targets_by_unit.set_index(["target", "name"])
    assert per.loc[("committee_director_training", "东风社区"), "status"] == "fail"
    assert per.loc[("committee_director_training", "东风社区"), "gap"] == 2  # years overdue
    assert later.targets["reference_year"].eq(year + 3).all()
    # without residents in the table, they are summed from the blocks (1600, 500, 100)
    b = planner.assess(net, fac, blocks, communities=joined.drop(columns="population"))
    row = b.targets.loc[("registered_volunteer_share", "all")]
    assert row["status"] == "pass" and row["value"] == pytest.approx(360 / 2200)
    assert "population summed from the blocks" in row["detail"]


def test_preset_validates_table_targets():
    with pytest.raises(planner.errors.InputError, match=r"either column"):
        load_preset(
            extra={
                "target": [
                    {
                        "id": "x",
                        "kind": "community_table",
                        "column": "a",
                        "numerator": "b",
                        "threshold": 1,
                    }
                ]
            }
        )
    with pytest.raises(planner.errors.InputError, match=r"comparison must be one of"):
        load_preset(
            extra={
                "target": [
                    {"id": "x", "kind": "community_table", "column": "a", "comparison": "=>"}
                ]
            }
        )
    pre = load_preset(
        extra={
            "target": [
                {
                    "id": "my_floor",
                    "kind": "community_table",
                    "column": "service_floor_area_m2",
                    "comparison": ">=",
                    "thresholds": {"urban": 1000, "rural": 200},
                    "label": "I",
                }
            ]
        }
    )
    assert pre.targets["my_floor"].aggregate == "each"
