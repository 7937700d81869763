"""The one column-header resolver every reader uses (planner.sources._columns).

Tested here once; the readers' own tests check that they go through it (a header one
reader accepts, the others accept too).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import planner
from planner.errors import InputError, MissingColumnError
from planner.sources._columns import (
    CODE,
    COMMUNITY,
    COMMUNITY_NAME,
    HOUSEHOLDS,
    NAME,
    OPENING_HOURS,
    POPULATION,
    Field,
    find_column,
    missing_column,
    named_column,
    normalise,
    require_column,
)
from planner.sources.community_tables import read_community_table


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Population", "population"),  # case
        ("ＰＯＰ", "pop"),  # full-width letters (NFKC)
        ("常住人口（人）", "常住人口人"),  # full-width brackets dropped, text kept
        (" 户 数 ", "户数"),  # spaces, also inside
        ("opening-hours", "openinghours"),  # punctuation
        ("社区(村)名称", "社区村名称"),
        ("面积㎡", "面积m2"),  # a compatibility character becomes its letters
        ("poi_name", "poiname"),
        ("名称\u3000", "名称"),  # the ideographic space
        ("【编号】", "编号"),
    ],
)
def test_normalise(header, key):
    assert normalise(header) == key


def test_aliases_found_in_order_of_preference():
    # 常住人口 (resident population) is preferred to 人口, whatever the column order
    assert find_column(["人口", "常住人口", "户数"], POPULATION) == "常住人口"
    assert find_column(["户数", "名称"], POPULATION) is None
    # the first of two headers that read the same wins (file order)
    assert find_column(["人口 ", "人口"], POPULATION) == "人口 "
    # geometry is never a match, and a skipped column cannot be the answer
    assert find_column(["name", "名称"], NAME, skip=["name"]) == "名称"
    assert find_column(["geometry"], Field("geometry", ("geometry",))) is None


@pytest.mark.parametrize(
    ("columns", "field", "found"),
    [
        (["小区名称", "常住人口（人）", "户数[户]"], POPULATION, "常住人口（人）"),
        (["小区名称", "常住人口（人）", "户数[户]"], HOUSEHOLDS, "户数[户]"),
        (["ＮＡＭＥ", "x"], NAME, "ＮＡＭＥ"),
        (["社区（村）", "代码"], COMMUNITY, "社区（村）"),
        (["村（社区）名称"], COMMUNITY_NAME, "村（社区）名称"),
        (["统计用区划代码"], CODE, "统计用区划代码"),
        (["Opening Hours"], OPENING_HOURS, "Opening Hours"),
        (["营业时间(24h)"], OPENING_HOURS, "营业时间(24h)"),  # a bracketed note
    ],
)
def test_headers_as_planners_write_them(columns, field, found):
    assert find_column(columns, field) == found


def test_a_whole_header_beats_one_found_without_its_note():
    # "人口(户籍)" is 人口 only once its note is dropped; "常住人口" matches as it is
    assert find_column(["人口(户籍)", "常住人口"], POPULATION) == "常住人口"
    assert find_column(["人口(户籍)", "户数"], POPULATION) == "人口(户籍)"


def test_given_names_are_matched_exactly_then_normalised():
    cols = ["常住人口", "Pop Total", "户数"]
    assert find_column(cols, POPULATION, given="常住人口") == "常住人口"
    assert find_column(cols, POPULATION, given="pop_total") == "Pop Total"
    assert named_column(cols, "POP-TOTAL") == "Pop Total"
    assert named_column(cols, "人数") is None
    with pytest.raises(InputError, match=r"'Pop', 'POP' all read as 'pop'.*rename one"):
        find_column(["Pop", "POP"], POPULATION, given="pop")


def test_missing_given_column_lists_the_columns_and_the_closest():
    cols = ["小区名称", "人口数量", "户数", "geometry"]
    with pytest.raises(MissingColumnError) as err:
        find_column(cols, POPULATION, given="人口数", given_as="population", where="blocks")
    text = str(err.value)
    assert text.startswith("blocks: no column '人口数' for population (given as population=)")
    assert "columns present: '小区名称', '人口数量', '户数'." in text  # not geometry
    assert text.endswith("Did you mean '人口数量'?")


def test_missing_detected_column_names_what_was_looked_for():
    with pytest.raises(MissingColumnError) as err:
        require_column(["名字", "人口数量"], NAME, given_as="name", where="t.csv")
    text = str(err.value)
    assert "t.csv: no column for names (looked for 'name', '名称', 'title'" in text
    assert "columns present: '名字', '人口数量'." in text
    assert "Did you mean '名字'?" in text  # closest to an alias (名称)
    assert text.endswith("Pass name='<column>'.")
    # nothing alike: no suggestion rather than a silly one
    alone = str(missing_column("t", ["x"], POPULATION, given="常住人口"))
    assert "Did you mean" not in alone


def test_every_reader_accepts_the_same_headers(tmp_path):
    """One header in three readers: blocks, communities and a bureau table."""
    headers = {"name": "社区（村）名称", "pop": "常住人口（人）", "hh": "户 数"}
    square = shapely.box(114.05, 22.54, 114.06, 22.55)
    layer = gpd.GeoDataFrame(
        {headers["name"]: ["东风社区"], headers["pop"]: [1980], headers["hh"]: [600]},
        geometry=[square],
        crs=4326,
    )
    path = tmp_path / "layer.gpkg"
    layer.to_file(path)
    blocks = planner.read_blocks(path)
    assert blocks["population"].tolist() == [1980.0]
    assert blocks["households"].tolist() == [600.0]
    assert blocks["community"].tolist() == ["东风社区"]
    communities = planner.read_communities(path)
    assert communities["community"].tolist() == ["东风社区"]
    table = tmp_path / "table.csv"
    pd.DataFrame(layer.drop(columns="geometry")).to_csv(table, index=False)
    read = read_community_table(table)
    assert read["community"].tolist() == ["东风社区"]
    assert read["population"].tolist() == [1980.0]
    assert read["households"].tolist() == [600.0]


@pytest.mark.parametrize(
    ("columns", "given", "want"),
    [
        (["name", "opening_hours"], None, "opening_hours"),
        (["名称", "营业时间"], None, "营业时间"),
        (["name", "Opening Hours", "hours"], None, "Opening Hours"),  # aliases in order
        (["name", "服务时间", "开放时间"], None, "开放时间"),
        (["name", "ＯＰＥＮＩＮＧ＿ＨＯＵＲＳ"], None, "ＯＰＥＮＩＮＧ＿ＨＯＵＲＳ"),  # full width
        (["name", " 营业 时间（周一至周日） "], None, " 营业 时间（周一至周日） "),  # a note
        (["name", "my_hours"], "my_hours", "my_hours"),
        (["name", "My Hours"], "my_hours", "My Hours"),  # a given name matches normalised
        (["name", "x"], None, None),
        (["name", "x"], "hours_of_opening", None),
    ],
)
def test_opening_hours_headers_are_found_as_every_reader_finds_headers(columns, given, want):
    """hours.find_hours_column goes through the shared resolver: the same normalisation
    (width, case, spaces, notes in brackets) and the same error as the readers."""
    from planner.hours import find_hours_column

    df = pd.DataFrame({c: [] for c in columns})
    if want is None:
        with pytest.raises(MissingColumnError, match="facilities"):
            find_hours_column(df, given)
        return
    assert find_hours_column(df, given) == want
