"""The snapping index: its grid of candidate lists and its KD-tree give the same, exact
answers, equal to shapely's nearest-line search over the streets.

The points are chosen to be awkward: exactly on polyline vertices, exactly on grid-cell
corners and edges, in cells far from every street (listed or not), outside the grid and
beyond ``max_snap_m``.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import planner
import planner._snap
from planner._snap import CELL_REACH_M
from planner.network import Network
from planner.synthetic import grid_raw

pytestmark = pytest.mark.usefixtures("engine")  # each test on both engine paths


def awkward_points(snapper, n, seed):
    rng = np.random.default_rng(seed)
    cells = snapper.cells
    assert cells is not None
    parts = []
    # vertices of the polylines, and points a little off them
    pick = rng.integers(0, len(snapper.x0), n)
    parts.append(np.column_stack([snapper.x0[pick], snapper.y0[pick]]))
    parts.append(parts[-1] + rng.normal(0, 3, (n, 2)))
    # grid-cell corners and points on cell edges
    ix = rng.integers(0, cells.nx + 1, n)
    iy = rng.integers(0, cells.ny + 1, n)
    corners = np.column_stack([cells.x_min + ix * cells.size, cells.y_min + iy * cells.size])
    parts.append(corners)
    parts.append(corners + np.column_stack([rng.random(n) * cells.size, np.zeros(n)]))
    # anywhere in and around the grid, including far outside it
    lo = np.array([cells.x_min, cells.y_min])
    span = np.array([cells.nx, cells.ny]) * cells.size
    parts.append(lo - 800 + rng.random((n, 2)) * (span + 1600))
    return np.concatenate(parts)


def shapely_nearest(net, xy, limit):
    streets = net.streets_gdf(to_input_crs=False).geometry.to_numpy()
    tree = shapely.STRtree(streets)
    pts = shapely.points(xy)
    (pi, _), dist = tree.query_nearest(pts, return_distance=True, all_matches=True)
    best = np.full(len(xy), np.inf)
    np.minimum.at(best, pi, dist)
    best[best > limit] = np.inf
    return best


def entries(res):
    """{(point, street): (connector, offset)} of the snapped entries."""
    ok = res.street >= 0
    return {
        (int(o), int(s)): (c, f)
        for o, s, c, f in zip(
            res.owner[ok], res.street[ok], res.connector[ok], res.offset[ok], strict=True
        )
    }


def check(net, xy, limit):
    snapper = net.graph.snapper
    grid = snapper.query(xy[:, 0], xy[:, 1], limit)
    cells, snapper.cells = snapper.cells, None
    try:
        tree = snapper.query(xy[:, 0], xy[:, 1], limit)
    finally:
        snapper.cells = cells
    a, b = entries(grid), entries(tree)
    assert a.keys() == b.keys()
    got = np.array([a[k] for k in sorted(a)])
    want = np.array([b[k] for k in sorted(a)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(grid.ok, tree.ok)
    # the distances are the true nearest-street distances
    best = np.full(len(xy), np.inf)
    np.minimum.at(best, grid.owner, grid.connector)
    np.testing.assert_allclose(best, shapely_nearest(net, xy, limit), rtol=0, atol=1e-6)
    return grid


def test_grid_equals_tree_and_shapely_on_helsinki(helsinki_walk):
    net = helsinki_walk
    assert net.prepare_snapping()  # a small city: the grid is built
    snapper = net.graph.snapper
    cells = snapper.cells
    assert cells is not None
    assert cells.listed.mean() > 0.9
    xy = awkward_points(snapper, 1500, seed=1)
    res = check(net, xy, 500.0)
    # every kind of point occurred: listed cells, unlisted ones, outside, unsnapped
    hit, _, rest = cells.split(xy[:, 0], xy[:, 1], np.arange(len(xy)))
    assert len(hit) > 4000 and len(rest) > 300
    assert (~res.ok).sum() > 50
    assert (res.connector[res.street >= 0] > CELL_REACH_M).any()
    outside = (xy[:, 0] < cells.x_min) | (xy[:, 1] < cells.y_min)
    assert outside.sum() > 50
    # several points meet two streets at once (shared vertices)
    assert len(res.owner) > res.ok.sum()


@pytest.mark.parametrize("cell_m", [6.0, 11.0, 40.0])
def test_grid_sizes_give_the_same_answers(monkeypatch, cell_m):
    monkeypatch.setattr(planner.settings, "snap_cell_m", cell_m)
    net = Network.from_raw(grid_raw(400, seed=4), mode="walk")
    net.prepare_snapping()
    cells = net.graph.snapper.cells
    assert cells is not None and cells.size == cell_m
    check(net, awkward_points(net.graph.snapper, 400, seed=2), 300.0)


def test_grid_off_and_too_large(monkeypatch):
    monkeypatch.setattr(planner.settings, "snap_cell_m", 0)
    net = Network.from_raw(grid_raw(400, seed=1), mode="walk")
    assert not net.prepare_snapping()
    assert net.graph.snapper.cells is None
    monkeypatch.setattr(planner.settings, "snap_cell_m", None)
    monkeypatch.setattr(planner._snap, "CELL_MAX", 50)
    net = Network.from_raw(grid_raw(400, seed=1), mode="walk")
    assert not net.prepare_snapping()
    assert net.graph.snapper.cells is None  # falls back to the KD-tree
    x, y = net.graph.snapper.x0[:5], net.graph.snapper.y0[:5]
    assert net.graph.snapper.query(x, y, 100.0).ok.all()


def test_grid_is_built_once_it_pays_off(monkeypatch):
    """'auto': one-off snaps never build the grid; once the points snapped reach twice
    its cells it is built, and the answers do not change. 'always' builds it at once,
    'never' never, and a wrong value names the setting."""
    net = Network.from_raw(grid_raw(400, seed=2), mode="walk")
    snapper = net.graph.snapper
    assert snapper.grid_state == "pending"
    budget = int(planner._snap.GRID_AFTER * snapper._grid_cells)
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(snapper.x0), 2000)
    x, y = snapper.x0[pick] + rng.normal(0, 20, 2000), snapper.y0[pick] + rng.normal(0, 20, 2000)
    first = snapper.query(x, y, 500.0)
    assert snapper.cells is None and snapper.snapped == 2000
    while snapper.snapped < budget - 2000:
        snapper.query(x, y, 500.0)
    assert snapper.cells is None
    again = snapper.query(x, y, 500.0)
    assert snapper.grid_state == "built" and snapper.cells is not None
    assert entries(again).keys() == entries(first).keys()
    np.testing.assert_allclose(again.connector, first.connector, atol=1e-9)

    monkeypatch.setattr(planner.settings, "snap_grid", "always")
    assert Network.from_raw(grid_raw(400, seed=2), mode="walk").graph.snapper.cells is not None
    monkeypatch.setattr(planner.settings, "snap_grid", "never")
    net = Network.from_raw(grid_raw(400, seed=2), mode="walk")
    assert not net.prepare_snapping()
    monkeypatch.setattr(planner.settings, "snap_grid", "sometimes")
    with pytest.raises(planner.errors.InputError, match=r"settings.snap_grid must be 'auto'"):
        Network.from_raw(grid_raw(400, seed=2), mode="walk").graph  # noqa: B018
