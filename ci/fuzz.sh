#!/usr/bin/env bash
# Runs every fuzz target in ./fuzz for the given time each (default 10s).
# New crashers land in fuzz/testdata/fuzz/<Target>/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
for target in $(go test ./fuzz -list '^Fuzz' | grep '^Fuzz'); do
	echo "--- $target for $t"
	go test ./fuzz -run '^$' -fuzz "^${target}\$" -fuzztime "$t"
done
