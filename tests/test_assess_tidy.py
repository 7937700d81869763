"""The tidy result model on the test town (tests/town.py), every answer computed by hand.

Lists of missing categories, the long ``times`` table and its equality with the wide
blocks columns, ``inside``, network components, the facilities' own categories, the
recorded inputs, the CRS of results, and the separable steps of ``assess``.
"""

from __future__ import annotations

import dataclasses
import importlib
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import X0, Y0, graph, points
from sharing import copied, frozen
from town import LIFE_IDS, town

import planner
from planner.errors import InputError, PlannerWarning

steps = importlib.import_module("planner.assess")


@pytest.fixture(scope="module")
def _town_a():
    net, fac, blocks, communities = town()
    return frozen(planner.assess(net, fac, blocks, communities=communities))


@pytest.fixture
def town_a(_town_a):
    return copied(_town_a)


def by_block(series):
    return series.astype(object).where(series.notna(), None).to_dict()


# --- <circle>__missing: lists -------------------------------------------------------------


def test_missing_is_a_list_of_category_ids(town_a):
    b = town_a.blocks
    # U1 reaches all but recycling (2,105 m away); U2 reaches all nine; the urban circle
    # does not apply to the rural blocks
    assert by_block(b["urban_15min_life__missing"]) == {
        "U1": ["recycling_point"],
        "U2": [],
        "R1": None,
        "R2": None,
        "W1": None,
    }
    # R2 and W1 sit on the north street, 13 km round the bridge from every life facility
    assert b.loc["R2", "rural_30min_life__missing"] == LIFE_IDS
    assert b.loc["R1", "rural_30min_life__missing"] == []
    # learning needs 1 of 3: U1 is inside through the culture station (220 m) and still
    # misses the other two; U2 (1,520 m from it) misses all three
    assert b.loc["U1", "learning_15min"]
    assert b.loc["U1", "learning_15min__missing"] == ["library", "community_school"]
    assert b.loc["U2", "learning_15min__missing"] == [
        "library",
        "community_school",
        "culture_station",
    ]
    # ten-li (5,000 m network): R1 reaches the culture station (2,670 m), R2 the library
    # (3,050 m); W1 neither (18,150 m round the bridge; library 5,550 m)
    assert by_block(b["rural_10li_culture__missing"]) == {
        "U1": None,
        "U2": None,
        "R1": ["culture_service_center", "culture_center", "library"],
        "R2": ["culture_station", "culture_service_center", "culture_center"],
        "W1": ["culture_station", "culture_service_center", "culture_center", "library"],
    }


def test_missing_lists_are_counted_and_not_shared(town_a):
    b = town_a.blocks
    for c in town_a.circles:
        lists = b[f"{c.id}__missing"]
        n = b[f"{c.id}__n_missing"]
        applies = b[c.id].notna()
        assert (lists.notna() == applies).all()
        assert [len(x) for x in lists[applies]] == n[applies].tolist()
    # each block holds its own list: changing one leaves the others alone
    missing = steps.missing_lists(
        np.array([[True, False], [True, False]]), ["a", "b"], np.array([True, True])
    )
    missing[0].append("c")
    assert missing[1] == ["a"]


# --- times (long) and inside --------------------------------------------------------------


