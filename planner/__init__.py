"""planner: service-circle coverage and station siting for Chinese community planning.

The public API::

    net = planner.load_network("area.osm.pbf", mode="walk")
    times = planner.travel_times(net, facilities, blocks, max_time_s=900)
"""

from __future__ import annotations

from . import demo as demo
from . import errors as errors
from . import hours as hours
from . import modes as modes
from . import scale as scale
from . import settings as settings
from ._version import __version__ as __version__
from .access import travel_times as travel_times
from .assess import Assessment as Assessment
from .assess import assess as assess
from .explorer import explore as explore
from .hours import hours_per_day as hours_per_day
from .hours import opening_hours_check as opening_hours_check
from .isochrones import isochrones as isochrones
from .network import Network as Network
from .network import load_network as load_network
from .outputs.maps import map_assessment as map_assessment
from .outputs.maps import save_map as save_map
from .outputs.report import write_report as write_report
from .plan import load_plan as load_plan
from .plan import run_plan as run_plan
from .rules import categories as categories
from .rules import load_preset as load_preset
from .rules import presets as presets
from .scale import NetworkSource as NetworkSource
from .siting import Siting as Siting
from .siting import site as site
from .sources.blocks import block_entrances as block_entrances
from .sources.blocks import derive_blocks as derive_blocks
from .sources.blocks import join_communities as join_communities
from .sources.blocks import read_blocks as read_blocks
from .sources.blocks import read_communities as read_communities
from .sources.community_tables import join_community_table as join_community_table
from .sources.community_tables import read_community_table as read_community_table
from .sources.files import read_facilities as read_facilities
from .sources.files import read_layer as read_layer
from .sources.osm_facilities import load_facilities as load_facilities
from .whatif import new_stations as new_stations
from .whatif import what_if as what_if

__all__ = [
    "Assessment",
    "Network",
    "NetworkSource",
    "Siting",
    "assess",
    "block_entrances",
    "categories",
    "demo",
    "derive_blocks",
    "errors",
    "explore",
    "hours",
    "hours_per_day",
    "isochrones",
    "join_communities",
    "join_community_table",
    "load_facilities",
    "load_network",
    "load_plan",
    "load_preset",
    "map_assessment",
    "modes",
    "new_stations",
    "opening_hours_check",
    "presets",
    "read_blocks",
    "read_communities",
    "read_community_table",
    "read_facilities",
    "read_layer",
    "run_plan",
    "save_map",
    "scale",
    "settings",
    "site",
    "travel_times",
    "what_if",
    "write_report",
]
