#!/usr/bin/env bash
# gofmt, go vet (asmdecl included) for amd64 and arm64, with and without
# assembly, and staticcheck. Every module of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

# Each step says what it runs: staticcheck takes a minute or two per module
# on a fresh cache.
step() { echo "lint: $*"; }

step "gofmt -l"
bad=$(gofmt -l $(git ls-files '*.go') 2>&1 || true)
if [ -n "$bad" ]; then
	echo "gofmt would change:"; echo "$bad"; exit 1
fi
for mod in . bench cluster; do
	(
		cd "$mod"
		step "[$mod] go vet ./... (amd64)";   go vet ./...
		step "[$mod] go vet ./... (arm64)";   GOARCH=arm64 go vet ./...
		step "[$mod] go vet -tags purego";    go vet -tags purego ./...
		step "[$mod] staticcheck ./...";      staticcheck ./...
		step "[$mod] staticcheck -tags purego"; staticcheck -tags purego ./...
	)
done
echo "lint: ok"
