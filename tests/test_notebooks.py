"""The notebooks in notebooks/ run top to bottom, offline, and are stored without outputs.

Each notebook runs with nbclient in a fresh kernel of the Python that runs the tests:
a kernelspec written to a temporary JUPYTER_PATH points at ``sys.executable``, so no
kernel needs to be installed and a ``python3`` kernel of another environment is never
picked up. The kernel works in a temporary folder. The last cell of every notebook prints
one line ``<NAME>_RESULT {json}``, and the tests check the values in it.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from helpers import unavailable

import planner
from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities, demo_data

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [
    "01_quickstart.ipynb",
    "02_bring_your_own_data.ipynb",
    "03_siting.ipynb",
    "04_what_if.ipynb",
]
CELL_TIMEOUT_S = 300


def _need(module: str) -> Any:
    """Import a notebook-runner module; skipped locally when absent, a failure on CI."""
    try:
        return importlib.import_module(module)
    except ImportError:
        unavailable(f"{module} is not installed; pip install -e '.[dev]'")


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


def run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute a notebook; return its cells' outputs as text and the record it prints."""
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "planner tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    work = tmp_path / "work"
    work.mkdir()

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, if a cell fails

    stdout, stderr, html = [], [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{name}: {out.get('ename')}: {out.get('evalue')}"
            if out["output_type"] == "stream":
                (stdout if out["name"] == "stdout" else stderr).append(out["text"])
            elif "text/html" in out.get("data", {}):
                html.append(out["data"]["text/html"])
    text = "".join(stdout)
    assert "Traceback" not in text + "".join(stderr)
    tag = name.split("_", 1)[0]
    prefix = {
        "01": "QUICKSTART_RESULT ",
        "02": "BYOD_RESULT ",
        "03": "SITING_RESULT ",
        "04": "WHATIF_RESULT ",
    }[tag]
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"{name} should print one {prefix.strip()} line"
    assert list(work.iterdir()) == [], f"{name} wrote into its working folder"
    return {
        "record": json.loads(lines[0][len(prefix) :]),
        "stderr": "".join(stderr),
        "html": html,
    }


def offline_maps(html: list[str]) -> list[str]:
    """Inline map outputs: folium iframes carrying the whole offline page."""
    return [h for h in html if "<iframe" in h and "leaflet" in h.lower() and len(h) > 100_000]


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
