"""Readers for networks, facilities, blocks and communities.

The column-header resolver is shared with the stages above the readers (opening hours,
targets): import it from here, ``from planner.sources import OPENING_HOURS,
require_column``, not from the private module that holds it.
"""

from ._columns import CODE as CODE
from ._columns import COMMUNITY as COMMUNITY
from ._columns import COMMUNITY_NAME as COMMUNITY_NAME
from ._columns import HOUSEHOLDS as HOUSEHOLDS
from ._columns import NAME as NAME
from ._columns import OPENING_HOURS as OPENING_HOURS
from ._columns import POPULATION as POPULATION
from ._columns import REGION as REGION
from ._columns import SETTING as SETTING
from ._columns import STREET as STREET
from ._columns import TYPE as TYPE
from ._columns import Field as Field
from ._columns import find_column as find_column
from ._columns import missing_column as missing_column
from ._columns import named_column as named_column
from ._columns import normalise as normalise
from ._columns import require_column as require_column
from ._numbers import parse_numbers as parse_numbers
from ._numbers import read_numbers as read_numbers
