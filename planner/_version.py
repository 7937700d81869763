"""The installed version of planner (a leaf: every module may import it)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("planner")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
