"""Planners' own files: point tables (CSV, TSV, Excel) and spatial files, read into WGS-84.

:func:`read_layer` reads any supported file into a GeoDataFrame in EPSG:4326 with
provenance columns (``source_file``, ``source_row``, ``source_crs``); the readers of
facilities, blocks and communities build on it. :func:`read_facilities` turns a table of
facilities (an Amap/Tencent POI export, a planner's survey sheet, a shapefile of
stations) into the same shape as :func:`planner.load_facilities` output.

Formats (by suffix, case-insensitive):

* text tables ``.csv``, ``.txt``, ``.tsv``: delimiter sniffed among comma, tab and
  semicolon; encoding UTF-8 (with or without BOM), UTF-16 (with BOM) or GB18030 (a
  superset of GBK/GB2312, what Chinese Excel saves), or ``encoding=``;
* Excel ``.xlsx`` / ``.xlsm`` (openpyxl) and ``.xls`` (needs xlrd);
* spatial files ``.geojson``, ``.json``, ``.gpkg``, ``.shp``, ``.fgb``, ``.parquet``.

Tables hold points as longitude/latitude columns (``lng``/``lat``, ``经度``/``纬度``,
``x``/``y``, ``gcj02_lng``, ...) or an Amap-style ``location`` column ``"lng,lat"``.
Tables carry no CRS, so ``crs=None`` means WGS-84; pass ``crs="gcj02"`` for Amap or
Tencent exports and ``crs="bd09"`` for Baidu ones.

Input files are only ever read.
"""

from __future__ import annotations

import codecs
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from .._log import log
from ..errors import InputError, MissingColumnError, NoCrsError, PlannerWarning, closest, describe
from ..rules import CategoryTable
from ..rules import categories as category_table
from ._tables import norm_header, read_excel_table, read_text_table

__all__ = ["read_facilities", "read_layer"]

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SPATIAL_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".parquet")
SUFFIXES = (*TEXT_SUFFIXES, *EXCEL_SUFFIXES, *SPATIAL_SUFFIXES)

#: Columns read_layer adds; a file's own columns of these names get "_original".
PROVENANCE = ("source_file", "source_row", "source_crs")

# Column names (after norm_header: lower case, no spaces, punctuation or brackets) that hold
# longitudes, latitudes, or both as "lng,lat" text. A name may also carry a coordinate
# system tag before or after it ("wgs84_lng", "lng_gcj02", "经度(GCJ-02)").
LON_NAMES = frozenset(
    {"lon", "lng", "long", "longitude", "经度", "东经", "x", "pointx", "xcoord", "x坐标"}
)
LAT_NAMES = frozenset({"lat", "latitude", "纬度", "北纬", "y", "pointy", "ycoord", "y坐标"})
LOCATION_NAMES = frozenset({"location", "坐标", "经纬度", "经纬度坐标", "lnglat", "lonlat"})
_CRS_TAGS = {
    "wgs84": "wgs84",
    "wgs": "wgs84",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "bd09": "bd09",
    "bd": "bd09",
    "cgcs2000": "cgcs2000",
}
_WORD = {"lon": "longitude", "lat": "latitude"}
_NAME_COLUMNS = ("name", "名称", "title", "poi_name", "设施名称")
_TYPE_COLUMNS = ("type", "类型", "poi_type")
_GEOGRAPHIC_LABELS = ("WGS-84", "GCJ-02", "BD-09", "CGCS2000")
# "lng,lat", also "lng lat", "lng，lat" (full-width comma) and "[lng, lat]".
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LOCATION_RE = rf"^\s*[\[(]?\s*({_NUMBER})\s*(?:[,，;]\s*|\s+)({_NUMBER})\s*[\])]?\s*$"
# Language driver ids (.dbf byte 29) that name no code page: 0 (none) and 0x57 ("ANSI",
# the writer's Windows code page, which on a Chinese system is GBK).
_LDID_UNKNOWN = (0x00, 0x57)
# How much of a .dbf's records to test for UTF-8 / GBK when sniffing its encoding.
_DBF_SNIFF_BYTES = 16 << 20

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _warn(msg: str) -> None:
    warnings.warn(msg, PlannerWarning, stacklevel=3)


def _coord_kind(name: object) -> tuple[str | None, str | None]:
    """("lon" | "lat" | "location" | None, crs tag or None) for a column name."""
    key = norm_header(name)
    kinds = (("lon", LON_NAMES), ("lat", LAT_NAMES), ("location", LOCATION_NAMES))
    for kind, names in kinds:
        if key in names:
            return kind, None
    for tag in sorted(_CRS_TAGS, key=len, reverse=True):
        for core in (key.removeprefix(tag), key.removesuffix(tag)):
            if core == key:
                continue
            for kind, names in kinds:
                if core in names:
                    return kind, _CRS_TAGS[tag]
    return None, None


# --- reading ---------------------------------------------------------------------------


