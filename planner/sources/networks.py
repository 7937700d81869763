"""Street-network sources: graphs, OSM files, GraphML, road-line files and downloads.

Each reader returns a :class:`planner.network.RawNetwork`; :func:`planner.load_network`
picks the reader from the source and builds the :class:`planner.Network`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from .. import settings
from .._log import log
from ..errors import InputError, MissingColumnError, NetworkError, NoCrsError, PlannerWarning
from ..modes import TAG_KEYS, hashable
from ._noding import DANGLE_M, Noding, cluster_points, dangling_ends
from ._noding import node_crossings as node_raw_crossings
from ._sniff import check_file, pbf_errors, reading, xml_errors
from ._spatial import read_spatial

#: Edge attributes kept besides the tags the modes read (bridge, tunnel and layer keep
#: crossing streets apart when lines are noded).
KEEP_KEYS: tuple[str, ...] = tuple(
    dict.fromkeys((*TAG_KEYS, "name", "osmid", "bridge", "tunnel", "layer"))
)

XML_SUFFIXES = (".osm", ".xml", ".osm.xml", ".osm.bz2", ".xml.bz2")
PBF_SUFFIXES = (".pbf", ".osm.pbf")
GRAPHML_SUFFIXES = (".graphml",)
LINE_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".parquet")


@dataclass
class RawNetwork:
    """A street network as a loader hands it over, before projection.

    ``edges_u``/``edges_v`` hold node ids; ``geometry`` holds one LineString (or None
    for a straight edge) per edge in ``crs``; ``length`` is metres (NaN to compute).
    ``trust_length=False`` replaces every length by the geodesic length of the edge's
    polyline on the WGS-84 ellipsoid (OSM tools store spherical great-circle lengths,
    0.2-0.5 % off at Guangdong's latitudes).
    ``directed_rows`` says whether every usable direction is its own edge (osmnx
    MultiDiGraph) or edges are OSM way segments drawn once, whose ``oneway`` tags
    decide the directions (pyrosm, road lines).
    """

    node_ids: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    edges_u: np.ndarray
    edges_v: np.ndarray
    length: np.ndarray
    geometry: np.ndarray
    tags: pd.DataFrame
    crs: Any
    directed_rows: bool
    source: str = ""
    trust_length: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def suffix_of(path: Path) -> str:
    """Lower-case suffix including double suffixes like ``.osm.bz2``."""
    name = path.name.lower()
    for suf in sorted((*XML_SUFFIXES, *PBF_SUFFIXES, *GRAPHML_SUFFIXES, *LINE_SUFFIXES), key=len)[
        ::-1
    ]:
        if name.endswith(suf):
            return suf
    return path.suffix.lower()


@contextlib.contextmanager
def osmnx_tags() -> Iterator[None]:
    """Temporarily make osmnx keep every way tag the travel modes read."""
    import osmnx as ox

    old_tags = list(ox.settings.useful_tags_way)
    old_cache = (ox.settings.use_cache, ox.settings.cache_folder)
    ox.settings.useful_tags_way = list(dict.fromkeys([*old_tags, *KEEP_KEYS]))
    ox.settings.use_cache = settings.use_cache
    ox.settings.cache_folder = settings.cache_folder
    try:
        yield
    finally:
        ox.settings.useful_tags_way = old_tags
        ox.settings.use_cache, ox.settings.cache_folder = old_cache


# --- networkx graphs ------------------------------------------------------------------


def _node_xy(G: nx.Graph, source: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        xs = np.array([float(d["x"]) for _, d in G.nodes(data=True)])
        ys = np.array([float(d["y"]) for _, d in G.nodes(data=True)])
    except KeyError as exc:
        msg = (
            f"every node of the {source} needs 'x' and 'y' attributes (coordinates in the "
            f"graph's CRS); a node lacks {exc}. osmnx graphs have them; set them with "
            "nx.set_node_attributes(G, xs, 'x')."
        )
        raise InputError(msg) from None
    return xs, ys


@dataclass
class _Edges:
    """A graph's edges as columns."""

    u: list[Any] = field(default_factory=list)
    v: list[Any] = field(default_factory=list)
    length: list[float] = field(default_factory=list)
    geometry: list[Any] = field(default_factory=list)
    tags: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in KEEP_KEYS})