def test_times_long_table_by_hand(town_a):
    t = town_a.times.fillna({"speed_kph": 0}).set_index(["block", "category", "mode", "speed_kph"])
    assert list(town_a.times.columns) == [
        "block",
        "category",
        "mode",
        "speed_kph",
        "seconds",
        "metres",
    ]
    # walking 4 km/h: U1 -> catering at (1000,10) is 100 + 500 + 10 m
    row = t.loc[("U1", "catering", "walk", 4.0)]
    assert row["seconds"] == pytest.approx(0.9 * 610)
    assert np.isnan(row["metres"])
    # cycling 12 km/h (0.3 s/m): U1 -> park at (2000,0) is 100 + 1,500 m
    row = t.loc[("U1", "park", "bicycle", 12.0)]
    assert row["seconds"] == pytest.approx(0.3 * 1600)
    # the ten-li distance rule counts network metres, not seconds (no speed: NaN -> 0 here)
    row = t.loc[("R2", "library", "walk", 0.0)]
    assert row["metres"] == pytest.approx(3050.0) and np.isnan(row["seconds"])
    assert np.isinf(t.loc[("R2", "library", "walk", 4.0), "seconds"])  # 10 min: 666.7 m
    # the radius reading: straight-line metres
    row = t.loc[("W1", "culture_station", "straight_line", 0.0)]
    assert row["metres"] == pytest.approx(np.hypot(100, 3070))
    # beyond the longest threshold of its pass: inf
    assert np.isinf(t.loc[("U1", "recycling_point", "walk", 4.0), "seconds"])


def test_wide_and_long_tables_hold_the_same_numbers(town_a):
    a = town_a
    long = a.times
    pairs = {(cat, a.engine_key(c.id)) for c in a.circles for cat in c.categories}
    cats = {cat for cat, _ in pairs}
    assert len(long) == len(a.blocks) * (len(pairs) + len(cats))
    got = 0
    for c in a.circles:
        key = a.engine_key(c.id)
        for cat in c.categories:
            sel = long[(long["category"] == cat) & (long["mode"] == c.mode)]
            sel = sel[
                sel["speed_kph"].isna() if key.distance else sel["speed_kph"] == key.speed_kph
            ]
            values = sel.set_index("block")["metres" if key.distance else "seconds"]
            wide = a.blocks[a.value_column(c.id, cat)]
            pd.testing.assert_series_equal(
                values.reindex(wide.index), wide, check_names=False, check_index_type=False
            )
            got += 1
    for cat in cats:
        sel = long[(long["category"] == cat) & (long["mode"] == "straight_line")]
        line = sel.set_index("block")["metres"].reindex(a.blocks.index)
        np.testing.assert_array_equal(line.to_numpy(), a.blocks[f"line_m__{cat}"].to_numpy())
    assert got == sum(len(c.categories) for c in a.circles)


def test_inside_is_blocks_by_circles(town_a):
    inside = town_a.inside
    assert list(inside.columns) == [c.id for c in town_a.circles]
    assert list(inside.index) == ["U1", "U2", "R1", "R2", "W1"]
    assert by_block(inside["urban_15min_life"]) == {
        "U1": False,
        "U2": True,
        "R1": None,
        "R2": None,
        "W1": None,
    }
    assert by_block(inside["fitness_15min_bicycle"]) == {
        "U1": True,
        "U2": True,
        "R1": True,
        "R2": False,
        "W1": False,
    }
    for cid in inside.columns:
        pd.testing.assert_series_equal(inside[cid], town_a.blocks[cid], check_names=False)


# --- network components -------------------------------------------------------------------


def cut_town():
    """The town without its bridge, plus a lone street far off and a block off the streets."""
    net, fac, blocks, communities = town()
    xs = range(0, 8001, 1000)
    nodes = {f"s{x}": (x, 0) for x in xs} | {f"n{x}": (x, 3000) for x in xs}
    nodes |= {"i0": (20000, 0), "i1": (20500, 0)}
    edges = [(f"s{a}", f"s{a + 1000}", {"highway": "residential"}) for a in xs if a < 8000]
    edges += [(f"n{a}", f"n{a + 1000}", {"highway": "residential"}) for a in xs if a < 8000]
    edges.append(("i0", "i1", {"highway": "residential"}))
    net = planner.load_network(graph(nodes, edges), mode="walk")
    x = points([(4000, 1500)], population=[50.0], households=[20.0]).set_index(pd.Index(["X"]))
    blocks = pd.concat([blocks, x])
    return net, fac, blocks, communities


def test_components_on_the_connected_town(town_a):
    assert "street pieces" not in repr(town_a)
    comp = town_a.components
    assert (comp["components"] == 1).all()
    assert (comp["population_cut_off"] == 0).all() and (comp["blocks_off_network"] == 0).all()
    assert list(comp.index) == [c.id for c in town_a.circles]


