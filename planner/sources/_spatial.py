"""Spatial files (GeoPackage, shapefile, GeoJSON, FlatGeobuf, GeoParquet) read into WGS-84.

Shared by :func:`planner.read_layer` and the road-line reader of
:func:`planner.load_network`: the file is checked (:mod:`._sniff`), its layer chosen, a
shapefile's text encoding found when GDAL cannot know it, its coordinates converted to
WGS-84 by the crs rule of :func:`planner.read_layer`, and empty or invalid geometries
dropped or repaired with one warning each.
"""

from __future__ import annotations

import codecs
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from ..errors import InputError, NoCrsError, PlannerWarning, closest, describe
from ._points import crs_label
from ._sniff import check_file, reading
from .coords import to_wgs84

__all__ = ["clean_geometries", "read_spatial", "spatial_to_wgs84"]

# Language driver ids (.dbf byte 29) that name no code page: 0 (none) and 0x57 ("ANSI",
# the writer's Windows code page, which on a Chinese system is GBK).
_LDID_UNKNOWN = (0x00, 0x57)
# How much of a .dbf's records to test for UTF-8 / GBK when sniffing its encoding.
_DBF_SNIFF_BYTES = 16 << 20
# What GDAL (pyogrio) raises on a file it cannot open or read.
_GDAL_ERRORS = (RuntimeError, OSError, ValueError)
_KIND = {".gpkg": "gpkg", ".shp": "shp", ".geojson": "geojson", ".json": "geojson"}

FloatArray = npt.NDArray[np.float64]


def _warn(msg: str) -> None:
    warnings.warn(msg, PlannerWarning, stacklevel=4)


def _sidecar(path: Path, suffix: str) -> Path | None:
    """A shapefile's companion file (``.dbf``, ``.cpg``, ...) in either letter case."""
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _decodes(fh: Any) -> dict[str, bool]:
    """Which of UTF-8 and GBK decode the rest of an open .dbf ({} if it is all ASCII)."""
    decoders = {
        "UTF-8": codecs.getincrementaldecoder("utf-8")(),
        "GBK": codecs.getincrementaldecoder("gbk")(),
    }
    ok = dict.fromkeys(decoders, True)
    seen_non_ascii, done = False, 0
    while done < _DBF_SNIFF_BYTES and any(ok.values()):
        chunk = fh.read(1 << 20)
        if not chunk:
            break
        done += len(chunk)
        if not seen_non_ascii and chunk.isascii():
            continue
        seen_non_ascii = True
        for enc, decoder in decoders.items():
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                ok[enc] = False
    return ok if seen_non_ascii else {}


def shapefile_encoding(path: Path) -> str | None:
    """The encoding of a shapefile's attributes when GDAL cannot know it, else None.

    A ``.cpg`` file names the encoding and GDAL honours it, as it honours a code page in
    the ``.dbf`` header (its language driver id). Without either GDAL assumes
    ISO-8859-1, which turns the GBK text of most Chinese shapefiles (ArcGIS on a Chinese
    Windows writes GBK with no ``.cpg``) into mojibake. So then the raw bytes of the
    ``.dbf`` records are decoded here: text that is valid UTF-8 is UTF-8 (GBK text with
    Chinese characters is practically never valid UTF-8), else text that is valid GBK is
    GBK. Pure ASCII (or an undecodable mix) is left to GDAL.
    """
    dbf = _sidecar(path, ".dbf")
    if _sidecar(path, ".cpg") is not None or dbf is None:
        return None
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32 or head[29] not in _LDID_UNKNOWN:
            return None
        fh.seek(int.from_bytes(head[8:10], "little"))  # start of the records
        ok = _decodes(fh)
    return next((enc for enc, good in ok.items() if good), None)


def _read_parquet(path: Path, where: str) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path)
    except ImportError:
        msg = "reading .parquet files needs the pyarrow package: pip install pyarrow"
        raise InputError(msg) from None
    except (ValueError, OSError) as exc:
        msg = f"{where}: cannot be read as GeoParquet ({exc}); export it again from your GIS."
        raise InputError(msg) from None


def _layers(path: Path, where: str) -> list[str]:
    suffix = path.suffix.lower()
    try:
        return [str(name) for name in gpd.list_layers(path)["name"]]
    except _GDAL_ERRORS as exc:
        hint = (
            " Amap/Tencent API responses are not GeoJSON: put their 'pois' into a CSV."
            if suffix == ".json"
            else ""
        )
        msg = f"{where}: cannot be read as a {suffix} file ({exc}); is it damaged?{hint}"
        raise InputError(msg) from None


def _choose_layer(layers: list[str], layer: str | int | None, where: str, fix: str) -> None:
    """Check that ``layer`` picks one of ``layers`` (or that there is only one)."""
    if not layers:
        msg = f"{where} holds no layer; check that it is the right file."
        raise InputError(msg)
    if layer is None and len(layers) > 1:
        msg = f"{where} holds {len(layers)} layers ({describe(layers)}); {fix}."
        raise InputError(msg)
    if isinstance(layer, int) and not 0 <= layer < len(layers):
        msg = f"{where} has {len(layers)} layer(s) ({describe(layers)}); layer={layer} is too high."
        raise InputError(msg)
    if isinstance(layer, str) and layer not in layers:
        hint = closest(layer, layers)
        msg = f"{where} has no layer {layer!r}; its layers are {describe(layers)}.{hint}"
        raise InputError(msg)


