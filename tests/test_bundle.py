"""planner.outputs.bundle and .staging: a run's folder is whole or absent.

A run writes into a staging folder beside the target and swaps it in at the end. These
tests interrupt writers (KeyboardInterrupt after the first file, SIGKILL, SIGTERM with a
handler) and check that the previous results are untouched and nothing is left behind
once the next run starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sharing import copied, frozen
from town import xss_town

import planner
from planner.errors import PlannerError
from planner.outputs import export, staging
from planner.outputs.bundle import write_outputs
from planner.outputs.staging import MANIFEST, clean_leftovers, read_manifest, staged_folder

TESTS = Path(__file__).resolve().parent


class Sites:
    """The part of a siting result write_outputs reads."""

    def __init__(self, sites, circle):
        self.sites, self.circle = sites, circle


@pytest.fixture(scope="module")
def _town_a():
    return frozen(xss_town())


@pytest.fixture
def town_a(_town_a):
    return copied(_town_a)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time (ns)."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def first_run(town_a, out: Path) -> list[Path]:
    a, sites = town_a
    return write_outputs(a, out, sites=Sites(sites, "urban_15min_life"), formats=("csv",))


def test_manifest_lists_exactly_the_files_of_the_run(town_a, tmp_path):
    out = tmp_path / "run"
    written = first_run(town_a, out)
    listed = read_manifest(out)
    assert listed is not None
    assert set(listed) == files(out) - {MANIFEST}
    assert {"sites.csv", "sites.gpkg", "index.html", "reports/index.html"} <= set(listed)
    assert "assessment_blocks.csv" in listed
    assert written[-1] == out / MANIFEST
    assert {p.relative_to(out).as_posix() for p in written} == files(out)
    assert all(p.exists() for p in written)
    data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert data["planner"] == planner.__version__
    assert hidden(tmp_path) == []


def test_second_run_replaces_the_bundle_and_keeps_other_files(town_a, tmp_path):
    a, _ = town_a
    out = tmp_path / "run"
    first_run(town_a, out)
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    (out / "mine").mkdir()
    (out / "mine" / "sketch.dwg").write_bytes(b"\x00dwg")
    (out / "reports" / "extra.html").write_text("old page", encoding="utf-8")
    # the second run writes no sites and no reports: the first run's must not stay
    written = write_outputs(a, out, formats=("xlsx",), reports=False)
    now = files(out)
    assert "sites.csv" not in now and "sites.gpkg" not in now
    assert not (out / "reports").exists()
    assert "assessment_blocks.csv" not in now
    assert {"assessment.xlsx", "index.html", MANIFEST} <= now
    # a person's files stay, and are not counted as the run's
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes"
    assert (out / "mine" / "sketch.dwg").read_bytes() == b"\x00dwg"
    assert set(read_manifest(out)) == {"assessment.xlsx", "index.html"}
    assert {p.name for p in written} == {"assessment.xlsx", "index.html", MANIFEST}
    assert hidden(tmp_path) == []


def test_keep_carries_named_files_of_the_previous_run(town_a, tmp_path):
    a, sites = town_a
    out = tmp_path / "run"
    first_run(town_a, out)
    tables = {p.name: p.read_bytes() for p in out.glob("assessment_*.csv")}
    written = write_outputs(
        a,
        out,
        sites=Sites(sites.iloc[:1], "urban_15min_life"),
        formats=(),
        reports=False,
        keep=("assessment*",),
    )
    assert {p.name: p.read_bytes() for p in out.glob("assessment_*.csv")} == tables
    assert not (out / "reports").exists()
    listed = set(read_manifest(out))
    assert set(tables) <= listed and "sites.csv" in listed
    assert {p.relative_to(out).as_posix() for p in written} == files(out)


def test_a_folder_without_manifest_loses_only_planners_files(town_a, tmp_path):
    a, _ = town_a
    out = tmp_path / "old"
    (out / "reports").mkdir(parents=True)
    for name in ("sites.csv", "sites.gpkg", "assessment.xlsx", "reports/x.html", "data.csv"):
        (out / name).write_text("old", encoding="utf-8")
    (out / ".index.a1b2c3d4.html").write_text("a killed writer's temp file")
    write_outputs(a, out, formats=("csv",), reports=False)
    now = files(out)
    assert "data.csv" in now  # not a name planner writes: a person's file
    assert not {"sites.csv", "sites.gpkg", "assessment.xlsx", "reports/x.html"} & now
    assert ".index.a1b2c3d4.html" not in now


def interrupt_after(n: int, error: type[BaseException]):
    """A wrapper of atomic_write that raises ``error`` once ``n`` files are written."""
    real = export.atomic_write
    calls = {"n": 0}

    def write(path, writer):
        if calls["n"] >= n:
            raise error("interrupted")
        real(path, writer)
        calls["n"] += 1

    return write


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_interrupted_run_leaves_the_previous_results_untouched(
    town_a, tmp_path, monkeypatch, error
):
    a, _ = town_a
    out = tmp_path / "run"
    first_run(town_a, out)
    before = snapshot(out)
    monkeypatch.setattr(export, "atomic_write", interrupt_after(1, error))
    with pytest.raises(error, match="interrupted"):
        write_outputs(a, out, formats=("csv", "xlsx"))
    assert snapshot(out) == before
    assert hidden(tmp_path) == []


def test_interrupted_first_run_leaves_nothing(town_a, tmp_path, monkeypatch):
    a, _ = town_a
    monkeypatch.setattr(export, "atomic_write", interrupt_after(2, KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        write_outputs(a, tmp_path / "run", formats=("csv",))
    assert list(tmp_path.iterdir()) == []


def test_swap_failure_is_one_clear_error_and_changes_nothing(town_a, tmp_path, monkeypatch):
    a, _ = town_a
    out = tmp_path / "run"
    first_run(town_a, out)
    before = snapshot(out)
    real = os.replace

    def refuse(src, dst):
        if Path(src) == out:  # setting the previous folder aside: a file open elsewhere
            raise PermissionError(13, "Permission denied")
        return real(src, dst)

    monkeypatch.setattr(staging.os, "replace", refuse)
    with pytest.raises(PlannerError, match=r"could not replace the output folder .*unchanged"):
        write_outputs(a, out, formats=("csv",), reports=False)
    assert snapshot(out) == before
    assert hidden(tmp_path) == []


def test_output_folder_that_is_a_file(town_a, tmp_path):
    a, _ = town_a
    (tmp_path / "run").write_text("x")
    with pytest.raises(PlannerError, match="is a file"):
        write_outputs(a, tmp_path / "run", formats=("csv",))


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_next_run_cleans_what_a_killed_run_left(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "a.txt").write_text("previous")
    pid = dead_pid()
    stale = tmp_path / f".run.planner-new-{pid}-0badc0de"
    (stale / "reports").mkdir(parents=True)
    (stale / "reports" / "p.html").write_text("half")
    aside = tmp_path / f".run.planner-old-{pid}-0badc0df"
    aside.mkdir()
    other = tmp_path / f".run.planner-new-{os.getppid()}-12345678"  # a live process's
    other.mkdir()
    unrelated = tmp_path / ".other.planner-new-1-abc"
    unrelated.mkdir()
    assert set(clean_leftovers(out)) == {stale, aside}
    assert hidden(tmp_path) == sorted([other.name, unrelated.name])
    assert (out / "a.txt").read_text() == "previous"


def test_a_kill_between_the_renames_is_undone(tmp_path):
    out = tmp_path / "run"
    aside = tmp_path / f".run.planner-old-{dead_pid()}-0badc0de"
    aside.mkdir()
    (aside / "a.txt").write_text("previous")
    assert not out.exists()
    with staged_folder(out) as folder:
        assert (out / "a.txt").read_text() == "previous"  # restored before the run
        (folder / "b.txt").write_text("new")
    assert files(out) == {"b.txt", MANIFEST}
    assert hidden(tmp_path) == []


KILLED_RUN = """
import os, signal, sys, time
sys.path.insert(0, {tests!r})
from town import xss_town
from planner.outputs import export
from planner.outputs.bundle import write_outputs

