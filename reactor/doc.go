// Package reactor is Tachyon's event-loop WebSocket server: many
// connections on a few goroutines, on gnet v2 with edge-triggered I/O,
// running the engine's protocol state machine with no allocation per
// message.
//
// # Serving
//
// Start listens and returns once the server accepts connections;
// ListenAndServe blocks; Shutdown sends every connection a close 1001
// "going away", waits for the close handshakes until its context ends,
// then stops the loops. Several servers may run in one process. By default
// there is one event loop per CPU, each with its own listening socket
// (SO_REUSEPORT) and TCP_NODELAY on every connection; "unix:///path"
// listens on a Unix socket.
//
// # The flow of bytes
//
// The opening handshake is parsed on the loop from the inbound bytes with
// the engine's parser and checks (engine.ServerHandshake): a partial
// request waits for more bytes, a request slower than HandshakeTimeout is
// answered 408, one larger than the size limit 431, a non-upgrade request
// goes to the optional Fallback (a small page, say) or gets a 4xx. After
// the upgrade, frames are decoded straight from gnet's inbound buffer: a
// complete frame is unmasked in place and handed to the handler as a view,
// then discarded; a partial frame stays buffered. Every readable byte is
// served at each wake-up (edge-triggered I/O reads until the socket is
// empty), and everything the handlers wrote during it leaves in one write.
//
// # Handlers
//
// Handlers are the engine's (engine.Handler, engine.PingHandler). They run
// on the connection's event loop: never block there, for every other
// connection of the loop waits meanwhile. Options.Workers runs them on a
// bounded pool of goroutines instead, each connection's events in order.
// A handler that panics is logged and its connection closed with 1011.
//
// # Writing
//
// The engine.Socket handed to handlers is safe from any goroutine. Writes
// made on the loop leave with the wake-up's single write; writes from
// other goroutines are queued to the loop, which drains its queue in
// batches (one wake-up per batch, not one per message). Nothing is written
// to a connection after it closed. A connection whose unsent backlog
// passes MaxOutbound is closed as a slow reader (1008, or dropped when
// even that cannot be sent), so memory stays bounded whatever the peers
// do. Broadcast and Group.Broadcast write a message encoded once
// (engine.Prepared) to every connection or to a group's members.
//
// # Heartbeats and timeouts
//
// Options.Liveness (the same engine.Liveness the net/http driver takes) is
// on by default: a ping to a connection that has been silent for 30 s, a
// read timeout of 75 s (a half-open peer is closed within it), a message
// timeout of 60 s (from a message's first byte to its last), TCP keepalive.
// They are driven by one tick per loop, not a timer per connection.
//
// # TLS
//
// gnet has no TLS, and this package does not fake it. To serve wss://,
// either put a TLS terminator (nginx, HAProxy, Caddy, a cloud load
// balancer) in front of the reactor and forward plain TCP to it, or serve
// wss:// with the engine's net/http driver (engine.Upgrader behind an
// http.Server with TLS), which runs the same protocol code.
//
// # Limits
//
// MaxConns caps connections below the file-descriptor limit (running out
// of descriptors on accept would stop gnet's engine); connections over it
// are answered 503. Message and frame sizes are the engine's
// (Options.Conn).
package reactor
