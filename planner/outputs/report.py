"""One self-contained HTML report per community (一社区一规划), and an index page.

:func:`write_report` writes, for a community: its profile (population, households,
setting, region, street), its map (the offline map of :mod:`planner.outputs.maps`,
embedded in the page), a table per service circle (coverage, missing categories,
worst blocks), the plan-target checks, the facilities found in the community,
recommended sites (when siting results are given), the data confidence notes and the
parameters and data sources with their verification labels. Pages are jinja2
templates (``planner/outputs/templates``) with autoescaping on, so every string from
the data is escaped; the CSS has a print layout (A4, tables kept together).

The page needs no network: styles are inline and the map is an offline map document in
an ``<iframe srcdoc>`` (sandboxed: its scripts run, but apart from the page).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely

from .. import settings
from .._io import atomic_write
from .._log import log
from .._version import __version__
from ..assessment import Assessment
from ..errors import InputError, closest, describe
from ..rules import Circle
from ._common import (
    block_label,
    check_sites,
    members,
    missing_ids,
    missing_lists,
    pick_circle,
    reach_m,
    short_name,
)
from .maps import map_assessment, map_html
from .staging import staged_folder

__all__ = ["write_report"]

LANGS = ("zh", "en")

#: Verification labels and what they mean (see the design notes).
LABELS: dict[str, tuple[str, str]] = {
    "V": ("已核实", "verified"),
    "S": ("二手来源", "secondary source"),
    "R": ("凭记忆，未核实", "recalled, not verified"),
    "I": ("解释性判断", "interpretation"),
}

UNITS: dict[str, tuple[str, str]] = {
    "community": ("社区", "community"),
    "street": ("街道(乡镇)", "street/township"),
    "block": ("地块", "block"),
    "facility": ("设施", "facility"),
}

SITE_COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("排序", "Rank"),
    "name": ("名称", "Name"),
    "category": ("设施类别", "Category"),
    "population_new": ("新增覆盖人口", "Population newly covered"),
    "population_covered": ("覆盖人口", "Population covered"),
    "households_new": ("新增覆盖户数", "Households newly covered"),
    "households_covered": ("覆盖户数", "Households covered"),
    "blocks_new": ("新增覆盖地块", "Blocks newly covered"),
    "share_after": ("建成后覆盖率", "Share after"),
}

STATUS: dict[str, tuple[str, str]] = {
    "pass": ("达标", "pass"),
    "fail": ("未达标", "fail"),
    "input missing": ("缺少数据", "input missing"),
    "no units": ("无适用单元", "no units"),
}

#: How many blocks the "worst blocks" table lists per circle.
WORST_BLOCKS = 5
#: How many facility names the facilities table lists per category.
FACILITY_NAMES = 12

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("社区生活圈评估报告", "Community service-circle report"),
    "subtitle": ("一社区一规划", "one community, one plan"),
    "profile": ("社区概况", "Profile"),
    "community": ("社区", "Community"),
    "population": ("人口", "Population"),
    "households": ("户数", "Households"),
    "blocks": ("地块数", "Blocks"),
    "setting": ("城乡类型", "Setting"),
    "region": ("区域", "Region"),
    "street": ("街道(乡镇)", "Street / township"),
    "map": ("地图", "Map"),
    "map_note": (
        "地图无需联网即可显示；点击地块或设施查看详情，右上角切换图层。",
        "The map works offline; click a block or facility for details, switch layers top right.",
    ),
    "circles": ("生活圈覆盖", "Service circles"),
    "coverage": ("人口覆盖率(路网)", "Population inside (network)"),
    "households_share": ("户数覆盖率", "Households inside"),
    "radius_share": ("标准半径覆盖率(直线)", "Inside the standard radius (straight line)"),
    "overall": ("全域覆盖率", "Whole area"),
    "blocks_outside": ("圈外地块", "Blocks outside"),
    "population_outside": ("圈外人口", "Population outside"),
    "missing": ("缺少的设施类别", "Missing categories"),
    "category": ("设施类别", "Category"),
    "blocks_missing": ("缺少该类的地块", "Blocks missing it"),
    "population_missing": ("受影响人口", "Population affected"),
    "facilities_found": ("全域设施数", "Facilities found (whole area)"),
    "worst": ("最需改善的地块", "Worst blocks"),
    "block": ("地块", "Block"),
    "status": ("结果", "Status"),
    "n_missing": ("缺少类数", "Categories missing"),
    "inside": ("圈内", "inside"),
    "outside": ("圈外", "outside"),
    "none_missing": ("无", "none"),
    "not_applicable": (
        "以下生活圈不适用于本社区的城乡类型",
        "These circles do not apply to this community's setting",
    ),
    "targets": ("规划指标", "Plan targets"),
    "targets_here": ("本社区", "This community"),
    "targets_all": ("全域", "Whole area"),
    "target": ("指标", "Target"),
    "unit": ("单元", "Unit"),
    "class": ("类别", "Class"),
    "value": ("数值", "Value"),
    "threshold": ("目标值", "Target value"),
    "detail": ("说明", "Detail"),
    "no_targets": ("没有针对本社区的指标结果。", "No target results for this community."),
    "facilities": ("社区内及周边设施", "Facilities in and around the community"),
    "count": ("数量", "Count"),
    "names": ("名称", "Names"),
    "sites": ("推荐站点", "Recommended sites"),
    "no_sites": (
        "选址结果中没有位于本社区附近的站点。",
        "No proposed site lies near this community.",
    ),
    "confidence": ("数据可信度", "Data confidence"),
    "confidence_ok": ("每个类别都找到了设施。", "Facilities were found for every category."),
    "params": ("参数与数据来源", "Parameters and data sources"),
    "preset": ("规划预设", "Preset"),
    "preset_files": ("预设文件", "Preset files"),
    "mode": ("出行方式与阈值", "Mode and threshold"),
    "labels": ("核实标记", "Verification labels"),
    "source": ("依据", "Source"),
    "max_snap": ("最大吸附距离", "Largest snapping distance"),
    "network": ("路网", "Street network"),
    "facility_sources": ("设施数据", "Facility data"),
    "population_source": ("人口来源", "Population source"),
    "generated": ("生成", "Generated"),
    "index_title": ("社区生活圈评估 — 社区列表", "Community service-circle reports"),
    "communities": ("社区", "Communities"),
    "summary": ("全域生活圈覆盖", "Service circles, whole area"),
    "min_kinds": ("至少类数", "At least"),
    "how": ("计算方式", "How"),
    "back": ("返回社区列表", "All communities"),
    "unnamed": ("(无名称)", "(unnamed)"),
    "more": ("等", "and more"),
    "na_short": ("— 表示该生活圈不适用于社区的城乡类型。", "— = the circle does not apply there."),
}


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return zh if lang == "zh" else en


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("planner.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    return env


# --- formatting -----------------------------------------------------------------------


def _record(row: object) -> dict[str, Any]:
    """A table row (a Series) as a plain dict with string keys."""
    if not isinstance(row, pd.Series):
        msg = f"expected one table row, got {type(row).__name__} (duplicate index labels?)"
        raise InputError(msg)
    return {str(k): v for k, v in row.items()}


def _isnan(v: object) -> bool:
    if v is None or v is pd.NA:
        return True
    try:
        return math.isnan(float(v))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _pct(v: object) -> str:
    return "—" if _isnan(v) else f"{float(v):.1%}"  # type: ignore[arg-type]


def _num(v: object, digits: int = 0) -> str:
    if _isnan(v):
        return "—"
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    return f"{f:,.{digits}f}"


def _text(v: object) -> str:
    return "" if _isnan(v) else str(v)


def _status(s: object, lang: str) -> dict[str, str]:
    key = str(s)
    zh, en = STATUS.get(key, (key, key))
    return {"text": zh if lang == "zh" else en, "css": re.sub(r"[^a-z]+", "-", key.lower())}


def _target_value(kind: str, value: object, per_unit: bool) -> str:
    if _isnan(value):
        return "—"
    if kind == "presence":
        if per_unit:
            return "有 yes" if float(value) >= 1 else "无 no"  # type: ignore[arg-type]
        return _pct(value)
    f = float(value)  # type: ignore[arg-type]
    return f"{f:,.0f}" if abs(f) >= 100 else f"{f:,.3g}"


def _unit(unit: object, lang: str) -> str:
    zh, en = UNITS.get(str(unit), (_text(unit), _text(unit)))
    return zh if lang == "zh" else en


def _cat_name(a: Assessment, cat: str, lang: str) -> str:
    return short_name(a.preset.table.name(cat, lang), lang)


def _safe_filename(name: str) -> str:
    """A file name for a community (Chinese kept; path and shell characters replaced)."""
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f\s]+', "_", str(name)).strip("._")
    return text[:80] or "community"


# --- the data of one page -------------------------------------------------------------


def _communities(a: Assessment) -> list[str]:
    if "community" not in a.blocks.columns or a.blocks["community"].isna().all():
        msg = (
            "this assessment has no communities: blocks carry no 'community' column. Pass "
            "communities=planner.read_communities(...) to planner.assess (or give blocks a "
            "'community' column) to write community reports; use planner.map_assessment for "
            "a map of the whole area."
        )
        raise InputError(msg)
    return sorted(str(v) for v in pd.unique(a.blocks["community"].dropna()))


def _community_attrs(a: Assessment, name: str, blocks: pd.DataFrame) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    row = None
    if a.communities is not None and "community" in a.communities.columns:
        own = a.communities[a.communities["community"].astype(object) == name]
        row = own.iloc[0] if len(own) else None
    for col in ("setting", "region", "street"):
        value = None
        if row is not None and col in row.index and not _isnan(row[col]):
            value = row[col]
        elif col in blocks.columns and blocks[col].notna().any():
            value = blocks[col].dropna().mode().iloc[0]
        attrs[col] = _text(value)
    hh = None
    if "households" in blocks.columns and blocks["households"].notna().any():
        hh = float(blocks["households"].sum())
    elif row is not None and "households" in row.index and not _isnan(row["households"]):
        hh = float(row["households"])
    attrs["households"] = hh
    attrs["population"] = float(blocks["population"].sum())
    attrs["blocks"] = len(blocks)
    return attrs


def _missing_table(
    a: Assessment, c: Circle, blocks: pd.DataFrame, lang: str
) -> list[dict[str, Any]]:
    applies = blocks[c.id].notna().to_numpy()
    missing = missing_lists(blocks[f"{c.id}__missing"])
    pop = blocks["population"].to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []
    for cat in c.categories:
        hit = applies & np.array([cat in ids for ids in missing], dtype=bool)
        n_fac = (
            int(_record(a.confidence.loc[cat])["facilities"]) if cat in a.confidence.index else None
        )
        rows.append(
            {
                "id": cat,
                "name": _cat_name(a, cat, lang),
                "blocks": int(hit.sum()),
                "population": float(pop[hit].sum()),
                "facilities": n_fac,
                "flag": n_fac == 0,
            }
        )
    rows.sort(key=lambda r: (-r["population"], -r["blocks"]))
    return rows


def _worst_blocks(
    a: Assessment, c: Circle, blocks: pd.DataFrame, lang: str
) -> list[dict[str, Any]]:
    ok = blocks[blocks[c.id].notna()]
    if not len(ok):
        return []
    frame = pd.DataFrame(
        {
            "inside": ok[c.id].astype(bool).to_numpy(),
            "n": ok[f"{c.id}__n_missing"].fillna(0).astype(int).to_numpy(),
            "pop": ok["population"].to_numpy(dtype=float),
        },
        index=ok.index,
    )
    frame = frame[(~frame["inside"]) | (frame["n"] > 0)]
    frame = frame.sort_values(["inside", "n", "pop"], ascending=[True, False, False])
    names = ok["name"] if "name" in ok.columns else None
    out = []
    for idx, r in frame.head(WORST_BLOCKS).iterrows():
        cats = missing_ids(ok.at[idx, f"{c.id}__missing"])
        out.append(
            {
                "label": block_label(idx, names.at[idx] if names is not None else None),
                "population": float(r["pop"]),
                "inside": bool(r["inside"]),
                "n_missing": int(r["n"]),
                "missing": ", ".join(_cat_name(a, x, lang) for x in cats),
            }
        )
    return out


def _circle_sections(
    a: Assessment, name: str, blocks: pd.DataFrame, lang: str
) -> tuple[list[dict[str, Any]], list[str]]:
    sections = []
    not_applicable = []
    rows = a.by_community.xs(name, level=0) if len(a.by_community) else pd.DataFrame()
    for c in a.circles:
        title = c.name_zh if lang == "zh" else c.name_en
        if c.id not in rows.index:
            not_applicable.append(title)
            continue
        r = _record(rows.loc[c.id])
        overall = _record(a.summary.loc[c.id]) if c.id in a.summary.index else None
        sections.append(
            {
                "id": c.id,
                "title": title,
                "other_title": c.name_en if lang == "zh" else c.name_zh,
                "how": c.describe(lang),
                "min_kinds": c.min_kinds,
                "n_categories": len(c.categories),
                "labels": f"{c.label}/{c.mode_label}",
                "share": r["population_share"],
                "households_share": r.get("households_share"),
                "radius_share": r.get("radius_population_share"),
                "overall_share": None if overall is None else overall["population_share"],
                "blocks": int(r["blocks"]),
                "blocks_outside": int(r["blocks_outside"]),
                "population_outside": float(r["population"] - r["population_inside"]),
                "missing": _missing_table(a, c, blocks, lang),
                "worst": _worst_blocks(a, c, blocks, lang),
            }
        )
    return sections, not_applicable


def _target_meta(t: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """The targets' rows by (target, class), and by target alone under (target, "")."""
    meta: dict[tuple[str, str], dict[str, Any]] = {}
    for _, series in t.iterrows():
        rec = _record(series)
        meta[(str(rec["target"]), str(rec["class"]))] = rec
        meta.setdefault((str(rec["target"]), ""), rec)
    return meta


