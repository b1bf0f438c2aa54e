// Package tachyon is a WebSocket engine (RFC 6455) for Go services that hold
// many connections at low latency: no allocation per message in steady state,
// SIMD kernels for the two loops that touch every byte of a message, and an
// edge-triggered event loop instead of a goroutine per connection.
//
// # Packages
//
//   - [github.com/tachyonws/tachyon/mask]: XOR masking of frame payloads
//     (RFC 6455 section 5.3), in AVX-512, AVX2 and SSE2 on amd64 and NEON on
//     arm64, with a pure-Go twin.
//   - [github.com/tachyonws/tachyon/utf8]: UTF-8 validation of text messages
//     (RFC 3629), one-shot and streaming across fragments, in AVX-512 and AVX2
//     on amd64 and NEON on arm64, with a table-driven automaton as reference.
//
// The protocol engine, the event-loop server and the client build on these;
// see DESIGN.md in the repository for the layout and the data flow.
//
// # Choosing the code path
//
// Each kernel picks its path once, at start-up, from the CPU's features. The
// environment variable TACHYON_SIMD lowers the choice for the whole process
// (generic, sse2, avx2, avx512, neon), and the build tag purego leaves the
// assembly out altogether.
package tachyon
