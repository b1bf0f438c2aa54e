#!/usr/bin/env bash
# Echo servers under `tachyon load`, interleaved, one core each.
#
#   ci/bench-echo.sh           throughput and latency: a markdown table
#   ci/bench-echo.sh idle      memory per idle connection and upgrades/s
#
# Each server runs pinned to CPU 0 with GOMAXPROCS=1 (the reactor with
# -loops 1); the loader runs pinned to CPU 1 (its own GOMAXPROCS is 1 too).
# For every payload size and in-flight count, each round starts every server
# in turn, loads it, and stops it (SIGTERM), so that the machine's noise falls
# on all of them alike; the tables give the medians of the rounds.
#
# Environment:
#   SERVERS    servers, in order (default "ceiling reactor gorilla"):
#                ceiling  bench/cmd/ceiling, the least an echo can do
#                reactor  tachyon echo -driver reactor -loops 1 $REACTOR_ARGS (level-triggered)
#                reactor-et  the same, edge-triggered
#                http     tachyon echo -driver http (net/http, a goroutine per connection)
#                gorilla  bench/cmd/gorillaecho (gorilla/websocket)
#                gws, coder, nbio, gobwas  bench/cmd/{gws,coder,nbio,gobwas}echo
#   REACTOR_ARGS  extra flags for the reactor (e.g. -edge-triggered)
#   SIZES      payload sizes in bytes (default "32 4096")
#   INFLIGHT   messages in flight per connection (default "16 1")
#   DEFLATE    1: every server but the ceiling gets -deflate and the loader
#              -deflate (JSON-like text compressed with permessage-deflate)
#   LOAD_ARGS  extra loader flags (e.g. -deflate-takeover)
#   TYPE       message type for the loader (default binary; text checks UTF-8)
#   ROUNDS     rounds (default 3)
#   CONNS      connections (default 100; idle: 9000)
#   DUR        measured duration per run (default 5s; idle: how long they are held, 2s)
#   WARMUP     warm-up per run (default 1s)
#   OUT        directory for the raw results (default: a new /tmp/bench-echo.XXXXXX)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-echo}
case $mode in
echo | idle) ;;
*)
	echo "usage: ci/bench-echo.sh [idle]" >&2
	exit 2
	;;
esac

SERVERS=${SERVERS:-ceiling reactor gorilla}
SIZES=${SIZES:-32 4096}
INFLIGHT=${INFLIGHT:-16 1}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1s}
if [ "$mode" = idle ]; then
	CONNS=${CONNS:-9000}
	DUR=${DUR:-2s}
else
	CONNS=${CONNS:-100}
	DUR=${DUR:-5s}
fi
OUT=${OUT:-$(mktemp -d /tmp/bench-echo.XXXXXX)}
mkdir -p "$OUT"
bin=$OUT/bin
mkdir -p "$bin"

echo "building into $bin" >&2
go build -o "$bin/tachyon" ./cmd/tachyon
(cd bench && go build -o "$bin/" ./cmd/ceiling ./cmd/gorillaecho ./cmd/gwsecho ./cmd/coderecho ./cmd/nbioecho ./cmd/gobwasecho)
deflate=() server_deflate=""
if [ "${DEFLATE:-}" = 1 ]; then
	deflate=(-deflate)
	server_deflate=-deflate
fi

pin0=() pin1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin0=(taskset -c 0)
	pin1=(taskset -c 1)
else
	echo "warning: no taskset or fewer than 2 CPUs: server and loader are not pinned" >&2
fi

server_cmd() {
	case $1 in
	ceiling) echo "$bin/ceiling -addr 127.0.0.1:0" ;;
	reactor) echo "$bin/tachyon echo -driver reactor -loops 1 -addr 127.0.0.1:0 $server_deflate ${REACTOR_ARGS:-}" ;;
	reactor-et) echo "$bin/tachyon echo -driver reactor -loops 1 -edge-triggered -addr 127.0.0.1:0 $server_deflate ${REACTOR_ARGS:-}" ;;
	http) echo "$bin/tachyon echo -driver http -addr 127.0.0.1:0 $server_deflate" ;;
	gorilla | gws | coder | nbio | gobwas) echo "$bin/${1}echo -addr 127.0.0.1:0 $server_deflate" ;;
	*)
		echo "unknown server $1 (ceiling, reactor, reactor-et, http, gorilla, gws, coder, nbio, gobwas)" >&2
		return 1
		;;
	esac
}

srv_pid="" srv_addr=""

# start NAME: starts the server, sets srv_pid and srv_addr once it listens.
start() {
	local cmd log=$OUT/server-$1.log
	cmd=$(server_cmd "$1")
	# shellcheck disable=SC2086 # cmd is words on purpose
	GOMAXPROCS=1 "${pin0[@]}" $cmd >"$log" 2>&1 &
	srv_pid=$! # taskset execs the server: this is its PID
	srv_addr=""
	for _ in $(seq 100); do
		srv_addr=$(sed -n 's/^listening //p' "$log" | head -n 1)
		[ -n "$srv_addr" ] && return 0
		if ! kill -0 "$srv_pid" 2>/dev/null; then
			echo "server $1 exited:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "server $1 did not print 'listening' within 10 s" >&2
	stop
	return 1
}

stop() {
	kill -TERM "$srv_pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$srv_pid" 2>/dev/null || true
	wait "$srv_pid" 2>/dev/null || true
}
trap 'stop 2>/dev/null' EXIT

