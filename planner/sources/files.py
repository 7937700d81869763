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

CRS rule: every reader here returns EPSG:4326. Tables carry no CRS, so ``crs=None``
means WGS-84 longitude/latitude; pass ``crs="gcj02"`` for Amap or Tencent exports and
``crs="bd09"`` for Baidu ones. Spatial files use their own CRS unless ``crs=`` says
otherwise (see :func:`read_layer`).

Input files are only ever read.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from .._log import log
from ..errors import InputError, PlannerWarning, closest, describe
from ..rules import CategoryTable
from ..rules import categories as category_table
from ._columns import NAME, TYPE, Field, find_column, named_column
from ._points import table_points
from ._spatial import check_range, clean_geometries, read_spatial, spatial_to_wgs84
from ._tables import read_excel_table, read_text_table

__all__ = ["read_facilities", "read_layer"]

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SPATIAL_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".parquet")
SUFFIXES = (*TEXT_SUFFIXES, *EXCEL_SUFFIXES, *SPATIAL_SUFFIXES)

#: Columns read_layer adds; a file's own columns of these names get "_original".
PROVENANCE = ("source_file", "source_row", "source_crs")

IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _warn(msg: str) -> None:
    warnings.warn(msg, PlannerWarning, stacklevel=4)


def _rename_clashes(df: pd.DataFrame, reserved: tuple[str, ...]) -> pd.DataFrame:
    clash = {c: f"{c}_original" for c in df.columns if c in reserved}
    return df.rename(columns=clash) if clash else df


# --- read_layer ------------------------------------------------------------------------


def _check_path(path: Path, what: str, where: str) -> str:
    """The file's lower-case suffix, once it exists and has a readable one."""
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
    return suffix


def _check_options(suffix: str, where: str, **given: Any) -> None:
    """Refuse sheet=, layer=, lon=/lat= for files they do not apply to."""
    applies = {
        "sheet": suffix in EXCEL_SUFFIXES,
        "layer": suffix in SPATIAL_SUFFIXES,
        "lon": suffix not in SPATIAL_SUFFIXES,
        "lat": suffix not in SPATIAL_SUFFIXES,
    }
    misplaced = [
        f"{arg}=" for arg, value in given.items() if value is not None and not applies[arg]
    ]
    if misplaced:
        msg = (
            f"{where}: {' and '.join(misplaced)} do(es) not apply to {suffix} files (sheet= is "
            "for Excel workbooks, layer= for spatial files, lon=/lat= for tables); drop it."
        )
        raise InputError(msg)


