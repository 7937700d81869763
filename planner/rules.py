"""Presets as data: facility categories (and, later, circles and targets) from TOML.

The packaged presets live in ``planner/presets/``. A user TOML file adds categories or
overrides fields of packaged ones; unknown keys are errors that name the closest valid
key, so a typo never silently does nothing.
"""

from __future__ import annotations

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

    def amap_mask(self, codes: pd.Series, names: pd.Series, types: pd.Series) -> np.ndarray:
        """Rows of an Amap-style table (typecode, name, type string) of this category."""
        n = len(codes)
        code_text = codes.astype("string").fillna("")
        name_text = names.astype("string").fillna("")
        type_text = types.astype("string").fillna("")

        def code_hit(prefixes: tuple[str, ...]) -> np.ndarray:
            if not prefixes:
                return np.zeros(n, dtype=bool)
            parts = code_text.str.split("|").explode().str.strip()
            hit = parts.str.startswith(prefixes).fillna(False).astype(bool)
            grouped = hit.groupby(level=0).any().reindex(code_text.index, fill_value=False)
            return np.array(grouped.to_numpy(dtype=bool), dtype=bool)

        hit = code_hit(self.amap_codes)
        if self.amap_keywords is not None:
            # keywords search the name and the most specific level of the type string
            # ("科教文化服务;学校;幼儿园" -> "幼儿园"), not its broad parent levels
            text = name_text + " " + type_text.str.split(";").str[-1].fillna("")
            kw = text.str.contains(self.amap_keywords, regex=True).fillna(False).to_numpy(bool)
            if self.amap_keyword_codes:
                kw &= code_hit(self.amap_keyword_codes) | (code_text == "").to_numpy(bool)
            hit |= kw
        if self.amap_exclude is not None:
            hit &= ~name_text.str.contains(self.amap_exclude, regex=True).fillna(False).to_numpy(
                bool
            )
        return hit


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
        for cid in only if only is not None else self.categories:
            hit = np.flatnonzero(self.categories[cid].amap_mask(codes, names, types))
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
