package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sync"
	"time"
	"unsafe"
)

// The pull mode of the blocking driver: a NetConn made with a nil Handler
// (Upgrade, Dial) is read with Next instead of Serve. It runs the same
// state machine, liveness requests, pong bookkeeping and close handshake as
// Serve; only the direction of the calls differs: the application asks for
// the next piece of a message instead of being called with it. The
// package's root (tachyon.Conn) builds its blocking, context-first API on
// it.

// ErrNotPull is returned by Next and the other pull-mode methods on a
// NetConn that has a Handler, and by Serve on one that has none.
var ErrNotPull = errors.New("engine: NetConn: Next needs a NetConn made with a nil Handler; Serve needs one with a Handler")

// ErrCloseTimeout is returned by CloseWait when the peer did not answer
// the close within the close timeout: the transport was dropped.
var ErrCloseTimeout = errors.New("engine: the peer did not answer the close in time")

// pullState is what a NetConn in pull mode keeps beyond Serve's state.
type pullState struct {
	readMu sync.Mutex // held by the goroutine reading (Next, CloseWait)
	start  int        // readBuf[start:pending] is not fed yet; readBuf[:start] may hold the last piece handed out

	// The piece the last Feed delivered (Events.OnFragment).
	got   bool
	op    OpCode
	p     []byte
	final bool
	own   []byte // a copy of a piece that did not point into readBuf

	err  error         // what ended the connection; nil while it runs
	done chan struct{} // closed once the connection ended and its transport is closed
	once sync.Once

	// The context of the reads, watched so that its end interrupts a
	// blocked read: registered once per context (context.AfterFunc
	// allocates), not once per read, and known by its Done channel
	// (comparable, where a Context may not be). armed is set while a read
	// may be interrupted.
	armMu   sync.Mutex
	armed   bool
	watched <-chan struct{}
	unwatch func() bool

	// Pings waiting for their pong, by the sequence number in the payload.
	pingMu  sync.Mutex
	pingSeq uint64
	waiting map[uint64]chan struct{}
}

func newPullState() *pullState {
	return &pullState{done: make(chan struct{})}
}

// fragment records a piece delivered by Feed. The piece must outlive the
// Feed call: a view into readBuf does (readBuf is not moved until the next
// Next), anything else (a buffer the state machine reuses) is copied.
func (ps *pullState) fragment(c *NetConn, op OpCode, p []byte, final bool) {
	if !inside(p, c.readBuf) {
		ps.own = append(ps.own[:0], p...)
		p = ps.own
	}
	ps.got, ps.op, ps.p, ps.final = true, op, p, final
	if final {
		c.touchData()
	}
}

// inside reports whether p lies within buf's array.
func inside(p, buf []byte) bool {
	if len(p) == 0 {
		return true
	}
	a := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return a >= lo && a < lo+uintptr(cap(buf))
}

// pong wakes the Ping waiting for this payload, if any.
func (ps *pullState) pong(p []byte) {
	if len(p) != 8 {
		return
	}
	seq := binary.BigEndian.Uint64(p)
	ps.pingMu.Lock()
	if ch, ok := ps.waiting[seq]; ok {
		delete(ps.waiting, seq)
		close(ch)
	}
	ps.pingMu.Unlock()
}

