"""Values shared between tests: read-only originals, and copies a test may change.

A module- or session-scoped fixture builds its value once. No test may change it in
place, or the next test sees another input than the one it was written for. So:

- ``frozen(value)`` makes the original read-only where Python lets it: the values of
  every frame and array in it (writing one raises ``ValueError: assignment destination
  is read-only``) and the arrays of every network. planner itself must never write into
  its inputs either, and a frozen input proves it does not. (A column can still be
  added, an attribute rebound: that is what the copies are for.)
- ``copied(value)`` is what a test gets: frames and arrays copied, records (Assessment,
  Siting) rebuilt from copied fields, networks with caches of their own over the same
  frozen arrays. Anything else (strings, numbers, CRSs, rule tables) is shared as it is.

The convention, checked by tests/test_architecture.py: a scoped fixture that holds data
is named with a leading underscore and read by tests only through a function-scoped
fixture that returns ``copied(...)``; the few scoped fixtures holding an immutable value
or an outside resource (a browser) are listed there with their reason.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.assessment import Assessment, AssessmentInputs, AssessmentParams
from planner.network import Network
from planner.siting import Siting

T = TypeVar("T")

#: The records ``copied`` rebuilds field by field; other dataclasses (circles, presets,
#: rule tables) are planner's immutable descriptions and are shared.
RECORDS = (Assessment, AssessmentInputs, AssessmentParams, Siting)


def fresh_network(net: Network) -> Network:
    """The same streets (the same read-only arrays) with caches of their own.

    A network keeps what it derives (the graph of each mode, the snapping index) in
    dicts; a test that builds the snapping grid, say, would otherwise change what every
    later test of the session runs through.
    """
    new = copy.copy(net)
    for name, value in vars(net).items():
        if name.startswith("_") and isinstance(value, dict):
            setattr(new, name, {})
    return new


def _freeze_array(arr: Any) -> None:
    if isinstance(arr, np.ndarray):
        arr.flags.writeable = False


def _freeze_frame(frame: pd.DataFrame | pd.Series) -> None:
    # pandas has no read-only flag. Under copy-on-write, a write into a frame whose
    # arrays another frame also references copies them first (and so succeeds); so the
    # frame gets arrays of its own first, then they are made read-only: writes raise.
    frame._mgr = frame._mgr.copy(deep=True)
    for block in frame._mgr.blocks:
        values = block.values
        _freeze_array(values)
        _freeze_array(getattr(values, "_data", None))  # GeometryArray, masked arrays
        _freeze_array(getattr(values, "_ndarray", None))  # string and datetime arrays


def _parts(value: Any) -> list[Any]:
    """What a container, network or record holds, to be frozen in turn."""
    if isinstance(value, Network):
        return [a for a in vars(value).values() if isinstance(a, np.ndarray | pd.DataFrame)]
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    return []


def frozen(value: T, _seen: set[int] | None = None) -> T:
    """``value`` made read-only in place (see the module doc), and returned."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return value
    seen.add(id(value))
    if isinstance(value, pd.DataFrame | pd.Series):
        _freeze_frame(value)
    elif isinstance(value, np.ndarray):
        _freeze_array(value)
    elif sp.issparse(value):
        for part in ("data", "indices", "indptr"):
            _freeze_array(getattr(value, part, None))
    for item in _parts(value):
        frozen(item, seen)
    return value


def copied(value: T, _memo: dict[int, Any] | None = None) -> T:
    """A copy of a shared value that a test may change freely (see the module doc)."""
    memo = {} if _memo is None else _memo
    if id(value) in memo:
        return memo[id(value)]
    out: Any
    if isinstance(value, pd.DataFrame | pd.Series):
        out = value.copy(deep=True)
    elif isinstance(value, np.ndarray) or sp.issparse(value):
        out = value.copy()
    elif isinstance(value, Network):
        out = fresh_network(value)
    elif isinstance(value, list):
        out = [copied(v, memo) for v in value]
    elif isinstance(value, tuple):
        out = tuple(copied(v, memo) for v in value)
    elif isinstance(value, dict):
        out = {k: copied(v, memo) for k, v in value.items()}
    elif isinstance(value, RECORDS):
        changes = {
            f.name: copied(getattr(value, f.name), memo)
            for f in dataclasses.fields(value)
            if f.init
        }
        out = dataclasses.replace(value, **changes)
    else:
        out = value
    memo[id(value)] = out
    return out
