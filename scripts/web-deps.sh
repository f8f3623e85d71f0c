#!/usr/bin/env bash
# web/node_modules from web/package-lock.json (`npm ci`: exactly the locked
# versions, integrity-checked), for the dashboard's build and its browser
# test. Idempotent: skipped when node_modules was installed from this very
# lockfile (a stamp holds the lockfile's SHA-256). Needs only the npm
# registry; never a browser download (PUPPETEER_SKIP_DOWNLOAD: the tests use
# Debian's chromium). Run by scripts/install-deps.sh and by the web tests.
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)/web"
stamp="$web/node_modules/.steadfast-lockfile-sha256"
want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "web-deps: web/node_modules matches the lockfile"
  exit 0
fi
command -v npm >/dev/null || { echo "web-deps: npm is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
echo "web-deps: npm ci in web/"
export PUPPETEER_SKIP_DOWNLOAD=1 npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
(cd "$web" && npm ci --no-progress)
echo "$want" >"$stamp"
