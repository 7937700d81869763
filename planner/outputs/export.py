"""Writing an Assessment: GeoPackage (one layer per table), CSV and XLSX, atomically.

Headers are bilingual: every column is written as ``"中文 english_name"``, so a table
opened in Excel reads in Chinese and still carries planner's column names. Every file
is written to a temporary name in the target folder and renamed when complete, so a
failure never leaves a half-written file behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .._io import atomic_write
from ..assessment import Assessment, register_writer
from ..errors import InputError

#: Chinese names of planner's fixed column names.
ZH: dict[str, str] = {
    "population": "人口",
    "households": "户数",
    "population_inside": "圈内人口",
    "households_inside": "圈内户数",
    "population_share": "人口覆盖率",
    "households_share": "户数覆盖率",
    "population_inside_radius": "半径内人口",
    "radius_population_share": "半径覆盖率",
    "blocks": "地块数",
    "blocks_outside": "圈外地块数",
    "community": "社区",
    "street": "街道乡镇",
    "setting": "城乡",
    "region": "区域",
    "circle": "生活圈",
    "category": "设施类别",
    "name": "名称",
    "name_zh": "中文名称",
    "name_en": "英文名称",
    "mode": "出行方式",
    "speed_kph": "速度km/h",
    "minutes": "时间(分钟)",
    "distance_m": "距离(米)",
    "radius_m": "标准半径(米)",
    "categories": "所需设施",
    "min_kinds": "至少类数",
    "how": "计算方式",
    "label": "核实标记",
    "mode_label": "方式核实标记",
    "radius_label": "半径核实标记",
    "source": "依据",
    "facilities": "设施数",
    "sources": "数据来源",
    "rule_labels": "规则核实标记",
    "flag": "提示",
    "population_reaching": "可达人口",
    "target": "目标",
    "class": "类别",
    "kind": "类型",
    "unit": "单元",
    "value": "数值",
    "threshold": "目标值",
    "status": "结果",
    "units": "单元数",
    "units_passing": "达标单元数",
    "detail": "说明",
    "population_source": "人口来源",
}


def header(col: str, assessment: Assessment | None = None) -> str:
    """Bilingual header of a column: ``"中文 column"`` (the column alone if unknown)."""
    zh = ZH.get(col)
    if zh is None and assessment is not None:
        base, _, suffix = col.partition("__")
        circles = {c.id: c for c in assessment.circles}
        table = assessment.preset.table
        if base in circles:
            extra = {"": "", "radius": "(半径)", "missing": "缺少设施", "n_missing": "缺少类数"}
            zh = circles[base].name_zh + extra.get(suffix, "")
        elif suffix and suffix in table:
            kind = {"line_m": "直线距离(米)"}.get(base)
            if kind is None and base.startswith("time_"):
                kind = "出行时间(秒)"
            elif kind is None and base.startswith("net_"):
                kind = "路网距离(米)"
            zh = f"{table.name(suffix, 'zh')}{kind or ''}"
    return f"{zh} {col}" if zh else col


def _bilingual(df: pd.DataFrame, assessment: Assessment | None) -> pd.DataFrame:
    out = _index_as_columns(df)
    out.columns = [header(str(c), assessment) if c != "geometry" else c for c in out.columns]
    return out


def _index_as_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with the index levels as leading columns; a default RangeIndex, or a level
    repeating a column of the same name (``read_blocks(id=...)``), adds nothing."""
    idx = df.index
    out = df.reset_index(drop=True)  # a copy; GeoDataFrames stay GeoDataFrames
    if isinstance(idx, pd.RangeIndex) and idx.name is None:
        return out
    pos = 0
    for i, given in enumerate(idx.names):
        level = np.asarray(idx.get_level_values(i), dtype=object)
        label = given if given is not None else ("index" if idx.nlevels == 1 else f"level_{i}")
        if label in out.columns:
            if np.array_equal(np.asarray(out[label], dtype=object), level):
                continue
            label = f"{label}_index"
        out.insert(pos, label, idx.get_level_values(i))
        pos += 1
    return out


