"""docs/errors.md, section "What-if and the explorer": one test per entry."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from helpers import points, serve_in_thread
from sharing import copied, frozen
from town import town

import planner
from planner.errors import InputError, MissingColumnError, NoCrsError, PlannerError
from planner.explorer import Session
from planner.whatif import OffNetworkError


@pytest.fixture(scope="module")
def _assessed():
    net, fac, blocks, communities = town()
    return frozen(planner.assess(net, fac, blocks, communities=communities))


@pytest.fixture
def assessed(_assessed):
    return copied(_assessed)


def lib(xy=(2600, 20), label="L1", **cols):
    st = points([xy], **{"category": ["library"], **cols})
    st.index = pd.Index([label])
    return st


WHATIF_ERRORS = {
    "whatif-not-assessment": (
        lambda a: planner.what_if("a.gpkg"),
        InputError,
        r"^assessment must be a planner\.Assessment \(from planner\.assess\); got str\.$",
    ),
    "whatif-remove-unknown": (
        lambda a: planner.what_if(a, remove=["nope"]),
        InputError,
        r"^remove: 'nope' is not a facility of this assessment \(facility index labels, e\.g\. "
        r"0, 1, 2; 23 facilities\)\.$",
    ),
    "whatif-add-no-category-column": (
        lambda a: planner.what_if(a, add=points([(2600, 20)], kind=["library"])),
        MissingColumnError,
        r"^add: the stations need the facilities' category column 'category' .*; columns "
        r"present: \['kind', 'geometry'\]\. planner\.new_stations builds them\.$",
    ),
    "whatif-add-no-service": (
        lambda a: planner.what_if(a, add=points([(2600, 20)], category=[None])),
        InputError,
        r"^add: 1 station rows have no 'category' \(first at index 0\); each row is one "
        r"service the station provides: tick at least one\.$",
    ),
    "whatif-add-unknown-category": (
        lambda a: planner.what_if(a, add=points([(2600, 20)], category=["libary"])),
        InputError,
        r"^add: unknown category 'libary': no category table declares it and no facility "
        r"holds it\. Did you mean 'library'\?$",
    ),
    "whatif-add-group": (
        lambda a: planner.what_if(a, add=points([(2600, 20)], category=["convenience_shopping"])),
        InputError,
        r"^add: 'convenience_shopping' is a group of categories \(.*supermarket.*\); give the "
        r"category a station provides, one of its members\.$",
    ),
    "whatif-add-off-network": (
        lambda a: planner.what_if(a, add=lib((2600, 1500))),
        OffNetworkError,
        r"^add: station 'L1' at \(\d+\.\d{6}, \d+\.\d{6}\) is farther than 500 m "
        r"\(settings\.max_snap_m\) from every street usable in mode 'walk': nobody could "
        r"reach it\. Place it nearer a street of the network\.$",
    ),
    "whatif-add-not-points": (
        lambda a: planner.what_if(
            a,
            add=gpd.GeoDataFrame(
                {"category": ["library"]},
                geometry=[shapely.box(500_000, 2_500_000, 500_010, 2_500_010)],
                crs="EPSG:32650",
            ),
        ),
        InputError,
        r"^add: stations must be points; 1 rows are not \(first at index 0\)\. Give each "
        r"station's location as a point\.$",
    ),
    "whatif-add-no-crs": (
        lambda a: planner.what_if(a, add=lib().set_crs(None, allow_override=True)),
        NoCrsError,
        r"^add has no CRS\. Set the CRS its coordinates are in, e\.g\. add\.set_crs",
    ),
    "new-stations-services": (
        lambda a: planner.new_stations([(0, 0), (1, 1)], [["library"], ["park"], ["catering"]]),
        InputError,
        r"^new_stations: 2 points but 3 lists of services; give one per point\.$",
    ),
    "explore-not-assessment": (
        lambda a: planner.explore("a.gpkg"),
        InputError,
        r"^explore needs a planner\.Assessment \(from planner\.assess\); got str\.$",
    ),
}


@pytest.mark.parametrize("entry", list(WHATIF_ERRORS))
def test_whatif_errors(entry, assessed):
    call, kind, message = WHATIF_ERRORS[entry]
    with pytest.raises(kind) as err:
        call(assessed)
    assert re.search(message, str(err.value)), str(err.value)
    assert "\n" not in str(err.value)


def test_explore_extra_missing(monkeypatch, assessed):
    import importlib

    real = importlib.import_module

    def fake(name, *args):
        if name in {"anywidget", "tornado"}:
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(PlannerError, match=r"needs the package 'anywidget' of the explore extra"):
        planner.explore(assessed)
    from planner.explorer import needs_extra

    with pytest.raises(PlannerError, match=r"'tornado' .* pip install 'planner\[explore\]'"):
        needs_extra("server")


# --- messages in the page: nothing changes -----------------------------------------------


def lonlat(xy):
    p = points([xy]).to_crs(4326).geometry.iloc[0]
    return p.x, p.y


PAGE_MESSAGES = {
    "explore-no-service": (
        {"type": "add", "lonlat": (2600, 20), "services": []},
        r"^this station provides no service: tick at least one service it will offer\. "
        r"Nothing changed\.$",
    ),
    "explore-off-network": (
        {"type": "add", "lonlat": (2600, 1500), "services": ["library"]},
        r"^the point clicked \(\d+\.\d{6}, \d+\.\d{6}\) is farther than 500 m from every street "
        r"usable in mode 'walk': nobody could reach a station there\. Click nearer a street\. "
        r"Nothing changed\.$",
    ),
    "explore-facility-missing": (
        {"type": "remove", "key": "f99999"},
        r"^facility 'f99999' does not exist \(or was removed already\)\. Nothing changed\.$",
    ),
    "explore-nothing-to-undo": (
        {"type": "undo"},
        r"^there is nothing to undo\. Nothing changed\.$",
    ),
    "explore-save-nothing": (
        {"type": "save", "name": "A"},
        r"^there are no edits to save yet: add a station or remove a facility first\. "
        r"Nothing changed\.$",
    ),
    "explore-bad-request": ({"type": "fly"}, r"^unknown request 'fly'\. Nothing changed\.$"),
}


@pytest.mark.parametrize("entry", list(PAGE_MESSAGES))
def test_page_messages(entry, assessed):
    msg, expected = PAGE_MESSAGES[entry]
    s = Session(assessed, lang="en")
    before = s.current
    if "lonlat" in msg:
        msg = {**msg, **dict(zip(("lon", "lat"), lonlat(msg.pop("lonlat")), strict=True))}
    view = s.handle(msg)
    assert view["message"]["kind"] == "error"
    assert re.search(expected, view["message"]["text"]), view["message"]["text"]
    assert s.current is before and s.variants == []


def test_explore_variant_exists(assessed):
    s = Session(assessed, lang="en")
    lon, lat = lonlat((2600, 20))
    s.handle({"type": "add", "lon": lon, "lat": lat, "services": ["library"]})
    assert s.handle({"type": "save", "name": "A"})["message"]["kind"] == "ok"
    view = s.handle({"type": "save", "name": "A"})
    assert view["message"]["text"] == (
        "a variant named 'A' exists already; give another name. Nothing changed."
    )
    assert s.handle({"type": "save", "name": "../B"})["message"]["kind"] == "ok"
    assert [v.name for v in s.variants] == ["A", "B"]


def test_explore_save_fails(assessed, tmp_path, monkeypatch):
    from planner.explorer import session as module

    s = Session(assessed, lang="en", out=tmp_path)
    lon, lat = lonlat((2600, 20))
    s.handle({"type": "add", "lon": lon, "lat": lat, "services": ["library"]})

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "write_sites", full_disk)
    with pytest.raises(OSError):  # not a PlannerError: the page's caller reports it ...
        s.handle({"type": "save", "name": "A"})
    assert not (tmp_path / "variants" / "A").exists()  # ... and nothing is left behind
    assert [p.name for p in (tmp_path / "variants").iterdir()] == [] and s.variants == []


@pytest.fixture(scope="module")
def server(_assessed):
    """The explorer's server on 127.0.0.1, in a thread of its own."""

    from planner.explorer.server import ExplorerServer

    srv = ExplorerServer(Session(copied(_assessed), lang="en"))
    yield from serve_in_thread(srv)


