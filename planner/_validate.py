"""Checks of the layers and networks handed to the engine and the assessment.

Shared by the stages above the network (access, isochrones, assess, siting): each returns
the checked value or raises a :mod:`planner.errors` exception whose message names the
argument and the fix; :func:`warn` reports what was worked around.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError, MissingColumnError, NoCrsError, PlannerWarning
from .network import Network

_PACKAGE = str(Path(__file__).resolve().parent)


def warn(message: str) -> None:
    """Issue a :class:`PlannerWarning` attributed to the caller's code outside planner.

    Python shows a warning once per place it is attributed to; attributing it to the
    user's line (however deep inside planner it arose) shows it for each of their calls.
    """
    frame = sys._getframe(0)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, PlannerWarning, stacklevel=level)


def check_network(network: object, argument: str = "network") -> Network:
    """Raise a clear error unless ``network`` is a :class:`planner.Network`."""
    if not isinstance(network, Network):
        msg = (
            f"{argument} must be a planner.Network; got {type(network).__name__}. "
            "Build one with planner.load_network(source, mode=...) from a graph, an OSM "
            "file or a place name."
        )
        raise InputError(msg)
    return network


def check_limit(value: object, argument: str = "max_time_s") -> float:
    """A non-negative number (inf allowed) or a clear error."""
    try:
        limit = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        msg = f"{argument} must be a number of seconds, e.g. 900 for 15 minutes; got {value!r}."
        raise InputError(msg) from None
    if math.isnan(limit) or limit < 0:
        msg = (
            f"{argument} must be zero or more seconds (e.g. 900 for 15 minutes); got {value!r}. "
            "Use math.inf for no limit."
        )
        raise InputError(msg)
    return limit


def check_gdf(gdf: object, argument: str) -> gpd.GeoDataFrame:
    """A GeoDataFrame (or GeoSeries) with a CRS, or a clear error."""
    if isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = (
            f"{argument} must be a GeoDataFrame; got {type(gdf).__name__}. Read files with "
            "planner.read_facilities / geopandas.read_file, or build one with "
            "geopandas.GeoDataFrame(df, geometry=geopandas.points_from_xy(lon, lat), "
            "crs='EPSG:4326')."
        )
        raise InputError(msg)
    if gdf.crs is None:
        msg = (
            f"{argument} has no CRS. Set the CRS its coordinates are in, e.g. "
            f"{argument}.set_crs('EPSG:4326') for WGS-84 longitude/latitude (convert Amap/"
            "Tencent GCJ-02 or Baidu BD-09 data with planner.read_facilities(..., crs='gcj02'))."
        )
        raise NoCrsError(msg)
    return gdf


def check_facilities(facilities: object, category: str) -> gpd.GeoDataFrame:
    """Validate a facility layer: GeoDataFrame with CRS, point geometries, category column."""
    fac = check_gdf(facilities, "facilities")
    if category not in fac.columns:
        msg = (
            f"facilities has no category column {category!r}; columns present: "
            f"{list(fac.columns)}. Pass category='<column>' naming the column that holds "
            "each facility's category."
        )
        raise MissingColumnError(msg)
    type_id = shapely.get_type_id(fac.geometry.to_numpy())
    bad = (type_id >= 0) & (type_id != shapely.GeometryType.POINT)
    if bad.any():
        first = fac.index[np.flatnonzero(bad)[0]]
        kinds = sorted(fac.geometry.geom_type[bad].unique())
        msg = (
            f"facilities must be points; {int(bad.sum())} rows are {kinds} (first at index "
            f"{first!r}). Turn areas into points first, e.g. "
            "facilities.set_geometry(facilities.representative_point()), or load OSM "
            "features with planner.load_facilities, which does this."
        )
        raise InputError(msg)
    col = fac[category]
    if not isinstance(col.dtype, pd.CategoricalDtype) and col.hasnans:
        # pd.NA in a string/Int column would make every comparison ambiguous: a row with
        # no category is no facility of any category (None compares unequal to all).
        fac = fac.assign(**{category: col.astype(object).where(col.notna(), None)})
    return fac


def check_entrances(
    entrances: object, index: pd.Index, of: str
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Validate gates of gated compounds: a GeoDataFrame whose ``block`` column names,
    for each entrance, the label in ``index`` (of the layer called ``of``) of the block it
    opens. Returns the entrances and the position in ``index`` of each one's block."""
    ent = check_gdf(entrances, "entrances")
    if "block" not in ent.columns:
        msg = (
            "entrances needs a 'block' column holding, for each entrance, the index label "
            f"of the block it opens; columns present: {list(ent.columns)}. "
            "planner.block_entrances(blocks, gates) builds it."
        )
        raise MissingColumnError(msg)
    owner = index.get_indexer(ent["block"])
    if (owner < 0).any():
        bad = ent["block"][owner < 0].unique()[:5].tolist()
        msg = (
            f"{int((owner < 0).sum())} entrances name blocks that are not in {of} "
            f"(e.g. {bad}); their 'block' values must be index labels of the {of}."
        )
        raise InputError(msg)
    return ent, owner
