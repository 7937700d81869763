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

import geopandas as gpd
import numpy as np
import pandas as pd

from .._io import atomic_write
from ..assessment import Assessment, register_writer
from ..errors import InputError
from ._cells import to_csv, xlsx_ready, xlsx_strings
from ._common import missing_lists, missing_names

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


def write_sites(
    sites: gpd.GeoDataFrame, folder: str | os.PathLike[str], name: str = "sites"
) -> list[Path]:
    """Write proposed sites as ``name.gpkg`` and ``name.csv`` (lon/lat in WGS-84).

    The CSV carries every column plus ``lon``/``lat`` of each site (a point inside it, for
    parcel polygons) in EPSG:4326 whatever the sites' CRS, so it opens in any GIS or
    spreadsheet; its text cannot start a formula (:mod:`planner.outputs._cells`). Both
    files are written atomically.

    Returns
    -------
    list of pathlib.Path
        The GeoPackage and the CSV.
    """
    out = Path(folder)
    gpkg, csv = out / f"{name}.gpkg", out / f"{name}.csv"
    atomic_write(gpkg, lambda t: sites.to_file(t, layer=name, driver="GPKG"))
    pts = sites.geometry.representative_point().to_crs(4326)
    table = pd.DataFrame(sites.drop(columns=sites.geometry.name)).assign(
        lon=pts.x.to_numpy(), lat=pts.y.to_numpy()
    )
    atomic_write(csv, lambda t: to_csv(table, t, index=True))
    return [gpkg, csv]


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


def _missing_as_names(blocks: pd.DataFrame, a: Assessment) -> pd.DataFrame:
    """``<circle>__missing`` as the categories' Chinese names joined with "、" (NA where
    the circle does not apply; "" where nothing is missing)."""
    out = blocks.copy()
    table = a.preset.table
    for c in a.circles:
        col = f"{c.id}__missing"
        if col not in out.columns:
            continue
        applies = out[c.id].notna().to_numpy() if c.id in out.columns else np.ones(len(out), bool)
        names = np.array(
            [missing_names(ids, table, "zh") for ids in missing_lists(out[col])], dtype=object
        )
        names[~applies] = None
        out[col] = names
    return out


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Columns GDAL and Excel can store: nullable types to object, lists to text."""
    out = df.copy()
    for c in out.columns:
        if c == "geometry":
            continue
        dt = out[c].dtype
        if isinstance(dt, pd.BooleanDtype | pd.Int64Dtype | pd.StringDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
        elif pd.api.types.is_object_dtype(dt):
            values = out[c].to_numpy(dtype=object)
            lists = np.fromiter((isinstance(v, list | tuple | np.ndarray) for v in values), bool)
            if lists.any():
                values = values.copy()
                values[lists] = [", ".join(map(str, v)) for v in values[lists]]
                out[c] = values
    return out


def _check_formats(formats: Sequence[str] | str) -> list[str]:
    allowed = {"gpkg", "csv", "xlsx"}
    chosen = [formats] if isinstance(formats, str) else list(formats)
    bad = [f for f in chosen if f not in allowed]
    if bad:
        msg = f"formats {bad} are not supported; choose from {sorted(allowed)}."
        raise InputError(msg)
    return chosen


def _write_gpkg(tabs: dict[str, pd.DataFrame], path: Path) -> list[Path]:
    import pyogrio

    def write(tmp: Path) -> None:
        for layer, df in tabs.items():
            frame = df if isinstance(df, gpd.GeoDataFrame) else pd.DataFrame(df)
            pyogrio.write_dataframe(frame, tmp, layer=layer, driver="GPKG")

    atomic_write(path, write)
    return [path]


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """A table without geometry; blocks get ``lon``/``lat`` of a point inside each."""
    frame = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    if isinstance(df, gpd.GeoDataFrame):
        pts = df.geometry.representative_point().to_crs(4326)
        frame["lon"], frame["lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    return frame


def _write_csvs(tabs: dict[str, pd.DataFrame], folder: Path, name: str) -> list[Path]:
    written = []
    for layer, df in tabs.items():
        path = folder / f"{name}_{layer}.csv"
        atomic_write(path, _csv_writer(_flat(df)))
        written.append(path)
    return written


def _csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        to_csv(frame, tmp)

    return write


def _write_xlsx(tabs: dict[str, pd.DataFrame], path: Path) -> list[Path]:
    sheets = {
        layer[:31]: xlsx_ready(
            pd.DataFrame(df.drop(columns="geometry", errors="ignore")),
            f"{path.name}, sheet {layer[:31]}",
        )
        for layer, df in tabs.items()
    }

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for sheet, frame in sheets.items():
                frame.to_excel(xl, sheet_name=sheet, index=False)
                xlsx_strings(xl.sheets[sheet], frame)

    atomic_write(path, write)
    return [path]


def write_assessment(
    a: Assessment,
    folder: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("gpkg", "csv", "xlsx"),
    name: str = "assessment",
) -> list[Path]:
    """Write ``name.gpkg`` (one layer per table), ``name_<table>.csv`` and ``name.xlsx``.

    Headers are bilingual; ``<circle>__missing`` holds the missing categories' Chinese
    names joined with "、"; text from data never becomes a spreadsheet formula (CSV: a
    leading apostrophe; XLSX: string cells), and text too long for an XLSX cell is cut
    there with a warning. Each file is written atomically, in the order gpkg, csv, xlsx.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    chosen = _check_formats(formats)
    out_dir = Path(folder)
    frames = tables(a)
    frames["blocks"] = _missing_as_names(frames["blocks"], a)
    tabs = {k: _bilingual(_plain(v), a) for k, v in frames.items()}
    written: list[Path] = []
    if "gpkg" in chosen:
        written += _write_gpkg(tabs, out_dir / f"{name}.gpkg")
    if "csv" in chosen:
        written += _write_csvs(tabs, out_dir, name)
    if "xlsx" in chosen:
        written += _write_xlsx(tabs, out_dir / f"{name}.xlsx")
    return written


register_writer(write_assessment)