def test_components_and_population_cut_off_by_hand():
    net, fac, blocks, communities = cut_town()
    with pytest.warns(PlannerWarning, match=r"1 origins are farther than 500 m"):
        a = planner.assess(net, fac, blocks, communities=communities)
    comp = a.components
    # south street, north street, the lone street: three pieces in both modes
    assert comp["components"].tolist() == [3] * len(a.circles)
    assert comp.loc["fitness_15min_bicycle", "mode"] == "bicycle"
    # every life facility is on the south street: the rural blocks of the north street
    # (R2 200 + W1 100) are cut off; X (rural, 1,500 m from both streets) is off the network
    assert comp.loc["rural_30min_life"].to_dict() == {
        "mode": "walk",
        "components": 3,
        "blocks_cut_off": 2,
        "population_cut_off": 300.0,
        "blocks_off_network": 1,
        "population_off_network": 50.0,
    }
    # the urban circle applies to U1 and U2 only, both on the south street
    assert comp.loc["urban_15min_life", "population_cut_off"] == 0.0
    assert comp.loc["urban_15min_life", "blocks_off_network"] == 0
    # the library on the north street serves R2 and W1: nobody is cut off from ten-li
    assert comp.loc["rural_10li_culture", "population_cut_off"] == 0.0
    # fitness (both settings): park and sports ground are on the south street only
    assert comp.loc["fitness_15min", "population_cut_off"] == 300.0
    assert comp.loc["fitness_15min", "population_off_network"] == 50.0
    s = a.summary
    assert s.loc["rural_30min_life", "components"] == 3
    assert s.loc["rural_30min_life", "population_cut_off"] == 300.0
    note = (
        "rural_30min_life: 300 residents (2 blocks) live on street pieces holding none of its "
        "facilities (3 pieces in mode walk; see .components)"
    )
    assert note in repr(a).splitlines()[-3] and note in a._repr_html_()
    assert "urban_15min_life:" not in repr(a)


def test_street_components_equal_networkx():
    import networkx as nx

    net, *_ = cut_town()
    labels, n = steps.street_components(net.graph)
    G = nx.Graph()
    G.add_edges_from(zip(net.graph.su.tolist(), net.graph.sv.tolist(), strict=True))
    assert n == nx.number_connected_components(G) == 3
    for comp in nx.connected_components(G):
        assert len({labels[v] for v in comp}) == 1


# --- the facilities' own categories -------------------------------------------------------


def with_own(fac, *rows):
    extra = points([xy for xy, _ in rows], category=[c for _, c in rows])
    return gpd.GeoDataFrame(pd.concat([fac, extra], ignore_index=True), crs=fac.crs)


AED = {"id": "aed_15min", "categories": ["aed"], "minutes": 15, "setting": "both"}


def test_own_category_is_used_with_one_warning():
    net, fac, blocks, communities = town()
    fac = with_own(fac, ((1200, 0), "aed"))
    with pytest.warns(PlannerWarning) as rec:
        a = planner.assess(net, fac, blocks, communities=communities, circles=[AED])
    own = [str(w.message) for w in rec if "'aed'" in str(w.message)]
    assert len(own) == 1 and len(rec) == 1
    assert "declared in no category table" in own[0] and "labelled I" in own[0]
    # U1: 100 + 700 m, U2: 100 + 600 m (within 1,000 m); R1: 50 + 1,800 m
    assert by_block(a.blocks["aed_15min"]) == {
        "U1": True,
        "U2": True,
        "R1": False,
        "R2": False,
        "W1": False,
    }
    assert a.blocks.loc["U1", "time_walk4_s__aed"] == pytest.approx(0.9 * 800)
    assert a.blocks.loc["R1", "aed_15min__missing"] == ["aed"]
    times = planner.travel_times(net, fac, blocks, max_time_s=900)
    np.testing.assert_array_equal(a.blocks["time_walk4_s__aed"].to_numpy(), times["aed"])
    conf = a.confidence.loc["aed"]
    assert conf["facilities"] == 1 and conf["rule_labels"] == "I" and conf["name_zh"] == "aed"
    assert "aed" in a.preset.table
    # siting on it: R1 (300), R2 (200) and W1 (100) are outside, R2 and W1 2,500 m apart:
    # the best single station brings R1 in
    s = planner.site(a, circle="aed_15min", k=1)
    assert s.share_before == pytest.approx(1600 / 2200)
    assert s.share_after == pytest.approx(1900 / 2200)


