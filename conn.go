package tachyon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/tachyonws/tachyon/engine"
)

// OpCode is a message's type: Text or Binary.
type OpCode = engine.OpCode

// The message types.
const (
	Text   = engine.OpText   // UTF-8 text, validated on arrival
	Binary = engine.OpBinary // bytes
)

// StatusCode is a close status code (RFC 6455 section 7.4). Codes
// 4000-4999 are the application's own.
type StatusCode = engine.StatusCode

// The close codes used most; engine lists them all.
const (
	StatusNormalClosure   = engine.StatusNormalClosure
	StatusGoingAway       = engine.StatusGoingAway
	StatusPolicyViolation = engine.StatusPolicyViolation
	StatusMessageTooBig   = engine.StatusMessageTooBig
	StatusInternalError   = engine.StatusInternalError
	StatusAbnormalClosure = engine.StatusAbnormalClosure // local only: no close came
)

// CloseError is the peer's close (its code and reason), returned by Read
// once the connection has ended.
type CloseError = engine.CloseError

// CloseStatus returns the close code in err (see engine.CloseStatus), or 0.
func CloseStatus(err error) StatusCode { return engine.CloseStatus(err) }

// HTTPStatus returns the HTTP status of a refused handshake in err, or 0.
func HTTPStatus(err error) int { return engine.HTTPStatus(err) }

// ErrForbiddenOrigin is the origin check's refusal (403), the server's
// error from Accept; on the client, Dial's error for a Tachyon server's
// refusal matches it too: errors.Is(err, tachyon.ErrForbiddenOrigin).
var ErrForbiddenOrigin = engine.ErrForbiddenOrigin

// Upgrader holds the server side's options (origin check, subprotocols,
// limits, liveness: ping interval, read and idle timeouts), counts the
// connections it accepted and closes them all on Shutdown. Its zero value
// is ready to use. It is the engine's Upgrader: one set of options for
// Accept and for engine's callback driver.
type Upgrader = engine.Upgrader

// DialOptions configures Dial: header, subprotocols, TLS, handshake
// timeout, limits. nil means the defaults.
type DialOptions = engine.DialOptions

// defaultUpgrader serves Accept calls with a nil Upgrader.
var defaultUpgrader Upgrader

// Accept upgrades a net/http request to a WebSocket connection. When the
// handshake is refused it has written the HTTP error (400, 403, 426, ...)
// and returns it; the handler just returns. u gives the options and tracks
// the connection until it ends (Upgrader.Len, Upgrader.Shutdown); nil means
// a package-wide Upgrader with the defaults (same-origin requests only).
//
// The connection must be read (Read, Reader) for pings, liveness checks
// and the closing handshake to run.
func Accept(w http.ResponseWriter, r *http.Request, u *Upgrader) (*Conn, error) {
	if u == nil {
		u = &defaultUpgrader
	}
	nc, err := u.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	return newConn(nc), nil
}

// Dial opens a client connection to a ws://, wss:// or ws+unix:// URL. ctx
// bounds the dial and the handshake only. A refused handshake is an error
// whose HTTPStatus is the server's answer.
func Dial(ctx context.Context, url string, opts *DialOptions) (*Conn, error) {
	nc, err := engine.Dial(ctx, url, nil, opts)
	if err != nil {
		return nil, err
	}
	return newConn(nc), nil
}

// Conn is a WebSocket connection with blocking, context-first methods.
// Read and Reader are for one goroutine at a time; Write, Writer, Ping,
// Close and CloseNow are safe from any goroutine, also while a Read runs.
// Pings are answered, and the closing handshake run, while a Read is in
// progress: keep one goroutine reading.
type Conn struct {
	nc   *engine.NetConn
	wsem chan struct{} // held by the goroutine writing a message

	buf     []byte       // the message being assembled from pieces
	held    atomic.Int64 // bytes of the Upgrader's budget taken for buf's growth
	op      OpCode       // its opcode
	partial bool         // buf holds the start of a message a Read left unfinished
	r       messageReader
	w       messageWriter

	// The context of the writes, watched so that its end closes the
	// connection during a write: registered once per context (by its
	// Done channel), not once per write, and released with the
	// connection.
	wmu     sync.Mutex
	busy    bool // a write is in progress
	killed  bool // its context ended meanwhile: the connection was closed
	watched <-chan struct{}
	unwatch func() bool
}

func newConn(nc *engine.NetConn) *Conn {
	return &Conn{nc: nc, wsem: make(chan struct{}, 1)}
}