def answer(srv, path, *, host, token):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    headers = {"Host": host, **({"X-Planner-Token": token} if token else {})}
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    return r.status, r.read().decode("utf-8")


def test_explore_foreign_host(server):
    status, text = answer(server, "/", host="planner.example.com", token=None)
    assert (status, text) == (403, "403: unknown host")
    status, _ = answer(
        server, "/api/state", host=f"attacker.test:{server.port}", token=server.token
    )
    assert status == 403
    assert answer(server, "/", host=f"127.0.0.1:{server.port}", token=None)[0] == 200


def test_explore_no_token(server):
    host = f"127.0.0.1:{server.port}"
    assert answer(server, "/api/state", host=host, token=None) == (
        403,
        "403: missing or wrong token",
    )
    assert answer(server, "/api/state", host=host, token="guess")[0] == 403
    assert answer(server, "/api/state", host=host, token=server.token)[0] == 200


def test_every_entry_of_the_section_has_a_test():
    text = (Path(__file__).parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")
    section = text.split("## What-if and the explorer", 1)[1].split("\n## ", 1)[0]
    entries = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))
    names = {n.removeprefix("test_").replace("_", "-") for n in globals() if n.startswith("test_")}
    tested = {*WHATIF_ERRORS, *PAGE_MESSAGES, *names}
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(entries) == len(rows) > 0  # every entry row has an id the pattern reads
    assert entries <= tested, sorted(entries - tested)
