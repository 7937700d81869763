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

from ._tomlkeys import check_keys
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
    "amap_keywords_label",
    "notes",
}
_GROUP_KEYS = {"id", "name_zh", "name_en", "members", "label"}
_NAME_COLUMNS = ("name", "name:zh", "name:zh-Hans", "name:en")


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
    amap_keywords_label: str = "I"
    notes: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any], where: str) -> Category:
        """Build a category from its TOML table (validated)."""
        check_keys(spec, _CATEGORY_KEYS, where)
        for req in ("id", "name_zh", "name_en"):
            if req not in spec:
                msg = f"{where}: a category needs {req!r}."
                raise InputError(msg)
        cid = str(spec["id"])
        here = f"{where} category {cid!r}"
        keywords = [str(k) for k in spec.get("amap_keywords", [])]
        exclude = spec.get("amap_exclude")
        radius = spec.get("radius_m")
        amap_label = _check_label(spec.get("amap_label", "I"), here)
        # keywords share the codes' label only where there are no codes
        keyword_default = "I" if spec.get("amap_codes") else amap_label
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
            amap_label=amap_label,
            amap_keywords_label=_check_label(
                spec.get("amap_keywords_label", keyword_default), here
            ),
            notes=str(spec.get("notes", "")),
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
                    "amap_keywords_label": c.amap_keywords_label,
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


def _read_extra(
    extra: str | Path | Mapping[str, Any], what: str, keys: Iterable[str]
) -> tuple[dict[str, Any], str]:
    """A user's TOML file or dict of ``what``, its top-level keys checked; and its name."""
    if isinstance(extra, Mapping):
        data, where = dict(extra), f"{what} given as a dict"
    else:
        data, where = _read_toml(extra)
    check_keys(data, keys, where)
    return data, where


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
        sources.append(_merge_category_file(extra, specs, groups))
    cats = {cid: Category.parse(spec, "categories") for cid, spec in specs.items()}
    grps = {gid: _group(gid, spec, cats) for gid, spec in groups.items()}
    return CategoryTable(cats, grps, sources)


def _merge_category_file(
    extra: str | Path | Mapping[str, Any],
    specs: dict[str, dict[str, Any]],
    groups: dict[str, dict[str, Any]],
) -> str:
    """Merge a user's categories and groups into ``specs``/``groups``; returns its name."""
    data, where = _read_extra(extra, "categories", {"meta", "category", "group"})
    for kind, into in (("category", specs), ("group", groups)):
        for spec in data.get(kind, []):
            if "id" not in spec:
                msg = f"{where}: every [[{kind}]] needs an id."
                raise InputError(msg)
            if kind == "category":
                check_keys(spec, _CATEGORY_KEYS, f"{where} category {spec['id']!r}")
            into[spec["id"]] = {**into.get(spec["id"], {}), **spec}
    return where


def _group(gid: str, spec: Mapping[str, Any], cats: Mapping[str, Category]) -> Group:
    """A validated group: its members are known categories, its id is not one."""
    where = f"categories group {gid!r}"
    check_keys(spec, _GROUP_KEYS, where)
    members = tuple(str(m) for m in spec.get("members", []))
    for m in members:
        if m not in cats:
            msg = f"{where}: unknown member {m!r}.{closest(m, cats)}"
            raise InputError(msg)
    if gid in cats:
        msg = f"categories: {gid!r} is both a category and a group; rename one."
        raise InputError(msg)
    return Group(
        id=gid,
        name_zh=str(spec.get("name_zh", gid)),
        name_en=str(spec.get("name_en", gid)),
        members=members,
        label=_check_label(spec.get("label", "I"), where),
    )


# --- circles, targets and presets -----------------------------------------------------------

PRESETS = ("guangdong_2016", "gb50180_2018", "tdt1062_2021")
SETTINGS = ("urban", "rural", "both")
#: What a target is counted on.
UNITS = ("community", "street", "block", "facility")
#: How "open at least N hours a day" is read: "median_day" (on a typical opening day,
#: the median of the days it opens; the default) or "every_day" (on every day it opens).
HOURS_READINGS = ("median_day", "every_day")