// beginWrite arms the write about to start against ctx's end.
func (c *Conn) beginWrite(ctx context.Context) error {
	done := ctx.Done()
	if done == nil {
		return nil
	}
	c.wmu.Lock()
	if c.watched != done {
		if c.unwatch != nil {
			c.unwatch()
		}
		c.watched = done
		c.unwatch = context.AfterFunc(ctx, func() { c.writeExpired(done) })
	}
	c.busy = true
	c.wmu.Unlock()
	if err := ctx.Err(); err != nil { // ended before the watcher saw the write armed
		c.endWrite(ctx)
		return err
	}
	return nil
}

// endWrite disarms; it reports whether ctx's end closed the connection
// during the write.
func (c *Conn) endWrite(ctx context.Context) bool {
	if ctx.Done() == nil {
		return false
	}
	c.wmu.Lock()
	killed := c.killed
	c.busy, c.killed = false, false
	c.wmu.Unlock()
	return killed
}

func (c *Conn) writeExpired(done <-chan struct{}) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.busy && c.watched == done {
		c.killed = true
		_ = c.nc.CloseNow()
	}
}

// release lets go of the write context's watcher once the connection has
// ended, so that a long-lived context does not keep the Conn.
func (c *Conn) release() {
	c.wmu.Lock()
	if c.unwatch != nil {
		c.unwatch()
	}
	c.watched, c.unwatch = nil, nil
	c.wmu.Unlock()
}

// ended is called with every error of a read: one that is not the
// context's own means the connection has ended.
func (c *Conn) ended(ctx context.Context, err error) error {
	if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		c.release()
		c.releaseHeld()
	}
	return err
}

// releaseHeld gives the budget taken for buf back.
func (c *Conn) releaseHeld() { c.nc.ReleaseBudget(c.held.Swap(0)) }

// maxKept is the largest assembly buffer kept from one message to the next.
const maxKept = 64 << 10

// Read returns the next message: its type and payload. The payload is
// valid until the next Read or Reader: a message that came in one frame is
// a view into the read buffer, a fragmented one is assembled in a buffer
// the Conn reuses, so Read allocates nothing per message.
//
// When ctx ends first, Read returns ctx.Err() and nothing is closed: the
// next Read goes on where it stopped. Once the connection has ended, Read
// returns why: a *CloseError with the peer's close (also for 1000), the
// protocol error it was failed with, or the transport's error.
func (c *Conn) Read(ctx context.Context) (OpCode, []byte, error) {
	if err := c.skip(ctx); err != nil {
		return 0, nil, err
	}
	if !c.partial {
		c.buf = c.buf[:0]
		if cap(c.buf) > maxKept {
			c.buf = nil
		}
		c.releaseHeld()
	}
	for {
		op, p, final, err := c.nc.Next(ctx)
		if err != nil {
			return 0, nil, c.ended(ctx, err)
		}
		if final && !c.partial {
			return op, p, nil
		}
		if err := c.grow(len(p)); err != nil {
			return 0, nil, c.ended(ctx, err)
		}
		c.buf = append(c.buf, p...)
		c.op, c.partial = op, !final
		if final {
			return op, c.buf, nil
		}
	}
}

// grow makes room for n more bytes in buf, taking the new capacity from
// the Upgrader's budget first (the message size itself is bounded by the
// read limit, checked before any piece arrives).
func (c *Conn) grow(n int) error {
	need := len(c.buf) + n
	if need <= cap(c.buf) {
		return nil
	}
	size := max(need, 2*cap(c.buf), 512)
	more := int64(size - cap(c.buf))
	if len(c.buf) == 0 {
		more = int64(size) // a kept buffer was not charged
	}
	if err := c.nc.ReserveBudget(more); err != nil {
		return err
	}
	c.held.Add(more)
	nb := make([]byte, len(c.buf), size)
	copy(nb, c.buf)
	c.buf = nb
	return nil
}

// skip reads past the rest of a message a Reader left unfinished.
func (c *Conn) skip(ctx context.Context) error {
	for c.r.open && !c.r.eof {
		_, _, final, err := c.nc.Next(ctx)
		if err != nil {
			return c.ended(ctx, err)
		}
		c.r.eof = final
	}
	c.r.open = false
	return nil
}

// Reader returns the next message as a stream: for messages too large to
// hold, which arrive piece by piece (with permessage-deflate agreed, a
// message is inflated whole first). The reader is valid until the next
// Read or Reader, which skip what it did not read; its reads use ctx.
func (c *Conn) Reader(ctx context.Context) (OpCode, io.Reader, error) {
	if err := c.skip(ctx); err != nil {
		return 0, nil, err
	}
	c.r = messageReader{c: c, ctx: ctx, open: true}
	if c.partial { // the start a cancelled Read assembled comes first
		c.r.p, c.r.op, c.partial = c.buf, c.op, false
		return c.r.op, &c.r, nil
	}
	op, p, final, err := c.nc.Next(ctx)
	if err != nil {
		c.r.open = false
		return 0, nil, c.ended(ctx, err)
	}
	c.r.op, c.r.p, c.r.eof = op, p, final
	return op, &c.r, nil
}

