"""planner.outputs.maps: offline HTML maps, checked in the file and in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from browser import Browser, screenshot
from helpers import X0, Y0, points, urls_outside_leaflet
from sharing import copied, frozen
from town import BRACES, XSS, town, xss_town
from town import LIFE_CIRCLE as LIFE

import planner
from planner.errors import InputError
from planner.outputs.maps import GeoJsonLayer, map_assessment, map_html, save_map
from planner.outputs.offline import (
    CSS_ID,
    JS_ID,
    OfflineMap,
    external_references,
    without_inline_leaflet,
)
from planner.sources.coords import from_wgs84


@pytest.fixture(scope="module")
def _town_a():
    return frozen(xss_town())


@pytest.fixture
def town_a(_town_a):
    return copied(_town_a)


@pytest.fixture(scope="module")
def _helsinki_a(helsinki_pbf, _helsinki_walk):
    fac = planner.load_facilities(helsinki_pbf)
    blocks = planner.derive_blocks(_helsinki_walk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        return frozen(planner.assess(_helsinki_walk, fac, blocks))


@pytest.fixture
def helsinki_a(_helsinki_a):
    return copied(_helsinki_a)


@pytest.fixture(scope="module")
def chrome():
    b = Browser()
    yield b
    b.close()


def layers(m) -> dict[str, GeoJsonLayer]:
    return {c.role: c for c in m._children.values() if isinstance(c, GeoJsonLayer)}


def features(layer: GeoJsonLayer) -> list[dict]:
    return json.loads(layer.data.replace("<\\/", "</"))["features"]


def expected_facilities(a, circle_id: str) -> dict[str, int]:
    table = a.preset.table
    codes = a.facilities["category"].astype(object).to_numpy()
    return {
        cat: int(np.isin(codes, list(table.members(cat))).sum())
        for cat in a.circle(circle_id).categories
    }


# --- the file -------------------------------------------------------------------------


def test_offline_page_has_leaflet_inline_and_nothing_external(town_a, tmp_path):
    a, _ = town_a
    m = map_assessment(a, isochrones=False)
    assert isinstance(m, OfflineMap)
    saved = tmp_path / "m.html"
    m.save(str(saved))  # folium's own save is offline too
    notebook = html.unescape(m._repr_html_())  # the page inside the notebook's iframe srcdoc
    for text in (m.get_root().render(), notebook, saved.read_text(encoding="utf-8")):
        assert JS_ID in text
        assert CSS_ID in text
        assert external_references(without_inline_leaflet(text)) == []
        assert urls_outside_leaflet(text) == []
        for lib in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers"):
            assert lib not in without_inline_leaflet(text).lower()
    assert "sourceMappingURL" not in saved.read_text(encoding="utf-8")
    # the stylesheet's images are data URIs
    css = re.search(rf'<style id="{CSS_ID}">(.*?)</style>', saved.read_text(), re.DOTALL)
    assert css is not None
    assert "url(images/" not in css.group(1)
    assert 'url("data:image/png;base64,' in css.group(1)


def test_online_mode_links_leaflet(town_a):
    a, _ = town_a
    text = map_html(map_assessment(a, offline=False, isochrones=False))
    assert JS_ID not in text
    assert any("leaflet" in u for u in external_references(text))


def test_layers_hold_every_block_and_facility(town_a):
    a, sites = town_a
    m = map_assessment(a, circle=LIFE, sites=sites, isochrones=False)
    got = layers(m)
    assert len(features(got["blocks"])) == len(a.blocks) == 5
    want = expected_facilities(a, LIFE)
    for cat, n in want.items():
        assert len(features(got[f"facilities/{cat}"])) == n
    assert want["catering"] == 3  # F_A, F_B and the script-named one
    assert len(features(got["sites"])) == 3
    assert len(features(got["communities"])) == 3
    assert "streets" in got
    assert m.planner_layers["blocks"] == 5


def test_block_colours_and_popups(town_a):
    a, _ = town_a
    m = map_assessment(a, circle=LIFE, isochrones=False)
    feats = features(layers(m)["blocks"])
    b = a.blocks
    for f, (idx, row) in zip(feats, b.iterrows(), strict=True):
        pop = f["properties"]["p"]
        assert f"地块 Block {idx}" in pop
        assert "人口 Population" in pop
        if row[LIFE] is True or row[LIFE] is np.True_:
            assert f["properties"]["k"] in (1, 2)
        elif row["setting"] == "rural":  # the urban circle does not apply
            assert f["properties"]["k"] == 0
            assert "不适用 not applicable" in pop
        else:
            assert f["properties"]["k"] >= 3
            assert "圈外 outside" in pop
            assert "缺少 Missing" in pop
    # U1 walks 610 m to catering: 549 s at 4 km/h, shown as 9.1 minutes
    assert "餐饮 Catering<td>9.1<" in feats[0]["properties"]["p"]
    assert "<tr class=m><td>再生资源回收点" in feats[0]["properties"]["p"]


def test_data_strings_are_escaped_and_not_templated(town_a):
    a, sites = town_a
    text = map_html(map_assessment(a, circle=LIFE, sites=sites, isochrones=False))
    assert XSS not in text
    assert "&lt;script&gt;alert(1)&lt;<\\/script&gt;" in text or (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    )
    assert "新站 &lt;b&gt;一&lt;/b&gt;" in text
    assert BRACES.replace("<", "&lt;") in text  # braces reach the page untouched


def test_layer_names_from_data_are_escaped():
    # Leaflet's layer control inserts names as HTML: a circle's name is data too.
    net, fac, blocks, communities = town()
    evil = "<img src=x onerror=alert(2)>"
    circle = {"id": "c", "name_zh": evil, "categories": ["park"], "minutes": 5}
    a = planner.assess(net, fac, blocks, circles=[circle], communities=communities)
    text = map_html(map_assessment(a, circle="c", isochrones=False))
    control = next(line for line in text.splitlines() if "L.control.layers(" in line)
    assert "&lt;img src=x onerror=alert(2)&gt;" in control
    assert "<img" not in control


def test_default_circle_is_lowest_share(town_a):
    a, _ = town_a
    shares = a.summary["population_share"]
    want = shares.idxmin()
    m = map_assessment(a, isochrones=False)
    assert layers(m)["blocks"].layer_name.endswith(a.circle(want).name_zh)
    m = map_assessment(a, isochrones=False, lang="en")
    assert layers(m)["blocks"].layer_name == f"Blocks: {a.circle(want).name_en}"


def test_bad_arguments(town_a):
    a, _ = town_a
    with pytest.raises(InputError, match="urban_15min_life"):
        map_assessment(a, circle="urban_15min_lif")
    with pytest.raises(InputError, match="tiles"):
        map_assessment(a, tiles="google")
    with pytest.raises(InputError, match="key"):
        map_assessment(a, tiles="tianditu")
    with pytest.raises(InputError, match="renderer"):
        map_assessment(a, renderer="webgl")
    with pytest.raises(InputError, match="lang"):
        map_assessment(a, lang="fr")
    with pytest.raises(InputError, match="Did you mean"):
        map_assessment(a, community="东风社")
    with pytest.raises(InputError, match="sites"):
        map_assessment(a, sites=[(1, 2)])
    with pytest.raises(InputError, match=r"\.html"):
        save_map(map_assessment(a, isochrones=False), "map.png")


def test_tianditu_with_key(town_a, monkeypatch):
    a, _ = town_a
    text = map_html(map_assessment(a, tiles="tianditu", tianditu_key="abc123", isochrones=False))
    assert "tianditu.gov.cn" in text
    assert "tk=abc123" in text
    monkeypatch.setenv("PLANNER_TIANDITU_KEY", "fromenv1")
    text = map_html(map_assessment(a, tiles="tianditu", isochrones=False))
    assert "tk=fromenv1" in text


def test_gaode_shifts_every_layer_to_gcj02(town_a):
    a, sites = town_a
    plain = layers(map_assessment(a, circle=LIFE, sites=sites, isochrones=False))
    gcj = layers(map_assessment(a, circle=LIFE, sites=sites, isochrones=False, tiles="gaode"))
    wgs = a.facilities.to_crs(4326)
    cat = wgs[wgs["name"] == XSS].geometry.iloc[0]
    gx, gy = from_wgs84(cat.x, cat.y, "gcj02")
    assert abs(gx - cat.x) > 1e-3  # Guangzhou: hundreds of metres
    drawn = [
        f["geometry"]["coordinates"]
        for f in features(gcj["facilities/catering"])
        if "alert(1)" in f["properties"]["p"]
    ]
    assert drawn == [[round(gx, 6), round(gy, 6)]]
    for role in ("blocks", "sites", "communities", "streets", "facilities/catering"):
        a_xy = shapely.get_coordinates(
            shapely.from_geojson([json.dumps(f["geometry"]) for f in features(plain[role])])
        )
        b_xy = shapely.get_coordinates(
            shapely.from_geojson([json.dumps(f["geometry"]) for f in features(gcj[role])])
        )
        sx, sy = from_wgs84(a_xy[:, 0], a_xy[:, 1], "gcj02")
        assert np.allclose(b_xy, np.column_stack([sx, sy]), atol=2e-6), role


def test_coordinates_are_rounded_to_six_decimals(town_a):
    a, _ = town_a
    text = layers(map_assessment(a, isochrones=False))["blocks"].data
    decimals = [len(d) for d in re.findall(r"\d+\.(\d+)", text.split('"p"')[0])]
    assert decimals
    assert max(decimals) <= 6


def test_canvas_renderer_option(town_a):
    a, _ = town_a
    assert '"preferCanvas": true' in map_html(
        map_assessment(a, renderer="canvas", isochrones=False)
    )
    assert '"preferCanvas": false' in map_html(map_assessment(a, isochrones=False))


def hand_isochrones(a, cats, time_s=900.0):
    """Square 'isochrones' around the first facility of each category (test data)."""
    table = a.preset.table
    fac = a.facilities
    rows = []
    for cat in cats:
        hit = fac[fac["category"].isin(table.members(cat))]
        if len(hit):
            p = hit.geometry.iloc[0]
            rows.append({"category": cat, "time_s": time_s, "geometry": p.buffer(300, 2)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=fac.crs)


def test_isochrone_layer_from_a_given_frame(town_a):
    a, _ = town_a
    cats = list(a.circle(LIFE).categories)
    iso = hand_isochrones(a, cats)
    m = map_assessment(a, circle=LIFE, isochrones=iso)
    got = layers(m)
    for cat in cats:
        layer = got[f"isochrones/{cat}"]
        assert len(features(layer)) == 1
        assert layer.show is False
        assert "15 分钟" in layer.layer_name
    assert not any(r.startswith("isochrones/") for r in layers(map_assessment(a, isochrones=False)))
    with pytest.raises(InputError, match="category"):
        map_assessment(a, isochrones=iso.drop(columns="category"))


def test_computed_isochrones_by_default(town_a):
    """One hidden layer per category of the circle, drawn from the network by hand: the
    recycling points at (2500,5) and F_B (3500,0) are reached within 15 minutes (1,000 m)
    along the south street from x = 1,500 to 4,500 (drawn 50 m wide); not at x = 1,300 or
    4,700, nor on the north street."""
    a, _ = town_a
    got = layers(map_assessment(a, circle=LIFE))
    cats = a.circle(LIFE).categories
    assert {r for r in got if r.startswith("isochrones/")} == {f"isochrones/{c}" for c in cats}
    assert all(got[f"isochrones/{c}"].show is False for c in cats)
    drawn = shapely.union_all(
        shapely.from_geojson(
            [json.dumps(f["geometry"]) for f in features(got["isochrones/recycling_point"])]
        )
    )
    probes = points([(1600, 0), (4400, 0), (2500, 40), (1300, 0), (4700, 0), (2500, 3000)])
    lonlat = probes.to_crs(4326).geometry.to_numpy()
    assert shapely.contains(drawn, lonlat).tolist() == [True, True, True, False, False, False]


def test_community_map_shows_its_blocks(town_a):
    a, sites = town_a
    m = map_assessment(a, community="东风社区", sites=sites, isochrones=False)
    got = layers(m)
    assert len(features(got["blocks"])) == 2
    assert len(features(got["communities"])) == 1
    assert len(features(got["sites"])) == 1  # the far ones are left out


def test_save_map_is_atomic(town_a, tmp_path):
    a, _ = town_a
    path = save_map(map_assessment(a, isochrones=False), tmp_path / "sub" / "town.html")
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["town.html"]


@pytest.mark.slow
def test_2000_blocks_1000_facilities_at_most_6_mb(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from maps import build

    a = build(10_000, 2_000, 1_000)
    path = save_map(map_assessment(a), tmp_path / "big.html")
    size = path.stat().st_size
    print(f"2,000 blocks + 1,000 facilities: {size / 1e6:.2f} MB")
    assert size <= 6_000_000
    got = layers(map_assessment(a, isochrones=False))
    assert len(features(got["blocks"])) == 2_000
    assert sum(len(features(v)) for k, v in got.items() if k.startswith("facilities/")) == 1_000


# --- in the browser -------------------------------------------------------------------


def test_demo_map_in_chromium(helsinki_a, chrome, tmp_path):
    a = helsinki_a
    m = map_assessment(a)
    path = save_map(m, tmp_path / "helsinki.html")
    c = a.circle(str(a.summary["population_share"].astype(float).idxmin()))
    with chrome.visit(path) as seen:
        seen.assert_clean()
        with_geometry = int((~(a.blocks.geometry.is_empty | a.blocks.geometry.isna())).sum())
        assert seen.count("path.pl-block") == with_geometry == len(a.blocks)
        want = expected_facilities(a, c.id)
        assert seen.count("path.pl-facility") == sum(want.values()) > 0
        for i, cat in enumerate(c.categories):
            assert seen.count(f"path.pl-cat-{i}") == want[cat]
        assert seen.count("path.pl-street") == 1
        assert seen.count(".leaflet-control-layers") == 1
        assert seen.count(".pl-legend") == 1
        assert seen.count("path.pl-iso") == 0  # isochrones start hidden
        screenshot(seen, tmp_path / "helsinki.png")


def test_script_named_facility_is_text_in_chromium(town_a, chrome, tmp_path):
    a, sites = town_a
    path = save_map(map_assessment(a, circle=LIFE, sites=sites), tmp_path / "town.html")
    with chrome.visit(path) as seen:
        page = seen.page
        box = page.evaluate(
            """() => {
                var found = null;
                plannerLayers['facilities/catering'].eachLayer(function (l) {
                    if (l.getPopup().getContent().indexOf('alert(1)') >= 0) { found = l; }
                });
                found._map.setView(found.getLatLng(), found._map.getZoom(), {animate: false});
                var r = found._path.getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2];
            }"""
        )
        hit = page.evaluate(f"document.elementFromPoint({box[0]}, {box[1]}).getAttribute('class')")
        assert "pl-cat-" in hit
        page.mouse.click(box[0], box[1])
        page.wait_for_selector(".leaflet-popup-content")
        text = page.inner_text(".leaflet-popup-content")
        assert XSS in text
        assert seen.count(".leaflet-popup-content script") == 0
        assert seen.count("path.pl-block") == 5
        assert seen.count("path.pl-site") == 3
        seen.assert_clean()  # no alert dialog, no error, nothing fetched
        screenshot(seen, tmp_path / "town-popup.png")


def test_isochrone_layers_switch_on_in_chromium(town_a, chrome, tmp_path):
    a, _ = town_a
    cats = list(a.circle(LIFE).categories)
    iso = hand_isochrones(a, cats)
    path = save_map(map_assessment(a, circle=LIFE, isochrones=iso), tmp_path / "iso.html")
    with chrome.visit(path) as seen:
        assert seen.count("path.pl-iso") == 0
        page = seen.page
        page.hover(".leaflet-control-layers")
        for label in page.query_selector_all(".leaflet-control-layers-overlays label"):
            if "等时圈" in label.inner_text():
                label.query_selector("input").click()
        assert seen.count("path.pl-iso") == len(iso)
        for i, _ in enumerate(cats):
            assert seen.count(f"path.pl-iso-{i}") == 1
        seen.assert_clean()


def test_gaode_positions_in_chromium(town_a, chrome, tmp_path):
    a, _ = town_a
    path = save_map(
        map_assessment(a, circle=LIFE, tiles="gaode", isochrones=False), tmp_path / "g.html"
    )
    with chrome.visit(path) as seen:
        ll = seen.page.evaluate(
            """() => {
                var out = null;
                plannerLayers['facilities/catering'].eachLayer(function (l) {
                    if (l.getPopup().getContent().indexOf('alert(1)') >= 0) { out = l.getLatLng(); }
                });
                return [out.lng, out.lat];
            }"""
        )
        # tile requests were attempted (and refused): the only requests leaving the file
        assert all("autonavi.com" in u for u in seen.external_requests)
    p = a.facilities.to_crs(4326)
    p = p[p["name"] == XSS].geometry.iloc[0]
    gx, gy = from_wgs84(p.x, p.y, "gcj02")
    assert ll == pytest.approx([gx, gy], abs=1.5e-6)
    assert abs(ll[0] - p.x) > 1e-3


def test_canvas_renderer_in_chromium(town_a, chrome, tmp_path):
    a, _ = town_a
    path = save_map(
        map_assessment(a, circle=LIFE, renderer="canvas", isochrones=False), tmp_path / "c.html"
    )
    with chrome.visit(path) as seen:
        assert seen.count("path.pl-block") == 0
        assert seen.count("canvas") >= 1
        n = seen.page.evaluate("() => plannerLayers.blocks.getLayers().length")
        assert n == 5
        seen.assert_clean()


def test_x0_y0_sanity():
    # the town lies in Guangzhou, inside the GCJ-02 area
    lon, lat = gpd.GeoSeries(gpd.points_from_xy([X0], [Y0]), crs=32650).to_crs(4326).iloc[0].xy
    assert 110 < lon[0] < 120
    assert 20 < lat[0] < 25


def test_other_external_assets_are_left_out_with_a_warning(town_a):
    from folium.plugins import Fullscreen

    a, _ = town_a
    m = map_assessment(a, isochrones=False)
    Fullscreen().add_to(m)
    with pytest.warns(planner.errors.PlannerWarning, match="left out external assets"):
        text = m.get_root().render()
    assert external_references(without_inline_leaflet(text)) == []


def test_leaflet_from_a_dist_folder(monkeypatch, tmp_path):
    import base64
    import shutil

    import xstatic.pkg.leaflet as xleaflet

    from planner.outputs import offline

    dist = tmp_path / "node_modules" / "leaflet" / "dist"
    shutil.copytree(xleaflet.BASE_DIR, dist)
    (dist.parent / "package.json").write_text('{"name": "leaflet", "version": "1.9.4"}')
    # marks that exist only in this folder's copy: the assets must be read from it
    js_mark, css_mark = "/* dist-folder-js-4711 */", ".dist-folder-css-4711 { color: red; }"
    with (dist / "leaflet.js").open("a", encoding="utf-8") as f:
        f.write(f"\n{js_mark}\n")
    with (dist / "leaflet.css").open("a", encoding="utf-8") as f:
        f.write(f"\n{css_mark}\n")
    monkeypatch.setenv(offline.LEAFLET_DIR_ENV, str(dist))
    offline.leaflet_assets.cache_clear()
    try:
        assets = offline.leaflet_assets()
        assert assets.version == "1.9.4"
        assert js_mark in assets.js and css_mark in assets.css
        assert "sourceMappingURL" not in assets.js  # the source-map comment is taken out
        # every image the stylesheet names is inlined from this folder
        assert "url(images/" not in assets.css
        png = base64.b64encode((dist / "images" / "layers.png").read_bytes()).decode("ascii")
        assert f'url("data:image/png;base64,{png}")' in assets.css
        monkeypatch.setenv(offline.LEAFLET_DIR_ENV, str(tmp_path))
        offline.leaflet_assets.cache_clear()
        with pytest.raises(planner.errors.PlannerError, match=r"leaflet\.js"):
            offline.leaflet_assets()
    finally:
        offline.leaflet_assets.cache_clear()
