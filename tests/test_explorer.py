"""The explorer's Python side: the widget's edits equal planner.what_if, bad input is a
message in the page with nothing lost, variants are written whole, the local server
answers 127.0.0.1 alone. (tests/test_explore_browser.py drives the page in Chromium.)"""

from __future__ import annotations

import http.client
import json
import statistics
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import points, serve_in_thread
from sharing import copied, frozen
from town import town

import planner
from planner.errors import PlannerError, PlannerWarning
from planner.explorer import Session, module_text
from planner.outputs.offline import external_references


@pytest.fixture(scope="module")
def _helsinki_a(_helsinki_walk, helsinki_pbf):
    from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        return frozen(
            planner.assess(
                _helsinki_walk,
                planner.load_facilities(helsinki_pbf),
                demo_blocks(_helsinki_walk),
                circles=DEMO_CIRCLES,
                communities=demo_communities(_helsinki_walk),
            )
        )


@pytest.fixture
def helsinki_a(_helsinki_a):
    return copied(_helsinki_a)


def street_points(net, n, seed=0):
    """Points on random streets of the network, as (lon, lat)."""
    rng = np.random.default_rng(seed)
    lines = net.streets_gdf().to_crs(4326).geometry.to_numpy()
    pts = shapely.line_interpolate_point(
        lines[rng.integers(0, len(lines), n)], rng.random(n), normalized=True
    )
    return [(float(p.x), float(p.y)) for p in pts]


def summary_now(view):
    return {r["circle"]: r["now"] for r in view["summary"]}


def test_widget_edits_equal_what_if_and_update_well_under_a_second(helsinki_a, helsinki_walk):
    a = helsinki_a
    w = planner.explore(a)
    assert w.assessment is a and w.stations.empty and w.removed == []
    (lon, lat), *others = street_points(helsinki_walk, 6)
    view = w.add(lon, lat, ["library"], name="河畔图书馆")
    assert view["message"]["kind"] == "ok" and view["can_undo"]
    expected = planner.what_if(
        a, add=planner.new_stations([(lon, lat)], [["library"]], names=["河畔图书馆"])
    )
    got = summary_now(view)
    for cid, share in expected.summary["population_share"].items():
        assert got[cid] == share
    pd.testing.assert_frame_equal(w.assessment.summary, expected.summary)
    assert list(w.stations["name"]) == ["河畔图书馆"] and list(w.stations["categories"]) == [
        "library"
    ]
    # a comprehensive station, then timings of further single ones (a district: ~1,000 blocks)
    times = []
    for lon2, lat2 in others:
        view = w.add(lon2, lat2, ["pharmacy", "convenience_shopping", "library"])
        assert view["message"]["kind"] == "ok", view["message"]
        times.append(w.last_update_ms)
    print(f"explorer update on Helsinki: median {statistics.median(times):.0f} ms, {times}")
    assert statistics.median(times) < 1000
    # the edits replay through what_if
    again = planner.what_if(a, **w.edits())
    pd.testing.assert_frame_equal(again.summary, w.assessment.summary)
    pd.testing.assert_frame_equal(again.by_community, w.assessment.by_community)
    # remove a station, a facility; undo all the way back
    key = w.session.current.stations[0].key
    assert w.remove(key)["message"]["kind"] == "ok"
    assert key not in set(w.stations.index)
    f = w.session.setup()["facilities"][0]
    assert w.remove(f["key"])["message"]["kind"] == "ok"
    assert w.removed == [a.inputs["facilities"].index[int(f["key"][1:])]]
    while w.session.current.assessment is not a:
        w.undo()
    assert w.undo()["message"]["kind"] == "error"  # nothing left to undo
    pd.testing.assert_frame_equal(w.assessment.summary, a.summary)


