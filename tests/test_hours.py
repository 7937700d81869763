"""Opening hours: hours per day by hand, the 8-hours-a-day check, and the preset targets.

The reference week is Monday 11 to Sunday 17 March 2024 (no public holiday).
"""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import X0, Y0, points
from town import town

import planner
from planner import hours as hours_mod
from planner.hours import hours_per_day, opening_hours_check
from planner.rules import load_preset
from planner.targets import evaluate_targets

DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]


def week(values):
    return dict(zip(DAYS, values, strict=True))


def test_hours_per_day_by_hand():
    values = pd.Series(
        [
            "24/7",
            "Mo-Fr 08:00-18:00",
            "Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00",  # a lunch break
            "Su off",
            "Mo-Su 09:00-21:00; PH off",
            "Fr 18:00-02:00",  # past midnight: 8 h on Friday
            "Mo-Su 20:00-05:00",
            "Mo-Fr 08:00-18:00;",  # a dangling separator: not valid syntax
            None,
            "  ",
        ],
        index=list("abcdefghij"),
    )
    h = hours_per_day(values)
    assert list(h.index) == list("abcdefghij")
    got = {k: h.loc[k, DAYS].tolist() for k in "abcdefg"}
    assert got == {
        "a": [24.0] * 7,
        "b": [10.0] * 5 + [0.0, 0.0],
        "c": [8.0] * 5 + [3.0, 0.0],
        "d": [0.0] * 7,
        "e": [12.0] * 7,  # the reference week has no public holiday
        "f": [0, 0, 0, 0, 8.0, 0, 0],
        "g": [9.0] * 7,
    }
    assert h["open_days"].tolist()[:7] == [7, 5, 6, 0, 7, 1, 7]
    assert h.loc["c", "min_h"] == 3.0
    assert h.loc["c", "mean_h"] == pytest.approx(43 / 6)
    assert h.loc["c", "week_h"] == 43.0
    assert np.isnan(h.loc["d", "min_h"])  # never opens
    assert h.loc[list("abcdefg"), "parse_error"].isna().all()
    assert "not OSM opening_hours syntax" in h.loc["h", "parse_error"]
    assert "character 19" in h.loc["h", "parse_error"]
    assert h.loc["h", DAYS].isna().all()
    # missing and blank values are no data, not errors
    assert h.loc[["i", "j"], DAYS].isna().all().all()
    assert h.loc[["i", "j"], "parse_error"].isna().all()


def test_unknown_state_and_comments():
    h = hours_per_day(["Mo-Fr 08:00-18:00 unknown", 'Mo-Fr 08:00-18:00 "by appointment"'])
    assert h.loc[0, DAYS].tolist() == [0.0] * 7
    assert h.loc[0, "unknown_h"] == 50.0
    assert h.loc[1, "Mo"] == 10.0
    assert h.loc[1, "comment"] == "by appointment"