def _sidecar(path: Path, suffix: str) -> Path | None:
    """A shapefile's companion file (``.dbf``, ``.cpg``, ...) in either letter case."""
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _shapefile_encoding(path: Path) -> str | None:
    """The encoding of a shapefile's attributes when GDAL cannot know it, else None.

    A ``.cpg`` file names the encoding and GDAL honours it, as it honours a code page in
    the ``.dbf`` header (its language driver id). Without either GDAL assumes
    ISO-8859-1, which turns the GBK text of most Chinese shapefiles (ArcGIS on a Chinese
    Windows writes GBK with no ``.cpg``) into mojibake. So then the raw bytes of the
    ``.dbf`` records are decoded here: text that is valid UTF-8 is UTF-8 (GBK text with
    Chinese characters is practically never valid UTF-8), else text that is valid GBK is
    GBK. Pure ASCII (or an undecodable mix) is left to GDAL. Decoding the bytes gives a
    yes/no answer, unlike guessing mojibake from characters that GDAL already decoded.
    """
    dbf = _sidecar(path, ".dbf")
    if _sidecar(path, ".cpg") is not None or dbf is None:
        return None
    utf8 = codecs.getincrementaldecoder("utf-8")()
    gbk = codecs.getincrementaldecoder("gbk")()
    ok = {"UTF-8": True, "GBK": True}
    seen_non_ascii = False
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32 or head[29] not in _LDID_UNKNOWN:
            return None
        fh.seek(int.from_bytes(head[8:10], "little"))  # start of the records
        done = 0
        while done < _DBF_SNIFF_BYTES and (ok["UTF-8"] or ok["GBK"]):
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            done += len(chunk)
            if not seen_non_ascii and chunk.isascii():
                continue
            seen_non_ascii = True
            for enc, decoder in (("UTF-8", utf8), ("GBK", gbk)):
                if ok[enc]:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        ok[enc] = False
    if not seen_non_ascii:
        return None
    return next((enc for enc, good in ok.items() if good), None)


def _read_spatial(
    path: Path, layer: str | int | None, encoding: str | None, where: str
) -> tuple[gpd.GeoDataFrame, str | None]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            return gpd.read_parquet(path), None
        except ImportError:
            msg = "reading .parquet files needs the pyarrow package: pip install pyarrow"
            raise InputError(msg) from None
        except (ValueError, OSError) as exc:
            msg = f"{where}: cannot be read as GeoParquet ({exc})."
            raise InputError(msg) from None
    try:
        layers = [str(name) for name in gpd.list_layers(path)["name"]]
    except (RuntimeError, OSError, ValueError) as exc:
        hint = (
            " Amap/Tencent API responses are not GeoJSON: put their 'pois' into a CSV."
            if suffix == ".json"
            else ""
        )
        msg = f"{where}: cannot be read as a {suffix} file ({exc}); is it damaged?{hint}"
        raise InputError(msg) from None
    if not layers:
        msg = f"{where} holds no layer; check that it is the right file."
        raise InputError(msg)
    if layer is None and len(layers) > 1:
        msg = (
            f"{where} holds {len(layers)} layers ({describe(layers)}); pass layer=... to pick one."
        )
        raise InputError(msg)
    if isinstance(layer, int) and not 0 <= layer < len(layers):
        msg = f"{where} has {len(layers)} layer(s) ({describe(layers)}); layer={layer} is too high."
        raise InputError(msg)
    if isinstance(layer, str) and layer not in layers:
        hint = closest(layer, layers)
        msg = f"{where} has no layer {layer!r}; its layers are {describe(layers)}.{hint}"
        raise InputError(msg)
    used = encoding
    if used is None and suffix == ".shp":
        used = _shapefile_encoding(path)
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    if used is not None:
        kwargs["encoding"] = used
    try:
        gdf = gpd.read_file(path, **kwargs)
    except (RuntimeError, OSError, ValueError) as exc:
        msg = f"{where}: cannot be read ({exc}); check that it is a valid {suffix} file."
        raise InputError(msg) from None
    if used is None and suffix == ".shp":
        cpg = _sidecar(path, ".cpg")
        used = cpg.read_text(encoding="ascii", errors="replace").strip() or None if cpg else None
    return gdf, used


# --- coordinates -----------------------------------------------------------------------


def _crs_label(crs: Any, where: str = "") -> str:
    """The provenance label of a crs argument (validated by coords.to_wgs84)."""
    from .coords import to_wgs84

    empty = np.zeros(0, dtype=np.float64)
    try:
        return to_wgs84(empty, empty, crs)[2]
    except InputError as exc:
        if not where:
            raise
        msg = f"{where}: {exc}"
        raise InputError(msg) from None


def _is_geographic(crs: Any, label: str) -> bool:
    if label in _GEOGRAPHIC_LABELS:
        return True
    return bool(pyproj.CRS.from_user_input(crs).is_geographic)


