"""`planner explore` driven in Chromium (Playwright, offline): place a station by clicking,
see the coverage number become what planner.what_if gives for that point, save a variant
and find its CSV and report; bad input is a message in the page. Screenshots go to the
test's temporary folder (printed)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely
from browser import CHROMIUM_FLAGS, chromium_path
from helpers import unavailable
from sharing import copied, frozen

import planner
from planner.errors import PlannerWarning

REPO = Path(__file__).resolve().parents[1]
PLAN = REPO / "data" / "example_plan.toml"
CIRCLE = "shopping_5min"


@pytest.fixture(scope="module")
def _plan_assessment():
    """The example plan assessed here, as the server assesses it."""
    from planner.plan import assess_plan, load_inputs, load_plan, plan_settings

    plan = load_plan(PLAN)
    with warnings.catch_warnings(), plan_settings(plan):
        warnings.simplefilter("ignore", PlannerWarning)
        a = assess_plan(plan, load_inputs(plan))
    return plan, frozen(a)


@pytest.fixture
def plan_assessment(_plan_assessment):
    return copied(_plan_assessment)


@pytest.fixture
def server(tmp_path):
    """`planner explore` in its own process; yields (url, output folder, process)."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "explore", str(PLAN), "--no-browser", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = None
    deadline = time.monotonic() + 240
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        proc.kill()
        pytest.fail(f"planner explore did not start: {proc.stderr.read() if proc.stderr else ''}")
    yield url, out, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def chromium():
    exe = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install playwright)")
        raise
    pw = sync_playwright().start()
    # every host name resolves to nothing, as in the other browser tests; the local
    # server's own address is the one exception
    flags = [
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
        if f.startswith("--host-resolver-rules")
        else f
        for f in CHROMIUM_FLAGS
    ]
    browser = pw.chromium.launch(executable_path=exe, headless=True, args=flags)
    yield browser
    browser.close()
    pw.stop()


def shot(page, path):
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")


def target_point(a, circle):
    """A point on a street near a block outside the circle (WGS-84 lon, lat)."""
    blocks = a.blocks[a.blocks[circle].fillna(True) == False]  # noqa: E712 - pandas boolean
    net = a.network_for(circle)
    centre = blocks.geometry.to_crs(net.crs).representative_point().iloc[0]
    streets = net.streets_gdf(to_input_crs=False)
    near = streets.geometry.iloc[int(np.argmin(streets.distance(centre)))]
    p = near.interpolate(near.project(centre))
    ll = gpd_point(p, net.crs)
    return float(ll.x), float(ll.y)


def gpd_point(p, crs):
    import geopandas as gpd

    return gpd.GeoSeries([p], crs=crs).to_crs(4326).iloc[0]


