// Package bench compares Tachyon with the other Go WebSocket libraries —
// gorilla/websocket, gobwas/ws, lxzan/gws, lesismal/nbio and coder/websocket,
// at the versions go.mod pins — through go test -bench and end to end. It is
// its own module (github.com/tachyonws/tachyon/bench, with a replace
// directive pointing at the repository root) so that the engine's users never
// download the peers or the plotting library.
//
// # Micro-benchmarks
//
// One benchmark per operation of a server (masking, UTF-8 validation, frame
// header parse, decode of a masked text or binary message, encode, the
// opening handshake, a prepared broadcast frame), a sub-benchmark per size
// (16 B to 64 KiB) and library, the same bytes for all:
// `go test -bench . -benchmem`, or `make bench-peers` for interleaved runs
// through benchstat. A library that has no public API for an operation has
// no sub-benchmark; in the tables of BENCHMARKS.md it has a row of n/a and
// the reason.
//
// # End to end
//
// The commands are the servers of the comparison, each printing
// "listening ADDR" and serving an echo on any path and a broadcast room on
// /broadcast: cmd/ceiling (the least an echo can do, on raw epoll: one read,
// unmasking and header rewriting in place, small frames joined up in place,
// one writev, no copy to another buffer),
// cmd/gorillaecho, cmd/gobwasecho, cmd/gwsecho, cmd/nbioecho and
// cmd/coderecho (each in its library's documented fastest mode, UTF-8
// checked, 16 MiB read limit, no compression). cmd/compare runs them and
// Tachyon's reactor under `tachyon load` (package load), interleaved, server
// and loader pinned to their own cores, and writes the tables and charts;
// `make bench-compare` runs it all and updates BENCHMARKS.md and charts/.
package bench
