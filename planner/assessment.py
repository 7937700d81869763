"""The result model of an assessment: :class:`Assessment` and how each circle was travelled.

The assess stage builds it (:func:`planner.assess`); the outputs stage reads it. The one
link back, :meth:`Assessment.to_files`, goes through a writer that the outputs stage
registers (:func:`register_writer`) so that this module never imports the outputs.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .errors import InputError
from .network import Network
from .rules import Circle, Preset

#: Speed that turns travel time into distance: 1 m/s, so seconds equal metres.
DISTANCE_SPEED_KPH = 3.6

#: The function behind :meth:`Assessment.to_files` (set by ``planner.outputs.export``).
_WRITER: Callable[..., list[Path]] | None = None


def register_writer(writer: Callable[..., list[Path]]) -> None:
    """Make ``writer(assessment, folder, formats=, name=)`` the one behind ``to_files``."""
    global _WRITER  # noqa: PLW0603 - a one-slot registry filled at import of the outputs
    _WRITER = writer


@dataclass(frozen=True)
class EngineKey:
    """One way of travelling: a mode, its speed, and whether times or distances count."""

    mode: str
    speed_kph: float | None
    distance: bool

    @property
    def label(self) -> str:
        """Column suffix, e.g. ``walk`` or ``walk_m`` for network distance."""
        if self.distance:
            return f"{self.mode}_m"
        return self.mode if self.speed_kph is None else f"{self.mode}{self.speed_kph:g}"


@dataclass
class Assessment:
    """The result of :func:`assess`.

    Attributes
    ----------
    blocks
        The input blocks (same index, same CRS) with, per circle ``<id>``: ``<id>``
        (boolean, True = inside the circle, network reading; NA where the circle does
        not apply to the block's setting), ``<id>__radius`` (straight-line reading),
        ``<id>__missing`` (comma-separated category ids not reached) and
        ``<id>__n_missing``; per category and mode ``time_<mode><speed>_s__<category>``
        (seconds, e.g. ``time_walk4_s__catering``; :meth:`value_column` names it) or
        ``net_<mode>_m__<category>`` (network metres), and
        ``line_m__<category>`` (straight-line metres to the nearest facility).
    summary
        One row per circle: population/household share inside, blocks outside, the
        radius reading, mode, speed, threshold and verification labels.
    by_community, by_street, by_setting
        The same measures per community, per street/township and per urban/rural.
    coverage
        Per circle and category: population share reaching that category in time.
    confidence
        Per category: facilities found and the labels of the rules that found them; a
        category with none is flagged (its 0 % is missing data, not a finding).
    targets
        The plan's targets: pass, fail or "input missing", value and threshold.
    """

    blocks: gpd.GeoDataFrame
    summary: pd.DataFrame
    by_community: pd.DataFrame
    by_street: pd.DataFrame
    by_setting: pd.DataFrame
    coverage: pd.DataFrame
    confidence: pd.DataFrame
    targets: pd.DataFrame
    targets_by_unit: pd.DataFrame
    circles: list[Circle]
    preset: Preset
    facilities: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    networks: dict[EngineKey, Network]
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict, repr=False)

    def circle(self, cid: str) -> Circle:
        """The circle with this id."""
        for c in self.circles:
            if c.id == cid:
                return c
        msg = f"no circle {cid!r} in this assessment; circles: {[c.id for c in self.circles]}."
        raise InputError(msg)

    def engine_key(self, cid: str) -> EngineKey:
        """How the circle was travelled (mode, speed, time or distance) in this run."""
        self.circle(cid)
        return self.inputs["key_of"][cid]

    def value_column(self, cid: str, category: str) -> str:
        """The blocks column holding the circle's time (s) or distance (m) to a category."""
        k = self.engine_key(cid)
        return f"net_{k.mode}_m__{category}" if k.distance else f"time_{k.label}_s__{category}"

    def network_for(self, cid: str) -> Network:
        """The network (mode and speed) the circle was assessed on."""
        return self.networks[self.engine_key(cid)]

    def _repr_html_(self) -> str:
        return summary_html(self)

    def __repr__(self) -> str:
        lines = [
            f"<planner.Assessment preset={self.preset.id!r}: {len(self.blocks):,} blocks, "
            f"{len(self.circles)} circles>"
        ]
        for cid, row in self.summary.iterrows():
            share = row["population_share"]
            text = "n/a" if pd.isna(share) else f"{share:.1%}"
            lines.append(f"  {cid:<28} {text:>7} of population inside ({row['how']})")
        return "\n".join(lines)

    def to_files(
        self,
        folder: str | os.PathLike[str],
        *,
        formats: Sequence[str] = ("gpkg", "csv", "xlsx"),
        name: str = "assessment",
    ) -> list[Path]:
        """Write the tables (GeoPackage layers, CSV, XLSX) atomically.

        Returns the files written, as :func:`planner.outputs.export.write_assessment` does.
        """
        if _WRITER is None:  # pragma: no cover - planner/__init__ imports the outputs stage
            msg = "no assessment writer registered; import planner.outputs.export first."
            raise RuntimeError(msg)
        return _WRITER(self, folder, formats=formats, name=name)


def summary_html(a: Assessment) -> str:
    """A compact HTML summary for Jupyter (every string escaped)."""
    esc = html.escape
    rows = []
    for cid, r in a.summary.iterrows():
        share = r["population_share"]
        radius = r["radius_population_share"]
        rows.append(
            "<tr>"
            f"<td>{esc(str(r['name_zh']))}<br><small>{esc(str(cid))}</small></td>"
            f"<td>{esc(str(r['how']))}</td>"
            f"<td style='text-align:right'>{'n/a' if pd.isna(share) else f'{share:.1%}'}</td>"
            f"<td style='text-align:right'>{'n/a' if pd.isna(radius) else f'{radius:.1%}'}</td>"
            f"<td style='text-align:right'>{int(r['blocks_outside']):,}</td>"
            f"<td>{esc(str(r['label']))}/{esc(str(r['mode_label']))}</td>"
            "</tr>"
        )
    flagged = a.confidence[a.confidence["facilities"] == 0].index.tolist()
    note = (
        f"<p><b>No facilities found</b> for: {esc(', '.join(map(str, flagged)))} "
        "(their coverage reflects missing data).</p>"
        if flagged
        else ""
    )
    t = a.targets
    tline = ""
    if len(t):
        counts = t["status"].value_counts()
        tline = (
            "<p>Targets: "
            + ", ".join(f"{esc(str(k))}: {int(v)}" for k, v in counts.items())
            + "</p>"
        )
    return (
        f"<div><b>planner Assessment</b> · preset {esc(a.preset.id)} · {len(a.blocks):,} blocks"
        "<table><thead><tr><th>circle 生活圈</th><th>how 计算方式</th><th>population inside "
        "(network) 人口覆盖率</th><th>straight-line radius 半径</th><th>blocks outside 圈外地块"
        "</th><th>labels</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + note
        + tline
        + "</div>"
    )