def _target_row(meta: dict[str, Any], row: dict[str, Any], lang: str, unit: str) -> dict[str, Any]:
    """One line of a targets table: a unit's result (``row``) under its target (``meta``)."""
    kind = str(meta.get("kind", ""))
    per_unit = row is not meta
    return {
        "name": _text(meta.get("name_zh" if lang == "zh" else "name_en")) or str(row["target"]),
        "unit": unit,
        "class": _text(row["class"]),
        "value": _target_value(kind, row.get("value"), per_unit=per_unit),
        "threshold": _target_value(kind, meta.get("threshold"), per_unit=False),
        "status": _status(row.get("status"), lang),
        "detail": _text(row.get("detail")),
        "label": _text(meta.get("label")),
    }


def _units_of(a: Assessment, name: str, street: str, block_labels: set[str]) -> pd.DataFrame:
    """The per-unit target results of a community: its own, its blocks' and its street's."""
    u = a.targets_by_unit
    if not len(u):
        return u
    names = u["name"].astype(str)
    mine = ((u["unit"] == "community") & (names == name)) | (
        (u["unit"] == "block") & names.isin(block_labels)
    )
    if street:
        mine |= (u["unit"] == "street") & (names == street)
    return u[mine]


def _target_rows(
    a: Assessment, name: str, street: str, block_labels: set[str], lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The target lines of a community's units, and the whole area's target lines."""
    t = a.targets.reset_index() if len(a.targets) else pd.DataFrame()
    meta = _target_meta(t)
    here = []
    for _, series in _units_of(a, name, street, block_labels).iterrows():
        row = _record(series)
        tid, cls = str(row["target"]), str(row["class"])
        m = meta.get((tid, cls), meta.get((tid, ""), {}))
        unit = f"{_unit(row['unit'], lang)}: {row['name']}"
        here.append(_target_row(m, row, lang, unit))
    overall = []
    for _, series in t.iterrows():
        row = _record(series)
        overall.append(_target_row(row, row, lang, _unit(row.get("unit"), lang)))
    return here, overall


def _area_of(
    a: Assessment, name: str, blocks: gpd.GeoDataFrame, margin_m: float
) -> tuple[shapely.Geometry, Any]:
    """The community's area (its boundary, else its blocks) grown by ``margin_m``, metric."""
    metric = blocks.estimate_utm_crs() if blocks.crs.is_geographic else blocks.crs
    shape = None
    if a.communities is not None and "community" in a.communities.columns:
        own = a.communities[a.communities["community"].astype(object) == name]
        if len(own):
            shape = shapely.union_all(own.geometry.to_crs(metric).to_numpy())
    if shape is None:
        shape = shapely.envelope(shapely.union_all(blocks.geometry.to_crs(metric).to_numpy()))
    return shapely.buffer(shape, margin_m), metric


def _inside(gdf: gpd.GeoDataFrame, area: shapely.Geometry, metric: Any) -> np.ndarray:
    if not len(gdf) or gdf.crs is None:
        return np.zeros(len(gdf), dtype=bool)
    return np.asarray(shapely.intersects(gdf.geometry.to_crs(metric).to_numpy(), area))


def _facility_rows(
    a: Assessment, name: str, blocks: gpd.GeoDataFrame, lang: str, column: str
) -> list[dict[str, Any]]:
    fac = a.facilities
    if column not in fac.columns or not len(fac):
        return []
    area, metric = _area_of(a, name, blocks, 100.0)
    fac = fac[_inside(fac, area, metric)]
    codes = fac[column].astype(object).to_numpy()
    cats = list(dict.fromkeys(k for c in a.circles for k in c.categories))
    rows = []
    for cat in cats:
        sub = fac[np.isin(codes, list(members(a.preset.table, cat)))]
        if not len(sub):
            continue
        names = (
            [_text(v) or _t("unnamed", lang) for v in sub["name"].tolist()]
            if "name" in sub.columns
            else []
        )
        more = len(names) > FACILITY_NAMES
        rows.append(
            {
                "name": _cat_name(a, cat, lang),
                "count": len(sub),
                "names": names[:FACILITY_NAMES],
                "more": more,
            }
        )
    return rows


def _site_rows(
    a: Assessment,
    name: str,
    blocks: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    c: Circle,
    lang: str,
) -> tuple[list[str], list[list[str]]] | None:
    if sites is None:
        return None
    s = check_sites(sites)
    area, metric = _area_of(a, name, blocks, min(reach_m(c), 1000.0))
    s = s[_inside(s, area, metric)]
    cols = [col for col in SITE_COLUMNS if col in s.columns]
    body = []
    for _, row in s.iterrows():
        cells = []
        for col in cols:
            v = row[col]
            if col == "share_after":
                cells.append(_pct(v))
            elif isinstance(v, int | float | np.number) and col != "rank":
                cells.append(_num(v))
            else:
                cells.append(_text(v))
        body.append(cells)
    heads = [SITE_COLUMNS[col][0 if lang == "zh" else 1] for col in cols]
    return heads, body


def _params(a: Assessment, blocks: pd.DataFrame, lang: str) -> dict[str, Any]:
    p = a.params
    circles = [
        {
            "name": c.name_zh if lang == "zh" else c.name_en,
            "id": c.id,
            "how": c.describe(lang),
            "setting": c.setting,
            "min_kinds": f"{c.min_kinds}/{len(c.categories)}",
            "radius": "" if c.radius_m is None else f"{c.radius_m:g} m",
            "labels": f"{c.label} / {c.mode_label} / {c.radius_label or '—'}",
            "source": c.source,
        }
        for c in a.circles
    ]
    fac_sources: list[str] = []
    if "sources" in a.confidence.columns:
        for v in a.confidence["sources"].dropna():
            fac_sources.extend(x.strip() for x in str(v).split(",") if x.strip())
    if "source_file" in a.facilities.columns:
        fac_sources.extend(str(v) for v in pd.unique(a.facilities["source_file"].dropna()))
    pop_src = (
        sorted(str(v) for v in pd.unique(blocks["population_source"].dropna()))
        if "population_source" in blocks.columns
        else []
    )
    return {
        "preset": f"{a.preset.id} — {a.preset.name_zh if lang == 'zh' else a.preset.name_en}",
        "preset_source": a.preset.source,
        "preset_files": [str(f) for f in p.get("preset_files", a.preset.files)],
        "circles": circles,
        "max_snap_m": p.get("max_snap_m", settings.max_snap_m),
        "network_source": _text(p.get("network_source")),
        "network": _text(p.get("network")),
        "facility_sources": sorted(set(fac_sources)),
        "population_source": pop_src,
        "labels": [
            {"key": k, "text": zh if lang == "zh" else en} for k, (zh, en) in LABELS.items()
        ],
    }


def _confidence_rows(a: Assessment, lang: str) -> list[dict[str, str]]:
    conf = a.confidence
    if "facilities" not in conf.columns:
        return []
    out = []
    for cat, row in conf[conf["facilities"] == 0].iterrows():
        out.append(
            {
                "name": _cat_name(a, str(cat), lang),
                "id": str(cat),
                "flag": _text(row.get("flag")),
            }
        )
    return out


@dataclass
class _Page:
    name: str
    file: str
    attrs: dict[str, Any]
    shares: dict[str, Any]


def _render_community(
    a: Assessment,
    name: str,
    *,
    lang: str,
    circle: str | None,
    sites: gpd.GeoDataFrame | None,
    isochrones: bool | gpd.GeoDataFrame,
    category: str,
    index_file: str | None,
) -> tuple[str, _Page]:
    blocks = a.blocks[a.blocks["community"].astype(object) == name]
    attrs = _community_attrs(a, name, blocks)
    c = pick_circle(a, circle, name)
    m = map_assessment(
        a,
        circle=c.id,
        community=name,
        sites=sites,
        isochrones=isochrones,
        lang=lang,
        category=category,
    )
    sections, not_applicable = _circle_sections(a, name, blocks, lang)
    labels = {str(i) for i in blocks.index}
    here, overall = _target_rows(a, name, attrs["street"], labels, lang)
    sites_table = _site_rows(a, name, blocks, sites, c, lang)
    context = {
        "lang": lang,
        "t": {k: _t(k, lang) for k in _TEXT},
        "name": name,
        "attrs": attrs,
        "map_doc": map_html(m),
        "map_circle": c.name_zh if lang == "zh" else c.name_en,
        "sections": sections,
        "not_applicable": not_applicable,
        "targets_here": here,
        "targets_all": overall,
        "facilities": _facility_rows(a, name, blocks, lang, category),
        "sites": sites_table,
        "confidence": _confidence_rows(a, lang),
        "params": _params(a, blocks, lang),
        "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "version": _version(),
        "index_file": index_file,
    }
    page = _env().get_template("report.html.j2").render(**context)
    shares = {s["id"]: s["share"] for s in sections}
    return page, _Page(name, "", attrs, shares)


def _version() -> str:
    return str(__version__)


def _write(path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def write_report(
    assessment: Assessment,
    community: str | None = None,
    path: str | os.PathLike[str] = "maps",
    *,
    lang: str = "zh",
    circle: str | None = None,
    sites: gpd.GeoDataFrame | None = None,
    isochrones: bool | gpd.GeoDataFrame = False,
    category: str = "category",
) -> list[Path]:
    """Write the HTML report of one community, or of every community plus an index.

    Parameters
    ----------
    assessment
        The result of :func:`planner.assess` with communities (blocks with a
        ``community`` column).
    community
        A community name: one page. None or "all": one page per community and
        ``index.html`` linking them.
    path
        For one community: the ``.html`` file to write, or a folder (the page is
        ``<folder>/<community>.html``). For all: the folder. Default ``maps/``.
    lang
        {"zh", "en"}: the report's language (popups on the map show both).
    circle
        The circle drawn on each community's map (default: the community's circle
        with the lowest population share).
    sites
        Proposed sites (siting results): drawn on the maps and listed on the pages of
        the communities they lie in or near.
    isochrones
        Passed to :func:`planner.map_assessment` (default False: the maps of many
        communities are quicker without).
    category
        The facilities' category column.

    Returns
    -------
    list of pathlib.Path
        The pages written (for all communities, ``index.html`` last).

    Raises
    ------
    planner.errors.InputError
        An unknown community (the closest name is suggested), an assessment without
        communities, or a path that does not fit.
    """
    a = assessment
    if lang not in LANGS:
        msg = f"lang={lang!r}; expected 'zh' or 'en'.{closest(lang, LANGS)}"
        raise InputError(msg)
    names = _communities(a)
    options: dict[str, Any] = {
        "lang": lang,
        "circle": circle,
        "sites": sites,
        "isochrones": isochrones,
        "category": category,
    }
    if community is not None and community != "all":
        return _write_one(a, community, names, Path(path), options)
    return _write_all(a, names, Path(path), options)


def _write_one(
    a: Assessment, community: str, names: list[str], out: Path, options: dict[str, Any]
) -> list[Path]:
    """One community's page, to ``out`` (an .html file) or into the folder ``out``."""
    if community not in names:
        msg = (
            f"community={community!r} is not in this assessment; communities: "
            f"{describe(names)}.{closest(community, names)}"
        )
        raise InputError(msg)
    target = (
        out
        if out.suffix.lower() in {".html", ".htm"}
        else out / (_safe_filename(community) + ".html")
    )
    page, _ = _render_community(a, community, index_file=None, **options)
    _write(target, page)
    log(f"report: {community} -> {target}")
    return [target]


def _file_stems(names: list[str]) -> dict[str, str]:
    """A distinct file stem per community (case-insensitively; never "index")."""
    stems: dict[str, str] = {}
    used: set[str] = {"index"}
    for name in names:
        base = _safe_filename(name)
        stem, n = base, 2
        while stem.lower() in used:
            stem, n = f"{base}_{n}", n + 1
        used.add(stem.lower())
        stems[name] = stem
    return stems


#: What a reports folder holds (see :func:`write_report`); used to tell planner's files
#: from a person's in a folder written before manifests existed.
REPORT_FILES = ("*.html", "*.docx")


def _write_all(a: Assessment, names: list[str], out: Path, options: dict[str, Any]) -> list[Path]:
    """Every community's page into the folder ``out``, and index.html linking them; the
    folder is staged and swapped in whole (:func:`planner.outputs.staging.staged_folder`)."""
    if out.suffix.lower() in {".html", ".htm"}:
        msg = (
            f"path={str(out)!r}: reports of all communities go to a folder (one page each "
            "and index.html); give a folder, or community='<name>' for one page."
        )
        raise InputError(msg)
    written: list[Path] = []
    pages: list[_Page] = []
    with staged_folder(out, owned=REPORT_FILES) as folder:
        for name, stem in _file_stems(names).items():
            page, info = _render_community(a, name, index_file="index.html", **options)
            info.file = stem + ".html"
            _write(folder / info.file, page)
            written.append(out / info.file)
            pages.append(info)
        _write(folder / "index.html", _render_index(a, pages, options["lang"]))
    written.append(out / "index.html")
    log(f"report: {len(names)} communities -> {out}")
    return written


def _render_index(a: Assessment, pages: Sequence[_Page], lang: str) -> str:
    circles = [
        {"id": c.id, "name": c.name_zh if lang == "zh" else c.name_en, "how": c.describe(lang)}
        for c in a.circles
    ]
    summary = []
    for c in a.circles:
        if c.id not in a.summary.index:
            continue
        r = _record(a.summary.loc[c.id])
        summary.append(
            {
                "name": c.name_zh if lang == "zh" else c.name_en,
                "how": c.describe(lang),
                "share": r["population_share"],
                "radius_share": r.get("radius_population_share"),
                "blocks_outside": int(r["blocks_outside"]),
                "labels": f"{c.label}/{c.mode_label}",
            }
        )
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "file": p.file.replace("%", "%25").replace("#", "%23"),  # a link, not a path
            "attrs": p.attrs,
            "shares": [p.shares.get(c.id) for c in a.circles],
        }
        for p in pages
    ]
    blocks = a.blocks
    context = {
        "lang": lang,
        "t": {k: _t(k, lang) for k in _TEXT},
        "circles": circles,
        "summary": summary,
        "rows": rows,
        "confidence": _confidence_rows(a, lang),
        "params": _params(a, blocks, lang),
        "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "version": _version(),
    }
    return _env().get_template("index.html.j2").render(**context)
