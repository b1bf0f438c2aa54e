#!/usr/bin/env bash
# Runs the bench/ module's comparisons interleaved: the test binary is built
# once and run COUNT times (default 6) with -count=1, so every contender of a
# size is measured next to the others in every round; benchstat then reports
# medians with confidence intervals. Extra arguments go to the test binary,
# e.g. ci/bench-peers.sh -test.bench 'Mask/size=16B'.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/tools.sh benchstat
export PATH="$(go env GOPATH)/bin:$PATH"
out=$(mktemp -d)
(cd bench && go test -c -o "$out/bench.test" .)
for i in $(seq "${COUNT:-6}"); do
	"$out/bench.test" -test.run '^$' -test.bench . -test.benchmem -test.count 1 "$@" >>"$out/peers.txt"
done
benchstat -col /lib "$out/peers.txt"
echo "raw results in $out/peers.txt"
