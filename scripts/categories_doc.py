"""Write docs/categories.md: every facility category, its OSM filters, Amap codes and keywords.

The page is generated from planner/presets/categories.toml and Amap's POI typecode table
(the reference copy in ../shared/data/amap_typecodes.csv, 864 codes of the 2016 edition),
so that a planner can review the whole mapping in one read. Run it after changing the
categories; ``--check`` exits 1 when the committed page is not current (a test does the
same)::

    .venv/bin/python scripts/categories_doc.py               # writes docs/categories.md
    .venv/bin/python scripts/categories_doc.py --check       # 1 when it would change
    .venv/bin/python scripts/categories_doc.py --table path/to/amap_typecodes.csv
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = (
    Path(os.environ.get("PLANNER_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "amap_typecodes.csv"
)
DEFAULT_OUT = REPO / "docs" / "categories.md"

LABELS = {
    "V": "verified: the OSM wiki page of the tag, or Amap's typecode table (the code exists "
    "and its 小类 names this kind of facility)",
    "S": "a secondary source states it",
    "R": "recalled, not verified: confirm before relying on it",
    "I": "interpretation: planner's reading (every name pattern and keyword list)",
}


def read_codes(path: str | Path) -> pd.DataFrame:
    """Amap's typecode table: typecode (6-digit text), big/mid/sub category names."""
    table = pd.read_csv(path, dtype=str, encoding="utf-8")
    need = {"typecode", "big_category", "mid_category", "sub_category"}
    if not need <= set(table.columns):
        msg = f"{path}: expected columns {sorted(need)}; got {list(table.columns)}"
        raise SystemExit(msg)
    return table.set_index("typecode", drop=False)


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _osm_filter(spec: Mapping[str, Any]) -> str:
    parts = []
    for key, value in spec.items():
        if key == "name":
            parts.append(f"name ~ /{value}/")
        elif value is True:
            parts.append(f"{key}=*")
        elif isinstance(value, list):
            parts.append(f"{key}={' | '.join(value)}")
        else:
            parts.append(f"{key}={value}")
    return "`" + " + ".join(parts) + "`"


def _code_rows(codes: Sequence[str], table: pd.DataFrame) -> list[str]:
    """Markdown table rows of Amap codes (a prefix: every code it covers)."""
    rows = []
    for code in codes:
        hit = table[table["typecode"].str.startswith(code)]
        if len(hit) == 0:
            rows.append(f"| `{code}` | **not in Amap's table** | | |")
            continue
        if len(code) == 6:
            r = hit.iloc[0]
            rows.append(
                f"| `{code}` | {_cell(r.big_category)} | {_cell(r.mid_category)} | "
                f"{_cell(r.sub_category)} |"
            )
            continue
        mids = "、".join(dict.fromkeys(hit["mid_category"]))
        subs = "、".join(hit["sub_category"])
        rows.append(
            f"| `{code}` (prefix, {len(hit)} codes) | {_cell(hit.iloc[0].big_category)} | "
            f"{_cell(mids)} | {_cell(subs)} |"
        )
    return rows


def _prefix_names(prefixes: Sequence[str], table: pd.DataFrame) -> str:
    """`13` 政府机构及社会团体, `120304` 社区中心, ..."""
    out = []
    for code in prefixes:
        hit = table[table["typecode"].str.startswith(code)]
        if len(hit) == 0:
            name = "not in Amap's table"
        elif len(code) == 6:
            name = hit.iloc[0].sub_category
        elif len(code) == 4:
            name = hit.iloc[0].mid_category
        else:
            name = hit.iloc[0].big_category
        out.append(f"`{code}` {name}")
    return ", ".join(out)


def _radius(cat: Any) -> list[str]:
    if cat.radius_m is None:
        return []
    return [
        f"- Service radius (GB 50180-2018): {cat.radius_m:g} m [{cat.radius_label}] — "
        f"{cat.radius_source}"
    ]


def _osm(cat: Any) -> list[str]:
    raw = cat.raw
    if not raw.get("osm"):
        return ["- OSM: none"]
    lines = [f"- OSM [{cat.osm_label}], any of:"]
    lines += [f"  - {_osm_filter(f)}" for f in raw["osm"]]
    if raw.get("osm_exclude"):
        lines.append("- OSM, excluded: " + ", ".join(_osm_filter(f) for f in raw["osm_exclude"]))
    return lines


