"""Test helpers: tiny hand-drawn graphs and an independent networkx oracle.

The oracle never calls planner's snapping or Dijkstra. It snaps every point to its
nearest street with shapely's STRtree, splits that street at the projection (the
point becomes a node joined by its straight connector) and runs networkx Dijkstra.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import defaultdict

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely


def unavailable(reason: str) -> None:
    """A test's outside need is missing: skip on a developer's machine, fail on CI
    (CI=1), where a skip would hide a gap."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def urls_outside_leaflet(text: str) -> list[str]:
    """Every URL-like string of a page once its inlined Leaflet is taken out."""
    from planner.outputs.offline import without_inline_leaflet

    return re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", without_inline_leaflet(text))


X0, Y0 = 500_000.0, 2_500_000.0  # a spot in UTM zone 50N (Guangzhou)
CRS = "EPSG:32650"


def graph(
    nodes: dict[str, tuple[float, float]], edges: list[tuple], crs: str = CRS
) -> nx.MultiDiGraph:
    """A MultiDiGraph from local metre coordinates.

    ``edges`` items are ``(u, v)``, ``(u, v, attrs)``; attrs may hold ``via`` (list of
    intermediate vertices), ``both`` (add the reverse direction too, default True) and
    any OSM tag. Lengths are the polyline lengths.
    """
    G = nx.MultiDiGraph(crs=crs)
    for name, (x, y) in nodes.items():
        G.add_node(name, x=X0 + x, y=Y0 + y)
    for e in edges:
        u, v = e[0], e[1]
        attrs = dict(e[2]) if len(e) > 2 else {}
        via = attrs.pop("via", [])
        both = attrs.pop("both", True)
        pts = [nodes[u], *via, nodes[v]]
        line = shapely.LineString([(X0 + x, Y0 + y) for x, y in pts])
        G.add_edge(u, v, geometry=line, length=line.length, **attrs)
        if both:
            G.add_edge(v, u, geometry=line.reverse(), length=line.length, **attrs)
    return G


def points(xy: list[tuple[float, float]], crs: str = CRS, **columns: list) -> gpd.GeoDataFrame:
    """Points from local metre coordinates, with extra columns."""
    geom = gpd.points_from_xy([X0 + x for x, _ in xy], [Y0 + y for _, y in xy])
    return gpd.GeoDataFrame(dict(columns), geometry=geom, crs=crs)


def oracle_times(
    net,
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    max_time_s: float,
    category: str = "category",
) -> pd.DataFrame:
    """Travel times by networkx Dijkstra with the snapped points inserted as nodes."""
    import planner

    streets = net.streets_gdf(to_input_crs=False)
    lines = streets.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    length = streets["length_m"].to_numpy()
    t_fwd = streets["time_fwd_s"].to_numpy()
    t_bwd = streets["time_bwd_s"].to_numpy()
    u = streets["u"].to_numpy()
    v = streets["v"].to_numpy()
    tpm_f = np.where(np.isfinite(t_fwd), t_fwd / np.where(length > 0, length, 1), np.inf)
    tpm_b = np.where(np.isfinite(t_bwd), t_bwd / np.where(length > 0, length, 1), np.inf)
    conn_tpm = np.minimum(tpm_f, tpm_b)
    limit = planner.settings.max_snap_m

    def snap(gdf):
        """Per point: every (street, offset, connector) at the minimum distance."""
        geoms = gdf.geometry
        if not (geoms.geom_type == "Point").all():
            geoms = geoms.representative_point()
        pts = geoms.to_crs(net.crs).to_numpy()
        near_pt, near_line = tree.query_nearest(pts, all_matches=False, return_distance=False)
        best = np.full(len(pts), np.inf)
        best[near_pt] = shapely.distance(pts[near_pt], lines[near_line])
        # every street within 1 micrometre of the nearest counts as equally near
        idx_pt, idx_line = tree.query(pts, predicate="dwithin", distance=best + 1e-6)
        d = shapely.distance(pts[idx_pt], lines[idx_line])
        out = [[] for _ in range(len(pts))]
        for p, s, dist in zip(idx_pt, idx_line, d, strict=True):
            if dist > limit or dist > best[p] + 1e-6:
                continue
            line = lines[s]
            frac = line.project(pts[p]) / line.length if line.length > 0 else 0.0
            out[p].append((s, frac * length[s], dist))
        return out

    fac_snap = snap(facilities)
    org_snap = snap(origins)

    G = nx.DiGraph()

    def add(a, b, w):
        if not np.isfinite(w):
            return
        if G.has_edge(a, b) and G[a][b]["weight"] <= w:
            return
        G.add_edge(a, b, weight=w)

    on_street: dict[int, list[tuple[float, object, float]]] = defaultdict(list)
    for kind, snaps in (("f", fac_snap), ("o", org_snap)):
        for i, entries in enumerate(snaps):
            for s, off, conn in entries:
                on_street[s].append((off, (kind, i), conn))
    for s in range(len(streets)):
        chain = [(0.0, ("n", u[s]))]
        for off, name, conn in sorted(on_street.get(s, []), key=lambda t: t[0]):
            c = conn * conn_tpm[s]
            if off <= 0.0:
                anchor = ("n", u[s])
            elif off >= length[s]:
                anchor = ("n", v[s])
            else:
                anchor = ("p", s, off)
                chain.append((off, anchor))
            add(name, anchor, c)
            add(anchor, name, c)
        chain.append((length[s], ("n", v[s])))
        chain = sorted(set(chain), key=lambda t: t[0])
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            d = o2 - o1
            add(a, b, d * tpm_f[s] if d > 0 else 0.0)
            add(b, a, d * tpm_b[s] if d > 0 else 0.0)
        if u[s] == v[s] or length[s] == 0:
            add(("n", u[s]), ("n", v[s]), 0.0)
            add(("n", v[s]), ("n", u[s]), 0.0)

    R = G.reverse(copy=True)
    cats = list(pd.unique(facilities[category].dropna()))
    out = pd.DataFrame(np.inf, index=origins.index, columns=cats)
    codes = facilities[category].to_numpy()
    for cat in cats:
        srcs = [("f", i) for i in range(len(facilities)) if codes[i] == cat and fac_snap[i]]
        srcs = [s for s in srcs if s in R]
        if not srcs:
            continue
        dist = nx.multi_source_dijkstra_path_length(R, srcs, cutoff=max_time_s, weight="weight")
        col = np.array([dist.get(("o", i), np.inf) for i in range(len(origins))])
        out[cat] = col
    return out


def serve_in_thread(srv):
    """Generator for a fixture: run an explorer server (``listen`` and ``stop``) on an
    event loop of its own thread, yield it once listening, stop it afterwards."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)

        async def start():
            srv.listen()
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(20)
    yield srv
    loop.call_soon_threadsafe(srv.stop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
