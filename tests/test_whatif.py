"""planner.what_if: hand-computed edits of the test town, and equality with a full re-run
of assess on random sequences of additions and removals (Helsinki, generated grids).

The oracle is ``planner.assess`` itself, run whole on the facilities the edit leaves
(``what_if(...).inputs["facilities"]``, checked to be the given layer with the rows
removed and the stations appended): travel times must agree to 1e-6 s and every other
table exactly.
"""

from __future__ import annotations

import importlib
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import points
from sharing import copied, frozen
from town import town

import planner
from planner.errors import InputError, MissingColumnError, PlannerWarning

whatif = importlib.import_module("planner.whatif")

TABLES = [
    "summary",
    "by_community",
    "by_street",
    "by_setting",
    "coverage",
    "confidence",
    "targets",
    "targets_by_unit",
    "components",
]


def full_rerun(a, facilities):
    """assess run whole, as siting re-runs it, on the given facilities."""
    inp = a.inputs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        return planner.assess(
            inp["network"],
            facilities,
            inp["blocks"],
            preset=a.preset,
            circles=inp["circles"],
            communities=inp["communities"],
            entrances=inp["entrances"],
            category=inp["category"],
            reference_year=inp["reference_year"],
        )


def assert_same(got, want):
    pd.testing.assert_frame_equal(got.blocks, want.blocks, check_exact=False, atol=1e-6, rtol=0)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    pd.testing.assert_frame_equal(got.facilities, want.facilities)
    assert [c.id for c in got.circles] == [c.id for c in want.circles]


@pytest.fixture(scope="module")
def _town_inputs():
    return frozen(town())


@pytest.fixture
def town_inputs(_town_inputs):
    return copied(_town_inputs)


@pytest.fixture(scope="module")
def _town_a(_town_inputs):
    net, fac, blocks, communities = _town_inputs
    return frozen(planner.assess(net, fac, blocks, communities=communities))


@pytest.fixture
def town_a(_town_a):
    return copied(_town_a)


def library_at(x, y, label="L1"):
    st = points([(x, y)], category=["library"], name=["新图书馆"])
    st.index = pd.Index([label])
    return st


# --- by hand ------------------------------------------------------------------------------


def test_a_library_on_the_south_street_by_hand(town_a):
    a = town_a
    col = a.value_column("learning_15min", "library")
    assert np.isinf(a.blocks.loc["R1", col])  # the library at (6000,3000): 10,050 m away
    assert a.summary.loc["learning_15min", "population_share"] == pytest.approx(1000 / 2200)
    b = planner.what_if(a, add=library_at(2600, 20))
    # R1 (3000,50): 50 m to the street, 400 m along it, 20 m to the library; 0.9 s/m
    assert b.blocks.loc["R1", col] == pytest.approx(0.9 * 470)
    # U2 (1800,-100): 100 + 800 + 20 m = 920 m, inside 15 minutes (1,000 m)
    assert b.blocks.loc["U2", col] == pytest.approx(0.9 * 920)
    assert b.blocks.loc["R1", "line_m__library"] == pytest.approx(np.hypot(400, 30))
    assert b.blocks.loc["R1", "learning_15min"] == True  # noqa: E712 - pandas boolean
    assert b.blocks.loc["U2", "learning_15min__missing"] == ["community_school", "culture_station"]
    assert b.summary.loc["learning_15min", "population_share"] == pytest.approx(1900 / 2200)
    assert b.confidence.loc["library", "facilities"] == 2
    assert b.facilities.loc["L1", "name"] == "新图书馆"
    assert list(b.inputs["facilities"].index[-1:]) == ["L1"]
    assert_same(b, full_rerun(a, b.inputs["facilities"]))
    # the assessment given is unchanged
    assert np.isinf(a.blocks.loc["R1", col]) and len(a.facilities) == len(b.facilities) - 1