def test_place_a_station_by_clicking_and_save_a_variant(
    server, chromium, plan_assessment, tmp_path
):
    url, out, proc = server
    plan, a = plan_assessment
    origin = url.rstrip("/")
    context = chromium.new_context(viewport={"width": 1280, "height": 820})
    requests, errors, dialogs = [], [], []
    context.route(
        re.compile(r"^(https?|wss?|ftp)://"),
        lambda route: (
            route.continue_() if route.request.url.startswith(origin + "/") else route.abort()
        ),
    )
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_function("window.plannerReady === true", timeout=30_000)
    page.select_option("#pe-circle", CIRCLE)
    cell = page.locator(f'td.pe-now[data-circle="{CIRCLE}"]')
    before = float(cell.get_attribute("data-value"))
    assert before == a.summary.loc[CIRCLE, "population_share"]
    shot(page, tmp_path / "explore-1-open.png")

    # click the map next to a block outside the circle
    lon, lat = target_point(a, CIRCLE)
    xy = page.evaluate(
        "([lat, lon]) => { const p = plannerExplorer.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator(".pe-map").bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    form = page.locator(".pe-add")
    form.wait_for()
    # bad input first: no service ticked -> a message, the form and the map as they were
    page.locator(".pe-add-button").click()
    page.wait_for_function(
        "document.querySelector('#pe-message').classList.contains('pe-error')", timeout=30_000
    )
    assert "tick at least one service" in page.locator("#pe-message").text_content()
    assert "tick at least one service" in page.locator(".pe-form-message").text_content()
    assert page.locator("#pe-stations li").count() == 0
    assert float(cell.get_attribute("data-value")) == before
    # now with the service ticked
    page.locator('.pe-add input[value="convenience_shopping"]').check()
    page.locator(".pe-station-name").fill("<b>便民店</b>")
    page.locator(".pe-add-button").click()
    page.wait_for_function(
        "document.querySelectorAll('#pe-stations li').length === 1", timeout=30_000
    )
    item = page.locator("#pe-stations li")
    got_lon, got_lat = float(item.get_attribute("data-lon")), float(item.get_attribute("data-lat"))
    assert abs(got_lon - lon) < 1e-3 and abs(got_lat - lat) < 1e-3
    assert "<b>便民店</b>" in item.text_content()  # shown as text, not markup
    assert page.locator("#pe-stations li b").text_content() == "<b>便民店</b>"
    after = float(cell.get_attribute("data-value"))
    # the value planner.what_if gives for the same point
    from planner.plan import plan_settings

    member = a.preset.table.members("convenience_shopping")[0]
    with plan_settings(plan):
        expected = planner.what_if(
            a, add=planner.new_stations([(got_lon, got_lat)], [[member]])
        ).summary.loc[CIRCLE, "population_share"]
    assert after == expected and after > before
    shot(page, tmp_path / "explore-2-station.png")

    # a click far outside the network: a message, nothing lost
    page.evaluate("() => { plannerExplorer.map.setZoom(12, { animate: false }); }")
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + 15, box["y"] + box["height"] - 15)
    page.locator('.pe-add input[value="convenience_shopping"]').check()
    page.locator(".pe-add-button").click()
    page.wait_for_function(
        "document.querySelector('#pe-message').textContent.includes('farther than')",
        timeout=30_000,
    )
    assert page.locator("#pe-stations li").count() == 1
    assert float(cell.get_attribute("data-value")) == after

    # save a variant: the stations as CSV/GeoPackage and the community's report
    page.keyboard.press("Escape")
    page.locator("#pe-variant-name").fill("方案A")
    page.locator("#pe-save").click()
    page.wait_for_function(
        "document.querySelector('#pe-message').textContent.includes('方案A')", timeout=120_000
    )
    folder = out / "variants" / "方案A"
    files = sorted(p.name for p in folder.iterdir())
    assert "stations.csv" in files and "stations.gpkg" in files
    assert any(f.endswith(".html") for f in files) and any(f.endswith(".docx") for f in files)
    text = (folder / "stations.csv").read_text(encoding="utf-8-sig")
    assert "<b>便民店</b>" in text and "convenience_shopping" in text
    report = next(folder.glob("*.html")).read_text(encoding="utf-8")
    assert "&lt;b&gt;便民店&lt;/b&gt;" in report and "<b>便民店</b>" not in report
    header = page.locator("#pe-compare thead th")
    assert [header.nth(i).text_content() for i in range(header.count())][1:] == [
        "现状",
        "当前",
        "方案A",
    ]
    shot(page, tmp_path / "explore-3-variant.png")

    assert [u for u in requests if not u.startswith(origin + "/")] == []
    assert errors == [] and dialogs == []
    context.close()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 0
    assert "stopped; 1 variants saved" in proc.stdout.read()


def test_shapely_points_are_what_the_page_sends():
    """new_stations takes (lon, lat) pairs as the page sends them."""
    st = planner.new_stations([(113.26, 23.13)], [["library"]])
    assert st.crs == "EPSG:4326" and st.geometry.iloc[0].equals(shapely.Point(113.26, 23.13))