def test_bad_input_is_a_message_and_nothing_is_lost(helsinki_a, helsinki_walk):
    w = planner.explore(helsinki_a, lang="en")
    (lon, lat), _ = street_points(helsinki_walk, 2, seed=1)
    w.add(lon, lat, ["library"])
    before = w.session.current
    cases = [
        ({"type": "add", "lon": lon, "lat": lat, "services": []}, "tick at least one service"),
        ({"type": "add", "lon": lon + 0.2, "lat": lat, "services": ["library"]}, "farther than"),
        ({"type": "add", "lon": "x", "lat": lat, "services": ["library"]}, "not a coordinate"),
        ({"type": "add", "lon": lon, "lat": lat, "services": ["spa"]}, "unknown service"),
        ({"type": "remove", "key": "f999999"}, "does not exist"),
        ({"type": "remove", "key": "S99"}, "does not exist"),
        ({"type": "remove", "key": "<img src=x>"}, "does not exist"),
        ({"type": "save", "name": "v"}, None),  # in memory: fine
        ({"type": "save", "name": "v"}, "exists already"),
        ({"type": "fly"}, "unknown request"),
    ]
    for msg, text in cases:
        view = w.handle(msg)
        if text is None:
            assert view["message"]["kind"] == "ok"
            continue
        assert view["message"]["kind"] == "error", msg
        assert text in view["message"]["text"] and view["message"]["text"].endswith(
            "Nothing changed."
        )
        assert w.session.current is before  # nothing lost
        assert len(w.stations) == 1
    removed = w.session.setup()["facilities"][0]["key"]
    w.remove(removed)
    view = w.remove(removed)
    assert view["message"]["kind"] == "error" and "removed already" in view["message"]["text"]


