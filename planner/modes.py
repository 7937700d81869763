"""Travel modes: which edges a mode may use, in which direction, and how fast.

Modes are data. Each mode has a *profile* (``foot``, ``bicycle`` or ``motorcar``) that
decides access from OSM tags, and a speed: a constant for the non-motorised modes
(``settings.speeds_kph``), the ``maxspeed`` tag or a per-highway default for driving
(``settings.drive_speeds_kph``).

Rules, in short:

``foot`` (walk, walk_elderly, walk_frail)
    Direction is ignored (pedestrians walk both ways on one-way streets). Dropped:
    ``highway=motorway|motorway_link|bus_guideway|busway|raceway`` and ways that are
    not built (``construction``, ``proposed``, ...); ``motorroad=yes``; ``area=yes``;
    ``foot=no|private|use_sidepath``; ``access=no|private`` unless a ``foot`` tag
    allows walking; ``service=private``; cycleways unless ``foot`` allows walking;
    trunk roads only where ``sidewalk=no|none`` or ``foot=no`` (in Chinese cities most
    trunk roads have pavements).
``bicycle`` (bicycle, ebike)
    One-way streets respected unless ``oneway:bicycle=no``. Dropped: motorways,
    ``motorroad=yes``, steps, footways and pedestrian streets unless a ``bicycle`` tag
    allows cycling, and ways closed by ``bicycle``, ``vehicle`` or ``access``.
Edges without a ``highway`` tag (hand-made graphs, road lines) count as
``highway=road``: open to every mode.

``motorcar`` (drive)
    One-way streets respected (``oneway=yes|true|1|-1|reverse``, roundabouts,
    motorways). Only drivable highway classes; ways closed by ``motorcar``,
    ``motor_vehicle``, ``vehicle`` or ``access`` are dropped, and so are emergency and
    private service roads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import settings
from .errors import InputError, closest

#: Tag keys the profiles read. Loaders keep these columns on every edge.
TAG_KEYS: tuple[str, ...] = (
    "highway",
    "oneway",
    "junction",
    "foot",
    "bicycle",
    "access",
    "motorroad",
    "sidewalk",
    "maxspeed",
    "motor_vehicle",
    "motorcar",
    "vehicle",
    "oneway:bicycle",
    "service",
    "area",
    "reversed",
)

_PROFILE_OF_MODE = {
    "walk": "foot",
    "walk_elderly": "foot",
    "walk_frail": "foot",
    "bicycle": "bicycle",
    "ebike": "bicycle",
    "drive": "motorcar",
}

_NOT_BUILT = {"abandoned", "construction", "no", "planned", "proposed", "razed", "disused"}
_CLOSED = {"no", "private"}
_ALLOWS = {"yes", "designated", "permissive", "official", "destination"}

_FOOT_EXCLUDED = {"motorway", "motorway_link", "bus_guideway", "busway", "raceway"} | _NOT_BUILT
_BIKE_EXCLUDED = {
    "motorway",
    "motorway_link",
    "bus_guideway",
    "raceway",
    "steps",
    "elevator",
    "escalator",
} | _NOT_BUILT
DRIVABLE = {
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
    "track",
}


def modes() -> list[str]:
    """Names of the travel modes planner knows."""
    return list(_PROFILE_OF_MODE)


@dataclass(frozen=True)
class ModeSpec:
    """A travel mode as used by one network: its profile and constant speed, if any."""

    name: str
    profile: str
    speed_kph: float | None

    @property
    def label(self) -> str:
        """Human-readable mode and speed, e.g. ``"walk 4.0 km/h"``."""
        if self.speed_kph is None:
            return f"{self.name} (maxspeed tags, else per-highway defaults)"
        return f"{self.name} {self.speed_kph:g} km/h"


def resolve_mode(mode: str, speed_kph: float | None = None) -> ModeSpec:
    """Check a mode name and speed and return its :class:`ModeSpec`.

    Parameters
    ----------
    mode
        {"walk", "walk_elderly", "walk_frail", "bicycle", "ebike", "drive"}
    speed_kph
        Overrides the mode's default speed for this network. For ``drive`` it sets one
        constant speed on every drivable edge instead of maxspeed/highway defaults.
    """
    if not isinstance(mode, str) or mode not in _PROFILE_OF_MODE:
        msg = (
            f"mode={mode!r} is not a travel mode planner knows; expected one of "
            f"{', '.join(_PROFILE_OF_MODE)}.{closest(str(mode), _PROFILE_OF_MODE)}"
        )
        raise InputError(msg)
    if speed_kph is not None:
        speed = _positive_speed(speed_kph, "speed_kph")
    elif mode == "drive":
        speed = None
    else:  # a speed <= 0 would give negative edge times, on which Dijkstra never ends
        speed = _positive_speed(settings.speeds_kph[mode], f"settings.speeds_kph[{mode!r}]")
    return ModeSpec(name=mode, profile=_PROFILE_OF_MODE[mode], speed_kph=speed)


def _positive_speed(value: object, name: str) -> float:
    try:
        speed = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        speed = math.nan
    if isinstance(value, bool) or not math.isfinite(speed) or speed <= 0:
        msg = f"{name}={value!r} must be a positive number of km/h, e.g. 4.0 for walking."
        raise InputError(msg)
    return speed


# --- tag normalisation ------------------------------------------------------------


def norm_tag(value: object) -> tuple[str, ...]:
    """Normalise one raw tag value to a tuple of lower-case strings.

    ``None``/NaN -> ``()``; ``"a;b"`` -> ``("a", "b")``; ``True`` -> ``("yes",)``;
    lists (osmnx merges tags of simplified edges into lists) -> all their values.
    """
    if value is None:
        return ()
    if isinstance(value, bool | np.bool_):
        return ("yes",) if value else ("no",)
    if isinstance(value, float) and math.isnan(value):
        return ()
    if isinstance(value, list | tuple | set | np.ndarray):
        out: list[str] = []
        for item in value:
            out.extend(v for v in norm_tag(item) if v not in out)
        return tuple(out)
    text = str(value).strip().lower()
    if text in {"", "nan", "none"} and not isinstance(value, str):
        return ()
    if text.startswith("[") and text.endswith("]"):  # a list stored as text in GraphML
        inner = [p.strip().strip("'\"") for p in text[1:-1].split(",")]
        return tuple(dict.fromkeys(p for p in inner if p))
    return tuple(dict.fromkeys(p.strip() for p in text.split(";") if p.strip()))


def hashable(value: Any) -> Hashable:
    """Make a raw tag value hashable (lists become tuples) so it can be factorised."""
    if isinstance(value, list | set | np.ndarray):
        return tuple(hashable(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _per_unique(column: pd.Series, func: Callable[[tuple[str, ...]], object]) -> np.ndarray:
    """Apply ``func`` to the normalised value of every distinct entry of ``column``."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    results = [func(norm_tag(u)) for u in uniques]
    results.append(func(()))  # code -1 (missing) maps to the last entry
    table = np.empty(len(results), dtype=object)
    for i, r in enumerate(results):  # element by element: results may be tuples
        table[i] = r
    return table[codes]


