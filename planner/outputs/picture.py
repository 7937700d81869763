"""A community's map as a picture (PNG), drawn offline with matplotlib: no tiles, no text.

The picture shows what the interactive map shows for one community and circle: the
streets in light grey, the blocks coloured by their status (the interactive map's
colours), the facilities of the circle's categories as dots, proposed sites as gold
stars with a black edge, and the community boundary dashed. It carries no words (the
document's caption and legend explain it), so it needs no CJK font, and it is drawn in
the community's metric CRS, north up, with a scale bar.
"""

from __future__ import annotations

import io
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ..assessment import Assessment
from ..rules import Circle
from ._common import BLOCK_CLASSES, CATEGORY_COLOURS, block_keys, check_sites, members, metric_crs

#: Picture size (inches) and resolution: 16 x 12 cm at 200 dpi fits an A4 page.
SIZE_IN = (6.3, 4.7)
DPI = 200

#: Block fill by status, as on the interactive map.
BLOCK_FILLS = tuple(fill for _, fill, _, _ in BLOCK_CLASSES)


def scale_length(extent_width_m: float) -> float:
    """The scale bar's length (m) for a map this wide: a round number near a fifth."""
    target = extent_width_m / 5
    steps = (50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000)
    return float(min((s for s in steps if s >= target), default=steps[-1]))


def _draw_streets(ax: Any, a: Assessment, c: Circle, box: Any, metric: Any) -> None:
    net = a.network_for(c.id) if "key_of" in a.inputs else next(iter(a.networks.values()), None)
    if net is None:
        return
    streets = net.streets_gdf(to_input_crs=False)
    lines = streets.geometry.to_crs(metric).to_numpy()
    lines = shapely.clip_by_rect(lines, *box.bounds)
    lines = lines[~shapely.is_empty(lines)]
    if len(lines):
        gpd.GeoSeries(lines, crs=metric).plot(ax=ax, color="#9a9a9a", linewidth=0.5, zorder=1)


def _draw_points(ax: Any, gdf: gpd.GeoDataFrame, box: Any, metric: Any, **style: Any) -> None:
    if not len(gdf):
        return
    pts = gdf.geometry.to_crs(metric).representative_point().to_numpy()
    pts = pts[shapely.intersects(pts, box)]
    if len(pts):
        xy = shapely.get_coordinates(pts)
        ax.scatter(xy[:, 0], xy[:, 1], **style)


def _extent(a: Assessment, community: str, margin_m: float) -> tuple[Any, Any, Any, Any]:
    """The community's blocks, its boundary rows (or None), a metric CRS and the box shown."""
    blocks = a.blocks[a.blocks["community"].astype(object) == community]
    metric = metric_crs(blocks)
    shapes = [shapely.union_all(blocks.geometry.to_crs(metric).to_numpy())]
    own = None
    if a.communities is not None and "community" in a.communities.columns:
        own = a.communities[a.communities["community"].astype(object) == community]
        if len(own):
            shapes.append(shapely.union_all(own.geometry.to_crs(metric).to_numpy()))
    box = shapely.box(*shapely.buffer(shapely.union_all(shapes), margin_m).bounds)
    return blocks, own, metric, box


#: Proposed sites: gold stars with a black edge.
SITE_STYLE: dict[str, Any] = {
    "s": 180,
    "c": "#ffd700",
    "marker": "*",
    "edgecolors": "black",
    "linewidths": 0.9,
    "zorder": 5,
}


def _draw_blocks(ax: Any, blocks: gpd.GeoDataFrame, own: Any, c: Circle, metric: Any) -> None:
    """Blocks filled by status, and the community boundary dashed."""
    fills = np.array(BLOCK_FILLS, dtype=object)[block_keys(blocks, c)]
    blocks.to_crs(metric).plot(
        ax=ax, color=list(fills), edgecolor="#555555", linewidth=0.4, alpha=0.75,
        markersize=60, zorder=2,
    )  # fmt: skip
    if own is not None and len(own):
        own.to_crs(metric).boundary.plot(
            ax=ax, color="#333333", linewidth=1.4, linestyle=(0, (5, 3)), zorder=3
        )


def _draw_facilities(
    ax: Any, a: Assessment, c: Circle, category: str, box: Any, metric: Any
) -> None:
    """The facilities of the circle's categories, a colour per category."""
    fac = a.facilities
    if category not in fac.columns:
        return
    codes = fac[category].astype(object).to_numpy()
    for i, cat in enumerate(c.categories):
        rows = np.isin(codes, list(members(a.preset.table, cat)))
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        style = {"s": 22, "c": colour, "edgecolors": "white", "linewidths": 0.6, "zorder": 4}
        _draw_points(ax, fac[rows], box, metric, **style)


def map_picture(
    a: Assessment,
    community: str,
    c: Circle,
    *,
    sites: Any = None,
    category: str = "category",
    margin_m: float = 150.0,
) -> tuple[bytes, float]:
    """The PNG of one community's map for circle ``c``, and its scale bar's length (m)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    blocks, own, metric, box = _extent(a, community, margin_m)
    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_facecolor("#f4f3ee")
    fig.patch.set_facecolor("#f4f3ee")
    _draw_streets(ax, a, c, box, metric)
    _draw_blocks(ax, blocks, own, c, metric)
    _draw_facilities(ax, a, c, category, box, metric)
    if sites is not None:
        _draw_points(ax, check_sites(sites), box, metric, **SITE_STYLE)
    x0, y0, x1, y1 = box.bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    length = scale_length(x1 - x0)
    _bar(ax, length)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor=fig.get_facecolor())
    return buf.getvalue(), length


def _bar(ax: Any, length: float) -> None:
    """A scale bar ``length`` metres long in the lower left corner."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    px, py = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    tick = (y1 - y0) * 0.012
    ax.fill(
        [px, px + length, px + length, px], [py, py, py + tick, py + tick], color="black", zorder=6
    )
    ax.plot([px, px + length], [py, py], color="black", linewidth=1, zorder=6)