def test_variants_are_written_whole_and_compared(helsinki_a, helsinki_walk, tmp_path):
    w = planner.explore(helsinki_a, out=tmp_path)
    pts = street_points(helsinki_walk, 3, seed=2)
    w.add(*pts[0], ["library"], name='=HYPERLINK("x")')
    w.add(*pts[1], ["pharmacy", "catering"], name="<script>alert(1)</script>")
    community = helsinki_a.communities["community"].iloc[0]
    view = w.save_variant("方案A", community=community, circle="library_10min")
    assert view["message"]["kind"] == "ok", view["message"]
    folder = tmp_path / "variants" / "方案A"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        ["stations.csv", "stations.gpkg", f"{community}.html", f"{community}.docx"]
    )
    csv = pd.read_csv(folder / "stations.csv", encoding="utf-8-sig")
    assert len(csv) == 2 and not csv["name"].astype(str).str.startswith("=").any()
    np.testing.assert_allclose(csv[["lon", "lat"]].to_numpy()[0], pts[0], atol=1e-9)
    gpkg = gpd.read_file(folder / "stations.gpkg")
    assert list(gpkg["categories"]) == ["library", "pharmacy, catering"]
    page = (folder / f"{community}.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    # the second variant: a removal; the table compares base, now and both variants
    w.undo()
    w.remove(w.session.setup()["facilities"][0]["key"])
    w.save_variant("../B")  # a folder name cannot leave <out>/variants
    assert (tmp_path / "variants" / "B" / "removed.csv").is_file()
    table = w.compare()
    assert list(table.columns) == ["base", "now", "方案A", "B"]
    assert table.loc["stations", "方案A"] == 2 and table.loc["removed", "B"] == 1
    base = helsinki_a.summary.loc["library_10min", "population_share"]
    assert table.loc["library_10min", "base"] == base
    assert (
        table.loc["library_10min", "方案A"]
        == (w.variants[0].step.assessment.summary.loc["library_10min", "population_share"])
    )
    assert not list((tmp_path / "variants").glob(".*"))  # no half-written folder left


def test_a_save_that_fails_leaves_no_folder(helsinki_a, helsinki_walk, tmp_path, monkeypatch):
    w = planner.explore(helsinki_a, out=tmp_path)
    w.add(*street_points(helsinki_walk, 1, seed=3)[0], ["library"])
    session_module = __import__("planner.explorer.session", fromlist=["write_report"])

    def broken(*args, **kwargs):
        raise PlannerError("the report could not be written")

    monkeypatch.setattr(session_module, "write_report", broken)
    view = w.save_variant("C")
    assert view["message"]["kind"] == "error" and "could not be written" in view["message"]["text"]
    assert not (tmp_path / "variants" / "C").exists()
    assert not list((tmp_path / "variants").glob(".*")) and w.variants == []


def test_the_page_module_loads_nothing_from_elsewhere():
    text = module_text()
    assert "__PLANNER_LEAFLET_JS__" not in text and "__PLANNER_CSS__" not in text
    assert "Leaflet" in text and ".leaflet-container" in text
    from planner.explorer import STATIC

    for name in ("explorer.js", "explorer.css", "main.js"):
        own = (STATIC / name).read_text(encoding="utf-8")
        assert external_references(own) == [], name
        assert "innerHTML" not in own and "insertAdjacentHTML" not in own, name


def test_explore_names_the_extra_when_anywidget_is_missing(monkeypatch, helsinki_a):
    import importlib

    real = importlib.import_module

    def fake(name, *args):
        if name == "anywidget":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(PlannerError, match=r"pip install 'planner\[explore\]'"):
        planner.explore(helsinki_a)


# --- the local server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    from planner.explorer.server import ExplorerServer

    net, fac, blocks, communities = town()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        a = planner.assess(net, fac, blocks, communities=communities)
    srv = ExplorerServer(Session(a, lang="en"), title="<b>town</b>")
    yield from serve_in_thread(srv)


def request(srv, method, path, *, body=None, host=None, token=True):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    headers = {"Host": host or f"127.0.0.1:{srv.port}"}
    if token:
        headers["X-Planner-Token"] = srv.token
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read().decode("utf-8")


def test_server_listens_on_127_0_0_1_only_and_answers_its_page(server):
    assert server.url == f"http://127.0.0.1:{server.port}/"
    status, headers, page = request(server, "GET", "/", token=False)
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert "<title>&lt;b&gt;town&lt;/b&gt;</title>" in page
    assert f'content="{server.token}"' in page
    assert external_references(page) == []
    status, headers, js = request(server, "GET", "/explorer.js", token=False)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert js == module_text()


def test_server_refuses_other_hosts_and_requests_without_the_token(server):
    assert request(server, "GET", "/", host="evil.example:80", token=False)[0] == 403
    assert request(server, "GET", "/api/state", host=f"evil.example:{server.port}")[0] == 403
    assert request(server, "GET", "/api/state", token=False)[0] == 403
    assert request(server, "POST", "/api/message", body=b'{"type": "undo"}', token=False)[0] == 403
    assert request(server, "GET", "/api/nothing")[0] == 404


def test_server_messages_answer_with_the_state(server):
    status, _, text = request(server, "GET", "/api/setup")
    setup = json.loads(text)
    assert status == 200 and [c["id"] for c in setup["circles"]][:1] == ["urban_15min_life"]
    assert len(setup["blocks"]["features"]) == 5
    status, _, text = request(server, "POST", "/api/message", body=b"not json")
    view = json.loads(text)
    assert status == 200 and view["message"]["kind"] == "error"
    lib = points([(2600, 20)]).to_crs(4326).geometry.iloc[0]
    msg = {"type": "add", "lon": lib.x, "lat": lib.y, "services": ["library"], "id": 7}
    status, _, text = request(server, "POST", "/api/message", body=json.dumps(msg).encode())
    view = json.loads(text)
    assert view["reply_to"] == 7 and view["message"]["kind"] == "ok"
    shares = summary_now(view)
    assert shares["learning_15min"] == pytest.approx(1900 / 2200)  # as test_whatif by hand
    request(server, "POST", "/api/message", body=b'{"type": "undo"}')


def test_proposed_sites_are_shown_and_a_station_there_gives_sitings_share(helsinki_a):
    s = planner.site(helsinki_a, circle="library_10min", k=2)
    w = planner.explore(helsinki_a, proposals=s, lang="en")
    shown = json.loads(w.setup)["proposals"]
    assert [p["rank"] for p in shown] == [1.0, 2.0]
    view = w.add(shown[0]["lon"], shown[0]["lat"], ["library"])
    assert view["message"]["kind"] == "ok"
    # the share siting reports for its first site is what what_if gives for a library there
    assert summary_now(view)["library_10min"] == pytest.approx(
        s.sites["share_after"].iloc[0], abs=1e-9
    )
    with pytest.raises(planner.errors.InputError, match="proposals must be points with a CRS"):
        planner.explore(helsinki_a, proposals="sites.gpkg")
    with pytest.raises(planner.errors.InputError, match="lang='fr'"):
        planner.explore(helsinki_a, lang="fr")