// Next reads the next piece of a data message (pull mode). op is the
// message's opcode (OpText or OpBinary) on every piece, final marks its
// last piece; a message sent in one frame of at most Config.ReadBufferSize
// bytes comes as one final piece, and so does every message when
// permessage-deflate was agreed (it is inflated whole). Text is validated
// as UTF-8 as it arrives.
// p is valid until the next call of Next (or CloseWait); it is a view into
// the read buffer, not a copy, for a frame that arrived whole.
//
// While it waits, Next answers pings, runs the closing handshake and does
// what the Upgrader's liveness checks ask (pings, timeouts, Shutdown): a
// connection in pull mode must be read for these to happen, as the
// connection of any blocking WebSocket API must be.
//
// When ctx ends first, Next returns ctx.Err() and the connection stays as it
// was: a later call goes on where this one stopped. Once the connection has
// ended, Next returns what ended it, every time: the peer's close
// (*CloseError, also for 1000), a *ProtocolError the connection was failed
// with, ErrClosed after a close this side started, or the transport's error
// (a *CloseError with StatusAbnormalClosure when the peer hung up without a
// close). The transport is then closed.
//
// Next is for one goroutine at a time; a second caller waits for the first.
func (c *NetConn) Next(ctx context.Context) (op OpCode, p []byte, final bool, err error) {
	ps := c.pull
	if ps == nil {
		return 0, nil, false, ErrNotPull
	}
	ps.readMu.Lock()
	defer ps.readMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nextLocked(ctx)
}

// nextLocked is Next with ps.readMu and c.mu held.
func (c *NetConn) nextLocked(ctx context.Context) (op OpCode, p []byte, final bool, err error) {
	ps := c.pull
	if ps.err != nil {
		return 0, nil, false, ps.err
	}
	if cap(ps.own) > maxPooled {
		ps.own = nil // a large message's copy is not kept
	}
	for {
		if ps.start < c.pending {
			n, ferr := c.proto.Feed(c.readBuf[ps.start:c.frameEnd()])
			ps.start += n
			if k := c.proto.TakePongs(); k > 0 && c.owes(k) {
				return 0, nil, false, c.endPull(c.tooManyPings())
			}
			c.flushLocked()
			if ferr != nil {
				return 0, nil, false, c.endPull(ferr)
			}
			if ps.got {
				ps.got = false
				return ps.op, ps.p, ps.final, nil
			}
			if n > 0 {
				continue
			}
		}
		// Nothing handed out points into readBuf any more: move the
		// unfed bytes to the front.
		if ps.start > 0 {
			c.pending = copy(c.readBuf, c.readBuf[ps.start:c.pending])
			ps.start = 0
		}
		if again, err := c.tend(); err != nil {
			return 0, nil, false, c.endPull(err)
		} else if again {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, false, err
		}
		watched := ctx.Done() != nil
		if watched {
			c.watch(ctx)
			// Checked again once armed: a context that ended before its
			// watcher could see the read armed is caught here.
			if err := ctx.Err(); err != nil {
				c.disarm()
				return 0, nil, false, err
			}
		}
		n, rerr := c.readMore()
		if watched {
			c.disarm()
		}
		if rerr != nil && n == 0 {
			if watched && ctx.Err() != nil && errors.Is(rerr, os.ErrDeadlineExceeded) && !c.dropped.Load() {
				_ = c.conn.SetReadDeadline(c.closeDue) // undo the interruption
				return 0, nil, false, ctx.Err()
			}
			if c.interrupted(rerr) {
				continue
			}
			c.proto.Abort()
			if c.proto.CloseSent() {
				return 0, nil, false, c.endPull(ErrClosed)
			}
			if errors.Is(rerr, io.EOF) {
				rerr = &CloseError{Code: StatusAbnormalClosure}
			}
			return 0, nil, false, c.endPull(rerr)
		}
	}
}

// watch arms the interruption of the read about to block by ctx's end,
// registering a watcher when ctx is not the one already watched.
func (c *NetConn) watch(ctx context.Context) {
	ps := c.pull
	ps.armMu.Lock()
	defer ps.armMu.Unlock()
	if done := ctx.Done(); ps.watched != done {
		if ps.unwatch != nil {
			ps.unwatch()
		}
		ps.watched = done
		ps.unwatch = context.AfterFunc(ctx, func() { c.interruptRead(done) })
	}
	ps.armed = true
}

