"""WGS-84 / GCJ-02 / BD-09 conversions, CRS dispatch and GCJ-02 detection (planner.sources.coords).

The independent reference is ``prcoords`` (PyPI, public domain / GPL; used in tests only). It
writes the GCJ-02 formula in another form (offsets in metres over radii of curvature) and
works one point at a time with the ``math`` module.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import prcoords
import pyproj
import pytest
import shapely
from conftest import shared_file
from sharing import copied, frozen

import planner
from planner.errors import InputError, PlannerWarning
from planner.sources import coords

GEOD = pyproj.Geod(ellps="WGS84")

# Points elsewhere in China: Beijing, Shanghai, Urumqi, Harbin, Lhasa, Kunming, Sanya, the
# formula's centre (105, 35) and points beside lon 105 where sqrt(|lon - 105|) is steep.
ELSEWHERE = np.array(
    [
        (116.397, 39.909),
        (121.474, 31.230),
        (87.617, 43.793),
        (126.535, 45.803),
        (91.117, 29.647),
        (102.833, 24.880),
        (109.512, 18.252),
        (105.0, 35.0),
        (105.0 + 1e-9, 30.0),
        (105.0 - 1e-7, 30.0),
        (73.5, 39.5),
        (135.0, 48.0),
    ]
)
OUTSIDE = np.array([(2.35, 48.86), (139.69, 35.69), (-74.0, 40.7), (151.2, -33.87), (60.0, 30.0)])


def _points() -> tuple[np.ndarray, np.ndarray]:
    """A 0.1-degree grid over Guangdong plus ELSEWHERE."""
    glon, glat = np.meshgrid(np.linspace(109.5, 117.5, 81), np.linspace(20.0, 25.5, 56))
    lon = np.concatenate([glon.ravel(), ELSEWHERE[:, 0]])
    lat = np.concatenate([glat.ravel(), ELSEWHERE[:, 1]])
    return lon, lat


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [
        (coords.wgs84_to_gcj02, coords.gcj02_to_wgs84),
        (coords.wgs84_to_bd09, coords.bd09_to_wgs84),
        (coords.gcj02_to_bd09, coords.bd09_to_gcj02),
    ],
)
def test_round_trip_within_a_micrometre(forward, inverse):
    lon, lat = _points()
    fx, fy = forward(lon, lat)
    # The shift is real (hundreds of metres), so the round trip tests something.
    assert _metres(lon, lat, fx, fy).min() > 100
    bx, by = inverse(fx, fy)
    err = _metres(lon, lat, bx, by)
    assert err.max() < 1e-6  # required 0.01 m; measured 3e-7 m next to lon 105, 3e-9 m elsewhere
    # And the other way round: the inverse's output maps forward onto its input.
    ix, iy = inverse(lon, lat)
    rx, ry = forward(ix, iy)
    assert _metres(lon, lat, rx, ry).max() < 1e-6


def test_scalars_give_floats_and_arrays_keep_shape():
    x, y = coords.wgs84_to_gcj02(114.06, 22.54)
    assert type(x) is float
    assert type(y) is float
    x2, y2 = coords.wgs84_to_gcj02(np.float64(114.06), 22.54)
    assert type(x2) is float
    assert (x2, y2) == (x, y)
    grid = np.full((3, 4), 114.06)
    ax, ay = coords.gcj02_to_wgs84(grid, 22.54)  # broadcasts a scalar latitude
    assert ax.shape == (3, 4)
    assert ay.shape == (3, 4)
    assert ax.dtype == np.float64
    assert np.all(ax == ax[0, 0])
    lx, _ = coords.bd09_to_gcj02([114.0, 114.1], [22.5, 22.6])
    assert isinstance(lx, np.ndarray)
    assert lx.shape == (2,)
    # Inputs are not modified in place.
    src = np.array([114.06, 114.07])
    coords.wgs84_to_bd09(src, np.array([22.5, 22.6]))
    assert src.tolist() == [114.06, 114.07]


def test_nan_passes_through():
    x, y = coords.gcj02_to_wgs84(np.array([np.nan, 114.0]), np.array([22.5, 22.5]))
    assert np.isnan(x[0])
    assert y[0] == 22.5
    assert np.isfinite(x[1])


# --- agreement with an independent implementation ----------------------------------------


def _sample() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _points()
    idx = np.r_[np.arange(0, lon.size - len(ELSEWHERE), 23), np.arange(-len(ELSEWHERE), 0)]
    return lon[idx], lat[idx]


def test_forward_transforms_match_prcoords():
    lon, lat = _sample()
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    ref = np.array([prcoords.wgs_gcj((b, a), False) for a, b in zip(lon, lat, strict=True)])
    np.testing.assert_allclose(gx, ref[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(gy, ref[:, 0], rtol=0, atol=1e-9)

    bx, by = coords.gcj02_to_bd09(gx, gy)
    ref_bd = np.array([prcoords.gcj_bd((b, a)) for a, b in zip(gx, gy, strict=True)])
    np.testing.assert_allclose(bx, ref_bd[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(by, ref_bd[:, 0], rtol=0, atol=1e-9)

    wbx, wby = coords.wgs84_to_bd09(lon, lat)
    ref_wbd = np.array([prcoords.wgs_bd((b, a), False) for a, b in zip(lon, lat, strict=True)])
    np.testing.assert_allclose(wbx, ref_wbd[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(wby, ref_wbd[:, 0], rtol=0, atol=1e-9)


def test_gcj_inverse_agrees_with_prcoords_and_is_at_least_as_good():
    lon, lat = _sample()
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    ours = np.column_stack(coords.gcj02_to_wgs84(gx, gy))
    pairs = list(zip(gx, gy, strict=True))
    # prcoords' iterative inverse stops at a 1e-5 degree correction; its one-step inverse
    # is documented as metre-level.
    bored = np.array([prcoords.gcj_wgs_bored((b, a), False)[::-1] for a, b in pairs])
    rough = np.array([prcoords.gcj_wgs((b, a), False)[::-1] for a, b in pairs])
    assert np.abs(ours - bored).max() < 1e-5
    assert np.abs(ours - rough).max() < 5e-5
    # Round-trip error in metres (the truth is the WGS-84 point we started from).
    err_ours = _metres(lon, lat, ours[:, 0], ours[:, 1])
    err_bored = _metres(lon, lat, bored[:, 0], bored[:, 1])
    err_rough = _metres(lon, lat, rough[:, 0], rough[:, 1])
    assert np.all(err_ours <= err_bored + 1e-6)
    assert err_ours.max() <= err_rough.max()
    assert err_ours.max() < 1e-6


def test_bd_inverse_agrees_with_prcoords_and_is_at_least_as_good():
    lon, lat = _sample()
    bx, by = coords.gcj02_to_bd09(lon, lat)
    ours = np.column_stack(coords.bd09_to_gcj02(bx, by))
    pairs = list(zip(bx, by, strict=True))
    rough = np.array([prcoords.bd_gcj((b, a))[::-1] for a, b in pairs])  # ~1e-7 deg per docs
    bored = np.array([prcoords.bd_gcj_bored((b, a), False)[::-1] for a, b in pairs])
    assert np.abs(ours - rough).max() < 5e-6
    assert np.abs(ours - bored).max() < 1e-5
    err_ours = _metres(lon, lat, ours[:, 0], ours[:, 1])
    err_bored = _metres(lon, lat, bored[:, 0], bored[:, 1])
    err_rough = _metres(lon, lat, rough[:, 0], rough[:, 1])
    assert np.all(err_ours <= err_bored + 1e-6)
    assert np.all(err_ours <= err_rough + 1e-6)
    assert err_ours.max() < 1e-6


def test_independent_scalar_formula_in_another_form():
    """A second, hand-written check of the forward GCJ-02 formula with the math module."""
    import math

    def gcj(lon: float, lat: float) -> tuple[float, float]:
        a, ee = 6378245.0, 0.00669342162296594323
        x, y = lon - 105.0, lat - 35.0
        s = math.sin
        p = math.pi
        t_lat = (
            -100.0
            + 2.0 * x
            + 3.0 * y
            + 0.2 * y * y
            + 0.1 * x * y
            + 0.2 * math.sqrt(abs(x))
            + (20.0 * s(6.0 * x * p) + 20.0 * s(2.0 * x * p)) * 2.0 / 3.0
            + (20.0 * s(y * p) + 40.0 * s(y / 3.0 * p)) * 2.0 / 3.0
            + (160.0 * s(y / 12.0 * p) + 320 * s(y * p / 30.0)) * 2.0 / 3.0
        )
        t_lon = (
            300.0
            + x
            + 2.0 * y
            + 0.1 * x * x
            + 0.1 * x * y
            + 0.1 * math.sqrt(abs(x))
            + (20.0 * s(6.0 * x * p) + 20.0 * s(2.0 * x * p)) * 2.0 / 3.0
            + (20.0 * s(x * p) + 40.0 * s(x / 3.0 * p)) * 2.0 / 3.0
            + (150.0 * s(x / 12.0 * p) + 300.0 * s(x / 30.0 * p)) * 2.0 / 3.0
        )
        rad = lat / 180.0 * p
        magic = 1 - ee * s(rad) * s(rad)
        sq = math.sqrt(magic)
        d_lat = (t_lat * 180.0) / ((a * (1 - ee)) / (magic * sq) * p)
        d_lon = (t_lon * 180.0) / (a / sq * math.cos(rad) * p)
        return lon + d_lon, lat + d_lat

    lon, lat = _sample()
    ours = np.column_stack(coords.wgs84_to_gcj02(lon, lat))
    ref = np.array([gcj(a, b) for a, b in zip(lon, lat, strict=True)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


# --- real-world magnitude ----------------------------------------------------------------


@pytest.mark.parametrize(("lon", "lat"), [(113.2644, 23.1291), (114.0579, 22.5431)])
def test_guangzhou_shenzhen_offset_is_a_few_hundred_metres(lon, lat):
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    assert 200 < _metres(lon, lat, gx, gy) < 700  # measured about 610 m
    bx, by = coords.wgs84_to_bd09(lon, lat)
    assert 500 < _metres(lon, lat, bx, by) < 2000  # Baidu adds about a kilometre more


# --- outside China -----------------------------------------------------------------------


def test_outside_china_rectangle():
    assert coords.outside_china(2.35, 48.86) is True
    assert coords.outside_china(114.06, 22.54) is False
    out = coords.outside_china(OUTSIDE[:, 0], OUTSIDE[:, 1])
    assert out.dtype == bool
    assert out.all()
    assert not coords.outside_china(ELSEWHERE[:, 0], ELSEWHERE[:, 1]).any()


@pytest.mark.parametrize(
    "func",
    [
        coords.wgs84_to_gcj02,
        coords.gcj02_to_wgs84,
        coords.gcj02_to_bd09,
        coords.bd09_to_gcj02,
        coords.wgs84_to_bd09,
        coords.bd09_to_wgs84,
    ],
)
def test_points_outside_china_are_unchanged(func):
    x, y = func(OUTSIDE[:, 0], OUTSIDE[:, 1])
    assert np.array_equal(x, OUTSIDE[:, 0])
    assert np.array_equal(y, OUTSIDE[:, 1])


@pytest.mark.parametrize("crs", ["gcj02", "BD-09"])
def test_to_wgs84_warns_once_counting_points_outside(crs):
    lon = np.r_[OUTSIDE[:, 0], 114.06, 113.26]
    lat = np.r_[OUTSIDE[:, 1], 22.54, 23.13]
    with pytest.warns(PlannerWarning, match=r"5 of 7 points .* left unshifted") as rec:
        x, y, label = coords.to_wgs84(lon, lat, crs)
    assert sum(issubclass(w.category, PlannerWarning) for w in rec) == 1
    assert np.array_equal(x[:5], OUTSIDE[:, 0])
    assert np.array_equal(y[:5], OUTSIDE[:, 1])
    assert np.all(_metres(lon[5:], lat[5:], x[5:], y[5:]) > 200)
    assert label == ("GCJ-02" if crs == "gcj02" else "BD-09")


def test_to_wgs84_inside_china_does_not_warn():
    lon, lat = _points()
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, y, label = coords.to_wgs84(gx, gy, "GCJ-02")
    assert label == "GCJ-02"
    assert _metres(lon, lat, x, y).max() < 1e-6
    bx, by = coords.wgs84_to_bd09(lon, lat)
    x, y, label = coords.to_wgs84(bx, by, "bd09")
    assert label == "BD-09"
    assert _metres(lon, lat, x, y).max() < 1e-6


# --- to_wgs84 / from_wgs84 dispatch --------------------------------------------------------


@pytest.mark.parametrize(
    ("crs", "label"),
    [
        ("wgs84", "WGS-84"),
        ("WGS-84", "WGS-84"),
        ("EPSG:4326", "WGS-84"),
        (4326, "WGS-84"),
        ("cgcs2000", "CGCS2000"),
        ("CGCS2000", "CGCS2000"),
        ("EPSG:4490", "CGCS2000"),
        (4490, "CGCS2000"),
        (pyproj.CRS.from_epsg(4490), "CGCS2000"),
    ],
)
def test_to_wgs84_identity_systems(crs, label):
    lon = np.array([114.06, 113.26])
    lat = np.array([22.54, 23.13])
    x, y, got = coords.to_wgs84(lon, lat, crs)
    assert got == label
    assert np.array_equal(x, lon)
    assert np.array_equal(y, lat)
    sx, sy, _ = coords.to_wgs84(114.06, 22.54, crs)
    assert (sx, sy) == (114.06, 22.54)
    assert type(sx) is float


@pytest.mark.parametrize("crs", ["EPSG:3857", 3857, pyproj.CRS.from_epsg(3857)])
def test_to_wgs84_other_crs_uses_pyproj(crs):
    lon = np.array([114.06, 113.26, 116.4])
    lat = np.array([22.54, 23.13, 39.9])
    fwd = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    mx, my = fwd.transform(lon, lat)
    x, y, label = coords.to_wgs84(mx, my, crs)
    assert label == "EPSG:3857"
    np.testing.assert_allclose(x, lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(y, lat, rtol=0, atol=1e-9)


def test_to_wgs84_geographic_crs_with_lat_lon_axes_keeps_x_as_longitude():
    # EPSG:4490 and 4326 declare latitude first; always_xy keeps x = longitude. Use a
    # geographic CRS that pyproj really transforms (Beijing 1954) to check the order.
    x, y, label = coords.to_wgs84(114.06, 22.54, "EPSG:4214")
    assert label == "EPSG:4214"
    assert abs(x - 114.06) < 0.01
    assert abs(y - 22.54) < 0.01


@pytest.mark.parametrize(
    ("value", "hint"), [("gcj2", "gcj02"), ("bd-9", "bd09"), ("wsg84", "wgs84")]
)
def test_to_wgs84_unknown_crs_names_value_choices_and_hint(value, hint):
    with pytest.raises(InputError, match=rf"crs='{value}'.*'cgcs2000'.*Did you mean '{hint}'"):
        coords.to_wgs84(114.0, 22.5, value)


def test_to_wgs84_rejects_other_objects():
    with pytest.raises(InputError, match="unknown coordinate system"):
        coords.to_wgs84(114.0, 22.5, 1.5)  # type: ignore[arg-type]


def test_from_wgs84():
    lon, lat = _points()
    gx, gy = coords.from_wgs84(lon, lat, "GCJ-02")
    assert np.array_equal(gx, coords.wgs84_to_gcj02(lon, lat)[0])
    assert np.array_equal(gy, coords.wgs84_to_gcj02(lon, lat)[1])
    bx, by = coords.from_wgs84(lon, lat, "bd09")
    assert np.array_equal(bx, coords.wgs84_to_bd09(lon, lat)[0])
    assert np.array_equal(by, coords.wgs84_to_bd09(lon, lat)[1])
    wx, wy = coords.from_wgs84(lon, lat, "wgs84")
    assert np.array_equal(wx, lon)
    assert np.array_equal(wy, lat)
    assert coords.from_wgs84(114.0, 22.5, "WGS-84") == (114.0, 22.5)
    with pytest.raises(InputError, match=r"not crs='EPSG:3857'"):
        coords.from_wgs84(lon, lat, "EPSG:3857")
    with pytest.raises(InputError, match=r"Did you mean 'gcj02'"):
        coords.from_wgs84(lon, lat, "gcj-2")


# --- detection ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _futian_walk():
    return frozen(
        planner.load_network(
            shared_file("shenzhen_futian_walk", "shenzhen_futian_osm_all.graphml"), mode="walk"
        )
    )


@pytest.fixture
def futian_walk(_futian_walk):
    return copied(_futian_walk)


def _read_tencent_aed(*names: str) -> tuple[np.ndarray, np.ndarray]:
    """lon, lat of Tencent AED files: several JSON objects concatenated per file."""
    lon: list[float] = []
    lat: list[float] = []
    for name in names:
        text = shared_file("shenzhen_aed_gcj02", name).read_text(encoding="utf-8")
        decoder = json.JSONDecoder()
        pos = 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            page, pos = decoder.raw_decode(text, pos)
            for rec in page["data"]:
                lon.append(float(rec["location"]["lng"]))
                lat.append(float(rec["location"]["lat"]))
    return np.array(lon), np.array(lat)


def _inside(net, lon, lat, margin_deg):
    """Points inside the network's node bounding box shrunk by margin_deg on every side."""
    w, s, e, n = net.nodes_gdf().total_bounds
    m = margin_deg
    keep = (lon >= w + m) & (lon <= e - m) & (lat >= s + m) & (lat <= n - m)
    return lon[keep], lat[keep]


