#!/usr/bin/env bash
# What `make test` and CI run: lint, the race-enabled suite with every SIMD level
# the machine has, the suite again without assembly and with the level capped
# through TACHYON_SIMD, the kernels on arm64 under qemu-user, and each fuzz
# target for a short while.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
FUZZTIME=${FUZZTIME:-10s}

step() { echo; echo "=== $*"; }

step tools;  ci/tools.sh
step lint;   ci/lint.sh

# The interop tests (real Chromium, Node ws, Python websockets) run once, in
# their own step, which installs the peers; the other runs leave them out.
pkgs=$(go list ./... | grep -v '/interop$')

step "go test -race -shuffle=on ./... (conformance suite and reactor included)"
go test -race -shuffle=on $pkgs

step "interop with real peers: ci/interop.sh"
ci/interop.sh

step "go test -tags purego ./..."
go test -tags purego $pkgs

for level in sse2 generic; do
	step "TACHYON_SIMD=$level go test ./..."
	TACHYON_SIMD=$level go test -count=1 $pkgs
done

step "arm64 under qemu-user: GOARCH=arm64 go test -exec qemu-aarch64"
GOARCH=arm64 go test -count=1 -exec qemu-aarch64 ./internal/... ./mask ./utf8 ./fuzz
GOARCH=arm64 go test -count=1 -tags purego -exec qemu-aarch64 ./mask ./utf8 ./fuzz

step "bench module builds (peers, ceiling, compare) and its benchmarks run once"
(cd bench && go build ./... && go test -count=1 -run '^$' -bench . -benchtime 1x ./... >/dev/null && go test -count=1 ./...)

step "cluster module: three nodes on a real nats-server (in-process)"
(cd cluster && go vet ./... && go test -race -count=1 ./...)

step "fuzz targets, $FUZZTIME each"
ci/fuzz.sh "$FUZZTIME"

echo
echo "make test: all steps passed"
