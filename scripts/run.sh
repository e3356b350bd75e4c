#!/usr/bin/env bash
# Set up and run the server on embedded SQLite (in the user's data directory by default).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/zenml-server "$@"
