#!/usr/bin/env bash
# Kernel benchmarks: every SIMD level, the pure-Go paths, copy() and
# unicode/utf8.Valid, at 16 B to 1 MiB. Extra arguments go to go test
# (e.g. -count=6). Output is benchstat-ready.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem "$@" ./mask ./utf8
