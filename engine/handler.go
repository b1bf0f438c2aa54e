package engine

import "net"

// Socket is a WebSocket connection as a Handler sees it. Every method is safe
// to call from any goroutine, at any time, also after the connection ended
// (writes then return ErrClosed, or the transport's error). The blocking
// driver's *NetConn implements it, and so do the event-loop server's
// connections (package reactor). Messages written in fragments and
// prepared broadcasts are the implementations' own methods
// (NetConn.WriteFragment, NetConn.WritePrepared; reactor's groups).
type Socket interface {
	// WriteMessage sends a text or binary message. The payload is copied
	// or written out before it returns.
	WriteMessage(op OpCode, payload []byte) error
	// WritePing sends a ping with up to 125 bytes of payload.
	WritePing(payload []byte) error
	// Close starts the closing handshake with a code and a reason (see
	// CheckClose for what is allowed). It is idempotent.
	Close(code StatusCode, reason string) error
	// Subprotocol returns the subprotocol chosen in the handshake, or "".
	Subprotocol() string
	// Deflate returns the permessage-deflate agreement of the handshake
	// (Enabled is false when compression is off).
	Deflate() Deflate
	// RemoteAddr returns the peer's address.
	RemoteAddr() net.Addr
}

// Handler receives a connection's events. For one connection the methods
// are called one at a time, in order, never concurrently. Payloads are
// borrowed: valid only until the method returns; copy what you keep.
type Handler interface {
	// OnOpen is called once the handshake is done, before any message.
	OnOpen(s Socket)
	// OnMessage delivers a complete text (validated UTF-8) or binary
	// message.
	OnMessage(s Socket, op OpCode, payload []byte)
	// OnClose is called exactly once, when the connection ends: with the
	// peer's close code and reason, StatusNoStatusReceived (1005) when its
	// close had none, the code this side failed the connection with after a
	// protocol error, or StatusAbnormalClosure (1006) when the transport
	// dropped without a close.
	OnClose(s Socket, code StatusCode, reason string)
}

// PingHandler is implemented by handlers that want to hear of pings and
// pongs. Pings are answered automatically either way.
type PingHandler interface {
	OnPing(s Socket, payload []byte)
	OnPong(s Socket, payload []byte)
}

// BaseHandler implements Handler and PingHandler with methods that do
// nothing; embed it and override what you need.
type BaseHandler struct{}

// OnOpen does nothing.
func (BaseHandler) OnOpen(Socket) {}

// OnMessage does nothing.
func (BaseHandler) OnMessage(Socket, OpCode, []byte) {}

// OnClose does nothing.
func (BaseHandler) OnClose(Socket, StatusCode, string) {}

// OnPing does nothing.
func (BaseHandler) OnPing(Socket, []byte) {}

// OnPong does nothing.
func (BaseHandler) OnPong(Socket, []byte) {}
