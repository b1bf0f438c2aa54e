#!/usr/bin/env bash
# The conformance suite (conformance/): every case against the reactor, the
# net/http server and the client (engine's callback API and package tachyon's
# blocking one), sections 12-13 (permessage-deflate) against both servers and
# the client configured with compression, plus the server
# TACHYON_CONFORMANCE_URL names if it is set (every section), with the result
# table of each target printed at the end.
# go test hides the output of a passing package, so the tables go to a file.
set -uo pipefail
cd "$(dirname "$0")/.."

table=$(mktemp "${TMPDIR:-/tmp}/conformance-table.XXXXXX")
trap 'rm -f "$table"' EXIT

TACHYON_CONFORMANCE_TABLE="$table" go test -count=1 -run 'TestConformance' ./conformance "$@"
status=$?
cat "$table"
exit $status