type messageReader struct {
	c    *Conn
	ctx  context.Context
	op   OpCode
	p    []byte // the piece being read
	eof  bool   // p is the message's last piece
	open bool
}

func (r *messageReader) Read(b []byte) (int, error) {
	for len(r.p) == 0 {
		if r.eof || !r.open {
			return 0, io.EOF
		}
		_, p, final, err := r.c.nc.Next(r.ctx)
		if err != nil {
			return 0, r.c.ended(r.ctx, err)
		}
		r.p, r.eof = p, final
	}
	n := copy(b, r.p)
	r.p = r.p[n:]
	return n, nil
}

// Write sends a message. p is written out before Write returns. Messages
// from concurrent writers go out one after the other, never interleaved.
// When ctx ends before the message can start, Write returns ctx.Err();
// when it ends while the message is being written, the connection is
// closed (a frame cut short cannot be resumed).
func (c *Conn) Write(ctx context.Context, op OpCode, p []byte) error {
	if err := c.lockWrite(ctx); err != nil {
		return err
	}
	defer c.unlockWrite()
	if err := c.beginWrite(ctx); err != nil {
		return err
	}
	err := c.nc.WriteMessage(op, p)
	if c.endWrite(ctx) {
		return ctx.Err()
	}
	return err
}

func (c *Conn) lockWrite(ctx context.Context) error {
	select {
	case c.wsem <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.nc.Done():
		return net.ErrClosed
	}
}

func (c *Conn) unlockWrite() { <-c.wsem }

// Writer returns a writer for one message sent in pieces (fragments): each
// Write sends what it is given, Close ends the message. Other messages wait
// until it is closed; pings and Close do not. ctx applies as for Write.
func (c *Conn) Writer(ctx context.Context, op OpCode) (io.WriteCloser, error) {
	if err := c.lockWrite(ctx); err != nil {
		return nil, err
	}
	c.w = messageWriter{c: c, ctx: ctx, op: op, open: true}
	return &c.w, nil
}

type messageWriter struct {
	c       *Conn
	ctx     context.Context
	op      OpCode
	started bool
	open    bool
}

func (w *messageWriter) fragment(p []byte, final bool) error {
	op := w.op
	if w.started {
		op = engine.OpContinuation
	}
	w.started = true
	if err := w.c.beginWrite(w.ctx); err != nil {
		return err
	}
	err := w.c.nc.WriteFragment(op, p, final)
	if w.c.endWrite(w.ctx) {
		return w.ctx.Err()
	}
	return err
}

func (w *messageWriter) Write(p []byte) (int, error) {
	if !w.open {
		return 0, net.ErrClosed
	}
	if err := w.fragment(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *messageWriter) Close() error {
	if !w.open {
		return nil
	}
	w.open = false
	err := w.fragment(nil, true)
	w.c.unlockWrite()
	return err
}

// Ping sends a ping and waits for its pong, or for ctx to end (the
// connection stays open then). Another goroutine must be reading, since
// the pong arrives through Read.
func (c *Conn) Ping(ctx context.Context) error { return c.nc.PingWait(ctx) }

// Close runs the closing handshake: it sends a close with code and reason
// (up to 123 bytes), waits for the peer's close (at most CloseTimeout, the
// Upgrader's or the DialOptions', 5 s by default), then closes the
// connection. A Read in progress returns the peer's close. It returns nil
// when the peer answered, and nil again when called once more;
// engine.ErrCloseTimeout when the peer did not answer in time.
func (c *Conn) Close(code StatusCode, reason string) error {
	defer c.releaseHeld()
	defer c.release()
	return c.nc.CloseWait(code, reason)
}

// CloseNow closes the connection at once, without a closing handshake.
func (c *Conn) CloseNow() error {
	defer c.releaseHeld()
	defer c.release()
	return c.nc.CloseNow()
}

// SetReadLimit sets the largest message Read accepts, in bytes (16 MiB by
// default, or the Upgrader's Config.MaxMessageSize): a larger one fails the
// connection with 1009, message too big.
func (c *Conn) SetReadLimit(n int64) { c.nc.SetReadLimit(n) }

// Subprotocol returns the subprotocol chosen in the handshake, or "".
func (c *Conn) Subprotocol() string { return c.nc.Subprotocol() }

// Deflate returns the permessage-deflate agreement of the handshake (RFC
// 7692; DialOptions.Compression, Upgrader.Handshake.Compression): its zero
// value, when compression is off, reports Enabled false.
func (c *Conn) Deflate() engine.Deflate { return c.nc.Deflate() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns this side's address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }
