"""Run a notebook of notebooks/ in a fresh kernel and read the record it prints.

Each notebook runs with nbclient in a fresh kernel of the Python that runs the tests:
a kernelspec written to a temporary JUPYTER_PATH points at ``sys.executable``, so no
kernel needs to be installed and a ``python3`` kernel of another environment is never
picked up. The kernel works in a temporary folder. The last cell of every notebook prints
one line ``<NAME>_RESULT {json}``; ``run`` returns it parsed.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import unavailable

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [
    "01_quickstart.ipynb",
    "02_bring_your_own_data.ipynb",
    "03_siting.ipynb",
    "04_what_if.ipynb",
]
CELL_TIMEOUT_S = 300


def _need(module: str) -> Any:
    """Import a notebook-runner module; skipped locally when absent, a failure on CI."""
    try:
        return importlib.import_module(module)
    except ImportError:
        unavailable(f"{module} is not installed; pip install -e '.[dev]'")


def run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute a notebook; return its cells' outputs as text and the record it prints."""
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "planner tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    work = tmp_path / "work"
    work.mkdir()

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, if a cell fails

    stdout, stderr, html = [], [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{name}: {out.get('ename')}: {out.get('evalue')}"
            if out["output_type"] == "stream":
                (stdout if out["name"] == "stdout" else stderr).append(out["text"])
            elif "text/html" in out.get("data", {}):
                html.append(out["data"]["text/html"])
    text = "".join(stdout)
    assert "Traceback" not in text + "".join(stderr)
    tag = name.split("_", 1)[0]
    prefix = {
        "01": "QUICKSTART_RESULT ",
        "02": "BYOD_RESULT ",
        "03": "SITING_RESULT ",
        "04": "WHATIF_RESULT ",
    }[tag]
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"{name} should print one {prefix.strip()} line"
    assert list(work.iterdir()) == [], f"{name} wrote into its working folder"
    return {
        "record": json.loads(lines[0][len(prefix) :]),
        "stderr": "".join(stderr),
        "html": html,
    }


def offline_maps(html: list[str]) -> list[str]:
    """Inline map outputs: folium iframes carrying the whole offline page."""
    return [h for h in html if "<iframe" in h and "leaflet" in h.lower() and len(h) > 100_000]
