// Package bench compares Tachyon with other Go WebSocket libraries through
// go test -bench. It is its own module (github.com/tachyonws/tachyon/bench,
// with a replace directive pointing at the repository root) so that the
// engine's users never download the peers.
//
// Run it with `make bench-peers` for a quick look, or with
// `ci/bench-peers.sh`, which runs the contenders interleaved several times and
// summarises them with benchstat; BENCHMARKS.md records the results.
package bench
