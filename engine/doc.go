// Package engine is Tachyon's protocol core for RFC 6455 — frames, messages,
// control frames, the close handshake, limits, the opening handshake and
// typed errors — and a blocking driver that runs it over a net.Conn.
//
// The core is sans-IO: it never touches a socket. Bytes go in, events and
// bytes come out, so the event-loop server, the net/http upgrade and the
// client all run the same code.
//
// # Connections
//
// Conn is one connection's state machine. The driver feeds it what it reads
// (Feed), in chunks of any size; Conn calls Events as frames complete —
// whole unfragmented messages as views into the caller's bytes, unmasked in
// place, fragmented ones assembled in a pooled buffer — answers pings, runs
// the close handshake, and queues what must be sent (Output, Advance). Text
// is validated as it arrives and fails the connection (1007) at the first
// piece that cannot begin valid UTF-8. Every limit is checked at the frame
// header, before any payload is buffered (1009). In steady state, reading
// and writing a message allocates nothing.
//
// # Frames
//
// ParseHeader reads a frame header from the front of a byte slice into a
// Header, without copying or allocating, and says how many bytes the header
// needs when the slice is too short. CheckHeader applies RFC 6455's rules for
// the connection's role and limits. AppendHeader and AppendFrame encode into
// the caller's buffer.
//
// # Opening handshake
//
// ServerHandshake parses an upgrade request from bytes (no net/http, no
// allocation per header), checks it against RFC 6455 section 4.2.1, the
// origin (same-origin by default) and the application's hooks, negotiates
// the subprotocol and builds the 101 response or a clear 4xx. AppendRequest,
// ParseResponse and CheckResponse are the client's side.
//
// # The blocking driver
//
// Upgrader upgrades a request of any net/http server; Dial opens a client
// connection over ws://, wss:// or ws+unix://. Both return a NetConn, whose
// Serve reads and dispatches to a Handler on the caller's goroutine, and
// whose write methods are safe from any goroutine. Made with a nil Handler,
// a NetConn is in pull mode instead: Next returns each piece of a message
// as it arrives, with the same protocol, liveness and tracking as Serve;
// the root package's blocking Conn (tachyon.Accept, tachyon.Dial) is built
// on it. Handler and Socket are the
// interfaces the event-loop server uses too. The Upgrader keeps the same
// budgets as the event-loop server: it counts its connections (MaxConns,
// Len), closes them all on Shutdown (call it after http.Server.Shutdown,
// which does not know hijacked connections), charges a Budget and enforces
// Liveness with one housekeeping goroutine.
//
// # Errors
//
// Every way a peer can break the protocol is a sentinel *ProtocolError that
// carries the close code to fail the connection with; a close from the peer
// is a *CloseError; a failed opening handshake is a *HandshakeError with its
// HTTP status. CloseStatus and HTTPStatus find the code in any wrapped error.
package engine