def _no_formulas(sheet: Any, frame: pd.DataFrame) -> None:
    """Keep text from data as text: openpyxl stores any string starting with "=" as a
    formula, which Excel would run (a name like ``=HYPERLINK(...)`` in a POI export)."""
    for j, name in enumerate(frame.columns, start=1):
        if frame[name].dtype != object:
            continue
        hits = frame[name].astype(str).str.startswith("=")  # no number or None starts so
        for i in np.flatnonzero(hits.to_numpy(dtype=bool)):
            sheet.cell(row=int(i) + 2, column=j).data_type = "s"


def write_sites(sites: gpd.GeoDataFrame, folder: str | Path, name: str = "sites") -> list[str]:
    """Write proposed sites as ``name.gpkg`` and ``name.csv`` (lon/lat in WGS-84).

    The CSV carries every column plus ``lon``/``lat`` of each site (a point inside it, for
    parcel polygons) in EPSG:4326 whatever the sites' CRS, so it opens in any GIS or
    spreadsheet. Both files are written atomically.
    """
    out = Path(folder)
    gpkg, csv = out / f"{name}.gpkg", out / f"{name}.csv"
    atomic_write(gpkg, lambda t: sites.to_file(t, layer=name, driver="GPKG"))
    pts = sites.geometry.representative_point().to_crs(4326)
    table = pd.DataFrame(sites.drop(columns=sites.geometry.name)).assign(
        lon=pts.x.to_numpy(), lat=pts.y.to_numpy()
    )
    atomic_write(csv, lambda t: table.to_csv(t, encoding="utf-8-sig"))
    return [str(gpkg), str(csv)]


def tables(a: Assessment) -> dict[str, pd.DataFrame]:
    """The assessment's tables by layer name (blocks keep their geometry)."""
    return {
        "blocks": a.blocks,
        "summary": a.summary,
        "by_community": a.by_community,
        "by_street": a.by_street,
        "by_setting": a.by_setting,
        "coverage": a.coverage,
        "confidence": a.confidence,
        "targets": a.targets,
        "targets_by_unit": a.targets_by_unit,
    }


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Columns GDAL and Excel can store: nullable types to object, lists to text."""
    out = df.copy()
    for c in out.columns:
        if c == "geometry":
            continue
        dt = out[c].dtype
        if isinstance(dt, pd.BooleanDtype | pd.Int64Dtype | pd.StringDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")  # BOM: Excel opens it as UTF-8

    return write


def write_assessment(
    a: Assessment,
    folder: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("gpkg", "csv", "xlsx"),
    name: str = "assessment",
) -> list[str]:
    """Write ``name.gpkg`` (one layer per table), ``name_<table>.csv`` and ``name.xlsx``.

    Returns the paths written.
    """
    allowed = {"gpkg", "csv", "xlsx"}
    if isinstance(formats, str):
        formats = [formats]
    bad = [f for f in formats if f not in allowed]
    if bad:
        msg = f"formats {bad} are not supported; choose from {sorted(allowed)}."
        raise InputError(msg)
    out_dir = Path(folder)
    written: list[str] = []
    tabs = {k: _bilingual(_plain(v), a) for k, v in tables(a).items()}
    if "gpkg" in formats:
        import pyogrio

        path = out_dir / f"{name}.gpkg"

        def write_gpkg(tmp: Path) -> None:
            for layer, df in tabs.items():
                if isinstance(df, gpd.GeoDataFrame):
                    pyogrio.write_dataframe(df, tmp, layer=layer, driver="GPKG")
                else:
                    pyogrio.write_dataframe(pd.DataFrame(df), tmp, layer=layer, driver="GPKG")

        atomic_write(path, write_gpkg)
        written.append(str(path))
    if "csv" in formats:
        for layer, df in tabs.items():
            path = out_dir / f"{name}_{layer}.csv"
            frame = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
            if isinstance(df, gpd.GeoDataFrame):
                pts = df.geometry.representative_point().to_crs(4326)
                frame["lon"], frame["lat"] = pts.x.to_numpy(), pts.y.to_numpy()
            atomic_write(path, _csv_writer(frame))
            written.append(str(path))
    if "xlsx" in formats:
        path = out_dir / f"{name}.xlsx"

        def write_xlsx(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                for layer, df in tabs.items():
                    frame = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
                    frame.to_excel(xl, sheet_name=layer[:31], index=False)
                    _no_formulas(xl.sheets[layer[:31]], frame)

        atomic_write(path, write_xlsx)
        written.append(str(path))
    return written


register_writer(write_assessment)