def _find_xy(
    df: pd.DataFrame, lon: str | None, lat: str | None, where: str
) -> tuple[str | None, str | None, str | None, str | None]:
    """(lon column, lat column, location column, crs tag of their names)."""
    cols = [str(c) for c in df.columns]
    fix = 'pass lon="<longitude column>", lat="<latitude column>"'
    if lon is not None or lat is not None:
        if lon is None or lat is None:
            msg = f"{where}: pass both lon= and lat= (got lon={lon!r}, lat={lat!r})."
            raise InputError(msg)
        for arg, col in (("lon", lon), ("lat", lat)):
            if col not in cols:
                msg = (
                    f"{where} has no column {col!r} (given as {arg}=); its columns are "
                    f"{describe(cols, limit=30)}.{closest(col, cols)}"
                )
                raise MissingColumnError(msg)
        return lon, lat, None, None
    found: dict[str, list[tuple[str, str | None]]] = {"lon": [], "lat": [], "location": []}
    for col in cols:
        kind, tag = _coord_kind(col)
        if kind is not None:
            found[kind].append((col, tag))
    for kind in ("lon", "lat"):
        if len(found[kind]) > 1:
            names = [c for c, _ in found[kind]]
            msg = (
                f"{where}: several columns could hold the {_WORD[kind]}: {describe(names)}; "
                f"{fix} to choose."
            )
            raise InputError(msg)
    if found["lon"] and found["lat"]:
        (xcol, xtag), (ycol, ytag) = found["lon"][0], found["lat"][0]
        return xcol, ycol, None, xtag or ytag
    if found["lon"] or found["lat"]:
        have = (found["lon"] or found["lat"])[0][0]
        lacking = "latitude" if found["lon"] else "longitude"
        msg = (
            f"{where}: found column {have!r} but no {lacking} column among "
            f"{describe(cols, limit=30)}; {fix}."
        )
        raise MissingColumnError(msg)
    if len(found["location"]) > 1:
        names = [c for c, _ in found["location"]]
        msg = (
            f"{where}: several columns could hold 'lng,lat' locations: {describe(names)}; "
            "keep one of them, or split it into two columns and pass lon=..., lat=...."
        )
        raise InputError(msg)
    if found["location"]:
        loc, tag = found["location"][0]
        return None, None, loc, tag
    msg = (
        f"{where}: no longitude/latitude columns found; its columns are "
        f"{describe(cols, limit=30)}. Name them lon/lat (or lng/lat, 经度/纬度, x/y), give an "
        f"Amap-style 'location' column \"lng,lat\", or {fix}."
    )
    raise MissingColumnError(msg)


