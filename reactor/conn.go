package reactor

import (
	"bytes"
	"errors"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/tachyonws/tachyon/engine"
)

// ErrSlowReader is returned by a write to a connection whose peer does not
// read fast enough: its backlog passed Options.MaxOutbound, so it is being
// closed (1008) or dropped.
var ErrSlowReader = errors.New("reactor: outbound limit exceeded, connection closed")

type connState uint8

const (
	stateHandshake connState = iota
	stateOpen
	stateClosed
)

// scratchKeep is the largest pooled output buffer kept after use (writes
// made between wake-ups); larger ones go back to the runtime.
const scratchKeep = 64 << 10

var bufPool bytebufferpool.Pool

// conn is one connection. It is the engine.Socket handed to handlers.
//
// The loop owns the fields marked "loop". mu guards the state machine's
// writing side and the fields marked "mu"; state is written only on the
// loop, with mu held, so the loop may read it without the lock.
type conn struct {
	mu sync.Mutex

	srv  *Server
	lp   *loop
	gc   gnet.Conn
	addr net.Addr

	proto    *engine.Conn // nil until the handshake is done
	handler  engine.Handler
	protocol string
	groups   []*Group // loop

	obuf *bytebufferpool.ByteBuffer // mu: pooled output of writes made between wake-ups
	wq   *workQueue                 // the events waiting for a worker (Workers mode)

	closeBy  int64 // loop: before the upgrade, the handshake's deadline; after it, drop if the peer has not closed by then (0: no close pending)
	seen     int64 // loop: last bytes received
	lastData int64 // loop: last data message received or sent
	lastPing int64 // loop
	msgSince int64 // loop: when the message (or frame) now arriving began; 0 if none

	// Outbound judgement (loop): bytes handed to the socket so far, the
	// peer's acknowledged total at the last look, since when it has not
	// moved while the backlog is over MaxOutbound, the pongs owed, and the
	// budget reserved for the bytes held in gnet's inbound buffer.
	wrote      int64
	ackMark    int64
	stallSince int64
	pongMark   int64
	owed       int32
	heldRes    int32
	pausedN    int32 // its input waiting, as counted in srv.waiting
	dropped    int32 // bytes read and dropped since it was given up
	graces     int8  // extra CloseTimeouts given to a given-up peer that reads
	paused     bool  // its input waits until it reads again
	given      bool  // given up as a slow reader (giveUp); c.slow is its twin under mu
	shut       bool  // given up: our write side is shut once the close frame is out

	idx     int32 // loop: place in lp.conns
	held    int32 // loop: bytes left in gnet's inbound buffer
	scanned int32 // loop: handshake bytes already searched for the end
	nOut    int32 // mu: data messages written since the last flush

	state     connState // mu (written on the loop)
	queued    bool      // mu: a flush is queued
	inTraffic bool      // mu: the loop is serving this connection; it flushes at the end
	lent      bool      // mu: the output buffer is the loop's scratch
	slow      bool      // mu: closing as a slow reader
	opening   bool      // mu: the 101 waits for OnOpen on a worker
	panicked  bool      // mu: a handler panicked
}