// disarm ends the read's exposure to its context.
func (c *NetConn) disarm() {
	ps := c.pull
	ps.armMu.Lock()
	ps.armed = false
	ps.armMu.Unlock()
}

// interruptRead interrupts the blocked read of a Next whose context ended
// (done is its Done channel).
func (c *NetConn) interruptRead(done <-chan struct{}) {
	ps := c.pull
	ps.armMu.Lock()
	if ps.armed && ps.watched == done {
		_ = c.conn.SetReadDeadline(aLongTimeAgo)
	}
	ps.armMu.Unlock()
}

// frameEnd returns the end of the first frame (or of the rest of the frame
// being taken in pieces) in readBuf[start:pending], so that one Feed
// delivers at most one data piece: the piece must stay where it is until the
// next Next. When the frame's header is not complete or is broken, it
// returns pending and lets Feed decide. c.mu is held.
func (c *NetConn) frameEnd() int {
	ps := c.pull
	b := c.readBuf[ps.start:c.pending]
	if c.proto.inFrame {
		return ps.start + int(min(int64(len(b)), c.proto.remaining))
	}
	var h Header
	hn, err := ParseHeader(b, &h)
	if err != nil || hn > len(b) || h.Length > int64(len(b)-hn) {
		return c.pending
	}
	return ps.start + hn + int(h.Length)
}

// endPull records what ended a connection in pull mode and lets it go: the
// transport is closed and the Upgrader forgets it. It returns the error
// Next reports from now on. c.mu is held.
func (c *NetConn) endPull(err error) error {
	ps := c.pull
	if ps.err == nil {
		ps.err = err
	}
	c.finishPull()
	return ps.err
}

// finishPull closes the transport, makes the Upgrader forget the
// connection and wakes those waiting for its end; once.
func (c *NetConn) finishPull() {
	ps := c.pull
	ps.once.Do(func() {
		ps.armMu.Lock()
		if ps.unwatch != nil {
			ps.unwatch() // the context is not kept past the connection
		}
		ps.watched, ps.unwatch = nil, nil
		ps.armMu.Unlock()
		c.drop()
		if c.up != nil {
			c.up.untrack(c)
		}
		close(ps.done)
	})
}

// SetReadLimit sets the largest message the connection accepts from now
// on (Config.MaxMessageSize; it bounds the frame size too): a longer one
// fails the connection with 1009. n <= 0 means DefaultMaxMessageSize.
func (c *NetConn) SetReadLimit(n int64) {
	if n <= 0 {
		n = DefaultMaxMessageSize
	}
	c.mu.Lock()
	c.proto.cfg.MaxMessageSize = n
	c.proto.cfg.MaxFrameSize = n
	c.mu.Unlock()
}

// PingWait sends a ping and waits for its pong (pull mode): it returns nil
// once the pong came back, ctx.Err() when ctx ends first (the connection
// stays open), or the error that ended the connection. The pong is read by
// Next, so another goroutine must be reading meanwhile. Any goroutine may
// call it, several at once.
func (c *NetConn) PingWait(ctx context.Context) error {
	ps := c.pull
	if ps == nil {
		return ErrNotPull
	}
	ch := make(chan struct{})
	ps.pingMu.Lock()
	ps.pingSeq++
	seq := ps.pingSeq
	if ps.waiting == nil {
		ps.waiting = make(map[uint64]chan struct{})
	}
	ps.waiting[seq] = ch
	ps.pingMu.Unlock()
	forget := func() {
		ps.pingMu.Lock()
		delete(ps.waiting, seq)
		ps.pingMu.Unlock()
	}
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], seq)
	if err := c.WritePing(payload[:]); err != nil {
		forget()
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		forget()
		return ctx.Err()
	case <-ps.done:
		forget()
		c.mu.Lock()
		defer c.mu.Unlock()
		if ps.err == nil {
			return ErrClosed
		}
		return ps.err
	}
}

