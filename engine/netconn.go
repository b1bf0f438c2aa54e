package engine

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
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
// Use Upgrade (server, behind net/http) or Dial (client) to get one. Made
// with a nil Handler, a NetConn is read with Next instead of Serve (pull
// mode, for the root package's blocking Conn).
type NetConn struct {
	conn     net.Conn
	handler  Handler
	pings    PingHandler // handler as a PingHandler, or nil
	protocol string
	pull     *pullState // pull mode (nil Handler): read with Next, not Serve

	mu       sync.Mutex // guards proto's writing side and conn writes
	proto    *Conn
	werr     error // first write error: the connection is broken
	readBuf  []byte
	pending  int // bytes at the front of readBuf not yet consumed
	served   bool
	closeDue time.Time // read deadline once our close is out; zero before
	wrote    int64     // bytes written to conn
	pongMark int64     // bytes the peer had taken when pongs were last owed
	owed     int       // pongs queued while the peer took none of our bytes

	// Liveness, for a NetConn an Upgrader tracks (up is nil otherwise).
	// The Serve goroutine stamps the Upgrader's coarse clock (one atomic
	// load and store per read, no time.Now); the Upgrader's housekeeper
	// reads the stamps and, when a limit passes, asks Serve to act (wake)
	// and interrupts its read with a past deadline: the protocol work
	// stays on the Serve goroutine, under mu.
	up       *Upgrader
	clock    *atomic.Int64 // the Upgrader's coarse clock (UnixNano)
	seen     atomic.Int64  // clock at the last read that brought bytes
	lastData atomic.Int64  // clock at the last data message read or written
	msgSince atomic.Int64  // clock when the message or frame arriving began; 0 when none
	wake     atomic.Uint32 // wake* bits: what the housekeeper asks of Serve
	closeBy  atomic.Int64  // drop the transport after this (UnixNano); 0 when no close was asked
	dropped  atomic.Bool
	idleOn   bool  // Liveness.IdleTimeout is enforced: keep lastData
	lastPing int64 // housekeeper only

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
	if h == nil {
		c.pull = newPullState()
		// Pieces for Next as they arrive; whole messages when
		// permessage-deflate was agreed (Stream mode does not inflate).
		cfg.Stream = !cfg.Deflate.Enabled()
	}
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
	if c.pull != nil {
		c.pull.fragment(c, op, p, true) // touches data
		return
	}
	c.touchData()
	c.mu.Unlock()
	defer c.mu.Lock()
	c.handler.OnMessage(c, op, p)
}

func (e *netEvents) OnFragment(op OpCode, p []byte, final bool) {
	if c := (*NetConn)(e); c.pull != nil {
		c.pull.fragment(c, op, p, final)
	}
}

func (e *netEvents) OnPing(p []byte) {
	c := (*NetConn)(e)
	if c.pings != nil {
		c.flushLocked() // the pong before what the handler writes
		c.mu.Unlock()
		defer c.mu.Lock()
		c.pings.OnPing(c, p)
	}
}

func (e *netEvents) OnPong(p []byte) {
	c := (*NetConn)(e)
	if c.pull != nil {
		c.pull.pong(p)
	}
	if c.pings != nil {
		c.mu.Unlock()
		defer c.mu.Lock()
		c.pings.OnPong(c, p)
	}
}

