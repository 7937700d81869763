"""Points from the coordinate columns of a planner's table, in WGS-84.

Tables hold points as longitude/latitude columns (``lng``/``lat``, ``经度``/``纬度``,
``x``/``y``, ``gcj02_lng``, ...) or an Amap-style ``location`` column ``"lng,lat"``.
:func:`table_points` finds them, drops (with one warning) the rows whose coordinates are
empty, not numbers, 0,0 or out of range, refuses swapped or projected numbers read as
degrees, and converts the rest to WGS-84 with :func:`planner.sources.coords.to_wgs84`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj

from ..errors import InputError, MissingColumnError, PlannerWarning, describe
from ._columns import Field, find_column, normalise
from .coords import to_wgs84

__all__ = ["LAT_NAMES", "LOCATION_NAMES", "LON_NAMES", "crs_label", "table_points"]

# Column names (after normalise) that hold longitudes, latitudes, or both as "lng,lat"
# text. A name may also carry a coordinate system tag before or after it ("wgs84_lng",
# "lng_gcj02", "经度(GCJ-02)").
LON_NAMES = frozenset(
    {"lon", "lng", "long", "longitude", "经度", "东经", "x", "pointx", "xcoord", "x坐标"}
)
LAT_NAMES = frozenset({"lat", "latitude", "纬度", "北纬", "y", "pointy", "ycoord", "y坐标"})
LOCATION_NAMES = frozenset({"location", "坐标", "经纬度", "经纬度坐标", "lnglat", "lonlat"})
_KINDS = (("lon", LON_NAMES), ("lat", LAT_NAMES), ("location", LOCATION_NAMES))
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
_FIX = 'pass lon="<longitude column>", lat="<latitude column>"'
_GEOGRAPHIC_LABELS = ("WGS-84", "GCJ-02", "BD-09", "CGCS2000")
# "lng,lat", also "lng lat", "lng，lat" (full-width comma) and "[lng, lat]".
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LOCATION_RE = rf"^\s*[\[(]?\s*({_NUMBER})\s*(?:[,，;]\s*|\s+)({_NUMBER})\s*[\])]?\s*$"

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Columns:
    """Where a table's coordinates are: two columns, or one "lng,lat" column."""

    x: str
    y: str
    location: bool = False
    tag: str | None = None


@dataclass
class _Values:
    """The coordinate numbers of every row and the cells they came from."""

    x: FloatArray
    y: FloatArray
    x_cells: pd.Series
    y_cells: pd.Series


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _warn(msg: str) -> None:
    warnings.warn(msg, PlannerWarning, stacklevel=5)


def coord_kind(name: object) -> tuple[str | None, str | None]:
    """("lon" | "lat" | "location" | None, crs tag or None) for a column name."""
    key = normalise(name)
    for kind, names in _KINDS:
        if key in names:
            return kind, None
    for tag in sorted(_CRS_TAGS, key=len, reverse=True):
        for core in (key.removeprefix(tag), key.removesuffix(tag)):
            if core == key:
                continue
            for kind, names in _KINDS:
                if core in names:
                    return kind, _CRS_TAGS[tag]
    return None, None


def crs_label(crs: Any, where: str = "") -> str:
    """The provenance label of a crs argument ("GCJ-02", "EPSG:4547"), validated."""
    empty = np.zeros(0, dtype=np.float64)
    try:
        return to_wgs84(empty, empty, crs)[2]
    except InputError as exc:
        if not where:
            raise
        msg = f"{where}: {exc}"
        raise InputError(msg) from None


# --- which columns ---------------------------------------------------------------------


def _given_columns(df: pd.DataFrame, lon: str | None, lat: str | None, where: str) -> _Columns:
    if lon is None or lat is None:
        msg = f"{where}: pass both lon= and lat= (got lon={lon!r}, lat={lat!r})."
        raise InputError(msg)
    x = find_column(df.columns, Field("longitude", ()), given=lon, given_as="lon", where=where)
    y = find_column(df.columns, Field("latitude", ()), given=lat, given_as="lat", where=where)
    return _Columns(str(x), str(y))


def _candidates(df: pd.DataFrame) -> dict[str, list[tuple[str, str | None]]]:
    found: dict[str, list[tuple[str, str | None]]] = {"lon": [], "lat": [], "location": []}
    for col in map(str, df.columns):
        kind, tag = coord_kind(col)
        if kind is not None:
            found[kind].append((col, tag))
    return found