// CloseWait runs the closing handshake (pull mode): it sends a close with
// code and reason (see CheckClose), waits for the peer's answer for at most
// CloseTimeout, and closes the transport. When no goroutine is reading, it
// reads itself, discarding data messages; otherwise the reader sees the
// peer's close and CloseWait waits for it. It returns nil once the peer
// answered (or when the connection had already ended), the CheckClose
// error for a code or reason that cannot be sent (nothing is sent then), or
// what ended the connection otherwise. Safe from any goroutine; calls after
// the first return nil.
func (c *NetConn) CloseWait(code StatusCode, reason string) error {
	ps := c.pull
	if ps == nil {
		return ErrNotPull
	}
	if err := CheckClose(code, reason); err != nil {
		return err
	}
	c.mu.Lock()
	if ps.err != nil {
		c.mu.Unlock()
		return nil
	}
	err := c.closeLocked(code, reason)
	timeout := c.CloseTimeout
	if timeout <= 0 {
		timeout = DefaultCloseTimeout
	}
	if err != nil { // the transport broke
		c.proto.Abort()
		err = c.endPull(err)
		c.mu.Unlock()
		return err
	}
	c.mu.Unlock()

	if ps.readMu.TryLock() {
		// Nobody reads: read until the peer's close (the read deadline
		// set by closeLocked bounds the wait).
		c.mu.Lock()
		for {
			if _, _, _, err = c.nextLocked(context.Background()); err != nil {
				break
			}
		}
		c.mu.Unlock()
		ps.readMu.Unlock()
		if err == ErrClosed {
			err = ErrCloseTimeout
		}
	} else {
		t := time.NewTimer(timeout + timeout/10)
		select {
		case <-ps.done:
		case <-t.C:
			c.drop()
			<-ps.done
		}
		t.Stop()
		c.mu.Lock()
		err = ps.err
		c.mu.Unlock()
		if err == nil || err == ErrClosed {
			err = ErrCloseTimeout
		}
	}
	var ce *CloseError
	if errors.As(err, &ce) && ce.Code != StatusAbnormalClosure {
		return nil // the peer answered
	}
	return err
}

// CloseNow closes the transport at once, without a closing handshake
// (pull mode): a Next in progress returns, and every later Next returns
// the error that ended the connection. Safe from any goroutine.
func (c *NetConn) CloseNow() error {
	ps := c.pull
	if ps == nil {
		return ErrNotPull
	}
	c.finishPull()
	if ps.readMu.TryLock() {
		// Nobody reads: end the state machine here. A reader in progress
		// ends it itself, its read failing.
		c.mu.Lock()
		if ps.err == nil {
			c.proto.Abort()
			ps.err = ErrClosed
		}
		c.mu.Unlock()
		ps.readMu.Unlock()
	}
	return nil
}

// Done returns a channel closed once the connection has ended and its
// transport is closed (pull mode; nil otherwise).
func (c *NetConn) Done() <-chan struct{} {
	if c.pull == nil {
		return nil
	}
	return c.pull.done
}

// ReserveBudget takes n bytes of the connection's budget (Config.Budget,
// the Upgrader's) for a message the application assembles from Next's
// pieces (pull mode), as the state machine does for the messages it
// assembles. When the budget is spent the connection is failed with 1008
// (ErrBudget), which ReserveBudget returns, and nothing is taken. Give the
// bytes back with ReleaseBudget once the message is done.
func (c *NetConn) ReserveBudget(n int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proto.cfg.Budget.Reserve(n) {
		return nil
	}
	if c.pull == nil || c.pull.err != nil {
		return ErrBudget
	}
	c.proto.Fail(ErrBudget.Code, ErrBudget.Msg)
	c.flushLocked()
	return c.endPull(ErrBudget)
}

// ReleaseBudget gives back n bytes taken with ReserveBudget.
func (c *NetConn) ReleaseBudget(n int64) { c.proto.cfg.Budget.Release(n) }
