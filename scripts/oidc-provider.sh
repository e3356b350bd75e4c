#!/usr/bin/env bash
# Install the real OpenID Connect provider the federation tests run (node-oidc-provider,
# pinned by tests/federation/provider/package-lock.json) into a cache outside the clone.
# Prints the directory. Idempotent and quick when it is already there. Needs node >= 20.
set -euo pipefail
cd "$(dirname "$0")/.."
src=tests/federation/provider
want=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
dir=${ZENML_OIDC_PROVIDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zenml-server/oidc-provider-$want}
mkdir -p "$(dirname "$dir")"
# Test runs started together (CI shards, several worktrees) install it once, one at a time.
exec 9>"$dir.lock"
flock 9
if [ ! -f "$dir/.installed" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --silent --ignore-scripts) >&2
  touch "$dir/.installed"
fi
echo "$dir"
