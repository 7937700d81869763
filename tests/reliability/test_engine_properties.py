"""Properties of the engine on random street networks drawn by hypothesis.

For any small network of straight and bent streets, two-way or one-way, and any
facilities and origins around it (on it, off it, beyond the snapping limit):

- travel_times equals the networkx oracle (tests/helpers.oracle_times, which shares no
  code with planner's snapping or Dijkstra) to 1e-6 s;
- a trip is never faster than the straight line at the mode's speed;
- the search limit only cuts: times within a smaller limit are the same under a larger
  one, and a larger limit never loses a time.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import graph, oracle_times, points
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
coord = st.floats(min_value=0, max_value=400, allow_nan=False).map(lambda v: round(v, 1))
outside = st.floats(min_value=-80, max_value=480, allow_nan=False).map(lambda v: round(v, 1))


@st.composite
def networks(draw):
    """Nodes on a 400 m square, 1-14 streets between them (some bent, some one-way)."""
    n = draw(st.integers(min_value=2, max_value=9))
    xy = draw(st.lists(st.tuples(coord, coord), min_size=n, max_size=n, unique=True))
    nodes = {f"n{i}": p for i, p in enumerate(xy)}
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] != e[1])
    edges = []
    for u, v in draw(st.lists(pairs, min_size=1, max_size=14)):
        attrs: dict = {"highway": "residential"}
        if draw(st.booleans()):
            attrs["via"] = [draw(st.tuples(coord, coord))]
        if draw(st.integers(0, 4)) == 0:
            attrs["both"] = False
            attrs["oneway"] = "yes"
        edges.append((f"n{u}", f"n{v}", attrs))
    return nodes, edges


def layer(draw, n_min, n_max, **columns):
    n = draw(st.integers(min_value=n_min, max_value=n_max))
    xy = draw(st.lists(st.tuples(outside, outside), min_size=n, max_size=n))
    cols = {k: draw(st.lists(v, min_size=n, max_size=n)) for k, v in columns.items()}
    return points(xy, **cols)


@st.composite
def cases(draw):
    nodes, edges = draw(networks())
    fac = layer(draw, 1, 6, category=st.sampled_from(["a", "b"]))
    org = layer(draw, 1, 8)
    mode = draw(st.sampled_from(["walk", "drive"]))
    return nodes, edges, fac, org, mode


def load(nodes, edges, mode):
    G = graph(nodes, edges)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        return planner.load_network(G, mode=mode)


def times(net, fac, org, limit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        return planner.travel_times(net, fac, org, max_time_s=limit)


@SETTINGS
@given(cases())
def test_travel_times_equal_the_networkx_oracle(case):
    nodes, edges, fac, org, mode = case
    net = load(nodes, edges, mode)
    got = times(net, fac, org, 600.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        want = oracle_times(net, fac, org, 600.0)[got.columns]
    a, b = got.to_numpy(), want.to_numpy()
    assert (np.isinf(a) == np.isinf(b)).all(), (a, b)
    fin = np.isfinite(a)
    np.testing.assert_allclose(a[fin], b[fin], rtol=0, atol=1e-6)


@SETTINGS
@given(networks(), st.data())
def test_no_trip_beats_the_straight_line(network, data):
    nodes, edges = network
    fac = layer(data.draw, 1, 6, category=st.sampled_from(["a", "b"]))
    org = layer(data.draw, 1, 8)
    net = load(nodes, edges, "walk")
    got = times(net, fac, org, math.inf)
    speed = planner.settings.speeds_kph["walk"] / 3.6
    ox, oy = org.geometry.x.to_numpy(), org.geometry.y.to_numpy()
    for cat in got.columns:
        f = fac[fac["category"] == cat]
        line = np.hypot(
            ox[:, None] - f.geometry.x.to_numpy()[None, :],
            oy[:, None] - f.geometry.y.to_numpy()[None, :],
        ).min(axis=1)
        t = got[cat].to_numpy()
        assert (t * speed >= line - 1e-6).all(), (t * speed, line)


@SETTINGS
@given(cases(), st.floats(min_value=1, max_value=400), st.floats(min_value=1, max_value=400))
def test_the_limit_only_cuts(case, lo, extra):
    nodes, edges, fac, org, mode = case
    net = load(nodes, edges, mode)
    small = times(net, fac, org, lo).to_numpy()
    large = times(net, fac, org, lo + extra).to_numpy()
    reached = np.isfinite(small)
    np.testing.assert_array_equal(small[reached], large[reached])
    assert (small[reached] <= lo + 1e-9).all()
    within = np.isfinite(large) & (large <= lo)
    np.testing.assert_array_equal(large[within], small[within])  # nothing within lo is lost


def test_the_strategies_draw_networks_with_reachable_pairs():
    """The properties above are not vacuous: a fixed draw reaches something."""
    nodes = {"a": (0.0, 0.0), "b": (300.0, 0.0)}
    net = load(nodes, [("a", "b", {"highway": "residential"})], "walk")
    fac = points([(0.0, 5.0)], category=["a"])
    org = points([(300.0, -5.0)])
    t = times(net, fac, org, 600.0)["a"].iloc[0]
    speed = planner.settings.speeds_kph["walk"] / 3.6
    assert t == pytest.approx((300.0 + 10.0) / speed)
