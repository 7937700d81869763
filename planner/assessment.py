"""The result model of an assessment: :class:`Assessment` and how each circle was travelled.

The assess stage builds it (:func:`planner.assess`); the outputs stage reads it. The one
link back, :meth:`Assessment.to_files`, goes through a writer that the outputs stage
registers (:func:`register_writer`) so that this module never imports the outputs.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
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


def value_column(category: str, key: EngineKey) -> str:
    """The blocks column of the time (s) or network distance (m) to a category."""
    return f"net_{key.mode}_m__{category}" if key.distance else f"time_{key.label}_s__{category}"


def line_column(category: str) -> str:
    """The blocks column of the straight-line distance (m) to a category."""
    return f"line_m__{category}"


def value_pairs(
    circles: Sequence[Circle], key_of: Mapping[str, EngineKey]
) -> list[tuple[str, EngineKey]]:
    """The (category, way of travelling) pairs the circles need, in order, once each."""
    return list(dict.fromkeys((cat, key_of[c.id]) for c in circles for cat in c.categories))


def long_times(
    blocks: pd.DataFrame, circles: Sequence[Circle], key_of: Mapping[str, EngineKey]
) -> pd.DataFrame:
    """The value columns of a blocks table as a long table (see :attr:`Assessment.times`)."""
    pairs = value_pairs(circles, key_of)
    cats = list(dict.fromkeys(cat for cat, _ in pairs))
    columns = [value_column(cat, k) for cat, k in pairs] + [line_column(c) for c in cats]
    modes = [k.mode for _, k in pairs] + ["straight_line"] * len(cats)
    speeds = [np.nan if k.distance or k.speed_kph is None else k.speed_kph for _, k in pairs]
    timed = np.array([not k.distance for _, k in pairs] + [False] * len(cats))
    n, p = len(blocks), len(columns)
    values = blocks[columns].to_numpy(dtype=float).ravel(order="F")  # column after column
    mode_ids = list(dict.fromkeys(modes))
    cat_codes = np.array([cats.index(c) for c, _ in pairs] + list(range(len(cats))), np.int64)
    mode_codes = np.array([mode_ids.index(m) for m in modes], dtype=np.int64)
    is_time = np.repeat(timed, n)
    return pd.DataFrame(
        {
            "block": blocks.index[np.tile(np.arange(n), p)].to_numpy(),
            "category": pd.Categorical.from_codes(
                np.repeat(cat_codes, n), categories=pd.Index(cats)
            ),
            "mode": pd.Categorical.from_codes(
                np.repeat(mode_codes, n), categories=pd.Index(mode_ids)
            ),
            "speed_kph": np.repeat(np.array(speeds + [np.nan] * len(cats), dtype=float), n),
            "seconds": np.where(is_time, values, np.nan),
            "metres": np.where(is_time, np.nan, values),
        }
    )


class _Record(Mapping[str, Any]):
    """Read a frozen record like the dict it replaces: ``rec["key"]``, ``rec.get("key")``."""

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def _names(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class AssessmentInputs(_Record):
    """What :func:`planner.assess` was given, as given (a re-run repeats it exactly).

    Reads as a mapping too (``a.inputs["category"]``), as the dict it replaces.

    Attributes
    ----------
    network
        The Network or dict of Networks by mode.
    facilities, blocks, communities, entrances
        The layers as passed (not copies: planner never modifies them).
    category
        The facilities' category column.
    circles
        The circles assessed, as dicts (speeds fixed), for a re-run.
    key_of
        Circle id -> how it was travelled (:class:`EngineKey`).
    reference_year
        The year the targets were judged at (None: the preset's end year).
    """

    network: Any = None
    facilities: gpd.GeoDataFrame | None = None
    blocks: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    entrances: gpd.GeoDataFrame | None = None
    category: str = "category"
    circles: tuple[dict[str, Any], ...] = ()
    key_of: Mapping[str, EngineKey] = field(default_factory=dict)
    reference_year: int | None = None


@dataclass(frozen=True, eq=False)
class AssessmentParams(_Record):
    """The settings an assessment ran with, for the record (reports print them).

    Reads as a mapping too (``a.params["network"]``), as the dict it replaces.

    Attributes
    ----------
    preset, preset_files
        The preset's id and the files it was read from.
    modes
        Circle id -> how it was travelled, e.g. ``"walk 4 km/h, 15 min"``.
    max_snap_m
        ``settings.max_snap_m`` at the time of the run.
    network_source, network
        Where the (first) network came from and its description.
    entrances
        Number of gates given.
    """

    preset: str = ""
    preset_files: tuple[str, ...] = ()
    modes: Mapping[str, str] = field(default_factory=dict)
    max_snap_m: float = float("nan")
    network_source: str | None = None
    network: str = ""
    entrances: int = 0


@dataclass
class Assessment:
    """The result of :func:`assess`.

    CRS: block-level tables (``blocks``) are in the blocks' CRS, ``facilities`` in the
    facilities' CRS, as given.

    Attributes
    ----------
    blocks
        The input blocks (same index, same CRS) with, per circle ``<id>``: ``<id>``
        (boolean, True = inside the circle, network reading; NA where the circle does
        not apply to the block's setting), ``<id>__radius`` (straight-line reading),
        ``<id>__missing`` (a list of the category ids not reached, ``[]`` when none; NA
        where the circle does not apply) and ``<id>__n_missing``; per category and mode
        ``time_<mode><speed>_s__<category>`` (seconds, e.g. ``time_walk4_s__catering``;
        :meth:`value_column` names it) or ``net_<mode>_m__<category>`` (network metres),
        and ``line_m__<category>`` (straight-line metres to the nearest facility).
    summary
        One row per circle: population/household share inside, blocks outside, the
        radius reading, mode, speed, threshold and verification labels; ``components``
        (network components of the circle's mode) and ``population_cut_off`` (see
        ``components``).
    by_community, by_street, by_setting
        The same measures per community, per street/township and per urban/rural.
    coverage
        Per circle and category: population share reaching that category in time.
    confidence
        Per category: facilities found and the labels of the rules that found them; a
        category with none is flagged (its 0 % is missing data, not a finding).
    targets
        The plan's targets: pass, fail or "input missing", value and threshold.
    components
        Per circle: how many connected pieces the streets of its mode form
        (``components``), and the blocks and population (of the blocks it applies to)
        on a piece holding no facility of any of its categories (``blocks_cut_off``,
        ``population_cut_off``: no facility, however close, can reach them) or on no
        street at all (``blocks_off_network``, ``population_off_network``).
    params, inputs
        What the run was given (:class:`AssessmentParams`, :class:`AssessmentInputs`).
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
    components: pd.DataFrame = field(default_factory=pd.DataFrame)
    params: AssessmentParams = field(default_factory=AssessmentParams)
    inputs: AssessmentInputs = field(default_factory=AssessmentInputs, repr=False)

    @property
    def inside(self) -> pd.DataFrame:
        """Blocks x circles: inside each circle (network reading), NA where it does not apply.

        The ``<circle id>`` columns of :attr:`blocks`, on their own (blocks' index).
        """
        ids = [c.id for c in self.circles]
        out = pd.DataFrame(self.blocks[ids]).copy()
        out.columns = pd.Index(ids, name="circle")
        return out

    @property
    def times(self) -> pd.DataFrame:
        """Every block's time or distance to each category, as a long table.

        One row per (block, category, way of travelling): ``block`` (the blocks' index
        label), ``category``, ``mode`` (``walk``, ``bicycle``, ...; ``straight_line`` for
        the radius reading), ``speed_kph`` (NaN for distances and for drive, which uses
        the streets' speeds), ``seconds`` (time rules; NaN otherwise) and ``metres``
        (network metres for distance rules, straight-line metres for ``straight_line``;
        NaN otherwise). ``inf`` means not reached within the longest threshold that
        used it. The same numbers as the value columns of :attr:`blocks`.
        """
        return long_times(self.blocks, self.circles, self.inputs["key_of"])

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
        return value_column(category, self.engine_key(cid))

    def network_for(self, cid: str) -> Network:
        """The network (mode and speed) the circle was assessed on."""
        key = self.engine_key(cid)
        if key not in self.networks:
            msg = (
                f"this assessment holds no network for circle {cid!r}: it was run in "
                "partitions that each read their own streets (a NetworkSource). Load the "
                "network (planner.load_network) to site stations or draw isochrones."
            )
            raise InputError(msg)
        return self.networks[key]

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
        lines.extend(f"  {note}" for note in cut_off_notes(self))
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


def check_assessment(value: object, needed_by: str = "assessment must be") -> Assessment:
    """``value`` if it is an :class:`Assessment`; else InputError saying what it is."""
    if not isinstance(value, Assessment):
        got = type(value).__name__
        msg = f"{needed_by} a planner.Assessment (from planner.assess); got {got}."
        raise InputError(msg)
    return value


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
    note += "".join(f"<p>{esc(text)}</p>" for text in cut_off_notes(a))
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


def cut_off_notes(a: Assessment) -> list[str]:
    """One line per circle with residents on street pieces holding none of its facilities."""
    comp = a.components
    if "population_cut_off" not in comp.columns:
        return []
    cut = comp[comp["population_cut_off"] > 0]
    return [
        f"{cid}: {row['population_cut_off']:,.0f} residents ({int(row['blocks_cut_off'])} "
        f"blocks) live on street pieces holding none of its facilities "
        f"({int(row['components'])} pieces in mode {row['mode']}; see .components)"
        for cid, row in cut.iterrows()
    ]