def test_each_distinct_value_is_parsed_once(monkeypatch):
    calls = []
    real = hours_mod._parse

    def counting(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(hours_mod, "_parse", counting)
    values = ["Mo-Fr 08:00-18:00", "24/7", None, "Mo-Fr 08:00-18:00", "24/7", "x"] * 50
    h = hours_per_day(values)
    assert sorted(calls) == ["24/7", "Mo-Fr 08:00-18:00", "x"]
    assert len(h) == 300
    assert (h["Mo"].iloc[::6] == 10.0).all()


def test_reference_week_and_other_weeks():
    values = ["Mo-Su 08:00-18:00; Mar off"]
    assert hours_per_day(values).loc[0, "week_h"] == 0.0  # the reference week is in March
    june = hours_per_day(values, week=date(2024, 6, 12))  # any day of the week
    assert june.loc[0, DAYS].tolist() == [10.0] * 7


def test_simple_chinese_forms():
    values = [
        "周一至周五 9:00-17:00",
        "周一至周五 8:30-12:00，14:00-17:30；周六 9:00-12:00",
        "每天 9:00-21:00",
        "24小时",
        "9:00-17:00，周一休息",
        "周一至周五 上午9:00-12:00 下午2:00-5:30",
        "星期二、星期四 9点-17点半",
        "工作日 9:00-17:00（节假日除外）",  # a note planner does not read
    ]
    h = hours_per_day(values)
    assert h["parsed_as"].tolist()[:7] == [
        "Mo-Fr 09:00-17:00",
        "Mo-Fr 08:30-12:00,14:00-17:30; Sa 09:00-12:00",
        "Mo-Su 09:00-21:00",
        "24/7",
        "09:00-17:00; Mo off",
        "Mo-Fr 09:00-12:00,14:00-17:30",
        "Tu,Th 09:00-17:30",
    ]
    assert h.loc[0, DAYS].tolist() == [8.0] * 5 + [0.0, 0.0]
    assert h.loc[1, DAYS].tolist() == [7.0] * 5 + [3.0, 0.0]
    assert h.loc[4, DAYS].tolist() == [0.0] + [8.0] * 6
    assert h.loc[5, "Mo"] == 6.5
    assert h.loc[6, DAYS].tolist() == [0, 8.5, 0, 8.5, 0, 0, 0]
    assert h.loc[:6, "parse_error"].isna().all()
    assert "Chinese hours '工作日 9:00-17:00（节假日除外）'" in h.loc[7, "parse_error"]
    assert "Mo-Fr 09:00-17:00" in h.loc[7, "parse_error"]  # says how to write it


def _facilities():
    """Eight facilities, four per category; 东风社区 x 0..2000, 石岗村 x 2000..4000."""
    rows = [
        ("A", 100, "community_service_station", "Mo-Fr 08:00-18:00"),
        ("B", 300, "community_service_station", "Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00"),
        ("C", 2100, "community_service_station", "24/7"),
        ("D", 2300, "community_service_station", "Su off"),
        ("E", 500, "library", "open every day"),
        ("F", 2500, "library", None),
        ("G", 700, "library", "周一至周五 9:00-17:00"),
        ("H", 2700, "library", "Fr 18:00-02:00"),
    ]
    fac = points(
        [(x, 0) for _, x, _, _ in rows],
        name=[r[0] for r in rows],
        category=[r[2] for r in rows],
        opening_hours=[r[3] for r in rows],
    )
    com = gpd.GeoDataFrame(
        {"community": ["东风社区", "石岗村"], "setting": ["urban", "rural"], "region": "prd"},
        geometry=[
            shapely.box(X0, Y0 - 500, X0 + 2000, Y0 + 500),
            shapely.box(X0 + 2000, Y0 - 500, X0 + 4000, Y0 + 500),
        ],
        crs="EPSG:32650",
    )
    return fac.set_index(pd.Index(list("ABCDEFGH"))), com


def test_opening_hours_check_per_facility_category_and_community():
    fac, com = _facilities()
    per, summary = opening_hours_check(fac, communities=com, reading="every_day")
    assert per.attrs["reading"] == "every_day"
    assert per.attrs["reading_text"] == "at least 8 h on every day it opens"
    assert per["status"].to_dict() == {
        "A": "meets",  # closed at weekends: reported, not failed
        "B": "below",  # Saturday 3 h
        "C": "meets",
        "D": "below",  # closed all week
        "E": "unparseable",
        "F": "no data",
        "G": "meets",  # 8 h exactly, from the Chinese form
        "H": "meets",  # 8 h on Friday, past midnight
    }
    assert per.loc["A", "days_closed"] == "Sa, Su"
    assert per.loc["B", "days_below"] == "Sa"
    assert per.loc["B", "min_h"] == 3.0
    assert per.loc["D", "detail"] == "closed all week"
    assert per.loc["G", "detail"] == "read as Mo-Fr 09:00-17:00"
    assert "not OSM opening_hours syntax" in per.loc["E", "detail"]
    dongfeng, shigang = "东风社区", "石岗村"
    assert per["community"].tolist() == [dongfeng] * 2 + [shigang] * 2 + [dongfeng, shigang] * 2
    cols = ["facilities", "with_hours", "meeting", "below", "unparseable", "no_data"]
    got = {k: summary.loc[k, cols].tolist() for k in summary.index}
    assert got == {
        ("all", "all"): [8, 6, 4, 2, 1, 1],
        ("category", "community_service_station"): [4, 4, 2, 2, 0, 0],
        ("category", "library"): [4, 2, 2, 0, 1, 1],
        ("community", "东风社区"): [4, 3, 2, 1, 1, 0],
        ("community", "石岗村"): [4, 3, 2, 1, 0, 1],
    }
    assert summary.loc[("category", "library"), "share_meeting"] == 1.0
    assert summary.loc[("all", "all"), "share_meeting"] == pytest.approx(4 / 6)


def test_typical_day_reading_is_the_default():
    """B opens 8 h Monday to Friday and 3 h on Saturday: its median opening day is 8 h."""
    fac, com = _facilities()
    per, summary = opening_hours_check(fac, communities=com)
    assert per.attrs["reading"] == "median_day"
    assert "typical opening day" in per.attrs["reading_text"]
    assert summary.attrs["reading"] == "median_day"
    assert per.loc["B", "median_h"] == 8.0 and per.loc["B", "min_h"] == 3.0
    assert per.loc["B", "status"] == "meets"
    assert per.loc["B", "days_below"] == "Sa"  # still listed
    assert per.loc["D", "status"] == "below"  # closed all week fails either way
    # a facility open 10, 10, 4, 4, 4 hours: median 4 < 8 fails the typical day too
    short = fac.iloc[:1].assign(opening_hours="Mo-Tu 08:00-18:00; We-Fr 08:00-12:00")
    per_short, _ = opening_hours_check(short)
    assert per_short.iloc[0]["median_h"] == 4.0 and per_short.iloc[0]["status"] == "below"
    cols = ["facilities", "with_hours", "meeting", "below", "unparseable", "no_data"]
    assert summary.loc[("all", "all"), cols].tolist() == [8, 6, 5, 1, 1, 1]
    assert summary.loc[("community", "东风社区"), cols].tolist() == [4, 3, 3, 0, 1, 0]
    with pytest.raises(planner.errors.InputError, match=r"reading must be one of.*every_day"):
        opening_hours_check(fac, reading="everyday")


def test_opening_hours_check_minimum_columns_and_duplicates():
    fac, _ = _facilities()
    per, _ = opening_hours_check(fac, minimum_h=10)
    assert per.loc["A", "status"] == "meets" and per.loc["G", "status"] == "below"
    # a planner's file: Chinese header
    own = fac.rename(columns={"opening_hours": "开放时间"})
    per, _ = opening_hours_check(own)
    assert per.attrs["column"] == "开放时间"
    assert per.loc["C", "status"] == "meets"
    with pytest.raises(planner.errors.MissingColumnError, match=r"Did you mean '开放时间'"):
        opening_hours_check(own, column="开放时")
    with pytest.raises(planner.errors.MissingColumnError, match=r"no column for opening hours"):
        opening_hours_check(fac.drop(columns="opening_hours"))
    # one OSM feature matched by two categories counts once overall
    osm = fac.assign(osm_type="node", osm_id=[1, 1, 2, 3, 4, 5, 6, 7])
    _, summary = opening_hours_check(osm)
    assert summary.loc[("all", "all"), "facilities"] == 7
    assert summary.loc[("category", "community_service_station"), "facilities"] == 4


EVERY_DAY = {"target": [{"id": "service_facility_opening_hours", "hours_reading": "every_day"}]}


def _evaluate(fac, com, extra=None):
    pre = load_preset(extra=extra)
    blocks = gpd.GeoDataFrame({"population": []}, geometry=[], crs="EPSG:32650")
    return evaluate_targets(pre, fac, "category", blocks, com)


def test_opening_hours_targets_on_a_typical_day():
    fac, com = _facilities()
    targets, per = _evaluate(fac, com)
    row = targets.loc[("service_facility_opening_hours", "all")]
    assert row["status"] == "fail"  # D, closed all week; B's typical day is 8 h
    assert row["value"] == 0.75 and row["units"] == 4 and row["units_passing"] == 3
    assert row["gap"] == 1 and row["gap_unit"] == "facilities open < 8 h"
    assert row["reading"] == (
        "at least 8 h on a typical opening day (the median of the days it opens)"
    )
    assert row["clause"] == "三(五)1" and row["quote"] == "开放时间一般不少于每天8小时"
    u = per[per["target"] == "service_facility_opening_hours"].set_index(["unit", "name"])
    assert u.loc[("community", "东风社区"), "status"] == "pass"  # A and B
    assert u.loc[("community", "石岗村"), "status"] == "fail"  # D
    assert u.loc[("community", "石岗村"), "gap"] == 1  # one facility open < 8 h
    assert u.loc[("facility", "B"), "status"] == "pass"
    assert u.loc[("facility", "B"), "value"] == 8.0  # the median day
    assert u.loc[("facility", "D"), "gap"] == 8.0  # never opens: 8 h short


def test_opening_hours_targets():
    """The strict reading: at least 8 h on every day a facility opens."""
    fac, com = _facilities()
    targets, per = _evaluate(fac, com, extra=EVERY_DAY)
    row = targets.loc[("service_facility_opening_hours", "all")]
    assert row["status"] == "fail"  # B and D
    assert row["value"] == 0.5 and row["units"] == 4 and row["units_passing"] == 2
    assert row["threshold"] == 8.0 and row["label"] == "V"
    assert row["reading"] == "at least 8 h on every day it opens"
    assert row["clause"] == "三(五)1"
    # libraries are public-benefit facilities: G and H meet it, E unparseable, F no data
    lib = targets.loc[("public_service_opening_hours", "all")]
    assert lib["status"] == "pass" and lib["label"] == "I"
    assert "1 unparseable, 1 without hours" in lib["detail"]
    u = per[per["target"] == "service_facility_opening_hours"].set_index(["unit", "name"])
    assert u.loc[("community", "东风社区"), "status"] == "fail"  # B
    assert u.loc[("community", "东风社区"), "class"] == "urban"
    assert u.loc[("community", "石岗村"), "status"] == "fail"  # D
    assert u.loc[("category", "community_service_station"), "value"] == 0.5
    assert u.loc[("facility", "B"), "status"] == "fail"
    assert u.loc[("facility", "B"), "value"] == 3.0
    assert u.loc[("facility", "B"), "gap"] == 5.0  # Saturday: 5 h short of 8
    assert "below on Sa" in u.loc[("facility", "B"), "detail"]
    assert u.loc[("facility", "B"), "community"] == "东风社区"  # for the community report
    lu = per[per["target"] == "public_service_opening_hours"].set_index(["unit", "name"])
    assert lu.loc[("facility", "E"), "status"] == "input missing"  # listed, not guessed
    assert ("facility", "F") not in lu.index  # no hours at all: counted, not listed
    assert lu.loc[("community", "石岗村"), "status"] == "pass"  # H; F has no data


def test_opening_hours_targets_input_missing():
    fac, com = _facilities()
    targets, _ = _evaluate(fac.drop(columns="opening_hours"), com)
    row = targets.loc[("service_facility_opening_hours", "all")]
    assert row["status"] == "input missing"
    assert "no opening-hours column" in row["detail"]
    targets, _ = _evaluate(fac.assign(opening_hours=None), com)
    assert targets.loc[("service_facility_opening_hours", "all"), "status"] == "input missing"


def test_assess_reports_opening_hours():
    net, fac, blocks, communities = town()
    hours = np.where(
        fac["category"] == "community_service_station",
        "Mo-Fr 09:00-17:00; Sa 09:00-12:00",
        np.where(fac["category"] == "culture_station", "Mo-Su 09:00-21:00", None),
    )
    fac = fac.assign(opening_hours=hours)
    a = planner.assess(net, fac, blocks, communities=communities)
    t = a.targets
    assert t.loc[("service_facility_opening_hours", "all"), "status"] == "pass"  # typical day 8 h
    assert t.loc[("public_service_opening_hours", "all"), "status"] == "pass"
    strict = planner.assess(
        net, fac, blocks, communities=communities, preset=load_preset(extra=EVERY_DAY)
    )
    assert strict.targets.loc[("service_facility_opening_hours", "all"), "status"] == "fail"
    per = strict.targets_by_unit.set_index(["target", "unit", "name"])
    assert per.loc[("service_facility_opening_hours", "community", "东风社区"), "status"] == "fail"
    # the spatial targets are unchanged beside them
    assert t.loc[("service_facility_coverage", "urban"), "status"] == "pass"
