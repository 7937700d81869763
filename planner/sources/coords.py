"""Chinese map coordinate systems: WGS-84, GCJ-02, BD-09 and CGCS2000.

Which system a layer uses depends on where it came from:

``WGS-84`` (EPSG:4326)
    GPS receivers, OpenStreetMap and most open data. planner works in WGS-84 (and in the
    metric UTM zone of the network).
``GCJ-02`` ("Mars coordinates", 国测局坐标)
    The coordinates that Amap (高德), Tencent maps (腾讯) and most other web maps licensed in
    mainland China publish. A WGS-84 position is moved by a smooth, position-dependent
    offset of a few hundred metres (about 500-650 m in Guangdong), so GCJ-02 points put
    on OSM streets land beside them.
``BD-09``
    Baidu maps (百度): GCJ-02 with a second, smaller shift of Baidu's own (about 1 km).
``CGCS2000`` (EPSG:4490)
    The national geodetic system. Its ellipsoid and frame differ from WGS-84 by a few
    centimetres, so for planning purposes (metre accuracy) it is taken as equal to
    WGS-84 and passed through unchanged.

The formulas here are the widely published ones. The state's obfuscation algorithm is
not public; the published forward formula reproduces it to about a metre or better (the
official one is said to add small noise). When this module says a round trip is exact
to a millimetre, it means exact with respect to the published formula, not to the
official algorithm. Inverses (GCJ-02 -> WGS-84, BD-09 -> GCJ-02) have no closed form;
they are solved here by fixed-point iteration on the forward formula until the
correction is below 1e-12 degrees (well under a millimetre).

GCJ-02 is only defined inside a rectangle around China (:func:`outside_china`); points
outside it are returned unchanged by every conversion, as the map providers do.

Legal note: turning GCJ-02 coordinates back into WGS-84 is described as legally
sensitive in mainland China (surveying and mapping law), and the terms of map-provider
APIs often restrict storing or redistributing their results. planner converts what it
is given; users are responsible for complying with the law and with their data's terms.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Protocol, overload

import numpy as np
import numpy.typing as npt
import pyproj

from planner.errors import InputError, PlannerWarning, closest


class StreetIndex(Protocol):
    """What :func:`detect_gcj02_shift` needs of a network (a :class:`planner.Network`)."""

    def to_metric(self, geoms: Any) -> tuple[np.ndarray, np.ndarray]:
        """Metric x, y of point geometries."""
        ...

    def snap_xy(self, x: np.ndarray, y: np.ndarray, max_snap_m: float | None = None) -> Any:
        """Nearest streets of metric points (``connector`` and ``primary`` arrays)."""
        ...


__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "detect_gcj02_shift",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "outside_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Converter = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

# Krasovsky 1940 ellipsoid, which the GCJ-02 formula uses for its degree lengths.
KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
# BD-09: angular frequency of Baidu's extra wiggle and its constant offset (degrees).
BD_X_PI = math.pi * 3000.0 / 180.0
BD_DLON = 0.0065
BD_DLAT = 0.006
# The rectangle outside which GCJ-02 leaves points alone (degrees).
CHINA_LON_MIN = 72.004
CHINA_LON_MAX = 137.8347
CHINA_LAT_MIN = 0.8293
CHINA_LAT_MAX = 55.8271
# Iterative inverses stop once the correction is below this (degrees) or after MAX_ITER.
TOL_DEG = 1e-12
MAX_ITER = 30
# detect_gcj02_shift: the farthest a point may be from a street to count, the fewest points.
DETECT_MAX_SNAP_M = 1500.0
DETECT_MIN_POINTS = 3

_CANONICAL = {
    "wgs84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "cgcs2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "4490": "cgcs2000",
}
_LABELS = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09", "cgcs2000": "CGCS2000"}
_ACCEPTED = ["wgs84", "gcj02", "bd09", "cgcs2000", "WGS-84", "GCJ-02", "BD-09", "EPSG:4490"]


# --- helpers ---------------------------------------------------------------------------


def _is_scalar(a: npt.ArrayLike) -> bool:
    """Python or NumPy numbers (not 0-d arrays): these get floats back."""
    return not isinstance(a, np.ndarray) and np.ndim(a) == 0


def _arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both inputs as float64 arrays of their common (broadcast) shape, as new copies."""
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)


def _result(scalar: bool, x: FloatArray, y: FloatArray) -> tuple[Any, Any]:
    if scalar:
        return float(x), float(y)
    return x, y