def test_one_warning_per_own_category_and_chinese_ids():
    net, fac, blocks, _ = town()
    fac = with_own(fac, ((1200, 0), "aed"), ((2000, 20), "菜鸟驿站"))
    circles = [
        AED,
        {"id": "aed_5min", "categories": "aed", "minutes": 5},
        {"id": "parcel", "categories": ["菜鸟驿站", "park"], "minutes": 10, "min_kinds": 1},
    ]
    with pytest.warns(PlannerWarning) as rec:
        a = planner.assess(net, fac, blocks.assign(setting="urban"), circles=circles)
    messages = [str(w.message) for w in rec]
    assert sum("'aed'" in m for m in messages) == 1
    assert sum("'菜鸟驿站'" in m for m in messages) == 1
    assert len(messages) == 2
    # U2 (1800,-100): 100 + 200 + 20 m to the parcel point
    assert a.blocks.loc["U2", "time_walk4_s__菜鸟驿站"] == pytest.approx(0.9 * 320)
    assert a.blocks.loc["U1", "parcel__missing"] == ["菜鸟驿站", "park"]


def test_unknown_category_lists_what_the_facilities_hold():
    net, fac, blocks, _ = town()
    fac = with_own(fac, ((1200, 0), "aed"))
    circle = {"id": "defib", "categories": ["defibrillator"], "minutes": 5}
    with pytest.raises(InputError) as err:
        planner.assess(net, fac, blocks, circles=[circle])
    text = str(err.value)
    assert text.startswith("circle 'defib': unknown category or group 'defibrillator'")
    held = sorted(set(fac["category"]))
    assert f"facilities['category'] holds: {', '.join(held)})" in text
    assert text.endswith(
        '[[category]]\n  id = "defibrillator"\n  name_zh = "defibrillator"\n'
        '  name_en = "defibrillator"'
    )
    with pytest.raises(InputError, match=r"unknown category or group 'parc'.*Did you mean 'park'"):
        planner.assess(
            net, fac, blocks, circles=[{"id": "x", "categories": ["parc"], "minutes": 5}]
        )


def test_the_declaration_the_error_shows_works(tmp_path):
    net, fac, blocks, _ = town()
    circle = {"id": "defib", "categories": ["defibrillator"], "minutes": 5}
    with pytest.raises(InputError) as err:
        planner.assess(net, fac, blocks, circles=[circle])
    toml = str(err.value).split("\n", 1)[1]
    (tmp_path / "rules.toml").write_text(toml, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlannerWarning)  # declared now: no own-category warning
        a = planner.assess(
            net,
            fac,
            blocks.assign(setting="urban"),
            circles=[circle],
            rules=tmp_path / "rules.toml",
        )
    assert a.confidence.loc["defibrillator", "facilities"] == 0  # declared, none found
    assert not a.blocks["defib"].any()


# --- the recorded inputs ------------------------------------------------------------------


def test_inputs_and_params_are_frozen_records_read_as_mappings(town_a):
    a = town_a
    assert a.inputs["category"] == "category" and a.inputs.category == "category"
    assert a.inputs.get("entrances") is None
    assert "key_of" in a.inputs and "nothing" not in a.inputs
    assert a.inputs["key_of"]["rural_10li_culture"].distance
    assert set(a.inputs) >= {"network", "facilities", "blocks", "circles", "key_of"}
    assert a.params["preset"] == "guangdong_2016"
    assert a.params.get("modes")["urban_15min_life"] == "walk 4 km/h, 15 min"
    assert dict(a.params)["entrances"] == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.inputs.category = "kind"  # type: ignore[misc]
    with pytest.raises(KeyError):
        a.params["nothing"]


