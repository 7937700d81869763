"""tests/sharing.py: a frozen fixture value cannot be written, a copy is a test's own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sharing import copied, fresh_network, frozen
from town import town

import planner


def test_a_frozen_assessment_cannot_be_written_in_place_and_a_copy_can():
    net, fac, blocks, communities = town()
    a = frozen(planner.assess(net, fac, blocks, communities=communities))
    with pytest.raises(ValueError, match="read-only"):
        a.blocks.loc["U1", "population"] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        a.summary.iloc[0, 0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        fac.loc[0, "area_m2"] = 1.0  # the inputs the assessment holds are frozen too
    with pytest.raises(ValueError, match="read-only"):
        net.x[0] = 0.0
    mine = copied(a)
    mine.blocks.loc["U1", "population"] = 5.0
    assert a.blocks.loc["U1", "population"] == 1000.0
    assert mine.summary is not a.summary and mine.inputs.blocks is not a.inputs.blocks
    pd.testing.assert_frame_equal(mine.summary, a.summary)
    # the copy's network is the same streets with caches of its own
    (key, shared), (_, own) = next(iter(a.networks.items())), next(iter(mine.networks.items()))
    assert own is not shared and own.x is shared.x
    assert own.graph is not shared.graph
    np.testing.assert_array_equal(own.graph.csr.toarray(), shared.graph.csr.toarray())
    s = planner.site(mine, circle="urban_15min_life", k=1)  # works on the copy
    assert s.share_after == pytest.approx(1.0), key


def test_a_fresh_network_shares_no_cache(helsinki_walk):
    other = fresh_network(helsinki_walk)
    assert other.graph is not helsinki_walk.graph
    assert not other.x.flags.writeable  # the session's arrays, still read-only
    caches = [
        k for k, v in vars(helsinki_walk).items() if k.startswith("_") and isinstance(v, dict)
    ]
    assert caches  # a Network keeps its caches in dicts; if that changes, so must sharing.py
    assert all(getattr(other, k) is not getattr(helsinki_walk, k) for k in caches)