#: Provenance of a circle or target: the plan's clause (its own numbering, e.g. 二(三),
#: 三(五)1, 专栏3 1), the plan's words (``quote``: a string or a list of strings, each
#: verbatim in the plan's text), a free note (``source``: readings, other documents) and
#: the verification label.
_PROVENANCE_KEYS = {"source", "label", "clause", "quote"}
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
    "radius_source",
    "categories",
    "min_kinds",
    "mode_label",
} | _PROVENANCE_KEYS
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
    "due_year",
    "hours_reading",
    "gap_unit",
    "gap_unit_zh",
} | _PROVENANCE_KEYS
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
_META_KEYS = {"id", "name_zh", "name_en", "source", "radius_circles", "start_year", "end_year"}


@dataclass(frozen=True)
class Circle:
    """A service circle: which categories a block must reach, how, within what.

    ``clause`` and ``quote`` say where the plan states the circle (its numbering, its
    words verbatim); ``source`` notes readings and other documents; ``radius_source``
    names the document the straight-line radius comes from (e.g. GB 50180-2018).
    """

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
    clause: str = ""
    quote: tuple[str, ...] = ()
    radius_source: str = ""

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
    """One of the plan's targets as a computable check.

    ``due_year`` is the year the plan sets for it (the preset's end year when the
    sentence names none); ``clause``/``quote`` are its provenance as for
    :class:`Circle`; ``hours_reading`` ({"median_day", "every_day"}) is how an
    opening_hours target reads "N hours a day"; ``gap_unit``/``gap_unit_zh`` name what a
    community_table target's gap counts (e.g. "social workers", "名社会工作人才").
    """

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
    clause: str = ""
    quote: tuple[str, ...] = ()
    due_year: int | None = None
    hours_reading: str = "median_day"
    gap_unit: str = ""
    gap_unit_zh: str = ""


@dataclass
class Preset:
    """A named set of circles and targets.

    ``start_year``/``end_year`` are the plan's period (guangdong_2016: 2016-2020); the end
    year is the default reference year of :func:`planner.assess` and the due year of
    targets that name none.
    """

    id: str
    name_zh: str
    name_en: str
    source: str
    circles: dict[str, Circle]
    targets: dict[str, Target]
    table: CategoryTable
    files: list[str] = field(default_factory=list)
    start_year: int | None = None
    end_year: int | None = None


def _quote(value: Any, here: str) -> tuple[str, ...]:
    """A quote: one string or a list of strings (each the plan's words)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    msg = f"{here}: quote must be a string or a list of strings; got {value!r}."
    raise InputError(msg)


def _year(value: Any, key: str, here: str) -> int | None:
    """A year (an integer from 1949 to 2100), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1949 <= value <= 2100:
        msg = f"{here}: {key} must be a year such as 2020; got {value!r}."
        raise InputError(msg)
    return int(value)


def _choice(value: str, choices: Iterable[str], key: str, here: str) -> str:
    """``value`` if it is one of ``choices``; else an error with the closest one."""
    valid = list(choices)
    if value not in valid:
        hint = closest(value, valid)
        msg = f"{here}: {key} must be one of {', '.join(valid)}; got {value!r}.{hint}"
        raise InputError(msg)
    return value


def _time_rule(spec: Mapping[str, Any], here: str) -> tuple[float | None, float | None]:
    """(minutes, distance_m) of a circle: exactly one, positive."""
    minutes, distance = spec.get("minutes"), spec.get("distance_m")
    if (minutes is None) == (distance is None):
        msg = f"{here}: give exactly one of minutes (a time rule) or distance_m (a distance rule)."
        raise InputError(msg)
    for key in ("minutes", "distance_m", "radius_m"):
        _positive(spec.get(key), key, here)
    return (
        float(minutes) if minutes is not None else None,
        float(distance) if distance is not None else None,
    )


def _circle_categories(spec: Mapping[str, Any], table: CategoryTable, here: str) -> tuple[str, ...]:
    raw = spec.get("categories", [])
    cats = (raw,) if isinstance(raw, str) else tuple(str(c) for c in raw)
    if not cats:
        msg = f"{here}: list the categories the circle requires."
        raise InputError(msg)
    for c in cats:
        table.members(c)  # raises with a close match for unknown ids
    return cats


