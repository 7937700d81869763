"""Property tests of the readers (hypothesis): coordinate round trips, and readers given
random bytes, random column names and random encodings raise only planner.errors
exceptions. Sized to run in a few seconds each (max_examples, no example database).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
from planner.errors import PlannerError
from planner.sources import coords
from planner.sources._numbers import parse_numbers

FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Inside China, away from the rectangle's edges (where GCJ-02 is defined).
china_lon = st.floats(73.7, 134.7, allow_nan=False)
china_lat = st.floats(18.2, 53.4, allow_nan=False)
# 1e-9 degrees is about 0.1 mm
TOL_DEG = 1e-9


@FAST
@given(lon=china_lon, lat=china_lat)
def test_gcj02_round_trip(lon: float, lat: float) -> None:
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    assert (glon, glat) != (lon, lat)  # inside China the shift is never zero
    back = coords.gcj02_to_wgs84(glon, glat)
    assert abs(back[0] - lon) < TOL_DEG and abs(back[1] - lat) < TOL_DEG


@FAST
@given(lon=china_lon, lat=china_lat)
def test_bd09_round_trips(lon: float, lat: float) -> None:
    blon, blat = coords.wgs84_to_bd09(lon, lat)
    back = coords.bd09_to_wgs84(blon, blat)
    assert abs(back[0] - lon) < TOL_DEG and abs(back[1] - lat) < TOL_DEG
    glon, glat = coords.gcj02_to_bd09(lon, lat)  # the same numbers taken as GCJ-02
    again = coords.bd09_to_gcj02(glon, glat)
    assert abs(again[0] - lon) < TOL_DEG and abs(again[1] - lat) < TOL_DEG


@FAST
@given(
    lon=st.lists(china_lon, min_size=1, max_size=20),
    lat=st.lists(china_lat, min_size=1, max_size=20),
)
def test_conversions_of_arrays_equal_those_of_points(lon: list[float], lat: list[float]) -> None:
    n = min(len(lon), len(lat))
    x, y = np.array(lon[:n]), np.array(lat[:n])
    got_x, got_y, label = coords.to_wgs84(x, y, "gcj02")
    assert label == "GCJ-02"
    for i in range(n):  # the iteration stops for the array as a whole: equal to 1e-12 deg
        one = coords.gcj02_to_wgs84(float(x[i]), float(y[i]))
        assert abs(got_x[i] - one[0]) < 1e-12 and abs(got_y[i] - one[1]) < 1e-12


@FAST
@given(lon=st.floats(-180, 72.0, allow_nan=False), lat=st.floats(-90, 90, allow_nan=False))
def test_points_outside_china_are_left_alone(lon: float, lat: float) -> None:
    assert coords.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert coords.bd09_to_wgs84(lon, lat) == (lon, lat)


# --- numbers -----------------------------------------------------------------------------


@FAST
@given(st.integers(0, 10**9), st.sampled_from(["", "人", "户", "㎡", "平方米", "个"]))
def test_numbers_written_with_separators_full_width_and_units(n: int, unit: str) -> None:
    written = [f"{n:,}{unit}", f"{n}{unit}".translate(FULL_WIDTH), f" {n} {unit} "]
    parsed = parse_numbers(pd.Series(written, dtype=object))
    assert parsed.values.tolist() == [float(n)] * 3
    assert not parsed.unreadable.any()
    wan = parse_numbers(pd.Series([f"{n / 10_000:.4f}万"]))
    assert wan.values[0] == pytest.approx(n, abs=1.0)


FULL_WIDTH = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


@FAST
@given(st.lists(st.text(max_size=12), min_size=1, max_size=30))
def test_the_number_parser_never_fails_and_flags_what_it_cannot_read(cells: list[str]) -> None:
    parsed = parse_numbers(pd.Series(cells, dtype=object))
    assert len(parsed.values) == len(cells)
    read = np.isfinite(parsed.values)
    assert not (read & (parsed.empty | parsed.unreadable)).any()
    assert (read | parsed.empty | parsed.unreadable).all()  # every cell is one of three


# --- readers never fail with someone else's exception --------------------------------------

#: First bytes that get a file past planner's checks into the third-party reader.
MAGIC = {
    ".osm.pbf": [b"", b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18\x10"],
    ".osm": [b"", b'<?xml version="1.0"?><osm version="0.6">', b"<osm><node id='1' "],
    ".osm.bz2": [b"", b"BZh91AY&SY"],
    ".graphml": [b"", b'<?xml version="1.0"?><graphml><graph><node id="1"/>'],
    ".gpkg": [b"", b"SQLite format 3\x00"],
    ".shp": [b"", b"\x00\x00\x27\x0a" + b"\x00" * 20 + b"\x00\x00\x00\x40"],
    ".geojson": [b"", b'{"type": "FeatureCollection", "features": [', b"["],
    ".csv": [b"", b"name,lng,lat\n", "社区,社工人数\n".encode("gbk")],
    ".xlsx": [b"", b"PK\x03\x04"],
}
NETWORK = {".osm.pbf", ".osm", ".osm.bz2", ".graphml", ".gpkg", ".shp", ".geojson"}
OSM = {".osm.pbf", ".osm", ".osm.bz2"}
LAYER = {".gpkg", ".shp", ".geojson", ".csv", ".xlsx"}
TABLE = {".csv", ".xlsx"}


def _readers(path: Path, suffix: str) -> list[Callable[[], object]]:
    calls: list[Callable[[], object]] = []
    if suffix in NETWORK:
        calls.append(lambda: planner.load_network(path))
    if suffix in OSM:
        calls.append(lambda: planner.load_facilities(path))
    if suffix in LAYER:
        calls.append(lambda: planner.read_layer(path))
        calls.append(lambda: planner.read_blocks(path))
    if suffix in TABLE:
        calls.append(lambda: planner.read_community_table(path))
    return calls


def _only_planner_errors(calls: list[Callable[[], object]]) -> None:
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(PlannerError):
                call()


@settings(FAST, max_examples=150)
@given(
    suffix=st.sampled_from(sorted(MAGIC)),
    magic=st.integers(0, 2),
    body=st.binary(max_size=600),
)
def test_readers_given_random_bytes_raise_only_planner_errors(
    suffix: str, magic: int, body: bytes
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        heads = MAGIC[suffix]
        path.write_bytes(heads[magic % len(heads)] + body)
        if suffix == ".shp":  # a shapefile's companions, as random as the rest
            path.with_suffix(".shx").write_bytes(body[:100])
            path.with_suffix(".dbf").write_bytes(body[100:])
        _only_planner_errors(_readers(path, suffix))


def _valid_files(folder: Path) -> dict[str, bytes]:
    """Small whole files of each kind, to be cut and damaged."""
    import geopandas as gpd
    import shapely

    lines = gpd.GeoDataFrame(
        {"name": ["东路", "西路"], "pop": [10, 20]},
        geometry=[
            shapely.LineString([(114.05, 22.54), (114.06, 22.54)]),
            shapely.LineString([(114.055, 22.535), (114.055, 22.545)]),
        ],
        crs=4326,
    )
    out: dict[str, bytes] = {}
    for suffix in (".gpkg", ".geojson", ".shp"):
        path = folder / f"valid{suffix}"
        lines.to_file(path)
        out[suffix] = path.read_bytes()
    table = pd.DataFrame(
        {"社区": ["东风社区"], "社工人数": ["3人"], "lng": [114.05], "lat": [22.54]}
    )
    table.to_excel(folder / "valid.xlsx", index=False)
    out[".xlsx"] = (folder / "valid.xlsx").read_bytes()
    out[".csv"] = table.to_csv(index=False).encode("gbk")
    out[".osm"] = (
        b'<?xml version="1.0"?><osm version="0.6"><node id="1" lat="22.54" lon="114.05"/>'
        b'<node id="2" lat="22.55" lon="114.05"/><way id="3"><nd ref="1"/><nd ref="2"/>'
        b'<tag k="highway" v="residential"/><tag k="amenity" v="library"/></way></osm>'
    )
    return out


@functools.cache
def _valid() -> tuple[Path, dict[str, bytes]]:
    folder = Path(tempfile.mkdtemp(prefix="planner-valid-"))
    return folder, _valid_files(folder)


VALID_KINDS = [".csv", ".geojson", ".gpkg", ".osm", ".shp", ".xlsx"]


@FAST
@given(
    suffix=st.sampled_from(VALID_KINDS),
    keep=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=6),
)
def test_readers_given_cut_or_damaged_files_raise_only_planner_errors(
    suffix: str, keep: float, flips: list[tuple[float, int]]
) -> None:
    src, valid = _valid()
    data = bytearray(valid[suffix][: max(1, int(len(valid[suffix]) * keep))])
    for where, mask in flips:
        data[min(int(where * len(data)), len(data) - 1)] ^= mask
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(bytes(data))
        if suffix == ".shp":  # the companions stay whole: the .shp alone is damaged
            for extra in (".shx", ".dbf", ".prj", ".cpg"):
                if (src / f"valid{extra}").exists():
                    path.with_suffix(extra).write_bytes((src / f"valid{extra}").read_bytes())
        _only_planner_errors(_readers(path, suffix))


ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "big5"]
header = st.text(min_size=1, max_size=8).filter(lambda t: t.strip() and "\x00" not in t)
cell = st.one_of(
    st.text(max_size=8),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-200, 200, allow_nan=False).map(str),
    st.sampled_from(["114.05", "22.54", "1,980", "1.2万", "东风社区", "合计", ""]),
)


@FAST
@given(
    headers=st.lists(
        st.one_of(header, st.sampled_from(["lng", "lat", "社区", "常住人口", "名称", "location"])),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    cells=st.lists(cell, min_size=1, max_size=24),
    encoding=st.sampled_from(ENCODINGS),
    delimiter=st.sampled_from([",", "\t", ";"]),
)
def test_tables_with_random_headers_and_encodings_raise_only_planner_errors(
    headers: list[str], cells: list[str], encoding: str, delimiter: str
) -> None:
    width = len(headers)
    rows = [cells[i : i + width] for i in range(0, len(cells), width)]
    lines = [delimiter.join(headers), *(delimiter.join(r) for r in rows)]
    try:
        data = "\n".join(lines).encode(encoding)
    except UnicodeEncodeError:
        data = "\n".join(lines).encode("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_bytes(data)
        calls = [
            *_readers(path, ".csv"),
            lambda: planner.read_facilities(path, category_from=headers[0]),
            lambda: planner.read_facilities(path, category=headers[-1]),
            lambda: planner.read_blocks(path, population=headers[0]),
        ]
        _only_planner_errors(calls)
