"""The 一社区一规划 draft of one community, as a document model both writers render.

:func:`build_draft` turns an assessment into a :class:`Draft`: a title, five numbered
sections in the structure community plans use and a closing note, each a list of parts
(headings, paragraphs, tables, the map picture). The HTML page
(:mod:`planner.outputs.report`) and the Word document (:mod:`planner.outputs.word`)
render the same model, so they carry the same numbers, formatted once here.

1. 一、基本情况: population, households, area, urban/rural, region, street; the
   facilities in the community by category and source.
2. 二、现状评估: each circle (coverage by population and households, network and
   straight-line readings, people and blocks outside, missing kinds, clause), the map,
   the missing categories, and each target (value, threshold, due year, status,
   clause).
3. 三、主要问题: the gaps ranked and quantified (people outside each circle, floor area
   short, social workers or organisations short, facilities open less than 8 hours,
   facilities missing) and the targets that lack data.
4. 四、规划项目: each proposed station near the community (location, area, services to
   bundle, floor area by the per-100-households standard and the new-housing bands,
   people newly covered), existing facilities to upgrade, facilities to add.
5. 五、实施安排: a phasing table with due years and blank fields for the responsible
   unit and funding.

The Chinese draft is Chinese throughout: circle, category and setting ids, modes and
the verification letters are written as words; what stays in Latin letters comes from
the data (facility and block names, file names) or is a unit or a standard's code.
Columns added by newer target evaluators (``clause``, ``due_year``, ``gap``,
``gap_unit_zh``, ``threshold`` per unit, ``reading``) are read when present; without
them the clause is read from the target's source text, the due year from the preset,
and the gaps are computed from value, threshold and households.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import settings
from .._version import __version__
from ..assessment import Assessment
from ..rules import Circle, Target
from ._common import (
    check_sites,
    fmt_num,
    fmt_pct,
    fmt_value,
    is_missing,
    members,
    metric_crs,
    missing_lists,
    missing_names,
    short_name,
)
from ._draft_words import (
    GAP_UNITS,
    LABELS,
    MODES,
    REGIONS,
    SETTINGS,
    STATUS,
    TEXT,
    UNITS,
)

__all__ = ["Draft", "Part", "Section", "Table", "build_draft"]

#: Standard floor area of community services per 100 households (plan 三(五)1), m².
FLOOR_PER_100_HOUSEHOLDS = 30.0
#: New housing: (households from, to, floor area from, to) (plan 三(五)1), m².
NEW_HOUSING_BANDS = ((0, 1000, 600, 600), (1000, 2000, 600, 800), (2000, 3000, 800, 1000),
                     (3000, math.inf, 1000, 1300))  # fmt: skip
#: Facility names listed per category in the facilities table.
NAMES_LISTED = 6

# --- the model ------------------------------------------------------------------------


@dataclass
class Table:
    """A table: header, rows of text; numeric columns right-aligned, blank ones to fill."""

    head: list[str]
    rows: list[list[str]]
    numeric: tuple[int, ...] = ()
    blank: tuple[int, ...] = ()
    caption: str = ""


@dataclass
class Part:
    """One piece of a section: ``kind`` is "h2", "p", "note", "table" or "figure"."""

    kind: str
    text: str = ""
    table: Table | None = None


@dataclass
class Section:
    """A numbered section (一、...) or the closing note."""

    title: str
    parts: list[Part] = field(default_factory=list)
    anchor: str = ""

    def h2(self, text: str) -> None:
        self.parts.append(Part("h2", text))

    def p(self, text: str) -> None:
        self.parts.append(Part("p", text))

    def note(self, text: str) -> None:
        self.parts.append(Part("note", text))

    def table(self, t: Table) -> None:
        self.parts.append(Part("table", table=t))

    def table_or_note(self, t: Table | None, note: str) -> None:
        """The table, or the note where there is none."""
        if t is None:
            self.note(note)
        else:
            self.table(t)


@dataclass
class Draft:
    """One community's draft plan, ready for the HTML and Word writers."""

    community: str
    lang: str
    title: str
    subtitle: str
    sections: list[Section]
    picture: bytes
    figure: str
    legend: str
    circle: str
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def numbered(self) -> list[Section]:
        """The five numbered sections (without the closing note)."""
        return self.sections[:5]


# --- formatting -----------------------------------------------------------------------


def _w(key: str, lang: str, **kw: Any) -> str:
    zh, en = TEXT[key]
    return (zh if lang == "zh" else en).format(**kw)


def _pick(table: dict[str, tuple[str, str]], key: object, lang: str) -> str:
    text = "" if is_missing(key) else str(key)
    pair = table.get(text)
    return text if pair is None else pair[0 if lang == "zh" else 1]


