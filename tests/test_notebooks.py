"""The notebooks in notebooks/ run top to bottom, offline, and are stored without outputs.

Each notebook runs with nbclient in a fresh kernel of the Python that runs the tests:
a kernelspec written to a temporary JUPYTER_PATH points at ``sys.executable``, so no
kernel needs to be installed and a ``python3`` kernel of another environment is never
picked up. The kernel works in a temporary folder. The last cell of every notebook prints
one line ``<NAME>_RESULT {json}``, and the tests check the values in it.
"""

from __future__ import annotations

import json
import math
import warnings

import pytest
from notebook_runner import NAMES, NOTEBOOKS, offline_maps, run

import planner
from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities, demo_data


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name):
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code cells"
    for cell in code:
        assert cell["outputs"] == [], f"stored outputs in {name}: {cell['source'][:60]!r}"
        assert cell["execution_count"] is None, f"stored execution count in {name}"


def test_01_quickstart(tmp_path, monkeypatch, helsinki_walk):
    out = run("01_quickstart.ipynb", tmp_path, monkeypatch)
    rec = out["record"]

    # the same assessment here gives the same shares as the notebook printed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        blocks = demo_blocks(helsinki_walk)
        a = planner.assess(
            helsinki_walk,
            planner.load_facilities(demo_data()),
            blocks,
            circles=DEMO_CIRCLES,
            communities=demo_communities(helsinki_walk),
        )
    assert rec["blocks"] == len(blocks) > 20
    assert rec["population"] == pytest.approx(blocks["population"].sum())
    expected = a.summary["population_share"].astype(float).to_dict()
    assert set(rec["shares"]) == set(expected)
    for cid, share in expected.items():
        assert rec["shares"][cid] == pytest.approx(share, abs=1e-6)
    assert 0 < rec["shares"]["urban_10min_culture"] < 1
    # sparse OSM POIs: categories with no facility are flagged, not reported as 0 % findings
    assert {"housekeeping", "elderly_daycare"} <= set(rec["flagged"])
    assert rec["isochrones"] == 3
    assert {"assessment.gpkg", "assessment.xlsx", "assessment_summary.csv", "map.html"} <= set(
        rec["files"]
    )
    assert len(offline_maps(out["html"])) == 1


def test_02_bring_your_own_data(tmp_path, monkeypatch, helsinki_walk):
    out = run("02_bring_your_own_data.ipynb", tmp_path, monkeypatch)
    rec = out["record"]
    assert rec["encoding"] == "gb18030"  # the GBK file was detected (GB18030 is its superset)
    assert rec["unmatched"] == 0
    assert {"catering", "supermarket", "kindergarten", "library"} <= set(rec["categories"])
    # the demo's blocks, moved to Guangzhou: the same number, residents as whole numbers
    blocks = demo_blocks(helsinki_walk)
    assert rec["blocks"] == len(blocks) > 20
    assert rec["population"] == pytest.approx(blocks["population"].astype(int).sum())
    # the demo's communities, moved to Guangzhou and read back from a file
    assert rec["communities"] == demo_communities(helsinki_walk)["community"].tolist()
    assert rec["settings"] == ["urban"]  # 城市
    assert rec["regions"] == ["prd"]  # 珠三角
    # GCJ-02 read as WGS-84: about 600 m off in Guangzhou, and detected
    assert 500 < rec["median_offset_m"] < 700
    wrong = rec["detect_wrong"]
    assert wrong is not None
    assert wrong["median_if_gcj02_m"] < 0.5 * wrong["median_as_given_m"]
    assert rec["detect_right"] is None
    right, bad = rec["share_gcj02"], rec["share_wgs84"]
    assert right["urban_10min_culture"] > bad["urban_10min_culture"] + 0.1
    assert all(0 <= v <= 1 for v in right.values() if not math.isnan(v))
    # the bureau table: the misspelt row is reported, with the community it should be
    issues = {tuple(r) for r in rec["report"]}
    assert ("table row matches no community", "示范社区西男", "") in issues
    assert ("community has no table row", "", "示范社区西南") in issues
    assert rec["kindergartens_meeting"] == 3  # "周一至周五 7:30-17:30" is 10 hours
    assert "dropped 1 total rows" in out["stderr"]
    assert len(offline_maps(out["html"])) == 1


def test_03_siting(tmp_path, monkeypatch):
    out = run("03_siting.ipynb", tmp_path, monkeypatch)
    rec = out["record"]
    before = rec["shares_before"]
    assert rec["circle"] == min(before, key=before.get)
    exact = rec["exact"]
    assert exact["solver"] == "highs"
    assert exact["gap"] == pytest.approx(0, abs=1e-6)
    assert 1 <= exact["sites"] <= 3
    assert exact["after"] > rec["share_before"] + 0.1
    assert rec["after_shares"][rec["circle"]] == pytest.approx(exact["after"])
    for cid, greedy in rec["greedy_after"].items():
        assert rec["exact_after"][cid] >= greedy - 1e-9
        assert rec["exact_after"][cid] >= before[cid]
    assert rec["lscp"]["after"] >= 0.9
    plots, without, zone = rec["plots"], rec["without_best"], rec["outside_zone"]
    assert plots["sites"] and all(s.startswith("P") for s in plots["sites"])
    assert plots["sites"][0] not in without["sites"]
    assert without["after"] <= plots["after"] + 1e-9
    assert zone["after"] <= plots["after"] + 1e-9
    full = rec["full"]
    assert "beyond reach" in full["message"]
    assert plots["after"] - 1e-9 <= full["after"] < 1
    assert "PlannerWarning: target 100.0% is beyond reach" in out["stderr"]
    assert len(offline_maps(out["html"])) == 1