def test_removing_the_culture_station_by_hand(town_a, town_inputs):
    a = town_a
    fac = town_inputs[1]
    cs = fac.index[fac["category"] == "culture_station"][0]
    b = planner.what_if(a, remove=[cs])
    # U1 (500,100) reached the culture station (400,-20) over 220 m; nothing else in reach
    assert b.blocks.loc["U1", "learning_15min"] == False  # noqa: E712
    assert b.blocks.loc["U1", "urban_10min_culture"] == False  # noqa: E712
    assert b.summary.loc["learning_15min", "population_share"] == 0
    assert b.confidence.loc["culture_station", "facilities"] == 0
    assert cs not in b.facilities.index
    assert_same(b, full_rerun(a, fac.drop(index=[cs])))
    # and back, 100 m east of where it stood: U1 is 100 + 100 + 10 m from it
    c = planner.what_if(b, add=points([(600, -10)], category=["culture_station"]))
    assert c.blocks.loc["U1", a.value_column("learning_15min", "culture_station")] == (
        pytest.approx(0.9 * 210)
    )
    assert_same(c, full_rerun(a, c.inputs["facilities"]))


def test_removing_a_station_added_before_and_every_facility_of_a_category(town_a, town_inputs):
    fac = town_inputs[1]
    b = planner.what_if(town_a, add=library_at(2600, 20))
    c = planner.what_if(b, remove="L1")
    assert_same(c, full_rerun(town_a, c.inputs["facilities"]))
    pd.testing.assert_frame_equal(c.blocks, town_a.blocks)
    for name in TABLES:  # back where it was (the layer keeps the station's name column)
        pd.testing.assert_frame_equal(getattr(c, name), getattr(town_a, name))
    catering = list(fac.index[fac["category"] == "catering"])
    d = planner.what_if(c, remove=catering)
    col = town_a.value_column("urban_15min_life", "catering")
    assert np.isinf(d.blocks[col]).all()
    assert d.coverage.loc[("urban_15min_life", "catering"), "population_share"] == 0
    assert_same(d, full_rerun(town_a, d.inputs["facilities"]))
    assert d.inputs["facilities"].index.equals(fac.index.drop(catering))
    # a catering station where F_A stood serves U1 and U2 again, as before
    e = planner.what_if(d, add=points([(1000, 10)], category=["catering"]))
    np.testing.assert_allclose(
        e.blocks.loc[["U1", "U2"], col], town_a.blocks.loc[["U1", "U2"], col], atol=1e-9
    )
    assert_same(e, full_rerun(town_a, e.inputs["facilities"]))


@pytest.mark.parametrize("whole", [True, False])
def test_roll_ups_after_edits_equal_a_full_assess_to_the_last_bit(town_inputs, whole, monkeypatch):
    """With whole-number population and households what_if sums the changed circles'
    roll-ups itself (numpy sums, exact in any order); otherwise it takes assess's own.
    Either way summary, by_* and coverage equal a full re-run bit for bit."""
    net, fac, blocks, communities = town_inputs
    if not whole:
        blocks = blocks.assign(population=blocks["population"] * 1.1,
                               households=blocks["households"] / 3)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        a = planner.assess(net, fac, blocks, communities=communities)
    calls = []
    real = whatif._quick_roll_ups

    def spy(*args):
        calls.append(real(*args))
        return calls[-1]

    monkeypatch.setattr(whatif, "_quick_roll_ups", spy)
    cs = fac.index[fac["category"] == "culture_station"][0]
    b = planner.what_if(a, add=library_at(2600, 20))
    c = planner.what_if(b, remove=[cs])
    for got in (b, c):
        want = full_rerun(a, got.inputs["facilities"])
        for name in ("summary", "by_community", "by_street", "by_setting", "coverage"):
            pd.testing.assert_frame_equal(
                getattr(got, name), getattr(want, name), check_exact=True, obj=name
            )
    assert b.summary.loc["learning_15min", "population_share"] > a.summary.loc[
        "learning_15min", "population_share"]  # fmt: skip
    assert len(calls) == 2
    assert all((x is not None) == whole for x in calls)


