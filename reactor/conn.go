package reactor

import (
	"bytes"
	"errors"
	"net"
	"runtime/debug"
	"strings"
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

	lp *loop // its loop (lp.srv: its server)
	gc gnet.Conn

	proto   *engine.Conn // mu: nil until the handshake is done, and while the connection rests (see rest)
	handler engine.Handler
	x       *connExtra // what few connections need; set with mu held, on the loop

	obuf *bytebufferpool.ByteBuffer // mu: pooled output of writes made between wake-ups
	wq   *workQueue                 // the events waiting for a worker (Workers mode)

	closeBy  int64 // loop: before the upgrade, the handshake's deadline; after it, drop if the peer has not closed by then (0: no close pending)
	seen     int64 // loop: last bytes received
	lastData int64 // loop: last data message received or sent
	lastPing int64 // loop
	msgSince int64 // loop: when the message (or frame) now arriving began; 0 if none

	idx     int32 // loop: place in lp.conns
	held    int32 // loop: bytes left in gnet's inbound buffer (before the upgrade: the request's bytes already searched for its end)
	heldRes int32 // loop: the budget reserved for the bytes held
	nOut    int32 // mu: data messages written since the last flush

	state     connState // mu (written on the loop)
	queued    bool      // mu: a flush is queued
	inTraffic bool      // mu: the loop is serving this connection; it flushes at the end
	lent      bool      // mu: the output buffer is the loop's scratch
	slow      bool      // mu: closing as a slow reader
	opening   bool      // mu: the 101 waits for OnOpen on a worker
	panicked  bool      // mu: a handler panicked
}

// connExtra is the part of a connection that most connections never need,
// allocated by the first that does: its subprotocol or deflate agreement,
// its groups, its address once closed, and the judgement of a slow reader.
type connExtra struct {
	protocol string         // set before OnOpen, never changed
	deflate  engine.Deflate // the permessage-deflate agreement: set before OnOpen, never changed
	addr     net.Addr       // mu: the peer's address, kept as the connection closes (gnet's is gone then)
	groups   []*Group       // loop
	j        *judgement     // loop: nil until the judgement begins
}

// judgement is the state of the judgement of a peer whose backlog went
// over MaxOutbound (or that owes pongs), and then given up (loop): bytes
// handed to the socket since the judgement began (counted from the backlog
// it found then: only differences matter), the peer's acknowledged total
// at the last look, since when it has not moved while the backlog is over
// MaxOutbound, and the pongs owed.
type judgement struct {
	wrote      int64
	ackMark    int64
	stallSince int64
	pongMark   int64
	owed       int32
	pausedN    int32 // its input waiting, as counted in srv.waiting
	dropped    int32 // bytes read and dropped since it was given up
	graces     int8  // extra CloseTimeouts given to a given-up peer that reads
	paused     bool  // its input waits until it reads again
	given      bool  // given up as a slow reader (giveUp); c.slow is its twin under mu
	shut       bool  // given up: our write side is shut once the close frame is out
}

// extra returns the connection's connExtra, allocating it on first use.
// It runs on the loop, without mu held (mu guards the pointer for
// Subprotocol).
func (c *conn) extra() *connExtra {
	if c.x == nil {
		x := new(connExtra)
		c.mu.Lock()
		c.x = x
		c.mu.Unlock()
	}
	return c.x
}

// jdg returns the judgement, or nil if it has not begun.
func (c *conn) jdg() *judgement {
	if c.x == nil {
		return nil
	}
	return c.x.j
}

// judging returns the judgement and whether it began with this call:
// wrote then starts at what the peer has not taken yet, backlog (gnet's)
// plus what the kernel holds unacknowledged, so that the peer's progress
// counts from zero.
func (c *conn) judging(backlog int) (*judgement, bool) {
	x := c.extra()
	if x.j != nil {
		return x.j, false
	}
	x.j = &judgement{wrote: int64(backlog) + int64(max(kernelUnacked(c.gc.Fd()), 0))}
	return x.j, true
}

