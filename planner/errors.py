"""Exceptions and warnings raised by planner.

Every exception derives from :class:`PlannerError`, so ``except planner.errors.PlannerError``
catches anything planner raises on purpose. Errors about bad input also derive from
``ValueError``, so existing ``except ValueError`` code keeps working.

Messages say which argument (or file, or column) is wrong, what was expected, what was
given, and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PlannerError(Exception):
    """Base class of every error planner raises on purpose."""


class InputError(ValueError, PlannerError):
    """An argument, file or column does not have the expected content."""


class MissingColumnError(InputError):
    """A table lacks a column planner needs."""


class NoCrsError(InputError):
    """A GeoDataFrame or graph has no coordinate reference system."""


class NetworkError(InputError):
    """A street network is empty or cannot be built from the given source."""


class PlannerWarning(UserWarning):
    """A recoverable problem in the input that planner worked around."""


def closest(value: str, choices: Iterable[str]) -> str:
    """Return a ``" Did you mean 'x'?"`` hint for a misspelt option, or ``""``."""
    match = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else ""


def describe(values: Iterable[object], limit: int = 12) -> str:
    """Format a list of values for a message, shortening long lists."""
    items = [repr(v) for v in values]
    if len(items) > limit:
        return ", ".join(items[:limit]) + f", ... ({len(items)} in all)"
    return ", ".join(items)
