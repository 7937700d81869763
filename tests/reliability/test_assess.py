"""docs/errors.md, section "Assessment, siting and isochrones": one test per entry.

Each entry's bad input goes through the API (the planner.errors exception or warning and
its message); the own-category entries also go through the CLI (exit code, one line, no
traceback).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import X0, Y0, points
from sharing import copied, frozen
from town import town

import planner
from planner.errors import InputError, MissingColumnError, NoCrsError, PlannerWarning


@pytest.fixture(scope="module")
def _inputs():
    return frozen(town())


@pytest.fixture
def inputs(_inputs):
    return copied(_inputs)


@pytest.fixture(scope="module")
def _assessed(_inputs):
    net, fac, blocks, communities = _inputs
    return frozen(planner.assess(net, fac, blocks, communities=communities))


@pytest.fixture
def assessed(_assessed):
    return copied(_assessed)


LIB = [{"id": "lib", "categories": ["library"], "minutes": 10}]


def run_assess(inputs, *, network=None, facilities=None, blocks=None, **kw):
    net, fac, blk, com = inputs
    kw.setdefault("communities", com)
    return planner.assess(
        net if network is None else network,
        fac if facilities is None else facilities,
        blk if blocks is None else blocks,
        **kw,
    )


# --- errors of assess ---------------------------------------------------------------------

ASSESS_ERRORS = {
    "assess-network-type": (
        lambda i: run_assess(i, network="area.osm.pbf"),
        InputError,
        r"^network must be a planner.Network; got str\. Build one with planner.load_network",
    ),
    "assess-network-empty": (
        lambda i: run_assess(i, network={}),
        InputError,
        r"^network: an empty dict; give a Network or a dict of Networks by mode\.$",
    ),
    "facilities-type": (
        lambda i: run_assess(i, facilities=pd.DataFrame({"category": ["park"]})),
        InputError,
        r"^facilities must be a GeoDataFrame; got DataFrame\.",
    ),
    "facilities-no-crs": (
        lambda i: run_assess(
            i,
            facilities=gpd.GeoDataFrame(
                i[1].drop(columns="geometry"),
                geometry=gpd.points_from_xy(i[1].geometry.x, i[1].geometry.y),
            ),
        ),
        NoCrsError,
        r"^facilities has no CRS\. Set the CRS its coordinates are in",
    ),
    "facilities-no-category": (
        lambda i: run_assess(i, facilities=i[1].rename(columns={"category": "kind"})),
        MissingColumnError,
        r"^facilities has no category column 'category'; columns present: \['kind', .*"
        r"Pass category='<column>'",
    ),
    "facilities-not-points": (
        lambda i: run_assess(i, facilities=i[1].set_geometry(i[1].buffer(5))),
        InputError,
        r"^facilities must be points; 23 rows are \['Polygon'\] \(first at index 0\)\. "
        r"Turn areas into points first",
    ),
    "blocks-population": (
        lambda i: run_assess(i, blocks=i[2].assign(population=[1.0, np.nan, -3.0, 1.0, 1.0])),
        InputError,
        r"^blocks: 'population' must be a number >= 0 in every row; 1 are missing and 1 "
        r"negative\.",
    ),
    "circle-not-in-preset": (
        lambda i: run_assess(i, circles=["urban_15min"]),
        InputError,
        r"^circle 'urban_15min' is not in preset 'guangdong_2016'; .*Did you mean "
        r"'urban_15min_life'\?",
    ),
    "circle-ids-repeated": (
        lambda i: run_assess(i, circles=["learning_15min", {"id": "learning_15min"}]),
        InputError,
        r"^circles: ids must be unique; repeated: \['learning_15min'\]\.$",
    ),
    "circles-empty": (
        lambda i: run_assess(i, circles=[]),
        InputError,
        r"^circles: an empty list; give circle ids of the preset or circle dicts\.$",
    ),
    "category-unknown": (
        lambda i: run_assess(i, circles=[{"id": "aed_5min", "categories": ["aed"], "minutes": 5}]),
        InputError,
        r"^circle 'aed_5min': unknown category or group 'aed': no category table declares it "
        r"and no facility holds it \(facilities\['category'\] holds: catering, .*\)\. Give "
        r"facilities of that category, or declare it in a rules TOML passed as rules=\.\.\. "
        r"\(\[assessment\] rules = \.\.\. in a plan\):\n  \[\[category\]\]\n  id = \"aed\"\n"
        r"  name_zh = \"aed\"\n  name_en = \"aed\"$",
    ),
}


@pytest.mark.parametrize("entry", list(ASSESS_ERRORS))
def test_assess_errors(entry, inputs):
    call, kind, message = ASSESS_ERRORS[entry]
    with pytest.raises(kind, match=message):
        call(inputs)


# --- warnings of assess -------------------------------------------------------------------


def test_blocks_no_population(inputs):
    with pytest.warns(
        PlannerWarning,
        match=r"^blocks have no 'population' column: every block counts as 1 resident",
    ):
        a = run_assess(inputs, blocks=inputs[2].drop(columns="population"), circles=LIB)
    assert (a.blocks["population"] == 1.0).all()


def test_blocks_no_setting(inputs):
    with pytest.warns(
        PlannerWarning,
        match=r"^5 blocks have no urban/rural setting and count as urban; rural circles do "
        r"not apply to them\.",
    ):
        a = run_assess(inputs, communities=None, circles=["rural_30min_life"])
    assert a.blocks["rural_30min_life"].isna().all()


def test_category_own(inputs):
    net, fac, blocks, com = inputs
    extra = points([(1200, 0), (1300, 0)], category=["aed", "aed"])
    fac = gpd.GeoDataFrame(pd.concat([fac, extra], ignore_index=True), crs=fac.crs)
    circles = [
        {"id": "aed_5min", "categories": ["aed"], "minutes": 5},
        {"id": "aed_15min", "categories": "aed", "minutes": 15},
    ]
    with pytest.warns(PlannerWarning) as rec:
        a = planner.assess(net, fac, blocks, communities=com, circles=circles)
    assert [str(w.message) for w in rec] == [
        "circle 'aed_5min': category 'aed' is declared in no category table; it is taken as "
        "the facilities' own category (2 rows of facilities['category'] hold it) and "
        "labelled I. To name it or match it in OSM and Amap data, declare it in a rules "
        "TOML (rules=...)."
    ]
    assert a.confidence.loc["aed", "rule_labels"] == "I"


def test_facilities_gcj02(inputs):
    """Facilities moved by the GCJ-02 offset but declared WGS-84 sit ~500 m off the
    streets; read as GCJ-02 they lie on them (the town is in Guangzhou, where the offset
    is real)."""
    from planner.sources.coords import wgs84_to_gcj02

    net, _, blocks, com = inputs
    lines = net.streets_gdf().geometry.to_numpy()
    on = gpd.GeoSeries(
        shapely.line_interpolate_point(
            lines[np.arange(40) % len(lines)], np.linspace(0.05, 0.95, 40), normalized=True
        ),
        crs=net.streets_gdf().crs,
    ).to_crs(4326)
    lon, lat = wgs84_to_gcj02(on.x.to_numpy(), on.y.to_numpy())
    n = len(lon)
    fac = gpd.GeoDataFrame(
        {
            "category": ["library"] * n,
            "source_file": ["amap.csv"] * n,
            "source_crs": ["WGS-84"] * n,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    with pytest.warns(PlannerWarning) as rec:  # also: some points now lie off the streets
        planner.assess(net, fac, blocks, communities=com, circles=LIB)
    found = [str(w.message) for w in rec if "look like GCJ-02" in str(w.message)]
    assert len(found) == 1
    assert found[0].startswith("facilities from amap.csv look like GCJ-02 (Amap/Tencent) ")
    assert found[0].endswith("read_facilities(..., crs='gcj02') (Baidu: crs='bd09').")


# --- siting -------------------------------------------------------------------------------


def with_blocks(a, blocks):
    return dataclasses.replace(a, blocks=blocks)


CIRCLE = "urban_15min_life"
SITE_ERRORS = {
    "site-not-assessment": (
        lambda a: planner.site({"blocks": 1}, circle=CIRCLE, k=1),
        r"^assessment must be a planner.Assessment \(from planner.assess\); got dict\.$",
    ),
    "site-unknown-circle": (
        lambda a: planner.site(a, circle="urban_15", k=1),
        r"^no circle 'urban_15' in this assessment; circles: \['urban_15min_life', ",
    ),
    "site-k-and-target": (
        lambda a: planner.site(a, circle=CIRCLE, k=1, target=0.9),
        r"^give exactly one of k \(number of stations, MCLP\) or target",
    ),
    "site-k-not-whole": (
        lambda a: planner.site(a, circle=CIRCLE, k="three"),
        r"^k must be a whole number of sites; got 'three'\.$",
    ),
    "site-k-not-positive": (
        lambda a: planner.site(a, circle=CIRCLE, k=0),
        r"^k must be 1 or more sites; got 0\.$",
    ),
    "site-target-range": (
        lambda a: planner.site(a, circle=CIRCLE, target=90),
        r"^target must be a population share between 0 and 1, e\.g\. 0\.9; got 90\.$",
    ),
    "site-solver": (
        lambda a: planner.site(a, circle=CIRCLE, k=1, solver="cbc"),
        r"^solver='cbc'; expected 'exact' or 'greedy'\.$",
    ),
    "site-categories": (
        lambda a: planner.site(a, circle=CIRCLE, k=1, categories=["library"]),
        r"^categories: 'library' is not one of the categories of circle 'urban_15min_life' "
        r"\(housekeeping, ",
    ),
    "site-population-missing": (
        lambda a: planner.site(
            with_blocks(a, a.blocks.assign(population=[np.nan, 1, 1, 1, 1])), circle=CIRCLE, k=1
        ),
        r"^blocks: population is missing \(NaN\) in 1 rows; fill it before siting",
    ),
    "site-capacity": (
        lambda a: planner.site(a, circle=CIRCLE, k=1, capacity="many"),
        r"^capacity must be a positive number of households per station; got 'many'\.$",
    ),
    "site-capacity-households": (
        lambda a: planner.site(
            with_blocks(a, a.blocks.drop(columns="households")), circle=CIRCLE, k=1, capacity=500
        ),
        r"^capacity needs the blocks' 'households' column",
    ),
    "site-candidates-type": (
        lambda a: planner.site(a, circle=CIRCLE, k=1, candidates=pd.DataFrame({"x": [1]})),
        r"^candidates must be a GeoDataFrame with a CRS \(points or polygons\)\.$",
    ),
    "site-candidates-index": (
        lambda a: planner.site(
            a,
            circle=CIRCLE,
            k=1,
            candidates=points([(600, 0), (700, 0)]).set_index(pd.Index(["c", "c"])),
        ),
        r"^candidates: index labels must be unique \(they name the chosen sites\)\.$",
    ),
    "site-all-excluded": (
        lambda a: planner.site(
            a,
            circle=CIRCLE,
            k=1,
            exclude=gpd.GeoSeries([shapely.box(X0 - 9e3, Y0 - 9e3, X0 + 9e4, Y0 + 9e4)], crs=32650),
        ),
        r"^no candidate sites: every candidate was excluded\.$",
    ),
    "site-no-demand": (
        lambda a: planner.site(a, circle=CIRCLE, k=1, categories=["catering"]),
        r"^no candidate sites: there are no blocks outside the circle that a station could "
        r"bring inside\.$",
    ),
    "site-candidates-off-network": (
        lambda a: planner.site(a, circle=CIRCLE, k=1, candidates=points([(600, 900)])),
        r"^none of the 1 candidates lies within 500 m of a street usable in mode 'walk'",
    ),
}


@pytest.mark.parametrize("entry", list(SITE_ERRORS))
def test_site_errors(entry, assessed):
    call, message = SITE_ERRORS[entry]
    with pytest.raises(InputError, match=message):
        call(assessed)


def test_site_no_street_near(assessed, monkeypatch):
    monkeypatch.setattr(planner.settings, "siting_radius_m", 50.0)  # U1 lies 100 m off
    with pytest.raises(
        InputError, match=r"^no street lies within 50 m of the blocks outside the circle\.$"
    ):
        planner.site(assessed, circle=CIRCLE, k=1)


def test_site_candidates_partly_off(assessed):
    cands = points([(600, 0), (600, 900)]).set_index(pd.Index(["on", "off"]))
    with pytest.warns(
        PlannerWarning,
        match=r"^1 candidates are farther than 500 m from the network and were left out\.$",
    ):
        s = planner.site(assessed, circle=CIRCLE, k=1, candidates=cands)
    assert list(s.sites.index) == ["on"]


def test_site_target_beyond_reach(assessed):
    # U2 (600 of 1,600 residents) is inside; the one candidate, 1,400 m from U1, adds nobody
    with pytest.warns(PlannerWarning, match=r"^target 100\.0% is beyond reach") as rec:
        planner.site(
            assessed,
            circle=CIRCLE,
            target=1.0,
            candidates=points([(1800, 0)]),
        )
    assert "reaches at most 37.5% of its population" in str(rec[0].message)


def test_site_highs_time_limit(monkeypatch, assessed):
    import importlib

    siting = importlib.import_module("planner.siting")

    def stopped(cover, w, **kw):
        return np.array([0]), "Time limit reached", 0.25, 1.0

    monkeypatch.setattr(siting, "_highs_model", stopped)
    with pytest.warns(
        PlannerWarning,
        match=r"^HiGHS stopped with status 'Time limit reached' after time_limit_s=1; the sites "
        r"are the best found \(gap to optimal at most 25\.00%\)",
    ):
        s = planner.site(assessed, circle=CIRCLE, k=1, time_limit_s=1)
    assert s.status == "Time limit reached" and s.gap == 0.25
    # what comes back is built from the solver's (stopped) choice, not from anything else:
    # the stub chose the first candidate; the shares are those of the re-assessment
    assert s.sites.index.tolist() == [s.candidates.index[0]]
    assert s.share_after == pytest.approx(s.after.summary.loc[CIRCLE, "population_share"])
    assert "HiGHS stopped: Time limit reached" in s.message


# --- isochrones ---------------------------------------------------------------------------


ISOCHRONE_IDS = [
    "isochrones-how",
    "isochrones-times-word",
    "isochrones-times-negative",
    "isochrones-zero",
]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"how": "rings"}, r"^how='rings'; expected one of merged, split, per_facility\.$"),
        ({"times_s": "ten"}, r"^times_s must be a number of seconds, e\.g\. 900"),
        ({"times_s": -60}, r"^times_s must be zero or more seconds"),
        ({"times_s": [0, 300]}, r"^times_s must be positive finite seconds"),
    ],
    ids=ISOCHRONE_IDS,
)
def test_isochrones_errors(kw, message, inputs):
    net, fac, *_ = inputs
    with pytest.raises(InputError, match=message):
        planner.isochrones(net, fac, **kw)


# --- the CLI: own and unknown categories in a plan ----------------------------------------


def town_plan(tmp_path, categories):
    """The town as a plan: road lines, a facility CSV (WGS-84) and blocks, one circle."""
    net, fac, blocks, _ = town()
    net.streets_gdf()[["geometry"]].assign(highway="residential").to_file(tmp_path / "roads.gpkg")
    extra = points([(1200, 0)], category=["aed"])
    fac = gpd.GeoDataFrame(pd.concat([fac, extra], ignore_index=True), crs=fac.crs).to_crs(4326)
    pd.DataFrame(
        {"lon": fac.geometry.x, "lat": fac.geometry.y, "category": fac["category"]}
    ).to_csv(tmp_path / "fac.csv", index=False)
    blocks.assign(setting="urban").to_file(tmp_path / "blocks.gpkg")
    (tmp_path / "plan.toml").write_text(
        f"""
