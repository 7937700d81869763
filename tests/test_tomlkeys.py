"""The one key checker of TOML tables (presets, category files, plan files)."""

from __future__ import annotations

import pytest

from planner._tomlkeys import check_keys, unknown_keys
from planner.errors import InputError


def test_unknown_key_names_the_table_the_valid_keys_and_the_closest():
    allowed = {"minutes", "distance_m", "mode"}
    check_keys({"minutes": 5, "mode": "walk"}, allowed, "plan.toml [circle]")
    assert unknown_keys({"minute": 5, "mode": "walk", "x": 1}, allowed) == ["minute", "x"]
    with pytest.raises(InputError) as err:
        check_keys({"mode": "walk", "minute": 5}, allowed, "plan.toml [circle]")
    assert str(err.value) == (
        "plan.toml [circle]: unknown key 'minute'; valid keys are distance_m, minutes, mode. "
        "Did you mean 'minutes'?"
    )
    with pytest.raises(InputError, match=r"unknown key 'zzz'; valid keys are .*mode\.$"):
        check_keys({"zzz": 1}, allowed, "t")  # nothing close: no hint