def _circle(spec: Mapping[str, Any], table: CategoryTable, where: str) -> Circle:
    from .modes import resolve_mode

    check_keys(spec, _CIRCLE_KEYS, where)
    cid = str(spec.get("id", ""))
    if not cid:
        msg = f"{where}: every circle needs an id."
        raise InputError(msg)
    here = f"{where} circle {cid!r}"
    setting = _choice(str(spec.get("setting", "both")), SETTINGS, "setting", here)
    mode = str(spec.get("mode", "walk"))
    resolve_mode(mode, spec.get("speed_kph"))
    minutes, distance = _time_rule(spec, here)
    cats = _circle_categories(spec, table, here)
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
        minutes=minutes,
        distance_m=distance,
        speed_kph=float(spec["speed_kph"]) if spec.get("speed_kph") is not None else None,
        radius_m=float(radius) if radius is not None else None,
        radius_label=(
            _check_label(spec["radius_label"], here) if spec.get("radius_label") else None
        ),
        source=str(spec.get("source", "")),
        label=_check_label(spec.get("label", "I"), here),
        mode_label=_check_label(spec.get("mode_label", "I"), here),
        clause=str(spec.get("clause", "")),
        quote=_quote(spec.get("quote"), here),
        radius_source=str(spec.get("radius_source", "")),
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


def _check_table_target(
    spec: Mapping[str, Any], aggregate: str, comparison: str, here: str
) -> None:
    """A community_table target names a column or a ratio, and a threshold."""
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


