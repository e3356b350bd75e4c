#!/usr/bin/env bash
# Set up .venv (quietly: its output is shown only when it fails) and run the server on embedded
# SQLite, in the foreground: Ctrl-C stops it. Arguments go to zenml-server (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "Setting up .venv (the first time takes a minute)..."
if ! scripts/setup.sh >"$log" 2>&1; then
  cat "$log" >&2
  echo "make run: setting up .venv failed (output above)" >&2
  exit 1
fi
echo "Starting zenml-server in the foreground; stop it with Ctrl-C."
exec .venv/bin/zenml-server "$@"