// given reports whether the peer was given up as a slow reader.
func (c *conn) given() bool { j := c.jdg(); return j != nil && j.given }

// paused reports whether its input waits until it reads again.
func (c *conn) paused() bool { j := c.jdg(); return j != nil && j.paused }

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
	c.wake()
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
	if c.state != stateOpen {
		return nil
	}
	c.wake()
	if c.proto.CloseSent() {
		return nil
	}
	c.prepareOut()
	err := c.proto.Close(code, reason)
	c.scheduleLocked()
	return err
}

// Subprotocol returns the subprotocol chosen in the handshake, or "".
func (c *conn) Subprotocol() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.x == nil {
		return ""
	}
	return c.x.protocol
}

// Deflate returns the permessage-deflate agreement of the handshake. It
// is set before OnOpen and never changes.
func (c *conn) Deflate() engine.Deflate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.x == nil {
		return engine.Deflate{}
	}
	return c.x.deflate
}

// RemoteAddr returns the peer's address: gnet's until the connection
// closes (gnet lets it go only after OnClose), then the copy closed kept.
func (c *conn) RemoteAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateClosed {
		return c.gc.RemoteAddr()
	}
	if c.x == nil {
		return nil
	}
	return c.x.addr
}

// admit checks, with mu held, that a data message may be queued. Output
// queued faster than the loop sends it (writes from other goroutines) is
// bounded here; gnet's backlog, which only the loop can read, is checked by
// the flush before anything more is written.
func (c *conn) admit() error {
	if c.state == stateOpen {
		c.wake()
	}
	if c.state != stateOpen || c.proto.CloseSent() {
		if c.slow {
			return ErrSlowReader
		}
		return engine.ErrClosed
	}
	if len(c.proto.Output()) > c.lp.srv.hardOut {
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
	c.lp.srv.st.slow.Add(1)
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
	c.rest()
	c.mu.Unlock()

	if nOut > 0 {
		lp.msgsOut.Add(uint64(nOut))
		c.lastData = lp.clock
	}
	if state != stateClosed && len(out) > 0 {
		c.send(out, slow, pongs)
	}
	if closing && c.closeBy == 0 {
		c.closeBy = lp.clock + c.lp.srv.clTimeout
	}
	switch {
	case bb != nil:
		bb.B = out // with its length: see putBuf
		putBuf(bb)
	case lent:
		lp.keepScratch(out)
	}
}

// resting holds the state machines of connections at rest, for the
// connections that wake (any server's: Reset configures them).
var resting = sync.Pool{New: func() any { return new(engine.Conn) }}

// rest, on the loop with mu held, puts away the state machine of an open
// connection that holds nothing but its configuration (engine.Conn.Resting):
// an idle connection keeps none. wake gives it a fresh one when it reads or
// writes again.
func (c *conn) rest() {
	p := c.proto
	if p == nil || c.state != stateOpen || c.inTraffic || c.opening || c.obuf != nil || !p.Resting() {
		return
	}
	c.proto = nil
	*p = engine.Conn{} // holds nothing of this connection
	resting.Put(p)
}

// wake, with mu held, gives an open connection that rests a state machine
// again, as the handshake made it.
func (c *conn) wake() {
	if c.proto != nil {
		return
	}
	cfg := c.lp.srv.opts.Conn
	if c.x != nil {
		cfg.Deflate = c.x.deflate
	}
	p := resting.Get().(*engine.Conn)
	p.Reset(engine.RoleServer, (*events)(c), cfg)
	c.proto = p
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
	if j := c.jdg(); j != nil {
		j.wrote += int64(len(p))
	}
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
	j, _ := c.judging(c.gc.OutboundBuffered()) // begun already, by waits
	j.paused = true
	c.lp.srv.waiting.Add(int64(n) - int64(j.pausedN))
	j.pausedN = int32(n)
}

// unpause ends the wait: the input is served (or dropped).
func (c *conn) unpause() {
	if j := c.jdg(); j != nil && j.paused {
		j.paused = false
		c.lp.srv.waiting.Add(-int64(j.pausedN))
		j.pausedN = 0
	}
}

// judge decides, on the loop, whether due more bytes may go to a peer that
// has backlog bytes waiting in gnet: "" when they may, else the reason to
// give the peer up. A backlog over MaxOutbound is fine while the peer keeps
// taking bytes (a fast reader of a large message); one that stays there
// with the peer taking nothing for CloseTimeout is a slow reader, and
// nothing may pass the hard cap, MaxOutbound plus the largest message.
func (c *conn) judge(backlog, due int) string {
	if backlog+due > c.lp.srv.hardOut {
		return "slow reader"
	}
	if backlog <= c.lp.srv.opts.MaxOutbound {
		if j := c.jdg(); j != nil {
			j.stallSince = 0
		}
		return ""
	}
	now := time.Now().UnixNano() // only on this rare path
	if c.progress(backlog, now) {
		return ""
	}
	if now-c.jdg().stallSince > c.lp.srv.clTimeout {
		return "slow reader"
	}
	return ""
}

// stalled reports whether the peer has taken nothing of a backlog over
// MaxOutbound for pauseAfter: its waiting input is then held to pausedMax.
func (c *conn) stalled() bool {
	j := c.jdg()
	return j != nil && j.stallSince != 0 && time.Now().UnixNano()-j.stallSince >= pauseAfter
}

// progress reports whether the peer has taken bytes since the last look
// (how many of the bytes written so far it has taken into its receive
// buffer: written, less gnet's backlog, less what the kernel holds
// unacknowledged), or has taken all the kernel had (then the wait is on
// our side: gnet writes a large backlog a chunk per turn). When it has
// not, the stall is timed from the first look that saw none.
func (c *conn) progress(backlog int, now int64) bool {
	j, began := c.judging(backlog)
	if began {
		// The first look, as the backlog first passes MaxOutbound (or the
		// peer is given up): the stall is timed from the next look that
		// finds no progress.
		j.stallSince = 0
		return true
	}
	k := kernelUnacked(c.gc.Fd())
	if a := j.wrote - int64(backlog) - int64(max(k, 0)); a > j.ackMark || k == 0 {
		j.ackMark = a
		j.stallSince = 0
		return true
	}
	if j.stallSince == 0 {
		j.stallSince = now
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
		if j := c.jdg(); j != nil {
			j.owed = 0
		}
		return false
	}
	j, _ := c.judging(backlog)
	if a := j.wrote - int64(backlog) - int64(k); a > j.pongMark {
		j.pongMark = a
		j.owed = 0
	}
	j.owed += int32(pongs)
	return j.owed > engine.MaxPongsOwed
}

// giveUp closes a peer that does not read, on the loop: what is queued is
// dropped, the handler hears 1008 with reason, a close frame 1008 goes out
// behind the backlog, what the peer sends is dropped unread, and the
// transport is dropped once the peer has had CloseTimeout to take it
// (up to four times that while it is seen reading; sooner if it closes, or
// if it sends more than givenUpMax meanwhile: a peer that sends and does
// not read gets no more of the loop's time).
func (c *conn) giveUp(reason string) {
	j, _ := c.judging(c.gc.OutboundBuffered()) // progress is counted from here
	c.mu.Lock()
	if c.slow || c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.wake()
	c.slow = true
	j.given = true
	c.unpause()
	c.lp.srv.st.slow.Add(1)
	out := c.proto.SwapOutput(nil)
	c.proto.SwapOutput(out[:0])
	c.nOut = 0
	c.proto.Fail(engine.StatusPolicyViolation, reason)
	c.flushLocked()
	if c.closeBy == 0 {
		c.closeBy = c.lp.clock + c.lp.srv.clTimeout
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
	if c.paused() && !c.stalled() {
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
	lp := c.lp
	frames, total := lp.frames[:0], 0
	defer func() { clear(lp.frames) }() // the frames belong to their Prepared: not kept alive here
	c.mu.Lock()
	if c.proto == nil && c.state == stateOpen && (c.x == nil || !c.x.deflate.Enabled()) {
		// Resting, without compression: nothing is queued, no close is
		// sent, and the frames are the ones encoded once; no state
		// machine is needed to send them.
		for i := range run {
			f := run[i].prep.Frame()
			frames = append(frames, f)
			total += len(f)
		}
		lp.frames = frames
		slow := c.slow
		c.mu.Unlock()
		return c.sendFrames(frames, total, slow, len(run))
	}
	if err := c.admit(); err != nil {
		c.mu.Unlock()
		return 0
	}
	for i := range run {
		frame, err := c.proto.FrameFor(run[i].prep)
		if err != nil { // no budget for the connection's window
			lp.frames = frames
			c.mu.Unlock()
			c.failWith(engine.CloseStatus(err), "memory budget")
			return 0
		}
		frames = append(frames, frame)
		total += len(frame)
	}
	lp.frames = frames
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
	c.rest() // the frames are their Prepared's, not the state machine's
	c.mu.Unlock()
	return c.sendFrames(frames, total, slow, len(run))
}

// sendFrames sends the n messages of a run whose frames are frames (total
// bytes), with mu not held: one write, or one writev for several. It
// returns how many messages were written (n, or 0).
func (c *conn) sendFrames(frames [][]byte, total int, slow bool, n int) int {
	if len(frames) == 1 {
		if !c.send(frames[0], slow, 0) {
			return 0
		}
	} else if !c.sendv(frames, total, slow) {
		return 0
	}
	c.lastData = c.lp.clock
	return n
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
	if j := c.jdg(); j != nil {
		j.wrote += int64(total)
	}
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
	case c.state == stateHandshake:
		c.mu.Unlock()
		c.drop()
	default:
		c.wake()
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
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.wake()
	if c.proto.Ended() {
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
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.wake()
	if c.proto.CloseSent() {
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
	c.lp.srv.st.handshakeFailed(408)
	c.lp.bytesOut.Add(uint64(len(timeoutResponse)))
	_, _ = c.gc.Write(timeoutResponse)
	c.drop()
	c.closeBy = 1<<63 - 1 // answered once
}

// closed runs on the loop when gnet has closed the connection.
func (c *conn) closed() {
	c.mu.Lock()
	if c.state == stateOpen {
		// Handlers may still ask for the peer's address.
		if c.x == nil {
			c.x = new(connExtra)
		}
		c.x.addr = keepAddr(c.gc.RemoteAddr())
		c.wake()
	}
	c.state = stateClosed
	var out []byte
	if p := c.proto; p != nil {
		if !p.Ended() {
			p.Abort() // OnClose(1006)
		}
		out = p.SwapOutput(nil)
		// Nothing uses it once the state is closed: it serves another.
		c.proto = nil
		*p = engine.Conn{}
		resting.Put(p)
	}
	bb := c.obuf
	c.obuf = nil
	c.mu.Unlock()
	if bb != nil {
		bb.B = out[:0]
		putBuf(bb)
	}
	lp := c.lp
	c.lp.srv.budget.Release(int64(c.heldRes))
	c.heldRes = 0
	if c.given() || c.paused() {
		// Its backlog goes back to gnet's pools: let the runtime hand
		// that memory back once such peers are gone.
		c.lp.srv.budget.Freed(int64(c.gc.OutboundBuffered() + c.gc.InboundBuffered()))
	}
	c.unpause()
	lp.remove(c)
	for c.x != nil && len(c.x.groups) > 0 {
		c.x.groups[len(c.x.groups)-1].leave(lp, c)
	}
	c.lp.srv.open.Add(-1)
}

// keepAddr returns a copy of a gnet address that outlives its connection:
// gnet recycles the bytes of an IPv6 zone when the connection is released.
func keepAddr(a net.Addr) net.Addr {
	if ta, ok := a.(*net.TCPAddr); ok && ta.Zone != "" {
		cp := *ta
		cp.Zone = strings.Clone(ta.Zone)
		return &cp
	}
	return a
}

// handshake serves the bytes of a connection that is not upgraded yet.
func (c *conn) handshake(buf []byte) gnet.Action {
	s, lp := c.lp.srv, c.lp
	limit := s.opts.Handshake.MaxHeaderBytes
	if limit <= 0 {
		limit = engine.DefaultMaxHeaderBytes
	}
	// A request trickled in small pieces is searched for its end only in
	// what is new, not parsed again at every byte.
	if !headerEnd(buf, int(c.held)) && len(buf) <= limit {
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
	_, _ = c.gc.Discard(n)
	cfg := s.opts.Conn
	cfg.Deflate = lp.req.Deflate()
	var x *connExtra
	if len(protocol) > 0 || cfg.Deflate != (engine.Deflate{}) {
		x = &connExtra{protocol: string(protocol), deflate: cfg.Deflate}
	}
	proto := resting.Get().(*engine.Conn)
	proto.Reset(engine.RoleServer, (*events)(c), cfg)
	// The 101 is the first output of the connection: it leaves with the
	// first flush, after OnOpen has run (and the groups it joined took it
	// in), so a client that has its 101 receives every broadcast made
	// after it.
	proto.SwapOutput(resp)
	lp.scratch = nil
	c.mu.Lock()
	c.proto = proto
	c.handler = h
	if x != nil {
		c.x = x
	}
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
	if c.given() {
		_, _ = c.gc.Discard(-1)
		c.held = 0
		c.jdg().dropped += int32(min(n, givenUpMax+1))
		return true
	}
	backlog := c.gc.OutboundBuffered()
	if backlog <= c.lp.srv.opts.MaxOutbound {
		return false
	}
	if reason := c.judge(backlog, 0); reason != "" {
		c.giveUp(reason)
		_, _ = c.gc.Discard(-1)
		c.held = 0
		return true
	}
	if c.jdg().stallSince == 0 {
		return false
	}
	c.held = int32(n)
	c.setPaused(n)
	// The allowance of a fresh stall (a message's worth) is shared: when
	// stalled peers' waiting input adds up past waitingShared (many peers
	// that do not read, an attack), the pausedMax bound applies at once.
	if n > c.lp.srv.hardIn || n > pausedMax && (c.stalled() || c.lp.srv.waiting.Load() > waitingShared) {
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
	c.unpause()
	for {
		n, more, act := c.feed(buf, opening)
		if !more || act != gnet.None {
			return act
		}
		// Feed stopped after a batch of pongs (engine.PongBatch): they
		// are out and the peer judged; a peer given up for them has the
		// rest of its input dropped unread (see waits).
		if c.given() {
			return gnet.None
		}
		buf, opening = buf[n:], false
	}
}

// feed is one Feed of buf, with its output flushed: it returns how many
// bytes were consumed, whether Feed stopped after a batch of pongs with
// more of buf to feed, and what gnet is to do.
func (c *conn) feed(buf []byte, opening bool) (int, bool, gnet.Action) {
	lp := c.lp
	c.mu.Lock()
	c.wake()
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
	more := err == nil && n < len(buf) && c.proto.PongsQueued() >= engine.PongBatch
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
		return n, false, gnet.Close
	}
	return n, more, gnet.None
}

// events is the connection as the state machine's engine.Events: it runs
// on the loop inside Feed, with mu held, and releases mu around the
// application's handler so that the handler (or anyone) can write.
type events conn

func (e *events) open() {
	c := (*conn)(e)
	if c.lp.srv.workers != nil {
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
	if c.lp.srv.workers != nil {
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
	if c.lp.srv.workers != nil {
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
	if c.lp.srv.workers != nil {
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
	c.lp.srv.st.closed(code)
	if c.lp.srv.workers != nil {
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
		c.lp.srv.opts.ErrorLog.Printf("reactor: handler panic: %v\n%s", r, debug.Stack())
		c.mu.Lock()
		c.panicked = true
		return
	}
	c.mu.Lock()
}