results=$OUT/results.jsonl
: >"$results"

# run NAME ROUND SIZE INFLIGHT LOADER-ARGS...: one loader run against a fresh server.
run() {
	local name=$1 round=$2 size=$3 inflight=$4 json
	shift 4
	start "$name"
	if json=$("${pin1[@]}" "$bin/tachyon" load -url "ws://$srv_addr/" -pid "$srv_pid" -json "$@" 2>>"$OUT/loader.log"); then
		echo "{\"server\":\"$name\",\"round\":$round,\"result\":$json}" >>"$results"
		python3 -c '
import json, sys
r = json.loads(sys.argv[1]); name = sys.argv[2]
if r["mode"] == "idle":
    line = "%-8s %5d conns  %8.0f B/conn  %7.0f upgrades/s" % (name, r["open"], r.get("bytes_per_conn", 0), r.get("upgrades_per_s", 0))
else:
    line = "%-8s %5d B  %2d in flight  %10.0f msgs/s  p50 %7.0f us  p99 %7.0f us  loader cpu %3.0f%%  server cpu %3.0f%%" % (
        name, r["size"], r["inflight"], r["msgs_per_s"], r["p50_us"], r["p99_us"], 100*r.get("loader_cpu", 0), 100*r.get("server_cpu", 0))
if r["errors"]:
    line += "  ERRORS %d %s" % (r["errors"], r.get("error_kinds"))
print(line)' "$json" "$name" >&2
	else
		echo "$name: the loader failed (see $OUT/loader.log)" >&2
	fi
	stop
}

echo "servers: $SERVERS; rounds: $ROUNDS; results in $OUT" >&2
if [ "$mode" = idle ]; then
	for round in $(seq "$ROUNDS"); do
		for s in $SERVERS; do
			# shellcheck disable=SC2086 # LOAD_ARGS is words on purpose
			run "$s" "$round" 0 0 -mode idle -c "$CONNS" -d "$DUR" "${deflate[@]}" ${LOAD_ARGS:-}
		done
	done
else
	for size in $SIZES; do
		for inflight in $INFLIGHT; do
			for round in $(seq "$ROUNDS"); do
				for s in $SERVERS; do
					# shellcheck disable=SC2086 # LOAD_ARGS is words on purpose
					run "$s" "$round" "$size" "$inflight" -c "$CONNS" -inflight "$inflight" -size "$size" -d "$DUR" -warmup "$WARMUP" -type "${TYPE:-binary}" "${deflate[@]}" ${LOAD_ARGS:-}
				done
			done
		done
	done
fi

python3 - "$results" "$mode" "$SERVERS" <<'EOF'
import json, statistics, sys
from collections import defaultdict

path, mode, servers = sys.argv[1], sys.argv[2], sys.argv[3].split()
runs = defaultdict(list)
for line in open(path):
    rec = json.loads(line)
    r = rec["result"]
    key = (rec["server"],) if mode == "idle" else (rec["server"], r["size"], r["inflight"])
    runs[key].append(r)

def med(rs, field):
    vals = [r.get(field, 0) for r in rs]
    return statistics.median(vals) if vals else 0

def num(x, digits=0):
    return f"{x:,.{digits}f}"

def us(x):
    return f"{x/1000:.2f} ms" if x >= 1000 else f"{x:.0f} µs"

n = max((len(v) for v in runs.values()), default=0)
if mode == "idle":
    print(f"\nIdle connections, medians of {n} rounds\n")
    print("| server | connections | bytes/connection | upgrades/s | server RSS after | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in servers:
        rs = runs.get((s,))
        if not rs:
            continue
        after = statistics.median([r.get("rss_after_kb", [0])[-1] for r in rs])
        print(f"| {s} | {num(med(rs, 'open'))} | {num(med(rs, 'bytes_per_conn'))} | {num(med(rs, 'upgrades_per_s'))} "
              f"| {num(after / 1024, 1)} MiB | {sum(r['errors'] for r in rs)} |")
    sys.exit(0)

print(f"\nEcho, medians of {n} rounds (MB/s: payload, each way)\n")
print("| server | size | in flight | msgs/s | MB/s | p50 | p99 | p99.9 | Jain | longest silence | ×gorilla | ×ceiling | loader CPU | server CPU | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
keys = sorted({k[1:] for k in runs}, key=lambda k: (k[0], -k[1]))
for size, inflight in keys:
    base = {s: med(runs[(s, size, inflight)], "msgs_per_s") for s in ("gorilla", "ceiling") if (s, size, inflight) in runs}
    for s in servers:
        rs = runs.get((s, size, inflight))
        if not rs:
            continue
        m = med(rs, "msgs_per_s")
        ratio = lambda b: f"{m / base[b]:.1f}×" if base.get(b) else "–"
        print(f"| {s} | {size} | {inflight} | {num(m)} | {num(med(rs, 'mb_per_s'), 1)} | {us(med(rs, 'p50_us'))} "
              f"| {us(med(rs, 'p99_us'))} | {us(med(rs, 'p999_us'))} | {med(rs, 'jain'):.3f} | {num(med(rs, 'longest_silence_ms'), 1)} ms "
              f"| {ratio('gorilla')} | {ratio('ceiling')} | {100 * med(rs, 'loader_cpu'):.0f}% | {100 * med(rs, 'server_cpu'):.0f}% "
              f"| {sum(r['errors'] for r in rs)} |")
EOF
echo "raw results: $results" >&2
