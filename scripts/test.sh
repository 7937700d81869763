#!/usr/bin/env bash
# The whole test suite: lint (ruff), type check (mypy), the stage contract (import-linter),
# then pytest.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff"
.venv/bin/ruff check planner tests bench scripts
.venv/bin/ruff format --check planner tests bench scripts
echo "== mypy"
.venv/bin/mypy
echo "== import-linter (stage order, see docs/architecture.md)"
.venv/bin/lint-imports --no-cache
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