def _edges(G: nx.Graph) -> _Edges:
    out = _Edges()
    edges = G.edges(keys=True, data=True) if G.is_multigraph() else G.edges(data=True)
    for e in edges:
        data = e[-1]
        out.u.append(e[0])
        out.v.append(e[1])
        length = data.get("length")
        out.length.append(float(length) if length is not None else np.nan)
        out.geometry.append(data.get("geometry"))
        for k in KEEP_KEYS:
            out.tags[k].append(hashable(data.get(k)))
    return out


def raw_from_graph(G: nx.Graph, source: str = "graph") -> RawNetwork:
    """Read an osmnx-style networkx graph (node x/y, graph attribute crs).

    CRS rule: the network keeps the graph's CRS (``G.graph["crs"]``) as its input CRS.
    """
    crs = G.graph.get("crs")
    if crs is None:
        msg = (
            f"the {source} has no CRS: G.graph['crs'] is missing. Set it to the CRS of the "
            "node x/y values, e.g. G.graph['crs'] = 'EPSG:4326' for longitude/latitude."
        )
        raise NoCrsError(msg)
    if G.number_of_edges() == 0:
        msg = f"the {source} has no edges; a street network needs at least one street."
        raise NetworkError(msg)
    ids = _tidy_ids(np.fromiter(G.nodes, dtype=object, count=G.number_of_nodes()))
    xs, ys = _node_xy(G, source)
    edges = _edges(G)
    tags = pd.DataFrame(edges.tags)
    if not G.is_directed():
        tags["oneway"] = None  # an undirected graph has lost which way one-way streets run
        tags["junction"] = None
    created = str(G.graph.get("created_with", ""))
    return RawNetwork(
        node_ids=ids,
        node_x=xs,
        node_y=ys,
        edges_u=_tidy_ids(np.asarray(edges.u, dtype=object)),
        edges_v=_tidy_ids(np.asarray(edges.v, dtype=object)),
        length=np.asarray(edges.length, dtype=np.float64),
        geometry=np.asarray(_as_geometries(edges.geometry), dtype=object),
        tags=tags,
        crs=crs,
        directed_rows=G.is_directed(),
        source=source,
        trust_length=not created.lower().startswith("osmnx"),
    )


def _tidy_ids(ids: np.ndarray) -> np.ndarray:
    """Integer node ids as int64 when they all are integers, else objects."""
    if len(ids) and all(
        isinstance(i, int | np.integer) and not isinstance(i, bool) for i in ids[:1000]
    ):
        try:
            return ids.astype(np.int64)
        except (TypeError, ValueError, OverflowError):
            return ids
    return ids


def _as_geometries(values: list[Any]) -> list[Any]:
    out = []
    for g in values:
        geom = g
        if isinstance(g, str):
            try:
                geom = shapely.from_wkt(g)
            except shapely.errors.GEOSException:
                geom = None
        out.append(geom)
    return out


# --- files ------------------------------------------------------------------------------


def _where(path: Path) -> str:
    return f"network file {path.name!r}"


def raw_from_xml(path: Path) -> RawNetwork:
    """Read an OSM XML file (.osm, .osm.xml, .osm.bz2) with osmnx, keeping every component.

    CRS rule: OSM XML is WGS-84; the network's input CRS is EPSG:4326.
    """
    import osmnx as ox

    where = _where(path)
    check_file(path, where, "xml")
    with osmnx_tags(), reading(where, "xml", *xml_errors()):
        try:
            G = ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True)
        except ox._errors.InsufficientResponseError:
            msg = f"{where} holds no OSM nodes or ways; export the area again from OSM."
            raise NetworkError(msg) from None
        G = _streets_only(G)
        if G.number_of_edges():
            G = ox.simplify_graph(G)
    if G.number_of_edges() == 0:
        msg = f"{where} holds no streets (OSM ways tagged highway=*); is it the right area?"
        raise NetworkError(msg)
    return raw_from_graph(G, source=str(path))


