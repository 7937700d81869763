"""The stage order and the module boundaries hold (docs/architecture.md).

The import-linter contract in pyproject.toml states the layers; these tests run it on the
tree, prove that it catches a back-edge planted in a copy of the package, and check the
rule import-linter cannot state: no module imports another module's private names.
"""

from __future__ import annotations

import ast
import functools
import os
import re
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


# --- the tests' own rules (docs: tests/sharing.py) ------------------------------------------

TESTS = ROOT / "tests"


def _is_test_module(dotted: str) -> bool:
    return dotted.rpartition(".")[2].startswith("test_")


def _imported(node: ast.AST) -> list[str]:
    """The modules an import statement or an import_module("...") call names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = "." * node.level + (node.module or "")
        return [base, *(f"{base}.{a.name}" for a in node.names)]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def _test_module_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a test module (``test_*``) in a source text,
    including the text of scripts a test writes out and runs (string constants)."""
    tree = ast.parse(source)
    cases = {  # strings in @pytest.mark.parametrize are test data, not scripts
        id(n)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef)
        for deco in fn.decorator_list
        for n in ast.walk(deco)
    }
    found = []
    for node in ast.walk(tree):
        lineno = getattr(node, "lineno", 0)
        found += [(lineno, m.lstrip(".")) for m in _imported(node) if _is_test_module(m)]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in cases:
            for m in re.finditer(r"^\s*(?:from|import)\s+([\w.]+)", node.value, re.MULTILINE):
                if _is_test_module(m.group(1)):
                    found.append((lineno, m.group(1)))
    return found


def test_no_test_module_imports_another() -> None:
    """Shared builders live in conftest.py or plain helper modules (helpers.py, town.py,
    sharing.py, browser.py, notebook_runner.py), never in a test module another imports."""
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports the test module {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, module in _test_module_imports(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "from test_maps import xss_town\n",
        "import test_assess_town\n",
        "from tests.test_maps import LIFE\n",
        "from .test_maps import LIFE\n",
        "from . import test_maps\n",
        "def f():\n    from test_assess_town import town\n",
        "import importlib\nm = importlib.import_module('test_maps')\n",
        'SCRIPT = """\nimport sys\nfrom test_maps import xss_town\n"""\n',
    ],
)
def test_the_test_import_rule_catches_each_form(source: str) -> None:
    assert _test_module_imports(source)


def test_the_test_import_rule_passes_helper_modules() -> None:
    source = (
        "from town import town, xss_town\nimport helpers\nfrom sharing import copied\n"
        "from planner.outputs import export\nTEXT = 'from the test_maps module'\n"
    )
    assert _test_module_imports(source) == []


#: Scoped fixtures that may be shared as they are: an immutable value or an outside
#: resource no test can change.
SHARED_AS_IS = {
    ("conftest.py", "helsinki_pbf"): "a path string",
    ("test_provenance.py", "plan_text"): "a string",
    ("test_maps.py", "chrome"): "a browser; each visit opens a context of its own",
    ("test_report.py", "chrome"): "a browser; each visit opens a context of its own",
    ("test_explore_browser.py", "chromium"): "a browser; each test opens its own page",
    ("test_scale.py", "client"): "a dask LocalCluster and its client (a resource)",
    ("test_explorer.py", "server"): "a running explorer server; a test that changes its "
    "session undoes the change",
    ("reliability/test_whatif.py", "server"): "a running explorer server over a copy; the "
    "tests only ask it (host and token checks)",
}


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache
def _fixtures(path: Path) -> list[tuple[ast.FunctionDef, str | None]]:
    """(function, scope) of every pytest fixture in a file (scope None: function)."""
    out = []
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if ast.unparse(target) not in {"pytest.fixture", "fixture"}:
                continue
            scope = None
            if isinstance(deco, ast.Call):
                for kw in deco.keywords:
                    if kw.arg == "scope" and isinstance(kw.value, ast.Constant):
                        scope = None if kw.value.value == "function" else kw.value.value
            out.append((node, scope))
    return out


def _where(path: Path) -> str:
    return path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else path.name


def _sharing_problems(files: list[Path]) -> list[str]:
    problems = []
    private = set()
    for path in files:
        for fn, scope in _fixtures(path):
            if scope is None:
                continue
            if fn.name.startswith("_"):
                private.add(fn.name)
            elif (_where(path), fn.name) not in SHARED_AS_IS:
                problems.append(
                    f"{path.name}: {scope}-scoped fixture {fn.name!r} is shared as it is; "
                    f"name it _{fn.name} and give tests copied(...) of it (tests/sharing.py)"
                )
    for path in files:
        scoped = {fn.name for fn, scope in _fixtures(path) if scope is not None}
        fixtures = {fn.name: fn for fn, _ in _fixtures(path)}
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.FunctionDef):
                continue
            takes = {a.arg for a in node.args.args} & private
            if not takes or node.name in scoped:
                continue  # a scoped fixture may build on another
            if node.name not in fixtures:
                problems.append(f"{path.name}: test {node.name} takes the shared {sorted(takes)}")
            elif not any(
                isinstance(n, ast.Call) and ast.unparse(n.func) == "copied" for n in ast.walk(node)
            ):
                problems.append(f"{path.name}: fixture {node.name} hands out {sorted(takes)}")
    return problems


def test_scoped_fixtures_are_frozen_and_tests_get_copies() -> None:
    files = sorted(TESTS.rglob("*.py"))
    assert _sharing_problems(files) == []
    scoped = [fn for path in files for fn, scope in _fixtures(path) if scope is not None]
    assert len(scoped) >= 20  # the rule saw the fixtures it is about


def test_the_sharing_rule_catches_a_shared_frame_and_a_leak(tmp_path: Path) -> None:
    bad = tmp_path / "test_bad.py"
    bad.write_text(
        "import pytest\n\n"
        "@pytest.fixture(scope='module')\ndef frame():\n    return 1\n\n"
        "@pytest.fixture(scope='module')\ndef _town():\n    return 2\n\n"
        "@pytest.fixture\ndef town(_town):\n    return _town\n\n"
        "def test_x(_town):\n    assert _town\n",
        encoding="utf-8",
    )
    problems = _sharing_problems([bad])
    assert len(problems) == 3, problems
    assert "'frame' is shared as it is" in problems[0]
    assert "fixture town hands out ['_town']" in problems[1]
    assert "test test_x takes the shared ['_town']" in problems[2]