def test_tables_reordered_or_filtered_by_hand_and_the_parent_left_alone(town_a, town_inputs):
    """A user may sort or filter an assessment's tables before the next what_if: the
    roll-ups still equal a full re-run (by label; a table missing a row of a changed
    circle comes back whole),
    and writing into a what_if's tables leaves the assessment it came from unchanged."""
    a = town_a
    fac = town_inputs[1]
    cs = fac.index[fac["category"] == "culture_station"][0]
    b = planner.what_if(a, add=library_at(2600, 20))
    before = {name: getattr(a, name).copy() for name in ("summary", "coverage", "confidence")}
    b.summary.iloc[0, b.summary.columns.get_loc("minutes")] = 12345
    b.coverage.iloc[0, b.coverage.columns.get_loc("population")] = -1.0
    b.confidence.iloc[0, b.confidence.columns.get_loc("facilities")] = -7
    for name, table in before.items():
        pd.testing.assert_frame_equal(getattr(a, name), table, obj=name)
    b = planner.what_if(a, add=library_at(2600, 20))
    b.summary = b.summary.iloc[::-1]
    b.by_setting = b.by_setting.iloc[::-1]
    # a row of a circle the removal changes: that circle's rows cannot be written in place
    learning = b.by_community.index.get_level_values("circle") == "learning_15min"
    b.by_community = b.by_community.drop(index=b.by_community.index[learning][:1])
    c = planner.what_if(b, remove=[cs])
    want = full_rerun(a, c.inputs["facilities"])
    for name in ("summary", "by_setting", "by_community", "coverage"):
        got, exp = getattr(c, name), getattr(want, name)
        assert sorted(got.index) == sorted(exp.index), name
        pd.testing.assert_frame_equal(got.loc[exp.index], exp, check_exact=True, obj=name)


def test_a_station_that_only_targets_count(town_a):
    """A community service station is in no circle: the presence target changes alone."""
    t = town_a.targets.loc[("service_facility_coverage", "rural_other")]
    assert t["status"] == "fail"  # 西村 has none
    st = points([(500, 3000)], category=["community_service_station"])
    b = planner.what_if(town_a, add=st)
    assert b.targets.loc[("service_facility_coverage", "rural_other"), "status"] == "pass"
    pd.testing.assert_frame_equal(b.summary, town_a.summary)
    assert_same(b, full_rerun(town_a, b.inputs["facilities"]))


def test_stations_bundle_services_and_keep_or_get_labels(town_inputs):
    net, fac, blocks, communities = town_inputs
    town_a = planner.assess(net, fac, blocks, communities=communities)
    st = planner.new_stations(
        [(400_000.0, 0.0)], [["library", "catering"]], crs="EPSG:32650", labels=["A"]
    )
    assert list(st.index) == ["A:library", "A:catering"]
    assert list(st["category"]) == ["library", "catering"] and set(st["station"]) == {"A"}
    assert st.crs == "EPSG:32650" and st["name"].iloc[0] == "new station A"
    # default RangeIndex labels collide with the facilities' own: new labels are given
    two = points([(2600, 20), (2600, 20)], category=["library", "culture_station"])
    b = planner.what_if(town_a, add=two)
    assert list(b.facilities.index[-2:]) == ["added_1", "added_2"]
    c = planner.what_if(b, add=two)
    assert list(c.facilities.index[-2:]) == ["added_3", "added_4"]
    assert_same(c, full_rerun(town_a, c.inputs["facilities"]))
    # stations in another CRS are stored in the facilities' CRS
    ll = library_at(2600, 20, "LL").to_crs(4326)
    d = planner.what_if(town_a, add=ll)
    assert d.inputs["facilities"].crs == town_a.inputs["facilities"].crs
    assert (
        d.inputs["facilities"].geometry.iloc[-1].distance(library_at(2600, 20).geometry.iloc[0])
        < 1e-6
    )


def test_what_if_results_go_on_into_siting_and_nothing_given_changes(town_a, town_inputs):
    fac = town_inputs[1]
    before = fac.copy()
    st = library_at(2600, 20)
    st_before = st.copy()
    b = planner.what_if(town_a, add=st, remove=[0])
    pd.testing.assert_frame_equal(fac, before)
    pd.testing.assert_frame_equal(st, st_before)
    s = planner.site(b, circle="urban_15min_life", k=1)
    assert s.before is b and s.share_after >= s.share_before
    assert planner.what_if(b) is not b  # nothing to change: a new record, the same tables
    assert_same(planner.what_if(b), b)


