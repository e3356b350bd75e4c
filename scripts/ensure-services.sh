#!/usr/bin/env bash
# Make sure what the tests need outside Python is there: PostgreSQL answering on
# 127.0.0.1:5432, Debian's chromium for the browser tests and Debian's nginx (deploy checks and
# the replica suite, which starts its own nginx and its own PostgreSQL instance).
# Needs root to install or start them; without root it says what is missing and the test run
# skips (or, in CI, fails) those tests.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  if ! command -v pg_ctlcluster >/dev/null; then
    as_root apt-get update -q && as_root apt-get install -y -q postgresql || true
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$version" ]; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  pg_isready -h 127.0.0.1 -p 5432 || echo "warning: PostgreSQL still not answering"
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests"
  (as_root apt-get update -q && as_root apt-get install -y -q chromium) >/dev/null \
    || echo "warning: could not install chromium"
fi

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "Installing Debian's nginx for the deploy checks and the replica suite"
  (as_root apt-get update -q && as_root apt-get install -y -q nginx) >/dev/null \
    || echo "warning: could not install nginx"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Installing node and npm for the OpenID provider the federation tests run"
  (as_root apt-get update -q && as_root apt-get install -y -q nodejs npm) >/dev/null \
    || echo "warning: could not install node and npm"
fi
# The pinned OpenID provider, cached outside the clone (the tests would install it otherwise).
"$(dirname "$0")/oidc-provider.sh" >/dev/null || echo "warning: could not install the OpenID provider"
