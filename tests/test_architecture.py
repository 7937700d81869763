"""The stage order and the module boundaries hold (docs/architecture.md).

The import-linter contract in pyproject.toml states the layers; these tests run it on the
tree, prove that it catches a back-edge planted in a copy of the package, and check the
rule import-linter cannot state: no module imports another module's private names.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "planner"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(exe), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_stage_contract_holds_on_the_tree() -> None:
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 kept, 0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "back_edge"),
    [
        ("network.py", "from . import siting"),  # a lower stage reaching up
        ("sources/files.py", "from ..outputs import export"),
        ("errors.py", "from . import settings, rules"),  # a leaf importing a stage
    ],
)
def test_the_contract_fails_on_a_back_edge(tmp_path: Path, module: str, back_edge: str) -> None:
    shutil.copytree(PACKAGE, tmp_path / "planner", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "planner" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{back_edge}  # planted\n")
    run = _lint_imports(tmp_path)
    assert run.returncode != 0
    assert "BROKEN" in run.stdout
    planted_in = "planner." + module.removesuffix(".py").replace("/", ".")
    assert f"- {planted_in} -> " in run.stdout  # the chain names the planted line


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every planner import in a file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            out.extend((mod, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.Import):
            out.extend((alias.name, "", node.lineno) for alias in node.names)
    return [o for o in out if o[0] == "planner" or o[0].startswith("planner.")]


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _private_use(importer: str, module: str, name: str) -> str | None:
    """Why importing ``name`` from ``module`` breaks the rule, or None when it does not.

    A private module (``_snap``) may be imported from inside the package that holds it;
    a private name (``_atomic``) by no other module at all.
    """
    if name and _is_module(f"{module}.{name}"):
        module, name = f"{module}.{name}", ""  # ``from . import _snap`` imports a module
    if name.startswith("_") and not name.startswith("__"):
        return f"private name {name!r} of {module}"
    parts, owner = module.split("."), importer.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__") and owner[:i] != parts[:i]:
            return f"private module {'.'.join(parts[: i + 1])}"
    return None


def test_no_module_imports_another_modules_private_names() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        for module, name, line in _imports(path):
            why = _private_use(importer, module, name)
            if why is not None and module != importer:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {why}")
    assert not problems, "\n".join(problems)


def test_the_private_rule_is_checked() -> None:
    assert _private_use("planner.plan", "planner.outputs.export", "_atomic")
    assert _private_use("planner.plan", "planner.outputs._common", "short_name")
    assert _private_use("planner.outputs.maps", "planner.outputs._common", "short_name") is None
    assert _private_use("planner.outputs.maps", "planner._io", "atomic_write") is None
    assert _private_use("planner.access", "planner._snap", "SnapResult") is None
    assert _private_use("planner.access", "planner", "_snap") is None
    assert _private_use("planner.sources.files", "planner.outputs", "_common")
