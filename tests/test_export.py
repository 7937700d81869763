"""planner.outputs.export: written paths, the missing-category column, spreadsheet safety."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from helpers import points
from sharing import copied, frozen
from town import LIFE_CIRCLE as LIFE
from town import xss_town

import planner
from planner.outputs._common import missing_ids, missing_lists
from planner.outputs.export import write_assessment, write_sites
from planner.outputs.maps import map_assessment, map_html
from planner.outputs.report import write_report

#: Names a spreadsheet would run, or read as a number, if written as they are.
HOSTILE = [
    '=HYPERLINK("http://x.example","点我")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def _town_a():
    return frozen(xss_town())


@pytest.fixture
def town_a(_town_a):
    return copied(_town_a)


def as_lists(a):
    """The assessment with ``<circle>__missing`` as lists of ids (the tidy model)."""
    blocks = a.blocks.copy()
    for c in a.circles:
        col = f"{c.id}__missing"
        lists = missing_lists(blocks[col])
        applies = blocks[c.id].notna().to_numpy()
        blocks[col] = pd.Series(
            [ids if ok else None for ids, ok in zip(lists, applies, strict=True)],
            index=blocks.index,
            dtype=object,
        )
    return planner.assessment.Assessment(**{**vars(a), "blocks": blocks})


# --- the missing-category column ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (["housekeeping", "catering"], ["housekeeping", "catering"]),
        (("housekeeping",), ["housekeeping"]),
        (np.array(["catering", "recycling_point"]), ["catering", "recycling_point"]),
        ("housekeeping, catering", ["housekeeping", "catering"]),
        ("housekeeping,catering", ["housekeeping", "catering"]),
        ("", []),
        ([], []),
        (None, []),
        (pd.NA, []),
        (np.nan, []),
    ],
)
def test_missing_ids_reads_every_form(value, want):
    assert missing_ids(value) == want


def test_export_writes_the_missing_categories_by_chinese_name(town_a, tmp_path):
    a, _ = town_a
    table = a.preset.table
    # U1 (urban) misses the recycling point; R2 (rural) all nine kinds of the half hour
    assert missing_ids(a.blocks.loc["U1", f"{LIFE}__missing"]) == ["recycling_point"]
    nine = missing_ids(a.blocks.loc["R2", "rural_30min_life__missing"])
    assert nine == list(a.circle("rural_30min_life").categories)
    want_nine = "、".join(table.name(i, "zh").split(" / ")[0] for i in nine)
    assert want_nine.startswith("家政服务、老年人日间照料中心、")
    life = f"城市社区15分钟生活圈缺少设施 {LIFE}__missing"
    rural = "农村社区半个小时生活圈缺少设施 rural_30min_life__missing"
    for form, assessment in (("text", a), ("lists", as_lists(a))):
        folder = tmp_path / form
        paths = write_assessment(assessment, folder, formats=("gpkg", "csv", "xlsx"))
        assert all(isinstance(p, Path) for p in paths)
        csv_blocks = pd.read_csv(folder / "assessment_blocks.csv", encoding="utf-8-sig")
        xlsx_blocks = pd.read_excel(folder / "assessment.xlsx", sheet_name="blocks")
        gpkg_blocks = pyogrio.read_dataframe(folder / "assessment.gpkg", layer="blocks")
        for table_read in (csv_blocks, xlsx_blocks, gpkg_blocks):
            got = table_read[life].tolist()
            assert got[0] == "再生资源回收点", form
            assert pd.isna(got[2]) and pd.isna(got[3])  # rural blocks: circle does not apply
            assert table_read[rural].tolist()[3] == want_nine, form
        assert gpkg_blocks[life].tolist()[1] == ""  # U2: inside, nothing missing


def test_maps_and_reports_read_lists_as_they_read_text(town_a, tmp_path):
    a, sites = town_a
    lists = as_lists(a)
    for c in (LIFE, "rural_30min_life"):
        one = map_html(map_assessment(a, circle=c, isochrones=False))
        two = map_html(map_assessment(lists, circle=c, isochrones=False))
        assert _strip_ids(one) == _strip_ids(two)
        assert "缺少 Missing" in one
    first = write_report(a, "东风社区", tmp_path / "a", sites=sites)[0].read_text("utf-8")
    second = write_report(lists, "东风社区", tmp_path / "b", sites=sites)[0].read_text("utf-8")
    assert _strip_ids(first) == _strip_ids(second)


def _strip_ids(text: str) -> str:
    import re

    text = re.sub(r"[0-9a-f]{32}", "ID", text)
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "DATE", text)


# --- paths ----------------------------------------------------------------------------


def test_writers_return_paths(town_a, tmp_path):
    a, sites = town_a
    paths = a.to_files(tmp_path / "t", formats=["csv", "gpkg"])
    assert all(isinstance(p, Path) and p.exists() for p in paths)
    assert [p.name for p in paths][:2] == ["assessment.gpkg", "assessment_blocks.csv"]
    assert write_sites(sites, tmp_path) == [tmp_path / "sites.gpkg", tmp_path / "sites.csv"]
    pages = write_report(a, "all", tmp_path / "r")
    assert all(isinstance(p, Path) for p in pages)


# --- spreadsheet safety ---------------------------------------------------------------


def hostile_assessment(a):
    """Hostile text in object, string and categorical columns, in the index (community
    names) and in a header."""
    b = a.blocks.copy()
    n = len(b)
    b["name"] = HOSTILE[:n]
    b["note"] = pd.array(HOSTILE[-n:], dtype="string")
    b["kind"] = pd.Categorical(["=1+1", "@x", "ok", "-", "+"][:n])
    b["=evil()"] = 1.0
    b["number"] = [-5.0, 3.0, -1.5, 0.0, 2.0][:n]
    by_community = a.by_community.rename(index={"东风社区": "=东风社区()"}, level=0)
    return planner.assessment.Assessment(**{**vars(a), "blocks": b, "by_community": by_community})


def test_csv_text_cannot_start_a_formula(town_a, tmp_path):
    a, _ = town_a
    h = hostile_assessment(a)
    write_assessment(h, tmp_path, formats=["csv"])
    seen = 0
    for path in sorted(tmp_path.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        for row in rows:
            for cell in row:
                if cell.startswith(TRIGGERS):
                    # a number (e.g. -5.0) is still a number; text carries the apostrophe
                    float(cell)
                seen += cell.startswith("'")
        if path.name.endswith("_blocks.csv"):
            header = rows[0]
            assert "'=evil()" in header
            table = {h: [r[header.index(h)] for r in rows[1:]] for h in header}
            assert table["名称 name"] == ["'" + v for v in HOSTILE[:5]]
            assert table["note"] == ["'" + v for v in HOSTILE[-5:]]
            assert table["类型 kind"] == ["'=1+1", "'@x", "ok", "'-", "'+"]
            assert table["number"] == ["-5.0", "3.0", "-1.5", "0.0", "2.0"]
        if path.name.endswith("_by_community.csv"):
            assert "'=东风社区()" in [r[0] for r in rows]
    assert seen >= 5 + 5 + 4 + 1


def test_xlsx_text_is_never_a_formula(town_a, tmp_path):
    a, _ = town_a
    h = hostile_assessment(a)
    [path] = write_assessment(h, tmp_path, formats=["xlsx"])
    book = openpyxl.load_workbook(path)
    formulas = [
        (ws.title, cell.coordinate)
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    ws = book["blocks"]
    header = [c.value for c in ws[1]]
    assert "=evil()" in header
    col = {
        name: [ws.cell(row=r, column=header.index(name) + 1).value for r in range(2, 7)]
        for name in header
    }

    # the text as it was, as text (XML may read a carriage return back as a line feed)
    def same(values):
        return [v.replace("\r", "\n") for v in values]

    assert same(col["名称 name"]) == same(HOSTILE[:5])
    assert same(col["note"]) == same(HOSTILE[-5:])
    assert col["类型 kind"] == ["=1+1", "@x", "ok", "-", "+"]
    assert col["number"] == [-5, 3, -1.5, 0, 2]  # numbers stay numbers
    first = [c.value for c in book["by_community"]["A"]]
    assert "=东风社区()" in first


def test_xlsx_cuts_overlong_text_with_a_warning(town_a, tmp_path):
    a, _ = town_a
    b = a.blocks.copy()
    b["name"] = ["长" * 40_000, "ok", "bell\x07char", None, "x"]
    h = planner.assessment.Assessment(**{**vars(a), "blocks": b})
    with pytest.warns(planner.errors.PlannerWarning) as caught:
        paths = write_assessment(h, tmp_path, formats=["xlsx", "csv"])
    texts = [str(w.message) for w in caught]
    assert any("32,767" in t and "1 text cell" in t and "sheet blocks" in t for t in texts)
    assert any("control characters" in t for t in texts)
    ws = openpyxl.load_workbook(tmp_path / "assessment.xlsx")["blocks"]
    header = [c.value for c in ws[1]]
    j = header.index("名称 name") + 1
    assert ws.cell(row=2, column=j).value == "长" * 32_767
    assert ws.cell(row=4, column=j).value == "bellchar"
    # the CSV keeps the whole text
    table = pd.read_csv(tmp_path / "assessment_blocks.csv", encoding="utf-8-sig")
    assert table["名称 name"].iloc[0] == "长" * 40_000
    assert len(paths) == len(list(tmp_path.iterdir()))


def test_sites_csv_is_safe(tmp_path):
    sites = points([(0, 0), (10, 0)], name=["=1+2", "@站"], rank=[1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gpkg, path = write_sites(sites, tmp_path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["'=1+2", "'@站"]
    assert [r["rank"] for r in rows] == ["1", "2"]
    assert pyogrio.read_dataframe(gpkg)["name"].tolist() == ["=1+2", "@站"]  # GIS keeps it