a, _ = xss_town()
real = export.atomic_write
count = {{"n": 0}}

def write(path, writer):
    real(path, writer)
    count["n"] += 1
    if count["n"] == 1:
        {after_first}

export.atomic_write = write
{setup}
write_outputs(a, {out!r}, formats=("csv", "xlsx"))
"""


def run_script(tmp_path: Path, out: Path, after_first: str, setup: str = "") -> subprocess.Popen:
    script = tmp_path / "run.py"
    script.write_text(
        KILLED_RUN.format(tests=str(TESTS), out=str(out), after_first=after_first, setup=setup)
    )
    return subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_sigkill_midway_then_the_next_run(town_a, tmp_path):
    a, _ = town_a
    out = tmp_path / "run"
    first_run(town_a, out)
    before = snapshot(out)
    proc = run_script(tmp_path, out, "os.kill(os.getpid(), signal.SIGKILL)")
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out) == before  # the previous results, untouched
    assert any(n.startswith(".run.planner-new-") for n in hidden(tmp_path))  # left by the kill
    write_outputs(a, out, formats=("csv",), reports=False)
    assert hidden(tmp_path) == []  # the next run removed it
    assert set(read_manifest(out)) == files(out) - {MANIFEST}


def test_sigterm_with_a_handler_stops_cleanly(town_a, tmp_path):
    # How the CLI uses the API: turn SIGTERM into an exception; write_outputs removes its
    # staging folder on the way out and the previous folder stays as it was.
    out = tmp_path / "run"
    first_run(town_a, out)
    before = snapshot(out)
    setup = (
        "def stop(signum, frame):\n    raise SystemExit(143)\nsignal.signal(signal.SIGTERM, stop)\n"
    )
    proc = run_script(tmp_path, out, "print('first file', flush=True); time.sleep(60)", setup)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "first file"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert snapshot(out) == before
    assert hidden(tmp_path) == []
    assert "Traceback" not in err
