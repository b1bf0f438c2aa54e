package engine

import (
	"errors"
	"net"
	"sync"
	"time"
)

// DefaultCloseTimeout is how long a NetConn waits for the peer's answer to
// its close frame before it drops the connection.
const DefaultCloseTimeout = 5 * time.Second

// NetConn is the blocking driver: one WebSocket connection over a net.Conn,
// served by Serve on the caller's goroutine, which reads, runs the protocol
// state machine and calls the Handler. Writes may come from any goroutine at
// any time: they are serialised by a lock and written before the call
// returns, so concurrent writers never interleave frames.
//
// Use Upgrade (server, behind net/http) or Dial (client) to get one.
type NetConn struct {
	conn     net.Conn
	handler  Handler
	pings    PingHandler // handler as a PingHandler, or nil
	protocol string

	mu      sync.Mutex // guards proto's writing side and conn writes
	proto   *Conn
	werr    error // first write error: the connection is broken
	readBuf []byte
	pending int // bytes at the front of readBuf not yet consumed
	served  bool

	// CloseTimeout bounds the wait for the peer's close after ours;
	// zero means DefaultCloseTimeout. Set it before Serve.
	CloseTimeout time.Duration
	// WriteTimeout, when set, bounds each write to the transport; a write
	// that times out breaks the connection. Set it before Serve.
	WriteTimeout time.Duration
}

// newNetConn wraps an established connection. leftover holds bytes already
// read past the handshake.
func newNetConn(conn net.Conn, role Role, h Handler, cfg Config, protocol string, leftover []byte) *NetConn {
	c := &NetConn{conn: conn, handler: h, protocol: protocol}
	c.pings, _ = h.(PingHandler)
	c.proto = NewConn(role, (*netEvents)(c), cfg)
	size := c.proto.cfg.ReadBufferSize + MaxHeaderSize
	c.readBuf = make([]byte, max(size, len(leftover)))
	c.pending = copy(c.readBuf, leftover)
	return c
}

// netEvents adapts the state machine's Events to the Handler. It runs on the
// Serve goroutine with c.mu held, and releases the lock around the handler
// so that the handler (or anyone) can write meanwhile.
type netEvents NetConn

func (e *netEvents) OnMessage(op OpCode, p []byte) {
	c := (*NetConn)(e)
	c.mu.Unlock()
	defer c.mu.Lock()
	c.handler.OnMessage(c, op, p)
}

func (e *netEvents) OnFragment(op OpCode, p []byte, final bool) {}

func (e *netEvents) OnPing(p []byte) {
	c := (*NetConn)(e)
	c.flushLocked() // the pong first
	if c.pings != nil {
		c.mu.Unlock()
		defer c.mu.Lock()
		c.pings.OnPing(c, p)
	}
}

func (e *netEvents) OnPong(p []byte) {
	c := (*NetConn)(e)
	if c.pings != nil {
		c.mu.Unlock()
		defer c.mu.Lock()
		c.pings.OnPong(c, p)
	}
}

func (e *netEvents) OnClose(code StatusCode, reason []byte) {
	c := (*NetConn)(e)
	c.flushLocked() // the close frame, before the handler hears of it
	r := string(reason)
	c.mu.Unlock()
	defer c.mu.Lock()
	c.handler.OnClose(c, code, r)
}

// Serve runs the connection until it ends: it calls OnOpen, then reads and
// dispatches until the close handshake completes, the peer breaks the
// protocol, or the transport fails; OnClose is called exactly once, and the
// net.Conn is closed when Serve returns. It returns nil after a normal close
// (1000 or 1001 from either side) and otherwise the error that ended the
// connection (a *CloseError, a *ProtocolError, or the transport's error).
// Serve may be called once.
func (c *NetConn) Serve() error {
	c.mu.Lock()
	if c.served {
		c.mu.Unlock()
		return errors.New("engine: NetConn.Serve called twice")
	}
	c.served = true
	c.mu.Unlock()
	defer c.conn.Close()

	c.handler.OnOpen(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.pending > 0 {
			n, err := c.proto.Feed(c.readBuf[:c.pending])
			c.pending = copy(c.readBuf, c.readBuf[n:c.pending])
			c.flushLocked()
			if err != nil {
				return endError(err)
			}
		}
		if c.werr != nil {
			c.proto.Abort()
			return c.werr
		}
		c.mu.Unlock()
		n, rerr := c.conn.Read(c.readBuf[c.pending:])
		c.mu.Lock()
		c.pending += n
		if rerr != nil && n == 0 {
			c.proto.Abort()
			if c.proto.CloseSent() {
				return nil // our close was out; the peer just hung up
			}
			return rerr
		}
	}
}

// endError maps what ended the connection to Serve's result.
func endError(err error) error {
	var ce *CloseError
	if errors.As(err, &ce) && (ce.Code == StatusNormalClosure || ce.Code == StatusGoingAway) {
		return nil
	}
	return err
}

// flushLocked writes out the queued output. c.mu is held.
func (c *NetConn) flushLocked() {
	out := c.proto.Output()
	if len(out) == 0 || c.werr != nil {
		return
	}
	if c.WriteTimeout > 0 {
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.WriteTimeout))
	}
	n, err := c.conn.Write(out)
	c.proto.Advance(n)
	if err != nil {
		c.werr = err
		_ = c.conn.Close() // unblocks the reader
	}
}

// write queues with f and writes out, under the lock.
func (c *NetConn) write(f func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if c.proto.Ended() {
		return ErrClosed
	}
	if err := f(); err != nil {
		return err
	}
	c.flushLocked()
	return c.werr
}

// WriteMessage sends a text or binary message; see Socket.
func (c *NetConn) WriteMessage(op OpCode, payload []byte) error {
	return c.write(func() error { return c.proto.WriteMessage(op, payload) })
}

// WriteFragment sends one fragment of a message written in pieces; see
// Conn.WriteFragment. Only one goroutine should write a fragmented message
// at a time: other writers' messages are refused (ErrFragmentState) until
// its last fragment.
func (c *NetConn) WriteFragment(op OpCode, payload []byte, final bool) error {
	return c.write(func() error { return c.proto.WriteFragment(op, payload, final) })
}

// WritePrepared sends a message encoded once for many connections.
func (c *NetConn) WritePrepared(p *Prepared) error {
	return c.write(func() error { return c.proto.WritePrepared(p) })
}

// WritePing sends a ping.
func (c *NetConn) WritePing(payload []byte) error {
	return c.write(func() error { return c.proto.WritePing(payload) })
}

// Close starts the closing handshake; see Socket. Serve returns once the
// peer answers, or after CloseTimeout.
func (c *NetConn) Close(code StatusCode, reason string) error {
	err := c.write(func() error { return c.proto.Close(code, reason) })
	if errors.Is(err, ErrClosed) {
		return nil // already ended: Close is idempotent
	}
	timeout := c.CloseTimeout
	if timeout <= 0 {
		timeout = DefaultCloseTimeout
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	return err
}

// Subprotocol returns the subprotocol chosen in the handshake, or "".
func (c *NetConn) Subprotocol() string { return c.protocol }

// RemoteAddr returns the peer's address.
func (c *NetConn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// LocalAddr returns this side's address.
func (c *NetConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }
