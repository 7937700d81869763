"""Interactive maps of an Assessment (folium/Leaflet), offline by default.

:func:`map_assessment` draws, for one service circle:

- the residential blocks, green inside the circle and orange to dark red outside it
  by the number of categories they miss (grey where the circle does not apply);
- the facilities of the circle's categories, one layer and one colour per category;
- merged isochrones of each category at the circle's threshold (``planner.isochrones``);
- proposed sites (siting results) when given;
- the street network as a light basemap, and community boundaries when known;
- a layer control, a legend, and popups in Chinese and English.

Every string that comes from data is HTML-escaped before it reaches a popup, the legend
or the page title. Features are drawn with Leaflet's SVG renderer (one ``<path>`` per
block or facility, carrying the CSS classes ``pl-block``, ``pl-facility pl-cat-<i>``,
``pl-site``, ``pl-iso pl-iso-<i>``, ``pl-street`` and ``pl-community``), or with the
canvas renderer on request for very large maps. Every layer is also registered in
the page as ``window.plannerLayers[<role>]`` (roles ``blocks``, ``streets``,
``communities``, ``sites``, ``facilities/<category>``, ``isochrones/<category>``), and
``window.plannerReady`` turns true once the map is drawn.

With ``offline=True`` (the default) the page carries Leaflet itself
(:mod:`planner.outputs.offline`) and loads nothing from the network. Web tiles are
opt-in: ``tiles="osm"``, ``"gaode"`` (Amap; its tiles are GCJ-02, so every layer is
shifted to GCJ-02 for display while the data stay WGS-84) or ``"tianditu"`` (天地图,
CGCS2000, needs a key).
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import Layer

from .._io import atomic_write
from .._log import log
from ..assessment import Assessment
from ..errors import InputError, PlannerError, closest
from ..network import Network
from ..rules import CategoryTable, Circle
from ._common import (
    BLOCK_CLASSES,
    CATEGORY_COLOURS,
    block_keys,
    block_label,
    check_sites,
    members,
    metric_crs,
    missing_lists,
    pick_circle,
    reach_m,
    short_name,
)
from .offline import OfflineMap, RawElement, external_references, without_inline_leaflet

__all__ = ["map_assessment", "map_html", "save_map"]

TILES = ("none", "osm", "gaode", "tianditu")
RENDERERS = ("svg", "canvas")
LANGS = ("zh", "en")
#: Environment variable read for the Tianditu key when ``tianditu_key`` is not given.
TIANDITU_KEY_ENV = "PLANNER_TIANDITU_KEY"

#: Decimal places of written coordinates (1e-6 degree is about 0.1 m).
DECIMALS = 6
#: Streets are merged into chains and simplified by this many metres before drawing.
STREET_SIMPLIFY_M = 0.5
#: Isochrone outlines are simplified by this many metres (they are display only).
ISOCHRONE_SIMPLIFY_M = 5.0
#: Streets beyond this many edges are not drawn (the file would be too large to open).
MAX_STREET_EDGES = 300_000

_WORDS: dict[str, tuple[str, str]] = {
    "blocks": ("地块", "Blocks"),
    "facilities": ("设施", "Facilities"),
    "isochrone": ("等时圈", "Isochrone"),
    "streets": ("路网", "Streets"),
    "sites": ("推荐站点", "Proposed sites"),
    "communities": ("社区边界", "Community boundaries"),
    "minutes": ("分钟", "min"),
    "legend_blocks": ("地块(按缺少设施类数着色)", "Blocks (by categories missing)"),
    "legend_isochrone": ("等时圈(到最近设施)", "Isochrone (to the nearest facility)"),
    "gcj": ("显示坐标已转换为GCJ-02(高德)，数据为WGS-84", "Shown in GCJ-02 for Amap tiles"),
    "osm": ("路网 © OpenStreetMap 贡献者", "Streets © OpenStreetMap contributors"),
}


def _w(key: str, lang: str) -> str:
    zh, en = _WORDS[key]
    return zh if lang == "zh" else en


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _both(table: CategoryTable, cat: str) -> str:
    """Escaped ``"中文 English"`` short names of a category."""
    zh = short_name(table.name(cat, "zh"), "zh")
    en = short_name(table.name(cat, "en"), "en")
    return _esc(zh if zh == en else f"{zh} {en}")


# --- GeoJSON ---------------------------------------------------------------------------


def _script_safe(text: str) -> str:
    """JSON text safe inside an HTML ``<script>`` element (no ``</``, no ``<!--``)."""
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def _display(geoms: gpd.GeoSeries, gcj: bool) -> np.ndarray:
    """Geometries in WGS-84 degrees (GCJ-02 when ``gcj``), rounded to DECIMALS."""
    if geoms.crs is None:
        msg = "a layer without a CRS cannot be drawn; set one (e.g. gdf.set_crs(4326))."
        raise InputError(msg)
    if not geoms.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs(4326)
    values = np.asarray(geoms.to_numpy(), dtype=object)
    if gcj:
        from ..sources.coords import from_wgs84

        def shift(xy: np.ndarray) -> np.ndarray:
            x, y = from_wgs84(xy[:, 0], xy[:, 1], "gcj02")
            return np.column_stack([x, y])

        values = shapely.transform(values, shift)
    return np.asarray(shapely.transform(values, lambda xy: np.round(xy, DECIMALS)), dtype=object)


def _feature_collection(geoms: np.ndarray, props: list[dict[str, Any]]) -> str:
    """A GeoJSON FeatureCollection as script-safe text (empty geometries left out)."""
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    texts = shapely.to_geojson(geoms[ok])
    chosen = np.flatnonzero(ok)
    feats = [
        '{"type":"Feature","geometry":'
        + g
        + ',"properties":'
        + json.dumps(props[i], ensure_ascii=False, separators=(",", ":"))
        + "}"
        for g, i in zip(texts, chosen.tolist(), strict=True)
    ]
    return _script_safe('{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}")


@dataclass
class _Style:
    """One Leaflet path style (``k`` indexes a layer's list of these)."""

    class_name: str
    color: str = "#333333"
    weight: float = 1.0
    opacity: float = 1.0
    fill: bool = True
    fill_color: str | None = None
    fill_opacity: float = 0.6
    dash: str | None = None
    radius: float = 6.0
    interactive: bool = True

    def leaflet(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "className": self.class_name,
            "color": self.color,
            "weight": self.weight,
            "opacity": self.opacity,
            "fill": self.fill,
            "fillColor": self.fill_color or self.color,
            "fillOpacity": self.fill_opacity,
            "radius": self.radius,
            "interactive": self.interactive,
        }
        if self.dash:
            out["dashArray"] = self.dash
        return out


def _figure(el: Element) -> Figure:
    """The page (branca Figure) an element belongs to."""
    root = el.get_root()
    if not isinstance(root, Figure):
        msg = "a map element must be added to a map before it is rendered."
        raise PlannerError(msg)
    return root


def _parent_name(el: Element) -> str:
    parent = el._parent
    if parent is None:
        msg = "a map element must be added to a map before it is rendered."
        raise PlannerError(msg)
    return str(parent.get_name())


def _js(value: object) -> str:
    """A JSON literal safe inside an HTML ``<script>`` element."""
    return _script_safe(json.dumps(value, ensure_ascii=False))


class GeoJsonLayer(Layer):
    """A GeoJSON layer drawn with a fixed list of styles and prebuilt (escaped) popups.

    Feature properties: ``k`` (index into ``styles``, default 0) and ``p`` (popup HTML,
    already escaped). Points become circle markers. Its script is written as plain text
    (never parsed as a template, so data can hold any characters). Not public API.
    """

    def __init__(
        self,
        data: str,
        *,
        name: str,
        role: str,
        styles: Sequence[_Style],
        show: bool = True,
        control: bool = True,
        attribution: str = "",
        n_features: int = 0,
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "PlannerGeoJson"
        self.data = data
        self.role = role
        self.styles = [s.leaflet() for s in styles]
        self.interactive = any(s.interactive for s in styles)
        self.attribution = attribution
        self.n_features = n_features

    def render(self, **kwargs: Any) -> str:
        """Add this layer's script (and, when shown, its addTo) to the page."""
        name = self.get_name()
        options = _js({"attribution": self.attribution, "interactive": self.interactive})
        script = (
            f"var {name} = (function () {{\n"
            f"  var styles = {_js(self.styles)};\n"
            "  function pick(f) { return styles[(f.properties && f.properties.k) || 0]; }\n"
            f"  return L.geoJSON({self.data}, Object.assign({options}, {{\n"
            "    style: pick,\n"
            "    pointToLayer: function (f, ll) { return L.circleMarker(ll, pick(f)); },\n"
            "    onEachFeature: function (f, layer) {\n"
            "      if (f.properties && f.properties.p) {\n"
            "        layer.bindPopup(f.properties.p, {maxWidth: 420});\n"
            "      }\n"
            "    }\n"
            "  }));\n"
            "})();\n"
            "window.plannerLayers = window.plannerLayers || {};\n"
            f"window.plannerLayers[{_js(self.role)}] = {name};\n"
        )
        if self.show:
            script += f"{name}.addTo({_parent_name(self)});\n"
        _figure(self).script.add_child(RawElement(script), name=name)
        return ""


_PAGE_CSS = """
<style>
.leaflet-container { background: %(background)s; font-family: system-ui,
  "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; }
.pl-legend { background: rgba(255,255,255,0.92); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 12px; line-height: 1.35;
  max-width: 300px; max-height: 60vh; overflow-y: auto; }
.pl-legend h4 { margin: 0 0 4px; font-size: 13px; }
.pl-legend .pl-sec { margin-top: 5px; font-weight: 600; }
.pl-legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px;
  vertical-align: -2px; border: 1px solid rgba(0,0,0,0.35); }
.pl-legend i.pl-dot { border-radius: 50%%; }
.pl-legend i.pl-line { height: 0; border-width: 2px 0 0 0; border-style: solid; }
.pl-legend i.pl-dash { border-style: dashed; }
.pl-pop { font-size: 12px; line-height: 1.4; }
.pl-pop table { border-collapse: collapse; margin: 3px 0; }
.pl-pop td, .pl-pop th { padding: 1px 6px 1px 0; text-align: left; vertical-align: top; }
.pl-pop td + td, .pl-pop th + th { text-align: right; white-space: nowrap; }
.pl-pop .m, .pl-pop .pl-miss { color: #a50026; }
</style>
"""


class _Page(MacroElement):
    """Page CSS, the attribution prefix, the scale and the legend (plain text)."""

    def __init__(self, legend: str, background: str) -> None:
        super().__init__()
        self._name = "PlannerPage"
        self.legend = legend
        self.background = background

    def render(self, **kwargs: Any) -> str:
        figure = _figure(self)
        figure.header.add_child(
            RawElement(_PAGE_CSS % {"background": self.background}), name=self.get_name()
        )
        script = (
            "(function (map) {\n"
            '  map.attributionControl.setPrefix("Leaflet");\n'
            "  L.control.scale({imperial: false}).addTo(map);\n"
            '  var legend = L.control({position: "bottomleft"});\n'
            "  legend.onAdd = function () {\n"
            '    var div = L.DomUtil.create("div", "pl-legend");\n'
            f"    div.innerHTML = {_js(self.legend)};\n"
            "    L.DomEvent.disableClickPropagation(div);\n"
            "    L.DomEvent.disableScrollPropagation(div);\n"
            "    return div;\n"
            "  };\n"
            "  legend.addTo(map);\n"
            f"}})({_parent_name(self)});\n"
        )
        figure.script.add_child(RawElement(script), name=self.get_name())
        return ""


class _LayerControl(MacroElement):
    """Leaflet's layer control over the map's layers. Leaflet inserts names as HTML, so
    they are escaped first, then written as JSON text."""

    def __init__(self, collapsed: bool) -> None:
        super().__init__()
        self._name = "PlannerLayerControl"
        self.collapsed = collapsed

    def render(self, **kwargs: Any) -> str:
        base: list[str] = []
        overlays: list[str] = []
        parent = self._parent
        children = parent._children.values() if parent is not None else []
        for item in children:
            if isinstance(item, Layer) and item.control:
                pair = f"{_js(_esc(item.layer_name))}: {item.get_name()}"
                (overlays if item.overlay else base).append(pair)
        script = (
            f"L.control.layers({{{', '.join(base)}}}, {{{', '.join(overlays)}}}, "
            f"{_js({'collapsed': self.collapsed, 'position': 'topright'})})"
            f".addTo({_parent_name(self)});\n"
        )
        _figure(self).script.add_child(RawElement(script), name=self.get_name())
        return ""


_READY_JS = """
(function (map, bounds) {
  var box = map.getContainer();
  function sized() { return box.clientWidth > 0 && box.clientHeight > 0; }
  function fit() {
    map.invalidateSize({animate: false});
    if (bounds) { map.fitBounds(bounds, {padding: [16, 16], maxZoom: 17, animate: false}); }
    window.plannerReady = true;
  }
  if (sized()) { fit(); }
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      if (!sized()) { return; }
      if (!window.plannerReady) { fit(); } else { map.invalidateSize({animate: false}); }
    }).observe(box);
  }
})(%(map)s, %(bounds)s);
"""


class _Ready(MacroElement):
    """Fits the view to the data once the map has a size, then sets ``plannerReady``.

    A map inside an ``<iframe srcdoc>`` (the reports) may run its script before the
    frame is laid out; Leaflet would then draw for a 0 x 0 map. A ResizeObserver waits
    for a real size (and keeps Leaflet's size current, e.g. when printing).
    """

    def __init__(self, bounds: list[list[float]] | None) -> None:
        super().__init__()
        self._name = "PlannerReady"
        self.bounds = bounds

    def render(self, **kwargs: Any) -> str:
        script = _READY_JS % {"map": _parent_name(self), "bounds": _js(self.bounds)}
        _figure(self).script.add_child(RawElement(script), name=self.get_name())
        return ""


# --- choosing what to draw ------------------------------------------------------------


def _shown_categories(
    a: Assessment, c: Circle, categories: Sequence[str] | str | None, column: str
) -> list[str]:
    if categories is None:
        return list(c.categories)
    present = (
        [str(v) for v in pd.unique(a.facilities[column].dropna())]
        if column in a.facilities.columns
        else []
    )
    if isinstance(categories, str):
        if categories == "all":
            return sorted(present)
        categories = [categories]
    out = []
    for cat in categories:
        if cat not in a.preset.table and cat not in present:
            msg = (
                f"categories: {cat!r} is neither a category of preset {a.preset.id!r} nor a "
                f"value of facilities[{column!r}].{closest(cat, [*present, *c.categories])}"
            )
            raise InputError(msg)
        out.append(cat)
    return list(dict.fromkeys(out))


def _network_for(a: Assessment, c: Circle) -> Network | None:
    if "key_of" in a.inputs:
        return a.network_for(c.id)
    return next(iter(a.networks.values()), None)


def _time_column(a: Assessment, c: Circle, cat: str) -> tuple[str, bool]:
    """The blocks column of a circle's time (or distance) to a category, as assessed."""
    return a.value_column(c.id, cat), a.engine_key(c.id).distance


# --- popups ---------------------------------------------------------------------------


def _fmt_int(value: object) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(v) else f"{v:,.0f}"


_STATUS_TEXT = {
    True: "<b>圈内 inside</b>",
    False: "<b class='pl-miss'>圈外 outside</b>",
    None: "<b>不适用 not applicable</b>",
}


@dataclass
class _BlockPopups:
    """The columns a block popup shows for one circle, as arrays (one entry per block)."""

    c: Circle
    names: np.ndarray | None
    community: np.ndarray | None
    population: np.ndarray
    households: np.ndarray | None
    values: dict[str, np.ndarray]
    missing: list[list[str]]
    cat_names: dict[str, str]

    @classmethod
    def of(cls, a: Assessment, blocks: pd.DataFrame, c: Circle) -> _BlockPopups:
        def column(name: str, dtype: Any) -> np.ndarray | None:
            return blocks[name].to_numpy(dtype=dtype) if name in blocks.columns else None

        values = {}
        for cat in c.categories:
            col, _ = _time_column(a, c, cat)
            got = column(col, float)
            values[cat] = got if got is not None else np.full(len(blocks), np.nan)
        return cls(
            c=c,
            names=column("name", object),
            community=column("community", object),
            population=blocks["population"].to_numpy(dtype=float),
            households=column("households", float),
            values=values,
            missing=missing_lists(blocks[f"{c.id}__missing"]),
            cat_names={cat: _both(a.preset.table, cat) for cat in c.categories},
        )

    def popup(self, i: int, idx: object, state: bool | None) -> str:
        """The popup HTML of block ``i`` (index label ``idx``); state None: not applicable."""
        label = block_label(idx, self.names[i] if self.names is not None else None)
        parts = [f"<div class='pl-pop'><b>地块 Block {_esc(label)}</b><br>"]
        comm = self.community[i] if self.community is not None else None
        if comm is not None and not pd.isna(comm):
            parts.append(f"社区 Community: {_esc(comm)}<br>")
        parts.append(f"人口 Population: {_fmt_int(self.population[i])}")
        if self.households is not None and not math.isnan(self.households[i]):
            parts.append(f" · 户数 Households: {_fmt_int(self.households[i])}")
        parts.append(f"<br>{_esc(self.c.name_zh)}: {_STATUS_TEXT[state]}")
        parts.append(self._times(i))
        if state is not None and self.missing[i]:
            names = ", ".join(self.cat_names.get(m, _esc(m)) for m in self.missing[i])
            parts.append(f"<span class='pl-miss'>缺少 Missing: {names}</span>")
        parts.append("</div>")
        return "".join(parts)

    def _times(self, i: int) -> str:
        """The table of times (or distances) to each category; over the limit in red."""
        distance, limit = self.c.is_distance, self.c.threshold
        head = "<tr><th>设施 category<th>" + ("距离 m" if distance else "分钟 min")
        bound = f"&gt;{limit:,.0f}" if distance else f"&gt;{limit / 60.0:g}"
        rows = []
        for cat in self.c.categories:
            v = self.values[cat][i]
            if math.isnan(v):
                rows.append(f"<tr><td>{self.cat_names[cat]}<td>—")
            elif math.isinf(v) or v > limit:
                rows.append(f"<tr class=m><td>{self.cat_names[cat]}<td>{bound}")
            else:
                text = f"{v:,.0f}" if distance else f"{v / 60.0:.1f}"
                rows.append(f"<tr><td>{self.cat_names[cat]}<td>{text}")
        return f"<table>{head}{''.join(rows)}</table>"  # td/tr close implicitly


def _block_popups(a: Assessment, blocks: pd.DataFrame, c: Circle) -> tuple[list[int], list[str]]:
    """Style index and popup HTML of every block, for circle ``c``."""
    keys = block_keys(blocks, c).tolist()
    table = _BlockPopups.of(a, blocks, c)
    ins = blocks[c.id].to_numpy(dtype=object)
    pops = [
        table.popup(i, idx, bool(ins[i]) if keys[i] != 0 else None)
        for i, idx in enumerate(blocks.index)
    ]
    return keys, pops


def _facility_popup(name: object, cat_label: str, code: object, shown_as: str) -> str:
    text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    title = _esc(text) if text.strip() and text != "<NA>" else "(无名称 unnamed)"
    extra = f"<br>类型 type: {_esc(code)}" if str(code) != shown_as else ""
    return f"<div class='pl-pop'><b>{title}</b><br>{cat_label}{extra}</div>"


#: Columns of siting results shown for a site: (column, bilingual label).
SITE_FIELDS = (
    ("population_new", "新增覆盖人口 population newly covered"),
    ("population_covered", "覆盖人口 population covered"),
    ("households_new", "新增覆盖户数 households newly covered"),
    ("households_covered", "覆盖户数 households covered"),
    ("blocks_new", "新增覆盖地块 blocks newly covered"),
    ("share_after", "建成后覆盖率 share after"),
    ("category", "设施 category"),
)


def _site_popup(row: pd.Series, i: int) -> str:
    rank = row.get("rank", i + 1)
    parts = [f"<div class='pl-pop'><b>推荐站点 Proposed site #{_esc(rank)}</b>"]
    name = row.get("name")
    if name is not None and not (isinstance(name, float) and math.isnan(name)):
        parts.append(f"<br>{_esc(name)}")
    for col, label in SITE_FIELDS:
        if col in row.index and not pd.isna(row[col]):
            val = row[col]
            if col == "share_after" and isinstance(val, float | np.floating):
                text = f"{float(val):.1%}"
            elif isinstance(val, int | float | np.number):
                text = _fmt_int(val)
            else:
                text = _esc(val)
            parts.append(f"<br>{label}: {text}")
    parts.append("</div>")
    return "".join(parts)


# --- layers ---------------------------------------------------------------------------


@dataclass
class _Plan:
    """Everything one map draws, before it becomes folium elements."""

    layers: list[GeoJsonLayer] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    bounds: list[list[float]] | None = None


def _bounds(geoms: np.ndarray) -> list[list[float]] | None:
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return None
    x0, y0, x1, y1 = shapely.total_bounds(geoms[ok])
    return [[float(y0), float(x0)], [float(y1), float(x1)]]


def _union_bounds(
    a: list[list[float]] | None, b: list[list[float]] | None
) -> list[list[float]] | None:
    if a is None or b is None:
        return a or b
    return [
        [min(a[0][0], b[0][0]), min(a[0][1], b[0][1])],
        [max(a[1][0], b[1][0]), max(a[1][1], b[1][1])],
    ]


def _extent_filter(
    gdf: gpd.GeoDataFrame, extent: shapely.Geometry | None, crs: Any
) -> gpd.GeoDataFrame:
    """Rows of ``gdf`` that touch ``extent`` (given in ``crs``); all rows without one."""
    if extent is None or len(gdf) == 0:
        return gdf
    geom = gdf.geometry if gdf.crs is None or gdf.crs.equals(crs) else gdf.geometry.to_crs(crs)
    return gdf[shapely.intersects(geom.to_numpy(), extent)]


def _iso_input(
    a: Assessment,
    c: Circle,
    cats: list[str],
    column: str,
    isochrones: bool | gpd.GeoDataFrame,
    times_s: Sequence[float] | None,
) -> gpd.GeoDataFrame | None:
    """Isochrones to draw: given, computed with planner.isochrones, or None."""
    if isochrones is False or isochrones is None:
        return None
    if isinstance(isochrones, gpd.GeoDataFrame):
        if "category" not in isochrones.columns:
            msg = (
                "isochrones: the GeoDataFrame needs a 'category' column (and 'time_s'), as "
                "planner.isochrones returns."
            )
            raise InputError(msg)
        return isochrones
    if isochrones is not True:
        msg = f"isochrones must be True, False or a GeoDataFrame; got {type(isochrones).__name__}."
        raise InputError(msg)
    from ..isochrones import isochrones as compute

    net = _network_for(a, c)
    if net is None or column not in a.facilities.columns:
        return None
    fac = a.facilities
    codes = fac[column].astype(object).to_numpy()
    parts = []
    for cat in cats:
        rows = np.isin(codes, list(members(a.preset.table, cat)))
        if rows.any():
            parts.append(fac[rows][[fac.geometry.name]].assign(_layer=cat))
    if not parts:
        return None
    sub = gpd.GeoDataFrame(pd.concat(parts), geometry=fac.geometry.name, crs=fac.crs)
    times = tuple(times_s) if times_s is not None else (c.threshold,)
    out: gpd.GeoDataFrame = compute(net, sub, times_s=times, how="merged", category="_layer")
    return out


@dataclass
class _Scene:
    """What the layer builders share: the circle, the blocks drawn and the area shown."""

    a: Assessment
    c: Circle
    cats: list[str]
    column: str
    community: str | None
    blocks: gpd.GeoDataFrame
    gcj: bool
    lang: str
    extent: shapely.Geometry | None = None  # a community map's area (in ``metric``)
    metric: Any = None
    colour: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> CategoryTable:
        return self.a.preset.table

    def near(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The rows of ``gdf`` a community map shows (all rows on a whole-area map)."""
        if self.community is None or self.extent is None:
            return gdf
        return _extent_filter(gdf, self.extent, self.metric)


def _scene(
    a: Assessment, c: Circle, cats: list[str], column: str, community: str | None, **kw: Any
) -> _Scene:
    """The scene of a map: all blocks, or one community's with the area around it."""
    colour = {cat: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, cat in enumerate(cats)}
    scene = _Scene(a, c, cats, column, community, a.blocks, colour=colour, **kw)
    if community is None:
        return scene
    blocks = a.blocks
    known = (
        [str(v) for v in pd.unique(blocks["community"].dropna())]
        if "community" in blocks.columns
        else []
    )
    if community not in known:
        msg = f"community={community!r} has no blocks in this assessment."
        raise InputError(msg + closest(community, known))
    blocks = blocks[blocks["community"].astype(object) == community]
    metric = metric_crs(blocks)
    shapes = [shapely.union_all(blocks.geometry.to_crs(metric).to_numpy())]
    own = _own_community(a, community)
    if own is not None and len(own):
        shapes.append(shapely.union_all(own.geometry.to_crs(metric).to_numpy()))
    core = shapely.union_all(shapes)
    scene.blocks, scene.metric = blocks, metric
    scene.extent = shapely.buffer(shapely.envelope(core), max(reach_m(c), 200.0))
    return scene


def _own_community(a: Assessment, community: str | None) -> gpd.GeoDataFrame | None:
    """The community boundaries drawn: all, or the named one's (None: none known)."""
    if a.communities is None or "community" not in a.communities.columns:
        return None
    com = a.communities
    if community is not None:
        com = com[com["community"].astype(object) == community]
    return com


def _add_streets(scene: _Scene, plan: _Plan, net: Network | None) -> None:
    """The street network as a light basemap (bottom layer)."""
    if net is None:
        return
    layer = _streets_layer(net, scene.extent, scene.metric, scene.gcj, scene.lang)
    if layer is None:
        return
    plan.layers.append(layer)
    plan.legend.append(
        f"<div><i class='pl-line' style='border-color:#8d8d8d'></i>"
        f"{_esc(_w('streets', scene.lang))}</div>"
    )


def _community_popup(row: pd.Series) -> str:
    bits = [f"<div class='pl-pop'><b>社区 Community: {_esc(row['community'])}</b>"]
    for col, label in (("street", "街道 Street"), ("setting", "城乡 Setting")):
        if col in row.index and not pd.isna(row[col]):
            bits.append(f"<br>{label}: {_esc(row[col])}")
    return "".join(bits) + "</div>"


def _add_communities(scene: _Scene, plan: _Plan) -> None:
    """Community boundaries, dashed, with a popup each; they set the map's bounds."""
    com = _own_community(scene.a, scene.community)
    if com is None or not len(com):
        return
    props = [{"p": _community_popup(row)} for _, row in com.iterrows()]
    geoms = _display(com.geometry, scene.gcj)
    style = _Style("pl-community", color="#444444", weight=2, fill=False, dash="6 4")
    plan.layers.append(
        GeoJsonLayer(
            _feature_collection(geoms, props),
            name=_w("communities", scene.lang),
            role="communities",
            styles=[style],
            n_features=len(com),
        )
    )
    plan.legend.append(
        "<div><i class='pl-line pl-dash' style='border-color:#444'></i>"
        f"{_esc(_w('communities', scene.lang))}</div>"
    )
    plan.bounds = _bounds(geoms)


def _add_blocks(scene: _Scene, plan: _Plan) -> None:
    """The blocks coloured by status, their legend, and the map's bounds."""
    c, lang = scene.c, scene.lang
    keys, pops = _block_popups(scene.a, scene.blocks, c)
    bgeoms = _display(scene.blocks.geometry, scene.gcj)
    styles = [
        _Style("pl-block", color="#555555", weight=0.6, fill_color=fill, fill_opacity=0.6, radius=7)
        for _, fill, _, _ in BLOCK_CLASSES
    ]
    circle_name = c.name_zh if lang == "zh" else c.name_en
    plan.layers.append(
        GeoJsonLayer(
            _feature_collection(
                bgeoms, [{"k": k, "p": p} for k, p in zip(keys, pops, strict=True)]
            ),
            name=f"{_w('blocks', lang)}: {circle_name}",
            role="blocks",
            styles=styles,
            n_features=int((~(shapely.is_missing(bgeoms) | shapely.is_empty(bgeoms))).sum()),
        )
    )
    used = set(keys)
    plan.legend.append(f"<div class='pl-sec'>{_esc(_w('legend_blocks', lang))}</div>")
    for k, (_, fill, zh, en) in enumerate(BLOCK_CLASSES):
        if k in used or k in (1, 3, 4, 5, 6):
            plan.legend.append(
                f"<div><i style='background:{fill}'></i>{_esc(zh if lang == 'zh' else en)}</div>"
            )
    if scene.community is None:  # the whole area: blocks and community boundaries
        plan.bounds = _union_bounds(plan.bounds, _bounds(bgeoms))
    elif plan.bounds is None:
        plan.bounds = _bounds(bgeoms)


def _iso_when(times: np.ndarray | None, distance: bool, lang: str) -> str:
    """The thresholds of an isochrone layer, for its name (" 15 分钟", " 500 m")."""
    if times is None:
        return ""
    steps = sorted(set(times.tolist()))
    if distance:
        return " " + "/".join(f"{t:g}" for t in steps) + " m"
    return " " + "/".join(f"{t / 60:g}" for t in steps) + f" {_w('minutes', lang)}"


def _iso_display(scene: _Scene, iso: gpd.GeoDataFrame) -> np.ndarray:
    """Isochrone outlines clipped to a community map's area, simplified, for display."""
    if scene.extent is not None and scene.metric is not None:
        clipped = shapely.intersection(iso.geometry.to_crs(scene.metric).values, scene.extent)
        iso = gpd.GeoDataFrame(iso.assign(geometry=clipped), geometry="geometry", crs=scene.metric)
    isomet = iso.to_crs(iso.estimate_utm_crs()) if iso.crs.is_geographic else iso
    simple = gpd.GeoSeries(
        shapely.simplify(isomet.geometry.to_numpy(), ISOCHRONE_SIMPLIFY_M), crs=isomet.crs
    )
    return _display(simple, scene.gcj)


def _add_isochrones(scene: _Scene, plan: _Plan, iso: gpd.GeoDataFrame | None) -> None:
    """Merged isochrones per category: above the blocks, not clickable, hidden at first."""
    if iso is None or not len(iso):
        return
    iso = iso[iso["category"].astype(str).isin(scene.cats)]
    igeoms = _iso_display(scene, iso)
    kinds = iso["category"].astype(str).to_numpy()
    times = iso["time_s"].to_numpy(dtype=float) if "time_s" in iso.columns else None
    for i, cat in enumerate(scene.cats):
        rows = np.flatnonzero(kinds == cat)
        if not len(rows):
            continue
        label = short_name(scene.table.name(cat, scene.lang), scene.lang)
        when = _iso_when(
            times[rows] if times is not None else None, scene.c.is_distance, scene.lang
        )
        style = _Style(
            f"pl-iso pl-iso-{i}",
            color=scene.colour[cat],
            weight=1.5,
            fill_opacity=0.1,
            dash="4 3",
            interactive=False,
        )
        plan.layers.append(
            GeoJsonLayer(
                _feature_collection(igeoms[rows], [{} for _ in rows]),
                name=f"{_w('isochrone', scene.lang)}: {label}{when}",
                role=f"isochrones/{cat}",
                styles=[style],
                show=False,
                n_features=len(rows),
            )
        )
    plan.legend.append(
        "<div><i class='pl-dash' style='background:rgba(31,119,180,0.1);"
        f"border-style:dashed'></i>{_esc(_w('legend_isochrone', scene.lang))}</div>"
    )


def _points(gdf: gpd.GeoDataFrame, gcj: bool) -> np.ndarray:
    """Display geometries of a layer as points (a point inside each polygon)."""
    geom = gdf.geometry
    kinds = shapely.get_type_id(geom.to_numpy())
    if ((kinds >= 0) & (kinds != shapely.GeometryType.POINT)).any():
        geom = geom.representative_point()
    return _display(gpd.GeoSeries(geom, crs=gdf.crs), gcj)


def _add_facilities(scene: _Scene, plan: _Plan) -> None:
    """The facilities, one layer (and one colour) per category."""
    fac = scene.a.facilities
    if scene.column not in fac.columns or not len(fac):
        return
    fac = scene.near(fac)
    fgeoms = _points(fac, scene.gcj)
    codes = fac[scene.column].astype(object).to_numpy()
    names = fac["name"].to_numpy(dtype=object) if "name" in fac.columns else None
    lang = scene.lang
    plan.legend.append(f"<div class='pl-sec'>{_esc(_w('facilities', lang))}</div>")
    for i, cat in enumerate(scene.cats):
        rows = np.flatnonzero(np.isin(codes, list(members(scene.table, cat))))
        label = _both(scene.table, cat)
        props = [
            {"p": _facility_popup(names[r] if names is not None else None, label, codes[r], cat)}
            for r in rows
        ]
        colour = scene.colour[cat]
        style = _Style(
            f"pl-facility pl-cat-{i}",
            color="#ffffff",
            weight=1.2,
            fill_color=colour,
            fill_opacity=0.95,
            radius=6,
        )
        short = short_name(scene.table.name(cat, lang), lang)
        plan.layers.append(
            GeoJsonLayer(
                _feature_collection(fgeoms[rows], props),
                name=f"{_w('facilities', lang)}: {short} ({len(rows)})",
                role=f"facilities/{cat}",
                styles=[style],
                n_features=len(rows),
            )
        )
        plan.legend.append(
            f"<div><i class='pl-dot' style='background:{colour}'></i>"
            f"{_esc(short)} ({len(rows)})</div>"
        )


def _add_sites(scene: _Scene, plan: _Plan, sites: gpd.GeoDataFrame | None) -> None:
    """Proposed sites (top layer)."""
    if sites is None:
        return
    s = scene.near(check_sites(sites))
    sgeoms = _points(s, scene.gcj)
    props = [{"p": _site_popup(row, i)} for i, (_, row) in enumerate(s.iterrows())]
    style = _Style(
        "pl-site", color="#000000", weight=3, fill_color="#ffd700", fill_opacity=1, radius=9
    )
    plan.layers.append(
        GeoJsonLayer(
            _feature_collection(sgeoms, props),
            name=f"{_w('sites', scene.lang)} ({len(s)})",
            role="sites",
            styles=[style],
            n_features=len(s),
        )
    )
    plan.legend.append(
        "<div><i class='pl-dot' style='background:#ffd700;border:2px solid #000'></i>"
        f"{_esc(_w('sites', scene.lang))} ({len(s)})</div>"
    )


def _plan(
    a: Assessment,
    c: Circle,
    *,
    cats: list[str],
    column: str,
    community: str | None,
    sites: gpd.GeoDataFrame | None,
    iso: gpd.GeoDataFrame | None,
    streets: bool,
    gcj: bool,
    lang: str,
) -> _Plan:
    """The layers of a map, bottom to top: streets, communities, blocks, isochrones,
    facilities, sites; with the legend and the bounds to fit."""
    scene = _scene(a, c, cats, column, community, gcj=gcj, lang=lang)
    plan = _Plan()
    _add_streets(scene, plan, _network_for(a, c) if streets else None)
    _add_communities(scene, plan)
    _add_blocks(scene, plan)
    _add_isochrones(scene, plan, iso)
    _add_facilities(scene, plan)
    _add_sites(scene, plan, sites)
    if plan.bounds is None and len(a.facilities):
        plan.bounds = _bounds(_display(a.facilities.geometry, gcj))
    return plan


def _streets_layer(
    net: Network, extent: shapely.Geometry | None, metric: Any, gcj: bool, lang: str
) -> GeoJsonLayer | None:
    if net.n_edges > MAX_STREET_EDGES and extent is None:
        log(f"map: {net.n_edges:,} streets are too many to draw; no street layer")
        return None
    gdf = net.streets_gdf(to_input_crs=False)
    lines = gdf.geometry.to_numpy()
    if extent is not None and metric is not None:
        box = gpd.GeoSeries([extent], crs=metric).to_crs(gdf.crs).iloc[0]
        lines = shapely.clip_by_rect(lines, *box.bounds)
        lines = lines[~shapely.is_empty(lines)]
    if not len(lines):
        return None
    chains = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    chains = shapely.simplify(chains, STREET_SIMPLIFY_M, preserve_topology=False)
    geoms = _display(gpd.GeoSeries([shapely.multilinestrings(chains)], crs=gdf.crs), gcj)
    source = str(getattr(net, "source", "")).lower()
    osm = any(k in source for k in (".pbf", ".osm", "osmnx", "openstreetmap", "overpass"))
    style = _Style(
        "pl-street", color="#8d8d8d", weight=1.0, opacity=0.7, fill=False, interactive=False
    )
    return GeoJsonLayer(
        _feature_collection(geoms, [{}]),
        name=_w("streets", lang),
        role="streets",
        styles=[style],
        attribution=_w("osm", lang) if osm else "",
        n_features=1,
    )


def _tile_layer(tiles: str, key: str | None, lang: str) -> list[folium.TileLayer]:
    if tiles == "osm":
        return [
            folium.TileLayer(
                tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                attr="© OpenStreetMap contributors",
                name="OpenStreetMap",
                max_zoom=19,
            )
        ]
    if tiles == "gaode":
        return [
            folium.TileLayer(
                tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                "&style=8&x={x}&y={y}&z={z}",
                attr="© 高德地图 AutoNavi",
                name="高德地图 Amap" if lang == "zh" else "Amap (Gaode)",
                subdomains="1234",
                max_zoom=18,
            )
        ]
    if tiles == "tianditu":
        base = "https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        query = "&LAYER=%s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        out = []
        for layer, overlay in (("vec", False), ("cva", True)):
            url = base % layer + query % layer + "&TILECOL={x}&tk=" + str(key)
            out.append(
                folium.TileLayer(
                    tiles=url,
                    attr="© 天地图 Tianditu",
                    name=("天地图" if lang == "zh" else "Tianditu") + (" 注记" if overlay else ""),
                    subdomains="01234567",
                    max_zoom=18,
                    overlay=overlay,
                    control=not overlay,
                )
            )
        return out
    return []


# --- public API -----------------------------------------------------------------------


def map_assessment(
    assessment: Assessment,
    *,
    circle: str | None = None,
    sites: gpd.GeoDataFrame | None = None,
    tiles: str = "none",
    offline: bool = True,
    lang: str = "zh",
    isochrones: bool | gpd.GeoDataFrame = True,
    isochrone_times_s: Sequence[float] | None = None,
    categories: Sequence[str] | str | None = None,
    community: str | None = None,
    streets: bool = True,
    renderer: str = "svg",
    tianditu_key: str | None = None,
    category: str = "category",
) -> folium.Map:
    """An interactive map of one service circle of an assessment.

    Parameters
    ----------
    assessment
        The result of :func:`planner.assess`.
    circle
        The circle id to draw. Default: the circle with the lowest population share
        (of the community, when ``community`` is given); ties go to the first.
    sites
        Proposed sites (points, e.g. siting results with ``rank``,
        ``population_covered``, ``name``), drawn as their own layer.
    tiles
        {"none", "osm", "gaode", "tianditu"}. "none" (default) draws no web tiles: the
        street network is the basemap and the map works offline. "gaode" shifts every
        layer to GCJ-02 for display (the data stay WGS-84). "tianditu" needs a key.
    offline
        Inline Leaflet's JS and CSS from an installed package and load nothing else,
        so the page renders with no network (default True).
    lang
        {"zh", "en"}: language of layer names and the legend (popups show both).
    isochrones
        True: draw merged isochrones per category with ``planner.isochrones`` (when
        it is available); a GeoDataFrame with ``category``/``time_s`` columns: draw
        those; False: none. Isochrone layers start hidden (switch them on in the layer
        control).
    isochrone_times_s
        Thresholds of computed isochrones (default: the circle's threshold).
    categories
        Facility categories drawn: default the circle's categories; "all" every value
        of the facilities' category column; or a list of ids.
    community
        Draw only this community's blocks, zoomed to it, with the facilities and
        streets within the circle's reach around it.
    streets
        Draw the street network as a light basemap (default True).
    renderer
        {"svg", "canvas"}: Leaflet's SVG renderer (default, one element per feature)
        or canvas (for very large maps).
    tianditu_key
        Tianditu key (or the ``PLANNER_TIANDITU_KEY`` environment variable).
    category
        The facilities' category column.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` (atomic) or ``m.save(path)``.
    """
    a = assessment
    key = _check_options(lang=lang, tiles=tiles, renderer=renderer, tianditu_key=tianditu_key)
    c = pick_circle(a, circle, community)
    cats = _shown_categories(a, c, categories, category)
    iso = _iso_input(a, c, cats, category, isochrones, isochrone_times_s)
    gcj = tiles == "gaode"
    plan = _plan(
        a,
        c,
        cats=cats,
        column=category,
        community=community,
        sites=sites,
        iso=iso,
        streets=streets,
        gcj=gcj,
        lang=lang,
    )
    m = _new_map(plan.bounds, offline=offline, canvas=renderer == "canvas")
    title = c.name_zh if lang == "zh" else c.name_en
    if community is not None:
        title = f"{community} · {title}"
    _figure(m).title = _esc(f"{title} — planner")
    for t in _tile_layer(tiles, key, lang):
        t.add_to(m)
    for layer in plan.layers:
        layer.add_to(m)
    m.add_child(_Page(_legend(c, plan, community, gcj, lang), _BACKGROUND[tiles == "none"]))
    m.add_child(_LayerControl(collapsed=community is not None or len(plan.layers) > 12))
    m.add_child(_Ready(plan.bounds))
    # what was drawn, by layer role (features per layer): for checks and tests
    vars(m)["planner_layers"] = {layer.role: layer.n_features for layer in plan.layers}
    log(
        f"map: circle {c.id}, {len(plan.layers)} layers, tiles={tiles}, offline={offline}, "
        f"renderer={renderer}"
    )
    return m


#: The map's background: without tiles (True) a paper tone under the streets.
_BACKGROUND = {True: "#f4f3ee", False: "#dddddd"}


def _check_options(*, lang: str, tiles: str, renderer: str, tianditu_key: str | None) -> str | None:
    """Check the map's options; returns the Tianditu key to use (None when not needed)."""
    if lang not in LANGS:
        msg = f"lang={lang!r}; expected 'zh' or 'en'.{closest(lang, LANGS)}"
        raise InputError(msg)
    if tiles not in TILES:
        msg = f"tiles={tiles!r}; expected one of {', '.join(TILES)}.{closest(tiles, TILES)}"
        raise InputError(msg)
    if renderer not in RENDERERS:
        msg = f"renderer={renderer!r}; expected 'svg' or 'canvas'.{closest(renderer, RENDERERS)}"
        raise InputError(msg)
    key = tianditu_key or os.environ.get(TIANDITU_KEY_ENV)
    if tiles == "tianditu" and (not key or not str(key).isalnum()):
        msg = (
            "tiles='tianditu' needs a Tianditu key (天地图 tk): pass tianditu_key='...' or "
            f"set {TIANDITU_KEY_ENV}; get one at the Tianditu developer site. Or use "
            "tiles='none' for a map that needs no key and no network."
        )
        raise InputError(msg)
    return key


def _new_map(bounds: list[list[float]] | None, *, offline: bool, canvas: bool) -> folium.Map:
    """An empty map centred on ``bounds`` (no tiles: layers are added after)."""
    cls = OfflineMap if offline else folium.Map
    centre = bounds or [[0.0, 0.0], [0.0, 0.0]]
    return cls(
        location=[(centre[0][0] + centre[1][0]) / 2, (centre[0][1] + centre[1][1]) / 2],
        zoom_start=14,
        tiles=None,
        prefer_canvas=canvas,
        control_scale=False,
        max_zoom=19,
    )


def _legend(c: Circle, plan: _Plan, community: str | None, gcj: bool, lang: str) -> str:
    """The legend's HTML: the circle and how it is travelled, then each layer's key."""
    how = c.describe("zh" if lang == "zh" else "en")
    head = f"<h4>{_esc(c.name_zh if lang == 'zh' else c.name_en)}</h4><div>{_esc(how)}</div>" + (
        f"<div>{_esc(community)}</div>" if community is not None else ""
    )
    notes = f"<div class='pl-sec'>{_esc(_w('gcj', lang))}</div>" if gcj else ""
    return head + "".join(plan.legend) + notes


def map_html(m: folium.Map) -> str:
    """The whole HTML document of a map (offline when it is an offline map)."""
    text: str = m.get_root().render()
    if isinstance(m, OfflineMap):
        found = external_references(without_inline_leaflet(text))
        if found:
            msg = f"offline map still references external assets: {', '.join(found)}."
            raise PlannerError(msg)
    return text


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write a map's HTML document to ``path`` atomically (temp file, then rename).

    Returns the path written. Folders are created as needed.
    """
    out = Path(path)
    if out.suffix.lower() not in {".html", ".htm"}:
        msg = f"save_map: path {str(path)!r} should end in .html."
        raise InputError(msg)
    text = map_html(m)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(out, write)
    return out