def _tag(tags: pd.DataFrame, key: str) -> pd.Series:
    if key in tags.columns:
        return tags[key]
    return pd.Series([None] * len(tags), index=tags.index, dtype=object)


def _present(values: tuple[str, ...]) -> str | None:
    return values[0] if values else None


_SILENT = -9


def _decide(hierarchy: list[np.ndarray]) -> np.ndarray:
    """Most specific tag present decides: each level holds codes, ``_SILENT`` if absent."""
    out = np.full(len(hierarchy[0]), _SILENT, dtype=np.int64)
    for level in hierarchy:
        codes = level.astype(np.int64)
        unset = out == _SILENT
        out[unset] = codes[unset]
    return out


def _closed_by(values: tuple[str, ...]) -> int:
    """1 if the tag closes the way, 0 if it opens it, ``_SILENT`` without the tag."""
    if not values:
        return _SILENT
    return int(all(v in _CLOSED or v == "use_sidepath" for v in values))


def access_mask(tags: pd.DataFrame, profile: str) -> np.ndarray:
    """Boolean array: may the profile use each edge (direction aside)?"""
    # an edge without a highway tag (a hand-made graph) counts as a plain road
    hw = _per_unique(_tag(tags, "highway"), lambda v: v or ("road",))
    n = len(tags)
    if n == 0:
        return np.zeros(0, dtype=bool)
    area = _per_unique(_tag(tags, "area"), lambda v: "yes" in v).astype(bool)
    motorroad = _per_unique(_tag(tags, "motorroad"), lambda v: "yes" in v).astype(bool)
    general = _per_unique(_tag(tags, "access"), _closed_by)
    service_private = _per_unique(
        _tag(tags, "service"), lambda v: "private" in v or "emergency_access" in v
    ).astype(bool)

    # highway tuples repeat a lot: evaluate on uniques
    hw_series = pd.Series(hw, dtype=object)

    def hw_test(pred: Callable[[tuple[str, ...]], bool]) -> np.ndarray:
        codes, uniq = pd.factorize(hw_series)
        table = np.fromiter((pred(u) for u in uniq), bool, len(uniq))
        return table[codes]

    ok = ~area & ~motorroad
    if profile == "foot":
        foot = _per_unique(_tag(tags, "foot"), _closed_by)
        foot_allows = _per_unique(_tag(tags, "foot"), lambda v: any(x in _ALLOWS for x in v))
        closed = _decide([foot, general])
        ok &= closed != 1
        ok &= hw_test(lambda v: not any(x in _FOOT_EXCLUDED for x in v))
        cycle_only = hw_test(lambda v: "cycleway" in v)
        ok &= ~cycle_only | foot_allows.astype(bool)
        trunk = hw_test(lambda v: any(x in {"trunk", "trunk_link"} for x in v))
        no_sidewalk = _per_unique(
            _tag(tags, "sidewalk"), lambda v: bool(v) and all(x in {"no", "none"} for x in v)
        ).astype(bool)
        ok &= ~(trunk & no_sidewalk)
        ok &= ~service_private | foot_allows.astype(bool)
    elif profile == "bicycle":
        bike = _per_unique(_tag(tags, "bicycle"), _closed_by)
        bike_allows = _per_unique(
            _tag(tags, "bicycle"), lambda v: any(x in _ALLOWS for x in v)
        ).astype(bool)
        vehicle = _per_unique(_tag(tags, "vehicle"), _closed_by)
        closed = _decide([bike, vehicle, general])
        ok &= closed != 1
        ok &= hw_test(lambda v: not any(x in _BIKE_EXCLUDED for x in v))
        foot_only = hw_test(lambda v: any(x in {"footway", "pedestrian", "corridor"} for x in v))
        ok &= ~foot_only | bike_allows
        ok &= ~service_private | bike_allows
    elif profile == "motorcar":
        car = _per_unique(_tag(tags, "motorcar"), _closed_by)
        motor = _per_unique(_tag(tags, "motor_vehicle"), _closed_by)
        vehicle = _per_unique(_tag(tags, "vehicle"), _closed_by)
        closed = _decide([car, motor, vehicle, general])
        ok &= closed != 1
        ok &= hw_test(lambda v: all(x in DRIVABLE for x in v))
        ok &= ~service_private
    else:  # pragma: no cover - resolve_mode guards the profile names
        msg = f"unknown profile {profile!r}"
        raise InputError(msg)
    return ok


