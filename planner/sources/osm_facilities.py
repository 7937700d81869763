"""Facilities from OpenStreetMap: offline files (.osm.pbf, .osm, .osm.bz2) or downloads.

Every OSM feature that one of the category preset's tag filters matches becomes one row
per matched category. Areas (a school ground, a park) become points: the entrance when
one is tagged on or inside the area (``entrance=*`` or ``barrier=gate`` nodes), else a
representative point inside the area. Their area in square metres is kept (used for the
per-capita sports-ground target).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._log import log
from ..errors import InputError
from ..rules import CategoryTable, categories
from ._sniff import check_file, pbf_errors, reading, xml_errors
from .networks import PBF_SUFFIXES, XML_SUFFIXES, boundary_polygon, osmnx_tags, suffix_of

#: OSM keys whose features can be facilities (name-only rules match within these).
POI_KEYS = (
    "amenity",
    "shop",
    "leisure",
    "healthcare",
    "social_facility",
    "office",
    "craft",
    "place",
    "club",
)

#: Columns kept on every facility row besides the tags the rules read.
KEEP = ("name", "opening_hours", "operator", "addr:street", "addr:housenumber")


def _rule_keys(table: CategoryTable) -> set[str]:
    keys: set[str] = set(POI_KEYS) | {"name", "name:zh", "name:en", "name:zh-Hans"}
    for cat in table.categories.values():
        for f in (*cat.osm, *cat.osm_exclude):
            keys.update(k for k, _ in f.tags)
    return keys


def _expand_tags(df: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """Make a column for every key the rules read, filling from pyrosm's JSON ``tags``."""
    out = df.copy()
    missing = [k for k in keys if k not in out.columns]
    if missing and "tags" in out.columns:
        parsed = out["tags"].map(lambda t: json.loads(t) if isinstance(t, str) and t else {})
        for k in missing:
            out[k] = parsed.map(lambda d, k=k: d.get(k))
    for k in keys:
        if k not in out.columns:
            out[k] = None
    return out


