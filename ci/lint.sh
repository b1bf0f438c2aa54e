#!/usr/bin/env bash
# gofmt, go vet (asmdecl included) for amd64 and arm64, with and without
# assembly, and staticcheck. Every module of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

bad=$(gofmt -l $(git ls-files '*.go') 2>&1 || true)
if [ -n "$bad" ]; then
	echo "gofmt would change:"; echo "$bad"; exit 1
fi
for mod in . bench cluster; do
	(
		cd "$mod"
		go vet ./...
		GOARCH=arm64 go vet ./...
		go vet -tags purego ./...
		staticcheck ./...
		staticcheck -tags purego ./...
	)
done
echo "lint: ok"
