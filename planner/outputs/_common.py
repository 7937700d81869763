"""Helpers shared by the map and the report builders of the outputs stage."""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import settings
from ..assessment import Assessment
from ..errors import InputError, closest, describe
from ..rules import CategoryTable, Circle

#: A community map shows facilities and streets this far beyond the community at most.
MAX_CONTEXT_M = 5000.0


#: Colours of facility categories (and of their isochrones), in order of the circle; the
#: interactive map and the picture use the same.
CATEGORY_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
)

#: Block status classes (see :func:`block_keys`): (key, fill colour, zh label, en label).
BLOCK_CLASSES: tuple[tuple[str, str, str, str], ...] = (
    ("na", "#bdbdbd", "不适用(城乡类型不符)", "circle does not apply"),
    ("in0", "#1a9641", "圈内，设施齐全", "inside, every category reached"),
    ("in1", "#a6d96a", "圈内，缺部分设施", "inside, some categories missing"),
    ("out1", "#fdae61", "圈外，缺1类", "outside, 1 category missing"),
    ("out2", "#f46d43", "圈外，缺2类", "outside, 2 categories missing"),
    ("out3", "#d73027", "圈外，缺3类", "outside, 3 categories missing"),
    ("out4", "#a50026", "圈外，缺4类及以上", "outside, 4 or more missing"),
)


def block_keys(blocks: pd.DataFrame, c: Circle) -> np.ndarray:
    """Status class of every block for circle ``c`` (an index into BLOCK_CLASSES): not
    applicable, inside with every category or some missing, outside missing 1, 2, 3 or
    4+ categories."""
    inside = blocks[c.id].astype("boolean")
    n = blocks[f"{c.id}__n_missing"].astype("Float64").fillna(0).to_numpy(dtype=float)
    applies = inside.notna().to_numpy()
    ins = inside.fillna(False).to_numpy(dtype=bool)
    keys = np.where(ins, np.where(n == 0, 1, 2), 2 + np.clip(np.maximum(n, 1), 1, 4))
    return np.where(applies, keys, 0).astype(int)


def short_name(name: str, lang: str) -> str:
    """The first of a category's alternative names (``"超市 / 便利店"`` -> ``"超市"``)."""
    first = name.split(" / ", maxsplit=1)[0]
    if lang == "en":
        first = first.split(", ")[0].split(" (")[0]
    return first.strip() or name


def pick_circle(a: Assessment, circle: str | None, community: str | None) -> Circle:
    ids = [c.id for c in a.circles]
    if circle is not None:
        if circle not in ids:
            msg = f"circle={circle!r} is not in this assessment; circles: {describe(ids)}."
            raise InputError(msg + closest(circle, ids))
        return a.circle(circle)
    shares = a.summary["population_share"]
    if community is not None and len(a.by_community):
        level = a.by_community.index.get_level_values(0)
        if community in set(level):
            shares = a.by_community.xs(community, level=0)["population_share"]
    shares = pd.to_numeric(shares, errors="coerce").reindex(ids)
    if shares.notna().any():
        return a.circle(str(shares.idxmin()))
    return a.circles[0]


def members(table: CategoryTable, cat: str) -> tuple[str, ...]:
    return table.members(cat) if cat in table else (cat,)


def reach_m(c: Circle) -> float:
    """How far the circle reaches, metres (for a community map's surroundings)."""
    if c.is_distance:
        return float(c.distance_m or 0.0)
    speed = c.speed_kph or settings.speeds_kph.get(c.mode) or 30.0
    return min(MAX_CONTEXT_M, float(speed) / 3.6 * c.threshold)


def block_label(index: Hashable, row_name: object) -> str:
    if row_name is not None and not (isinstance(row_name, float) and math.isnan(row_name)):
        text = str(row_name).strip()
        if text and text != "<NA>":
            return text
    return f"#{index}" if isinstance(index, int | np.integer) else str(index)


def check_sites(sites: object) -> gpd.GeoDataFrame:
    inner = getattr(sites, "sites", None)
    if not isinstance(sites, gpd.GeoDataFrame) and isinstance(inner, gpd.GeoDataFrame):
        sites = inner  # a siting result object
    if not isinstance(sites, gpd.GeoDataFrame):
        msg = (
            f"sites must be a GeoDataFrame of points (siting results); got {type(sites).__name__}."
        )
        raise InputError(msg)
    if sites.crs is None:
        msg = "sites has no CRS; set one (e.g. sites.set_crs(4326))."
        raise InputError(msg)
    return sites


def missing_ids(value: object) -> list[str]:
    """The category ids of one ``<circle>__missing`` cell, whatever form it has.

    Accepts a list, tuple or array of ids (the result model), a comma-joined string
    (``"housekeeping, catering"``, results written before the change), or NA/None (the
    circle does not apply to the block): the last gives an empty list, as does "".
    """
    if value is None or value is pd.NA:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list | tuple | np.ndarray | pd.Series | pd.Index):
        return [str(v).strip() for v in value if not _is_na(v) and str(v).strip()]
    return [] if _is_na(value) else [str(value)]


def missing_lists(column: pd.Series) -> list[list[str]]:
    """:func:`missing_ids` of every cell of a ``<circle>__missing`` column."""
    return [missing_ids(v) for v in column.to_numpy(dtype=object)]


def missing_names(ids: list[str], table: CategoryTable, lang: str = "zh") -> str:
    """Display names of missing categories, joined (``"家政服务、再生资源回收点"``)."""
    sep = "、" if lang == "zh" else ", "
    return sep.join(short_name(table.name(cat, lang), lang) for cat in ids)


def _is_na(value: object) -> bool:
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def is_missing(v: object) -> bool:
    """None, NA or NaN."""
    if v is None or v is pd.NA:
        return True
    try:
        return math.isnan(float(v))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def fmt_num(v: object, digits: int = 0) -> str:
    """``1,600`` (``—`` when missing)."""
    if is_missing(v):
        return "—"
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    return f"{f:,.{digits}f}"


def fmt_pct(v: object) -> str:
    """``37.5%`` (``—`` when missing)."""
    return "—" if is_missing(v) else f"{float(v):.1%}"  # type: ignore[arg-type]


def fmt_value(v: object) -> str:
    """A target value: whole numbers plainly, others to 3 significant digits."""
    if is_missing(v):
        return "—"
    f = float(v)  # type: ignore[arg-type]
    return f"{f:,.0f}" if abs(f) >= 100 or f == int(f) else f"{f:,.3g}"


def metric_crs(gdf: gpd.GeoDataFrame) -> object:
    """A metric CRS for drawing ``gdf``: its own when projected, else the UTM zone of its
    centre (as ``estimate_utm_crs`` finds it for an area within one zone), looked up once
    per tenth of a degree: the lookup queries PROJ's database and costs ~0.15 s."""
    if not gdf.crs.is_geographic:
        return gdf.crs
    x0, y0, x1, y1 = gdf.to_crs(4326).total_bounds
    return _utm_at(round((x0 + x1) / 2, 1), round((y0 + y1) / 2, 1))


@functools.lru_cache(maxsize=256)
def _utm_at(lon: float, lat: float) -> object:
    point = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=4326)
    return point.estimate_utm_crs()
