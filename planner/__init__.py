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
from .assess import Assessment as Assessment
from .assess import assess as assess
from .network import Network as Network
from .network import load_network as load_network
from .rules import categories as categories
from .rules import load_preset as load_preset
from .rules import presets as presets
from .sources.blocks import block_entrances as block_entrances
from .sources.blocks import derive_blocks as derive_blocks
from .sources.blocks import join_communities as join_communities
from .sources.blocks import read_blocks as read_blocks
from .sources.blocks import read_communities as read_communities
from .sources.files import read_facilities as read_facilities
from .sources.files import read_layer as read_layer
from .sources.osm_facilities import load_facilities as load_facilities

try:
    __version__ = _version("planner")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Assessment",
    "Network",
    "assess",
    "block_entrances",
    "categories",
    "derive_blocks",
    "errors",
    "join_communities",
    "load_facilities",
    "load_network",
    "load_preset",
    "modes",
    "presets",
    "read_blocks",
    "read_communities",
    "read_facilities",
    "read_layer",
    "settings",
    "travel_times",
]
