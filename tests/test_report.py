"""planner.outputs.report: one HTML page per community, and the index page."""

from __future__ import annotations

import html
import re
import warnings

import pytest
from browser import Browser, screenshot
from test_assess_town import town
from test_maps import LIFE, XSS, urls_outside_leaflet, xss_town

import planner
from planner.errors import InputError
from planner.outputs.maps import map_assessment
from planner.outputs.offline import external_references, without_inline_leaflet
from planner.outputs.report import write_report


@pytest.fixture(scope="module")
def town_a():
    return xss_town()


@pytest.fixture(scope="module")
def chrome():
    b = Browser()
    yield b
    b.close()


def srcdoc(page: str) -> str:
    found = re.search(r'srcdoc="([^"]*)"', page)
    assert found is not None
    return html.unescape(found.group(1))


def test_one_community_page(town_a, tmp_path):
    a, sites = town_a
    [path] = write_report(a, "东风社区", tmp_path, sites=sites)
    assert path == tmp_path / "东风社区.html"
    page = path.read_text(encoding="utf-8")
    # profile: 2 blocks, 1,600 residents, 600 households, urban, 东风街道
    for text in ("1,600", "600", "urban", "prd", "东风街道", "一社区一规划"):
        assert text in page
    # a table per applicable circle, the rural ones listed as not applicable
    for cid in ("urban_15min_life", "urban_10min_culture", "learning_15min", "fitness_15min"):
        assert f'id="circle-{cid}"' in page
    assert 'id="circle-rural_30min_life"' not in page
    assert "农村社区半个小时生活圈" in page  # named in the not-applicable note
    # the life circle: 37.5 % inside; U2 outside, missing the recycling point
    section = page.split('id="circle-urban_15min_life"')[1].split('class="circle"')[0]
    assert "37.5%" in section
    assert "再生资源回收点" in section
    # targets of this community and of its street, and the overall rows
    assert "社区: 东风社区" in page
    assert "街道(乡镇): 东风街道" in page
    assert "未达标" in page and "达标" in page
    # the script-named facility is listed as text
    assert XSS not in page
    assert html.escape(XSS) in page
    # the nearby site, with its escaped name; the far ones are not listed
    assert "新站 &lt;b&gt;一&lt;/b&gt;" in page
    assert "新站三" not in page.split('id="sites"')[1].split("</section>")[0]
    # parameters, sources, labels and confidence
    for text in ("guangdong_2016", "500.0 m", "walk 4 km/h", "已核实", "凭记忆", "解释性判断"):
        assert text in page
    assert "@media print" in page
    # no external asset: neither the page nor its embedded map
    assert external_references(page) == []
    assert urls_outside_leaflet(page.split("srcdoc=")[0]) == []
    doc = srcdoc(page)
    assert external_references(without_inline_leaflet(doc)) == []
    assert urls_outside_leaflet(doc) == []


def test_all_communities_and_index(town_a, tmp_path):
    a, _ = town_a
    paths = write_report(a, "all", tmp_path / "reports", lang="en")
    names = [p.name for p in paths]
    assert names == ["东风社区.html", "石岗村.html", "西村.html", "index.html"]
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    for name in names[:-1]:
        assert f'href="{name}"' in index
    assert "Community service-circle reports" in index
    page = paths[1].read_text(encoding="utf-8")
    assert "Profile" in page and "Service circles" in page
    assert 'href="index.html"' in page
    on_disk = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert on_disk == sorted([*names, "planner-manifest.json"])
    assert write_report(a, None, tmp_path / "again")[-1].name == "index.html"


def test_single_page_to_a_file_path(town_a, tmp_path):
    a, _ = town_a
    [path] = write_report(a, "西村", tmp_path / "x" / "west.html", lang="en")
    assert path.exists()
    assert "西村" in path.read_text(encoding="utf-8")


def test_report_errors(town_a, tmp_path):
    a, _ = town_a
    with pytest.raises(InputError, match="Did you mean '石岗村'"):
        write_report(a, "石岗", tmp_path)
    with pytest.raises(InputError, match="folder"):
        write_report(a, "all", tmp_path / "all.html")
    with pytest.raises(InputError, match="lang"):
        write_report(a, "西村", tmp_path, lang="de")
    net, fac, blocks, _ = town()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        plain = planner.assess(net, fac, blocks)
    with pytest.raises(InputError, match="no communities"):
        write_report(plain, "all", tmp_path)


def test_report_in_chromium(town_a, chrome, tmp_path):
    a, sites = town_a
    [path] = write_report(a, "东风社区", tmp_path, sites=sites, circle=LIFE)
    with chrome.visit(path, ready=None) as seen:
        page = seen.page
        frame = next(f for f in page.frames if f != page.main_frame)
        frame.wait_for_function("window.plannerReady === true")
        assert seen.count("path.pl-block", frame) == 2
        assert seen.count("path.pl-site", frame) == 1
        m = map_assessment(a, circle=LIFE, community="东风社区", sites=sites, isochrones=False)
        want = sum(n for role, n in m.planner_layers.items() if role.startswith("facilities/"))
        assert seen.count("path.pl-facility", frame) == want > 0
        # the facility named <script>alert(1)</script> is text, on the page and in the map
        assert XSS in page.inner_text("#facilities")
        content = frame.evaluate(
            """() => {
                var out = null;
                plannerLayers['facilities/catering'].eachLayer(function (l) {
                    if (l.getPopup().getContent().indexOf('alert(1)') >= 0) { l.openPopup(); }
                });
                var el = document.querySelector('.leaflet-popup-content');
                return [el.textContent, el.querySelectorAll('script').length];
            }"""
        )
        assert XSS in content[0]
        assert content[1] == 0
        seen.assert_clean()
        screenshot(seen, tmp_path / "report.png", full_page=True)


def test_index_in_chromium(town_a, chrome, tmp_path):
    a, _ = town_a
    paths = write_report(a, "all", tmp_path)
    with chrome.visit(paths[-1], ready=None) as seen:
        assert seen.count("#communities tbody tr") == 3
        seen.page.click("text=石岗村")
        seen.page.wait_for_url(re.compile(".*html$"))
        frame = next(f for f in seen.page.frames if f != seen.page.main_frame)
        frame.wait_for_function("window.plannerReady === true")
        assert seen.count("path.pl-block", frame) == 2
        seen.assert_clean()


def test_index_links_survive_url_characters(tmp_path):
    net, fac, blocks, communities = town()
    communities.loc[0, "community"] = "一#区 100%"
    a = planner.assess(net, fac, blocks, communities=communities)
    paths = write_report(a, "all", tmp_path)
    assert paths[0].name == "一#区_100%.html"
    index = paths[-1].read_text(encoding="utf-8")
    assert 'href="一%23区_100%25.html"' in index
