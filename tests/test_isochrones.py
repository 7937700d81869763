"""Isochrone polygons on hand-drawn graphs: reached streets inside, unreached outside."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from helpers import X0, Y0, graph, points

import planner
from planner.errors import InputError
from planner.isochrones import isochrones

CELL = 5.0


def line(x0, y0, x1, y1):
    return shapely.LineString([(X0 + x0, Y0 + y0), (X0 + x1, Y0 + y1)])


def polygons(iso, net):
    return iso.to_crs(net.crs)


def iso_at(net, t):
    """Merged isochrone of one facility at (0, 0), drawn on 5 m cells, in metres."""
    return polygons(
        isochrones(net, points([(0, 0)], category=["x"]), times_s=[t], cell_m=CELL), net
    )


def test_partial_street_and_disconnected_component():
    """A(0,0)-B(1000,0) and, 200 m north and unconnected, C(0,200)-D(1000,200).

    ::

        C(0,200) ------------------------------ D(1000,200)     (other component)

        A(0,0) ========== 500 m ---------------- B(1000,0)
        facility at A; walk 1 m/s; T = 500 s: the first half of AB is reached

    The polygon is the reached half buffered by 50 m: about 500 x 100 + pi 50^2 m2.
    """
    net = planner.load_network(
        graph(
            {"A": (0, 0), "B": (1000, 0), "C": (0, 200), "D": (1000, 200)}, [("A", "B"), ("C", "D")]
        ),
        speed_kph=3.6,
    )
    iso = iso_at(net, 500)
    geom = iso.geometry.iloc[0]
    assert iso["category"].tolist() == ["x"] and iso["time_s"].tolist() == [500]
    # the outline is the exact 50 m buffer of the reached half, within one grid cell
    exact = line(0, 0, 500, 0)
    assert exact.buffer(50 - CELL).area < geom.area < exact.buffer(50 + CELL).area
    assert geom.symmetric_difference(exact.buffer(50)).area < exact.buffer(50).length * CELL
    reached = line(0, 0, 500 - CELL, 0)
    assert geom.buffer(CELL).contains(reached)  # every reached metre is inside
    assert geom.contains(line(0, 0, 490, 0))
    assert not geom.intersects(line(500 + 2 * CELL, 0, 1000, 0))  # unreached part of AB
    assert not geom.intersects(line(0, 200, 1000, 200))  # the other component
    assert geom.bounds[2] - X0 == pytest.approx(550, abs=2 * CELL)


def test_holes_where_large_blocks_are_not_reached():
    """A square ring of streets, 300 m sides, fully reached: the block's core (200 x 200 m,
    farther than 50 m from every street) is a hole."""
    nodes = {"a": (0, 0), "b": (300, 0), "c": (300, 300), "d": (0, 300)}
    ring = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]
    net = planner.load_network(graph(nodes, ring), speed_kph=3.6)
    iso = iso_at(net, 1000)
    geom = iso.geometry.iloc[0]
    holes = [shapely.Polygon(r) for r in geom.interiors]
    assert len(holes) == 1
    assert holes[0].area == pytest.approx(200 * 200, rel=0.06)
    assert geom.contains(shapely.Point(X0 + 150, Y0 + 10))
    assert not geom.contains(shapely.Point(X0 + 150, Y0 + 150))


def test_unreached_street_is_carved_out():
    """Two parallel streets 40 m apart, joined only at the far end (1,000 m away).

    ::

        C(0,40) ------------------------------------ D(1000,40)
                                                         |
        A(0,0) ===================== B(1000,0) ----------+

    From a facility at A with T = 400 s the near end of CD (1,960 m away by the network)
    is not reached, though it lies within the 50 m buffer: it must stay outside.
    """
    nodes = {"A": (0, 0), "B": (1000, 0), "C": (0, 40), "D": (1000, 40)}
    net = planner.load_network(graph(nodes, [("A", "B"), ("B", "D"), ("C", "D")]), speed_kph=3.6)
    iso = iso_at(net, 400)
    geom = iso.geometry.iloc[0]
    assert geom.buffer(CELL).contains(line(0, 0, 400 - CELL, 0))
    assert not geom.intersects(line(0, 40, 1000, 40))


def test_split_and_per_facility_agree_with_merged(helsinki_walk):
    fac = planner.load_facilities(helsinki_walk.source, categories=["library"])
    merged = isochrones(helsinki_walk, fac, times_s=[300, 600])
    split = isochrones(helsinki_walk, fac, times_s=[300, 600], how="split")
    per = isochrones(helsinki_walk, fac, times_s=[300, 600], how="per_facility")
    m = merged.to_crs(helsinki_walk.crs)
    s = split.to_crs(helsinki_walk.crs)
    p = per.to_crs(helsinki_walk.crs)
    assert set(p["facility"]) == set(fac.index)
    big = m[m.time_s == 600].geometry.iloc[0]
    rings = shapely.union_all(s.geometry.to_numpy())
    # rings are traced on the same grid and tile the merged area, up to corner cuts and
    # the thin slits of streets reached by 600 s but not yet at 300 s in the inner ring
    assert rings.symmetric_difference(big).area < 0.005 * big.area
    inner = s[s.time_from_s == 0].geometry.iloc[0]
    assert inner.equals_exact(m[m.time_s == 300].geometry.iloc[0], 1e-6)
    union = shapely.union_all(p[p.time_s == 600].geometry.to_numpy())
    assert union.symmetric_difference(big).area / big.area < 0.05
    assert union.difference(big).area / big.area < 0.01


def test_reached_nodes_inside_unreached_outside(helsinki_walk):
    """Every node within 600 s lies in (or within a cell of) the polygon; nodes beyond
    800 s lie outside it, except where a reached street runs within 0.75 m (OSM draws
    some sidewalks on top of their road: the same place)."""
    from planner.access import node_times, snap_layer

    fac = planner.load_facilities(helsinki_walk.source, categories=["pharmacy"])
    iso = isochrones(helsinki_walk, fac, times_s=[600]).to_crs(helsinki_walk.crs)
    geom = iso.geometry.iloc[0]
    mg = helsinki_walk.graph
    dist, _ = node_times(mg, snap_layer(helsinki_walk, fac.geometry).snap, 2000)
    used = np.unique(np.concatenate([mg.su, mg.sv]))
    pts = shapely.points(helsinki_walk.x[used], helsinki_walk.y[used])
    near = dist[used] <= 600
    far = dist[used] > 800
    assert near.sum() > 500 and far.sum() > 100
    assert shapely.contains(geom.buffer(10.0), pts[near]).all()
    from planner.isochrones import _intervals, _lines, _segments

    snap = snap_layer(helsinki_walk, fac.geometry).snap
    reached = _lines(_segments(mg, *_intervals(mg, dist, snap, 600)))
    inside = shapely.intersects(geom, pts[far])
    gap = np.array([shapely.distance(p, reached).min() for p in pts[far][inside]])
    assert (gap <= 0.75 + 1e-6).all(), np.sort(gap)[-5:]
    assert inside.sum() < 0.02 * far.sum()


def test_bad_input():
    net = planner.load_network(graph({"A": (0, 0), "B": (100, 0)}, [("A", "B")]))
    fac = points([(0, 0)], category=["x"])
    with pytest.raises(InputError, match=r"how='rings'; expected one of merged, split"):
        isochrones(net, fac, how="rings")
    with pytest.raises(InputError, match=r"times_s must be"):
        isochrones(net, fac, times_s=[-5])