# --- equality on random edits -------------------------------------------------------------


def random_edits(a, rng, steps, pool, streets, *, most_removed=20):
    """Yield (add, remove) pairs: stations on random streets, random labels to remove."""
    current = a
    lines = streets.geometry.to_numpy()
    for step in range(steps):
        kind = int(rng.integers(0, 3))
        add = remove = None
        if kind in (0, 2):
            k = int(rng.integers(1, 3))
            where = shapely.line_interpolate_point(
                lines[rng.integers(0, len(lines), k)], rng.random(k), normalized=True
            )
            services = [list(rng.choice(pool, size=int(rng.integers(1, 4)), replace=False))]
            add = planner.new_stations(
                list(where),
                services * k,
                crs=streets.crs,
                labels=[f"s{step}_{i}" for i in range(k)],
            )
        if kind in (1, 2):
            index = current.inputs["facilities"].index
            n = int(rng.integers(1, most_removed))
            remove = list(rng.choice(index, size=min(n, len(index)), replace=False))
        current = yield add, remove


def check_random_sequence(a, rng, steps, pool, streets):
    edits = random_edits(a, rng, steps, pool, streets)
    add, remove = next(edits)
    current = a
    for _ in range(steps):
        nxt = planner.what_if(current, add=add, remove=remove)
        given = current.inputs["facilities"]
        expected = pd.concat(
            [given.drop(index=remove or []), *([] if add is None else [add.to_crs(given.crs)])]
        )
        assert len(nxt.inputs["facilities"]) == len(expected)
        assert_same(nxt, full_rerun(a, nxt.inputs["facilities"]))
        current = nxt
        try:
            add, remove = edits.send(current)
        except StopIteration:
            break
    return current


@pytest.fixture(scope="module")
def _helsinki_a(_helsinki_walk, helsinki_pbf):
    from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        fac = planner.load_facilities(helsinki_pbf)
        return frozen(
            planner.assess(
                _helsinki_walk,
                fac,
                demo_blocks(_helsinki_walk),
                circles=DEMO_CIRCLES,
                communities=demo_communities(_helsinki_walk),
            )
        )


@pytest.fixture
def helsinki_a(_helsinki_a):
    return copied(_helsinki_a)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_edits_equal_a_full_assess_on_helsinki(helsinki_a, helsinki_walk, seed):
    a = helsinki_a
    table = a.preset.table
    needed = {k for c in a.circles for k in c.categories}
    pool = sorted({m for k in needed for m in table.members(k)} | {"community_service_station"})
    streets = helsinki_walk.streets_gdf()
    last = check_random_sequence(a, np.random.default_rng(seed), 6, pool, streets)
    assert len(last.facilities) != len(a.facilities) or seed == 99


def generated(n_nodes, n_blocks, seed=0):
    """A generated grid with the urban life circle's facilities and block polygons."""
    from planner.network import Network
    from planner.synthetic import grid_raw

    net = Network.from_raw(grid_raw(n_nodes, seed=seed), mode="walk")
    rng = np.random.default_rng(seed + 1)
    lines = net.streets_gdf(to_input_crs=False).geometry.to_numpy()

    def near(n, offset):
        pts = shapely.line_interpolate_point(
            lines[rng.integers(0, len(lines), n)], rng.random(n), normalized=True
        )
        return shapely.get_coordinates(pts) + rng.uniform(-offset, offset, (n, 2))

    counts = {"housekeeping": 3, "elderly_daycare": 4, "kindergarten": 10, "supermarket": 12}
    counts |= {"catering": 25, "property_repair": 5, "recycling_point": 4}
    counts |= {"patient_escort": 2, "maternal_infant_care": 2}
    scale = n_nodes / 10_000
    cats = np.repeat(list(counts), [max(1, round(v * scale)) for v in counts.values()])
    fxy = near(len(cats), 20)
    fac = gpd.GeoDataFrame(
        {"category": cats}, geometry=gpd.points_from_xy(fxy[:, 0], fxy[:, 1]), crs=net.crs
    )
    bxy = near(n_blocks, 60)
    half = rng.uniform(15, 40, n_blocks)
    blocks = gpd.GeoDataFrame(
        {"population": rng.integers(200, 3000, n_blocks).astype(float), "setting": "urban"},
        geometry=shapely.box(
            bxy[:, 0] - half, bxy[:, 1] - half, bxy[:, 0] + half, bxy[:, 1] + half
        ),
        crs=net.crs,
    )
    return net, fac, blocks


