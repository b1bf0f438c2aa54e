// Package tachyon is a WebSocket (RFC 6455) library for Go services that
// hold many connections at low latency. Import this package first: a
// blocking, context-first connection for net/http servers and for clients,
// with no allocation per message.
//
//	c, err := tachyon.Accept(w, r, &upgrader) // in a net/http handler
//	c, err := tachyon.Dial(ctx, "ws://host/path", nil)
//	op, p, err := c.Read(ctx) // p is valid until the next Read
//	err = c.Write(ctx, tachyon.Text, p)
//	err = c.Close(tachyon.StatusNormalClosure, "bye")
//
// A Read whose context ends returns ctx.Err() and closes nothing. Keep one
// goroutine reading: pings are answered and the closing handshake runs
// during Read. The Upgrader's options (origin check, limits, liveness)
// apply to every connection it accepted; it counts them and closes them on
// Shutdown. A client's DialOptions.Liveness is the same heartbeat and read
// timeout, on by default too.
//
// # Packages
//
//   - [github.com/tachyonws/tachyon/engine]: the sans-IO protocol core and
//     the callback driver over net.Conn (engine.Upgrader, engine.Dial).
//   - [github.com/tachyonws/tachyon/reactor]: the event-loop server (gnet
//     v2) for many connections, with rooms and broadcast.
//   - [github.com/tachyonws/tachyon/mask]: SIMD XOR masking of payloads.
//   - [github.com/tachyonws/tachyon/utf8]: SIMD UTF-8 validation.
//   - [github.com/tachyonws/tachyon/load]: a load generator for any server.
//   - [github.com/tachyonws/tachyon/conformance]: an Autobahn-style suite.
//   - [github.com/tachyonws/tachyon/cmd/tachyon]: serve (demo), echo, load.
//   - github.com/tachyonws/tachyon/cluster (own module): rooms on NATS.
//
// In the repository beside them: examples/ (an echo server, a client, a
// reactor with rooms), fuzz/, interop/ (browsers, Node, Python), internal/
// (helpers users cannot import), bench/ (comparisons, its own module) and
// docs/DESIGN.md (layout and data flow). The
// environment variable TACHYON_SIMD (generic, sse2, avx2, avx512, neon)
// lowers the kernels' code path; the build tag purego leaves out assembly.
package tachyon
