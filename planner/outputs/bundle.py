"""The output bundle of a run: tables, sites, the map and the community reports in one folder.

Used by ``planner demo``, ``planner run`` and ``planner site``; also a printable summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .export import write_sites
from .maps import map_assessment, save_map
from .report import write_report


def write_outputs(
    a: Any,
    out: Path,
    *,
    sites: Any = None,
    formats: tuple[str, ...] = ("gpkg", "xlsx"),
    maps: bool = True,
    reports: bool = True,
    lang: str = "zh",
) -> list[Path]:
    """Tables, the map (index.html) and the community reports of an assessment."""
    out.mkdir(parents=True, exist_ok=True)
    written = a.to_files(out, formats=formats, name="assessment")
    site_gdf = sites.sites if sites is not None else None
    if site_gdf is not None:  # an empty proposal is written too: it is an answer
        written.extend(write_sites(site_gdf, out))
    if maps:
        m = map_assessment(a, sites=site_gdf, circle=sites.circle if sites is not None else None)
        save_map(m, out / "index.html")
        written.append(out / "index.html")
    if reports and a.communities is not None:
        written.extend(write_report(a, None, out / "reports", lang=lang, sites=site_gdf))
    return written


def summary_table(a: Any, lang: str = "zh") -> pd.DataFrame:
    """The circles' results as a small printable table."""
    s = a.summary
    name = s["name_zh"] if lang == "zh" else s["name_en"]
    return pd.DataFrame(
        {
            "circle": name,
            "how": s["how"],
            "population inside": (s["population_share"].astype(float) * 100).map(
                lambda v: "n/a" if np.isnan(v) else f"{v:.1f} %"
            ),
            "radius reading": (s["radius_population_share"].astype(float) * 100).map(
                lambda v: "n/a" if np.isnan(v) else f"{v:.1f} %"
            ),
            "blocks outside": s["blocks_outside"].astype(int),
            "labels": s["label"] + "/" + s["mode_label"],
        }
    )
