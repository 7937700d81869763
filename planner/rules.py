"""Presets as data: facility categories (and, later, circles and targets) from TOML.

The packaged presets live in ``planner/presets/``. A user TOML file adds categories or
overrides fields of packaged ones; unknown keys are errors that name the closest valid
key, so a typo never silently does nothing.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError, closest

LABELS = {"V", "S", "R", "I"}
LABEL_TEXT = {
    "V": "verified in a public source",
    "S": "stated by a secondary source",
    "R": "recalled, not verified",
    "I": "interpretation",
}

_CATEGORY_KEYS = {
    "id",
    "name_zh",
    "name_en",
    "radius_m",
    "radius_label",
    "radius_source",
    "osm",
    "osm_exclude",
    "osm_label",
    "amap_codes",
    "amap_keywords",
    "amap_keyword_codes",
    "amap_exclude",
    "amap_label",
}
_GROUP_KEYS = {"id", "name_zh", "name_en", "members", "label"}
_NAME_COLUMNS = ("name", "name:zh", "name:zh-Hans", "name:en")


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            msg = (
                f"{where}: unknown key {key!r}; valid keys are {', '.join(sorted(allowed))}."
                f"{closest(key, allowed)}"
            )
            raise InputError(msg)


def _check_label(value: object, where: str) -> str:
    if value not in LABELS:
        msg = f"{where}: verification label must be one of V, S, R, I; got {value!r}."
        raise InputError(msg)
    return str(value)


@dataclass(frozen=True)
class OsmFilter:
    """One OSM tag filter: every listed tag must match (a value, any of several, or presence)."""

    tags: tuple[tuple[str, tuple[str, ...] | None], ...]
    name: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any], where: str) -> OsmFilter:
        """Build a filter from its TOML table."""
        tags: list[tuple[str, tuple[str, ...] | None]] = []
        name = None
        for key, value in spec.items():
            if key == "name":
                name = re.compile(str(value))
            elif value is True:
                tags.append((key, None))
            elif isinstance(value, str):
                tags.append((key, (value,)))
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                tags.append((key, tuple(value)))
            else:
                msg = (
                    f"{where}: OSM filter value for {key!r} must be a string, a list of "
                    f"strings or true; got {value!r}."
                )
                raise InputError(msg)
        return cls(tuple(tags), name)

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        """Rows of a tag table (one column per OSM key) that match this filter."""
        out = np.ones(len(df), dtype=bool)
        for key, values in self.tags:
            if key not in df.columns:
                return np.zeros(len(df), dtype=bool)
            col = df[key]
            if values is None:
                out &= col.notna().to_numpy()
            else:
                text = col.astype("string")
                hit = np.array(text.isin(values).fillna(False), dtype=bool)
                multi = np.array(text.str.contains(";", regex=False).fillna(False), dtype=bool)
                if multi.any():  # "a;b" multi-values: any part may match
                    parts = text[multi].str.split(";")
                    hit[multi] = [any(p.strip() in values for p in ps) for ps in parts]
                out &= hit
        if self.name is not None:
            named = np.zeros(len(df), dtype=bool)
            for name_col in _NAME_COLUMNS:
                if name_col in df.columns:
                    names = df[name_col].astype("string")
                    named |= np.array(
                        names.str.contains(self.name, regex=True).fillna(False), dtype=bool
                    )
            out &= named
        return out


@dataclass(frozen=True)
class Category:
    """A kind of facility and how to recognise it in OSM tags and Amap exports."""

    id: str
    name_zh: str
    name_en: str
    radius_m: float | None = None
    radius_label: str | None = None
    radius_source: str | None = None
    osm: tuple[OsmFilter, ...] = ()
    osm_exclude: tuple[OsmFilter, ...] = ()
    osm_label: str = "I"
    amap_codes: tuple[str, ...] = ()
    amap_keywords: re.Pattern[str] | None = None
    amap_keyword_codes: tuple[str, ...] = ()
    amap_exclude: re.Pattern[str] | None = None
    amap_label: str = "I"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any], where: str) -> Category:
        """Build a category from its TOML table (validated)."""
        _check_keys(spec, _CATEGORY_KEYS, where)
        for req in ("id", "name_zh", "name_en"):
            if req not in spec:
                msg = f"{where}: a category needs {req!r}."
                raise InputError(msg)
        cid = str(spec["id"])
        here = f"{where} category {cid!r}"
        keywords = [str(k) for k in spec.get("amap_keywords", [])]
        exclude = spec.get("amap_exclude")
        radius = spec.get("radius_m")
        return cls(
            id=cid,
            name_zh=str(spec["name_zh"]),
            name_en=str(spec["name_en"]),
            radius_m=float(radius) if radius is not None else None,
            radius_label=(
                _check_label(spec["radius_label"], here) if "radius_label" in spec else None
            ),
            radius_source=spec.get("radius_source"),
            osm=tuple(OsmFilter.parse(f, here) for f in spec.get("osm", [])),
            osm_exclude=tuple(OsmFilter.parse(f, here) for f in spec.get("osm_exclude", [])),
            osm_label=_check_label(spec.get("osm_label", "I"), here),
            amap_codes=tuple(str(c) for c in spec.get("amap_codes", [])),
            amap_keywords=re.compile("|".join(keywords)) if keywords else None,
            amap_keyword_codes=tuple(str(c) for c in spec.get("amap_keyword_codes", [])),
            amap_exclude=re.compile(str(exclude)) if exclude else None,
            amap_label=_check_label(spec.get("amap_label", "I"), here),
            raw=dict(spec),
        )

    def osm_mask(self, tags: pd.DataFrame) -> np.ndarray:
        """Rows of an OSM tag table that are facilities of this category."""
        hit = np.zeros(len(tags), dtype=bool)
        for f in self.osm:
            hit |= f.mask(tags)
        for f in self.osm_exclude:
            hit &= ~f.mask(tags)
        return hit

    def amap_mask(
        self,
        codes: pd.Series,
        names: pd.Series,
        types: pd.Series,
        parts: pd.Series | None = None,
    ) -> np.ndarray:
        """Rows of an Amap-style table (typecode, name, type string) of this category.

        ``parts`` (the typecodes split at "|", exploded, index = row) may be passed in
        when many categories are matched against the same table.
        """
        n = len(codes)
        code_text = codes.astype("string").fillna("")
        name_text = names.astype("string").fillna("")
        type_text = types.astype("string").fillna("")
        if parts is None:
            parts = split_codes(code_text)

        def code_hit(prefixes: tuple[str, ...]) -> np.ndarray:
            if not prefixes:
                return np.zeros(n, dtype=bool)
            hit = np.array(parts.str.startswith(prefixes).fillna(False), dtype=bool)
            out = np.zeros(n, dtype=bool)
            out[parts.index.to_numpy()[hit]] = True
            return out

        hit = code_hit(self.amap_codes)
        if self.amap_keywords is not None:
            # keywords search the name and the most specific level of the type string
            # ("科教文化服务;学校;幼儿园" -> "幼儿园"), not its broad parent levels
            text = name_text + " " + type_text.str.split(";").str[-1].fillna("")
            kw = np.array(text.str.contains(self.amap_keywords, regex=True).fillna(False), bool)
            if self.amap_keyword_codes:
                kw &= code_hit(self.amap_keyword_codes) | np.array(code_text == "", dtype=bool)
            hit |= kw
        if self.amap_exclude is not None:
            excluded = name_text.str.contains(self.amap_exclude, regex=True).fillna(False)
            hit &= ~np.array(excluded, dtype=bool)
        return hit


def split_codes(codes: pd.Series) -> pd.Series:
    """Amap typecodes split at "|" (a POI can carry several), one per row, index = position."""
    text = codes.astype("string").fillna("").reset_index(drop=True)
    return text.str.split("|").explode().str.strip()


@dataclass(frozen=True)
class Group:
    """A service that any of several categories provides."""

    id: str
    name_zh: str
    name_en: str
    members: tuple[str, ...]
    label: str = "I"


@dataclass
class CategoryTable:
    """All known categories and groups; look them up by id."""

    categories: dict[str, Category]
    groups: dict[str, Group]
    sources: list[str] = field(default_factory=list)

    def ids(self) -> list[str]:
        """Category ids, in preset order."""
        return list(self.categories)

    def __contains__(self, key: object) -> bool:
        return key in self.categories or key in self.groups

    def __getitem__(self, key: str) -> Category:
        return self.categories[key]

    def members(self, key: str) -> tuple[str, ...]:
        """Categories that provide ``key`` (a category id: itself; a group: its members)."""
        if key in self.categories:
            return (key,)
        if key in self.groups:
            return self.groups[key].members
        known = [*self.categories, *self.groups]
        msg = f"unknown category or group {key!r}.{closest(key, known)}"
        raise InputError(msg)

    def expand(self, keys: str | Iterable[str]) -> list[str]:
        """The categories that provide any of ``keys`` (ids or groups), in order, once."""
        keys = [keys] if isinstance(keys, str) else keys
        return list(dict.fromkeys(m for k in keys for m in self.members(k)))

    def name(self, key: str, lang: str = "zh") -> str:
        """Display name of a category or group."""
        item: Category | Group | None = self.categories.get(key) or self.groups.get(key)
        if item is None:
            return key
        return item.name_zh if lang == "zh" else item.name_en

    def match_osm(self, tags: pd.DataFrame, only: Iterable[str] | None = None) -> pd.DataFrame:
        """(row, category) pairs: every category whose OSM filters a row matches."""
        rows: list[np.ndarray] = []
        cats: list[np.ndarray] = []
        for cid in only if only is not None else self.categories:
            hit = np.flatnonzero(self.categories[cid].osm_mask(tags))
            rows.append(hit)
            cats.append(np.full(len(hit), cid, dtype=object))
        return _pairs(rows, cats)

    def match_amap(
        self,
        codes: pd.Series,
        names: pd.Series,
        types: pd.Series | None = None,
        only: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """(row, category) pairs from Amap typecodes and name/type keyword rules."""
        codes = codes.reset_index(drop=True)
        names = names.reset_index(drop=True)
        types = (
            types.reset_index(drop=True)
            if types is not None
            else pd.Series([""] * len(codes), dtype="string")
        )
        rows: list[np.ndarray] = []
        cats: list[np.ndarray] = []
        parts = split_codes(codes)
        for cid in only if only is not None else self.categories:
            hit = np.flatnonzero(self.categories[cid].amap_mask(codes, names, types, parts))
            rows.append(hit)
            cats.append(np.full(len(hit), cid, dtype=object))
        return _pairs(rows, cats)

    def table(self) -> pd.DataFrame:
        """One row per category: names, radius and verification labels (for docs)."""
        return pd.DataFrame(
            [
                {
                    "id": c.id,
                    "name_zh": c.name_zh,
                    "name_en": c.name_en,
                    "radius_m": c.radius_m,
                    "radius_label": c.radius_label,
                    "osm_label": c.osm_label,
                    "amap_label": c.amap_label,
                }
                for c in self.categories.values()
            ]
        ).set_index("id")


def _pairs(rows: list[np.ndarray], cats: list[np.ndarray]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({"row": np.zeros(0, np.int64), "category": np.zeros(0, object)})
    out = pd.DataFrame({"row": np.concatenate(rows), "category": np.concatenate(cats)})
    return out.sort_values(["row"], kind="stable").reset_index(drop=True)


def _read_toml(source: str | Path) -> tuple[dict[str, Any], str]:
    path = Path(source)
    if not path.exists():
        msg = f"preset file {str(source)!r} does not exist."
        raise InputError(msg)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh), str(path)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML: {exc}"
        raise InputError(msg) from None


def _packaged(name: str) -> dict[str, Any]:
    text = resources.files("planner.presets").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def categories(extra: str | Path | Mapping[str, Any] | None = None) -> CategoryTable:
    """The facility categories: the packaged preset, extended or overridden by ``extra``.

    Parameters
    ----------
    extra
        A TOML file (or an already parsed dict) with ``[[category]]`` and ``[[group]]``
        tables. A category whose id exists overrides the fields it gives; a new id adds
        a category (it then needs ``name_zh`` and ``name_en``).
    """
    base = _packaged("categories.toml")
    specs: dict[str, dict[str, Any]] = {c["id"]: dict(c) for c in base.get("category", [])}
    groups: dict[str, dict[str, Any]] = {g["id"]: dict(g) for g in base.get("group", [])}
    sources = ["planner/presets/categories.toml"]
    if extra is not None:
        if isinstance(extra, Mapping):
            data, where = dict(extra), "categories given as a dict"
        else:
            data, where = _read_toml(extra)
        _check_keys(data, {"meta", "category", "group"}, where)
        for spec in data.get("category", []):
            if "id" not in spec:
                msg = f"{where}: every [[category]] needs an id."
                raise InputError(msg)
            _check_keys(spec, _CATEGORY_KEYS, f"{where} category {spec['id']!r}")
            specs[spec["id"]] = {**specs.get(spec["id"], {}), **spec}
        for spec in data.get("group", []):
            if "id" not in spec:
                msg = f"{where}: every [[group]] needs an id."
                raise InputError(msg)
            groups[spec["id"]] = {**groups.get(spec["id"], {}), **spec}
        sources.append(where)
    cats = {cid: Category.parse(spec, "categories") for cid, spec in specs.items()}
    grps: dict[str, Group] = {}
    for gid, spec in groups.items():
        _check_keys(spec, _GROUP_KEYS, f"categories group {gid!r}")
        members = tuple(str(m) for m in spec.get("members", []))
        for m in members:
            if m not in cats:
                msg = f"categories group {gid!r}: unknown member {m!r}.{closest(m, cats)}"
                raise InputError(msg)
        if gid in cats:
            msg = f"categories: {gid!r} is both a category and a group; rename one."
            raise InputError(msg)
        grps[gid] = Group(
            id=gid,
            name_zh=str(spec.get("name_zh", gid)),
            name_en=str(spec.get("name_en", gid)),
            members=members,
            label=_check_label(spec.get("label", "I"), f"categories group {gid!r}"),
        )
    return CategoryTable(cats, grps, sources)


# --- circles, targets and presets -----------------------------------------------------------

PRESETS = ("guangdong_2016", "gb50180_2018", "tdt1062_2021")
SETTINGS = ("urban", "rural", "both")

_CIRCLE_KEYS = {
    "id",
    "name_zh",
    "name_en",
    "setting",
    "mode",
    "speed_kph",
    "minutes",
    "distance_m",
    "radius_m",
    "radius_label",
    "categories",
    "min_kinds",
    "source",
    "label",
    "mode_label",
}
_TARGET_KEYS = {
    "id",
    "name_zh",
    "name_en",
    "kind",
    "unit",
    "categories",
    "thresholds",
    "threshold",
    "units_label",
    "column",
    "numerator",
    "denominator",
    "scale",
    "comparison",
    "aggregate",
    "flag",
    "bands",
    "source",
    "label",
}
_TARGET_KINDS = {
    "presence",
    "per_capita_area",
    "floor_area_per_households",
    "new_housing_floor_area",
    "community_table",
    "opening_hours",
}
#: Comparisons of community_table targets ("within_years": a year column no older than
#: the threshold's number of years before the reference year).
COMPARISONS = (">=", ">", "<=", "<", "==", "within_years")
#: How a class of communities passes: "each" (every community), "mean" (the class mean
#: of the values), "ratio" (sum of numerators / sum of denominators over the class).
AGGREGATES = ("each", "mean", "ratio")
_PRESET_KEYS = {"meta", "circle", "target"}
_META_KEYS = {"id", "name_zh", "name_en", "source", "radius_circles"}


@dataclass(frozen=True)
class Circle:
    """A service circle: which categories a block must reach, how, within what."""

    id: str
    name_zh: str
    name_en: str
    setting: str
    mode: str
    categories: tuple[str, ...]
    min_kinds: int
    minutes: float | None = None
    distance_m: float | None = None
    speed_kph: float | None = None
    radius_m: float | None = None
    radius_label: str | None = None
    source: str = ""
    label: str = "I"
    mode_label: str = "I"

    @property
    def is_distance(self) -> bool:
        """True for a distance rule (ten-li: 5 km), False for a travel-time rule."""
        return self.distance_m is not None

    @property
    def threshold(self) -> float:
        """Seconds for time rules, metres for distance rules."""
        return float(self.distance_m if self.distance_m is not None else (self.minutes or 0) * 60)

    def describe(self, lang: str = "en") -> str:
        """E.g. ``"walk 4 km/h, 15 min"`` or ``"walk network distance 5000 m"``."""
        from . import settings

        if self.is_distance:
            return f"{self.mode} network distance {self.distance_m:g} m"
        speed = self.speed_kph or settings.speeds_kph.get(self.mode)
        sp = f" {speed:g} km/h" if speed else " (maxspeed/highway speeds)"
        return (
            f"{self.mode}{sp}, {self.minutes:g} min"
            if lang == "en"
            else (f"{self.mode}{sp}, {self.minutes:g} 分钟")
        )


@dataclass(frozen=True)
class Target:
    """One of the plan's targets as a computable check."""

    id: str
    name_zh: str
    name_en: str
    kind: str
    unit: str
    categories: tuple[str, ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    threshold: float | None = None
    units_label: str = ""
    column: str | None = None
    flag: str | None = None
    bands: tuple[tuple[float, float, float, float], ...] = ()
    source: str = ""
    label: str = "I"
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    comparison: str = ">="
    aggregate: str = "each"


@dataclass
class Preset:
    """A named set of circles and targets."""

    id: str
    name_zh: str
    name_en: str
    source: str
    circles: dict[str, Circle]
    targets: dict[str, Target]
    table: CategoryTable
    files: list[str] = field(default_factory=list)


def _circle(spec: Mapping[str, Any], table: CategoryTable, where: str) -> Circle:
    from .modes import resolve_mode

    _check_keys(spec, _CIRCLE_KEYS, where)
    cid = str(spec.get("id", ""))
    if not cid:
        msg = f"{where}: every circle needs an id."
        raise InputError(msg)
    here = f"{where} circle {cid!r}"
    setting = str(spec.get("setting", "both"))
    if setting not in SETTINGS:
        msg = f"{here}: setting must be one of {', '.join(SETTINGS)}; got {setting!r}."
        raise InputError(msg)
    mode = str(spec.get("mode", "walk"))
    resolve_mode(mode, spec.get("speed_kph"))
    minutes, distance = spec.get("minutes"), spec.get("distance_m")
    if (minutes is None) == (distance is None):
        msg = f"{here}: give exactly one of minutes (a time rule) or distance_m (a distance rule)."
        raise InputError(msg)
    for key in ("minutes", "distance_m", "radius_m"):
        _positive(spec.get(key), key, here)
    raw = spec.get("categories", [])
    cats = (raw,) if isinstance(raw, str) else tuple(str(c) for c in raw)
    if not cats:
        msg = f"{here}: list the categories the circle requires."
        raise InputError(msg)
    for c in cats:
        table.members(c)  # raises with a close match for unknown ids
    min_kinds = int(spec.get("min_kinds", len(cats)))
    if not 1 <= min_kinds <= len(cats):
        msg = f"{here}: min_kinds must be between 1 and {len(cats)}; got {min_kinds}."
        raise InputError(msg)
    radius = spec.get("radius_m")
    return Circle(
        id=cid,
        name_zh=str(spec.get("name_zh", cid)),
        name_en=str(spec.get("name_en", cid)),
        setting=setting,
        mode=mode,
        categories=cats,
        min_kinds=min_kinds,
        minutes=float(minutes) if minutes is not None else None,
        distance_m=float(distance) if distance is not None else None,
        speed_kph=float(spec["speed_kph"]) if spec.get("speed_kph") is not None else None,
        radius_m=float(radius) if radius is not None else None,
        radius_label=(
            _check_label(spec["radius_label"], here) if spec.get("radius_label") else None
        ),
        source=str(spec.get("source", "")),
        label=_check_label(spec.get("label", "I"), here),
        mode_label=_check_label(spec.get("mode_label", "I"), here),
    )


def _positive(value: Any, key: str, here: str) -> None:
    """Reject a rule number that is not a positive, finite number (None passes)."""
    if value is None:
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        msg = f"{here}: {key} must be a positive number; got {value!r}."
        raise InputError(msg)


def _target(spec: Mapping[str, Any], table: CategoryTable, where: str) -> Target:
    _check_keys(spec, _TARGET_KEYS, where)
    tid = str(spec.get("id", ""))
    here = f"{where} target {tid!r}"
    kind = str(spec.get("kind", ""))
    if kind not in _TARGET_KINDS:
        msg = f"{here}: kind must be one of {sorted(_TARGET_KINDS)}.{closest(kind, _TARGET_KINDS)}"
        raise InputError(msg)
    cats = tuple(str(c) for c in spec.get("categories", []))
    for c in cats:
        table.members(c)
    comparison = str(spec.get("comparison", ">="))
    aggregate = str(spec.get("aggregate", "ratio" if spec.get("numerator") else "each"))
    if comparison not in COMPARISONS:
        msg = f"{here}: comparison must be one of {', '.join(COMPARISONS)}; got {comparison!r}."
        raise InputError(msg)
    if aggregate not in AGGREGATES:
        msg = (
            f"{here}: aggregate must be one of {', '.join(AGGREGATES)}; got {aggregate!r}."
            f"{closest(aggregate, AGGREGATES)}"
        )
        raise InputError(msg)
    if kind == "community_table":
        ratio = spec.get("numerator") is not None or spec.get("denominator") is not None
        if ratio == (spec.get("column") is not None) or (
            ratio and not (spec.get("numerator") and spec.get("denominator"))
        ):
            msg = (
                f"{here}: a community_table target names either column = '<column>' or both "
                "numerator and denominator (a ratio such as volunteers / population)."
            )
            raise InputError(msg)
        if not spec.get("thresholds") and spec.get("threshold") is None:
            msg = f"{here}: give threshold = <number> or thresholds = {{ urban = .., rural = .. }}."
            raise InputError(msg)
        if aggregate == "ratio" and not ratio:
            msg = f"{here}: aggregate = 'ratio' needs numerator and denominator columns."
            raise InputError(msg)
        if comparison == "within_years" and (ratio or aggregate != "each"):
            msg = f"{here}: comparison = 'within_years' checks a year column of each community."
            raise InputError(msg)
    return Target(
        id=tid,
        name_zh=str(spec.get("name_zh", tid)),
        name_en=str(spec.get("name_en", tid)),
        kind=kind,
        unit=str(spec.get("unit", "community")),
        categories=cats,
        thresholds={str(k): float(v) for k, v in dict(spec.get("thresholds", {})).items()},
        threshold=float(spec["threshold"]) if spec.get("threshold") is not None else None,
        units_label=str(spec.get("units_label", "")),
        column=spec.get("column"),
        flag=spec.get("flag"),
        bands=tuple(tuple(float(x) for x in b) for b in spec.get("bands", [])),  # type: ignore[misc]
        source=str(spec.get("source", "")),
        label=_check_label(spec.get("label", "I"), here),
        numerator=spec.get("numerator"),
        denominator=spec.get("denominator"),
        scale=float(spec.get("scale", 1.0)),
        comparison=comparison,
        aggregate=aggregate,
    )


def presets() -> pd.DataFrame:
    """The packaged presets: id, names, number of circles and targets, source."""
    rows = []
    for pid in PRESETS:
        p = load_preset(pid)
        rows.append(
            {
                "id": pid,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "circles": len(p.circles),
                "targets": len(p.targets),
                "source": p.source,
            }
        )
    return pd.DataFrame(rows).set_index("id")


def load_preset(
    preset: str | Path | Preset = "guangdong_2016",
    *,
    extra: str | Path | Mapping[str, Any] | None = None,
    rules: str | Path | Mapping[str, Any] | CategoryTable | None = None,
) -> Preset:
    """A preset's circles and targets, optionally extended or overridden by a user TOML.

    Parameters
    ----------
    preset
        A packaged preset id ({"guangdong_2016", "gb50180_2018", "tdt1062_2021"}), a
        path to a preset TOML file, or a Preset (returned as is).
    extra
        A TOML file (or dict) whose ``[[circle]]``/``[[target]]`` tables override the
        fields of circles/targets with the same id, or add new ones.
    rules
        Category rules to use (a TOML adding categories, or a CategoryTable).
    """
    if isinstance(preset, Preset):
        return preset
    table = rules if isinstance(rules, CategoryTable) else categories(rules)
    files: list[str] = []
    if isinstance(preset, str) and preset in PRESETS:
        data = _packaged(f"{preset}.toml")
        files.append(f"planner/presets/{preset}.toml")
    elif isinstance(preset, str | Path) and Path(preset).suffix.lower() == ".toml":
        data, where = _read_toml(preset)
        files.append(where)
    else:
        msg = (
            f"preset={str(preset)!r} is neither a packaged preset ({', '.join(PRESETS)}) nor "
            f"a .toml file.{closest(str(preset), PRESETS)}"
        )
        raise InputError(msg)
    where = files[-1]
    _check_keys(data, _PRESET_KEYS, where)
    meta = dict(data.get("meta", {}))
    _check_keys(meta, _META_KEYS, f"{where} [meta]")
    circle_specs = {str(c.get("id")): dict(c) for c in data.get("circle", [])}
    target_specs = {str(t.get("id")): dict(t) for t in data.get("target", [])}
    if meta.get("radius_circles"):
        for cat in table.categories.values():
            if cat.radius_m is not None and f"radius_{cat.id}" not in circle_specs:
                circle_specs[f"radius_{cat.id}"] = {
                    "id": f"radius_{cat.id}",
                    "name_zh": f"{cat.name_zh}服务半径",
                    "name_en": f"{cat.name_en}: service radius",
                    "setting": "urban",
                    "mode": "walk",
                    "distance_m": cat.radius_m,
                    "radius_m": cat.radius_m,
                    "radius_label": cat.radius_label or "R",
                    "categories": [cat.id],
                    "source": cat.radius_source or "GB 50180-2018 Appendix C",
                    "label": cat.radius_label or "R",
                    "mode_label": "I",
                }
    if extra is not None:
        if isinstance(extra, Mapping):
            more, more_where = dict(extra), "preset overrides given as a dict"
        else:
            more, more_where = _read_toml(extra)
        _check_keys(more, _PRESET_KEYS, more_where)
        for spec in more.get("circle", []):
            _check_keys(spec, _CIRCLE_KEYS, f"{more_where} circle {spec.get('id')!r}")
            cid = str(spec.get("id"))
            base = circle_specs.get(cid, {})
            if ("minutes" in spec) and "distance_m" in base:
                base = {k: v for k, v in base.items() if k != "distance_m"}
            if ("distance_m" in spec) and "minutes" in base:
                base = {k: v for k, v in base.items() if k != "minutes"}
            circle_specs[cid] = {**base, **spec}
        for spec in more.get("target", []):
            _check_keys(spec, _TARGET_KEYS, f"{more_where} target {spec.get('id')!r}")
            tid = str(spec.get("id"))
            target_specs[tid] = {**target_specs.get(tid, {}), **spec}
        files.append(more_where)
    circles_ = {cid: _circle(spec, table, where) for cid, spec in circle_specs.items()}
    targets_ = {tid: _target(spec, table, where) for tid, spec in target_specs.items()}
    return Preset(
        id=str(meta.get("id", Path(str(preset)).stem)),
        name_zh=str(meta.get("name_zh", "")),
        name_en=str(meta.get("name_en", "")),
        source=str(meta.get("source", "")),
        circles=circles_,
        targets=targets_,
        table=table,
        files=files,
    )


def circle_from_spec(spec: str | Mapping[str, Any], preset: Preset) -> Circle:
    """A circle from an id of the preset, or a dict (a new circle, or overrides by id)."""
    if isinstance(spec, str):
        if spec not in preset.circles:
            msg = (
                f"circle {spec!r} is not in preset {preset.id!r}; its circles are "
                f"{', '.join(preset.circles)}.{closest(spec, preset.circles)}"
            )
            raise InputError(msg)
        return preset.circles[spec]
    if not isinstance(spec, Mapping) or "id" not in spec:
        msg = f"a circle must be a preset circle id or a dict with an 'id'; got {spec!r}."
        raise InputError(msg)
    base = preset.circles.get(str(spec["id"]))
    merged: dict[str, Any] = {}
    if base is not None:
        merged = {
            "id": base.id,
            "name_zh": base.name_zh,
            "name_en": base.name_en,
            "setting": base.setting,
            "mode": base.mode,
            "categories": list(base.categories),
            "min_kinds": base.min_kinds,
            "speed_kph": base.speed_kph,
            "radius_m": base.radius_m,
            "radius_label": base.radius_label,
            "source": base.source,
            "label": base.label,
            "mode_label": base.mode_label,
        }
        if "distance_m" not in spec and "minutes" not in spec:
            merged["minutes" if base.minutes is not None else "distance_m"] = (
                base.minutes if base.minutes is not None else base.distance_m
            )
        if "categories" in spec and "min_kinds" not in spec:
            merged.pop("min_kinds")
        merged = {k: v for k, v in merged.items() if v is not None}
    merged.update(dict(spec))
    if base is None:
        merged.setdefault("label", "I")
    return _circle(merged, preset.table, "circles")