[area]
roads = "roads.gpkg"

[assessment]
circle = [{{ id = "own", categories = {categories}, minutes = 15 }}]

[[facilities]]
file = "fac.csv"
category = "category"

[blocks]
file = "blocks.gpkg"
population = "population"

[outputs]
folder = "out"
formats = ["csv"]
maps = false
reports = false
""",
        encoding="utf-8",
    )
    return tmp_path / "plan.toml"


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "planner", *args], capture_output=True, text=True, check=False
    )


def test_category_own_cli(tmp_path):
    r = cli("run", str(town_plan(tmp_path, '["aed"]')))
    assert r.returncode == 0, r.stderr
    assert "category 'aed' is declared in no category table" in r.stdout + r.stderr
    blocks = pd.read_csv(tmp_path / "out" / "assessment_blocks.csv", encoding="utf-8-sig")
    inside = blocks[next(c for c in blocks.columns if c.endswith(" own") or c == "own")]
    assert inside.tolist() == [True, True, False, False, False]


def test_category_unknown_cli(tmp_path):
    r = cli("run", str(town_plan(tmp_path, '["defibrillator"]')))
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("planner: error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith(
        "planner: error: circle 'own': unknown category or group 'defibrillator': no category "
        "table declares it and no facility holds it (facilities['category'] holds: aed, "
    )
    assert lines[0].endswith(
        '[[category]] id = "defibrillator" name_zh = "defibrillator" name_en = "defibrillator"'
    )


# --- the catalogue and these tests agree --------------------------------------------------


def test_every_entry_of_the_section_has_a_test():
    """Entry ids of docs/errors.md's section are test ids here (a case or a test name)."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")
    section = text.split("## Assessment, siting and isochrones", 1)[1].split("\n## ", 1)[0]
    entries = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))
    names = {n.removeprefix("test_").replace("_", "-") for n in globals() if n.startswith("test_")}
    tested = {*ASSESS_ERRORS, *SITE_ERRORS, *ISOCHRONE_IDS, *names}
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(entries) == len(rows) > 0  # every entry row has an id the pattern reads
    assert entries <= tested, sorted(entries - tested)
