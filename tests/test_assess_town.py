"""assess on the test town (tests/town.py, drawn there), every answer computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sharing import copied, frozen
from town import LIFE_IDS, town

import planner


@pytest.fixture(scope="module")
def _result():
    net, fac, blocks, communities = town()
    return frozen(planner.assess(net, fac, blocks, communities=communities))


@pytest.fixture
def result(_result):
    return copied(_result)


def col(a, name):
    return a.blocks[name].astype(object).where(a.blocks[name].notna(), None).to_dict()


def test_blocks_get_community_setting_region(result):
    b = result.blocks
    assert b["community"].tolist() == ["东风社区", "东风社区", "石岗村", "石岗村", "西村"]
    assert b["setting"].tolist() == ["urban", "urban", "rural", "rural", "rural"]
    assert b["region"].tolist() == ["prd", "prd", "prd", "prd", "east"]


def test_travel_times_by_hand(result):
    b = result.blocks
    # U1 -> catering at (1000,10): 100 + 500 + 10 m; U2: 100 + 800 + 10 m
    assert b.loc["U1", "time_walk4_s__catering"] == pytest.approx(0.9 * 610)
    assert b.loc["U2", "time_walk4_s__catering"] == pytest.approx(0.9 * 910)
    # recycling at (2500,5): U2 100 + 700 + 5; U1 100 + 2000 + 5 (beyond 30 min? 2105 m)
    assert b.loc["U2", "time_walk4_s__recycling_point"] == pytest.approx(0.9 * 805)
    assert np.isinf(b.loc["U1", "time_walk4_s__recycling_point"])  # 1894.5 s > 30 min limit
    # ten-li: W1 reaches the culture station only over the bridge (18,150 m) and the
    # library 5,550 m away: both beyond 5 km; straight line to the station 3,071.6 m
    assert np.isinf(b.loc["W1", "net_walk_m__culture_station"])
    assert b.loc["W1", "line_m__culture_station"] == pytest.approx(np.hypot(100, 3070))
    assert b.loc["R2", "net_walk_m__library"] == pytest.approx(3050.0)
    assert b.loc["R1", "net_walk_m__culture_station"] == pytest.approx(2670.0)


def test_urban_15min_life_circle(result):
    assert col(result, "urban_15min_life") == {
        "U1": False,
        "U2": True,
        "R1": None,
        "R2": None,
        "W1": None,
    }
    assert col(result, "urban_15min_life__missing") == {
        "U1": ["recycling_point"],
        "U2": [],
        "R1": None,
        "R2": None,
        "W1": None,
    }
    # radius 1000 m straight: U1 is 2,000 m from recycling; U2 807.5 m from F_A, 707.8 m from it
    assert col(result, "urban_15min_life__radius")["U1"] is False
    assert col(result, "urban_15min_life__radius")["U2"] is True
    s = result.summary.loc["urban_15min_life"]
    assert s["population_share"] == pytest.approx(600 / 1600)
    assert s["households_share"] == pytest.approx(200 / 600)
    assert s["blocks_outside"] == 1
    assert s["how"] == "walk 4 km/h, 15 min"


def test_rural_half_hour_circle(result):
    assert col(result, "rural_30min_life") == {
        "U1": None,
        "U2": None,
        "R1": True,
        "R2": False,
        "W1": False,
    }
    assert col(result, "rural_30min_life__n_missing") == {
        "U1": None,
        "U2": None,
        "R1": 0,
        "R2": 9,
        "W1": 9,
    }
    assert col(result, "rural_30min_life__missing")["R2"] == LIFE_IDS
    assert result.summary.loc["rural_30min_life", "population_share"] == pytest.approx(300 / 600)


def test_culture_learning_fitness(result):
    assert col(result, "urban_10min_culture") == {
        "U1": True,
        "U2": False,
        "R1": None,
        "R2": None,
        "W1": None,
    }
    assert result.summary.loc["urban_10min_culture", "population_share"] == pytest.approx(
        1000 / 1600
    )
    # learning (both settings, 1000 m): only U1 (culture station 220 m)
    assert col(result, "learning_15min") == {
        "U1": True,
        "U2": False,
        "R1": False,
        "R2": False,
        "W1": False,
    }
    assert result.summary.loc["learning_15min", "population_share"] == pytest.approx(1000 / 2200)
    # fitness walking: park (2000,0) or multi-sport (2100,-30): U2 300 m, R1 980 m
    assert col(result, "fitness_15min") == {
        "U1": False,
        "U2": True,
        "R1": True,
        "R2": False,
        "W1": False,
    }
    assert result.summary.loc["fitness_15min", "population_share"] == pytest.approx(900 / 2200)
    # cycling 3000 m: U1 1,600 m too
    assert col(result, "fitness_15min_bicycle") == {
        "U1": True,
        "U2": True,
        "R1": True,
        "R2": False,
        "W1": False,
    }
    assert result.summary.loc["fitness_15min_bicycle", "population_share"] == pytest.approx(
        1900 / 2200
    )


def test_ten_li_network_and_straight_line_differ(result):
    assert col(result, "rural_10li_culture") == {
        "U1": None,
        "U2": None,
        "R1": True,
        "R2": True,
        "W1": False,
    }
    assert col(result, "rural_10li_culture__radius") == {
        "U1": None,
        "U2": None,
        "R1": True,
        "R2": True,
        "W1": True,
    }
    s = result.summary.loc["rural_10li_culture"]
    assert s["population_share"] == pytest.approx(500 / 600)
    assert s["radius_population_share"] == pytest.approx(1.0)
    assert s["how"] == "walk network distance 5000 m"


def test_rollups_by_community_street_and_setting(result):
    c = result.by_community
    assert c.loc[("东风社区", "urban_15min_life"), "population_share"] == pytest.approx(600 / 1600)
    assert c.loc[("石岗村", "rural_30min_life"), "population_share"] == pytest.approx(300 / 500)
    assert c.loc[("西村", "rural_30min_life"), "population_share"] == 0.0
    assert ("西村", "urban_15min_life") not in c.index  # an urban circle does not apply
    s = result.by_street
    assert s.loc[("石岗镇", "rural_10li_culture"), "population_share"] == pytest.approx(500 / 600)
    st = result.by_setting
    assert st.loc[("rural", "learning_15min"), "population_share"] == 0.0
    assert st.loc[("urban", "learning_15min"), "population_share"] == pytest.approx(1000 / 1600)


def test_coverage_and_confidence(result):
    cov = result.coverage
    assert cov.loc[("urban_15min_life", "recycling_point"), "population_share"] == pytest.approx(
        600 / 1600
    )
    assert cov.loc[("urban_15min_life", "catering"), "population_share"] == pytest.approx(1.0)
    conf = result.confidence
    assert conf.loc["early_ed_childcare", "facilities"] == 2
    assert conf.loc["community_school", "facilities"] == 0
    assert "no facilities found" in conf.loc["community_school", "flag"]


def test_targets(result):
    t = result.targets["status"]
    v = result.targets["value"]
    assert t[("service_facility_coverage", "urban")] == "pass"
    assert t[("service_facility_coverage", "rural_prd")] == "fail"
    assert t[("service_facility_coverage", "rural_other")] == "fail"
    # 东风街道 holds only a community station: no street-level centre (issue 13)
    assert t[("street_service_center_coverage", "street")] == "fail"
    assert t[("street_service_center_coverage", "township")] == "fail"
    assert t[("elderly_daycare_streets", "all")] == "pass"
    assert t[("elderly_daycare_communities", "urban")] == "pass"
    assert t[("elderly_daycare_communities", "rural")] == "fail"
    assert v[("elderly_daycare_communities", "rural")] == pytest.approx(0.5)
    assert t[("childrens_home_coverage", "all")] == "fail"
    assert v[("sports_area_per_capita", "all")] == pytest.approx(2200 / 2200)
    assert t[("sports_area_per_capita", "all")] == "fail"
    assert t[("service_floor_area_per_100_households", "all")] == "fail"  # 石岗村 27.8 < 30
    per = result.targets_by_unit.set_index(["target", "name"])
    assert per.loc[("service_floor_area_per_100_households", "东风社区"), "value"] == pytest.approx(
        200 / 6
    )
    assert per.loc[("service_floor_area_per_100_households", "西村"), "status"] == "input missing"
    assert t[("new_housing_service_floor_area", "all")] == "pass"  # 200 households: 650 >= 600


def test_each_category_and_mode_runs_once(monkeypatch):
    """7 circles share engine passes: walk 20 categories, walk distance 4, bicycle 6, all
    handed to the engine at once (so that they run side by side on its threads).

    The culture circles take 综合性文化服务中心 (culture_service_center) too.
    """
    import importlib

    mod = importlib.import_module("planner.assess")
    calls = []
    batches = []
    real = mod.category_times

    def counting(jobs, **kw):
        batches.append(len(jobs))
        calls.extend((j.mg.spec.name, j.mg.spec.speed_kph, j.limit) for j in jobs)
        return real(jobs, **kw)

    monkeypatch.setattr(mod, "category_times", counting)
    net, fac, blocks, communities = town()
    a = planner.assess(net, fac, blocks, communities=communities)
    # one pass per category of each way of travelling, read off the circles themselves:
    # (mode, speed, time or distance) -> the union of their categories, the longest limit
    cats: dict[tuple, set[str]] = {}
    limit: dict[tuple, float] = {}
    for c in a.circles:
        key = (c.mode, c.speed_kph, c.distance_m is not None)
        cats.setdefault(key, set()).update(c.categories)
        limit[key] = max(limit.get(key, 0.0), c.threshold)
    assert len(calls) == sum(len(v) for v in cats.values()) == 20 + 4 + 6
    assert batches == [len(calls)]  # every pass handed to the engine at once
    by_limit = dict(zip(*np.unique([c[2] for c in calls], return_counts=True), strict=True))
    assert by_limit == {limit[k]: len(cats[k]) for k in cats}
    # distance passes run at 1 m/s (3.6 km/h): their seconds are metres
    assert {(m, s, lim) for m, s, lim in calls} == {
        ("walk", 4.0, 1800.0),
        ("walk", 3.6, 5000.0),
        ("bicycle", 12.0, 900.0),
    }


def test_circle_overrides_and_custom_circles():
    net, fac, blocks, communities = town()
    a = planner.assess(
        net,
        fac,
        blocks,
        communities=communities,
        circles=[
            {"id": "rural_30min_life", "mode": "bicycle"},
            {"id": "my_park", "categories": ["park"], "minutes": 5, "setting": "both"},
        ],
    )
    assert list(a.summary.index) == ["rural_30min_life", "my_park"]
    assert a.summary.loc["rural_30min_life", "how"] == "bicycle 12 km/h, 30 min"
    # cycling 6000 m: R2 still cut off by the river (13,000 m round the bridge)
    assert col(a, "rural_30min_life") == {
        "U1": None,
        "U2": None,
        "R1": True,
        "R2": False,
        "W1": False,
    }
    # park within 5 min (333.3 m): U2 only (300 m)
    assert col(a, "my_park") == {"U1": False, "U2": True, "R1": False, "R2": False, "W1": False}


def test_defaults_and_warnings():
    net, fac, blocks, _ = town()
    bare = blocks.drop(columns=["population", "households"])
    with pytest.warns(planner.errors.PlannerWarning) as rec:
        a = planner.assess(net, fac, bare)
    messages = " ".join(str(w.message) for w in rec)
    assert "every block counts as 1 resident" in messages
    assert "5 blocks have no urban/rural setting and count as urban" in messages
    assert (a.blocks["population"] == 1.0).all()
    # every block now counts as urban: U2 (F_A and recycling) and R1 (F_B, 550 m) pass
    assert col(a, "urban_15min_life") == {
        "U1": False,
        "U2": True,
        "R1": True,
        "R2": False,
        "W1": False,
    }
    assert a.summary.loc["urban_15min_life", "population_share"] == pytest.approx(2 / 5)


def test_bad_input():
    net, fac, blocks, _communities = town()
    with pytest.raises(
        planner.errors.InputError,
        match=r"circle 'urban_15min' is not in preset.*Did you mean 'urban_15min_life'",
    ):
        planner.assess(net, fac, blocks, circles=["urban_15min"])
    with pytest.raises(planner.errors.InputError, match=r"give exactly one of minutes"):
        planner.assess(
            net,
            fac,
            blocks,
            circles=[{"id": "x", "categories": ["park"], "minutes": 5, "distance_m": 300}],
        )
    with pytest.raises(
        planner.errors.InputError, match=r"unknown category or group 'parc'.*Did you mean 'park'"
    ):
        planner.assess(
            net, fac, blocks, circles=[{"id": "x", "categories": ["parc"], "minutes": 5}]
        )
    with pytest.raises(
        planner.errors.InputError, match=r"unknown key 'minute'.*Did you mean 'minutes'"
    ):
        planner.assess(net, fac, blocks, circles=[{"id": "x", "categories": ["park"], "minute": 5}])
    with pytest.raises(planner.errors.InputError, match=r"preset='gd2016'.*Did you mean"):
        planner.assess(net, fac, blocks, preset="gd2016")
    for key, bad in [
        ("minutes", 0),
        ("minutes", -5),
        ("distance_m", float("inf")),
        ("minutes", "ten"),
        ("minutes", True),
    ]:
        with pytest.raises(
            planner.errors.InputError, match=rf"circle 'x'.*{key} must be a positive number"
        ):
            planner.assess(
                net, fac, blocks, circles=[{"id": "x", "categories": ["park"], key: bad}]
            )
    # One category given as a string, not a list, is that one category.
    a = planner.assess(net, fac, blocks, circles=[{"id": "x", "categories": "park", "minutes": 5}])
    assert a.circles[0].categories == ("park",)


def test_to_files_keeps_block_ids(result, tmp_path):
    # Unnamed string index: the ids must survive the export.
    path = next(p for p in result.to_files(tmp_path, formats=["csv"]) if "_blocks" in p.name)
    ids = pd.read_csv(path, encoding="utf-8-sig").iloc[:, 0].tolist()
    assert ids == ["U1", "U2", "R1", "R2", "W1"]

    # Index named like a column that repeats it (read_blocks(id=...)): one column, no clash.
    # (result is this test's own copy of the shared assessment: changing it is safe)
    b = result.blocks
    result.blocks = b.assign(block_id=b.index.to_numpy()).rename_axis("block_id")
    paths = result.to_files(tmp_path / "a", formats=["csv"])
    path = next(p for p in paths if "_blocks" in p.name)
    header = pd.read_csv(path, encoding="utf-8-sig", nrows=0).columns.tolist()
    assert sum(h.startswith("block_id") for h in header) == 1
    # Same name, different values: both kept, the index renamed.
    result.blocks = b.assign(block_id=range(5)).rename_axis("block_id")
    paths = result.to_files(tmp_path / "b", formats=["csv"])
    path = next(p for p in paths if "_blocks" in p.name)
    frame = pd.read_csv(path, encoding="utf-8-sig")
    assert frame["block_id_index"].tolist() == ["U1", "U2", "R1", "R2", "W1"]
    assert frame["block_id"].tolist() == [0, 1, 2, 3, 4]


def test_xlsx_keeps_formula_like_text_as_text(result, tmp_path):
    import openpyxl

    result.blocks = result.blocks.assign(
        note=['=HYPERLINK("http://x","y")', "ok", None, "=1+1", "b"]
    )  # this test's own copy
    (path,) = result.to_files(tmp_path, formats=["xlsx"])
    sheet = openpyxl.load_workbook(path)["blocks"]
    header = [c.value for c in sheet[1]]
    j = header.index("note") + 1
    cells = [sheet.cell(row=r, column=j) for r in range(2, 7)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://x","y")', "ok", None, "=1+1", "b"]
    assert all(c.data_type != "f" for c in cells)


@pytest.mark.parametrize("dtype", ["string", "object", "category"])
def test_facility_without_category_is_no_facility(dtype):
    """A missing category (pd.NA in a string column) is skipped, not a crash."""
    net, fac, blocks, communities = town()
    fac["category"] = fac["category"].astype(dtype)
    fac.loc[fac.index[0], "category"] = pd.NA  # F_A's housekeeping
    a = planner.assess(net, fac, blocks, communities=communities)
    b = planner.assess(net, fac.iloc[1:], blocks, communities=communities)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    t = planner.travel_times(net, fac, blocks, max_time_s=3600)
    assert t.loc["U1", "housekeeping"] == pytest.approx(0.9 * (3500 - 500 + 100), abs=1)
    iso = planner.isochrones(net, fac, times_s=600)
    assert len(iso) > 0