func (e *netEvents) OnClose(code StatusCode, reason []byte) {
	c := (*NetConn)(e)
	c.flushLocked() // the close frame, before the handler hears of it
	if c.handler == nil {
		return // pull mode: Next returns the end
	}
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
// connection (a *CloseError, a *ProtocolError such as ErrMessageTimeout or
// ErrBudget, or the transport's error). Serve may be called once.
//
// A NetConn from Upgrade must be served: the Upgrader counts it among its
// connections (MaxConns, Len, Shutdown) until Serve returns.
func (c *NetConn) Serve() error {
	if c.pull != nil {
		return ErrNotPull
	}
	c.mu.Lock()
	if c.served {
		c.mu.Unlock()
		return errors.New("engine: NetConn.Serve called twice")
	}
	c.served = true
	c.mu.Unlock()
	if c.up != nil {
		defer c.up.untrack(c) // after the transport is closed
	}
	defer c.conn.Close()

	c.handler.OnOpen(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.pending > 0 {
			n, err := c.proto.Feed(c.readBuf[:c.pending])
			c.pending = copy(c.readBuf, c.readBuf[n:c.pending])
			p := c.proto.TakePongs()
			if p > 0 && c.owes(p) {
				return c.tooManyPings()
			}
			c.flushLocked()
			if err != nil {
				return endError(err)
			}
			if p >= PongBatch && c.pending > 0 && c.werr == nil {
				continue // Feed stopped after a batch of pongs: the rest
			}
		}
		if again, err := c.tend(); err != nil {
			return err
		} else if again {
			continue // a close, a ping or a failure may have broken the transport
		}
		n, rerr := c.readMore()
		if rerr != nil && n == 0 {
			if c.interrupted(rerr) {
				continue
			}
			c.proto.Abort()
			if c.proto.CloseSent() {
				return nil // our close was out; the peer just hung up
			}
			return rerr
		}
	}
}

// tend does what the read loops of Serve and of Next (pull mode) do
// before each read: keep the message clock, stop on a failed write, and
// do what the housekeeper asked. again reports that it did something, so
// the loop looks at its state once more before reading; err ends the
// connection. c.mu is held.
func (c *NetConn) tend() (again bool, err error) {
	if c.clock != nil {
		c.markMessage()
	}
	if c.werr != nil {
		c.proto.Abort()
		return false, c.werr
	}
	if c.wake.Load() != 0 {
		return true, c.wakeLocked()
	}
	return false, nil
}

// readMore reads from the transport into readBuf after its pending bytes,
// with c.mu released during the read, for both read loops. c.mu is held.
func (c *NetConn) readMore() (int, error) {
	c.mu.Unlock()
	n, err := c.conn.Read(c.readBuf[c.pending:])
	if c.pending+n == len(c.readBuf) {
		// The buffer filled: the peer may have more waiting, and a
		// goroutine that never blocks keeps its thread for a whole time
		// slice. Let the other connections' goroutines run first, so
		// that a flooding peer cannot hold the others up.
		runtime.Gosched()
	}
	c.mu.Lock()
	if n > 0 && c.clock != nil {
		c.seen.Store(c.clock.Load())
	}
	c.pending += n
	return n, err
}

// Things the housekeeper asks of the Serve goroutine (NetConn.wake).
const (
	wakePing uint32 = 1 << iota
	wakeReadTimeout
	wakeIdle
	wakeGoingAway
	wakeMessageTimeout
)

// aLongTimeAgo is the read deadline that interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// interrupted reports whether a read failed only because the housekeeper
// interrupted it (or an interruption was left over after its work was
// done): the read is to be retried. c.mu is held.
func (c *NetConn) interrupted(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) || c.dropped.Load() {
		return false
	}
	if c.wake.Load() != 0 {
		return true
	}
	if !c.closeDue.IsZero() && !time.Now().Before(c.closeDue) {
		return false // the peer did not answer our close in time
	}
	_ = c.conn.SetReadDeadline(c.closeDue) // a spurious interruption
	return true
}

// wakeLocked does what the housekeeper asked. The deadline is restored
// before the request is taken, so that a request made meanwhile
// interrupts the next read. It returns the error that ends Serve, if any.
// c.mu is held.
func (c *NetConn) wakeLocked() error {
	_ = c.conn.SetReadDeadline(c.closeDue)
	w := c.wake.Swap(0)
	switch {
	case w&wakeMessageTimeout != 0:
		// Liveness.MessageTimeout: the message (and the memory it holds)
		// is dropped and the connection failed with 1008; the transport
		// closes as Serve returns.
		c.proto.Fail(ErrMessageTimeout.Code, ErrMessageTimeout.Msg)
		c.flushLocked()
		return ErrMessageTimeout
	case w&wakeGoingAway != 0:
		_ = c.closeLocked(StatusGoingAway, "going away")
	case w&wakeReadTimeout != 0:
		_ = c.closeLocked(StatusGoingAway, "read timeout")
	case w&wakeIdle != 0:
		_ = c.closeLocked(StatusGoingAway, "idle")
	case w&wakePing != 0:
		if !c.proto.CloseSent() && !c.proto.Ended() && c.werr == nil {
			_ = c.proto.WritePing(nil)
			c.flushLocked()
		}
	}
	return nil
}

// markMessage keeps msgSince: the clock when the message or frame now
// arriving began, 0 when none is. Only the Serve goroutine writes it.
func (c *NetConn) markMessage() {
	busy := c.pending > 0 || c.proto.InMessage()
	since := c.msgSince.Load()
	switch {
	case busy && since == 0:
		c.msgSince.Store(c.clock.Load())
	case !busy && since != 0:
		c.msgSince.Store(0)
	}
}