def _detected_columns(df: pd.DataFrame, where: str) -> _Columns:
    cols = [str(c) for c in df.columns]
    found = _candidates(df)
    for kind in ("lon", "lat", "location"):
        if len(found[kind]) > 1:
            names = describe([c for c, _ in found[kind]])
            what = f"the {_WORD[kind]}" if kind in _WORD else "'lng,lat' locations"
            fix = (
                f"{_FIX} to choose"
                if kind in _WORD
                else "keep one of them, or split it into two columns and pass lon=..., lat=..."
            )
            if kind == "location" and found["lon"] and found["lat"]:
                break
            msg = f"{where}: several columns could hold {what}: {names}; {fix}."
            raise InputError(msg)
    if found["lon"] and found["lat"]:
        (x, xtag), (y, ytag) = found["lon"][0], found["lat"][0]
        return _Columns(x, y, tag=xtag or ytag)
    if found["lon"] or found["lat"]:
        have = (found["lon"] or found["lat"])[0][0]
        lacking = "latitude" if found["lon"] else "longitude"
        msg = (
            f"{where}: found column {have!r} but no {lacking} column among "
            f"{describe(cols, limit=30)}; {_FIX}."
        )
        raise MissingColumnError(msg)
    if found["location"]:
        loc, tag = found["location"][0]
        return _Columns(loc, loc, location=True, tag=tag)
    msg = (
        f"{where}: no longitude/latitude columns found; its columns are "
        f"{describe(cols, limit=30)}. Name them lon/lat (or lng/lat, 经度/纬度, x/y), give an "
        f"Amap-style 'location' column \"lng,lat\", or {_FIX}."
    )
    raise MissingColumnError(msg)


def _find_columns(df: pd.DataFrame, lon: str | None, lat: str | None, where: str) -> _Columns:
    if lon is not None or lat is not None:
        return _given_columns(df, lon, lat, where)
    return _detected_columns(df, where)


# --- which values ----------------------------------------------------------------------


