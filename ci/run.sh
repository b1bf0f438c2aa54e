#!/usr/bin/env bash
# What `make run` does: build the tachyon command, saying what it is doing
# (on a fresh machine the first build downloads the modules and compiles for
# about 40 s), then run the demo server with the arguments given.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${XDG_CACHE_HOME:-$HOME/.cache}/tachyon/tachyon"
mkdir -p "$(dirname "$bin")"

echo "make run: downloading the modules (only the first time)..."
go mod download
echo "make run: compiling ./cmd/tachyon (the first time: about 40 s)..."
# go build -v names each package as it compiles it (nothing when all is
# cached): one line that counts them.
go build -v -o "$bin" ./cmd/tachyon 2>&1 | {
	n=0
	while IFS= read -r pkg; do
		n=$((n + 1))
		printf '\r\033[K  %d packages compiled: %s' "$n" "$pkg"
	done
	[ "$n" -eq 0 ] || echo
}
echo "make run: starting the demo"
exec "$bin" serve "$@"
