"""Generated street networks for tests, benchmarks and examples.

A jittered grid of streets with some edges removed, some drawn as curves (a bent
polyline between their nodes), a mix of highway classes and some one-way streets. It
is built straight into arrays, so a million-node network takes seconds.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from .sources.networks import RawNetwork

_CLASSES = np.array(["residential", "tertiary", "secondary", "primary", "footway", "service"])
_CLASS_P = np.array([0.45, 0.15, 0.1, 0.05, 0.2, 0.05])


def grid_raw(
    n_nodes: int,
    *,
    spacing_m: float = 80.0,
    drop: float = 0.15,
    curved: float = 0.3,
    oneway: float = 0.1,
    seed: int = 0,
    origin: tuple[float, float] = (400_000.0, 2_540_000.0),
    crs: str = "EPSG:32650",
    bbox: tuple[float, float, float, float] | None = None,
) -> RawNetwork:
    """A grid-like street network of about ``n_nodes`` nodes as a RawNetwork.

    Parameters
    ----------
    n_nodes
        Approximate number of nodes (a square grid is used).
    spacing_m
        Distance between grid lines.
    drop
        Share of grid edges removed.
    curved
        Share of edges drawn with a bent midpoint (their length is the polyline's).
    oneway
        Share of drivable edges tagged ``oneway=yes``.
    seed
        Random seed.
    origin, crs
        Where the grid lies (default: Guangzhou, UTM zone 50N).
    bbox
        (xmin, ymin, xmax, ymax) in ``crs``: only the edges whose extent meets this box,
        with their nodes, exactly as they are in the whole grid (the same random draws),
        so that a part of a large grid can be built without the rest (every edge that
        intersects the box is there; a few more near its corners may be).
    """
    rng = np.random.default_rng(seed)
    side = max(2, round(float(np.sqrt(n_nodes))))
    label = f"synthetic grid ({side * side:,} nodes, seed {seed})"
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ids = (ii * side + jj).ravel()
    jitter = spacing_m * 0.2
    x = origin[0] + ii.ravel() * spacing_m + rng.uniform(-jitter, jitter, ids.size)
    y = origin[1] + jj.ravel() * spacing_m + rng.uniform(-jitter, jitter, ids.size)
    del ii, jj
    u = np.concatenate(
        [ids.reshape(side, side)[:-1, :].ravel(), ids.reshape(side, side)[:, :-1].ravel()]
    )
    v = np.concatenate([u[: (side - 1) * side] + side, u[(side - 1) * side :] + 1])
    keep = rng.random(u.size) >= drop
    u, v = u[keep], v[keep]
    m = u.size
    # every draw is made for the whole grid, in the same order, so that a part (bbox) is
    # exactly the whole's; the arithmetic is done for the edges kept only
    bend = rng.random(m) < curved
    amp_all = rng.uniform(-0.25, 0.25, m)
    cls = rng.choice(len(_CLASSES), size=m, p=_CLASS_P)
    one_draw = rng.random(m)
    if bbox is not None:
        sel = _near_box(x, y, u, v, bbox, 0.25 * spacing_m)
        u, v, cls = u[sel], v[sel], cls[sel]
        bend, amp_all, one_draw = bend[sel], amp_all[sel], one_draw[sel]
    mx = (x[u] + x[v]) / 2
    my = (y[u] + y[v]) / 2
    dx, dy = x[v] - x[u], y[v] - y[u]
    norm = np.hypot(dx, dy)
    amp = amp_all * spacing_m * bend
    mx = mx - dy / norm * amp
    my = my + dx / norm * amp
    highway = _CLASSES[cls]
    one = (one_draw < oneway) & (highway != "footway")
    if bbox is not None:
        ex = np.stack([x[u], x[v], mx])
        ey = np.stack([y[u], y[v], my])
        hit = np.flatnonzero(
            (ex.max(axis=0) >= bbox[0])
            & (ex.min(axis=0) <= bbox[2])
            & (ey.max(axis=0) >= bbox[1])
            & (ey.min(axis=0) <= bbox[3])
        )
        u, v, mx, my, highway, one = (a[hit] for a in (u, v, mx, my, highway, one))
        nodes = np.unique(np.concatenate([u, v]))
        ids, x, y = ids[nodes], x[nodes], y[nodes]
        u, v = np.searchsorted(nodes, u), np.searchsorted(nodes, v)
    coords = np.stack(
        [np.column_stack([x[u], y[u]]), np.column_stack([mx, my]), np.column_stack([x[v], y[v]])],
        axis=1,
    )
    geoms = shapely.linestrings(coords)
    length = shapely.length(geoms)
    tags = pd.DataFrame(
        {
            "highway": highway.astype(object),
            "oneway": pd.Series(one).map({True: "yes", False: None}).astype(object),
        }
    )
    return RawNetwork(
        node_ids=ids.astype(np.int64),
        node_x=x,
        node_y=y,
        edges_u=ids[u].astype(np.int64),
        edges_v=ids[v].astype(np.int64),
        length=length,
        geometry=geoms,
        tags=tags,
        crs=crs,
        directed_rows=False,
        source=label if bbox is None else f"{label}, part {tuple(map(float, bbox))}",
    )


def _near_box(
    x: np.ndarray,
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    bbox: tuple[float, float, float, float],
    margin: float,
) -> np.ndarray:
    """Edges whose end nodes lie within ``margin`` of the box (a bent midpoint strays at
    most that far from the line between them)."""
    xu, xv, yu, yv = x[u], x[v], y[u], y[v]
    return np.flatnonzero(
        (np.maximum(xu, xv) >= bbox[0] - margin)
        & (np.minimum(xu, xv) <= bbox[2] + margin)
        & (np.maximum(yu, yv) >= bbox[1] - margin)
        & (np.minimum(yu, yv) <= bbox[3] + margin)
    )


def grid_graph(n_nodes: int, **kwargs: object) -> nx.MultiDiGraph:
    """The same network as :func:`grid_raw`, as an osmnx-style MultiDiGraph.

    Two-way streets become two directed edges (the reverse with reversed geometry);
    one-way streets one edge, drawn in their direction.
    """
    raw = grid_raw(n_nodes, **kwargs)  # type: ignore[arg-type]
    G = nx.MultiDiGraph(crs=raw.crs)
    for i, nid in enumerate(raw.node_ids):
        G.add_node(int(nid), x=float(raw.node_x[i]), y=float(raw.node_y[i]))
    for k in range(len(raw.edges_u)):
        u, v = int(raw.edges_u[k]), int(raw.edges_v[k])
        attrs = {
            "highway": raw.tags["highway"].iat[k],
            "length": float(raw.length[k]),
            "geometry": raw.geometry[k],
        }
        one = raw.tags["oneway"].iat[k] == "yes"
        G.add_edge(u, v, oneway=one, reversed=False, **attrs)
        if not one:
            G.add_edge(
                v,
                u,
                oneway=False,
                reversed=True,
                **{**attrs, "geometry": raw.geometry[k].reverse()},
            )
    return G