// touchData records a data message read or written (Liveness.IdleTimeout).
func (c *NetConn) touchData() {
	if c.idleOn {
		c.lastData.Store(c.clock.Load())
	}
}

// ask hands the Serve goroutine a request and interrupts its read. A
// request to close also sets the time after which the housekeeper drops
// the transport, in case Serve cannot act (a handler that does not return,
// a write that blocks). It never blocks: the housekeeper calls it.
func (c *NetConn) ask(bit uint32, closeBy int64) {
	if closeBy != 0 {
		c.closeBy.CompareAndSwap(0, closeBy)
	}
	c.wake.Or(bit)
	_ = c.conn.SetReadDeadline(aLongTimeAgo)
}

// drop closes the transport without a word: it unblocks Serve's read and
// any write. For a TLS connection the socket under it is closed, so that
// no close_notify write can block the caller.
func (c *NetConn) drop() {
	if !c.dropped.CompareAndSwap(false, true) {
		return
	}
	conn := c.conn
	if u, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = u.NetConn()
	}
	_ = conn.Close()
}

// owes counts pongs about to be written and reports whether the peer owes
// too many (MaxPongsOwed): pongs queued while it has taken none of our
// bytes since the last ones, with bytes of ours still unacknowledged.
// c.mu is held.
func (c *NetConn) owes(pongs int) bool {
	k := kernelUnacked(c.conn)
	if k <= 0 {
		c.owed = 0
		return false
	}
	if a := c.wrote - int64(k); a > c.pongMark {
		c.pongMark = a
		c.owed = 0
	}
	c.owed += pongs
	return c.owed > MaxPongsOwed
}

// tooManyPings fails a peer that pings without reading: the queued pongs
// are dropped, the close 1008 gets CloseTimeout to leave, and Serve ends.
// c.mu is held.
func (c *NetConn) tooManyPings() error {
	out := c.proto.SwapOutput(nil)
	c.proto.SwapOutput(out[:0])
	c.proto.Fail(ErrTooManyPings.Code, ErrTooManyPings.Msg)
	timeout := c.CloseTimeout
	if timeout <= 0 {
		timeout = DefaultCloseTimeout
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(timeout))
	c.flushLocked()
	return ErrTooManyPings
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
	c.wrote += int64(n)
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
	c.touchData()
	return c.write(func() error { return c.proto.WriteMessage(op, payload) })
}

// WriteFragment sends one fragment of a message written in pieces; see
// Conn.WriteFragment. Only one goroutine should write a fragmented message
// at a time: other writers' messages are refused (ErrFragmentState) until
// its last fragment.
func (c *NetConn) WriteFragment(op OpCode, payload []byte, final bool) error {
	c.touchData()
	return c.write(func() error { return c.proto.WriteFragment(op, payload, final) })
}

// WritePrepared sends a message encoded once for many connections.
func (c *NetConn) WritePrepared(p *Prepared) error {
	c.touchData()
	return c.write(func() error { return c.proto.WritePrepared(p) })
}

// WritePing sends a ping.
func (c *NetConn) WritePing(payload []byte) error {
	return c.write(func() error { return c.proto.WritePing(payload) })
}

// Close starts the closing handshake; see Socket. Serve returns once the
// peer answers, or after CloseTimeout.
func (c *NetConn) Close(code StatusCode, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeLocked(code, reason)
}

// closeLocked queues our close, writes it out and bounds the wait for the
// peer's. It does nothing once our close is out (Close is idempotent).
// c.mu is held.
func (c *NetConn) closeLocked(code StatusCode, reason string) error {
	if c.werr != nil {
		return c.werr
	}
	if c.proto.Ended() || c.proto.CloseSent() {
		return nil
	}
	if err := c.proto.Close(code, reason); err != nil {
		return err
	}
	c.flushLocked()
	timeout := c.CloseTimeout
	if timeout <= 0 {
		timeout = DefaultCloseTimeout
	}
	c.closeDue = time.Now().Add(timeout)
	_ = c.conn.SetReadDeadline(c.closeDue)
	return c.werr
}

// Subprotocol returns the subprotocol chosen in the handshake, or "".
func (c *NetConn) Subprotocol() string { return c.protocol }

// Deflate returns the permessage-deflate agreement of the handshake.
func (c *NetConn) Deflate() Deflate { return c.proto.Deflate() }

// RemoteAddr returns the peer's address.
func (c *NetConn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// LocalAddr returns this side's address.
func (c *NetConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }
