"""Documented defaults for planner.

Every value here is read when a function runs, never at import, so changing one
(``planner.settings.max_snap_m = 300``) affects every later call. A keyword argument
of a function (``load_network(..., speed_kph=3.0)``) overrides a setting for that
call only.

Travel modes
------------
speeds_kph : dict[str, float]
    Constant travel speed of each non-motorised mode, km/h.

    - ``walk`` 4.0: the adult design value. 15 minutes -> 1000 m, the upper end of the
      800-1000 m that GB 50180-2018 Table 3.0.4 quotes for the 15-minute circle [I].
    - ``walk_elderly`` 3.6 (about 1.0 m/s): the design walking speed used for older
      pedestrians in Chinese studies [S].
    - ``walk_frail`` 3.0 (about 0.8 m/s): frail-walker sensitivity run [S].
    - ``bicycle`` 12.0 and ``ebike`` 20.0 [I]; GB 17761-2018 caps e-bike design speed
      at 25 km/h [R].

drive_speeds_kph : dict[str, float]
    Free-flow car speed by OSM ``highway`` value, used where an edge has no usable
    ``maxspeed`` tag. Defaults follow typical Chinese urban design speeds (CJJ 37) [R].
    ``*_link`` values fall back to their parent class when absent.
drive_default_kph : float
    Car speed for a drivable highway value missing from ``drive_speeds_kph``.
drive_speed_factor : float
    Multiplier applied to every car speed (e.g. 0.6 for peak-hour congestion).

Snapping
--------
max_snap_m : float
    A facility or origin farther than this from every usable edge of the network is
    unreachable (inf) and reported in one warning. Default 500 m.
snap_sample_m : float or None
    Longest part the snapping index cuts edges into, metres. None (default) picks half
    the median straight piece of the network's polylines, between 5 and 20 m. Only
    speed depends on it: the nearest edge found is exact for any value.
snap_cell_m : float or None
    Side of the cells of the snapping grid, which lists per cell every edge piece that
    can be nearest to a point of the cell. None (default) picks half the part length
    (``snap_sample_m``), larger where needed to stay within 500,000 cells; networks too
    large for that snap with the KD-tree only. 0 turns the grid off. Speed only: the
    answers are exact either way.
snap_grid : str
    When the snapping grid is built: "auto" (default) once a network mode has snapped
    about twice as many points as the grid has cells, so that one-off runs never wait
    for it; "always" when the mode is first used; "never". ``Network.prepare_snapping()``
    builds it on request.

Engine
------
threads : int or None
    Threads the engine runs on: categories (and, in ``assess``, the circles' modes) are
    searched side by side, and points are snapped in chunks. None (default) uses every
    core the process may run on; 1 runs everything on the calling thread. Results are
    the same for every value. The CLI's ``--threads N`` sets it.
engine : str
    "auto" (default): the compiled engine (numba kernels that release the GIL) when
    numba is installed, else the scipy path; "numba": the compiled engine or an error;
    "scipy": always the scipy path (one category at a time, holding the GIL). Both give
    the same travel times to the last bit.
jit_cache_dir : str or None
    Where numba caches the compiled kernels. None (default): numba's choice, i.e. the
    ``NUMBA_CACHE_DIR`` environment variable if set, else ``__pycache__`` beside
    ``planner/_kernels.py`` when that is writable, else the user's cache folder
    (``~/.cache/numba``), else a folder in the system's temporary directory. Read once,
    when the engine is first used.

Isochrones (display only)
-------------------------
isochrone_buffer_m : float
    How far from a reached street an isochrone extends (50 m [I]: the depth of the
    buildings along a street).
isochrone_cell_m : float
    Grid cell used to draw isochrones (10 m).
isochrone_max_cells : int
    Largest drawing grid; the cell grows for larger areas (8 million cells).

Siting
------
siting_spacing_m : float
    Default candidate sites are network nodes thinned to one per square of this side
    (100 m).
siting_radius_m : float
    Default candidates lie within this distance of a block outside the circle (300 m).
siting_chunk_cells : int
    Size of the distance block computed at once when building coverage sets
    (candidates per chunk x nodes; 20 million cells = 160 MB).

Population estimates
--------------------
floor_m2_per_person : float
    Residential floor area per resident used to estimate block population from building
    footprints x levels (35 m2 [I]: close to urban China's per-capita housing area).
default_building_levels : float
    Levels assumed for a residential building without ``building:levels`` (1 [I]:
    conservative; Chinese housing is usually taller, so tag levels where you can).
default_density_per_ha : float
    Residents per hectare of block when no buildings are available (150 [I]).

Logging
-------
log_console : bool
    Also print planner's log messages to the console (they always go to the
    ``"planner"`` logger, which has a NullHandler by default).
log_level : int
    Level of the console handler when ``log_console`` is True.

Caching
-------
cache_folder : str
    Folder for osmnx's HTTP cache when networks or features are downloaded.
use_cache : bool
    Whether downloads use and fill that cache.
"""

from __future__ import annotations

import logging

speeds_kph: dict[str, float] = {
    "walk": 4.0,
    "walk_elderly": 3.6,
    "walk_frail": 3.0,
    "bicycle": 12.0,
    "ebike": 20.0,
}

drive_speeds_kph: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 70.0,
    "primary": 50.0,
    "secondary": 40.0,
    "tertiary": 35.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 30.0,
    "track": 15.0,
    "busway": 30.0,
    "motorway_link": 50.0,
    "trunk_link": 40.0,
    "primary_link": 35.0,
    "secondary_link": 30.0,
    "tertiary_link": 25.0,
}
drive_default_kph: float = 30.0
drive_speed_factor: float = 1.0

max_snap_m: float = 500.0
snap_sample_m: float | None = None
snap_cell_m: float | None = None
snap_grid: str = "auto"

threads: int | None = None
engine: str = "auto"
jit_cache_dir: str | None = None

isochrone_buffer_m: float = 50.0
isochrone_cell_m: float = 10.0
isochrone_max_cells: int = 8_000_000

siting_spacing_m: float = 100.0
siting_radius_m: float = 300.0
siting_chunk_cells: int = 20_000_000

floor_m2_per_person: float = 35.0
default_building_levels: float = 1.0
default_density_per_ha: float = 150.0

log_console: bool = False
log_level: int = logging.INFO

cache_folder: str = "./cache"
use_cache: bool = True