def _features_pbf(
    path: Path, keys: set[str], boundary: Any
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    import pyrosm

    bbox = boundary_polygon(boundary)
    # whole relations, so a park or campus crossing the boundary keeps its true shape
    osm = pyrosm.OSM(str(path), bounding_box=bbox, complete_relations=bbox is not None)
    pois = osm.get_pois(custom_filter=dict.fromkeys(POI_KEYS, True))
    if pois is None or len(pois) == 0:
        pois = gpd.GeoDataFrame({"id": [], "osm_type": []}, geometry=[], crs="EPSG:4326")
    pois = _expand_tags(pois, keys)
    gates = osm.get_data_by_custom_criteria(
        custom_filter={"entrance": True, "barrier": ["gate", "entrance"]},
        filter_type="keep",
        keep_nodes=True,
        keep_ways=False,
        keep_relations=False,
    )
    if gates is None:
        gates = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return pois, gates


def _xml_features(path: Any, tags: dict[str, bool | str | list[str]]) -> gpd.GeoDataFrame:
    """Features of an OSM XML file matching ``tags`` (none: an empty GeoDataFrame)."""
    import osmnx as ox

    try:
        return ox.features_from_xml(path, tags=tags)
    except ox._errors.InsufficientResponseError:
        return gpd.GeoDataFrame({"element": [], "id": []}, geometry=[], crs="EPSG:4326").set_index(
            ["element", "id"]
        )


def _features_osmnx(
    source: Any, keys: set[str], kind: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    import osmnx as ox

    tags: dict[str, bool | str | list[str]] = dict.fromkeys(POI_KEYS, True)
    gate_tags: dict[str, bool | str | list[str]] = {
        "entrance": True,
        "barrier": ["gate", "entrance"],
    }
    with osmnx_tags():
        if kind == "xml":
            pois = _xml_features(source, tags)
            gates = _xml_features(source, gate_tags)
        elif kind == "place":
            pois = ox.features_from_place(source, tags=tags)
            gates = ox.features_from_place(source, tags=gate_tags)
        elif kind == "polygon":
            pois = ox.features_from_polygon(source, tags=tags)
            gates = ox.features_from_polygon(source, tags=gate_tags)
        else:
            pois = ox.features_from_bbox(tuple(source), tags=tags)
            gates = ox.features_from_bbox(tuple(source), tags=gate_tags)
    pois = pois.reset_index()
    pois = pois.rename(columns={"element": "osm_type", "id": "id"})
    if "element_type" in pois.columns:
        pois = pois.rename(columns={"element_type": "osm_type", "osmid": "id"})
    pois = _expand_tags(pois, keys)
    gates = gates.reset_index()
    gates = gates[gates.geometry.geom_type == "Point"]
    return pois, gates


def load_facilities(
    source: Any,
    *,
    categories: Iterable[str] | None = None,
    preset: str = "guangdong_2016",
    rules: str | Path | CategoryTable | None = None,
    boundary: Any = None,
) -> gpd.GeoDataFrame:
    """Facilities from OpenStreetMap, one row per (feature, category) match.

    Parameters
    ----------
    source
        An OSM file (``.osm.pbf`` read with pyrosm; ``.osm``/``.osm.bz2`` read with
        osmnx), or for a download (needs internet) a place name, a shapely polygon in
        EPSG:4326 or a ``(west, south, east, north)`` bbox.
    categories
        Category or group ids to keep (a group keeps its members); default all.
    preset
        The circle preset whose category rules apply (all presets share the packaged
        category table; ``rules`` replaces or extends it).
    rules
        A category TOML file adding or overriding categories, or a CategoryTable.
    boundary
        For PBF files: only read features inside this polygon or bbox (EPSG:4326).

    CRS rule: OSM data is WGS-84; the result is in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``category``, ``name``, ``osm_type``, ``osm_id``,
        ``area_m2`` (areas only), ``point_from`` ("node", "entrance" or
        "representative_point"), ``tags`` (JSON of the feature's tags), ``source_file``
        and ``source_crs``.

    Raises
    ------
    planner.errors.InputError
        For a missing, empty, truncated or damaged OSM file, or one of another kind.
    """
    table = rules if isinstance(rules, CategoryTable) else _category_table(rules)
    wanted = None
    if categories is not None:
        wanted = table.expand(categories)
    del preset  # every packaged preset uses the same category table
    pois, gates, label = _osm_features(source, _rule_keys(table), boundary)
    out = _to_facilities(pois, gates, table, wanted, label)
    log(f"load_facilities: {len(out):,} facility rows in {out['category'].nunique()} categories")
    return out


Features = tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]


def _osm_features(source: Any, keys: set[str], boundary: Any) -> tuple[Any, Any, str]:
    """POIs and gates from an OSM file or a download, and a label of where they came from."""
    if isinstance(source, str | Path) and Path(source).exists():
        return (*_features_file(Path(source), keys, boundary), str(source))
    if isinstance(source, str | Path):
        if suffix_of(Path(str(source))) in (*PBF_SUFFIXES, *XML_SUFFIXES):
            msg = f"OSM file {str(source)!r} does not exist; check the path."
            raise InputError(msg)
        return (*_features_osmnx(str(source), keys, "place"), f"OSM download for {source!r}")
    if isinstance(source, shapely.Polygon | shapely.MultiPolygon):
        return (*_features_osmnx(source, keys, "polygon"), "OSM download for a polygon")
    if isinstance(source, tuple | list) and len(source) == 4:
        bbox = tuple(map(float, source))
        return (*_features_osmnx(bbox, keys, "bbox"), f"OSM download for bbox {tuple(source)}")
    msg = (
        f"load_facilities cannot read a {type(source).__name__}; pass an OSM file path, "
        "a place name, a polygon or a bbox."
    )
    raise InputError(msg)


def _features_file(path: Path, keys: set[str], boundary: Any) -> Features:
    """POIs and gates of an OSM file, checked to be whole and of its kind first."""
    suffix = suffix_of(path)
    where = f"OSM file {path.name!r}"
    if suffix in PBF_SUFFIXES:
        check_file(path, where, "pbf")
        with reading(where, "pbf", *pbf_errors()):
            return _features_pbf(path, keys, boundary)
    if suffix in XML_SUFFIXES:
        check_file(path, where, "xml")
        with reading(where, "xml", *xml_errors()):
            return _features_osmnx(path, keys, "xml")
    msg = (
        f"load_facilities reads OSM files (.osm.pbf, .osm, .osm.bz2); {path.name} is not "
        "one. Read planners' tables and POI exports with planner.read_facilities."
    )
    raise InputError(msg)


def _category_table(rules: str | Path | None) -> CategoryTable:
    return categories(extra=rules)


def _feature_points(
    pois: gpd.GeoDataFrame, gates: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One point per feature (an area's entrance or inner point), how it was found, and
    each area's size in square metres (NaN for points and lines)."""
    crs = pois.crs or "EPSG:4326"
    geom = pois.geometry.to_numpy()
    type_id = shapely.get_type_id(geom)
    area_like = np.isin(type_id, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    line_like = np.isin(
        type_id, [shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING]
    )
    points = geom.copy()
    point_from = np.full(len(pois), "node", dtype=object)
    inner = area_like | line_like
    if inner.any():
        points[inner] = shapely.point_on_surface(geom[inner])
        point_from[inner] = "representative_point"
    area = np.full(len(pois), np.nan)
    if area_like.any():
        metric_crs = gpd.GeoSeries(points, crs=crs).estimate_utm_crs()
        area[area_like] = gpd.GeoSeries(geom[area_like], crs=crs).to_crs(metric_crs).area
        _use_entrances(points, point_from, geom, area_like, gates, crs, metric_crs)
    return points, point_from, area


def _to_facilities(
    pois: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame,
    table: CategoryTable,
    wanted: list[str] | None,
    label: str,
) -> gpd.GeoDataFrame:
    """One row per (feature, matching category), in EPSG:4326."""
    pois = pois.reset_index(drop=True)
    pairs = table.match_osm(pois, only=wanted)
    points, point_from, area = _feature_points(pois, gates)
    rows = pairs["row"].to_numpy()
    crs = pois.crs or "EPSG:4326"
    return gpd.GeoDataFrame(
        {
            "category": pairs["category"].to_numpy(),
            "name": pois["name"].to_numpy(dtype=object)[rows] if len(rows) else [],
            "osm_type": _col(pois, "osm_type")[rows],
            "osm_id": _col(pois, "id")[rows],
            "area_m2": area[rows],
            "point_from": point_from[rows],
            "opening_hours": _col(pois, "opening_hours")[rows],
            "tags": _tags_json(pois)[rows],
            "source_file": label,
            "source_crs": "WGS-84",
        },
        geometry=gpd.GeoSeries(points[rows], crs=crs).to_crs("EPSG:4326").values,
        crs="EPSG:4326",
    )


def _col(df: pd.DataFrame, key: str) -> np.ndarray:
    if key not in df.columns:
        return np.full(len(df), None, dtype=object)
    return df[key].to_numpy(dtype=object)


def _tags_json(pois: pd.DataFrame) -> np.ndarray:
    """A JSON object of every non-empty tag column (plus pyrosm's extra ``tags``)."""
    skip = {
        "geometry",
        "id",
        "osm_type",
        "lon",
        "lat",
        "visible",
        "version",
        "timestamp",
        "changeset",
        "tags",
        "nodes",
        "element",
        "element_type",
        "osmid",
    }
    cols = [c for c in pois.columns if c not in skip]
    records = pois[cols].astype(object).where(pois[cols].notna(), None).to_dict("records")
    extra = pois["tags"] if "tags" in pois.columns else pd.Series([None] * len(pois))
    out = np.empty(len(pois), dtype=object)
    for i, (rec, more) in enumerate(zip(records, extra, strict=True)):
        d = {k: v for k, v in rec.items() if v is not None and not isinstance(v, float | list)}
        if isinstance(more, str) and more:
            with contextlib.suppress(json.JSONDecodeError):
                d.update(json.loads(more))
        out[i] = json.dumps(d, ensure_ascii=False, sort_keys=True, default=str)
    return out


def _use_entrances(
    points: np.ndarray,
    point_from: np.ndarray,
    geom: np.ndarray,
    area_like: np.ndarray,
    gates: gpd.GeoDataFrame,
    crs: Any,
    metric_crs: Any,
) -> None:
    """Move areas' points to a tagged entrance on or inside the area (in place)."""
    if gates is None or len(gates) == 0:
        return
    idx = np.flatnonzero(area_like)
    areas = gpd.GeoDataFrame({"pos": idx}, geometry=geom[idx], crs=crs).to_crs(metric_crs)
    doors = gpd.GeoDataFrame(geometry=gates.geometry.to_numpy(), crs=gates.crs or crs).to_crs(
        metric_crs
    )
    hit = gpd.sjoin(areas, doors, predicate="dwithin", distance=1.0, how="inner")
    if hit.empty:
        return
    first = hit.groupby("pos")["index_right"].first()
    door_pts = gates.geometry.to_crs(crs).to_numpy()
    points[first.index.to_numpy()] = door_pts[first.to_numpy()]
    point_from[first.index.to_numpy()] = "entrance"
