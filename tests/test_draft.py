"""The 一社区一规划 drafts of the demo: HTML and Word with the same sections and numbers.

For every demo community, ``planner demo`` writes an HTML page and a .docx; these tests
open the .docx with python-docx and the HTML with the standard library's parser, and
check the five sections as Word headings, the tables, the map picture, that both carry
the same table cells (so the same population, coverage and gap numbers, which are
checked against the assessment by hand), and that the Chinese text has no Latin-letter
internal code (only data names, file names and the tool's name remain).
"""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import docx
import geopandas as gpd
import pytest
from sharing import copied, frozen

import planner
from planner.outputs.bundle import write_outputs

SECTIONS = ["一、基本情况", "二、现状评估", "三、主要问题", "四、规划项目", "五、实施安排"]


@pytest.fixture(scope="module")
def _demo(tmp_path_factory):
    """The demo's assessment and siting, written as a bundle (zh), plus English drafts."""
    from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities, demo_data

    path = demo_data()
    net = planner.load_network(path, mode="walk")
    fac = planner.load_facilities(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        a = planner.assess(
            net, fac, demo_blocks(net), circles=DEMO_CIRCLES, communities=demo_communities(net)
        )
    worst = str(a.summary["population_share"].astype(float).idxmin())
    s = planner.site(a, circle=worst, k=3)
    out = tmp_path_factory.mktemp("demo")
    write_outputs(a, out, sites=s, formats=("csv",))
    return frozen((a, s, out))


@pytest.fixture
def demo(_demo):
    """The demo's assessment and siting (copies) and its written folder (tests only read
    it: what a test writes goes to its own tmp_path)."""
    return copied(_demo)


class _Cells(HTMLParser):
    """The text of every table cell and heading of an HTML page (the map frame's
    document is an attribute, so it is not read)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.headings: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._heading: str | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h1", "h2", "h3"):
            self._heading, self._cell = tag, []

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag in ("h1", "h2", "h3") and self._cell is not None:
            self.headings.append((tag, "".join(self._cell).strip()))
            self._cell = self._heading = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def read_html(path: Path) -> _Cells:
    parser = _Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def docx_tables(doc) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def communities(a) -> list[str]:
    return sorted(str(v) for v in a.blocks["community"].dropna().unique())


def test_every_demo_community_has_both_drafts(demo):
    a, _, out = demo
    names = communities(a)
    # the communities holding blocks, found without planner: each block's representative
    # point in a community polygon (geopandas sjoin); the demo draws four quadrants
    points = gpd.GeoDataFrame(geometry=a.blocks.representative_point(), crs=a.blocks.crs)
    hits = gpd.sjoin(
        points.to_crs(a.communities.crs), a.communities[["community", "geometry"]], "inner"
    )
    assert names == sorted(hits["community"].unique())
    assert len(names) == len(a.communities) == 4
    for name in names:
        page, word = out / "reports" / f"{name}.html", out / "reports" / f"{name}.docx"
        assert page.exists() and word.exists()
        doc = docx.Document(str(word))
        # the sections are Word headings (navigation pane, table of contents)
        level1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
        assert level1[:5] == SECTIONS
        assert any(p.style.name == "Heading 2" for p in doc.paragraphs)
        assert "TOC \\o" in doc.element.xml  # the contents field Word fills in
        assert len(doc.tables) >= 5
        assert len(doc.inline_shapes) == 1  # the map picture
        blob = doc.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
        assert doc.part.related_parts[blob].content_type == "image/png"
        section = doc.sections[0]
        assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
        html = read_html(page)
        assert [t for h, t in html.headings if h == "h2"][:5] == SECTIONS
        assert 'src="data:image/png;base64,' in page.read_text(encoding="utf-8")


def test_word_and_html_carry_the_same_numbers(demo):
    a, s, out = demo
    checked = 0
    for name in communities(a):
        doc = docx.Document(str(out / "reports" / f"{name}.docx"))
        html = read_html(out / "reports" / f"{name}.html")
        assert docx_tables(doc) == html.tables
        tables = html.tables
        # population and households, by hand from the blocks
        own = a.blocks[a.blocks["community"] == name]
        facts = dict(tables[0][1:])
        assert facts["常住人口(人)"] == f"{own['population'].sum():,.0f}"
        assert facts["户数(户)"] == f"{own['households'].sum():,.0f}"
        # coverage of each circle: residents of the blocks inside / residents
        circles = next(t for t in tables if t[0][0] == "生活圈" and t[0][1] == "出行方式与时间")
        for row in circles[1:]:
            c = next(c for c in a.circles if c.name_zh == row[0])
            inside = own[c.id].astype("boolean").fillna(False).to_numpy(dtype=bool)
            pop = own["population"].to_numpy(dtype=float)
            assert row[2] == f"{pop[inside].sum() / pop.sum():.1%}", (name, c.id)
            assert row[5] == f"{pop[~inside].sum():,.0f}"
        # gaps: the people outside the siting circle, in the problems table
        c = a.circle(s.circle)
        inside = own[c.id].astype("boolean").fillna(False).to_numpy(dtype=bool)
        outside = own["population"].to_numpy(dtype=float)[~inside].sum()
        problems = next(t for t in tables if t[0][:2] == ["序号", "问题"])
        gaps = [r for r in problems if r[1] == f"{c.name_zh}覆盖不足"]
        if outside > 0:
            assert gaps and gaps[0][2].startswith(f"{outside:,.0f}人（")
            checked += 1
        else:
            assert gaps == []  # nobody outside: no such problem listed
    assert checked > 0  # some community has residents outside the siting circle


#: What may stay in Latin letters in a Chinese draft: the tool's name and the codes of
#: national standards (a circle named after GB 50180, a clause of TD/T 1062).
ALLOWED = re.compile(r"\bplanner\b|\b(?:GB|TD)(?:/T)? ?\d+(?:[.-]\d+)*")


def latin_left(text: str, names: set[str]) -> list[str]:
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    text = ALLOWED.sub(" ", text)
    return re.findall(r"[A-Za-z][A-Za-z0-9_./-]*", text)


def data_names(a) -> set[str]:
    """Names that come from the data: facilities, blocks, communities, files."""
    names: set[str] = set()
    fac = a.facilities
    if "name" in fac.columns:
        names |= {str(v) for v in fac["name"].dropna()}
    if "source_file" in fac.columns:
        names |= {Path(str(v)).name for v in fac["source_file"].dropna()}
    b = a.blocks
    if "name" in b.columns:
        names |= {str(v) for v in b["name"].dropna()}
    names |= {str(i) for i in b.index} | {f"#{i}" for i in b.index}
    return {n for n in names if n.strip()}


def test_chinese_drafts_have_no_latin_internal_codes(demo, tmp_path):
    a, _, out = demo
    names = data_names(a)
    for name in communities(a):
        doc = docx.Document(str(out / "reports" / f"{name}.docx"))
        texts = [p.text for p in doc.paragraphs]
        texts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
        left = latin_left("\n".join(texts), names)
        assert left == [], (name, left[:20])
        html = read_html(out / "reports" / f"{name}.html")
        left = latin_left("".join(html.text), names)
        assert left == [], (name, left[:20])
    # the check can fail: the English draft is full of Latin words
    en = planner.write_report(a, communities(a)[0], tmp_path / "en", lang="en")
    doc = docx.Document(str(en[1]))
    assert len(latin_left("\n".join(p.text for p in doc.paragraphs), names)) > 20


def test_english_draft_has_the_same_tables_shape(demo, tmp_path):
    a, s, _ = demo
    name = communities(a)[0]
    _, zh_doc = planner.write_report(a, name, tmp_path / "zh", sites=s)
    _, en_doc = planner.write_report(a, name, tmp_path / "en", sites=s, lang="en")
    zh, en = docx.Document(str(zh_doc)), docx.Document(str(en_doc))
    assert [len(t.rows) for t in zh.tables] == [len(t.rows) for t in en.tables]
    level1 = [p.text for p in en.paragraphs if p.style.name == "Heading 1"]
    assert level1[:5] == [
        "1. Basic facts",
        "2. Current provision",
        "3. Main problems",
        "4. Planned projects",
        "5. Implementation",
    ]
    # numbers are the same in both languages
    assert docx_tables(zh)[0][5][1] == docx_tables(en)[0][5][1]