def _spatial_layer(
    path: Path, crs: Any, layer: str | int | None, encoding: str | None, where: str
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    gdf, used = read_spatial(path, layer, encoding, where)
    if len(gdf) == 0:
        msg = f"{where} has no features; check that it is the right file (and layer=)."
        raise InputError(msg)
    if gdf.geometry.name != "geometry":
        if "geometry" in gdf.columns:
            gdf = gdf.rename(columns={"geometry": "geometry_original"})
        gdf = gdf.rename_geometry("geometry")
    gdf = _rename_clashes(gdf, PROVENANCE)
    gdf = gdf.assign(source_file=path.name, source_row=np.arange(len(gdf)))
    gdf = clean_geometries(spatial_to_wgs84(gdf, crs, where), where)
    check_range(gdf, where)
    return gdf, {"encoding": used}


@dataclass(frozen=True)
class _TableArgs:
    crs: Any
    lon: str | None
    lat: str | None
    sheet: str | int | None
    encoding: str | None


def _table_layer(
    path: Path, suffix: str, args: _TableArgs, where: str
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    attrs: dict[str, Any] = {"encoding": None}
    if suffix in EXCEL_SUFFIXES:
        df, attrs["sheet"] = read_excel_table(path, args.sheet, where)
    else:
        df, attrs["encoding"] = read_text_table(path, args.encoding, where)
    if len(df) == 0:
        msg = f"{where} has a header but no rows; check that it is the right file (and sheet=)."
        raise InputError(msg)
    df.columns = pd.Index([str(c).strip() for c in df.columns])
    df = _rename_clashes(df, (*PROVENANCE, "geometry"))
    x, y, keep, label = table_points(df, args.crs, args.lon, args.lat, where)
    rows = np.flatnonzero(keep)
    kept = df.iloc[rows].assign(source_file=path.name, source_row=rows, source_crs=label)
    return gpd.GeoDataFrame(kept, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326"), attrs


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
    suffix = _check_path(path, what, where)
    _check_options(suffix, where, sheet=sheet, layer=layer, lon=lon, lat=lat)
    if suffix in SPATIAL_SUFFIXES:
        gdf, attrs = _spatial_layer(path, crs, layer, encoding, where)
    else:
        gdf, attrs = _table_layer(path, suffix, _TableArgs(crs, lon, lat, sheet, encoding), where)
    gdf = gdf.reset_index(drop=True)
    gdf.attrs.update(attrs)
    return gdf


# --- facilities ------------------------------------------------------------------------


@dataclass
class _Matches:
    """Which rows of the file became facilities of which category, and how."""

    rows: IntArray
    cats: ObjArray
    origin: str


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


def _own_columns(gdf: gpd.GeoDataFrame) -> list[str]:
    return [str(c) for c in gdf.columns if c not in ("geometry", *PROVENANCE)]


def _names(gdf: gpd.GeoDataFrame, name: str | None, where: str) -> tuple[pd.Series, str | None]:
    """The facilities' names (NA without a name column) and the column they came from."""
    col = find_column(_own_columns(gdf), NAME, given=name, given_as="name", where=where)
    if col is None:
        return pd.Series(pd.NA, index=gdf.index, dtype="string"), None
    return gdf[col].astype("string"), str(col)


def _by_amap_rules(
    gdf: gpd.GeoDataFrame,
    table: CategoryTable,
    category_from: str,
    names: pd.Series,
    name_col: str | None,
    where: str,
) -> _Matches:
    """Categories from Amap typecodes (and keywords in names and types)."""
    given = name_col if category_from == "name" and name_col is not None else category_from
    column = str(
        find_column(
            _own_columns(gdf),
            Field("Amap typecodes", ()),
            given=given,
            given_as="category_from",
            where=where,
        )
    )
    if column == name_col:
        codes = pd.Series([""] * len(gdf), dtype="string")
    else:
        codes = _codes(gdf[column])
    type_col = find_column(_own_columns(gdf), TYPE, skip=[column])
    types = gdf[type_col].astype("string") if type_col is not None else None
    pairs = table.match_amap(codes, names.fillna(""), types)
    return _Matches(
        pairs["row"].to_numpy(dtype=np.int64),
        pairs["category"].to_numpy(dtype=object),
        f"Amap rules on column {column!r}",
    )


def _warn_unknown_ids(values: pd.Series, column: str, table: CategoryTable, where: str) -> None:
    """One warning listing the values of a category column that are not known ids."""
    unknown = [str(v) for v in pd.unique(values.dropna()) if str(v) not in table]
    if not unknown:
        return
    known = [str(k) for k in (*table.categories, *table.groups)]
    counts = values[values.isin(unknown)].value_counts()
    listed = ", ".join(f"{v!r} ({_rows(int(counts[v]))})" for v in unknown[:10])
    more = f", ... ({len(unknown)} in all)" if len(unknown) > 10 else ""
    _warn(
        f"{where}: {len(unknown)} value(s) of column {column!r} are not category or "
        f"group ids and are kept as they are: {listed}{more}. Map them with "
        f"category_map={{{unknown[0]!r}: '<category id>', ...}} or add them as "
        "categories in a rules TOML (rules=...); planner.categories().ids() lists the "
        f"ids.{closest(unknown[0], known)}"
    )


def _by_column(
    gdf: gpd.GeoDataFrame,
    column: str,
    category_map: Mapping[Any, str | None] | None,
    table: CategoryTable,
    where: str,
) -> _Matches:
    """Categories from a column of ids (mapped by ``category_map`` first)."""
    values = _map_categories(gdf[column], category_map)
    _warn_unknown_ids(values, column, table, where)
    rows = np.flatnonzero(values.notna().to_numpy(dtype=bool))
    return _Matches(rows, values.to_numpy(dtype=object)[rows], f"column {column!r}")


def _by_value(
    n: int,
    value: str,
    category_map: Mapping[Any, str | None] | None,
    table: CategoryTable,
    where: str,
) -> _Matches:
    """One category (or group) id for every row."""
    constant = value
    if category_map and value in {str(k) for k in category_map}:
        constant = str({str(k): v for k, v in category_map.items()}[value])
    if constant not in table:
        known = [*table.categories, *table.groups]
        msg = (
            f"{where}: category_value={value!r} is not a known category or group id."
            f"{closest(value, known)} planner.categories().ids() lists the ids; add your own "
            "in a rules TOML (rules=...)."
        )
        raise InputError(msg)
    return _Matches(np.arange(n), np.full(n, constant, dtype=object), f"category={constant!r}")


def _category_column_or_value(
    gdf: gpd.GeoDataFrame,
    category: str,
    category_map: Mapping[Any, str | None] | None,
    table: CategoryTable,
    where: str,
) -> tuple[str | None, str | None]:
    """(column, None) when ``category`` names a column; (None, id) for the old call."""
    columns = _own_columns(gdf)
    column = named_column(columns, category, where)
    if column is not None:
        return str(column), None
    mapped = {str(k): v for k, v in (category_map or {}).items()}.get(category, category)
    if mapped not in table:
        known = [*table.categories, *table.groups]
        msg = (
            f"{where}: category={category!r} is neither a column (columns: "
            f"{describe(columns, limit=30)}) nor a known category or group id."
            f"{closest(category, [*known, *columns])}"
        )
        raise InputError(msg)
    warnings.warn(
        f"read_facilities(category={category!r}): {where} has no column {category!r}; "
        f"category= names a column. For one category for every row pass "
        f"category_value={category!r}.",
        DeprecationWarning,
        stacklevel=3,
    )
    return None, category


def _check_category_args(
    path: Path, category: str | None, category_from: str | None, category_value: str | None
) -> None:
    given = [
        a
        for a, v in (
            ("category", category),
            ("category_from", category_from),
            ("category_value", category_value),
        )
        if v is not None
    ]
    if len(given) != 1:
        msg = (
            f"read_facilities({path.name!r}): give exactly one of category= (a column of "
            "category ids), category_from= (a column of Amap typecodes, or 'name' for "
            "keyword rules) and category_value= (one category id for every row); got "
            f"category={category!r}, category_from={category_from!r}, "
            f"category_value={category_value!r}."
        )
        raise InputError(msg)


def _select(
    found: _Matches,
    n: int,
    table: CategoryTable,
    categories: str | Iterable[str] | None,
    keep_unmatched: bool,
) -> tuple[IntArray, ObjArray, int]:
    """Rows and categories kept, and how many rows matched no category."""
    rows, cats = found.rows, found.cats
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
    return rows, cats, unmatched


def read_facilities(
    path: str | Path,
    *,
    crs: Any = None,
    lon: str | None = None,
    lat: str | None = None,
    category: str | None = None,
    category_from: str | None = None,
    category_map: Mapping[Any, str | None] | None = None,
    category_value: str | None = None,
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
    ``sheet`` and ``encoding``). Give exactly one of ``category``, ``category_from`` and
    ``category_value``.

    CRS rule: the result is in EPSG:4326, whatever the file's CRS (``crs`` says what the
    file's coordinates are, see :func:`read_layer`).

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
        A column holding category ids (values mapped first by ``category_map``). The
        old call with a category id that is not a column (``category="kindergarten"``)
        still works as ``category_value=`` with a DeprecationWarning.
    category_from
        A column of Amap typecodes (``"141204"``, ``"080304|050202"``) matched with the
        category table's Amap rules (codes, and keywords in the name and in an Amap
        ``type`` column when present); or the name column (``category_from="name"``):
        keyword rules only. A facility gets one row per matching category.
    category_map
        ``{value in the file: category id}`` for ``category=<column>``; a value mapped
        to None drops its rows.
    category_value
        One category or group id for every row (``category_value="kindergarten"``).
    name
        The name column; default the first of ``name``, ``名称``, ``title``,
        ``poi_name``, ``设施名称``, ``小区名称``, ... (headers compared without case,
        width, spaces or punctuation).
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
        When not exactly one of ``category``, ``category_from`` and ``category_value`` is
        given, a named column is missing (MissingColumnError), ``category`` is neither a
        column nor a known id, ``category_value`` is not a known id, and in every case
        :func:`read_layer` raises.

    Warns
    -----
    planner.errors.PlannerWarning
        Once, listing category values that are not ids of the category table (they are
        kept as they are), besides :func:`read_layer`'s warnings.
    DeprecationWarning
        For ``category=<id>`` naming no column (use ``category_value=``).

    Examples
    --------
    >>> pois = read_facilities("amap.csv", crs="gcj02", category_from="typecode")
    >>> kg = read_facilities("幼儿园.xlsx", category_value="kindergarten")
    >>> stations = read_facilities(
    ...     "stations.shp",
    ...     category="类型",
    ...     category_map={"社区服务站": "community_service_station"},
    ... )
    """
    path = Path(path)
    where = f"facilities file {path.name!r}"
    _check_category_args(path, category, category_from, category_value)
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
    names, name_col = _names(gdf, name, where)
    column = None
    if category is not None:
        column, category_value = _category_column_or_value(
            gdf, category, category_map, table, where
        )
    if category_from is not None:
        found = _by_amap_rules(gdf, table, category_from, names, name_col, where)
    elif category_value is not None:
        found = _by_value(len(gdf), category_value, category_map, table, where)
    else:
        found = _by_column(gdf, str(column), category_map, table, where)
    rows, cats, unmatched = _select(found, len(gdf), table, categories, keep_unmatched)
    out = _facility_rows(gdf, rows, cats, names, name_col)
    out.attrs.update(gdf.attrs)
    out.attrs["unmatched"] = unmatched
    log(
        f"read_facilities: {path.name}: {len(out):,} facility rows from {len(gdf):,} features "
        f"({found.origin}); {unmatched:,} matched no category"
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
