// Package reactor is Tachyon's event-loop WebSocket server: many
// connections on a few goroutines, on gnet v2 with level-triggered I/O,
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
// listens on a Unix socket. A port another program (or another server)
// listens on is refused with "address already in use", never shared; after
// Shutdown the port can be bound again at once, by any server that sets
// SO_REUSEADDR.
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
// then discarded; a partial frame stays buffered. A wake-up reads at most
// one read buffer (64 KiB by default) from a connection and serves it; a
// connection with more to read is served again after the others, so a
// flooding peer waits its turn. Everything the handlers wrote during a
// wake-up leaves in one write. The 101 response leaves with the first such
// write, after OnOpen: the groups a new connection joined there have taken
// it in before its peer can see the upgrade.
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
// to a connection after it closed. Broadcast and Group.Broadcast write a message encoded once
// (engine.Prepared) to every connection or to a group's members.
//
// # What peers can make the server hold
//
// Every byte a peer can make the server hold has a bound per connection,
// one across connections, and one in time:
//
//   - Input: a handshake up to 8 KiB, for HandshakeTimeout (5 s); a partial
//     frame up to the engine's read buffer (4 KiB) plus a header; a message
//     being assembled up to Conn.MaxMessageSize (16 MiB), for
//     Liveness.MessageTimeout (60 s). All of it together, across the
//     connections, is charged to Options.Budget (256 MiB by default, less
//     under a small memory limit, shared by the process's servers): a
//     connection whose input would pass it is closed with 1008 before the
//     memory is spent. Large message buffers are not pooled, and the
//     budget hands memory back to the operating system once the peers
//     that held it are gone.
//   - Output: the kernel holds up to SendBuffer (256 KiB) per connection;
//     a backlog beyond it over MaxOutbound (256 KiB) is watched: while the
//     peer takes none of it, its input waits unread, and a peer that
//     takes nothing for CloseTimeout (5 s), or meanwhile sends more than
//     256 KiB, is a slow reader and is given up (1008, then dropped: at once
//     if it goes on sending). No
//     backlog passes MaxOutbound plus the largest message, and a peer that
//     pings without reading is given up after 256 pongs it has not
//     taken. A peer that reads at full speed is never given up. On
//     systems other than Linux, whose kernel cannot be asked what the peer
//     has taken, only those two caps apply.
//   - Time: a silent connection is pinged after 30 s and closed after 75 s
//     (Liveness), a closing one dropped after CloseTimeout.
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