def _as_numbers(values: pd.Series) -> FloatArray:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    text = values.astype("string").str.strip()
    nums = pd.to_numeric(text, errors="coerce")
    return np.asarray(nums.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _first_bad(values: pd.Series, bad: BoolArray) -> str:
    i = int(np.flatnonzero(bad)[0])
    raw = values.iloc[i]
    shown = "an empty cell" if pd.isna(raw) or str(raw).strip() == "" else repr(raw)
    return f"first at row {i}: {shown}"


def _table_points(
    df: pd.DataFrame,
    crs: Any,
    lon: str | None,
    lat: str | None,
    where: str,
) -> tuple[FloatArray, FloatArray, BoolArray, str]:
    """WGS-84 lon/lat of the rows kept, which rows are kept, and the crs label."""
    from .coords import to_wgs84

    xcol, ycol, loccol, tag = _find_xy(df, lon, lat, where)
    label = _crs_label(crs if crs is not None else "wgs84", where)
    if crs is None and tag in ("gcj02", "bd09"):
        named = xcol if loccol is None else loccol
        msg = (
            f"{where}: column {named!r} is named as {tag.upper()} coordinates, but crs=None "
            f"reads a table as WGS-84; pass crs={tag!r} (or crs='wgs84' if they are WGS-84)."
        )
        raise InputError(msg)
    if loccol is not None:
        raw = df[loccol]
        parts = raw.astype("string").str.extract(_LOCATION_RE)
        x = _as_numbers(parts[0])
        y = _as_numbers(parts[1])
        xs, ys = raw, raw
        xname, yname = loccol, loccol
    else:
        assert xcol is not None
        assert ycol is not None
        xs, ys = df[xcol], df[ycol]
        x, y = _as_numbers(xs), _as_numbers(ys)
        xname, yname = xcol, ycol
    n = len(df)
    bad_x = ~np.isfinite(x)
    bad_y = ~np.isfinite(y)
    null_island = (x == 0) & (y == 0)
    bad = bad_x | bad_y | null_island
    if bad.all():
        msg = (
            f"{where}: no row has usable coordinates in {describe(dict.fromkeys([xname, yname]))} "
            f"({_first_bad(xs, bad_x if bad_x.any() else bad)}); check the columns, or pass "
            'lon="<column>", lat="<column>".'
        )
        raise InputError(msg)
    keep = ~bad
    x_ok, y_ok = x[keep], y[keep]
    if _is_geographic(crs if crs is not None else "wgs84", label):
        _check_swapped(x_ok, y_ok, xname, yname, loccol is not None, where)
        out = (np.abs(x_ok) > 180) | (np.abs(y_ok) > 90)
        if out.all():
            msg = (
                f"{where}: the values in {describe(dict.fromkeys([xname, yname]))} are not "
                f"longitudes/latitudes (e.g. x={x_ok[0]:g}, y={y_ok[0]:g}); for projected "
                "coordinates in metres pass their crs, e.g. crs='EPSG:4547' (CGCS2000 3-degree "
                "Gauss-Kruger, 114E) or crs='EPSG:32649' (UTM 49N)."
            )
            raise InputError(msg)
        if out.any():
            i = int(np.flatnonzero(keep)[np.flatnonzero(out)[0]])
            keep[np.flatnonzero(keep)[out]] = False
            _warn(
                f"{where}: dropped {int(out.sum())} of {n} rows whose coordinates are out of "
                f"range (longitude -180..180, latitude -90..90) in "
                f"{describe(dict.fromkeys([xname, yname]))}, first at row {i}: "
                f"x={x[i]:g}, y={y[i]:g}; fix or remove those rows."
            )
            x_ok, y_ok = x[keep], y[keep]
    if bad.any():
        if loccol is not None:
            cells = [(loccol, xs, bad_x | bad_y)]
        else:
            cells = [(xname, xs, bad_x), (yname, ys, bad_y)]
        parts_msg = [
            f"column {col!r}: {_rows(int(col_bad.sum()))}, {_first_bad(values, col_bad)}"
            for col, values, col_bad in cells
            if col_bad.any()
        ]
        zeros = null_island & ~bad_x & ~bad_y
        if zeros.any():
            parts_msg.append(f"{_rows(int(zeros.sum()))} at 0,0, first at row {np.argmax(zeros)}")
        _warn(
            f"{where}: dropped {int(bad.sum())} of {n} rows whose coordinate is empty, not a "
            f"number or 0,0 ({'; '.join(parts_msg)}); fill in or remove those cells."
        )
    lon84, lat84, label = to_wgs84(x_ok, y_ok, crs if crs is not None else "wgs84")
    lon84 = np.asarray(lon84, dtype=np.float64)
    lat84 = np.asarray(lat84, dtype=np.float64)
    wrong = ~np.isfinite(lon84) | ~np.isfinite(lat84)
    wrong |= (np.abs(lon84) > 180) | (np.abs(lat84) > 90)
    if wrong.any():
        msg = (
            f"{where}: {_rows(int(wrong.sum()))} of {describe(dict.fromkeys([xname, yname]))} "
            f"are outside the area of crs={crs!r} (e.g. x={x_ok[wrong][0]:g}, "
            f"y={y_ok[wrong][0]:g}); check the crs and which column is x (east)."
        )
        raise InputError(msg)
    return lon84, lat84, keep, label


def _check_swapped(
    x: FloatArray, y: FloatArray, xname: str, yname: str, location: bool, where: str
) -> None:
    """Raise if the longitude and latitude columns look exchanged."""
    ax, ay = np.abs(x), np.abs(y)
    impossible = (ay > 90).mean() >= 0.5 and (ax <= 90).all() and (ay <= 180).all()
    lat_like_lon = ((y >= 73) & (y <= 136)).mean() >= 0.9
    lon_like_lat = ((x >= 3) & (x <= 54)).mean() >= 0.9
    if not (impossible or (lat_like_lon and lon_like_lat)):
        return
    example = f"e.g. longitude {x[0]:g}, latitude {y[0]:g}"
    if location:
        msg = (
            f'{where}: the values of column {xname!r} look like "lat,lng" ({example}); the '
            'expected order is "lng,lat" (Amap\'s). Swap the two numbers, or split the column '
            "into two and pass lon=..., lat=...."
        )
    else:
        msg = (
            f"{where}: longitude and latitude look swapped: column {yname!r} holds longitudes "
            f"and {xname!r} latitudes ({example}); pass lon={yname!r}, lat={xname!r}."
        )
    raise InputError(msg)


def _shift_geometries(geoms: npt.NDArray[np.object_], crs: Any) -> tuple[Any, str]:
    """Geometries with every vertex converted to WGS-84 by coords.to_wgs84 (one call)."""
    from .coords import to_wgs84

    labels: list[str] = []

    def convert(xy: FloatArray) -> FloatArray:
        lon, lat, label = to_wgs84(xy[:, 0], xy[:, 1], crs)
        labels.append(label)
        return np.column_stack([lon, lat])

    out = shapely.transform(geoms, convert)
    return out, labels[0] if labels else _crs_label(crs)


def _spatial_to_wgs84(gdf: gpd.GeoDataFrame, crs: Any, where: str) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 with its ``source_crs`` label, given the crs argument."""
    file_crs = gdf.crs
    if crs is None:
        if file_crs is None:
            msg = (
                f"{where} declares no coordinate reference system (no .prj or CRS in the "
                "file); pass crs=... (crs='wgs84' for GPS/OSM data, 'gcj02' for Amap/Tencent, "
                "'bd09' for Baidu, or an EPSG code such as 4547), or add a .prj file."
            )
            raise NoCrsError(msg)
        label = _crs_label(file_crs, where)
        return gdf.assign(source_crs=label).to_crs("EPSG:4326")
    label = _crs_label(crs, where)
    if label in ("GCJ-02", "BD-09"):
        if file_crs is not None and not file_crs.is_geographic:
            msg = (
                f"{where}: crs={crs!r} reinterprets longitude/latitude, but the file's "
                f"coordinates are projected ({file_crs.to_string()}); drop crs= to use the "
                "file's CRS."
            )
            raise InputError(msg)
        # Amap-derived files often carry a WGS-84 .prj around GCJ-02 numbers: the numbers
        # are read as the system named by crs, whatever the .prj says.
        geoms, label = _shift_geometries(gdf.geometry.to_numpy(), crs)
        out = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=geoms, crs=4326)
        return out.assign(source_crs=label)
    given = pyproj.CRS.from_user_input(
        {"WGS-84": "EPSG:4326", "CGCS2000": "EPSG:4490"}.get(label, crs)
    )
    if file_crs is None:
        return gdf.set_crs(given).assign(source_crs=label).to_crs("EPSG:4326")
    if not given.equals(file_crs, ignore_axis_order=True):
        msg = (
            f"{where} declares its CRS as {_crs_label(file_crs)}, but crs={crs!r} "
            f"({label}) was given; drop crs= to use the file's CRS, or fix the file's .prj."
        )
        raise InputError(msg)
    return gdf.assign(source_crs=label).to_crs("EPSG:4326")


def _clean_geometries(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """Drop empty/missing geometries and repair invalid ones (one warning each)."""
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.all():
        msg = f"{where}: no feature has a geometry; check the file in a GIS."
        raise InputError(msg)
    if missing.any():
        rows = gdf["source_row"].to_numpy()[missing]
        _warn(
            f"{where}: dropped {int(missing.sum())} of {len(gdf)} features with an empty or "
            f"missing geometry (source_row {describe(rows.tolist(), limit=5)}); draw them or "
            "delete them in the file to silence this warning."
        )
        gdf = gdf[~missing]
        geoms = geoms[~missing]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        rows = gdf["source_row"].to_numpy()[invalid]
        reason = shapely.is_valid_reason(geoms[invalid][0])
        _warn(
            f"{where}: repaired {int(invalid.sum())} invalid geometries with shapely.make_valid "
            f"(source_row {describe(rows.tolist(), limit=5)}; first: {reason}); fix them in the "
            "file (e.g. QGIS 'Fix geometries') to silence this warning."
        )
        fixed = geoms.copy()
        fixed[invalid] = shapely.make_valid(geoms[invalid])
        gdf = gdf.set_geometry(gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs))
    return gdf


def _check_range(gdf: gpd.GeoDataFrame, where: str) -> None:
    x0, y0, x1, y1 = gdf.total_bounds
    finite = bool(np.isfinite([x0, y0, x1, y1]).all())
    if not finite or x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        msg = (
            f"{where}: in WGS-84 its coordinates span x {x0:g}..{x1:g}, y {y0:g}..{y1:g}, "
            "outside longitude -180..180 / latitude -90..90; the file's CRS is probably wrong "
            "(pass the right one as crs=..., e.g. crs='EPSG:4547')."
        )
        raise InputError(msg)


def _rename_clashes(df: pd.DataFrame, reserved: tuple[str, ...]) -> pd.DataFrame:
    clash = {c: f"{c}_original" for c in df.columns if c in reserved}
    return df.rename(columns=clash) if clash else df


def read_layer(
    path: str | Path,
    *,
    crs: Any = None,
    lon: str | None = None,
    lat: str | None = None,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    what: str = "layer",
) -> gpd.GeoDataFrame:
    """Read a planner's table or spatial file into a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    path
        A ``.csv``, ``.txt``, ``.tsv``, ``.xlsx``, ``.xlsm``, ``.xls``, ``.geojson``,
        ``.json``, ``.gpkg``, ``.shp``, ``.fgb`` or ``.parquet`` file.
    crs
        The coordinate system of the file's coordinates: ``"wgs84"``, ``"gcj02"`` (Amap,
        Tencent), ``"bd09"`` (Baidu), ``"cgcs2000"``, an EPSG code or a pyproj CRS.
        For tables ``None`` means WGS-84 longitude/latitude. For spatial files ``None``
        means the file's own CRS (a file without one raises NoCrsError); a crs given for
        a file without a CRS is used; ``"gcj02"``/``"bd09"`` reinterprets the file's
        longitude/latitude numbers as GCJ-02/BD-09 whatever its .prj says (Amap-derived
        shapefiles often carry a WGS-84 .prj around GCJ-02 numbers); any other crs that
        differs from the file's own is an error.
    lon, lat
        Tables: the longitude and latitude columns (both or neither). By default they
        are found by name (``lon``/``lng``/``longitude``/``经度``/``x``, ``lat``/
        ``latitude``/``纬度``/``y``, also tagged like ``gcj02_lng`` or ``lat_wgs84``), or
        an Amap-style ``location`` (or ``坐标``) column holding ``"lng,lat"``.
    layer
        The layer of a multi-layer file (GeoPackage), by name or position.
    sheet
        The sheet of an Excel workbook, by name or position; default the first.
    encoding
        Text tables and shapefiles: the file's text encoding. By default text tables
        are tried as UTF-8 (a BOM is honoured, also UTF-16's) and then GB18030 (a
        superset of GBK); shapefiles use their ``.cpg``, else UTF-8 or GBK by decoding
        the ``.dbf`` text. The encoding used is in ``gdf.attrs["encoding"]``.
    what
        What the file is, for messages ("facilities", "blocks", ...).

    Returns
    -------
    geopandas.GeoDataFrame
        The file's rows and columns in EPSG:4326 (table columns whose every value is a
        number become numbers, except codes written with leading zeros), plus
        ``source_file`` (the file name), ``source_row`` (0-based row or feature number in
        the file; 0 is the first data row below the header) and ``source_crs`` (the
        source system's label, e.g. "GCJ-02", "WGS-84", "EPSG:4547"). A file's own
        columns of those names are kept with the suffix ``_original``.

    Raises
    ------
    planner.errors.InputError
        For a missing or unreadable file, an unknown suffix, no rows, ambiguous or
        swapped coordinate columns, coordinates out of range, or a crs that contradicts
        the file's (MissingColumnError when no coordinate column is found, NoCrsError
        for a spatial file without CRS and no crs).

    Warns
    -----
    planner.errors.PlannerWarning
        Once each for table rows dropped for empty or non-numeric coordinates, rows out
        of range, features dropped for missing geometry and invalid geometries repaired.

    Examples
    --------
    >>> pois = read_layer("amap_pois.csv", crs="gcj02")
    >>> blocks = read_layer("blocks.gpkg", layer="blocks_2023")
    >>> pois[["source_file", "source_row", "source_crs"]].head(1)
    """
    path = Path(path)
    where = f"{what} file {path.name!r}"
    if not path.exists():
        msg = (
            f"{what} file {str(path)!r} does not exist (looked for {path.resolve()}); check "
            "the path and the current folder."
        )
        raise InputError(msg)
    if path.is_dir():
        msg = f"{what} path {str(path)!r} is a folder; pass a file inside it."
        raise InputError(msg)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        msg = (
            f"{where}: cannot read {suffix or 'suffix-less'} files; save it as one of "
            f"{', '.join(SUFFIXES)}."
        )
        raise InputError(msg)
    misplaced = [
        f"{arg}="
        for arg, value, applies in (
            ("sheet", sheet, suffix in EXCEL_SUFFIXES),
            ("layer", layer, suffix in SPATIAL_SUFFIXES),
            ("lon", lon, suffix not in SPATIAL_SUFFIXES),
            ("lat", lat, suffix not in SPATIAL_SUFFIXES),
        )
        if value is not None and not applies
    ]
    if misplaced:
        msg = (
            f"{where}: {' and '.join(misplaced)} do(es) not apply to {suffix} files (sheet= is "
            "for Excel workbooks, layer= for spatial files, lon=/lat= for tables); drop it."
        )
        raise InputError(msg)
    attrs: dict[str, Any] = {"encoding": None}
    if suffix in SPATIAL_SUFFIXES:
        gdf, attrs["encoding"] = _read_spatial(path, layer, encoding, where)
        if len(gdf) == 0:
            msg = f"{where} has no features; check that it is the right file (and layer=)."
            raise InputError(msg)
        if gdf.geometry.name != "geometry":
            if "geometry" in gdf.columns:
                gdf = gdf.rename(columns={"geometry": "geometry_original"})
            gdf = gdf.rename_geometry("geometry")
        gdf = _rename_clashes(gdf, PROVENANCE)
        gdf = gdf.assign(source_file=path.name, source_row=np.arange(len(gdf)))
        gdf = _spatial_to_wgs84(gdf, crs, where)
        gdf = _clean_geometries(gdf, where)
        _check_range(gdf, where)
    else:
        if suffix in EXCEL_SUFFIXES:
            df, attrs["sheet"] = read_excel_table(path, sheet, where)
        else:
            df, attrs["encoding"] = read_text_table(path, encoding, where)
        if len(df) == 0:
            msg = f"{where} has a header but no rows; check that it is the right file (and sheet=)."
            raise InputError(msg)
        df.columns = pd.Index([str(c).strip() for c in df.columns])
        df = _rename_clashes(df, (*PROVENANCE, "geometry"))
        x, y, keep, label = _table_points(df, crs, lon, lat, where)
        rows = np.flatnonzero(keep)
        kept = df.iloc[rows].assign(source_file=path.name, source_row=rows, source_crs=label)
        gdf = gpd.GeoDataFrame(kept, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")
    gdf = gdf.reset_index(drop=True)
    gdf.attrs.update(attrs)
    return gdf


# --- facilities ------------------------------------------------------------------------


def _find_column(df: pd.DataFrame, choices: tuple[str, ...]) -> str | None:
    lower = {str(c).strip().lower(): str(c) for c in reversed(df.columns)}
    return next((lower[c] for c in choices if c in lower), None)


def _codes(values: pd.Series) -> pd.Series:
    """Amap typecodes as text, with zeros that number formats dropped put back."""
    if pd.api.types.is_numeric_dtype(values):
        whole = values.astype("Float64").round().astype("Int64")
        text = whole.astype("string")
    else:
        text = values.astype("string").str.strip()
    # "60400" (a number that lost its leading zero) -> "060400"; also inside "a|b" lists
    return text.str.replace(r"(?<!\d)(\d{5})(?!\d)", r"0\1", regex=True).fillna("")


def _map_categories(values: pd.Series, category_map: Mapping[Any, str | None] | None) -> pd.Series:
    text = values.astype("string").str.strip()
    text = text.where(text != "")
    if category_map:
        keys = {str(k).strip(): v for k, v in category_map.items()}
        mapped = text.map(keys).astype("string")
        text = mapped.where(text.isin(list(keys)), text)
    return text


def read_facilities(
    path: str | Path,
    *,
    crs: Any = None,
    lon: str | None = None,
    lat: str | None = None,
    category: str | None = None,
    category_from: str | None = None,
    category_map: Mapping[Any, str | None] | None = None,
    name: str | None = None,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    rules: str | Path | CategoryTable | None = None,
    keep_unmatched: bool = False,
    categories: str | Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Facilities from a planner's file (POI export, survey table, shapefile), as points.

    The file is read with :func:`read_layer` (same ``crs``, ``lon``, ``lat``, ``layer``,
    ``sheet`` and ``encoding``). Give exactly one of ``category`` and ``category_from``.

    Parameters
    ----------
    path
        A table (``.csv``, ``.tsv``, ``.txt``, ``.xlsx``, ``.xls``) or spatial file.
    crs
        See :func:`read_layer`; ``crs="gcj02"`` for Amap or Tencent exports,
        ``crs="bd09"`` for Baidu. For tables ``None`` means WGS-84.
    lon, lat
        Coordinate columns of a table, when they are not found by name.
    category
        A column holding category ids (values mapped first by ``category_map``), or,
        when no column has that name, one category or group id for every row
        (``category="kindergarten"``).
    category_from
        A column of Amap typecodes (``"141204"``, ``"080304|050202"``) matched with the
        category table's Amap rules (codes, and keywords in the name and in an Amap
        ``type`` column when present); or the name column (``category_from="name"``):
        keyword rules only. A facility gets one row per matching category.
    category_map
        ``{value in the file: category id}`` for ``category=<column>``; a value mapped
        to None drops its rows.
    name
        The name column; default the first of ``name``, ``名称``, ``title``,
        ``poi_name``, ``设施名称``.
    layer, sheet, encoding
        See :func:`read_layer`.
    rules
        The category table: a TOML file extending the packaged one, or a CategoryTable;
        default :func:`planner.categories`.
    keep_unmatched
        Keep rows that match no category (or have an empty category) with category NA;
        by default they are dropped and counted in ``gdf.attrs["unmatched"]``.
    categories
        Category or group ids to keep (a group keeps its members), as in
        :func:`load_facilities`; default all.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326, one row per (facility, category), with ``category``,
        ``name``, ``area_m2`` (polygons' area in their UTM zone, else NaN),
        ``point_from`` ("point" or "representative_point"), ``source_file``,
        ``source_row``, ``source_crs`` and then the file's own columns (one named like
        an output column is kept as ``<name>_original``).

    Raises
    ------
    planner.errors.InputError
        When both or neither of ``category``/``category_from`` are given, a named column
        is missing (MissingColumnError), ``category`` is neither a column nor a known
        id, and in every case :func:`read_layer` raises.

    Warns
    -----
    planner.errors.PlannerWarning
        Once, listing category values that are not ids of the category table (they are
        kept as they are), besides :func:`read_layer`'s warnings.

    Examples
    --------
    >>> pois = read_facilities("amap.csv", crs="gcj02", category_from="typecode")
    >>> kg = read_facilities("幼儿园.xlsx", category="kindergarten")
    >>> stations = read_facilities(
    ...     "stations.shp",
    ...     category="类型",
    ...     category_map={"社区服务站": "community_service_station"},
    ... )
    """
    where = f"facilities file {Path(path).name!r}"
    if (category is None) == (category_from is None):
        msg = (
            f"read_facilities({Path(path).name!r}): give exactly one of category= (a column of "
            "category ids, or one id for every row) and category_from= (a column of Amap "
            f"typecodes, or 'name' for keyword rules); got category={category!r}, "
            f"category_from={category_from!r}."
        )
        raise InputError(msg)
    table = rules if isinstance(rules, CategoryTable) else category_table(extra=rules)
    gdf = read_layer(
        path,
        crs=crs,
        lon=lon,
        lat=lat,
        layer=layer,
        sheet=sheet,
        encoding=encoding,
        what="facilities",
    )
    columns = [str(c) for c in gdf.columns if c not in ("geometry", *PROVENANCE)]
    if name is not None and name not in columns:
        msg = (
            f"{where} has no column {name!r} (given as name=); its columns are "
            f"{describe(columns, limit=30)}.{closest(name, columns)}"
        )
        raise MissingColumnError(msg)
    name_col = name if name is not None else _find_column(gdf, _NAME_COLUMNS)
    names = (
        gdf[name_col].astype("string")
        if name_col is not None
        else pd.Series(pd.NA, index=gdf.index, dtype="string")
    )

    n = len(gdf)
    if category_from is not None:
        if category_from == "name" and name_col is not None:
            category_from = name_col
        if category_from not in columns:
            msg = (
                f"{where} has no column {category_from!r} (given as category_from=); its "
                f"columns are {describe(columns, limit=30)}.{closest(category_from, columns)}"
            )
            raise MissingColumnError(msg)
        if category_from == name_col:
            codes = pd.Series([""] * n, dtype="string")
        else:
            codes = _codes(gdf[category_from])
        type_col = _find_column(gdf.drop(columns=[category_from]), _TYPE_COLUMNS)
        types = gdf[type_col].astype("string") if type_col is not None else None
        pairs = table.match_amap(codes, names.fillna(""), types)
        rows = pairs["row"].to_numpy(dtype=np.int64)
        cats = pairs["category"].to_numpy(dtype=object)
        origin = f"Amap rules on column {category_from!r}"
    elif category in columns:
        assert category is not None
        values = _map_categories(gdf[category], category_map)
        known = [str(k) for k in (*table.categories, *table.groups)]
        present = pd.unique(values.dropna())
        unknown = [str(v) for v in present if str(v) not in table]
        if unknown:
            counts = values[values.isin(unknown)].value_counts()
            listed = ", ".join(f"{v!r} ({_rows(int(counts[v]))})" for v in unknown[:10])
            more = f", ... ({len(unknown)} in all)" if len(unknown) > 10 else ""
            _warn(
                f"{where}: {len(unknown)} value(s) of column {category!r} are not category or "
                f"group ids and are kept as they are: {listed}{more}. Map them with "
                f"category_map={{{unknown[0]!r}: '<category id>', ...}} or add them as "
                "categories in a rules TOML (rules=...); planner.categories().ids() lists the "
                f"ids.{closest(unknown[0], known)}"
            )
        has = values.notna().to_numpy(dtype=bool)
        rows = np.flatnonzero(has)
        cats = values.to_numpy(dtype=object)[rows]
        origin = f"column {category!r}"
    else:
        assert category is not None
        constant = category
        if category_map and category in {str(k) for k in category_map}:
            constant = str({str(k): v for k, v in category_map.items()}[category])
        if constant not in table:
            known = [*table.categories, *table.groups]
            msg = (
                f"{where}: category={category!r} is neither a column (columns: "
                f"{describe(columns, limit=30)}) nor a known category or group id."
                f"{closest(category, [*known, *columns])}"
            )
            raise InputError(msg)
        rows = np.arange(n)
        cats = np.full(n, constant, dtype=object)
        origin = f"category={constant!r}"

    matched = np.zeros(n, dtype=bool)
    matched[rows] = True
    unmatched = int(n - matched.sum())
    if categories is not None:  # matched rows of other categories are left out, not unmatched
        wanted = np.isin(cats, table.expand(categories))
        rows, cats = rows[wanted], cats[wanted]
    if keep_unmatched and unmatched:
        extra = np.flatnonzero(~matched)
        order = np.argsort(np.concatenate([rows, extra]), kind="stable")
        rows = np.concatenate([rows, extra])[order]
        cats = np.concatenate([cats, np.full(len(extra), None, dtype=object)])[order]
    out = _facility_rows(gdf, rows, cats, names, name_col)
    out.attrs.update(gdf.attrs)
    out.attrs["unmatched"] = unmatched
    log(
        f"read_facilities: {Path(path).name}: {len(out):,} facility rows from {n:,} features "
        f"({origin}); {unmatched:,} matched no category"
        + (" (kept)" if keep_unmatched else " (dropped)")
    )
    return out


