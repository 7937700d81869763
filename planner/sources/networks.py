"""Street-network sources: graphs, OSM files, GraphML, road-line files and downloads.

Each reader returns a :class:`planner.network.RawNetwork`; :func:`planner.load_network`
picks the reader from the source and builds the :class:`planner.Network`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .. import settings
from .._log import log
from ..errors import InputError, MissingColumnError, NetworkError, NoCrsError
from ..modes import TAG_KEYS, hashable

#: Edge attributes kept besides the tags the modes read.
KEEP_KEYS: tuple[str, ...] = (*TAG_KEYS, "name", "osmid")

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


def raw_from_graph(G: nx.Graph, source: str = "graph") -> RawNetwork:
    """Read an osmnx-style networkx graph (node x/y, graph attribute crs)."""
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
    ids = np.fromiter(G.nodes, dtype=object, count=G.number_of_nodes())
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
    ids = _tidy_ids(ids)
    directed = G.is_directed()
    us: list[Any] = []
    vs: list[Any] = []
    lengths: list[float] = []
    geoms: list[Any] = []
    cols: dict[str, list[Any]] = {k: [] for k in KEEP_KEYS}
    edges = G.edges(keys=True, data=True) if G.is_multigraph() else G.edges(data=True)
    for e in edges:
        u, v, data = e[0], e[1], e[-1]
        us.append(u)
        vs.append(v)
        length = data.get("length")
        lengths.append(float(length) if length is not None else np.nan)
        geoms.append(data.get("geometry"))
        for k in KEEP_KEYS:
            cols[k].append(hashable(data.get(k)))
    geometry = np.asarray(_as_geometries(geoms), dtype=object)
    tags = pd.DataFrame(cols)
    if not directed:
        tags["oneway"] = None  # an undirected graph has lost which way one-way streets run
        tags["junction"] = None
    created = str(G.graph.get("created_with", ""))
    return RawNetwork(
        node_ids=ids,
        node_x=xs,
        node_y=ys,
        edges_u=_tidy_ids(np.asarray(us, dtype=object)),
        edges_v=_tidy_ids(np.asarray(vs, dtype=object)),
        length=np.asarray(lengths, dtype=np.float64),
        geometry=geometry,
        tags=tags,
        crs=crs,
        directed_rows=directed,
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


def raw_from_xml(path: Path) -> RawNetwork:
    """Read an OSM XML file (.osm, .osm.xml, .osm.bz2) with osmnx, keeping every component."""
    import osmnx as ox

    with osmnx_tags():
        G = ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True)
        G = _streets_only(G)
        if G.number_of_edges():
            G = ox.simplify_graph(G)
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
    """Read a GraphML file saved by osmnx (``osmnx.load_graphml``)."""
    import osmnx as ox

    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # osmnx raises several kinds on foreign GraphML
        msg = f"could not read {path} as an osmnx GraphML file: {exc}"
        raise NetworkError(msg) from exc
    return raw_from_graph(G, source=str(path))


def raw_from_pbf(path: Path, boundary: Any = None) -> RawNetwork:
    """Read an OSM PBF file with pyrosm: every highway way, every node, no component dropped."""
    import pyrosm

    bbox = boundary_polygon(boundary)
    osm = pyrosm.OSM(str(path), bounding_box=bbox)
    extra = [k for k in KEEP_KEYS if k not in {"osmid"}]
    got = osm.get_network(network_type="all", nodes=True, extra_attributes=extra)
    if got is None or got[1] is None or len(got[1]) == 0:
        msg = f"{path} holds no streets (OSM ways tagged highway=*) inside the area asked for."
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


def raw_from_lines(
    lines: gpd.GeoDataFrame, source: str = "road lines", tolerance_m: float = 0.5
) -> RawNetwork:
    """Build a network from a planner's own road lines.

    Line ends closer than ``tolerance_m`` become one node; lines are not split where
    they cross (bridges and tunnels cross without meeting): split them beforehand
    where streets really meet. Columns named like OSM tags (``highway``, ``oneway``,
    ``maxspeed``, ...) are used when present; lines without ``highway`` count as
    ``highway=road`` (open to every mode).
    """
    if lines.crs is None:
        msg = f"{source} has no CRS; set it with gdf.set_crs(...) or add a .prj file."
        raise NoCrsError(msg)
    geom = lines.geometry
    types = set(geom.geom_type.dropna().unique())
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
    metric = exploded.to_crs(exploded.estimate_utm_crs())
    geoms = metric.geometry.to_numpy()
    starts = shapely.get_coordinates(shapely.get_point(geoms, 0))
    ends = shapely.get_coordinates(shapely.get_point(geoms, -1))
    ends_xy = np.vstack([starts, ends])
    node_of = _cluster(ends_xy, tolerance_m)
    counts = np.bincount(node_of)
    n_lines = len(geoms)
    node_xy = np.zeros((len(counts), 2))
    np.add.at(node_xy, node_of, ends_xy)
    node_xy /= counts[:, None]
    ll = gpd.GeoSeries(gpd.points_from_xy(node_xy[:, 0], node_xy[:, 1]), crs=metric.crs).to_crs(
        lines.crs
    )
    tags = pd.DataFrame({k: _column(exploded, k) for k in KEEP_KEYS})
    if "highway" not in exploded.columns:
        tags["highway"] = "road"
    tags = tags.map(hashable)
    length = np.full(n_lines, np.nan)
    if "length" in exploded.columns:
        length = np.array(pd.to_numeric(exploded["length"], errors="coerce"), dtype=np.float64)
        # a MultiLineString's length is its parts' sum: its parts are measured instead
        length[exploded.index.duplicated(keep=False)] = np.nan
    return RawNetwork(
        node_ids=np.arange(len(counts), dtype=np.int64),
        node_x=ll.x.to_numpy(),
        node_y=ll.y.to_numpy(),
        edges_u=node_of[:n_lines].astype(np.int64),
        edges_v=node_of[n_lines:].astype(np.int64),
        length=length,
        geometry=exploded.geometry.to_numpy(dtype=object),
        tags=tags,
        crs=lines.crs,
        directed_rows=False,
        source=source,
    )


def _cluster(xy: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Label points so that points within ``tolerance_m`` (transitively) share a label."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(xy).query_pairs(r=tolerance_m, output_type="ndarray")
    n = len(xy)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return labels.astype(np.int64)


def read_lines_file(path: Path) -> gpd.GeoDataFrame:
    """Read a road-lines file (GeoPackage, Shapefile, GeoJSON, ...)."""
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        msg = f"could not read road lines from {path}: {exc}"
        raise InputError(msg) from exc


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