def _streets_only(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Drop ways that are not streets (buildings, landuse, ...) and nodes left unused."""
    drop = [(u, v, k) for u, v, k, h in G.edges(keys=True, data="highway") if h is None]
    if drop:
        G = G.copy()
        G.remove_edges_from(drop)
        G.remove_nodes_from([n for n, deg in G.degree() if deg == 0])
    return G


def raw_from_graphml(path: Path) -> RawNetwork:
    """Read a GraphML file saved by osmnx (``osmnx.load_graphml``).

    CRS rule: the network keeps the graph's CRS (its ``crs`` graph attribute).
    """
    import osmnx as ox

    where = _where(path)
    check_file(path, where, "graphml")
    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # osmnx raises many kinds on foreign or damaged GraphML
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        msg = (
            f"{where} cannot be read as an osmnx GraphML file ({reason}); save the graph with "
            "osmnx.save_graphml, or pass the networkx graph itself to load_network."
        )
        raise NetworkError(msg) from None
    return raw_from_graph(G, source=str(path))


def raw_from_pbf(path: Path, boundary: Any = None) -> RawNetwork:
    """Read an OSM PBF file with pyrosm: every highway way, every node, no component dropped.

    CRS rule: OSM PBF is WGS-84; the network's input CRS is EPSG:4326.
    """
    import pyrosm

    where = _where(path)
    check_file(path, where, "pbf")
    bbox = boundary_polygon(boundary)
    extra = [k for k in KEEP_KEYS if k not in {"osmid"}]
    with reading(where, "pbf", *pbf_errors()):
        osm = pyrosm.OSM(str(path), bounding_box=bbox)
        got = osm.get_network(network_type="all", nodes=True, extra_attributes=extra)
    if got is None or got[1] is None or len(got[1]) == 0:
        msg = f"{where} holds no streets (OSM ways tagged highway=*) inside the area asked for."
        raise NetworkError(msg)
    nodes, edges = got
    tags = pd.DataFrame({k: _column(edges, k) for k in KEEP_KEYS if k != "osmid"})
    tags["osmid"] = edges["id"].to_numpy()
    return RawNetwork(
        node_ids=nodes["id"].to_numpy(dtype=np.int64),
        node_x=nodes["lon"].to_numpy(dtype=np.float64),
        node_y=nodes["lat"].to_numpy(dtype=np.float64),
        edges_u=edges["u"].to_numpy(dtype=np.int64),
        edges_v=edges["v"].to_numpy(dtype=np.int64),
        length=edges["length"].to_numpy(dtype=np.float64),
        geometry=edges.geometry.to_numpy(dtype=object),
        tags=tags,
        crs=edges.crs or "EPSG:4326",
        directed_rows=False,
        source=str(path),
        trust_length=False,
    )


def _column(df: pd.DataFrame, key: str) -> np.ndarray:
    if key not in df.columns:
        return np.full(len(df), None, dtype=object)
    col = df[key].astype(object)
    return col.where(col.notna(), None).to_numpy(dtype=object)


def _tag_values(df: pd.DataFrame, key: str) -> np.ndarray:
    """A tag column made hashable (lists become tuples, NaN None), once per distinct value."""
    if key not in df.columns:
        return np.full(len(df), None, dtype=object)
    values = df[key].astype(object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # lists in a GeoDataFrame built by hand: value by value
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = hashable(v)
        return out
    table = np.empty(len(uniques) + 1, dtype=object)  # code -1 (missing) -> None
    for i, u in enumerate(uniques):  # element by element: values may be tuples
        table[i] = hashable(u)
    return table[codes]


def boundary_polygon(boundary: Any) -> Any:
    """A boundary (bbox tuple, shapely polygon or GeoDataFrame) as one WGS-84 geometry."""
    if boundary is None:
        return None
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        if boundary.crs is None:
            msg = "boundary has no CRS; set it with boundary.set_crs('EPSG:4326')."
            raise NoCrsError(msg)
        return boundary.to_crs("EPSG:4326").union_all()
    if isinstance(boundary, tuple | list) and len(boundary) == 4:
        return shapely.box(*map(float, boundary))
    if isinstance(boundary, shapely.Geometry):
        return boundary
    msg = (
        "boundary must be a (west, south, east, north) tuple in degrees, a shapely polygon "
        f"in EPSG:4326 or a GeoDataFrame; got {type(boundary).__name__}."
    )
    raise InputError(msg)


def _line_parts(lines: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """One row per LineString (multi-part lines exploded), empty ones dropped."""
    if lines.crs is None:
        msg = f"{source} has no CRS; set it with gdf.set_crs(...) or add a .prj file."
        raise NoCrsError(msg)
    types = set(lines.geometry.geom_type.dropna().unique())
    if not types <= {"LineString", "MultiLineString"}:
        msg = (
            f"{source} must hold LineStrings (road centre lines); found geometry types "
            f"{sorted(types)}."
        )
        raise InputError(msg)
    exploded = lines.reset_index(drop=True).explode(index_parts=False)
    exploded = exploded[~exploded.geometry.is_empty & exploded.geometry.notna()]
    if exploded.empty:
        msg = f"{source} has no lines."
        raise NetworkError(msg)
    return exploded


def _stated_lengths(exploded: gpd.GeoDataFrame) -> np.ndarray:
    """A ``length`` column in metres where given (NaN: measure), not for multi-part rows."""
    if "length" not in exploded.columns:
        return np.full(len(exploded), np.nan)
    length = np.array(pd.to_numeric(exploded["length"], errors="coerce"), dtype=np.float64)
    # a MultiLineString's length is its parts' sum: its parts are measured instead
    length[exploded.index.duplicated(keep=False)] = np.nan
    return length


def _lines_network(exploded: gpd.GeoDataFrame, crs: Any, source: str, tol: float) -> RawNetwork:
    """Lines as edges between their ends; ends closer than ``tol`` are one node."""
    metric = exploded.to_crs(exploded.estimate_utm_crs())
    geoms = metric.geometry.to_numpy()
    ends_xy = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(geoms, 0)),
            shapely.get_coordinates(shapely.get_point(geoms, -1)),
        ]
    )
    node_of = cluster_points(ends_xy, tol)
    counts = np.bincount(node_of)
    node_xy = np.zeros((len(counts), 2))
    np.add.at(node_xy, node_of, ends_xy)
    node_xy /= counts[:, None]
    nodes = gpd.GeoSeries(gpd.points_from_xy(node_xy[:, 0], node_xy[:, 1]), crs=metric.crs)
    ll = nodes.to_crs(crs)
    tags = pd.DataFrame({k: _tag_values(exploded, k) for k in KEEP_KEYS})
    if "highway" not in exploded.columns:
        tags["highway"] = "road"
    n_lines = len(geoms)
    return RawNetwork(
        node_ids=np.arange(len(counts), dtype=np.int64),
        node_x=ll.x.to_numpy(),
        node_y=ll.y.to_numpy(),
        edges_u=node_of[:n_lines].astype(np.int64),
        edges_v=node_of[n_lines:].astype(np.int64),
        length=_stated_lengths(exploded),
        geometry=exploded.geometry.to_numpy(dtype=object),
        tags=tags,
        crs=crs,
        directed_rows=False,
        source=source,
        extra={"lines": True},
    )


def _at(raw: RawNetwork, point: tuple[float, float]) -> str:
    geographic = pyproj.CRS.from_user_input(raw.crs).is_geographic
    return (
        f"({point[0]:.6f}, {point[1]:.6f})" if geographic else f"({point[0]:.1f}, {point[1]:.1f})"
    )


def _report_joins(raw: RawNetwork, joined: Noding, source: str) -> None:
    """One warning: crossings joined, and dead ends within a few metres of another line."""
    dangling, dead_end = dangling_ends(raw)
    parts = []
    if joined.crossings:
        assert joined.example is not None
        parts.append(
            f"joined {joined.crossings} crossing(s) where lines cross without a shared vertex, "
            f"e.g. at {_at(raw, joined.example)} (node_crossings=True; lines tagged bridge or "
            "tunnel, or on another layer, stay apart; pass node_crossings=False when the "
            "lines cross on bridges or in tunnels)"
        )
    if dangling:
        assert dead_end is not None
        parts.append(
            f"{dangling} dead end(s) lie within {DANGLE_M:g} m of another line without meeting "
            f"it, e.g. at {_at(raw, dead_end)}; check them in a GIS (they may be gaps in the "
            "drawing: join the line to the street it should meet)"
        )
    if parts:
        where = f"road lines file {Path(source).name!r}" if Path(source).suffix else source
        warnings.warn(f"{where}: {'; '.join(parts)}.", PlannerWarning, stacklevel=3)


def raw_from_lines(
    lines: gpd.GeoDataFrame,
    source: str = "road lines",
    tolerance_m: float = 0.5,
    *,
    node_crossings: bool | None = None,
) -> RawNetwork:
    """Build a network from a planner's own road lines.

    Line ends closer than ``tolerance_m`` become one node. Columns named like OSM tags
    (``highway``, ``oneway``, ``maxspeed``, ``bridge``, ``tunnel``, ``layer``, ...) are
    used when present; lines without ``highway`` count as ``highway=road`` (open to
    every mode). A ``length`` column (metres) is used where given.

    ``node_crossings`` (default True for road lines): lines that cross without a
    shared vertex (as CAD and bureau data often do) are split there and joined, except
    lines tagged ``bridge``/``tunnel`` or on different ``layer`` values; one warning
    states how many crossings were joined and how many dead ends lie within 5 m of
    another line without meeting it. With ``node_crossings=False`` lines meet only at
    their ends (split them beforehand where streets really meet).

    CRS rule: the network keeps the lines' CRS as its input CRS.
    """
    exploded = _line_parts(lines, source)
    raw = _lines_network(exploded, lines.crs, source, tolerance_m)
    if node_crossings is False:
        return raw
    noded, joined = node_raw_crossings(raw, tolerance_m=tolerance_m)
    _report_joins(noded, joined, source)
    return noded


def apply_node_crossings(
    raw: RawNetwork, node_crossings: bool | None, *, tolerance_m: float = 0.5
) -> RawNetwork:
    """The ``node_crossings`` option of :func:`planner.load_network` for any source.

    Road lines decide it in :func:`raw_from_lines` (default on); other sources (OSM,
    GraphML, graphs, where streets meet at shared nodes) are noded only when asked
    (``node_crossings=True``), with the same warning.
    """
    if raw.extra.get("lines") or not node_crossings:
        return raw
    noded, joined = node_raw_crossings(raw, tolerance_m=tolerance_m)
    _report_joins(noded, joined, raw.source or "the network")
    return noded


def read_lines_file(path: Path) -> gpd.GeoDataFrame:
    """Read a road-lines file (GeoPackage, Shapefile, GeoJSON, ...), in its own CRS."""
    fix = (
        "save the road layer in a file of its own, or pass it as a GeoDataFrame: "
        "load_network(geopandas.read_file(path, layer='<road layer>'))"
    )
    gdf, _ = read_spatial(path, None, None, f"road lines file {path.name!r}", layer_fix=fix)
    return gdf


# --- downloads ------------------------------------------------------------------------


def raw_from_osmnx_query(query: Any) -> RawNetwork:
    """Download streets with osmnx (a place name, a polygon or a bbox); needs internet."""
    import osmnx as ox

    with osmnx_tags():
        if isinstance(query, str):
            G = ox.graph_from_place(query, network_type="all", simplify=True, retain_all=True)
            label = f"OSM download for {query!r}"
        elif isinstance(query, shapely.Polygon | shapely.MultiPolygon):
            G = ox.graph_from_polygon(query, network_type="all", simplify=True, retain_all=True)
            label = "OSM download for a polygon"
        else:
            west, south, east, north = map(float, query)
            G = ox.graph_from_bbox(
                (west, south, east, north), network_type="all", simplify=True, retain_all=True
            )
            label = f"OSM download for bbox {(west, south, east, north)}"
    log(f"downloaded {label}: {len(G):,} nodes")
    return raw_from_graph(G, source=label)


def require_columns(df: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise MissingColumnError naming the missing and the present columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        msg = (
            f"{what} lacks column(s) {missing}; columns present: {list(df.columns)}. "
            "Rename the column or pass its name."
        )
        raise MissingColumnError(msg)
