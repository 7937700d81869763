"""docs/errors.md, section "Outputs": one test per entry."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sharing import copied, frozen
from town import xss_town

import planner
from planner.assessment import Assessment
from planner.errors import InputError, PlannerError
from planner.outputs import export, staging
from planner.outputs.bundle import write_outputs
from planner.outputs.export import write_assessment
from planner.outputs.report import write_report
from planner.outputs.staging import MANIFEST, read_manifest


@pytest.fixture(scope="module")
def _town_a():
    return frozen(xss_town())


@pytest.fixture
def town_a(_town_a):
    return copied(_town_a)


def with_names(a, names):
    return Assessment(**{**vars(a), "blocks": a.blocks.assign(name=names)})


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_formula_like_text_is_text(town_a, tmp_path):
    a, _ = town_a
    names = ["=1+1", "+1", "-1+2", "@A1", "\t=2"]
    write_assessment(with_names(a, names), tmp_path, formats=["csv", "xlsx"])
    with (tmp_path / "assessment_blocks.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["名称 name"] for r in rows] == ["'" + n for n in names]
    ws = openpyxl.load_workbook(tmp_path / "assessment.xlsx")["blocks"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert {c.value for c in cells if isinstance(c.value, str)} >= set(names)


def test_overlong_text_is_cut_with_a_warning(town_a, tmp_path):
    a, _ = town_a
    long = "区" * 33_000
    with pytest.warns(planner.errors.PlannerWarning, match="32,767 characters"):
        write_assessment(with_names(a, [long, "a", "b", "c", "d"]), tmp_path, formats=["xlsx"])
    ws = openpyxl.load_workbook(tmp_path / "assessment.xlsx")["blocks"]
    assert "区" * 32_767 in [c.value for row in ws.iter_rows() for c in row]


def test_control_characters_are_dropped_with_a_warning(town_a, tmp_path):
    a, _ = town_a
    with pytest.warns(planner.errors.PlannerWarning, match="control characters"):
        write_assessment(with_names(a, ["a\x07b", "a", "b", "c", "d"]), tmp_path, formats=["xlsx"])
    ws = openpyxl.load_workbook(tmp_path / "assessment.xlsx")["blocks"]
    assert "ab" in [c.value for row in ws.iter_rows() for c in row]


def test_output_folder_is_a_file(town_a, tmp_path):
    a, _ = town_a
    (tmp_path / "out").write_text("x")
    with pytest.raises(PlannerError, match="is a file; give a folder path"):
        write_outputs(a, tmp_path / "out", formats=["csv"])
    assert (tmp_path / "out").read_text() == "x"


def test_output_folder_cannot_be_replaced(town_a, tmp_path, monkeypatch):
    a, _ = town_a
    out = tmp_path / "out"
    write_outputs(a, out, formats=["csv"], reports=False)
    before = sorted(p.name for p in out.iterdir())
    real = os.replace

    def busy(src, dst):
        if Path(src) == out:
            raise PermissionError(13, "Permission denied")
        return real(src, dst)

    monkeypatch.setattr(staging.os, "replace", busy)
    with pytest.raises(PlannerError, match=r"open in another program.*unchanged"):
        write_outputs(a, out, formats=["xlsx"], reports=False)
    assert sorted(p.name for p in out.iterdir()) == before
    assert hidden(tmp_path) == []


def test_interrupted_run_keeps_the_previous_folder(town_a, tmp_path, monkeypatch):
    a, _ = town_a
    out = tmp_path / "out"
    write_outputs(a, out, formats=["csv"], reports=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(path, write):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "atomic_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(a, out, formats=["csv"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert hidden(tmp_path) == []


def test_killed_runs_leftovers_are_cleaned(town_a, tmp_path):
    a, _ = town_a
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    dead = int(done.stdout)
    (tmp_path / f".out.planner-new-{dead}-00000000").mkdir()
    (tmp_path / f".out.planner-new-{dead}-00000000" / "half.csv").write_text("x")
    write_outputs(a, tmp_path / "out", formats=["csv"], reports=False)
    assert hidden(tmp_path) == []


def test_second_run_leaves_no_stale_files(town_a, tmp_path):
    a, sites = town_a

    class Siting:
        circle = "urban_15min_life"

    siting = Siting()
    siting.sites = sites  # type: ignore[attr-defined]
    out = tmp_path / "out"
    write_outputs(a, out, sites=siting, formats=["csv"])
    assert (out / "sites.csv").exists() and (out / "reports").exists()
    write_outputs(a, out, formats=["csv"], reports=False)
    assert not (out / "sites.csv").exists() and not (out / "reports").exists()
    assert set(read_manifest(out)) == {p.name for p in out.iterdir()} - {MANIFEST}


def test_unknown_community(town_a, tmp_path):
    a, _ = town_a
    with pytest.raises(InputError, match="Did you mean '石岗村'"):
        write_report(a, "石岗", tmp_path)
