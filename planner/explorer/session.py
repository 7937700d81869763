"""One what-if session: the edits a planner makes by hand, their history and variants.

The Jupyter widget and the local web page drive the same :class:`Session`: it answers
the page's messages (``add``, ``remove``, ``undo``, ``save``) with the state to draw,
never raises on bad input (a message for the page instead, nothing changed), and keeps
every step so that undo is a step back. All the numbers come from
:func:`planner.what_if`.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import settings
from ..assessment import Assessment, check_assessment
from ..errors import InputError, PlannerError, PlannerWarning
from ..outputs.export import write_sites
from ..outputs.report import write_report
from ..whatif import OffNetworkError, new_stations, what_if

#: Target kinds whose categories a station may serve (the others read no facilities).
STATION_TARGETS = ("presence", "opening_hours")


@dataclass(frozen=True)
class Station:
    """A station placed by hand: where, what it provides, its rows in the facilities."""

    key: str
    name: str
    lon: float
    lat: float
    services: tuple[str, ...]
    labels: tuple[Hashable, ...]


@dataclass
class Step:
    """The assessment after some edits, the stations standing and the facilities removed."""

    assessment: Assessment
    stations: tuple[Station, ...] = ()
    removed: tuple[Hashable, ...] = ()


@dataclass
class Variant:
    """A set of edits saved under a name, with its assessment and the files written."""

    name: str
    step: Step
    community: str | None
    circle: str
    files: list[Path] = field(default_factory=list)


@dataclass
class VariantSites:
    """What the report reads of proposed sites (``sites``, ``after``, ``circle``)."""

    sites: gpd.GeoDataFrame
    after: Assessment
    circle: str


class Session:
    """A what-if session on an assessment (see the module docstring).

    Parameters
    ----------
    assessment
        The result of :func:`planner.assess`.
    out
        Folder where saved variants are written (``<out>/variants/<name>/``); None:
        variants are kept in memory only.
    lang
        {"zh", "en"}: the language of the page and of the reports.
    proposals
        Proposed sites to show (points, e.g. ``planner.site(...).sites`` or a siting
        result): a click on one places a station there.
    """

    def __init__(
        self,
        assessment: Assessment,
        *,
        out: str | os.PathLike[str] | None = None,
        lang: str = "zh",
        proposals: Any = None,
    ) -> None:
        check_assessment(assessment, "explore needs")
        if lang not in {"zh", "en"}:
            msg = f"lang={lang!r}; expected 'zh' or 'en'."
            raise InputError(msg)
        self.base = assessment
        self.out = None if out is None else Path(out)
        self.lang = lang
        self.steps: list[Step] = [Step(assessment)]
        self.variants: list[Variant] = []
        self._count = 0
        given = assessment.inputs["facilities"]
        self._labels = list(given.index)
        self._category = str(assessment.inputs["category"])
        self._services = _services(assessment)
        self._proposals = _proposals(proposals)
        what_if(assessment)  # snaps the blocks once, before the first click
        self.last_ms = 0.0

    # --- what the page draws ----------------------------------------------------------

    @property
    def current(self) -> Step:
        """The latest step."""
        return self.steps[-1]

    def setup(self) -> dict[str, Any]:
        """Everything drawn once: blocks, facilities, circles, services, communities."""
        a = self.base
        blocks = a.blocks.to_crs(4326)
        names = blocks["name"] if "name" in blocks.columns else pd.Series(None, index=blocks.index)
        community = (
            blocks["community"]
            if "community" in blocks.columns
            else pd.Series(None, index=blocks.index)
        )
        features = [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-6)),
                "properties": {
                    "i": i,
                    "label": _text(label),
                    "name": _text(name),
                    "community": _text(com),
                    "population": _number(pop),
                },
            }
            for i, (label, geom, name, com, pop) in enumerate(
                zip(
                    blocks.index,
                    blocks.geometry,
                    names,
                    community,
                    blocks["population"],
                    strict=True,
                )
            )
            if geom is not None and not geom.is_empty
        ]
        table = a.preset.table
        return {
            "lang": self.lang,
            "circles": [
                {
                    "id": c.id,
                    "name_zh": c.name_zh,
                    "name_en": c.name_en,
                    "how": c.describe(self.lang),
                    "categories": [m for k in c.categories for m in _members(table, k)],
                }
                for c in a.circles
            ],
            "services": [
                {"id": s, "name_zh": table.name(s, "zh"), "name_en": table.name(s, "en")}
                for s in self._services
            ],
            "blocks": {"type": "FeatureCollection", "features": features},
            "facilities": self._facilities(),
            "communities": self._communities(),
            "proposals": self._proposals,
            "can_save": self.out is not None,
        }

    def _facilities(self) -> list[dict[str, Any]]:
        a = self.base
        given = a.inputs["facilities"]
        table = a.preset.table
        wanted = set(self._members())
        cats = given[self._category].astype(object).to_numpy()
        keep = np.flatnonzero(np.isin(cats, list(wanted)))
        pts = given.geometry.iloc[keep].to_crs(4326)
        names = given["name"].to_numpy(dtype=object)[keep] if "name" in given.columns else None
        out = []
        for j, pos in enumerate(keep):
            p = pts.iloc[j]
            if p is None or p.is_empty:
                continue
            cat = str(cats[pos])
            out.append(
                {
                    "key": f"f{pos}",
                    "lon": round(float(p.x), 7),
                    "lat": round(float(p.y), 7),
                    "category": cat,
                    "category_name": table.name(cat, self.lang) if cat in table else cat,
                    "name": _text(names[j]) if names is not None else "",
                }
            )
        return out

    def _members(self) -> list[str]:
        table = self.base.preset.table
        return [m for s in self._services for m in _members(table, s)]

    def _communities(self) -> list[str]:
        com = self.base.communities
        if com is None or "community" not in com.columns:
            return []
        return [str(c) for c in pd.unique(com["community"].dropna())]

    def view(self, message: tuple[str, str] | None = None) -> dict[str, Any]:
        """The state to draw after a step (and a message: ("error"|"ok", text))."""
        a, base = self.current.assessment, self.base
        flags = {}
        for c in a.circles:
            col = a.blocks[c.id]
            flags[c.id] = [None if pd.isna(v) else int(bool(v)) for v in col.to_numpy(object)]
        return {
            "flags": flags,
            "summary": _summary_rows(base, a),
            "communities": _community_rows(base, a, self.lang),
            "stations": [
                {"key": s.key, "name": s.name, "lon": s.lon, "lat": s.lat, "services": s.services}
                for s in self.current.stations
            ],
            "removed": [f"f{self._labels.index(x)}" for x in self.current.removed],
            "can_undo": len(self.steps) > 1,
            "message": None if message is None else {"kind": message[0], "text": message[1]},
            "ms": round(self.last_ms, 1),
            "variants": self.compare_rows(),
        }

    # --- edits --------------------------------------------------------------------------

    def handle(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one message of the page with the state to draw; bad input -> a message."""
        kind = str(msg.get("type", ""))
        actions: dict[str, Callable[[], str]] = {
            "add": lambda: self.add(
                msg.get("lon"), msg.get("lat"), msg.get("services") or [], msg.get("name")
            ),
            "remove": lambda: self.remove(str(msg.get("key", ""))),
            "undo": self.undo,
            "save": lambda: self.save(
                str(msg.get("name") or ""), msg.get("community"), msg.get("circle")
            ),
            "view": lambda: "",
        }
        if kind not in actions:
            return self.view(("error", f"unknown request {kind!r}. Nothing changed."))
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PlannerWarning)
                text = actions[kind]()
        except PlannerError as exc:
            return self.view(("error", f"{' '.join(str(exc).split())} Nothing changed."))
        if kind in {"add", "remove", "undo"}:
            self.last_ms = (time.perf_counter() - t0) * 1000
        return self.view(("ok", text) if text else None)

    def add(self, lon: Any, lat: Any, services: Sequence[str], name: str | None = None) -> str:
        """Place a station providing ``services`` at (lon, lat) (WGS-84)."""
        x, y = _coordinate(lon, "longitude"), _coordinate(lat, "latitude")
        chosen = [str(s) for s in services]
        if not chosen:
            msg = "this station provides no service: tick at least one service it will offer."
            raise InputError(msg)
        unknown = [s for s in chosen if s not in self._services]
        if unknown:
            msg = f"unknown service {unknown[0]!r}; the services offered are those listed."
            raise InputError(msg)
        key = f"S{self._count + 1}"
        default = f"新站点 {key}" if self.lang == "zh" else f"new station {key}"
        label = str(name or "").strip()[:80] or default
        table = self.base.preset.table
        cats = [table.members(s)[0] if s in table else s for s in chosen]  # a group: its first
        rows = new_stations([(x, y)], [cats], names=[label], labels=[key], category=self._category)
        rows["service"] = chosen
        cur = self.current
        try:
            after = what_if(cur.assessment, add=rows)
        except OffNetworkError as exc:
            msg = (
                f"the point clicked ({x:.6f}, {y:.6f}) is farther than {settings.max_snap_m:g} m "
                f"from every street usable in mode {exc.mode!r}: nobody could reach a station "
                "there. Click nearer a street."
            )
            raise InputError(msg) from None
        labels = tuple(after.inputs["facilities"].index[-len(rows) :])
        st = Station(key, label, x, y, tuple(chosen), labels)
        self._count += 1
        self.steps.append(Step(after, (*cur.stations, st), cur.removed))
        return self._say(f"已添加{label}", f"added {label}")

    def remove(self, key: str) -> str:
        """Remove a station placed before (``S<n>``) or a facility (``f<position>``)."""
        cur = self.current
        for st in cur.stations:
            if st.key == key:
                after = what_if(cur.assessment, remove=list(st.labels))
                kept = tuple(s for s in cur.stations if s.key != key)
                self.steps.append(Step(after, kept, cur.removed))
                return self._say(f"已移除{st.name}", f"removed {st.name}")
        pos = int(key[1:]) if re.fullmatch(r"f\d+", key) else -1
        if not 0 <= pos < len(self._labels) or self._labels[pos] in cur.removed:
            msg = f"facility {key!r} does not exist (or was removed already)."
            raise InputError(msg)
        label = self._labels[pos]
        after = what_if(cur.assessment, remove=[label])
        self.steps.append(Step(after, cur.stations, (*cur.removed, label)))
        return self._say(f"已移除设施 {label}", f"removed facility {label}")

    def undo(self) -> str:
        """Go back one step."""
        if len(self.steps) == 1:
            msg = "there is nothing to undo."
            raise InputError(msg)
        self.steps.pop()
        return self._say("已撤销上一步", "undone")

    # --- results ------------------------------------------------------------------------

    def stations_frame(self, step: Step | None = None) -> gpd.GeoDataFrame:
        """The stations standing, one row each (WGS-84): name, categories, services."""
        stations = (step or self.current).stations
        return gpd.GeoDataFrame(
            {
                "station": [s.key for s in stations],
                "name": [s.name for s in stations],
                "categories": [", ".join(s.services) for s in stations],
            },
            geometry=[shapely.Point(s.lon, s.lat) for s in stations],
            crs="EPSG:4326",
        ).set_axis(pd.Index([s.key for s in stations], dtype=object))

    def edits(self, step: Step | None = None) -> dict[str, Any]:
        """``add``/``remove`` for :func:`planner.what_if` that repeat the step's edits."""
        step = step or self.current
        given = step.assessment.inputs["facilities"]
        added = [x for s in step.stations for x in s.labels]
        return {"add": given.loc[added] if added else None, "remove": list(step.removed)}

    # --- variants -----------------------------------------------------------------------

    def save(self, name: str, community: Any = None, circle: Any = None) -> str:
        """Keep the current edits as a variant; with ``out``, write its files and report."""
        name = _variant_name(name, [v.name for v in self.variants])
        step = self.current
        if not step.stations and not step.removed:
            msg = "there are no edits to save yet: add a station or remove a facility first."
            raise InputError(msg)
        cid = self._circle(circle)
        com = self._community(community, step)
        v = Variant(name, step, com, cid)
        if self.out is not None:
            v.files = self._write(v)
        self.variants.append(v)
        where = "" if self.out is None else str(self.out / "variants" / name)
        return self._say(
            f"已保存方案 {name}" + (f"，写入 {where}" if where else ""),
            f"saved variant {name!r}" + (f" to {where}" if where else ""),
        )

    def _say(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def _circle(self, circle: Any) -> str:
        ids = [c.id for c in self.base.circles]
        if circle in ids:
            return str(circle)
        shares = self.base.summary["population_share"].astype(float)
        return str(shares.idxmin()) if shares.notna().any() else ids[0]

    def _community(self, community: Any, step: Step) -> str | None:
        names = self._communities()
        if not names:
            return None
        if community in names:
            return str(community)
        if community not in (None, ""):
            msg = f"community {community!r} is not one of this assessment's communities."
            raise InputError(msg)
        com = self.base.communities
        assert com is not None
        if step.stations:
            last = step.stations[-1]
            p = gpd.GeoSeries([shapely.Point(last.lon, last.lat)], crs=4326).to_crs(com.crs)
            hit = com[com.geometry.contains(p.iloc[0])]
            if len(hit):
                return str(hit["community"].iloc[0])
        return names[0]

    def _write(self, v: Variant) -> list[Path]:
        """The variant's stations (GeoPackage, CSV) and its community's report, whole."""
        assert self.out is not None
        final = self.out / "variants" / v.name
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{v.name}.", dir=final.parent))
        try:
            sites = self._sites(v)
            write_sites(sites.sites, tmp, name="stations")
            if v.step.removed:
                pd.DataFrame({"removed": [str(x) for x in v.step.removed]}).to_csv(
                    tmp / "removed.csv", index=False, encoding="utf-8-sig"
                )
            if v.community is not None:
                now = what_if(self.base, remove=list(v.step.removed))
                write_report(now, v.community, tmp, lang=self.lang, circle=v.circle, sites=sites)
            _replace_folder(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return sorted(p for p in final.rglob("*") if p.is_file())

    def _sites(self, v: Variant) -> VariantSites:
        """The variant's stations with what each adds to the circle, in the order placed."""
        frame = self.stations_frame(v.step)
        current = what_if(self.base, remove=list(v.step.removed))
        pop, hh, share = [], [], []
        for st in v.step.stations:
            rows = v.step.assessment.inputs["facilities"].loc[list(st.labels)]
            nxt = what_if(current, add=rows)
            b, n = current.summary, nxt.summary
            pop.append(_gain(b, n, "population_inside", v.circle))
            hh.append(_gain(b, n, "households_inside", v.circle))
            share.append(float(n["population_share"].to_dict()[v.circle]))
            current = nxt
        frame = frame.assign(
            rank=np.arange(1, len(frame) + 1),
            population_new=pop,
            households_new=hh,
            share_after=share,
        )
        return VariantSites(frame, v.step.assessment, v.circle)

    def compare_rows(self) -> dict[str, Any]:
        """The base, the current edits and each variant side by side (JSON for the page)."""
        frame = self.compare()
        return {
            "columns": [str(c) for c in frame.columns],
            "rows": [
                {"label": str(i), "values": [_number(v) for v in row]}
                for i, row in zip(frame.index, frame.to_numpy(dtype=object), strict=True)
            ],
            "files": {v.name: [str(p) for p in v.files] for v in self.variants},
        }

    def compare(self) -> pd.DataFrame:
        """Per circle the population share, and the targets passing, of each variant."""
        cols = {"base": Step(self.base), "now": self.current}
        cols.update({v.name: v.step for v in self.variants})
        data = {}
        for name, step in cols.items():
            a = step.assessment
            shares = a.summary["population_share"].astype(float)
            passing = int((a.targets["status"] == "pass").sum())
            data[name] = [*shares.to_list(), passing, len(step.stations), len(step.removed)]
        index = [*self.base.summary.index, "targets passing", "stations", "removed"]
        return pd.DataFrame(data, index=index)


# --- helpers -----------------------------------------------------------------------------


def _services(a: Assessment) -> list[str]:
    """What a station may provide: the circles' categories, then the targets' ones."""
    out = [k for c in a.circles for k in c.categories]
    for t in a.preset.targets.values():
        if t.kind in STATION_TARGETS:
            out.extend(t.categories)
    return list(dict.fromkeys(out))


def _proposals(proposals: Any) -> list[dict[str, Any]]:
    """Proposed sites as points for the page: where, a name, the rank."""
    if proposals is None:
        return []
    sites = getattr(proposals, "sites", proposals)
    if not isinstance(sites, gpd.GeoDataFrame) or sites.crs is None:
        msg = "proposals must be points with a CRS (planner.site(...).sites or its result)."
        raise InputError(msg)
    pts = sites.geometry.representative_point().to_crs(4326)
    names = sites["name"] if "name" in sites.columns else pd.Series(None, index=sites.index)
    ranks = sites["rank"] if "rank" in sites.columns else pd.Series(None, index=sites.index)
    return [
        {
            "lon": float(p.x),
            "lat": float(p.y),
            "label": _text(label),
            "name": _text(name),
            "rank": _number(rank),
        }
        for label, p, name, rank in zip(sites.index, pts, names, ranks, strict=True)
        if p is not None and not p.is_empty
    ]


def _members(table: Any, key: str) -> list[str]:
    return list(table.members(key)) if key in table else [key]


def _coordinate(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or abs(v) > (180 if what == "longitude" else 90):
        msg = f"the {what} {value!r} is not a coordinate; click on the map to place a station."
        raise InputError(msg)
    return v


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _gain(before: pd.DataFrame, after: pd.DataFrame, col: str, cid: str) -> float:
    return float(after[col].to_dict()[cid]) - float(before[col].to_dict()[cid])


def _summary_rows(base: Assessment, a: Assessment) -> list[dict[str, Any]]:
    b, n = base.summary, a.summary
    before = b["population_share"].to_dict()
    cols = {k: n[k].to_dict() for k in ("population_share", "population_inside", "population")}
    outside = n["blocks_outside"].to_dict()
    return [
        {
            "circle": c.id,
            "base": _number(before[c.id]),
            "now": _number(cols["population_share"][c.id]),
            "inside": _number(cols["population_inside"][c.id]),
            "population": _number(cols["population"][c.id]),
            "blocks_outside": int(outside[c.id]),
        }
        for c in a.circles
    ]


def _community_rows(base: Assessment, a: Assessment, lang: str) -> dict[str, Any]:
    """Per community: each circle's share and each target's status, before and now."""
    out: dict[str, Any] = {}
    titles = {
        tid: t.name_zh if lang == "zh" else t.name_en for tid, t in base.preset.targets.items()
    }
    for name, frame in (("base", base), ("now", a)):
        bc = frame.by_community
        if len(bc):
            level = bc.index.get_level_values
            for com, cid, share in zip(level(0), level(1), bc["population_share"], strict=True):
                out.setdefault(str(com), {"circles": {}, "targets": {}})
                out[str(com)]["circles"].setdefault(str(cid), {})[name] = _number(share)
        units = frame.targets_by_unit
        units = units[units["unit"] == "community"]
        for tid, com, status in zip(units["target"], units["name"], units["status"], strict=True):
            entry = out.setdefault(str(com), {"circles": {}, "targets": {}})["targets"]
            entry.setdefault(str(tid), {"name": titles.get(tid, str(tid))})[name] = str(status)
    return out


def _variant_name(name: str, taken: Sequence[str]) -> str:
    """A variant name usable as a folder name (letters, digits, CJK, - and _)."""
    clean = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", name.strip(), flags=re.UNICODE).strip("_.")
    clean = clean[:60] or f"variant_{len(taken) + 1}"
    if clean in taken:
        msg = f"a variant named {clean!r} exists already; give another name."
        raise InputError(msg)
    return clean


def _replace_folder(tmp: Path, final: Path) -> None:
    """Put the folder written at ``tmp`` in place of ``final`` (whole or not at all)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