def _oneway_code(values: tuple[str, ...]) -> int:
    if not values:
        return _SILENT
    v = values[0]
    if v in {"yes", "true", "1"}:
        return 1
    if v in {"-1", "reverse"}:
        return -1
    return 0


def way_direction(tags: pd.DataFrame, profile: str) -> np.ndarray:
    """Direction code of each OSM way segment for a profile: 0 both, 1 forward, -1 backward.

    Used for sources whose edges are OSM way segments drawn once (pyrosm, road lines).
    Graph sources draw every usable direction as its own edge and do not call this.
    """
    n = len(tags)
    if profile == "foot" or n == 0:
        return np.zeros(n, dtype=np.int8)
    oneway = _per_unique(_tag(tags, "oneway"), _oneway_code)
    implied = _per_unique(
        _tag(tags, "junction"),
        lambda v: 1 if any(x in {"roundabout", "circular"} for x in v) else _SILENT,
    )
    motorway = _per_unique(
        _tag(tags, "highway"), lambda v: 1 if any(x == "motorway" for x in v) else _SILENT
    )
    code = _decide([oneway, implied, motorway])
    code[code == _SILENT] = 0
    out = code.astype(np.int8)
    if profile == "bicycle":
        contra = _per_unique(_tag(tags, "oneway:bicycle"), lambda v: "no" in v).astype(bool)
        out[contra] = 0
    return out


def implied_oneway_copies(tags: pd.DataFrame) -> np.ndarray:
    """Reverse copies (osmnx ``reversed=True``) of motorways, which OSM makes one-way."""
    rev = _per_unique(_tag(tags, "reversed"), lambda v: "yes" in v).astype(bool)
    motorway = _per_unique(_tag(tags, "highway"), lambda v: "motorway" in v).astype(bool)
    return rev & motorway


_SPEED_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def parse_maxspeed(values: tuple[str, ...]) -> float:
    """Parse OSM maxspeed values to km/h (mean of several); NaN when none is numeric."""
    speeds = []
    for v in values:
        if v == "walk":
            speeds.append(5.0)
            continue
        m = _SPEED_RE.match(v)
        if m:
            s = float(m.group(1))
            speeds.append(s * 1.609344 if m.group(2) == "mph" else s)
    speeds = [s for s in speeds if s > 0]
    return float(np.mean(speeds)) if speeds else math.nan


def _highway_default(values: tuple[str, ...]) -> float:
    table = settings.drive_speeds_kph
    found = []
    for v in values:
        if v in table:
            found.append(table[v])
        elif v.endswith("_link") and v[:-5] in table:
            found.append(table[v[:-5]])
    return float(np.mean(found)) if found else float(settings.drive_default_kph)


def edge_speeds_kph(tags: pd.DataFrame, spec: ModeSpec) -> np.ndarray:
    """Speed of every edge in km/h for a mode."""
    n = len(tags)
    if spec.speed_kph is not None:
        return np.full(n, spec.speed_kph, dtype=np.float64)
    tagged = _per_unique(_tag(tags, "maxspeed"), parse_maxspeed).astype(np.float64)
    default = _per_unique(_tag(tags, "highway"), _highway_default).astype(np.float64)
    speed = np.where(np.isfinite(tagged), tagged, default) * float(settings.drive_speed_factor)
    if not (speed > 0).all():  # negative edge times would keep Dijkstra going forever
        msg = (
            "settings.drive_speeds_kph, drive_default_kph and drive_speed_factor must give "
            f"positive car speeds; got {float(speed.min()):g} km/h."
        )
        raise InputError(msg)
    return speed
