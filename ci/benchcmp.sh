#!/usr/bin/env bash
# Compares the assembly build with -tags purego through benchstat, running the
# two interleaved (A B A B ...) so the machine's drift hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/tools.sh benchstat
export PATH="$(go env GOPATH)/bin:$PATH"
out=$(mktemp -d)
bench=${BENCH:-.}
for i in 1 2 3 4 5 6; do
	go test -run '^$' -bench "$bench" -benchmem -count=1 ./mask ./utf8 >>"$out/asm.txt"
	go test -tags purego -run '^$' -bench "$bench" -benchmem -count=1 ./mask ./utf8 >>"$out/purego.txt"
done
benchstat "$out/purego.txt" "$out/asm.txt"
echo "raw results in $out"
