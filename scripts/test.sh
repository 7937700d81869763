#!/usr/bin/env bash
# The whole test suite: lint (ruff), type check (mypy), then pytest.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff"
.venv/bin/ruff check planner tests bench
.venv/bin/ruff format --check planner tests bench
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
