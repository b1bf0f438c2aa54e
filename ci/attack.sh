#!/usr/bin/env bash
# Hostile-peer scenarios (internal/cmd/attack) against `tachyon echo`, each
# driver, a fresh server process per scenario: one table per scenario with
# the server's memory, the latency of well-behaved clients under attack and
# how the attackers' connections ended. It reports and asserts nothing: the
# script exits 0 whatever the tables say. All traffic stays on 127.0.0.1.
#
# The server is pinned to CPU 0 (taskset, when there is one); the attack
# tool runs under nice -n 19 so that the server wins any contention.
#
# Environment:
#   DRIVERS      drivers, in order (default "reactor http")
#   SCENARIOS    default "hold pingflood slowreaders fastreaders sigterm halfopen bomb"
#                (bomb: compression bombs; its server runs with -deflate)
#   ATTACK_ARGS  extra flags for every run of the tool (e.g. "-d 5s")
#   HALFOPEN_SERVER_ARGS  server flags for halfopen
#                (default "-read-timeout 3s -ping-interval 1s")
#   OUT          directory for the binaries and logs (default: a new /tmp/attack.XXXXXX)
set -uo pipefail
cd "$(dirname "$0")/.."

DRIVERS=${DRIVERS:-reactor http}
SCENARIOS=${SCENARIOS:-hold pingflood slowreaders fastreaders sigterm halfopen bomb}
ATTACK_ARGS=${ATTACK_ARGS:-}
HALFOPEN_SERVER_ARGS=${HALFOPEN_SERVER_ARGS:--read-timeout 3s -ping-interval 1s}
OUT=${OUT:-$(mktemp -d /tmp/attack.XXXXXX)}
mkdir -p "$OUT"
bin=$OUT/bin
mkdir -p "$bin"

echo "building into $bin; logs in $OUT" >&2
if ! go build -o "$bin/tachyon" ./cmd/tachyon || ! go build -o "$bin/attack" ./internal/cmd/attack; then
	echo "attack: build failed; no report" >&2
	exit 0
fi

pin=()
if command -v taskset >/dev/null; then
	pin=(taskset -c 0)
else
	echo "note: no taskset: the server is not pinned" >&2
fi
bound=()
if command -v timeout >/dev/null; then
	bound=(timeout -k 5)
fi

srv_pid="" srv_addr="" srv_log=""

# running PID: true while PID is neither gone nor a zombie.
running() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

# start DRIVER LOG [SERVER-ARGS...]: starts the server and waits for
# "listening"; sets srv_pid and srv_addr.
start() {
	local driver=$1
	srv_log=$2
	shift 2
	"${pin[@]}" "$bin/tachyon" echo -driver "$driver" -addr 127.0.0.1:0 "$@" >"$srv_log" 2>&1 &
	srv_pid=$! # taskset execs the server: this is its PID
	srv_addr=""
	for _ in $(seq 100); do
		srv_addr=$(sed -n 's/^listening //p' "$srv_log" | head -n 1)
		[ -n "$srv_addr" ] && return 0
		running "$srv_pid" || return 1
		sleep 0.1
	done
	stop
	return 1
}

stop() {
	[ -n "$srv_pid" ] || return 0
	kill -TERM "$srv_pid" 2>/dev/null || true
	for _ in $(seq 100); do
		running "$srv_pid" || break
		sleep 0.1
	done
	kill -KILL "$srv_pid" 2>/dev/null || true
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=""
}
trap stop EXIT

# limit SCENARIO: the outer bound (seconds) on one run of the tool.
limit() {
	case $1 in
	hold) echo 120 ;;
	halfopen) echo 60 ;;
	*) echo 150 ;;
	esac
}

# run DRIVER SCENARIO: one scenario against a fresh server.
run() {
	local driver=$1 sc=$2 log=$OUT/server-$1-$2.log status
	local server_args=() tool_args=()
	if [ "$sc" = halfopen ]; then
		# shellcheck disable=SC2206 # words on purpose
		server_args=($HALFOPEN_SERVER_ARGS)
		tool_args=(-timeout 30s)
	fi
	if [ "$sc" = bomb ]; then
		server_args=(-deflate)
	fi
	if ! start "$driver" "$log" "${server_args[@]}"; then
		if [ "$sc" = halfopen ] && grep -q 'flag provided but not defined' "$log"; then
			echo "== halfopen [$driver]: not supported yet (tachyon echo does not accept: $HALFOPEN_SERVER_ARGS)"
		else
			echo "== $sc [$driver]: the server did not start:"
			sed 's/^/   /' "$log" | tail -n 5
		fi
		echo
		stop
		return
	fi
	# shellcheck disable=SC2086 # ATTACK_ARGS is words on purpose
	"${bound[@]}" "$(limit "$sc")" nice -n 19 "$bin/attack" -scenario "$sc" -label "$driver" \
		-url "ws://$srv_addr/" -pid "$srv_pid" "${tool_args[@]}" $ATTACK_ARGS 2>>"$OUT/attack-$driver-$sc.log"
	status=$?
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "== $sc [$driver]: the tool overran its $(limit "$sc") s bound and was stopped"
		echo
	elif [ "$status" -ne 0 ]; then
		tail -n 3 "$OUT/attack-$driver-$sc.log" | sed 's/^/   /'
		echo
	fi
	if [ "$sc" = sigterm ]; then
		for _ in $(seq 100); do
			running "$srv_pid" || break
			sleep 0.1
		done
		if running "$srv_pid"; then
			echo "   server still running 10 s after the scenario's SIGTERM"
		else
			wait "$srv_pid" 2>/dev/null
			echo "   server exit status $?"
		fi
		echo
	elif ! running "$srv_pid"; then
		echo "   the server died during $sc; its log ends:"
		tail -n 5 "$log" | sed 's/^/   /'
		echo
	fi
	stop
}

for driver in $DRIVERS; do
	for sc in $SCENARIOS; do
		run "$driver" "$sc"
	done
done
echo "logs in $OUT" >&2
exit 0