def read_spatial(
    path: Path,
    layer: str | int | None,
    encoding: str | None,
    where: str,
    layer_fix: str = "pass layer=... to pick one",
) -> tuple[gpd.GeoDataFrame, str | None]:
    """A spatial file's features (in the file's CRS) and the text encoding used."""
    suffix = path.suffix.lower()
    check_file(path, where, _KIND.get(suffix, "spatial"))
    if suffix == ".parquet":
        return _read_parquet(path, where), None
    _choose_layer(_layers(path, where), layer, where, layer_fix)
    used = encoding
    if used is None and suffix == ".shp":
        used = shapefile_encoding(path)
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    if used is not None:
        kwargs["encoding"] = used
    with reading(where, _KIND.get(suffix, "spatial"), *_GDAL_ERRORS):
        gdf = gpd.read_file(path, **kwargs)
    if used is None and suffix == ".shp":
        cpg = _sidecar(path, ".cpg")
        used = cpg.read_text(encoding="ascii", errors="replace").strip() or None if cpg else None
    return gdf, used


# --- coordinates -----------------------------------------------------------------------


def _shift_geometries(geoms: npt.NDArray[np.object_], crs: Any) -> tuple[Any, str]:
    """Geometries with every vertex converted to WGS-84 by coords.to_wgs84 (one call)."""
    labels: list[str] = []

    def convert(xy: FloatArray) -> FloatArray:
        lon, lat, label = to_wgs84(xy[:, 0], xy[:, 1], crs)
        labels.append(label)
        return np.column_stack([lon, lat])

    out = shapely.transform(geoms, convert)
    return out, labels[0] if labels else crs_label(crs)


def _own_crs(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        msg = (
            f"{where} declares no coordinate reference system (no .prj or CRS in the "
            "file); pass crs=... (crs='wgs84' for GPS/OSM data, 'gcj02' for Amap/Tencent, "
            "'bd09' for Baidu, or an EPSG code such as 4547), or add a .prj file."
        )
        raise NoCrsError(msg)
    return gdf.assign(source_crs=crs_label(gdf.crs, where)).to_crs("EPSG:4326")


def _reinterpreted(gdf: gpd.GeoDataFrame, crs: Any, where: str) -> gpd.GeoDataFrame:
    """GCJ-02/BD-09 numbers converted, whatever the file's .prj says (if geographic)."""
    if gdf.crs is not None and not gdf.crs.is_geographic:
        msg = (
            f"{where}: crs={crs!r} reinterprets longitude/latitude, but the file's "
            f"coordinates are projected ({gdf.crs.to_string()}); drop crs= to use the "
            "file's CRS."
        )
        raise InputError(msg)
    geoms, label = _shift_geometries(gdf.geometry.to_numpy(), crs)
    out = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=geoms, crs=4326)
    return out.assign(source_crs=label)


def spatial_to_wgs84(gdf: gpd.GeoDataFrame, crs: Any, where: str) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 with its ``source_crs`` label, given the crs argument.

    ``crs=None`` uses the file's CRS (none: NoCrsError); ``"gcj02"``/``"bd09"``
    reinterprets the file's degrees (Amap-derived files often carry a WGS-84 .prj around
    GCJ-02 numbers); another crs is used for a file without one and must otherwise
    agree with the file's.
    """
    if crs is None:
        return _own_crs(gdf, where)
    label = crs_label(crs, where)
    if label in ("GCJ-02", "BD-09"):
        return _reinterpreted(gdf, crs, where)
    given = pyproj.CRS.from_user_input(
        {"WGS-84": "EPSG:4326", "CGCS2000": "EPSG:4490"}.get(label, crs)
    )
    if gdf.crs is None:
        return gdf.set_crs(given).assign(source_crs=label).to_crs("EPSG:4326")
    if not given.equals(gdf.crs, ignore_axis_order=True):
        msg = (
            f"{where} declares its CRS as {crs_label(gdf.crs)}, but crs={crs!r} "
            f"({label}) was given; drop crs= to use the file's CRS, or fix the file's .prj."
        )
        raise InputError(msg)
    return gdf.assign(source_crs=label).to_crs("EPSG:4326")


def check_range(gdf: gpd.GeoDataFrame, where: str) -> None:
    """Raise when a layer converted to WGS-84 has coordinates beyond -180..180/-90..90."""
    x0, y0, x1, y1 = gdf.total_bounds
    finite = bool(np.isfinite([x0, y0, x1, y1]).all())
    if not finite or x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        msg = (
            f"{where}: in WGS-84 its coordinates span x {x0:g}..{x1:g}, y {y0:g}..{y1:g}, "
            "outside longitude -180..180 / latitude -90..90; the file's CRS is probably wrong "
            "(pass the right one as crs=..., e.g. crs='EPSG:4547')."
        )
        raise InputError(msg)


# --- geometries ------------------------------------------------------------------------


def _drop_missing(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
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
    return gdf


def clean_geometries(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """Drop empty/missing geometries and repair invalid ones (one warning each)."""
    gdf = _drop_missing(gdf, where)
    geoms = gdf.geometry.to_numpy()
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
