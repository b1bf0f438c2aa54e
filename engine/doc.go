// Package engine is Tachyon's protocol core for RFC 6455: frame headers,
// frames, close codes, typed errors and the opening handshake. It is sans-IO:
// it never touches a socket. Bytes go in, events and bytes come out, so the
// event-loop server, the net/http upgrade and the client all run the same
// code.
//
// # Frames
//
// ParseHeader reads a frame header from the front of a byte slice into a
// Header, without copying or allocating, and says how many bytes the header needs when the
// slice is too short. CheckHeader applies RFC 6455's rules for the
// connection's role and limits, so that a bad frame is refused before any of
// its payload is buffered. AppendHeader and AppendFrame encode into the
// caller's buffer.
//
// # Errors
//
// Every way a peer can break the protocol is a sentinel *ProtocolError that
// carries the close code to fail the connection with; a close from the peer
// is a *CloseError; a failed opening handshake is a *HandshakeError with its
// HTTP status. CloseStatus and HTTPStatus find the code in any wrapped error.
package engine