def _target(
    spec: Mapping[str, Any], table: CategoryTable, where: str, end_year: int | None = None
) -> Target:
    check_keys(spec, _TARGET_KEYS, where)
    tid = str(spec.get("id", ""))
    here = f"{where} target {tid!r}"
    kind = _choice(str(spec.get("kind", "")), sorted(_TARGET_KINDS), "kind", here)
    unit = _choice(str(spec.get("unit", "community")), UNITS, "unit", here)
    cats = tuple(str(c) for c in spec.get("categories", []))
    for c in cats:
        table.members(c)
    comparison = _choice(str(spec.get("comparison", ">=")), COMPARISONS, "comparison", here)
    default_aggregate = "ratio" if spec.get("numerator") else "each"
    aggregate = _choice(
        str(spec.get("aggregate", default_aggregate)), AGGREGATES, "aggregate", here
    )
    reading = _choice(
        str(spec.get("hours_reading", "median_day")), HOURS_READINGS, "hours_reading", here
    )
    if kind == "community_table":
        _check_table_target(spec, aggregate, comparison, here)
    due = _year(spec.get("due_year"), "due_year", here)
    return Target(
        id=tid,
        name_zh=str(spec.get("name_zh", tid)),
        name_en=str(spec.get("name_en", tid)),
        kind=kind,
        unit=unit,
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
        clause=str(spec.get("clause", "")),
        quote=_quote(spec.get("quote"), here),
        due_year=due if due is not None else end_year,
        hours_reading=reading,
        gap_unit=str(spec.get("gap_unit", "")),
        gap_unit_zh=str(spec.get("gap_unit_zh", "")),
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
        fields of circles/targets with the same id, or add new ones (e.g. ``{"target":
        [{"id": "service_facility_opening_hours", "hours_reading": "every_day"}]}``).
    rules
        Category rules to use (a TOML adding categories, or a CategoryTable).
    """
    if isinstance(preset, Preset):
        return preset
    table = rules if isinstance(rules, CategoryTable) else categories(rules)
    data, where = _preset_source(preset)
    files = [where]
    check_keys(data, _PRESET_KEYS, where)
    meta = dict(data.get("meta", {}))
    check_keys(meta, _META_KEYS, f"{where} [meta]")
    circle_specs = {str(c.get("id")): dict(c) for c in data.get("circle", [])}
    target_specs = {str(t.get("id")): dict(t) for t in data.get("target", [])}
    if meta.get("radius_circles"):
        circle_specs = {**circle_specs, **_radius_circle_specs(table, circle_specs)}
    if extra is not None:
        files.append(_merge_preset_extra(extra, circle_specs, target_specs))
    end_year = _year(meta.get("end_year"), "end_year", f"{where} [meta]")
    return Preset(
        id=str(meta.get("id", Path(str(preset)).stem)),
        name_zh=str(meta.get("name_zh", "")),
        name_en=str(meta.get("name_en", "")),
        source=str(meta.get("source", "")),
        circles={cid: _circle(spec, table, where) for cid, spec in circle_specs.items()},
        targets={tid: _target(spec, table, where, end_year) for tid, spec in target_specs.items()},
        table=table,
        files=files,
        start_year=_year(meta.get("start_year"), "start_year", f"{where} [meta]"),
        end_year=end_year,
    )


def _preset_source(preset: str | Path) -> tuple[dict[str, Any], str]:
    """The parsed TOML of a packaged preset id or a preset file, and its name."""
    if isinstance(preset, str) and preset in PRESETS:
        return _packaged(f"{preset}.toml"), f"planner/presets/{preset}.toml"
    if isinstance(preset, str | Path) and Path(preset).suffix.lower() == ".toml":
        return _read_toml(preset)
    msg = (
        f"preset={str(preset)!r} is neither a packaged preset ({', '.join(PRESETS)}) nor "
        f"a .toml file.{closest(str(preset), PRESETS)}"
    )
    raise InputError(msg)


def _radius_circle_specs(
    table: CategoryTable, circle_specs: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """One distance circle per category with a service radius (GB 50180 Appendix C)."""
    out = {}
    for cat in table.categories.values():
        if cat.radius_m is None or f"radius_{cat.id}" in circle_specs:
            continue
        out[f"radius_{cat.id}"] = {
            "id": f"radius_{cat.id}",
            "name_zh": f"{cat.name_zh}服务半径",
            "name_en": f"{cat.name_en}: service radius",
            "setting": "urban",
            "mode": "walk",
            "distance_m": cat.radius_m,
            "radius_m": cat.radius_m,
            "radius_label": cat.radius_label or "R",
            "radius_source": cat.radius_source or "GB 50180-2018 Appendix C",
            "categories": [cat.id],
            "source": cat.radius_source or "GB 50180-2018 Appendix C",
            "label": cat.radius_label or "R",
            "mode_label": "I",
        }
    return out


def _merge_preset_extra(
    extra: str | Path | Mapping[str, Any],
    circle_specs: dict[str, dict[str, Any]],
    target_specs: dict[str, dict[str, Any]],
) -> str:
    """Merge a user's circle and target overrides into the specs; returns its name."""
    more, where = _read_extra(extra, "preset overrides", _PRESET_KEYS)
    for spec in more.get("circle", []):
        check_keys(spec, _CIRCLE_KEYS, f"{where} circle {spec.get('id')!r}")
        cid = str(spec.get("id"))
        base = circle_specs.get(cid, {})
        # a time rule replaces a distance rule and the other way round
        for given, dropped in (("minutes", "distance_m"), ("distance_m", "minutes")):
            if given in spec and dropped in base:
                base = {k: v for k, v in base.items() if k != dropped}
        circle_specs[cid] = {**base, **spec}
    for spec in more.get("target", []):
        check_keys(spec, _TARGET_KEYS, f"{where} target {spec.get('id')!r}")
        tid = str(spec.get("id"))
        target_specs[tid] = {**target_specs.get(tid, {}), **spec}
    return where


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
    merged: dict[str, Any] = {} if base is None else _circle_spec(base, spec)
    merged.update(dict(spec))
    if base is None:
        merged.setdefault("label", "I")
    return _circle(merged, preset.table, "circles")


def _circle_spec(base: Circle, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a preset circle as a spec that ``spec`` overrides."""
    merged: dict[str, Any] = {
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
        "radius_source": base.radius_source,
        "source": base.source,
        "label": base.label,
        "mode_label": base.mode_label,
        "clause": base.clause,
        "quote": list(base.quote),
    }
    if "distance_m" not in spec and "minutes" not in spec:
        merged["minutes" if base.minutes is not None else "distance_m"] = (
            base.minutes if base.minutes is not None else base.distance_m
        )
    if "categories" in spec and "min_kinds" not in spec:
        merged.pop("min_kinds")
    return {k: v for k, v in merged.items() if v is not None}
