"""The test town: two streets joined by a bridge, five blocks, every answer computable by hand.

::

    y=3000  W1.                  R2.                    library          +
            N street: (0,3000) ------------------------ (6000,3000) ---- (8000,3000)
                                                                           | bridge
    y=0     U1.   cs  F_A   U2  park msm  R1. F_B                          |
            S street: (0,0) ----------------------------------------------- (8000,0)

    communities: 东风社区 urban (x 0..2000, y -500..500), street 东风街道
                 石岗村 rural PRD (x 2000..8000, y -500..3500), street 石岗镇
                 西村 rural east Guangdong (x 0..2000, y 2500..3500), street 石岗镇

The two streets meet only over the bridge at x = 8000. Walking is 4 km/h, so a trip of
d metres takes 0.9 d seconds: 15 min = 1000 m, 10 min = 666.7 m, 30 min = 2000 m;
cycling 12 km/h for 15 min = 3000 m. Blocks are points (their connector to the street
is their distance to it).

Blocks: U1 (500,100) pop 1000 hh 400; U2 (1800,-100) pop 600 hh 200 (new housing, 650 m2
service floor area); R1 (3000,50) pop 300 hh 100; R2 (3000,3050) pop 200 hh 80;
W1 (500,3050) pop 100 hh 30. Total 2200 residents.

Facilities:
- F_A at (1000,10): housekeeping, elderly_daycare, patient_escort, maternal_infant_care,
  kindergarten (-> early_ed_childcare), supermarket (-> convenience_shopping), catering,
  property_repair; recycling_point at (2500,5).
- F_B at (3500,0): all nine life-circle categories.
- culture_station "cs" at (400,-20); library at (6000,3000); park at (2000,0);
  multi_sport_medium "msm" at (2100,-30) with 2,200 m2; community_service_station at
  (1500,20).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from helpers import X0, Y0, graph, points

import planner

#: The urban 15-minute life circle, the circle most tests map, report and site.
LIFE_CIRCLE = "urban_15min_life"
#: Names from the data that must reach pages as text: a script tag and template braces.
XSS = "<script>alert(1)</script>"
BRACES = "{{ 7*7 }} {% if 1 %}x{% endif %}"

LIFE = [
    "housekeeping",
    "elderly_daycare",
    "patient_escort",
    "maternal_infant_care",
    "kindergarten",
    "supermarket",
    "catering",
    "property_repair",
]
LIFE_IDS = [
    "housekeeping",
    "elderly_daycare",
    "patient_escort",
    "maternal_infant_care",
    "early_ed_childcare",
    "convenience_shopping",
    "catering",
    "property_repair",
    "recycling_point",
]


def town():
    """The town's walk network, facilities, blocks (U1, U2, R1, R2, W1) and communities."""
    xs = range(0, 8001, 1000)
    nodes = {f"s{x}": (x, 0) for x in xs} | {f"n{x}": (x, 3000) for x in xs}
    edges = [(f"s{a}", f"s{a + 1000}", {"highway": "residential"}) for a in xs if a < 8000]
    edges += [(f"n{a}", f"n{a + 1000}", {"highway": "residential"}) for a in xs if a < 8000]
    edges.append(("s8000", "n8000", {"highway": "residential"}))
    net = planner.load_network(graph(nodes, edges), mode="walk")
    xy, cats = [], []
    for c in LIFE:
        xy.append((1000, 10))
        cats.append(c)
    xy.append((2500, 5))
    cats.append("recycling_point")
    for c in [*LIFE, "recycling_point"]:
        xy.append((3500, 0))
        cats.append(c)
    for p, c in [
        ((400, -20), "culture_station"),
        ((6000, 3000), "library"),
        ((2000, 0), "park"),
        ((2100, -30), "multi_sport_medium"),
        ((1500, 20), "community_service_station"),
    ]:
        xy.append(p)
        cats.append(c)
    fac = points(xy, category=cats)
    fac["area_m2"] = np.where(fac["category"] == "multi_sport_medium", 2200.0, np.nan)
    blocks = points(
        [(500, 100), (1800, -100), (3000, 50), (3000, 3050), (500, 3050)],
        population=[1000.0, 600.0, 300.0, 200.0, 100.0],
        households=[400.0, 200.0, 100.0, 80.0, 30.0],
        new_housing=[False, True, False, False, False],
        service_floor_area_m2=[np.nan, 650.0, np.nan, np.nan, np.nan],
    ).set_index(pd.Index(["U1", "U2", "R1", "R2", "W1"]))

    def box(x0, y0, x1, y1):
        return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)

    communities = gpd.GeoDataFrame(
        {
            "community": ["东风社区", "石岗村", "西村"],
            "setting": ["urban", "rural", "rural"],
            "region": ["prd", "prd", "east"],
            "street": ["东风街道", "石岗镇", "石岗镇"],
            "households": [600.0, 180.0, 30.0],
            "service_floor_area_m2": [200.0, 50.0, np.nan],
        },
        geometry=[box(0, -500, 2000, 500), box(2000, -500, 8000, 3500), box(0, 2500, 2000, 3500)],
        crs="EPSG:32650",
    )
    return net, fac, blocks, communities


def xss_town():
    """The town assessed, with named facilities (one named XSS, one BRACES) and three sites.

    The extra facilities stand 300 m south of the south street: catering named XSS at
    (1500,-300) and housekeeping named BRACES at (600,-300); the sites are at (1200,60),
    (3300,80) and (7000,2900), the first named with a <b> tag.
    """
    net, fac, blocks, communities = town()
    fac["name"] = [f"设施{i}" for i in range(len(fac))]
    extra = points(
        [(1500, -300), (600, -300)],
        category=["catering", "housekeeping"],
        name=[XSS, BRACES],
    )
    extra["area_m2"] = np.nan
    fac = gpd.GeoDataFrame(
        pd.concat([fac, extra]).reset_index(drop=True), geometry="geometry", crs=fac.crs
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        a = planner.assess(net, fac, blocks, communities=communities)
    sites = points(
        [(1200, 60), (3300, 80), (7000, 2900)],
        rank=[1, 2, 3],
        population_covered=[800.0, 300.0, 50.0],
        name=["新站 <b>一</b>", "新站二", "新站三"],
    )
    return a, sites