def _facility_rows(
    gdf: gpd.GeoDataFrame,
    rows: npt.NDArray[np.int64],
    cats: npt.NDArray[np.object_],
    names: pd.Series,
    name_col: str | None,
) -> gpd.GeoDataFrame:
    """One point per (feature, category) pair, in load_facilities' column layout."""
    geom = gdf.geometry.to_numpy()
    type_id = shapely.get_type_id(geom)
    area_like = np.isin(type_id, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    not_point = type_id != shapely.GeometryType.POINT
    points = geom.copy()
    point_from = np.full(len(gdf), "point", dtype=object)
    if not_point.any():
        points[not_point] = shapely.point_on_surface(geom[not_point])
        point_from[not_point] = "representative_point"
    area = np.full(len(gdf), np.nan)
    if area_like.any():
        utm = gpd.GeoSeries(points, crs="EPSG:4326").estimate_utm_crs()
        area[area_like] = gpd.GeoSeries(geom[area_like], crs="EPSG:4326").to_crs(utm).area
    reserved = ("category", "name", "area_m2", "point_from")
    own = gdf.drop(columns=["geometry", *PROVENANCE])
    clash = {
        c: f"{c}_original" for c in own.columns if c in reserved and not (c == name_col == "name")
    }
    own = own.rename(columns=clash).drop(columns=["name"], errors="ignore")
    core = pd.DataFrame(
        {
            "category": pd.array(cats, dtype="string"),
            "name": pd.array(names.to_numpy(dtype=object)[rows], dtype="string"),
            "area_m2": area[rows],
            "point_from": point_from[rows],
            "source_file": gdf["source_file"].to_numpy()[rows],
            "source_row": gdf["source_row"].to_numpy()[rows],
            "source_crs": gdf["source_crs"].to_numpy()[rows],
        }
    )
    rest = own.iloc[rows].reset_index(drop=True)
    return gpd.GeoDataFrame(pd.concat([core, rest], axis=1), geometry=points[rows], crs="EPSG:4326")