def _list(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def circle_name(c: Circle, lang: str) -> str:
    return c.name_zh if lang == "zh" else c.name_en


def describe(c: Circle, lang: str) -> str:
    """How a circle is travelled, in words (``步行，4公里/小时，15分钟``)."""
    mode = _pick(MODES, c.mode, lang)
    if c.is_distance:
        d = fmt_num(c.distance_m)
        return f"{mode}路网距离{d}米" if lang == "zh" else f"{mode} network distance {d} m"
    speed = c.speed_kph or settings.speeds_kph.get(c.mode)
    if lang == "zh":
        sp = f"{speed:g}公里/小时，" if speed else "按道路限速，"
        return f"{mode}，{sp}{c.minutes:g}分钟"
    sp = f" {speed:g} km/h," if speed else " road speeds,"
    return f"{mode}{sp} {c.minutes:g} min"


_CLAUSE = re.compile(r"规划\s*([一二三四五六七八九十]+(?:[(（][一二三四五六七八九十]+[)）])?\d*)")


def clause_of(item: object) -> str:
    """The plan's clause of a circle or target: its ``clause``, else read from its source."""
    given = getattr(item, "clause", None)
    if isinstance(item, dict):
        given = item.get("clause")
    if isinstance(given, str) and given.strip():
        return given.strip()
    source = item.get("source") if isinstance(item, dict) else getattr(item, "source", "")
    found = _CLAUSE.search(str(source or ""))
    return found.group(1) if found else "—"


def end_year(a: Assessment) -> int | None:
    """The plan's end year: the preset's, else the last year in its name."""
    year = getattr(a.preset, "end_year", None)
    if year:
        return int(year)
    years = [int(y) for y in re.findall(r"(20\d\d)", a.preset.name_zh)]
    return max(years) if years else None


# --- the context of one community -------------------------------------------------------


@dataclass
class _Ctx:
    a: Assessment
    name: str
    lang: str
    blocks: gpd.GeoDataFrame
    attrs: dict[str, Any]
    shape: Any  # the community's area (metric)
    metric: Any
    sites: Any
    category: str
    circle: Circle

    def w(self, key: str, **kw: Any) -> str:
        return _w(key, self.lang, **kw)

    def cat(self, cat: str) -> str:
        return short_name(self.a.preset.table.name(cat, self.lang), self.lang)

    def cats(self, ids: list[str]) -> str:
        return missing_names(ids, self.a.preset.table, self.lang) or "—"


def _community_row(a: Assessment, name: str) -> pd.Series | None:
    if a.communities is None or "community" not in a.communities.columns:
        return None
    own = a.communities[a.communities["community"].astype(object) == name]
    return own.iloc[0] if len(own) else None


def _attrs(a: Assessment, name: str, blocks: pd.DataFrame, area_km2: float) -> dict[str, Any]:
    row = _community_row(a, name)
    attrs: dict[str, Any] = {}
    for col in ("setting", "region", "street"):
        value = None
        if row is not None and col in row.index and not is_missing(row[col]):
            value = row[col]
        elif col in blocks.columns and blocks[col].notna().any():
            value = blocks[col].dropna().mode().iloc[0]
        attrs[col] = "" if value is None else str(value)
    hh = None
    if "households" in blocks.columns and blocks["households"].notna().any():
        hh = float(blocks["households"].sum())
    elif row is not None and "households" in row.index and not is_missing(row["households"]):
        hh = float(row["households"])
    attrs.update(
        households=hh,
        population=float(blocks["population"].sum()),
        blocks=len(blocks),
        area_km2=area_km2,
    )
    return attrs


def _context(a: Assessment, name: str, c: Circle, *, lang: str, sites: Any, category: str) -> _Ctx:
    blocks = a.blocks[a.blocks["community"].astype(object) == name]
    metric = metric_crs(blocks)
    row = _community_row(a, name)
    if row is not None:
        shape = gpd.GeoSeries([row.geometry], crs=a.communities.crs).to_crs(metric).iloc[0]  # type: ignore[union-attr]
        area = float(shape.area) / 1e6
    else:
        shape = shapely.envelope(shapely.union_all(blocks.geometry.to_crs(metric).to_numpy()))
        area = float(blocks.to_crs(metric).area.sum()) / 1e6
    attrs = _attrs(a, name, blocks, area)
    return _Ctx(a, name, lang, blocks, attrs, shape, metric, sites, category, c)


# --- 一、基本情况 ----------------------------------------------------------------------


def _facts(ctx: _Ctx) -> dict[str, str]:
    at, lang = ctx.attrs, ctx.lang
    return {
        "name": ctx.name,
        "street": at["street"] or "—",
        "setting": _pick(SETTINGS, at["setting"], lang) or "—",
        "region": _pick(REGIONS, at["region"], lang) or "—",
        "population": fmt_num(at["population"]),
        "households": fmt_num(at["households"]),
        "area": fmt_num(at["area_km2"], 2),
        "blocks": fmt_num(at["blocks"]),
    }


def _inside(gdf: gpd.GeoDataFrame, area: Any, metric: Any) -> np.ndarray:
    if not len(gdf) or gdf.crs is None:
        return np.zeros(len(gdf), dtype=bool)
    return np.asarray(shapely.intersects(gdf.geometry.to_crs(metric).to_numpy(), area))


def _source_of(fac: pd.DataFrame, lang: str) -> str:
    """Where facilities come from: OpenStreetMap and/or the files they were read from."""
    found = []
    if "osm_id" in fac.columns and fac["osm_id"].notna().any():
        found.append("开放街道地图" if lang == "zh" else "OpenStreetMap")
    if "source_file" in fac.columns:
        files = fac.loc[fac.get("osm_id", pd.Series(index=fac.index)).isna(), "source_file"]
        found += sorted({Path(str(f)).name for f in files.dropna()})
    return _list(found, lang) or "—"


def _facility_table(ctx: _Ctx) -> Table | None:
    fac = ctx.a.facilities
    if ctx.category not in fac.columns or not len(fac):
        return None
    fac = fac[_inside(fac, ctx.shape, ctx.metric)]
    codes = fac[ctx.category].astype(object).to_numpy()
    rows = []
    for cat in dict.fromkeys(k for c in ctx.a.circles for k in c.categories):
        sub = fac[np.isin(codes, list(members(ctx.a.preset.table, cat)))]
        if not len(sub):
            continue
        names = [str(v) for v in sub["name"].dropna()] if "name" in sub.columns else []
        more = "等" if ctx.lang == "zh" else ", ..."
        shown = _list(names[:NAMES_LISTED], ctx.lang) + (more if len(names) > NAMES_LISTED else "")
        rows.append([ctx.cat(cat), fmt_num(len(sub)), _source_of(sub, ctx.lang), shown or "—"])
    if not rows:
        return None
    head = [ctx.w("category"), ctx.w("count"), ctx.w("source"), ctx.w("examples")]
    return Table(head, rows, numeric=(1,))


def _basic(ctx: _Ctx) -> Section:
    s = Section(ctx.w("s1"), anchor="basic")
    f = _facts(ctx)
    s.p(ctx.w("intro", name=ctx.name, street=f["street"], setting=f["setting"],
              region=f["region"], pop=f["population"], hh=f["households"], area=f["area"],
              blocks=f["blocks"]))  # fmt: skip
    keys = ("name", "street", "setting", "region", "population", "households", "area", "blocks")
    rows = [[ctx.w(k), f[k]] for k in keys]
    s.table(Table([ctx.w("item"), ctx.w("value")], rows, caption=ctx.w("facts")))
    table = _facility_table(ctx)
    if table is None:
        s.note(ctx.w("no_facilities"))
    else:
        s.h2(ctx.w("facilities_here"))
        s.table(table)
    return s


# --- 二、现状评估 ----------------------------------------------------------------------


def circle_rows(ctx: _Ctx) -> list[tuple[Circle, dict[str, Any]]]:
    """The circles that apply to the community, with their by_community row."""
    by = ctx.a.by_community
    if not len(by) or ctx.name not in set(by.index.get_level_values(0)):
        return []
    rows = by.xs(ctx.name, level=0)
    return [(c, dict(rows.loc[c.id])) for c in ctx.a.circles if c.id in rows.index]


def _circle_missing(ctx: _Ctx, c: Circle) -> list[tuple[str, int, float]]:
    """(category, blocks missing it, residents of those blocks), most residents first."""
    b = ctx.blocks
    applies = b[c.id].notna().to_numpy()
    lists = missing_lists(b[f"{c.id}__missing"])
    pop = b["population"].to_numpy(dtype=float)
    out = []
    for cat in c.categories:
        hit = applies & np.array([cat in ids for ids in lists], dtype=bool)
        if hit.any():
            out.append((cat, int(hit.sum()), float(pop[hit].sum())))
    return sorted(out, key=lambda t: (-t[2], -t[1]))


def _circle_table(ctx: _Ctx) -> Table:
    rows = []
    for c, r in circle_rows(ctx):
        missing = [cat for cat, _, _ in _circle_missing(ctx, c)]
        rows.append(
            [
                circle_name(c, ctx.lang),
                describe(c, ctx.lang),
                fmt_pct(r["population_share"]),
                fmt_pct(r.get("households_share")),
                fmt_pct(r.get("radius_population_share")),
                fmt_num(r["population"] - r["population_inside"]),
                fmt_num(r["blocks_outside"]),
                ctx.cats(missing),
                clause_of(c),
            ]
        )
    keys = ("circle", "how", "share", "hh_share", "radius_share", "pop_out", "blocks_out",
            "missing", "clause")  # fmt: skip
    return Table([ctx.w(k) for k in keys], rows, numeric=(2, 3, 4, 5, 6))


def _missing_table(ctx: _Ctx) -> Table | None:
    conf = ctx.a.confidence
    rows = []
    for c, _ in circle_rows(ctx):
        for cat, n, pop in _circle_missing(ctx, c):
            found = float(conf["facilities"].get(cat, np.nan)) if cat in conf.index else None
            rows.append([circle_name(c, ctx.lang), ctx.cat(cat), fmt_num(n), fmt_num(pop),
                         fmt_num(found)])  # fmt: skip
    if not rows:
        return None
    keys = ("circle", "category", "blocks_missing", "pop_missing", "found")
    return Table([ctx.w(k) for k in keys], rows, numeric=(2, 3, 4))


def target_meta(a: Assessment) -> dict[tuple[str, str], dict[str, Any]]:
    """The targets' rows by (target, class) and, under (target, ""), by target alone."""
    meta: dict[tuple[str, str], dict[str, Any]] = {}
    if not len(a.targets):
        return meta
    for _, series in a.targets.reset_index().iterrows():
        rec = {str(k): v for k, v in series.items()}
        meta[(str(rec["target"]), str(rec["class"]))] = rec
        meta.setdefault((str(rec["target"]), ""), rec)
    return meta


def unit_rows(ctx: _Ctx, *, facilities: bool = False) -> list[dict[str, Any]]:
    """The per-unit target results of the community: its own, its street's, its blocks'
    (and, with ``facilities``, its facilities')."""
    u = ctx.a.targets_by_unit
    if not len(u):
        return []
    names = u["name"].astype(str)
    labels = {str(i) for i in ctx.blocks.index}
    mine = ((u["unit"] == "community") & (names == ctx.name)) | (
        (u["unit"] == "block") & names.isin(labels)
    )
    if ctx.attrs["street"]:
        mine |= (u["unit"] == "street") & (names == ctx.attrs["street"])
    if facilities and "community" in u.columns:
        mine |= (u["unit"] == "facility") & (u["community"].astype(object) == ctx.name)
    return [{str(k): v for k, v in r.items()} for _, r in u[mine].iterrows()]


def _meta_of(meta: dict[tuple[str, str], dict[str, Any]], row: dict[str, Any]) -> dict[str, Any]:
    tid = str(row["target"])
    return meta.get((tid, str(row["class"])), meta.get((tid, ""), {}))


def _target_value(kind: str, value: object, lang: str, per_unit: bool) -> str:
    if is_missing(value):
        return "—"
    if kind == "presence" and per_unit:
        has = float(value) >= 1  # type: ignore[arg-type]
        return ("有" if has else "无") if lang == "zh" else ("yes" if has else "no")
    if kind == "presence" or (kind == "opening_hours" and not per_unit):
        return fmt_pct(value)
    return fmt_value(value)


def _threshold(m: dict[str, Any], row: dict[str, Any]) -> object:
    """A unit's threshold: its own (newer evaluators), else its target's (none for
    new housing, whose minimum depends on each project's households)."""
    given = row.get("threshold")
    if not is_missing(given):
        return given
    return None if str(m.get("kind")) == "new_housing_floor_area" else m.get("threshold")


def _due(m: dict[str, Any], a: Assessment) -> str:
    year = m.get("due_year")
    if is_missing(year):
        year = end_year(a)
    return "—" if year is None else str(int(year))


def _unit_label(ctx: _Ctx, row: dict[str, Any]) -> str:
    unit = _pick(UNITS, row["unit"], ctx.lang)
    return f"{unit}：{row['name']}" if ctx.lang == "zh" else f"{unit}: {row['name']}"


def _targets_table(ctx: _Ctx) -> Table | None:
    meta = target_meta(ctx.a)
    rows = []
    for row in unit_rows(ctx):
        m = _meta_of(meta, row)
        kind = str(m.get("kind", ""))
        name = m.get("name_zh" if ctx.lang == "zh" else "name_en") or row["target"]
        rows.append(
            [
                str(name),
                _unit_label(ctx, row),
                _target_value(kind, row.get("value"), ctx.lang, per_unit=True),
                _target_value(kind, _threshold(m, row), ctx.lang, per_unit=False),
                _due(m, ctx.a),
                _pick(STATUS, row.get("status"), ctx.lang),
                clause_of(m),
            ]
        )
    if not rows:
        return None
    keys = ("target", "unit", "now", "goal", "due", "status", "clause")
    return Table([ctx.w(k) for k in keys], rows, numeric=(2, 3))


def _status(ctx: _Ctx, picture_caption: str, legend: str) -> Section:
    s = Section(ctx.w("s2"), anchor="status")
    s.h2(ctx.w("circles"))
    s.table(_circle_table(ctx))
    na = [circle_name(c, ctx.lang) for c in ctx.a.circles
          if c.id not in {c2.id for c2, _ in circle_rows(ctx)}]  # fmt: skip
    if na:
        s.note(ctx.w("not_applicable", items=_list(na, ctx.lang)))
    s.parts.append(Part("figure", picture_caption))
    s.note(legend)
    s.h2(ctx.w("gaps_by_category"))
    s.table_or_note(_missing_table(ctx), ctx.w("none_missing"))
    s.h2(ctx.w("targets"))
    s.table_or_note(_targets_table(ctx), ctx.w("no_targets"))
    return s


# --- 三、主要问题 ----------------------------------------------------------------------


def _gap(m: dict[str, Any], row: dict[str, Any], ctx: _Ctx) -> tuple[float, str] | None:
    """How far a failing unit falls short, and in what (Chinese or English words)."""
    zh = ctx.lang == "zh"
    gap = row.get("gap")
    if not is_missing(gap) and float(gap) > 0:  # type: ignore[arg-type]
        unit = row.get("gap_unit_zh") if zh else row.get("gap_unit")
        text = "" if is_missing(unit) else str(unit)
        return float(gap), text or _pick(GAP_UNITS, row.get("gap_unit"), ctx.lang)  # type: ignore[arg-type]
    kind = str(m.get("kind", ""))
    value, threshold = row.get("value"), _threshold(m, row)
    if is_missing(value) or is_missing(threshold):
        return None
    short = float(threshold) - float(value)  # type: ignore[arg-type]
    if short <= 0:
        return None
    if kind == "floor_area_per_households" and ctx.attrs["households"]:
        return short * ctx.attrs["households"] / 100.0, _pick(GAP_UNITS, "m2", ctx.lang)
    if kind == "per_capita_area":
        return short * ctx.attrs["population"], _pick(GAP_UNITS, "m2", ctx.lang)
    if kind == "presence":
        return 1.0, _pick(GAP_UNITS, "facilities", ctx.lang)
    if kind == "community_table":
        return short, ""
    return None


def _circle_problems(ctx: _Ctx) -> list[tuple[float, list[str]]]:
    out = []
    for c, r in circle_rows(ctx):
        outside = float(r["population"] - r["population_inside"])
        if outside <= 0:
            continue
        share = outside / float(r["population"]) if r["population"] else float("nan")
        cats = [cat for cat, _, _ in _circle_missing(ctx, c)]
        amount = ctx.w("circle_amount", pop=fmt_num(outside), share=fmt_pct(share),
                       cats=ctx.cats(cats))  # fmt: skip
        out.append((outside, [ctx.w("circle_gap", circle=circle_name(c, ctx.lang)), amount,
                              clause_of(c)]))  # fmt: skip
    return sorted(out, key=lambda t: -t[0])


def _hours_rows(ctx: _Ctx) -> dict[str, list[dict[str, Any]]]:
    """Facilities of the community failing an opening-hours target, by target."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in unit_rows(ctx, facilities=True):
        if row["unit"] == "facility" and row.get("status") == "fail":
            out.setdefault(str(row["target"]), []).append(row)
    return out


def _target_problems(ctx: _Ctx) -> tuple[list[list[str]], list[str]]:
    """Failing targets with their gap, and the names of targets lacking data."""
    meta = target_meta(ctx.a)
    problems, no_data = [], []
    for row in unit_rows(ctx):
        m = _meta_of(meta, row)
        name = str(m.get("name_zh" if ctx.lang == "zh" else "name_en") or row["target"])
        if row.get("status") == "input missing":
            no_data.append(name)
            continue
        if row.get("status") != "fail" or str(m.get("kind")) == "opening_hours":
            continue
        gap = _gap(m, row, ctx)
        amount = "—" if gap is None else f"{fmt_value(gap[0])}{gap[1]}"
        if ctx.lang == "en" and gap is not None:
            amount = f"{fmt_value(gap[0])} {gap[1]}".strip() + " short"
        elif gap is not None:
            amount = "缺" + amount
        unit = _unit_label(ctx, row)
        title = f"{name}（{unit}）" if ctx.lang == "zh" else f"{name} ({unit})"
        problems.append([title, amount, clause_of(m)])
    for tid, rows in _hours_rows(ctx).items():
        m = meta.get((tid, ""), {})
        h = fmt_value(m.get("threshold") if not is_missing(m.get("threshold")) else 8)
        names = _list([str(r["name"]) for r in rows], ctx.lang)
        title = str(m.get("name_zh" if ctx.lang == "zh" else "name_en") or tid)
        problems.append([title, ctx.w("hours_gap", n=len(rows), h=h, names=names), clause_of(m)])
    return problems, list(dict.fromkeys(no_data))


def _problems(ctx: _Ctx) -> Section:
    s = Section(ctx.w("s3"), anchor="problems")
    ranked = [r for _, r in _circle_problems(ctx)]
    targets, no_data = _target_problems(ctx)
    ranked += targets
    if ranked:
        rows = [[str(i), *r] for i, r in enumerate(ranked, start=1)]
        keys = ("rank", "problem", "amount", "clause")
        s.table(Table([ctx.w(k) for k in keys], rows, numeric=(0,)))
    else:
        s.note(ctx.w("no_problems"))
    if no_data:
        s.note(ctx.w("data_gaps", items=_list(no_data, ctx.lang)))
    return s


# --- 四、规划项目 ----------------------------------------------------------------------


def _band(households: float) -> tuple[float, float]:
    for lo, hi, a0, a1 in NEW_HOUSING_BANDS:
        if lo <= households < hi:
            return float(a0), float(a1)
    return float(NEW_HOUSING_BANDS[-1][2]), float(NEW_HOUSING_BANDS[-1][3])


def _floor_standard(a: Assessment) -> float:
    for t in a.preset.targets.values():
        if isinstance(t, Target) and t.kind == "floor_area_per_households" and t.threshold:
            return float(t.threshold)
    return FLOOR_PER_100_HOUSEHOLDS


def near_sites(ctx: _Ctx) -> gpd.GeoDataFrame | None:
    """Proposed sites in the community or within the circle's reach of it (<= 1 km)."""
    if ctx.sites is None:
        return None
    s = check_sites(ctx.sites)
    from ._common import reach_m

    area = shapely.buffer(ctx.shape, min(reach_m(ctx.circle), 1000.0))
    return s[_inside(s, area, ctx.metric)]


def _where(ctx: _Ctx, point: Any) -> str:
    """A site's area: in the community (near its nearest named block) or near it."""
    if not shapely.intersects(point, ctx.shape):
        return ctx.w("nearby", name=ctx.name)
    b = ctx.blocks
    if "name" in b.columns and b["name"].notna().any():
        named = b[b["name"].notna()]
        d = shapely.distance(named.geometry.to_crs(ctx.metric).to_numpy(), point)
        return ctx.w("near_block", name=ctx.name, block=str(named["name"].iloc[int(np.argmin(d))]))
    return ctx.w("near", name=ctx.name)


def _bundle(ctx: _Ctx, row: pd.Series) -> str:
    """The services a station should bundle: the siting circle's categories missing in
    the community, those the site provides when it says so."""
    c = ctx.circle
    missing = [cat for cat, _, _ in _circle_missing(ctx, c)] if c.id in ctx.blocks else []
    given = row.get("categories", row.get("category"))
    if isinstance(given, str) and given:
        provides = [p.strip() for p in given.split(",")]
        missing = [m for m in missing if m in provides] or provides
    return ctx.cats(missing or list(c.categories))


def _floor_text(ctx: _Ctx, households: object) -> str:
    if is_missing(households):
        return "—"
    hh = float(households)  # type: ignore[arg-type]
    per = _floor_standard(ctx.a)
    lo, hi = _band(hh)
    band = fmt_num(lo) if lo == hi else f"{fmt_num(lo)}–{fmt_num(hi)}"
    return ctx.w("floor_text", per=fmt_num(per), by_hh=fmt_num(per * hh / 100.0), band=band)


def _station_rows(ctx: _Ctx, s: gpd.GeoDataFrame) -> list[list[str]]:
    pts_metric = s.geometry.to_crs(ctx.metric).representative_point().to_numpy()
    ll = s.geometry.representative_point().to_crs(4326)
    rows = []
    for i, (_, row) in enumerate(s.iterrows()):
        rank = row.get("rank", i + 1)
        sep = "，" if ctx.lang == "zh" else ", "
        lonlat = f"{ll.x.iloc[i]:.6f}{sep}{ll.y.iloc[i]:.6f}"
        name = row.get("name")
        if isinstance(name, str) and name.strip():
            lonlat = f"{name}（{lonlat}）" if ctx.lang == "zh" else f"{name} ({lonlat})"
        new = row.get("population_new", row.get("population_covered"))
        rows.append([fmt_num(rank), lonlat, _where(ctx, pts_metric[i]), _bundle(ctx, row),
                     _floor_text(ctx, row.get("households_new", row.get("households_covered"))),
                     fmt_num(new)])  # fmt: skip
    return rows


def _after_text(ctx: _Ctx) -> str | None:
    """Coverage here before and after the stations, from the siting's re-assessment."""
    after = getattr(ctx.sites, "after", None)
    c = ctx.circle
    if after is None or not len(after.by_community):
        return None
    key = (ctx.name, c.id)
    if key not in after.by_community.index or key not in ctx.a.by_community.index:
        return None
    b: dict[str, Any] = ctx.a.by_community.loc[key].to_dict()  # type: ignore[union-attr]
    x: dict[str, Any] = after.by_community.loc[key].to_dict()
    pop = float(x["population_inside"] - b["population_inside"])
    return ctx.w("after", circle=circle_name(c, ctx.lang), before=fmt_pct(b["population_share"]),
                 after=fmt_pct(x["population_share"]), pop=fmt_num(pop))  # fmt: skip


def _upgrade_rows(ctx: _Ctx) -> list[list[str]]:
    meta = target_meta(ctx.a)
    rows = []
    for tid, fails in _hours_rows(ctx).items():
        m = meta.get((tid, ""), {})
        h = fmt_value(m.get("threshold") if not is_missing(m.get("threshold")) else 8)
        rows += [
            [
                str(r["name"]),
                ctx.cat(str(r["class"])),
                ctx.w("longer_hours", h=h, now=fmt_value(r.get("value"))),
            ]
            for r in fails
        ]
    for row in unit_rows(ctx):
        m = _meta_of(meta, row)
        if str(m.get("kind")) == "floor_area_per_households" and row.get("status") == "fail":
            gap = _gap(m, row, ctx)
            if gap is not None:
                name = str(m.get("name_zh" if ctx.lang == "zh" else "name_en"))
                rows.append([name, "—", ctx.w("more_floor", gap=fmt_value(gap[0]))])
    return rows


def _addition_rows(ctx: _Ctx) -> list[list[str]]:
    """Facilities a failing presence target asks for: what, target, clause, due year."""
    meta = target_meta(ctx.a)
    rows = []
    for row in unit_rows(ctx):
        m = _meta_of(meta, row)
        if str(m.get("kind")) != "presence" or row["unit"] != "community":
            continue
        if row.get("status") != "fail":
            continue
        t = ctx.a.preset.targets.get(str(row["target"]))
        cats = list(t.categories) if t is not None else []
        what = _list([ctx.cat(c) for c in cats], ctx.lang) or str(row["target"])
        name = str(m.get("name_zh" if ctx.lang == "zh" else "name_en") or row["target"])
        rows.append([ctx.w("add_one", what=what), name, clause_of(m), _due(m, ctx.a)])
    return rows


def _numbered(ctx: _Ctx, keys: tuple[str, ...], rows: list[list[str]]) -> Table:
    """A table whose first column numbers its rows (序号)."""
    body = [[str(i), *r] for i, r in enumerate(rows, start=1)]
    return Table([ctx.w(k) for k in ("rank", *keys)], body, numeric=(0,))


def _projects(ctx: _Ctx) -> Section:
    s = Section(ctx.w("s4"), anchor="projects")
    s.h2(ctx.w("stations"))
    near = near_sites(ctx)
    if near is None:
        s.note(ctx.w("no_siting"))
    elif not len(near):
        s.note(ctx.w("no_sites"))
    else:
        heads = [ctx.w(k) for k in ("rank", "location", "where", "bundle", "floor", "new_pop")]
        s.table(Table(heads, _station_rows(ctx, near), numeric=(0, 5)))
        after = _after_text(ctx)
        if after:
            s.p(after)
    s.h2(ctx.w("upgrades"))
    ups = _upgrade_rows(ctx)
    if ups:
        s.table(_numbered(ctx, ("facility", "category", "work"), ups))
    else:
        s.note(ctx.w("no_upgrades"))
    adds = _addition_rows(ctx)
    if adds:
        s.h2(ctx.w("additions"))
        s.table(_numbered(ctx, ("facility", "requirement", "clause"), [r[:3] for r in adds]))
    return s


# --- 五、实施安排 ----------------------------------------------------------------------


def _schedule(ctx: _Ctx) -> Section:
    s = Section(ctx.w("s5"), anchor="schedule")
    year = end_year(ctx.a)
    due = "—" if year is None else str(year)
    rows: list[list[str]] = []
    near = near_sites(ctx)
    if near is not None:
        for i, (_, r) in enumerate(near.iterrows(), start=1):
            rows.append([ctx.w("station", n=i), _bundle(ctx, r), due])
    sep = "：" if ctx.lang == "zh" else ": "
    rows += [[ctx.w("upgrade"), f"{r[0]}{sep}{r[2]}", due] for r in _upgrade_rows(ctx)]
    rows += [[ctx.w("addition"), r[0], r[3]] for r in _addition_rows(ctx)]
    meta = target_meta(ctx.a)
    for row in unit_rows(ctx):
        m = _meta_of(meta, row)
        if row.get("status") == "fail" and str(m.get("kind")) == "community_table":
            name = str(m.get("name_zh" if ctx.lang == "zh" else "name_en") or row["target"])
            rows.append([ctx.w("task"), name, _due(m, ctx.a)])
    if not rows:
        s.note(ctx.w("no_schedule"))
        return s
    body = [[str(i), *r, "", "", ""] for i, r in enumerate(rows, start=1)]
    keys = ("rank", "project", "content", "due", "responsible", "funding", "remark")
    s.table(Table([ctx.w(k) for k in keys], body, numeric=(0,), blank=(4, 5, 6),
                  caption=ctx.w("schedule")))  # fmt: skip
    s.note(ctx.w("fill_in"))
    return s


# --- 附：说明 --------------------------------------------------------------------------


def _notes(ctx: _Ctx) -> Section:
    a, lang = ctx.a, ctx.lang
    s = Section(ctx.w("notes"), anchor="notes")
    preset = a.preset.name_zh if lang == "zh" else a.preset.name_en
    s.p(ctx.w("basis", preset=preset))
    speeds = [f"{circle_name(c, lang)}：{describe(c, lang)}" if lang == "zh"
              else f"{circle_name(c, lang)}: {describe(c, lang)}" for c in a.circles]  # fmt: skip
    s.p(ctx.w("speeds", items=("；" if lang == "zh" else "; ").join(speeds)))
    year = _reference_year(a)
    if year is not None:
        s.p(ctx.w("reading", year=year))
    s.p(ctx.w("hours_rule", rule=_hours_rule(a, lang)))
    labels = [f"{k}：{v[0]}" if lang == "zh" else f"{k}: {v[1]}" for k, v in LABELS.items()]
    if lang == "en":
        s.p(ctx.w("labels_text", items="; ".join(labels)))
    flagged = a.confidence.index[a.confidence.get("facilities", pd.Series(dtype=float)) == 0]
    if len(flagged):
        s.note(ctx.w("confidence", items=_list([ctx.cat(str(c)) for c in flagged], lang)))
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    s.note(ctx.w("made", version=__version__, time=now))
    return s


def _reference_year(a: Assessment) -> int | None:
    t = a.targets
    if "reference_year" in t.columns and t["reference_year"].notna().any():
        return int(t["reference_year"].dropna().iloc[0])
    return end_year(a)


def _hours_rule(a: Assessment, lang: str) -> str:
    t = a.targets
    reading = ""
    if "reading" in t.columns and t["reading"].notna().any():
        reading = str(next((r for r in t["reading"].dropna() if str(r)), ""))
    typical = "median" in reading or "typical" in reading
    if lang == "zh":
        day = "典型开放日（各开放日的中位数）" if typical else "每个开放日"
        return f"按{day}开放不少于8小时判断（规划“一般不少于每天8小时”）"
    day = "a typical opening day (the median day open)" if typical else "every day it opens"
    return f"at least 8 h on {day} (the plan: generally at least 8 h a day)"


# --- the draft ------------------------------------------------------------------------


def build_draft(
    a: Assessment,
    community: str,
    c: Circle,
    *,
    lang: str = "zh",
    sites: Any = None,
    category: str = "category",
) -> Draft:
    """The draft plan of one community; ``c`` is the circle of its map and of the
    proposed stations (the siting circle), ``sites`` the siting result or its sites."""
    from .picture import map_picture

    ctx = _context(a, community, c, lang=lang, sites=sites, category=category)
    picture, bar = map_picture(a, community, c, sites=sites, category=category)
    caption = ctx.w("figure", name=community, circle=circle_name(c, lang), bar=fmt_num(bar))
    legend = ctx.w("legend")
    projects = _projects(ctx)
    sections = [
        _basic(ctx),
        _status(ctx, caption, legend),
        _problems(ctx),
        projects,
        _schedule(ctx),
        _notes(ctx),
    ]
    return Draft(
        community=community,
        lang=lang,
        title=ctx.w("title", name=community),
        subtitle=ctx.w("subtitle"),
        sections=sections,
        picture=picture,
        figure=caption,
        legend=legend,
        circle=circle_name(c, lang),
        facts=_facts(ctx),
    )
