#!/usr/bin/env bash
# Make sure a PostgreSQL server binary (initdb, pg_ctl) is installed for the test suite.
# The tests start and stop their own throw-away server (tests/pgserver.py); this script only
# installs Debian's package when it is missing and we are allowed to (root, apt available).
set -euo pipefail
find_initdb() {
  command -v initdb 2>/dev/null && return 0
  ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}
if [ -n "$(find_initdb)" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgres: installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "ensure-postgres: PostgreSQL is missing and cannot be installed here (CI=true)" >&2
  exit 1
fi
echo "ensure-postgres: PostgreSQL not found; PostgreSQL tests will be skipped on this machine" >&2