def _as_numbers(values: pd.Series) -> FloatArray:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    text = values.astype("string").str.normalize("NFKC").str.strip()
    nums = pd.to_numeric(text, errors="coerce")
    return np.asarray(nums.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _values(df: pd.DataFrame, cols: _Columns) -> _Values:
    if cols.location:
        cells = df[cols.x]
        text = cells.astype("string").str.normalize("NFKC")
        parts = text.str.extract(_LOCATION_RE)
        return _Values(_as_numbers(parts[0]), _as_numbers(parts[1]), cells, cells)
    xs, ys = df[cols.x], df[cols.y]
    return _Values(_as_numbers(xs), _as_numbers(ys), xs, ys)


def _first_bad(values: pd.Series, bad: BoolArray) -> str:
    i = int(np.flatnonzero(bad)[0])
    raw = values.iloc[i]
    shown = "an empty cell" if pd.isna(raw) or str(raw).strip() == "" else repr(raw)
    return f"first at row {i}: {shown}"


def _names(cols: _Columns) -> str:
    return describe(dict.fromkeys([cols.x, cols.y]))


def _unusable(v: _Values, cols: _Columns, where: str) -> BoolArray:
    """Rows without usable numbers (empty, text, 0,0), dropped with one warning."""
    bad_x, bad_y = ~np.isfinite(v.x), ~np.isfinite(v.y)
    null_island = (v.x == 0) & (v.y == 0)
    bad = bad_x | bad_y | null_island
    if bad.all():
        msg = (
            f"{where}: no row has usable coordinates in {_names(cols)} "
            f"({_first_bad(v.x_cells, bad_x if bad_x.any() else bad)}); check the columns, or "
            'pass lon="<column>", lat="<column>".'
        )
        raise InputError(msg)
    if bad.any():
        if cols.location:
            cells = [(cols.x, v.x_cells, bad_x | bad_y)]
        else:
            cells = [(cols.x, v.x_cells, bad_x), (cols.y, v.y_cells, bad_y)]
        parts = [
            f"column {col!r}: {_rows(int(col_bad.sum()))}, {_first_bad(values, col_bad)}"
            for col, values, col_bad in cells
            if col_bad.any()
        ]
        zeros = null_island & ~bad_x & ~bad_y
        if zeros.any():
            parts.append(f"{_rows(int(zeros.sum()))} at 0,0, first at row {np.argmax(zeros)}")
        _warn(
            f"{where}: dropped {int(bad.sum())} of {len(bad)} rows whose coordinate is empty, "
            f"not a number or 0,0 ({'; '.join(parts)}); fill in or remove those cells."
        )
    return bad


def _check_swapped(x: FloatArray, y: FloatArray, cols: _Columns, where: str) -> None:
    """Raise if the longitude and latitude columns look exchanged."""
    ax, ay = np.abs(x), np.abs(y)
    impossible = (ay > 90).mean() >= 0.5 and (ax <= 90).all() and (ay <= 180).all()
    lat_like_lon = ((y >= 73) & (y <= 136)).mean() >= 0.9
    lon_like_lat = ((x >= 3) & (x <= 54)).mean() >= 0.9
    if not (impossible or (lat_like_lon and lon_like_lat)):
        return
    example = f"e.g. longitude {x[0]:g}, latitude {y[0]:g}"
    if cols.location:
        msg = (
            f'{where}: the values of column {cols.x!r} look like "lat,lng" ({example}); the '
            'expected order is "lng,lat" (Amap\'s). Swap the two numbers, or split the column '
            "into two and pass lon=..., lat=...."
        )
    else:
        msg = (
            f"{where}: longitude and latitude look swapped: column {cols.y!r} holds longitudes "
            f"and {cols.x!r} latitudes ({example}); pass lon={cols.y!r}, lat={cols.x!r}."
        )
    raise InputError(msg)


def _out_of_range(v: _Values, keep: BoolArray, cols: _Columns, where: str) -> BoolArray:
    """Rows kept whose degrees are out of range (dropped with a warning; all: an error)."""
    x, y = v.x[keep], v.y[keep]
    _check_swapped(x, y, cols, where)
    out = (np.abs(x) > 180) | (np.abs(y) > 90)
    if out.all():
        msg = (
            f"{where}: the values in {_names(cols)} are not longitudes/latitudes (e.g. "
            f"x={x[0]:g}, y={y[0]:g}); for projected coordinates in metres pass their crs, e.g. "
            "crs='EPSG:4547' (CGCS2000 3-degree Gauss-Kruger, 114E) or crs='EPSG:32649' "
            "(UTM 49N)."
        )
        raise InputError(msg)
    dropped = np.zeros(len(keep), dtype=bool)
    dropped[np.flatnonzero(keep)[out]] = True
    if out.any():
        i = int(np.flatnonzero(dropped)[0])
        _warn(
            f"{where}: dropped {int(out.sum())} of {len(keep)} rows whose coordinates are out "
            f"of range (longitude -180..180, latitude -90..90) in {_names(cols)}, first at row "
            f"{i}: x={v.x[i]:g}, y={v.y[i]:g}; fix or remove those rows."
        )
    return dropped


def _is_geographic(crs: Any, label: str) -> bool:
    if label in _GEOGRAPHIC_LABELS:
        return True
    return bool(pyproj.CRS.from_user_input(crs).is_geographic)


def _check_tag(cols: _Columns, crs: Any, where: str) -> None:
    """A column named as GCJ-02/BD-09 needs that crs: refuse to read it as WGS-84."""
    if crs is None and cols.tag in ("gcj02", "bd09"):
        msg = (
            f"{where}: column {cols.x!r} is named as {cols.tag.upper()} coordinates, but "
            f"crs=None reads a table as WGS-84; pass crs={cols.tag!r} (or crs='wgs84' if they "
            "are WGS-84)."
        )
        raise InputError(msg)


def _to_wgs84(
    x: FloatArray, y: FloatArray, crs: Any, cols: _Columns, where: str
) -> tuple[FloatArray, FloatArray, str]:
    lon, lat, label = to_wgs84(x, y, crs)
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    wrong = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if wrong.any():
        msg = (
            f"{where}: {_rows(int(wrong.sum()))} of {_names(cols)} are outside the area of "
            f"crs={crs!r} (e.g. x={x[wrong][0]:g}, y={y[wrong][0]:g}); check the crs and which "
            "column is x (east)."
        )
        raise InputError(msg)
    return lon, lat, label


def table_points(
    df: pd.DataFrame, crs: Any, lon: str | None, lat: str | None, where: str
) -> tuple[FloatArray, FloatArray, BoolArray, str]:
    """WGS-84 longitude/latitude of the rows kept, which rows are kept, and the crs label.

    ``crs=None`` reads the numbers as WGS-84 degrees (tables carry no CRS); see
    :func:`planner.read_layer` for the rules and the messages.
    """
    source = crs if crs is not None else "wgs84"
    cols = _find_columns(df, lon, lat, where)
    crs_label(source, where)
    _check_tag(cols, crs, where)
    v = _values(df, cols)
    keep = ~_unusable(v, cols, where)
    if _is_geographic(source, crs_label(source)):
        keep &= ~_out_of_range(v, keep, cols, where)
    lon84, lat84, label = _to_wgs84(v.x[keep], v.y[keep], source, cols, where)
    return lon84, lat84, keep, label
