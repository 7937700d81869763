"""Residential blocks (小区/地块/street blocks), their gates, and communities (社区/村).

Blocks are where people live: polygons (or points) with population and households.
Communities are the administrative units the plan's targets count: polygons with a
name, an urban/rural setting, a region class (Pearl River Delta or east/west/north
Guangdong) and optionally the street/township (街道/乡镇) they belong to.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import settings
from .._log import log
from ..errors import InputError, PlannerWarning
from ..modes import DRIVABLE
from ._columns import (
    COMMUNITY,
    COMMUNITY_COUNTS,
    COMMUNITY_NAME,
    HOUSEHOLDS,
    NAME,
    POPULATION,
    REGION,
    SETTING,
    STREET,
    Field,
    find_column,
    require_column,
)
from ._numbers import read_numbers
from ._sniff import check_file, pbf_errors, reading
from .files import read_layer

# Columns read_layer adds: never the column asked for, not listed as present.
_ADDED = ("source_file", "source_row", "source_crs")
#: Headers found by default (compared without case, width, spaces or punctuation; see
#: planner.sources._columns, shared by every reader).
POPULATION_COLUMNS = POPULATION.aliases
HOUSEHOLD_COLUMNS = HOUSEHOLDS.aliases
NAME_COLUMNS = NAME.aliases
COMMUNITY_COLUMNS = COMMUNITY.aliases
STREET_COLUMNS = STREET.aliases
SETTING_COLUMNS = SETTING.aliases
REGION_COLUMNS = REGION.aliases

URBAN = {"urban", "城市", "城镇", "城", "社区", "u", "city", "town"}
RURAL = {"rural", "农村", "乡村", "村", "r", "village"}

#: Region classes of Guangdong's plan targets (rural coverage 80 % PRD, 50 % elsewhere).
REGIONS = ("prd", "east", "west", "north")
REGION_ALIASES = {
    "珠三角": "prd",
    "珠江三角洲": "prd",
    "pearl river delta": "prd",
    "粤东": "east",
    "粤西": "west",
    "粤北": "north",
}
#: Prefecture-level cities by region class [R] (DOMAIN §C).
CITY_REGION = {
    **dict.fromkeys(
        ["广州", "深圳", "珠海", "佛山", "惠州", "东莞", "中山", "江门", "肇庆"], "prd"
    ),
    **dict.fromkeys(["汕头", "汕尾", "潮州", "揭阳"], "east"),
    **dict.fromkeys(["湛江", "茂名", "阳江"], "west"),
    **dict.fromkeys(["韶关", "河源", "梅州", "清远", "云浮"], "north"),
}


def _find(
    df: pd.DataFrame, given: str | None, field: Field, file: str, given_as: str | None = None
) -> Any | None:
    """The column holding ``field``: the given name (must exist) or a detected one."""
    return find_column(df.columns, field, given=given, given_as=given_as, where=file, skip=_ADDED)


def setting_values(values: pd.Series, file: str, column: str) -> pd.Series:
    """Urban/rural values in any accepted spelling as "urban", "rural" or NA.

    Raises :class:`planner.errors.InputError` naming ``file`` and ``column`` on a value
    that is neither.
    """
    text = values.astype("string").str.normalize("NFKC").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    out[text.isin(URBAN)] = "urban"
    out[text.isin(RURAL)] = "rural"
    bad = text.notna() & out.isna()
    if bad.any():
        msg = (
            f"{file}: column {column!r} has values that are neither urban nor rural: "
            f"{sorted(text[bad].unique().tolist())[:8]}. Use urban/城市/城镇 or rural/农村/村."
        )
        raise InputError(msg)
    return out


def _region_values(values: pd.Series, file: str, column: str) -> pd.Series:
    text = values.astype("string").str.normalize("NFKC").str.strip().str.lower()
    out = text.replace(REGION_ALIASES)
    for city, region in CITY_REGION.items():  # city names ("广州市") give their region class
        out = out.mask(text.str.contains(city, regex=False).fillna(False), region)
    bad = out.notna() & ~out.isin(REGIONS)
    if bad.any():
        msg = (
            f"{file}: column {column!r} has region values planner does not know: "
            f"{sorted(out[bad].unique().tolist())[:8]}. Use prd, east, west or north "
            "(珠三角/粤东/粤西/粤北), or a Guangdong city name."
        )
        raise InputError(msg)
    return out.astype("string")


def _column_or_constant(
    df: pd.DataFrame,
    given: str | None,
    field: Field,
    read: Callable[[pd.Series, str, str], pd.Series],
    file: str,
    given_as: str,
) -> Any:
    """A setting/region column read with ``read``; or, when ``given`` names no column but
    is itself a value ("农村", "广州市"), that value for every row; NA when absent."""
    if given is not None and given not in df.columns:
        with contextlib.suppress(InputError):
            value = read(pd.Series([given], dtype="string"), file, field.what).iloc[0]
            if not pd.isna(value):
                return str(value)
    col = _find(df, given, field, file, given_as)
    return read(df[col], file, str(col)) if col is not None else pd.NA


def _block_index(gdf: gpd.GeoDataFrame, id: str | None, file: str) -> gpd.GeoDataFrame:
    """The blocks indexed by their id column (kept as a column); duplicates are an error."""
    if id is None:
        return gdf.copy()
    key = _find(gdf, id, Field("the block id", ()), file, "id")
    dup = gdf[key].duplicated(keep=False)
    if dup.any():
        msg = (
            f"{file}: column {key!r} should identify blocks but has duplicate values "
            f"{gdf.loc[dup, key].unique()[:5].tolist()}; fix them or pass another id column."
        )
        raise InputError(msg)
    return gdf.set_index(key, drop=False)


@dataclass(frozen=True)
class _BlockColumns:
    """The columns a blocks file names (None: detect by the field's aliases)."""

    population: str | None = None
    households: str | None = None
    name: str | None = None
    community: str | None = None
    street: str | None = None
    setting: str | None = None


def _counts(out: gpd.GeoDataFrame, given: _BlockColumns, file: str) -> None:
    """Population and households as numbers (empty and unreadable cells count as 0)."""
    pop = _find(out, given.population, POPULATION, file, "population")
    hh = _find(out, given.households, HOUSEHOLDS, file, "households")
    if pop is not None:
        out["population"] = read_numbers(
            out[pop], where=file, column=str(pop), what="residents", empty="zero"
        )
        out["population_source"] = "given"
    if hh is not None:
        out["households"] = read_numbers(
            out[hh], where=file, column=str(hh), what="households", empty="zero"
        )


def _labels(out: gpd.GeoDataFrame, given: _BlockColumns, file: str) -> None:
    """Name, community, street and setting under planner's names (where found)."""
    texts = (("name", given.name, NAME), ("community", given.community, COMMUNITY))
    for target, name, field in (*texts, ("street", given.street, STREET)):
        col = _find(out, name, field, file, target)
        if col is not None and col != target:
            out[target] = out[col].astype("string")
    se = _find(out, given.setting, SETTING, file, "setting")
    if se is not None:
        out["setting"] = setting_values(out[se], file, str(se))


def standardise_blocks(
    gdf: gpd.GeoDataFrame,
    *,
    population: str | None = None,
    households: str | None = None,
    name: str | None = None,
    community: str | None = None,
    street: str | None = None,
    setting: str | None = None,
    id: str | None = None,
    file: str = "blocks",
) -> gpd.GeoDataFrame:
    """Blocks with planner's column names (see :func:`read_blocks`), in ``gdf``'s CRS."""
    out = _block_index(gdf, id, file)
    given = _BlockColumns(population, households, name, community, street, setting)
    _counts(out, given, file)
    _labels(out, given, file)
    return out


def read_blocks(
    path: str | Path,
    *,
    population: str | None = None,
    households: str | None = None,
    name: str | None = None,
    community: str | None = None,
    street: str | None = None,
    setting: str | None = None,
    id: str | None = None,
    crs: Any = None,
    layer: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read planners' residential blocks (小区/地块 polygons, or points).

    Columns are found by name when not given: population (常住人口, 人口, pop, ...),
    households (户数, ...), name (名称, 小区名称, ...), community (社区, 村, ...),
    street (街道, 乡镇, ...) and setting (城乡: urban/城市/城镇 or rural/农村/村). Headers
    are compared without case, width, spaces, punctuation or a bracketed unit
    (``常住人口（人）`` is 常住人口), by every reader alike.

    Population and households are read as planners write them: ``1,980``, ``１９８０``,
    ``1.2万``, ``1980人``; empty cells and cells that are not numbers count as 0, with
    one warning giving their number and examples; a column with no number at all is an
    error.

    CRS rule: the result is in EPSG:4326 (``crs`` says what the file's coordinates are;
    see :func:`planner.read_layer`).

    Returns
    -------
    geopandas.GeoDataFrame
        The blocks in EPSG:4326 with ``population`` (float; when given),
        ``households``, ``name``, ``community``, ``street``, ``setting`` and
        ``population_source`` where found, plus the file's own columns and provenance.
        Indexed by ``id`` when given (duplicates are an error).
    """
    gdf = read_layer(path, crs=crs, layer=layer, sheet=sheet, encoding=encoding, what="blocks")
    return standardise_blocks(
        gdf,
        population=population,
        households=households,
        name=name,
        community=community,
        street=street,
        setting=setting,
        id=id,
        file=f"blocks file {Path(path).name!r}",
    )


def read_communities(
    path: str | Path,
    *,
    name: str | None = None,
    setting: str | None = None,
    region: str | None = None,
    street: str | None = None,
    crs: Any = None,
    layer: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read community (社区/村) boundaries with their urban/rural setting and region.

    Parameters
    ----------
    name
        Column of community names (detected: name, 社区, 社区名称, 名称, 村, ...).
    setting
        Column of urban/rural flags (urban/城市/城镇, rural/农村/村), or one such value
        for every community (``"rural"``, ``"农村"``). Without it communities count as
        urban. A name that is a column is read as the column.
    region
        Column of region classes (prd/east/west/north, 珠三角/粤东/粤西/粤北, or city
        names such as 广州市), or one such value for every community.
    street
        Column of the street/township (街道/乡镇) each community belongs to.

    CRS rule: the result is in EPSG:4326 (``crs`` says what the file's coordinates are;
    see :func:`planner.read_layer`).

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons in EPSG:4326 with ``community``, ``setting``, ``region`` and ``street``
        (when known), the counts found by their headers (``population``,
        ``households``, ``social_workers``, ``volunteers``, ``sports_instructors``,
        ``social_organisations``, ``service_floor_area_m2``: floats read as planners
        write them, ``"1,200户"``, ``"0.1万"``, ``"600㎡"``), plus the file's columns.
    """
    file = f"communities file {Path(path).name!r}"
    gdf = read_layer(path, crs=crs, layer=layer, encoding=encoding, what="communities")
    return standardise_communities(
        gdf, name=name, setting=setting, region=region, street=street, file=file
    )


def standardise_communities(
    gdf: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    setting: str | None = None,
    region: str | None = None,
    street: str | None = None,
    file: str = "communities",
) -> gpd.GeoDataFrame:
    """Communities with planner's column names (see :func:`read_communities`), in
    ``gdf``'s CRS."""
    out = gdf.copy()
    nm = require_column(
        out.columns, COMMUNITY_NAME, given=name, given_as="name", where=file, skip=_ADDED
    )
    out["community"] = out[nm].astype("string")
    dup = out["community"].duplicated(keep=False)
    if dup.any():
        msg = (
            f"{file}: community names in {nm!r} repeat: "
            f"{out.loc[dup, 'community'].unique()[:5].tolist()}; names identify communities "
            "in reports. Make them unique (add the street)."
        )
        raise InputError(msg)
    types = shapely.get_type_id(out.geometry.to_numpy())
    if not np.isin(types, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]).all():
        msg = f"{file}: communities must be polygons (社区/村 boundaries)."
        raise InputError(msg)
    out["setting"] = _column_or_constant(out, setting, SETTING, setting_values, file, "setting")
    out["region"] = _column_or_constant(out, region, REGION, _region_values, file, "region")
    st = _find(out, street, STREET, file, "street")
    if st is not None and st != "street":
        out["street"] = out[st].astype("string")
    _community_counts(out, str(nm), file)
    return out


def _community_counts(out: gpd.GeoDataFrame, name_col: str, file: str) -> None:
    """Population, households, staff and service floor area found in a communities file,
    as numbers under planner's names (read as planners write them: "1,200户", "0.1万")."""
    taken = {name_col, "community", *_ADDED}
    for target, field in COMMUNITY_COUNTS.items():
        col = find_column(out.columns, field, skip=taken)
        if col is None:
            continue
        taken.add(str(col))
        out[target] = read_numbers(
            out[col], where=file, column=str(col), what=target, keys=out["community"]
        )


def join_communities(blocks: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Blocks with the community, street, setting and region of the community they lie in.

    A block belongs to the community containing its representative point. Values the
    blocks already have (a ``setting`` column, say) are kept where not missing. Blocks
    outside every community keep NA and are counted in one warning.
    """
    pts = gpd.GeoDataFrame(
        {"_pos": np.arange(len(blocks))},
        geometry=blocks.geometry.representative_point().to_crs(communities.crs).values,
        crs=communities.crs,
    )
    cols = [c for c in ("community", "street", "setting", "region") if c in communities.columns]
    hit = gpd.sjoin(pts, communities[[*cols, "geometry"]], predicate="within", how="left")
    hit = hit[~hit["_pos"].duplicated()]  # a point on a shared border: first community
    out = blocks.copy()
    for c in cols:
        joined = pd.Series(hit[c].to_numpy(), index=blocks.index)
        if c in out.columns:
            out[c] = out[c].astype(object).where(out[c].notna(), joined.astype(object))
        else:
            out[c] = joined
    outside = int(hit["index_right"].isna().sum())
    if outside:
        warnings.warn(
            f"{outside} blocks lie outside every community boundary and have no community; "
            "check that both layers cover the same area (and their CRS).",
            PlannerWarning,
            stacklevel=2,
        )
    return out


# --- street blocks derived from the network --------------------------------------------------

#: Streets that bound blocks: what cars and pedestrians share (no footways, paths,
#: tracks or service ways, so paths through a park do not cut it up).
_ROAD_CLASSES = (DRIVABLE - {"service", "track"}) | {"pedestrian"}
#: Building types that are not homes; footprints of other types (including the common
#: untyped ``building=yes``) count as residential floor area [I].
_NON_RESIDENTIAL_BUILDINGS = {
    "commercial",
    "retail",
    "office",
    "industrial",
    "warehouse",
    "church",
    "cathedral",
    "chapel",
    "temple",
    "mosque",
    "religious",
    "school",
    "university",
    "college",
    "kindergarten",
    "hospital",
    "public",
    "civic",
    "government",
    "train_station",
    "transportation",
    "parking",
    "garage",
    "garages",
    "hotel",
    "stadium",
    "sports_hall",
    "museum",
    "supermarket",
    "roof",
    "shed",
    "service",
    "kiosk",
    "bridge",
    "construction",
    "ruins",
    "hangar",
    "barn",
    "farm_auxiliary",
    "greenhouse",
    "toilets",
    "power",
}


def derive_blocks(
    network: Any,
    *,
    buildings: str | gpd.GeoDataFrame | None = "osm",
    water: str | gpd.GeoDataFrame | None = "osm",
    boundaries: str = "roads",
    min_area_m2: float = 2000.0,
    total_population: float | None = None,
    density_per_ha: float | None = None,
) -> gpd.GeoDataFrame:
    """Street blocks: the faces the street network encloses, with estimated population.

    Parameters
    ----------
    network
        A :class:`planner.Network`; its source file supplies OSM buildings and water
        when ``buildings``/``water`` are ``"osm"``.
    buildings
        Buildings for the population estimate: ``"osm"`` (from the network's OSM file),
        a GeoDataFrame of footprints (``building``, ``building:levels`` columns are used
        when present) or None. Footprints of known non-residential types (shops,
        offices, schools, ...) are left out; untyped ones (``building=yes``) count [I].
    water
        Water areas to drop blocks on: ``"osm"``, a GeoDataFrame of polygons or None.
    boundaries
        {"roads", "all"}: which edges bound blocks. ``roads`` uses streets cars and
        pedestrians share (not footways, paths or service ways), so paths through a
        park do not cut it into slivers.
    min_area_m2
        Smaller faces (traffic islands, slivers) are dropped.
    total_population
        Scale estimates so they sum to this (e.g. the census population of the area).
    density_per_ha
        Residents per hectare of block for the area-based estimate (default
        ``settings.default_density_per_ha``).

    CRS rule: the blocks come back in the network's input CRS (``network.input_crs``:
    EPSG:4326 for OSM files, downloads and WGS-84 road lines), as every result built from
    a network does; areas are measured in its metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons in the network's input CRS, indexed ``block_0, block_1, ...``, with
        ``area_m2``, ``floor_area_m2`` (residential floor area found), ``population``
        and ``population_source`` ("buildings" or "area"); every population here is an
        estimate.
    """
    blocks = _faces(network, boundaries, min_area_m2)
    n_all = len(blocks)
    blocks = _off_water(blocks, network, water)
    blocks.index = pd.Index([f"block_{i}" for i in range(len(blocks))], name="block")
    blocks["area_m2"] = blocks.area
    bld = _osm_layer(network, "buildings") if isinstance(buildings, str) else buildings
    floor = np.zeros(len(blocks))
    if bld is not None and len(bld):
        floor = _floor_area(blocks, bld.to_crs(network.crs))
    blocks["floor_area_m2"] = floor
    pop, source = _estimated_population(blocks, floor, total_population, density_per_ha)
    blocks["population"] = pop
    blocks["population_source"] = source
    log(
        f"derive_blocks: {len(blocks):,} blocks kept of {n_all:,} faces >= {min_area_m2:g} m2; "
        f"population {pop.sum():,.0f} estimated from {source[0] if len(source) else '-'}"
    )
    return blocks.to_crs(network.input_crs)


def _faces(network: Any, boundaries: str, min_area_m2: float) -> gpd.GeoDataFrame:
    """The polygons the boundary streets enclose (in the network's metric CRS)."""
    lines = shapely.normalize(_boundary_lines(network, boundaries))
    # a two-way street drawn as two directed edges is one boundary
    lines = lines[~pd.Series(shapely.to_wkb(lines)).duplicated().to_numpy()]
    faces = shapely.get_parts(shapely.polygonize(lines))
    faces = faces[shapely.area(faces) >= min_area_m2]
    bad = ~shapely.is_valid(faces)
    if bad.any():  # overlapping ways can make self-touching faces: keep their polygon part
        fixed = shapely.make_valid(faces[bad])
        faces[bad] = [_largest_polygon(g) for g in fixed]
    return gpd.GeoDataFrame(geometry=faces, crs=network.crs)


def _off_water(
    blocks: gpd.GeoDataFrame, network: Any, water: str | gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """The faces less than half covered by water areas, renumbered from 0."""
    water_gdf = _osm_layer(network, "water") if isinstance(water, str) else water
    if water_gdf is not None and len(water_gdf):
        faces = blocks.geometry.to_numpy()
        wet = shapely.make_valid(water_gdf.to_crs(network.crs).geometry.make_valid().union_all())
        share = shapely.area(shapely.intersection(faces, wet)) / shapely.area(faces)
        blocks = blocks[share < 0.5]
    return blocks.reset_index(drop=True)


def _estimated_population(
    blocks: gpd.GeoDataFrame,
    floor: np.ndarray,
    total_population: float | None,
    density_per_ha: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Residents per block from floor area, else from land area; and how each was found."""
    if floor.sum() > 0:
        pop = floor / float(settings.floor_m2_per_person)
        source = np.where(floor > 0, "buildings", "none")
    else:
        dens = settings.default_density_per_ha if density_per_ha is None else density_per_ha
        pop = blocks["area_m2"].to_numpy() / 10_000.0 * float(dens)
        source = np.full(len(blocks), "area", dtype=object)
    if total_population is not None and pop.sum() > 0:
        pop = pop * (float(total_population) / pop.sum())
    return pop, source


def _largest_polygon(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else shapely.Polygon()


def _boundary_lines(network: Any, boundaries: str) -> np.ndarray:
    if boundaries not in {"roads", "all"}:
        msg = f"boundaries={boundaries!r}; expected 'roads' or 'all'."
        raise InputError(msg)
    geoms = shapely.from_ragged_array(
        shapely.GeometryType.LINESTRING, network.coords, (network.coord_ptr,)
    )
    if boundaries == "all":
        return np.asarray(geoms)
    from ..modes import norm_tag

    hw = network.tags["highway"] if "highway" in network.tags.columns else pd.Series(None)
    codes, uniq = pd.factorize(hw)
    # an edge without a highway tag (hand-made graphs, road lines) counts as a road
    road = np.array([bool(set(norm_tag(u) or ("road",)) & _ROAD_CLASSES) for u in uniq] + [True])
    return np.asarray(geoms)[road[codes]]


def _osm_layer(network: Any, what: str) -> gpd.GeoDataFrame | None:
    """Buildings or water areas from the OSM PBF the network was read from (or None)."""
    src = str(getattr(network, "source", ""))
    if not src.lower().endswith(".pbf") or not Path(src).exists():
        return None
    import pyrosm

    with reading(f"network file {Path(src).name!r}", "pbf", *pbf_errors()):
        gdf = _pyrosm_layer(pyrosm.OSM(src), what)
    if gdf is None or len(gdf) == 0:
        return None
    types = shapely.get_type_id(gdf.geometry.to_numpy())
    return gdf[np.isin(types, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])]


def _pyrosm_layer(osm: Any, what: str) -> gpd.GeoDataFrame | None:
    if what == "buildings":
        gdf = osm.get_buildings()
    else:
        gdf = osm.get_data_by_custom_criteria(
            custom_filter={
                "natural": ["water"],
                "landuse": ["reservoir", "basin"],
                "waterway": ["riverbank"],
                "water": True,
            },
            filter_type="keep",
            keep_nodes=False,
        )
    return gdf


def _floor_area(blocks: gpd.GeoDataFrame, bld: gpd.GeoDataFrame) -> np.ndarray:
    """Residential floor area (footprint x levels) per block, by building centroid."""
    if "building" in bld.columns:
        kind = bld["building"].astype("string").str.lower()
        bld = bld[~np.array(kind.isin(_NON_RESIDENTIAL_BUILDINGS).fillna(False), dtype=bool)]
    levels = pd.Series(np.nan, index=bld.index)
    if "building:levels" in bld.columns:
        levels = pd.to_numeric(bld["building:levels"], errors="coerce")
    levels = levels.where(levels > 0, float(settings.default_building_levels))
    floor = bld.geometry.area.to_numpy() * levels.to_numpy()
    pts = gpd.GeoDataFrame({"floor": floor}, geometry=bld.geometry.centroid.values, crs=bld.crs)
    hit = gpd.sjoin(pts, blocks[["geometry"]].reset_index(drop=True), predicate="within")
    per = hit.groupby("index_right")["floor"].sum()
    out = np.zeros(len(blocks))
    out[per.index.to_numpy()] = per.to_numpy()
    return out


def block_entrances(
    blocks: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame | str | Path,
    *,
    tolerance_m: float = 5.0,
) -> gpd.GeoDataFrame:
    """Gates of gated compounds (封闭小区), each assigned to the block it opens.

    Parameters
    ----------
    blocks
        Block polygons.
    gates
        Gate points (a GeoDataFrame or a file), or an OSM file (``.osm.pbf``) whose
        ``barrier=gate`` and ``entrance=*`` nodes are taken (``access=private|no``
        gates are left out).
    tolerance_m
        A gate belongs to a block when it lies inside it or within this distance of its
        boundary.

    CRS rule: the gates come back in the blocks' CRS (a gates file is read into
    EPSG:4326 by :func:`planner.read_layer` first).

    Returns
    -------
    geopandas.GeoDataFrame
        Gate points with a ``block`` column (the block's index label), ready for
        ``travel_times(..., entrances=...)`` and ``assess(..., entrances=...)``.
    """
    gates_gdf = _gates(gates)
    if len(gates_gdf) == 0:
        return gpd.GeoDataFrame({"block": []}, geometry=[], crs=blocks.crs)
    metric = blocks.estimate_utm_crs()
    poly = gpd.GeoDataFrame(
        {"block": blocks.index.to_numpy()},
        geometry=blocks.to_crs(metric).geometry.values,
        crs=metric,
    )
    pts = gpd.GeoDataFrame(geometry=gates_gdf.to_crs(metric).geometry.values, crs=metric)
    hit = gpd.sjoin(pts, poly, predicate="dwithin", distance=tolerance_m, how="inner")
    out = gpd.GeoDataFrame(
        {"block": hit["block"].to_numpy()},
        geometry=gates_gdf.geometry.to_crs(blocks.crs).to_numpy()[hit.index.to_numpy()],
        crs=blocks.crs,
    )
    return out.reset_index(drop=True)


def _gates(gates: gpd.GeoDataFrame | str | Path) -> gpd.GeoDataFrame:
    """Gate points from a GeoDataFrame, a points file or an OSM PBF file."""
    if not isinstance(gates, str | Path):
        return gates
    path = Path(gates)
    if not path.name.lower().endswith(".pbf"):
        return read_layer(path, what="gates")
    import pyrosm

    where = f"gates file {path.name!r}"
    if not path.exists():
        msg = f"{where} does not exist (looked for {path.resolve()}); check the path."
        raise InputError(msg)
    check_file(path, where, "pbf")
    with reading(where, "pbf", *pbf_errors()):
        got = pyrosm.OSM(str(path)).get_data_by_custom_criteria(
            custom_filter={"entrance": True, "barrier": ["gate", "entrance"]},
            filter_type="keep",
            keep_nodes=True,
            keep_ways=False,
            keep_relations=False,
        )
    found = got if got is not None else gpd.GeoDataFrame(geometry=[], crs=4326)
    if "access" in found.columns:
        found = found[~found["access"].isin(["private", "no"])]
    return found
