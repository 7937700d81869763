"""Key checks for TOML tables (presets, category files, plan files): a shared leaf.

An unknown key in a hand-written TOML table is nearly always a typo, and a typo that is
ignored silently changes nothing the user can see. :func:`check_keys` turns it into one
clear line naming the table, the key, the valid keys and the closest one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InputError, closest

__all__ = ["check_keys", "unknown_keys"]


def unknown_keys(table: Mapping[str, Any], allowed: Iterable[str]) -> list[str]:
    """The keys of ``table`` that are not in ``allowed``, in the table's order."""
    valid = set(allowed)
    return [str(key) for key in table if key not in valid]


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise for the first key of ``table`` that is not in ``allowed``.

    Parameters
    ----------
    table
        A parsed TOML table (any mapping with string keys).
    allowed
        The valid keys.
    where
        What the table is, for the message (a file name and the table's name).

    Raises
    ------
    planner.errors.InputError
        ``"<where>: unknown key 'minute'; valid keys are ... Did you mean 'minutes'?"``
    """
    valid = sorted(set(allowed))
    bad = unknown_keys(table, valid)
    if bad:
        msg = (
            f"{where}: unknown key {bad[0]!r}; valid keys are {', '.join(valid)}."
            f"{closest(bad[0], valid)}"
        )
        raise InputError(msg)
