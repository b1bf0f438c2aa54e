# Each target calls a small script under ci/; read them for the details.

.PHONY: run test lint bench benchcmp fuzz bench-peers bench-compare conformance interop attack

# The demo: a page with an echo box, a chat room and live stats, served by the
# event-loop server on 127.0.0.1:9000 (ARGS='-addr 127.0.0.1:8080' to move it).
run:
	@ci/run.sh $(ARGS)

# Everything CI checks: lint, tests (race, purego, each SIMD level, arm64 under qemu), fuzz seeds + 10s per target.
test:
	ci/test.sh

lint:
	ci/lint.sh

# The conformance suite against the reactor, the net/http driver and the
# client (the latter two with both APIs: engine's callbacks and package
# tachyon), with its tables; TACHYON_CONFORMANCE_URL=ws://host:port/ adds any server.
conformance:
	ci/conformance.sh

# Interop with headless Chromium, Node ws and Python websockets (installs them).
interop:
	ci/interop.sh

# Hostile-peer scenarios against `tachyon echo` (both drivers): memory, latency
# under attack, drops; reports, asserts nothing. A few minutes.
attack:
	ci/attack.sh

# Kernel benchmarks; pass ARGS, e.g. make bench ARGS=-count=6
bench:
	ci/bench.sh $(ARGS)

# Micro-benchmarks against the other Go libraries (the bench/ module), interleaved, through benchstat.
bench-peers:
	ci/bench-peers.sh

# Everything against the other Go libraries, end to end over loopback and
# micro-benchmarks, into BENCHMARKS.md and bench/charts/ (under 20 minutes).
bench-compare:
	ci/bench-compare.sh

# purego vs assembly through benchstat.
benchcmp:
	ci/benchcmp.sh

# Each fuzz target for FUZZTIME (default 5m).
FUZZTIME ?= 5m
fuzz:
	ci/fuzz.sh $(FUZZTIME)

# nats-server v2.15.3 built from its Go module into cluster/bin/, for the
# cluster demo (README, "Many nodes"): no binary is downloaded.
.PHONY: nats-server
nats-server:
	GOBIN=$(CURDIR)/cluster/bin go install github.com/nats-io/nats-server/v2@v2.15.3