# --- one CRS rule -------------------------------------------------------------------------


def test_results_come_back_in_the_blocks_and_facilities_crs():
    net, fac, blocks, communities = town()
    fac_ll = fac.to_crs(4326)
    blocks_merc = blocks.to_crs(3857)
    a = planner.assess(net, fac_ll, blocks_merc, communities=communities)
    assert a.blocks.crs == blocks_merc.crs and a.facilities.crs == fac_ll.crs
    assert a.blocks.geometry.geom_equals_exact(blocks_merc.geometry, 1e-9).all()
    s = planner.site(a, circle="urban_15min_life", k=1)
    assert s.sites.crs == fac_ll.crs and s.candidates.crs == fac_ll.crs
    own = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 600, Y0)], crs=32650, index=["p1"])
    s2 = planner.site(a, circle="urban_15min_life", k=1, candidates=own)
    assert s2.sites.crs == fac_ll.crs
    assert s2.sites.to_crs(32650).geometry.iloc[0].distance(own.geometry.iloc[0]) < 1e-6
    iso = planner.isochrones(net, fac_ll, times_s=300)
    assert iso.crs == fac_ll.crs


# --- separable steps ----------------------------------------------------------------------


def test_per_block_steps_on_pieces_and_roll_ups_on_the_whole(town_a):
    """A partitioned run: the per-block table of each piece, the roll-ups on the merge."""
    net, fac, blocks, communities = town()
    pieces = []
    for part in (blocks.iloc[:2], blocks.iloc[2:]):
        checked = steps.check_inputs(net, fac, part, communities=communities)
        rows = steps.facility_rows(checked)
        passes = steps.engine_passes(checked, rows)
        lines = steps.straight_lines(checked, rows)
        pieces.append(steps.block_table(checked, passes.values, lines))
    merged = pd.concat(pieces)
    checked = steps.check_inputs(net, fac, blocks, communities=communities)
    rows = steps.facility_rows(checked)
    out = steps.roll_ups(merged, checked, rows, town_a.components)
    pd.testing.assert_frame_equal(out["summary"], town_a.summary)
    pd.testing.assert_frame_equal(out["by_community"], town_a.by_community)
    pd.testing.assert_frame_equal(out["coverage"], town_a.coverage)
    pd.testing.assert_frame_equal(out["targets"], town_a.targets)


def test_circle_columns_recomputed_from_updated_times(town_a):
    """A what-if: new times in, new per-circle columns out."""
    a = town_a
    b = a.blocks.copy()
    b.loc["U2", a.value_column("urban_15min_life", "catering")] = np.inf  # catering closes
    new = steps.circle_columns(b, b["setting"], a.circles, a.inputs["key_of"])
    assert new.loc["U2", "urban_15min_life"] == False  # noqa: E712 - pandas boolean
    assert new.loc["U2", "urban_15min_life__missing"] == ["catering"]
    assert new.loc["U2", "urban_15min_life__n_missing"] == 1
    unchanged = steps.circle_columns(a.blocks, a.blocks["setting"], a.circles, a.inputs["key_of"])
    for col in unchanged.columns:
        pd.testing.assert_series_equal(unchanged[col], a.blocks[col], check_names=False)


def test_siting_re_runs_with_the_same_reference_year():
    net, fac, blocks, communities = town()
    a = planner.assess(net, fac, blocks, communities=communities, reference_year=2018)
    s = planner.site(a, circle="urban_15min_life", k=1)
    assert a.inputs["reference_year"] == s.after.inputs["reference_year"] == 2018
    pd.testing.assert_series_equal(
        a.targets["reference_year"], s.after.targets["reference_year"], check_names=False
    )
