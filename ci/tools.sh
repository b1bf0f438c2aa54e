#!/usr/bin/env bash
# Installs what the checks need and a fresh machine lacks: staticcheck at a
# pinned version (Go module proxy), benchstat (for make benchcmp), and
# qemu-user (Debian) for the arm64 tests. Idempotent; quiet when all is there.
set -euo pipefail

STATICCHECK_VERSION=v0.7.0            # honnef.co/go/tools, 2026.1
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da # golang.org/x/perf

gobin=$(go env GOPATH)/bin
export PATH="$gobin:$PATH"

if ! staticcheck -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
	echo "ci/tools.sh: installing staticcheck $STATICCHECK_VERSION"
	GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

if [ "${1:-}" = benchstat ] && ! command -v benchstat >/dev/null; then
	echo "ci/tools.sh: installing benchstat"
	GOFLAGS= go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
fi

if ! command -v qemu-aarch64 >/dev/null; then
	echo "ci/tools.sh: installing qemu-user"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user >/dev/null
fi
