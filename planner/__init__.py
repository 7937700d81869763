"""planner: service-circle coverage and station siting for Chinese community planning.

The public API::

    net = planner.load_network("area.osm.pbf", mode="walk")
    times = planner.travel_times(net, facilities, blocks, max_time_s=900)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from . import errors as errors
from . import modes as modes
from . import settings as settings
from .access import travel_times as travel_times
from .network import Network as Network
from .network import load_network as load_network
from .rules import categories as categories
from .sources.osm_facilities import load_facilities as load_facilities

try:
    __version__ = _version("planner")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Network",
    "categories",
    "errors",
    "load_facilities",
    "load_network",
    "modes",
    "settings",
    "travel_times",
]
