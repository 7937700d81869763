"""Which engine runs (compiled kernels or the scipy path) and the threads it runs on.

The compiled kernels (:mod:`planner._kernels`, numba) release the GIL, so independent
pieces of work (one category's Dijkstra, a chunk of points to snap) run side by side
on a pool of ``settings.threads`` Python threads. The scipy path holds the GIL and runs
on the calling thread. Every piece of work is computed the same way whatever the
number of threads, so results do not depend on it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, TypeVar

from . import settings
from ._log import log
from .errors import InputError

T = TypeVar("T")

_state: dict[str, Any] = {"kernels": None, "tried": False, "pool": None, "size": 0, "pid": 0}
_lock = threading.Lock()


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def n_threads() -> int:
    """``settings.threads`` checked (None: all cores)."""
    value = settings.threads
    if value is None:
        return cores()
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = (
            f"planner.settings.threads must be a whole number of threads, 1 or more, or "
            f"None for all cores; got {value!r}."
        )
        raise InputError(msg)
    return value


def kernels() -> ModuleType | None:
    """The compiled kernels, or None when the scipy path is to be used.

    ``settings.engine``: "auto" uses them when numba imports, "numba" requires them,
    "scipy" never uses them.
    """
    choice = settings.engine
    if choice not in ("auto", "numba", "scipy"):
        msg = (
            f"planner.settings.engine must be 'auto', 'numba' or 'scipy'; got {choice!r}. "
            "'auto' (the default) uses the compiled engine when numba is installed."
        )
        raise InputError(msg)
    if choice == "scipy":
        return None
    with _lock:
        if not _state["tried"]:
            _state["tried"] = True
            _state["kernels"] = _load()
    if _state["kernels"] is None and choice == "numba":
        msg = (
            "planner.settings.engine is 'numba' but numba cannot be imported; install it "
            "(pip install numba) or set planner.settings.engine = 'auto'."
        )
        raise InputError(msg)
    return _state["kernels"]


def _load() -> ModuleType | None:
    import importlib
    import sys
    import tempfile

    try:
        import numba
    except ImportError as exc:
        log(f"engine: numba unavailable ({exc}); using the scipy path")
        return None
    config: Any = numba.config
    if settings.jit_cache_dir is not None:
        config.CACHE_DIR = os.fspath(settings.jit_cache_dir)
    try:
        return importlib.import_module("planner._kernels")
    except RuntimeError:  # no writable cache location: beside the package, nor the user's
        sys.modules.pop("planner._kernels", None)
        config.CACHE_DIR = os.path.join(tempfile.gettempdir(), "planner-numba-cache")
        log(f"engine: compiled kernels cached in {config.CACHE_DIR}")
        return importlib.import_module("planner._kernels")


_local = threading.local()


def _marked(fn: Callable[[T], Any]) -> Callable[[T], Any]:
    def call(item: T) -> Any:
        _local.worker = True
        return fn(item)

    return call


def run(fn: Callable[[T], Any], items: Sequence[T]) -> list[Any]:
    """``[fn(item) for item in items]``, on ``settings.threads`` threads when there are
    several items; results in the order of ``items``. Called from one of the pool's own
    threads, it runs on that thread."""
    threads = n_threads()
    if threads <= 1 or len(items) <= 1 or getattr(_local, "worker", False):
        return [fn(item) for item in items]
    with _lock:
        pool = _state["pool"]
        # a new pool when the count changed, or in a forked child (its threads stayed behind)
        if pool is None or _state["size"] != threads or _state["pid"] != os.getpid():
            if pool is not None and _state["pid"] == os.getpid():
                pool.shutdown(wait=False)
            pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="planner")
            _state.update(pool=pool, size=threads, pid=os.getpid())
    return list(pool.map(_marked(fn), items))