def test_detect_real_tencent_aeds_on_futian_walk_network(futian_walk):
    lon, lat = _read_tencent_aed("aed_data440304.json")
    # Keep AEDs at least ~330 m inside the network's box: the GCJ-02 shift here is about
    # 600 m, and a point near the edge falls off the network in one of the two variants.
    # (With the whole box, 8 AEDs: medians 36 m as given and 28 m converted, as one of
    # them leaves the network; AEDs sit inside buildings, which blurs the signal.)
    lon, lat = _inside(futian_walk, lon, lat, 0.003)
    assert lon.size >= 3
    hit = coords.detect_gcj02_shift(lon, lat, futian_walk)
    assert hit is not None
    assert hit["n"] == lon.size
    assert hit["median_as_given_m"] > 40  # measured 90 m
    assert hit["median_if_gcj02_m"] < 0.5 * hit["median_as_given_m"]  # measured 25 m
    wx, wy = coords.gcj02_to_wgs84(lon, lat)
    assert coords.detect_gcj02_shift(wx, wy, futian_walk) is None


def test_detect_real_tencent_aeds_on_futian_nanshan_drive_network():
    net = planner.load_network(
        shared_file("shenzhen_futian_nanshan", "shenzhen_futian_nanshan_drive.graphml"),
        mode="drive",
    )
    lon, lat = _read_tencent_aed("aed_data440304.json", "aed_data440305.json")
    lon, lat = _inside(net, lon, lat, 0.003)
    assert lon.size >= 20
    hit = coords.detect_gcj02_shift(lon, lat, net)
    assert hit is not None
    assert hit["median_as_given_m"] > 40  # measured 105 m
    assert hit["median_if_gcj02_m"] < 0.5 * hit["median_as_given_m"]  # measured 36 m
    wx, wy = coords.gcj02_to_wgs84(lon, lat)
    assert coords.detect_gcj02_shift(wx, wy, net) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detect_synthetic_points_on_futian_streets(futian_walk, seed):
    streets = futian_walk.streets_gdf()
    assert streets.crs.to_epsg() == 4326
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(streets), size=400)
    pts = shapely.line_interpolate_point(
        streets.geometry.to_numpy()[pick], rng.random(pick.size), normalized=True
    )
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    assert coords.detect_gcj02_shift(lon, lat, futian_walk) is None
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    hit = coords.detect_gcj02_shift(gx, gy, futian_walk)
    assert hit is not None
    assert hit["median_if_gcj02_m"] < 1.0  # back on the streets
    assert hit["median_as_given_m"] > 15
    assert hit["n"] > 300
    # sample= caps the points used.
    small = coords.detect_gcj02_shift(gx, gy, futian_walk, sample=50)
    assert small is not None
    assert small["n"] <= 50


def test_detect_ignores_points_outside_china(futian_walk):
    assert coords.detect_gcj02_shift(OUTSIDE[:, 0], OUTSIDE[:, 1], futian_walk) is None
