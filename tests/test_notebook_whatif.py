"""notebooks/04_what_if.ipynb runs offline and gives what planner.what_if gives here."""

from __future__ import annotations

import warnings

import pytest
from notebook_runner import run

import planner
from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities, demo_data


def test_04_what_if(tmp_path, monkeypatch, helsinki_walk):
    out = run("04_what_if.ipynb", tmp_path, monkeypatch)
    rec = out["record"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        a = planner.assess(
            helsinki_walk,
            planner.load_facilities(demo_data()),
            demo_blocks(helsinki_walk),
            circles=DEMO_CIRCLES,
            communities=demo_communities(helsinki_walk),
        )
    circle = rec["circle"]
    lon, lat = rec["station"]
    b = planner.what_if(a, add=planner.new_stations([(lon, lat)], [["library", "pharmacy"]]))
    assert rec["before"] == pytest.approx(a.summary.loc[circle, "population_share"], abs=1e-12)
    assert rec["after"] == pytest.approx(b.summary.loc[circle, "population_share"], abs=1e-12)
    assert rec["after"] > rec["before"] and rec["newly_inside"] >= 1
    assert rec["removed_after"] <= rec["after"]
    assert rec["widget_share"] >= rec["after"]
    assert rec["variants"] == ["base", "now", "河畔", "河畔与便民店"]
    # the widget was displayed as a widget (its model), and the map inline
    assert any("planner" in h.lower() or "leaflet" in h.lower() for h in out["html"])