// WriteMessage sends a text or binary message. It is safe from any
// goroutine; the payload is copied before it returns. On the loop the
// message goes out with the other writes of the same wake-up; from other
// goroutines it is queued to the loop, which sends queued writes in
// batches. It returns engine.ErrClosed once the connection is closing,
// and ErrSlowReader once it is being closed as a slow reader (see
// Options.MaxOutbound).
func (c *conn) WriteMessage(op engine.OpCode, payload []byte) error {
	c.mu.Lock()
	if err := c.admit(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.prepareOut()
	err := c.proto.WriteMessage(op, payload)
	if err == nil {
		c.nOut++
	}
	c.scheduleLocked()
	c.mu.Unlock()
	return err
}

// WritePing sends a ping with up to 125 bytes of payload.
func (c *conn) WritePing(payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen {
		return engine.ErrClosed
	}
	c.prepareOut()
	err := c.proto.WritePing(payload)
	c.scheduleLocked()
	return err
}

// Close starts the closing handshake; the connection is dropped if the
// peer has not answered within Options.CloseTimeout. It is idempotent.
func (c *conn) Close(code engine.StatusCode, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen || c.proto.CloseSent() {
		return nil
	}
	c.prepareOut()
	err := c.proto.Close(code, reason)
	c.scheduleLocked()
	return err
}

// Subprotocol returns the subprotocol chosen in the handshake, or "".
func (c *conn) Subprotocol() string { return c.protocol }

// Deflate returns the permessage-deflate agreement of the handshake. It
// is set before OnOpen and never changes.
func (c *conn) Deflate() engine.Deflate { return c.proto.Deflate() }

// RemoteAddr returns the peer's address.
func (c *conn) RemoteAddr() net.Addr { return c.addr }

// admit checks, with mu held, that a data message may be queued. Output
// queued faster than the loop sends it (writes from other goroutines) is
// bounded here; gnet's backlog, which only the loop can read, is checked by
// the flush before anything more is written.
func (c *conn) admit() error {
	if c.state != stateOpen || c.proto.CloseSent() {
		if c.slow {
			return ErrSlowReader
		}
		return engine.ErrClosed
	}
	if len(c.proto.Output()) > c.srv.hardOut {
		c.markSlow()
		return ErrSlowReader
	}
	return nil
}

// markSlow, with mu held, gives up on a peer that does not read: what is
// queued is dropped, a close 1008 takes its place, and the flush drops the
// connection if even that cannot be sent.
func (c *conn) markSlow() {
	c.slow = true
	c.srv.st.slow.Add(1)
	out := c.proto.SwapOutput(nil)
	c.proto.SwapOutput(out[:0])
	c.nOut = 0
	_ = c.proto.Close(engine.StatusPolicyViolation, "slow reader")
	c.scheduleLocked()
}

// prepareOut, with mu held, gives a write made between wake-ups a pooled
// output buffer, returned after the flush.
func (c *conn) prepareOut() {
	if !c.lent && c.obuf == nil && len(c.proto.Output()) == 0 {
		bb := bufPool.Get()
		c.proto.SwapOutput(bb.B[:0])
		c.obuf = bb
	}
}

// scheduleLocked, with mu held, makes sure the loop flushes the output:
// it does anyway at the end of the wake-up that is serving the connection;
// otherwise a flush is queued, once.
func (c *conn) scheduleLocked() {
	if !c.inTraffic && !c.queued {
		c.queued = true
		c.lp.push(item{kind: itemFlush, c: c})
	}
}

// flushLocked runs on the loop with mu held and releases it: the queued
// output goes to gnet in one write.
func (c *conn) flushLocked() {
	lp := c.lp
	if c.opening {
		c.holdOutput()
		c.mu.Unlock()
		return
	}
	var out []byte
	closing := false
	pongs := 0
	if c.proto != nil {
		out = c.proto.SwapOutput(nil)
		closing = c.proto.CloseSent()
		pongs = c.proto.TakePongs()
	}
	bb, lent, slow, state := c.obuf, c.lent, c.slow, c.state
	c.obuf, c.lent = nil, false
	nOut := c.nOut
	c.nOut = 0
	c.mu.Unlock()

	if nOut > 0 {
		lp.msgsOut.Add(uint64(nOut))
		c.lastData = lp.clock
	}
	if state != stateClosed && len(out) > 0 {
		c.send(out, slow, pongs)
	}
	if closing && c.closeBy == 0 {
		c.closeBy = lp.clock + c.srv.clTimeout
	}
	switch {
	case bb != nil:
		bb.B = out // with its length: see putBuf
		putBuf(bb)
	case lent:
		lp.keepScratch(out)
	}
}

// putBuf returns an output buffer to the pool, unless it grew large (a
// big message written from another goroutine): that memory goes back to
// the runtime instead of staying pooled. bb.B keeps the length it was used
// to: bytebufferpool learns from those lengths which capacities to keep
// (it resets the buffer itself), and buffers handed back empty would teach
// it to keep none over 64 bytes.
func putBuf(bb *bytebufferpool.ByteBuffer) {
	if cap(bb.B) <= scratchKeep {
		bufPool.Put(bb)
	}
}

// send writes p on the loop, unless the peer is to be given up as a slow
// reader (see judge) or owes too many pongs; then what was due is dropped
// and a close 1008 goes out instead. pongs is how many pongs p holds. It
// reports whether p was written (a write error may still close the
// connection).
func (c *conn) send(p []byte, slow bool, pongs int) bool {
	backlog := c.gc.OutboundBuffered()
	if !slow {
		reason := c.judge(backlog, len(p))
		if reason == "" && pongs > 0 && c.owe(backlog, pongs) {
			reason = engine.ErrTooManyPings.Msg
		}
		if reason != "" {
			c.giveUp(reason)
			return false
		}
	}
	c.lp.bytesOut.Add(uint64(len(p)))
	c.wrote += int64(len(p))
	c.write(p, backlog == 0)
	return true
}

// The input of a peer that takes nothing of a backlog over MaxOutbound
// waits (see waits): once the stall has lasted pauseAfter, up to
// pausedMax bytes; before, up to the largest message (a fast reader caught
// for a moment may be sending one).
const (
	pauseAfter = int64(100 * time.Millisecond)
	// pausedMax was 1 MiB: 100 stalled peers flooding 16 KiB messages
	// then took the server to 190–300 MiB, most of it their input copied
	// into gnet's growing buffers; at 256 KiB, 80–100 MiB.
	pausedMax = 256 << 10
	// givenUpMax is what a given-up peer may still send (dropped unread)
	// while it has CloseTimeout to take its close frame: more, and it is
	// dropped at once, so a flooder costs the loop no more reads.
	givenUpMax = 64 << 10
	// waitingShared bounds the stalled peers' waiting input, together,
	// beyond which none of them has more than pausedMax.
	waitingShared = 32 << 20
)

// setPaused notes that n bytes of input wait for the peer to read again.
func (c *conn) setPaused(n int) {
	c.paused = true
	c.srv.waiting.Add(int64(n) - int64(c.pausedN))
	c.pausedN = int32(n)
}

// unpause ends the wait: the input is served (or dropped).
func (c *conn) unpause() {
	if c.paused {
		c.paused = false
		c.srv.waiting.Add(-int64(c.pausedN))
		c.pausedN = 0
	}
}

// judge decides, on the loop, whether due more bytes may go to a peer that
// has backlog bytes waiting in gnet: "" when they may, else the reason to
// give the peer up. A backlog over MaxOutbound is fine while the peer keeps
// taking bytes (a fast reader of a large message); one that stays there
// with the peer taking nothing for CloseTimeout is a slow reader, and
// nothing may pass the hard cap, MaxOutbound plus the largest message.
func (c *conn) judge(backlog, due int) string {
	if backlog+due > c.srv.hardOut {
		return "slow reader"
	}
	if backlog <= c.srv.opts.MaxOutbound {
		c.stallSince = 0
		return ""
	}
	now := time.Now().UnixNano() // only on this rare path
	if c.progress(backlog, now) {
		return ""
	}
	if now-c.stallSince > c.srv.clTimeout {
		return "slow reader"
	}
	return ""
}

// stalled reports whether the peer has taken nothing of a backlog over
// MaxOutbound for pauseAfter: its waiting input is then held to pausedMax.
func (c *conn) stalled() bool {
	return c.stallSince != 0 && time.Now().UnixNano()-c.stallSince >= pauseAfter
}

// progress reports whether the peer has taken bytes since the last look
// (how many of the bytes written so far it has taken into its receive
// buffer: written, less gnet's backlog, less what the kernel holds
// unacknowledged), or has taken all the kernel had (then the wait is on
// our side: gnet writes a large backlog a chunk per turn). When it has
// not, the stall is timed from the first look that saw none.
func (c *conn) progress(backlog int, now int64) bool {
	k := kernelUnacked(c.gc.Fd())
	if a := c.wrote - int64(backlog) - int64(max(k, 0)); a > c.ackMark || k == 0 {
		c.ackMark = a
		c.stallSince = 0
		return true
	}
	if c.stallSince == 0 {
		c.stallSince = now
	}
	return false
}

// owe counts pongs about to be written (before they are) and reports
// whether the peer owes too many: pongs queued while it has taken nothing
// since the last ones, with bytes of ours still unacknowledged. A peer that
// pings and reads is never held to it.
func (c *conn) owe(backlog, pongs int) bool {
	k := max(kernelUnacked(c.gc.Fd()), 0)
	if backlog+k == 0 {
		c.owed = 0
		return false
	}
	if a := c.wrote - int64(backlog) - int64(k); a > c.pongMark {
		c.pongMark = a
		c.owed = 0
	}
	c.owed += int32(pongs)
	return c.owed > engine.MaxPongsOwed
}

// giveUp closes a peer that does not read, on the loop: what is queued is
// dropped, the handler hears 1008 with reason, a close frame 1008 goes out
// behind the backlog, what the peer sends is dropped unread, and the
// transport is dropped once the peer has had CloseTimeout to take it
// (up to four times that while it is seen reading; sooner if it closes, or
// if it sends more than givenUpMax meanwhile: a peer that sends and does
// not read gets no more of the loop's time).
func (c *conn) giveUp(reason string) {
	c.mu.Lock()
	if c.slow || c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.slow = true
	c.given = true
	c.unpause()
	c.srv.st.slow.Add(1)
	out := c.proto.SwapOutput(nil)
	c.proto.SwapOutput(out[:0])
	c.nOut = 0
	c.proto.Fail(engine.StatusPolicyViolation, reason)
	c.flushLocked()
	if c.closeBy == 0 {
		c.closeBy = c.lp.clock + c.srv.clTimeout
	}
}

// watch, at a tick, looks at a connection over MaxOutbound: it gives up
// one that has taken nothing for too long, and serves the waiting input of
// one that reads again.
func (c *conn) watch() {
	if reason := c.judge(c.gc.OutboundBuffered(), 0); reason != "" {
		c.giveUp(reason)
		return
	}
	if c.paused && !c.stalled() {
		c.unpause()
		_ = c.gc.Wake(nil) // OnTraffic serves what waited
	}
}

// holdOutput, with mu held, keeps the queued output while the 101 waits
// for OnOpen on a worker: output lent from the loop is copied to a pooled
// buffer of the connection's own.
func (c *conn) holdOutput() {
	if !c.lent {
		return
	}
	out := c.proto.SwapOutput(nil)
	bb := bufPool.Get()
	bb.B = append(bb.B[:0], out...)
	c.proto.SwapOutput(bb.B)
	c.obuf, c.lent = bb, false
	c.lp.keepScratch(out)
}

// writeFrames writes the messages of a run of broadcasts, each encoded
// once, on the loop, behind whatever output is queued: for each its frame,
// or the frame compressed once for the connection's window size. The
// frames leave in one write: appended to the queued output when there is
// some, else handed to the socket where they lie, with one writev (no
// copy). It returns how many messages were written.
func (c *conn) writeFrames(run []item) int {
	c.mu.Lock()
	if err := c.admit(); err != nil {
		c.mu.Unlock()
		return 0
	}
	lp := c.lp
	frames, total := lp.frames[:0], 0
	for i := range run {
		frame, err := c.proto.FrameFor(run[i].prep)
		if err != nil { // no budget for the connection's window
			clear(frames)
			c.mu.Unlock()
			c.failWith(engine.CloseStatus(err), "memory budget")
			return 0
		}
		frames = append(frames, frame)
		total += len(frame)
	}
	lp.frames = frames
	defer clear(frames) // the frames belong to their Prepared: not kept alive here
	if c.obuf != nil || len(c.proto.Output()) > 0 {
		out := c.proto.SwapOutput(nil)
		for _, f := range frames {
			out = append(out, f...)
		}
		c.proto.SwapOutput(out)
		c.flushLocked()
		return len(run)
	}
	slow := c.slow
	c.mu.Unlock()
	if len(frames) == 1 {
		if !c.send(frames[0], slow, 0) {
			return 0
		}
	} else if !c.sendv(frames, total, slow) {
		return 0
	}
	c.lastData = lp.clock
	return len(run)
}

// sendv is send for several frames of total bytes, written with one
// writev.
func (c *conn) sendv(frames [][]byte, total int, slow bool) bool {
	backlog := c.gc.OutboundBuffered()
	if !slow {
		if reason := c.judge(backlog, total); reason != "" {
			c.giveUp(reason)
			return false
		}
	}
	c.lp.bytesOut.Add(uint64(total))
	c.wrote += int64(total)
	c.writev(frames, total, backlog == 0)
	return true
}

// closeWith starts the closing handshake on the loop (timeouts, shutdown,
// CloseAll); a connection still in its handshake is simply closed.
func (c *conn) closeWith(code engine.StatusCode, reason string) {
	c.mu.Lock()
	switch {
	case c.state == stateClosed:
		c.mu.Unlock()
	case c.proto == nil:
		c.mu.Unlock()
		c.drop()
	default:
		if !c.proto.CloseSent() {
			_ = c.proto.Close(code, reason)
		}
		c.flushLocked()
	}
}

// failWith ends the connection on the loop for a reason of the server's (a
// time limit, the budget): the close frame goes out with code and reason,
// the handler hears code, and the transport is closed.
func (c *conn) failWith(code engine.StatusCode, reason string) {
	c.mu.Lock()
	if c.state != stateOpen || c.proto.Ended() {
		c.mu.Unlock()
		return
	}
	c.proto.Fail(code, reason)
	c.flushLocked()
	c.drop()
}

// ping sends a heartbeat ping, on the loop.
func (c *conn) ping() {
	c.mu.Lock()
	if c.state != stateOpen || c.proto.CloseSent() {
		c.mu.Unlock()
		return
	}
	_ = c.proto.WritePing(nil)
	c.flushLocked()
}

// drop closes the transport at once, on the loop; the handler sees 1006
// unless the close handshake was done.
func (c *conn) drop() {
	c.closeBy = 0
	if c.state != stateClosed {
		_ = c.lp.el.Close(c.gc)
	}
}

var timeoutResponse = plainResponse(nil, 408, "handshake timeout\n", nil)

// handshakeTimeout answers 408 to a request that did not arrive in time.
func (c *conn) handshakeTimeout() {
	c.srv.st.handshakeFailed(408)
	c.lp.bytesOut.Add(uint64(len(timeoutResponse)))
	_, _ = c.gc.Write(timeoutResponse)
	c.drop()
	c.closeBy = 1<<63 - 1 // answered once
}

// closed runs on the loop when gnet has closed the connection.
func (c *conn) closed() {
	c.mu.Lock()
	c.state = stateClosed
	if c.proto != nil && !c.proto.Ended() {
		c.proto.Abort() // OnClose(1006)
	}
	var out []byte
	if c.proto != nil {
		out = c.proto.SwapOutput(nil)
	}
	bb := c.obuf
	c.obuf = nil
	c.mu.Unlock()
	if bb != nil {
		bb.B = out[:0]
		putBuf(bb)
	}
	lp := c.lp
	c.srv.budget.Release(int64(c.heldRes))
	c.heldRes = 0
	if c.given || c.paused {
		// Its backlog goes back to gnet's pools: let the runtime hand
		// that memory back once such peers are gone.
		c.srv.budget.Freed(int64(c.gc.OutboundBuffered() + c.gc.InboundBuffered()))
	}
	c.unpause()
	lp.remove(c)
	for len(c.groups) > 0 {
		c.groups[len(c.groups)-1].leave(lp, c)
	}
	c.srv.open.Add(-1)
}

// handshake serves the bytes of a connection that is not upgraded yet.
func (c *conn) handshake(buf []byte) gnet.Action {
	s, lp := c.srv, c.lp
	limit := s.opts.Handshake.MaxHeaderBytes
	if limit <= 0 {
		limit = engine.DefaultMaxHeaderBytes
	}
	// A request trickled in small pieces is searched for its end only in
	// what is new, not parsed again at every byte.
	if !headerEnd(buf, int(c.scanned)) && len(buf) <= limit {
		c.scanned = int32(len(buf))
		c.held = int32(len(buf))
		return gnet.None
	}
	if s.opts.Fallback != nil {
		if n, err := engine.ParseRequestLimit(buf, &lp.req, limit); err == nil && n > 0 && !isUpgrade(&lp.req) {
			resp := appendResponse(lp.scratch[:0], s.opts.Fallback(&lp.req))
			s.st.fallbacks.Add(1) // counted before the answer leaves
			lp.bytesOut.Add(uint64(len(resp)))
			_, _ = c.gc.Write(resp)
			lp.keepScratch(resp)
			return gnet.Close
		}
	}
	resp, n, protocol, err := s.opts.Handshake.Handshake(lp.scratch[:0], buf, &lp.req)
	if err == nil && n == 0 {
		c.scanned = int32(len(buf))
		c.held = int32(len(buf))
		return gnet.None
	}
	h := s.opts.Handler
	if err == nil && s.opts.Route != nil {
		if h = s.opts.Route(&lp.req); h == nil {
			err = errNotFound
			resp = engine.AppendReject(lp.scratch[:0], 404, nil, "not found\n")
		}
	}
	if err != nil {
		s.st.handshakeFailed(errStatus(err))
		lp.bytesOut.Add(uint64(len(resp)))
		_, _ = c.gc.Write(resp)
		lp.keepScratch(resp)
		return gnet.Close
	}
	if len(protocol) > 0 {
		c.protocol = string(protocol)
	}
	_, _ = c.gc.Discard(n)
	cfg := s.opts.Conn
	cfg.Deflate = lp.req.Deflate()
	proto := engine.NewConn(engine.RoleServer, (*events)(c), cfg)
	// The 101 is the first output of the connection: it leaves with the
	// first flush, after OnOpen has run (and the groups it joined took it
	// in), so a client that has its 101 receives every broadcast made
	// after it.
	proto.SwapOutput(resp)
	lp.scratch = nil
	c.mu.Lock()
	c.proto = proto
	c.handler = h
	c.state = stateOpen
	c.closeBy = 0 // the handshake's deadline is met
	c.lent = true
	c.opening = s.workers != nil
	c.mu.Unlock()
	c.lastData, c.lastPing = lp.clock, lp.clock
	s.st.upgrades.Add(1)
	rest, _ := c.gc.Peek(-1)
	return c.traffic(rest, true)
}

var errNotFound = &engine.HandshakeError{Status: 404, Msg: "not found"}

// headerEnd reports whether buf holds the end of a header block (an empty
// line), searching from a little before from.
func headerEnd(buf []byte, from int) bool {
	from = max(from-3, 0)
	if from >= len(buf) {
		return false
	}
	tail := buf[from:]
	return bytes.Contains(tail, []byte("\n\r\n")) || bytes.Contains(tail, []byte("\n\n"))
}

// isUpgrade reports whether the request asks for a WebSocket upgrade at
// all; the handshake's checks decide whether it is a valid one.
func isUpgrade(r *engine.Request) bool {
	return r.Upgrade != nil || r.Key != nil || r.Version != nil
}

// waits reports, before the input of an upgraded connection is looked at
// (n bytes of it are buffered), whether it is to be left alone: dropped
// unread when the peer was given up as a slow reader, or left waiting while
// the peer takes nothing of a backlog over MaxOutbound, until it reads
// again (the tick looks) or is given up. It never copies the input.
func (c *conn) waits(n int) bool {
	if c.given {
		_, _ = c.gc.Discard(-1)
		c.held = 0
		c.dropped += int32(min(n, givenUpMax+1))
		return true
	}
	backlog := c.gc.OutboundBuffered()
	if backlog <= c.srv.opts.MaxOutbound {
		return false
	}
	if reason := c.judge(backlog, 0); reason != "" {
		c.giveUp(reason)
		_, _ = c.gc.Discard(-1)
		c.held = 0
		return true
	}
	if c.stallSince == 0 {
		return false
	}
	c.held = int32(n)
	c.setPaused(n)
	// The allowance of a fresh stall (a message's worth) is shared: when
	// stalled peers' waiting input adds up past waitingShared (many peers
	// that do not read, an attack), the pausedMax bound applies at once.
	if n > c.srv.hardIn || n > pausedMax && (c.stalled() || c.srv.waiting.Load() > waitingShared) {
		c.giveUp("slow reader")
		_, _ = c.gc.Discard(-1)
		c.held = 0
	}
	return true
}

// traffic serves an upgraded connection's inbound bytes: every complete
// frame is decoded in place and handed to the handler, partial frames stay
// in gnet's buffer, and everything written meanwhile leaves in one write.
func (c *conn) traffic(buf []byte, opening bool) gnet.Action {
	lp := c.lp
	c.unpause()
	c.mu.Lock()
	c.inTraffic = true
	if c.obuf == nil && len(c.proto.Output()) == 0 && !c.lent {
		c.proto.SwapOutput(lp.scratch[:0])
		lp.scratch = nil
		c.lent = true
	}
	if opening {
		(*events)(c).open()
	}
	n, err := c.proto.Feed(buf)
	if n > 0 {
		_, _ = c.gc.Discard(n)
	}
	c.held = int32(len(buf) - n)
	if c.held > 0 || c.proto.InMessage() {
		if c.msgSince == 0 {
			c.msgSince = lp.clock
		}
	} else {
		c.msgSince = 0
	}
	if c.panicked && err == nil && !c.proto.CloseSent() {
		_ = c.proto.Close(engine.StatusInternalError, "internal error")
	}
	c.inTraffic = false
	if lp.nIn > 0 {
		lp.msgsIn.Add(lp.nIn)
		lp.nIn = 0
	}
	c.flushLocked()
	if err != nil || c.state == stateClosed {
		return gnet.Close
	}
	return gnet.None
}

// events is the connection as the state machine's engine.Events: it runs
// on the loop inside Feed, with mu held, and releases mu around the
// application's handler so that the handler (or anyone) can write.
type events conn

func (e *events) open() {
	c := (*conn)(e)
	if c.srv.workers != nil {
		c.enqueue(evOpen, 0, nil, 0)
		return
	}
	c.mu.Unlock()
	defer c.relock()
	c.handler.OnOpen(c)
}

func (e *events) OnMessage(op engine.OpCode, p []byte) {
	c := (*conn)(e)
	c.lp.nIn++
	c.lastData = c.lp.clock
	if c.panicked {
		return
	}
	if c.srv.workers != nil {
		c.enqueue(evMessage, op, p, 0)
		return
	}
	c.mu.Unlock()
	defer c.relock()
	c.handler.OnMessage(c, op, p)
}

func (e *events) OnFragment(engine.OpCode, []byte, bool) {}

func (e *events) OnPing(p []byte) {
	c := (*conn)(e)
	ph := c.pingHandler()
	if ph == nil || c.panicked {
		return
	}
	if c.srv.workers != nil {
		c.enqueue(evPing, 0, p, 0)
		return
	}
	c.mu.Unlock()
	defer c.relock()
	ph.OnPing(c, p)
}

func (e *events) OnPong(p []byte) {
	c := (*conn)(e)
	ph := c.pingHandler()
	if ph == nil || c.panicked {
		return
	}
	if c.srv.workers != nil {
		c.enqueue(evPong, 0, p, 0)
		return
	}
	c.mu.Unlock()
	defer c.relock()
	ph.OnPong(c, p)
}

// pingHandler returns the handler as an engine.PingHandler, or nil (asked
// per ping and pong rather than kept: an idle connection holds less).
func (c *conn) pingHandler() engine.PingHandler {
	ph, _ := c.handler.(engine.PingHandler)
	return ph
}

func (e *events) OnClose(code engine.StatusCode, reason []byte) {
	c := (*conn)(e)
	c.srv.st.closed(code)
	if c.srv.workers != nil {
		c.enqueue(evClose, 0, reason, code)
		return
	}
	c.mu.Unlock()
	defer c.relock()
	c.handler.OnClose(c, code, string(reason))
}

// relock retakes mu after a handler call; a handler that panicked is
// logged and its connection closed with 1011 once the read is done.
func (c *conn) relock() {
	if r := recover(); r != nil {
		c.srv.opts.ErrorLog.Printf("reactor: handler panic: %v\n%s", r, debug.Stack())
		c.mu.Lock()
		c.panicked = true
		return
	}
	c.mu.Lock()
}
