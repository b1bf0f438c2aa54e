// Package bench compares Tachyon with other Go WebSocket libraries through
// go test -bench. It is its own module (github.com/tachyonws/tachyon/bench,
// with a replace directive pointing at the repository root) so that the
// engine's users never download the peers.
//
// Run it with `make bench-peers` for a quick look, or with
// `ci/bench-peers.sh`, which runs the contenders interleaved several times and
// summarises them with benchstat; BENCHMARKS.md records the results.
//
// Its commands are the other servers of the echo comparison
// (ci/bench-echo.sh, driven by `tachyon load`): cmd/ceiling, the least an
// echo server can do on raw epoll system calls (one read, unmasking and
// header rewriting in place, one writev; no copies); and cmd/gorillaecho, the same echo on gorilla/websocket.
package bench