def _amap(cat: Any, table: pd.DataFrame) -> list[str]:
    raw = cat.raw
    lines = []
    if raw.get("amap_codes"):
        lines += [
            f"- Amap typecodes [{cat.amap_label}]:",
            "",
            "  | code | 大类 | 中类 | 小类 |",
            "  |---|---|---|---|",
        ]
        lines += ["  " + r for r in _code_rows(raw["amap_codes"], table)]
        lines.append("")
    else:
        lines.append("- Amap typecodes: none (found by name)")
    if raw.get("amap_keywords"):
        words = " · ".join(f"`{k}`" for k in raw["amap_keywords"])
        lines.append(f"- Amap name keywords [{cat.amap_keywords_label}]: {words}")
        if raw.get("amap_keyword_codes"):
            where = _prefix_names(raw["amap_keyword_codes"], table)
            lines.append(f"  - only for POIs coded {where} (or without a typecode)")
    if raw.get("amap_exclude"):
        lines.append(f"- Amap, names excluded: `{raw['amap_exclude']}`")
    return lines


def _category(cat: Any, table: pd.DataFrame) -> list[str]:
    lines = [f'<a id="{cat.id}"></a>', "", f"### `{cat.id}` {cat.name_zh}", ""]
    lines += [f"{cat.name_en}.", ""]
    lines += _radius(cat) + _osm(cat) + _amap(cat, table)
    if cat.notes:
        lines.append(f"- Note: {cat.notes}")
    return [*lines, ""]


def _summary(ct: Any) -> list[str]:
    lines = [
        "| id | 中文 | OSM | Amap codes | Amap keywords | radius |",
        "|---|---|---|---|---|---|",
    ]
    for c in ct.categories.values():
        codes = ", ".join(f"`{x}`" for x in c.raw.get("amap_codes", []))
        codes = f"{codes} [{c.amap_label}]" if codes else "—"
        n_kw, n_osm = len(c.raw.get("amap_keywords", [])), len(c.raw.get("osm", []))
        kw = f"{n_kw} [{c.amap_keywords_label}]" if n_kw else "—"
        osm = f"{n_osm} filter{'s' * (n_osm != 1)} [{c.osm_label}]" if n_osm else "—"
        radius = f"{c.radius_m:g} m [{c.radius_label}]" if c.radius_m is not None else "—"
        lines.append(
            f"| [`{c.id}`](#{c.id}) | {_cell(c.name_zh)} | {osm} | {codes} | {kw} | {radius} |"
        )
    return lines


def _groups(ct: Any) -> list[str]:
    lines = ["| group | 中文 | members | label |", "|---|---|---|---|"]
    for g in ct.groups.values():
        members = ", ".join(f"`{m}`" for m in g.members)
        lines.append(f"| `{g.id}` | {_cell(g.name_zh)} | {members} | {g.label} |")
    return lines


def render(ct: Any, table: pd.DataFrame) -> str:
    """The Markdown page for a CategoryTable and Amap's typecode table."""
    head = [
        "# Facility categories",
        "",
        "<!-- Generated by scripts/categories_doc.py from planner/presets/categories.toml",
        "     and Amap's typecode table; do not edit by hand. tests/test_categories_doc.py",
        "     checks that it is current. -->",
        "",
        f"{len(ct.categories)} categories and {len(ct.groups)} groups, as planner finds them "
        "in OpenStreetMap tags and in Amap (高德) POI exports. Amap names are those of Amap's "
        f"POI classification table ({len(table)} codes, 2016 edition). A facility may fall "
        "in several categories; groups name a service any of their members provides.",
        "",
        "Labels:",
        "",
        *[f"- **{k}** {v}" for k, v in LABELS.items()],
        "",
        "## Overview",
        "",
        *_summary(ct),
        "",
        "## Groups",
        "",
        *_groups(ct),
        "",
        "## Categories",
        "",
    ]
    body = [line for c in ct.categories.values() for line in _category(c, table)]
    return "\n".join(head + body).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or check) docs/categories.md; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default=str(DEFAULT_TABLE), help="amap_typecodes.csv")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="the page to write")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page would change")
    args = parser.parse_args(argv)
    if not Path(args.table).exists():
        print(f"categories_doc: Amap's typecode table not found at {args.table}; pass --table.")
        return 2
    sys.path.insert(0, str(REPO))
    import planner

    page = render(planner.categories(), read_codes(args.table))
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != page:
            print(f"{out} is not current: run python scripts/categories_doc.py")
            return 1
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