def check_generated(n_nodes, n_blocks, steps, seed):
    net, fac, blocks = generated(n_nodes, n_blocks, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        a = planner.assess(net, fac, blocks, circles=["urban_15min_life", "fitness_15min"])
    pool = sorted(set(fac["category"]) | {"park", "elderly_daycare"})
    streets = net.streets_gdf()
    check_random_sequence(a, np.random.default_rng(seed), steps, pool, streets)


def test_random_edits_equal_a_full_assess_on_a_generated_grid():
    check_generated(40_000, 3_000, 5, seed=3)


@pytest.mark.slow
def test_random_edits_equal_a_full_assess_on_250k_nodes():
    check_generated(250_000, 20_000, 3, seed=4)


def test_removal_searches_again_only_where_the_removed_facility_served():
    """The removal's search covers the street nodes the removed facility served alone."""
    net, fac, blocks = generated(10_000, 500, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        a = planner.assess(net, fac, blocks, circles=["urban_15min_life"])
    cat = fac.index[fac["category"] == "catering"]
    b = planner.what_if(a, remove=[cat[0]])  # the first removal finds each node's source
    st = whatif._state_of(b)
    key = a.engine_key("urban_15min_life")
    nodes = st.nodes[("catering", key)]
    served = np.isin(nodes.src, st.uid[np.flatnonzero(b.facilities.index == cat[1])])
    seen = []
    real = whatif._area_search

    def spy(csr_t, r, *args):
        seen.append(len(r))
        return real(csr_t, r, *args)

    whatif._area_search = spy
    try:
        c = planner.what_if(b, remove=[cat[1]])
    finally:
        whatif._area_search = real
    assert seen == [int(served.sum())] and 0 < seen[0] < net.graph.csr.shape[0] / 20
    assert_same(c, full_rerun(a, fac.drop(index=list(cat[:2]))))


# --- bad input ----------------------------------------------------------------------------


def test_bad_edits_are_one_clear_line(town_a):
    with pytest.raises(InputError, match=r"^remove: 'nope' is not a facility of this assessment"):
        planner.what_if(town_a, remove=["nope"])
    with pytest.raises(MissingColumnError, match=r"^add: the stations need the facilities'"):
        planner.what_if(town_a, add=points([(2600, 20)], kind=["library"]))
    with pytest.raises(InputError, match=r"^add: 1 station rows have no 'category'.*tick at"):
        planner.what_if(town_a, add=points([(2600, 20)], category=[None]))
    with pytest.raises(InputError, match=r"^add: unknown category 'libary'.*'library'"):
        planner.what_if(town_a, add=points([(2600, 20)], category=["libary"]))
    with pytest.raises(InputError, match=r"^add: 'convenience_shopping' is a group.*supermarket"):
        planner.what_if(town_a, add=points([(2600, 20)], category=["convenience_shopping"]))
    with pytest.raises(InputError, match=r"^add: station 'L1' at \(.*\) is farther than 500 m"):
        planner.what_if(town_a, add=library_at(2600, 1500))
    line = gpd.GeoDataFrame(
        {"category": ["library"]},
        geometry=[shapely.LineString([(500_000, 2_500_000), (500_100, 2_500_000)])],
        crs="EPSG:32650",
    )
    with pytest.raises(InputError, match=r"^add: stations must be points"):
        planner.what_if(town_a, add=line)
    with pytest.raises(InputError, match=r"^assessment must be a planner.Assessment"):
        planner.what_if("a.gpkg")
    # a station for a target only may stand anywhere (presence counts it in its community)
    planner.what_if(town_a, add=points([(500, 3400)], category=["community_service_station"]))
