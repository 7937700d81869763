"""travel_times rejects bad input with messages that name the argument and the fix."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from helpers import X0, Y0, graph, points
from sharing import copied, frozen

import planner
from planner.errors import InputError, MissingColumnError, NoCrsError, PlannerError


@pytest.fixture(scope="module")
def _net():
    """A 100 m street at 1 m/s (3.6 km/h), read-only: tests get copies."""
    return frozen(
        planner.load_network(graph({"A": (0, 0), "B": (100, 0)}, [("A", "B")]), speed_kph=3.6)
    )


@pytest.fixture
def net(_net):
    return copied(_net)


def test_missing_category_column(net):
    fac = points([(0, 0)], kind=["x"])
    with pytest.raises(
        MissingColumnError,
        match=r"no category column 'category'.*\['kind', 'geometry'\].*category='<column>'",
    ):
        planner.travel_times(net, fac, points([(0, 0)]), max_time_s=10)
    # the named column works
    t = planner.travel_times(net, fac, points([(10, 0)]), max_time_s=100, category="kind")
    assert t.loc[0, "x"] == pytest.approx(10.0)


def test_no_crs(net):
    fac = points([(0, 0)], category=["x"]).set_crs(None, allow_override=True)
    with pytest.raises(NoCrsError, match=r"facilities has no CRS.*set_crs\('EPSG:4326'\).*gcj02"):
        planner.travel_times(net, fac, points([(0, 0)]), max_time_s=10)
    org = points([(0, 0)]).set_crs(None, allow_override=True)
    with pytest.raises(NoCrsError, match=r"origins has no CRS"):
        planner.travel_times(net, points([(0, 0)], category=["x"]), org, max_time_s=10)


def test_non_point_facilities(net):
    from helpers import X0, Y0

    fac = gpd.GeoDataFrame(
        {"category": ["x", "y"]},
        geometry=[shapely.Point(X0, Y0), shapely.box(X0, Y0, X0 + 5, Y0 + 5)],
        crs="EPSG:32650",
    )
    with pytest.raises(
        InputError,
        match=r"must be points; 1 rows are \['Polygon'\] \(first at index 1\)"
        r".*representative_point",
    ):
        planner.travel_times(net, fac, points([(0, 0)]), max_time_s=10)


@pytest.mark.parametrize("bad", [-1, float("nan"), "soon", None])
def test_bad_max_time(net, bad):
    with pytest.raises(InputError, match=r"max_time_s must be"):
        planner.travel_times(
            net, points([(0, 0)], category=["x"]), points([(0, 0)]), max_time_s=bad
        )


def test_not_a_network():
    G = graph({"A": (0, 0), "B": (100, 0)}, [("A", "B")])
    with pytest.raises(
        InputError, match=r"network must be a planner.Network; got MultiDiGraph.*load_network"
    ):
        planner.travel_times(G, points([(0, 0)], category=["x"]), points([(0, 0)]), max_time_s=10)


def test_not_a_geodataframe(net):
    with pytest.raises(InputError, match=r"facilities must be a GeoDataFrame; got DataFrame"):
        planner.travel_times(
            net, pd.DataFrame({"category": ["x"]}), points([(0, 0)]), max_time_s=10
        )


def test_errors_are_value_errors_and_planner_errors(net):
    with pytest.raises(ValueError, match="max_time_s"):
        planner.travel_times(net, points([(0, 0)], category=["x"]), points([(0, 0)]), max_time_s=-5)
    with pytest.raises(PlannerError):
        planner.travel_times(net, points([(0, 0)], category=["x"]), points([(0, 0)]), max_time_s=-5)


def test_zero_limit_and_inf_limit(net):
    fac = points([(0, 0)], category=["x"])
    org = points([(0, 0), (50, 0)])
    t = planner.travel_times(net, fac, org, max_time_s=0)
    assert t.loc[0, "x"] == 0.0
    assert math.isinf(t.loc[1, "x"])
    t = planner.travel_times(net, fac, org, max_time_s=math.inf)
    assert t.loc[1, "x"] == pytest.approx(50.0)


def test_categorical_column_keeps_empty_categories_and_skips_missing(net):
    fac = points(
        [(0, 0), (100, 0)], category=pd.Categorical(["x", None], categories=["x", "none_here"])
    )
    t = planner.travel_times(net, fac, points([(20, 0)]), max_time_s=1000)
    assert list(t.columns) == ["x", "none_here"]
    assert t.loc[0, "x"] == pytest.approx(20.0)
    assert math.isinf(t.loc[0, "none_here"])


def test_inputs_are_not_modified(net):
    fac = points([(0, 0)], category=["x"])
    org = points([(5, 5)])
    before_f, before_o = fac.copy(), org.copy()
    planner.travel_times(net, fac, org, max_time_s=100)
    pd.testing.assert_frame_equal(fac, before_f)
    pd.testing.assert_frame_equal(org, before_o)


def test_empty_and_missing_geometries_are_unreachable(net):
    """Origins with an empty point, no geometry or an empty polygon get inf and one
    warning, in the network's CRS and in another; a polygon starts from inside it."""
    fac = points([(0, 0)], category=["x"])
    org = points([(30, 5)] * 5)
    geoms = org.geometry.to_numpy().copy()
    geoms[1:] = [
        shapely.Point(),
        None,
        shapely.Polygon(),
        shapely.box(X0 + 40, Y0 - 5, X0 + 60, Y0 + 5),  # its point: (50, 0), on the street
    ]
    org = org.set_geometry(gpd.GeoSeries(geoms, crs=org.crs))
    for o in (org, org.to_crs(4326)):
        with pytest.warns(planner.errors.PlannerWarning, match=r"^3 origins are farther"):
            t = planner.travel_times(net, fac, o, max_time_s=1000)
        got = t["x"].tolist()
        assert got[0] == pytest.approx(35.0, abs=1e-4)  # 5 m to the street, 30 m along it
        assert got[1:4] == [math.inf] * 3
        assert got[4] == pytest.approx(50.0, abs=1e-4)
