"""The 一社区一规划 draft of each community (HTML and Word), and an index page.

:func:`write_report` writes, per community, the draft plan built by
:mod:`planner.outputs.draft` twice: an HTML page (jinja2 template
``templates/draft.html.j2``, autoescaped, so every string from the data is escaped; a
print layout for A4) and a Word document (:mod:`planner.outputs.word`). For all
communities it also writes ``index.html`` (the communities with their coverage, the
whole area's circles, data confidence and parameters) and stages the folder, so it is
replaced whole (:mod:`planner.outputs.staging`).

The page needs no network: styles are inline; on screen the map is an offline map
document in an ``<iframe srcdoc>`` (sandboxed: its scripts run, but apart from the
page; Chromium draws it once it is scrolled into view), in print the map picture.
"""

from __future__ import annotations

import base64
import datetime as _dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import pandas as pd

from .. import settings
from .._io import atomic_write
from .._log import log
from .._version import __version__
from ..assessment import Assessment
from ..errors import InputError, closest, describe
from ..rules import Circle
from ._common import (
    fmt_num,
    fmt_pct,
    is_missing,
    pick_circle,
    short_name,
)
from .draft import STATUS, build_draft
from .maps import map_assessment, map_html
from .staging import staged_folder
from .word import docx_bytes

__all__ = ["write_report"]

LANGS = ("zh", "en")

#: Verification labels and what they mean (see the design notes).
LABELS: dict[str, tuple[str, str]] = {
    "V": ("已核实", "verified"),
    "S": ("二手来源", "secondary source"),
    "R": ("凭记忆，未核实", "recalled, not verified"),
    "I": ("解释性判断", "interpretation"),
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
    "word": ("可编辑版本", "Word document"),
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
    env.filters["pct"] = fmt_pct
    env.filters["num"] = fmt_num
    return env


# --- formatting -----------------------------------------------------------------------


def _record(row: object) -> dict[str, Any]:
    """A table row (a Series) as a plain dict with string keys."""
    if not isinstance(row, pd.Series):
        msg = f"expected one table row, got {type(row).__name__} (duplicate index labels?)"
        raise InputError(msg)
    return {str(k): v for k, v in row.items()}


def _text(v: object) -> str:
    return "" if is_missing(v) else str(v)


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
                "name": short_name(a.preset.table.name(str(cat), lang), lang),
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
    docx: str = ""


#: CSS class of a status cell, by its text in either language.
_STATUS_CSS = {text: re.sub(r"[^a-z]+", "-", key) for key, pair in STATUS.items() for text in pair}


def _render_community(
    a: Assessment,
    name: str,
    *,
    lang: str,
    circle: str | None,
    sites: Any,
    isochrones: bool | gpd.GeoDataFrame,
    category: str,
    index_file: str | None,
    docx_file: str | None = None,
) -> tuple[str, bytes, _Page]:
    """A community's draft plan: the HTML page, the Word document and its index entry."""
    c = _plan_circle(a, circle, name, sites)
    draft = build_draft(a, name, c, lang=lang, sites=sites, category=category)
    m = map_assessment(
        a, circle=c.id, community=name, sites=sites, isochrones=isochrones, lang=lang,
        category=category,
    )  # fmt: skip
    context = {
        "lang": lang,
        "draft": draft,
        "preset": a.preset.name_zh if lang == "zh" else a.preset.name_en,
        "map_doc": map_html(m),
        "picture": base64.b64encode(draft.picture).decode("ascii"),
        "status_css": _STATUS_CSS,
        "index_file": index_file,
        "docx_file": docx_file,
        "back": _t("back", lang),
        "word": _t("word", lang),
    }
    page = _env().get_template("draft.html.j2").render(**context)
    shares: dict[str, Any] = {}
    if len(a.by_community) and name in set(a.by_community.index.get_level_values(0)):
        own = a.by_community.xs(name, level=0)["population_share"]
        shares = {str(k): v for k, v in own.items()}
    attrs = {**draft.facts, "blocks": draft.facts["blocks"]}
    return page, docx_bytes(draft), _Page(name, "", attrs, shares)


def _plan_circle(a: Assessment, circle: str | None, name: str, sites: Any) -> Circle:
    """The circle of a community's map and stations: given, the siting's, or the lowest."""
    if circle is None and isinstance(getattr(sites, "circle", None), str):
        circle = sites.circle
    return pick_circle(a, circle, name)


def _version() -> str:
    return str(__version__)


def write_docx_bytes(data: bytes, path: Path) -> Path:
    """Write a Word document's bytes atomically; returns the path."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    atomic_write(path, write)
    return path


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
    sites: Any = None,
    isochrones: bool | gpd.GeoDataFrame = False,
    category: str = "category",
) -> list[Path]:
    """Write the 一社区一规划 draft of one community, or of every community plus an index.

    Each community gets an HTML page (printable A4, with the offline map) and a Word
    document (.docx) of the same draft (:mod:`planner.outputs.draft`): 一、基本情况,
    二、现状评估, 三、主要问题, 四、规划项目, 五、实施安排, and a closing note.

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
        Proposed sites: a siting result (:func:`planner.site`; its circle is then the
        map's, and its re-assessment gives each community's coverage after) or its
        sites. Drawn on the maps and listed as projects of the communities they lie in
        or near.
    isochrones
        Passed to :func:`planner.map_assessment` (default False: the maps of many
        communities are quicker without).
    category
        The facilities' category column.

    Returns
    -------
    list of pathlib.Path
        The files written: each community's ``.html`` then ``.docx`` (for all
        communities, ``index.html`` last).

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
    page, doc, _ = _render_community(
        a, community, index_file=None, docx_file=target.stem + ".docx", **options
    )
    _write(target, page)
    word = write_docx_bytes(doc, target.with_suffix(".docx"))
    log(f"report: {community} -> {target}, {word.name}")
    return [target, word]


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
            page, doc, info = _render_community(
                a, name, index_file="index.html", docx_file=stem + ".docx", **options
            )
            info.file, info.docx = stem + ".html", stem + ".docx"
            _write(folder / info.file, page)
            write_docx_bytes(doc, folder / info.docx)
            written += [out / info.file, out / info.docx]
            pages.append(info)
        _write(folder / "index.html", _render_index(a, pages, options["lang"]))
    written.append(out / "index.html")
    log(f"report: {len(names)} communities -> {out}")
    return written


def _link(file: str) -> str:
    """A file name as a relative link (not a path: % and # escaped)."""
    return file.replace("%", "%25").replace("#", "%23")


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
            "file": _link(p.file),
            "docx": _link(p.docx),
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
