#!/usr/bin/env bash
# Everything from a fresh clone to a finished test run: set up, start services, lint, test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/ensure-services.sh
.venv/bin/ruff check zenml_server cli tests bench
.venv/bin/ruff format --check zenml_server cli tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
