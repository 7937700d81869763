"""Generated data the bench scripts share: a grid of streets, points near them, an assess.

The scripts import this as ``_common`` (they run with bench/ first on ``sys.path``).
Everything is drawn from fixed seeds, so each script builds the same data on every run.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely


def streets(n_nodes, seed=0):
    """A generated walk network (``planner.synthetic.grid_raw``), a random generator
    seeded ``seed + 1``, and ``near(n, offset)``: n points at random places on random
    streets, each moved by up to ``offset`` metres in x and y (metric CRS of the network,
    drawn from that generator)."""
    from planner.network import Network
    from planner.synthetic import grid_raw

    net = Network.from_raw(grid_raw(n_nodes, seed=seed), mode="walk")
    rng = np.random.default_rng(seed + 1)
    lines = net.streets_gdf(to_input_crs=False).geometry.to_numpy()

    def near(n, offset):
        pts = shapely.line_interpolate_point(
            lines[rng.integers(0, len(lines), n)], rng.random(n), normalized=True
        )
        return shapely.get_coordinates(pts) + rng.uniform(-offset, offset, (n, 2))

    return net, rng, near


def points(xy, crs, columns=None, index=None):
    """Points at the rows of ``xy`` with the given columns."""
    return gpd.GeoDataFrame(
        columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs, index=index
    )


def quiet_assess(*args, **options):
    """planner.assess without its warnings (generated data raises some on purpose)."""
    import planner

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        return planner.assess(*args, **options)