def _shiftable(x: FloatArray, y: FloatArray) -> BoolArray:
    """Finite points inside the GCJ-02 rectangle."""
    return np.isfinite(x) & np.isfinite(y) & ~_outside(x, y)


def _shift(lon: npt.ArrayLike, lat: npt.ArrayLike, convert: Converter) -> tuple[Any, Any]:
    """Apply ``convert`` to the finite points inside China; the others come back as given."""
    scalar = _is_scalar(lon) and _is_scalar(lat)
    x, y = _arrays(lon, lat)
    m = _shiftable(x, y)
    x[m], y[m] = convert(x[m], y[m])
    return _result(scalar, x, y)


def _to_gcj(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    dx, dy = _gcj_offset(x, y)
    return x + dx, y + dy


def _outside(x: FloatArray, y: FloatArray) -> BoolArray:
    return (x < CHINA_LON_MIN) | (x > CHINA_LON_MAX) | (y < CHINA_LAT_MIN) | (y > CHINA_LAT_MAX)


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84, in degrees, at WGS-84 positions (no domain test)."""
    u = lon - 105.0
    v = lat - 35.0
    pi = np.pi
    # The two published series give the offset as arc lengths in metres.
    wiggle_u = 20.0 * np.sin(6.0 * pi * u) + 20.0 * np.sin(2.0 * pi * u)
    north_m = (
        -100.0
        + 2.0 * u
        + 3.0 * v
        + 0.2 * v * v
        + 0.1 * u * v
        + 0.2 * np.sqrt(np.abs(u))
        + (wiggle_u + 20.0 * np.sin(pi * v) + 40.0 * np.sin(pi * v / 3.0)) * (2.0 / 3.0)
        + (160.0 * np.sin(pi * v / 12.0) + 320.0 * np.sin(pi * v / 30.0)) * (2.0 / 3.0)
    )
    east_m = (
        300.0
        + u
        + 2.0 * v
        + 0.1 * u * u
        + 0.1 * u * v
        + 0.1 * np.sqrt(np.abs(u))
        + (wiggle_u + 20.0 * np.sin(pi * u) + 40.0 * np.sin(pi * u / 3.0)) * (2.0 / 3.0)
        + (150.0 * np.sin(pi * u / 12.0) + 300.0 * np.sin(pi * u / 30.0)) * (2.0 / 3.0)
    )
    # Metres to degrees with the radii of curvature of the Krasovsky ellipsoid.
    phi = np.radians(lat)
    w2 = 1.0 - KRASOVSKY_EE * np.sin(phi) ** 2
    meridian_r = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w2 * np.sqrt(w2))
    parallel_r = KRASOVSKY_A / np.sqrt(w2) * np.cos(phi)
    return np.degrees(east_m / parallel_r), np.degrees(north_m / meridian_r)


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """BD-09 of GCJ-02 positions (no domain test)."""
    r = np.hypot(lon, lat) + 0.00002 * np.sin(lat * BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD_X_PI)
    return r * np.cos(theta) + BD_DLON, r * np.sin(theta) + BD_DLAT


def _bd_rough_inverse(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The published one-step BD-09 -> GCJ-02 (about 1e-6 degrees off)."""
    x = lon - BD_DLON
    y = lat - BD_DLAT
    r = np.hypot(x, y) - 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
    return r * np.cos(theta), r * np.sin(theta)


def _solve_gcj_inverse(gx: FloatArray, gy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS-84 (x, y) with x + offset(x) == g, by fixed-point iteration (all points shiftable)."""
    dx, dy = _gcj_offset(gx, gy)
    x, y = gx - dx, gy - dy
    for _ in range(MAX_ITER):
        dx, dy = _gcj_offset(x, y)
        nx, ny = gx - dx, gy - dy
        change = max(
            float(np.max(np.abs(nx - x), initial=0.0)), float(np.max(np.abs(ny - y), initial=0.0))
        )
        x, y = nx, ny
        if change < TOL_DEG:
            break
    return x, y


def _solve_bd_inverse(bx: FloatArray, by: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 (x, y) with bd_forward(x, y) == b, by fixed-point iteration from the rough inverse."""
    x, y = _bd_rough_inverse(bx, by)
    for _ in range(MAX_ITER):
        fx, fy = _bd_forward(x, y)
        ex, ey = fx - bx, fy - by
        x, y = x - ex, y - ey
        change = max(float(np.max(np.abs(ex), initial=0.0)), float(np.max(np.abs(ey), initial=0.0)))
        if change < TOL_DEG:
            break
    return x, y


# --- public conversions ----------------------------------------------------------------


@overload
def outside_china(lon: float, lat: float) -> bool: ...
@overload
def outside_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray: ...
def outside_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> bool | BoolArray:
    """Whether points lie outside the GCJ-02 domain (a rectangle around China).

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (scalars or array-likes that broadcast).

    Returns
    -------
    bool or numpy.ndarray of bool
        True where ``lon < 72.004``, ``lon > 137.8347``, ``lat < 0.8293`` or
        ``lat > 55.8271``. The rectangle is the usual coarse test: it also contains parts of
        neighbouring countries, where the conversions here do shift points. NaN is not
        outside.
    """
    scalar = _is_scalar(lon) and _is_scalar(lat)
    x, y = _arrays(lon, lat)
    out = _outside(x, y)
    return bool(out) if scalar else out


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """Shift WGS-84 longitude/latitude to GCJ-02 with the published formula.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise. Points
        outside China (:func:`outside_china`) and non-finite values come back unchanged.
    """
    return _shift(lon, lat, _to_gcj)


@overload
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude back to WGS-84 (iterative inverse).

    The WGS-84 point whose forward shift lands on the given GCJ-02 point is found by
    fixed-point iteration on the forward formula until the correction is below 1e-12
    degrees (at most 30 rounds; about 7 are typical), so ``wgs84_to_gcj02`` of the result
    reproduces the input to well under a millimetre.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise. Points
        outside China and non-finite values come back unchanged.

    Notes
    -----
    Converting GCJ-02 to WGS-84 is described as legally sensitive in mainland China; see
    the module docstring.
    """
    return _shift(lon, lat, _solve_gcj_inverse)


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude to Baidu's BD-09 with the published formula.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise. Points
        outside China and non-finite values come back unchanged.
    """
    return _shift(lon, lat, _bd_forward)


@overload
def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 longitude/latitude to GCJ-02 (iterative inverse).

    Starts from the published one-step inverse and iterates on the forward formula
    until the correction is below 1e-12 degrees (at most 30 rounds).

    Parameters
    ----------
    lon, lat
        BD-09 degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise. Points
        outside China and non-finite values come back unchanged.
    """
    return _shift(lon, lat, _solve_bd_inverse)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """Convert WGS-84 to BD-09 (WGS-84 -> GCJ-02 -> BD-09).

    Parameters
    ----------
    lon, lat
        WGS-84 degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise. Points
        outside China and non-finite values come back unchanged.
    """
    return _shift(lon, lat, lambda x, y: _bd_forward(*_to_gcj(x, y)))


@overload
def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 to WGS-84 (BD-09 -> GCJ-02 -> WGS-84, both inverses iterative).

    Parameters
    ----------
    lon, lat
        BD-09 degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: floats for scalar input, float64 arrays otherwise. Points
        outside China and non-finite values come back unchanged.
    """
    return _shift(lon, lat, lambda x, y: _solve_gcj_inverse(*_solve_bd_inverse(x, y)))


# --- CRS dispatch ----------------------------------------------------------------------


def _named(crs: object) -> str | None:
    """'wgs84', 'gcj02', 'bd09' or 'cgcs2000' for one of their spellings, else None."""
    if isinstance(crs, bool):
        return None
    if isinstance(crs, int):
        return _CANONICAL.get(str(crs))
    if isinstance(crs, str):
        key = crs.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        return _CANONICAL.get(key)
    return None


def _unknown(crs: object, what: str) -> InputError:
    hint = closest(str(crs), _ACCEPTED)
    msg = (
        f"unknown coordinate system {what}={crs!r}; use one of "
        f"{', '.join(repr(a) for a in _ACCEPTED)}"
        + (", an EPSG code (e.g. 4326 or 'EPSG:3857') or a pyproj CRS" if what == "crs" else "")
        + f".{hint}"
    )
    return InputError(msg)


def _crs_label(crs: pyproj.CRS) -> str:
    auth = crs.to_authority()
    if auth is not None:
        return f"{auth[0]}:{auth[1]}"
    return str(crs.name)


@overload
def to_wgs84(x: float, y: float, crs: str | int | pyproj.CRS) -> tuple[float, float, str]: ...
@overload
def to_wgs84(
    x: npt.ArrayLike, y: npt.ArrayLike, crs: str | int | pyproj.CRS
) -> tuple[FloatArray, FloatArray, str]: ...
def to_wgs84(
    x: npt.ArrayLike, y: npt.ArrayLike, crs: str | int | pyproj.CRS
) -> tuple[Any, Any, str]:
    """Convert coordinates in any supported system to WGS-84 longitude/latitude.

    Parameters
    ----------
    x, y
        Coordinates (longitude/latitude for the Chinese web systems, the CRS's own axes
        in x/y order otherwise); scalars or array-likes that broadcast together.
    crs
        ``"wgs84"``, ``"gcj02"`` (Amap, Tencent), ``"bd09"`` (Baidu) or ``"cgcs2000"``,
        case-insensitive, also spelt ``"WGS-84"``, ``"GCJ-02"``, ``"BD-09"``,
        ``"EPSG:4490"``; or any EPSG code (int or ``"EPSG:n"``) or ``pyproj.CRS``.
        CGCS2000 is taken as equal to WGS-84 (they differ by centimetres, within a metre
        for this purpose); other CRSs are transformed with pyproj.

    Returns
    -------
    tuple
        ``(lon, lat, label)``: WGS-84 degrees (floats for scalar input, float64 arrays
        otherwise) and a short label of the source system for a provenance column,
        e.g. ``"GCJ-02"``, ``"BD-09"``, ``"WGS-84"``, ``"CGCS2000"``, ``"EPSG:3857"``.

    Raises
    ------
    planner.errors.InputError
        If ``crs`` is neither a known name nor a CRS that pyproj understands.

    Warns
    -----
    planner.errors.PlannerWarning
        Once, for GCJ-02/BD-09 input with points outside China, which are left unshifted.
    """
    scalar = _is_scalar(x) and _is_scalar(y)
    ax, ay = _arrays(x, y)
    name, src = _system(crs)
    if src is not None:
        tr = pyproj.Transformer.from_crs(src, "EPSG:4326", always_xy=True)
        lon, lat = tr.transform(ax, ay)
        out = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        return (*_result(scalar, *out), _crs_label(src))
    assert name is not None
    label = _LABELS[name]
    if name in ("wgs84", "cgcs2000"):
        return (*_result(scalar, ax, ay), label)
    _warn_outside(ax, ay, label)
    conv = gcj02_to_wgs84 if name == "gcj02" else bd09_to_wgs84
    lon, lat = conv(ax, ay)
    return (*_result(scalar, lon, lat), label)


def _system(crs: object) -> tuple[str | None, pyproj.CRS | None]:
    """('wgs84' | 'gcj02' | 'bd09' | 'cgcs2000', None) or (None, another pyproj CRS)."""
    name = _named(crs)
    if name is not None:
        return name, None
    try:
        src = pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as exc:
        raise _unknown(crs, "crs") from exc
    if src.equals(pyproj.CRS.from_epsg(4326)):
        return "wgs84", None
    if src.equals(pyproj.CRS.from_epsg(4490)):
        return "cgcs2000", None
    return None, src


def _warn_outside(x: FloatArray, y: FloatArray, label: str) -> None:
    """One warning for GCJ-02/BD-09 points outside China (left unshifted)."""
    n_out = int(np.count_nonzero(_outside(x, y)))
    if n_out:
        msg = (
            f"{n_out} of {x.size} points given in {label} lie outside China (the GCJ-02 "
            f"domain: lon {CHINA_LON_MIN}-{CHINA_LON_MAX}, lat {CHINA_LAT_MIN}-"
            f"{CHINA_LAT_MAX}) and were left unshifted; check the crs and the coordinate "
            "order (x = longitude, y = latitude)."
        )
        warnings.warn(msg, PlannerWarning, stacklevel=3)


@overload
def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]: ...
@overload
def from_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str
) -> tuple[FloatArray, FloatArray]: ...
def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude to ``"gcj02"``, ``"bd09"`` or ``"wgs84"``.

    Used to shift map layers onto GCJ-02 tiles (Amap) or BD-09 tiles (Baidu). Points
    outside China come back unchanged, silently (the tiles are unshifted there too).

    Parameters
    ----------
    lon, lat
        WGS-84 degrees; scalars or array-likes that broadcast together.
    crs
        Target system, case-insensitive, also spelt ``"GCJ-02"``, ``"BD-09"``,
        ``"WGS-84"`` or ``"EPSG:4326"``.

    Returns
    -------
    tuple
        ``(x, y)`` in the target system: floats for scalar input, float64 arrays otherwise.

    Raises
    ------
    planner.errors.InputError
        For any other ``crs``.
    """
    name = _named(crs)
    if name == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if name == "bd09":
        return wgs84_to_bd09(lon, lat)
    if name == "wgs84":
        scalar = _is_scalar(lon) and _is_scalar(lat)
        return _result(scalar, *_arrays(lon, lat))
    hint = closest(str(crs), ["wgs84", "gcj02", "bd09", "WGS-84", "GCJ-02", "BD-09"])
    msg = f"from_wgs84 converts to 'wgs84', 'gcj02' or 'bd09' only, not crs={crs!r}.{hint}"
    raise InputError(msg)


# --- detection -------------------------------------------------------------------------


def detect_gcj02_shift(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    network: StreetIndex,
    *,
    sample: int = 500,
    min_median_m: float = 15.0,
    ratio: float = 0.5,
) -> dict[str, Any] | None:
    """Tell whether points declared WGS-84 look like GCJ-02 (Amap/Tencent) coordinates.

    Real facilities sit on or beside streets. GCJ-02 points read as WGS-84 lie a few
    hundred metres off, somewhere between streets; converted to WGS-84 they come back.
    The median distance to the nearest usable street of ``network`` is computed for the
    points as given and for the points treated as GCJ-02 and converted to WGS-84 (one
    snap of each variant).

    Parameters
    ----------
    lon, lat
        The points as declared (WGS-84 degrees).
    network
        The street network they will be snapped to.
    sample
        At most this many points are used (a fixed pseudo-random sample, so the answer
        is reproducible).
    min_median_m
        The median distance as given must exceed this. In a dense walk network (central
        Shenzhen with footways) a random point is only 20-30 m from the nearest path, so
        GCJ-02 points shifted 600 m are rarely farther; a higher floor would miss them.
    ratio
        The converted median must be below ``ratio`` times the median as given.

    Returns
    -------
    dict or None
        ``{"median_as_given_m", "median_if_gcj02_m", "n"}`` when the points look
        shifted: they lie inside China, their median distance as given exceeds
        ``min_median_m`` and the converted median is less than ``ratio`` of it. ``n`` is
        the number of points compared (inside China, finite and within 1.5 km of a street
        both ways). None otherwise, also when fewer than 3 points can be compared.

    Notes
    -----
    The test compares two positions of the same points, so it needs the points to lie
    inside the area the network covers: points within the shift (about 600 m) of the
    network's edge can fall off it in one variant and blur the medians.
    """
    x, y = _sample(lon, lat, sample)
    if x.size < DETECT_MIN_POINTS:
        return None
    cx, cy = _solve_gcj_inverse(x, y)
    d_given = _street_distances(x, y, network)
    d_conv = _street_distances(cx, cy, network)
    both = np.isfinite(d_given) & np.isfinite(d_conv)
    n = int(np.count_nonzero(both))
    if n < DETECT_MIN_POINTS:
        return None
    med_given = float(np.median(d_given[both]))
    med_conv = float(np.median(d_conv[both]))
    if med_given > min_median_m and med_conv < ratio * med_given:
        return {"median_as_given_m": med_given, "median_if_gcj02_m": med_conv, "n": n}
    return None


def _sample(lon: npt.ArrayLike, lat: npt.ArrayLike, sample: int) -> tuple[FloatArray, FloatArray]:
    """Up to ``sample`` shiftable points, a fixed pseudo-random choice (reproducible)."""
    x, y = _arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    keep = np.flatnonzero(_shiftable(x, y))
    if keep.size > sample > 0:
        rng = np.random.default_rng(20240101)
        keep = np.sort(rng.choice(keep, size=sample, replace=False))
    return x[keep], y[keep]


def _street_distances(x: FloatArray, y: FloatArray, network: StreetIndex) -> FloatArray:
    """Metres from WGS-84 points to their nearest street (inf beyond 1.5 km)."""
    import geopandas as gpd

    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:4326")
    mx, my = network.to_metric(pts)
    snap = network.snap_xy(mx, my, max_snap_m=DETECT_MAX_SNAP_M)
    return np.asarray(snap.connector[snap.primary], dtype=np.float64)
