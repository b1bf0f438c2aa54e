#!/usr/bin/env bash
# Installs the real peers the interop tests (go test ./interop) talk to, from
# Debian's packages: headless Chromium (/usr/bin/chromium) and Python's
# websockets (python3-websockets, run with Debian's /usr/bin/python3). Node's
# ws comes from interop/package-lock.json through `npm ci` (ci/interop.sh).
# Idempotent; quiet when all is there; apt-get update only when something is
# missing; sudo only when not root.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || missing+=(python3-websockets)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ "${#missing[@]}" -gt 0 ]; then
	echo "ci/interop-tools.sh: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
