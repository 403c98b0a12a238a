#!/usr/bin/env bash
# Make sure a Chromium browser is installed for the browser tests (tests/browser.py drives it with
# Playwright for Python through its executable_path: Playwright's own browser downloads are not
# possible here). Installs Debian's package when it is missing and we are allowed to (root, apt).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "ensure-chromium: Chromium is missing and cannot be installed here (CI=true)" >&2
  exit 1
fi
echo "ensure-chromium: Chromium not found; browser tests will be skipped on this machine" >&2
