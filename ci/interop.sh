#!/usr/bin/env bash
# Interop tests with real peers: installs them (ci/interop-tools.sh: headless
# Chromium and Python's websockets from Debian; `npm ci` for Node's ws as
# pinned in interop/package-lock.json), then runs go test ./interop with
# TACHYON_INTEROP_REQUIRED=1, so that a missing peer fails instead of skipping.
# Extra arguments go to go test (e.g. ci/interop.sh -v -count=3).
set -euo pipefail
cd "$(dirname "$0")/.."

ci/interop-tools.sh

# npm ci only when interop/node_modules was not installed from this lockfile.
stamp=interop/node_modules/.tachyon-lock.sha256
want=$(sha256sum interop/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo "ci/interop.sh: npm ci --prefix interop"
	npm ci --prefix interop --no-audit --no-fund --loglevel=error >/dev/null
	echo "$want" >"$stamp"
fi

TACHYON_INTEROP_REQUIRED=1 go test -count=1 -race "$@" ./interop
