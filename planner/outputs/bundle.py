"""The output bundle of a run: tables, sites, the map and the community reports in one folder.

Used by ``planner demo``, ``planner run`` and ``planner site``; also a printable summary.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .export import write_sites
from .maps import map_assessment, save_map
from .report import write_report
from .staging import MANIFEST, read_manifest, staged_folder

#: What a bundle writes at the top of its folder (see :func:`write_outputs`); used to
#: tell planner's files from a person's in a folder written before manifests existed.
BUNDLE_FILES = ("assessment.*", "assessment_*.csv", "sites.*", "index.html", "reports")


def write_outputs(
    a: Any,
    out: str | os.PathLike[str],
    *,
    sites: Any = None,
    formats: Sequence[str] = ("gpkg", "xlsx"),
    maps: bool = True,
    reports: bool = True,
    lang: str = "zh",
    keep: Sequence[str] = (),
) -> list[Path]:
    """Write the bundle of a run into ``out``, whole or not at all.

    The tables (``assessment.*``), the proposed sites (``sites.gpkg``/``.csv``), the map
    (``index.html``) and the community reports (``reports/``: HTML and Word drafts) are
    written into a staging folder beside ``out`` and swapped in when complete
    (:func:`planner.outputs.staging.staged_folder`): a second run replaces the first
    run's bundle, files that are not planner's stay, and an error or Ctrl-C
    (``KeyboardInterrupt``, re-raised) leaves the previous folder as it was and nothing
    behind.

    Parameters
    ----------
    a
        The assessment.
    out
        The output folder (created; an existing bundle there is replaced).
    sites
        A siting result (``planner.site``): its sites are written, drawn and listed.
    formats
        Table formats, any of {"gpkg", "csv", "xlsx"} (none: no tables).
    maps, reports
        Write the map / the community reports (reports need communities).
    lang
        {"zh", "en"}: the language of the reports.
    keep
        Name patterns of the previous bundle's files to keep when this run does not
        write them, e.g. ``("assessment*",)`` when only new sites and the map are
        written over a run of the same plan (default: none; the bundle is replaced).

    Returns
    -------
    list of pathlib.Path
        The files written, under ``out``; ``planner-manifest.json`` (the list of them)
        last.
    """
    target = Path(out)
    with staged_folder(target, owned=BUNDLE_FILES, keep=keep) as folder:
        written = _write_bundle(
            a, folder, sites=sites, formats=formats, maps=maps, reports=reports, lang=lang
        )
    paths = [target / p.relative_to(folder) for p in written]
    listed = read_manifest(target) or []
    extra = [target / f for f in listed if target / f not in set(paths)]  # kept ones
    return [*paths, *extra, target / MANIFEST]


def _write_bundle(
    a: Any,
    out: Path,
    *,
    sites: Any,
    formats: Sequence[str],
    maps: bool,
    reports: bool,
    lang: str,
) -> list[Path]:
    written: list[Path] = []
    if formats:
        written += a.to_files(out, formats=formats, name="assessment")
    site_gdf = sites.sites if sites is not None else None
    if site_gdf is not None:  # an empty proposal is written too: it is an answer
        written += write_sites(site_gdf, out)
    if maps:
        m = map_assessment(a, sites=site_gdf, circle=sites.circle if sites is not None else None)
        written.append(save_map(m, out / "index.html"))
    if reports and a.communities is not None:
        written += write_report(a, None, out / "reports", lang=lang, sites=sites)
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
