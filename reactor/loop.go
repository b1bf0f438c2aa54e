package reactor

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tachyonws/tachyon/engine"
)

// loop is the reactor's state of one gnet event loop. Fields without a
// lock are touched only on the loop.
type loop struct {
	srv *Server
	el  gnet.EventLoop
	idx int

	conns   []*conn  // every connection of the loop; conn.idx is its place (nil: a hole, see all)
	walking int      // walks of conns under way (all)
	holes   int      // connections removed during a walk, their places nil until it ends
	scratch []byte   // output lent to the connection being served
	keep    int      // the largest scratch kept between wake-ups
	frames  [][]byte // a receiver's frames of a run of broadcasts (writeFrames)
	vec     [][]byte // what gnet's Writev is given (it consumes the slice)
	iov     []syscall.Iovec

	req   engine.Request
	clock int64  // nanoseconds, refreshed by OnOpen and the tick
	nIn   uint64 // messages received in the current wake-up

	// The queue from other goroutines (and from the loop itself, for
	// work on other connections): flushes, broadcasts, closes. armed
	// says an Execute is pending; the queue is drained in one batch.
	qmu   sync.Mutex
	q     []item
	spare []item
	armed bool

	drainFn gnet.RunnableFunc
	tickFn  gnet.RunnableFunc
	ticking atomic.Bool // a tick is queued and has not run yet

	// Counters, added to in batches; read by Stats from any goroutine.
	msgsIn, msgsOut, bytesIn, bytesOut atomic.Uint64
}

type itemKind uint8

const (
	itemFlush itemKind = iota + 1
	itemBroadcast
	itemCloseAll
	itemJoin
	itemLeave
)

type item struct {
	kind   itemKind
	c      *conn
	prep   *engine.Prepared
	group  *Group
	code   engine.StatusCode
	reason string
}

func newLoop(s *Server, el gnet.EventLoop, idx int) *loop {
	lp := &loop{srv: s, el: el, idx: idx, clock: time.Now().UnixNano(), keep: s.scratchKeep()}
	lp.drainFn = func(context.Context) error { lp.drain(); return nil }
	lp.tickFn = func(context.Context) error { lp.housekeep(); return nil }
	return lp
}

// keepScratch takes back the output buffer lent to a connection, unless it
// grew past keep (a large message): that one goes back to the runtime.
func (lp *loop) keepScratch(out []byte) {
	if cap(out) <= lp.keep {
		lp.scratch = out[:0]
	}
}

func (lp *loop) add(c *conn) {
	c.idx = int32(len(lp.conns))
	lp.conns = append(lp.conns, c)
}

func (lp *loop) remove(c *conn) {
	i := int(c.idx)
	if i < 0 || i >= len(lp.conns) || lp.conns[i] != c {
		return
	}
	c.idx = -1
	if lp.walking > 0 {
		lp.conns[i] = nil
		lp.holes++
		return
	}
	last := len(lp.conns) - 1
	lp.conns[i] = lp.conns[last]
	lp.conns[i].idx = int32(i)
	lp.conns[last] = nil
	lp.conns = lp.conns[:last]
}

// all yields every connection of the loop, walking conns in place, with no
// copy: a connection closed meanwhile (a write may close one) leaves a
// hole, and the holes are closed once the last walk ends, so that no
// connection is skipped or seen twice.
func (lp *loop) all(yield func(*conn) bool) {
	lp.walking++
	defer lp.walked()
	for i := 0; i < len(lp.conns); i++ {
		if c := lp.conns[i]; c != nil && !yield(c) {
			return
		}
	}
}

// walked ends a walk of conns (all): the last one closes the holes.
func (lp *loop) walked() {
	lp.walking--
	if lp.walking > 0 || lp.holes == 0 {
		return
	}
	j := 0
	for _, c := range lp.conns {
		if c != nil {
			c.idx = int32(j)
			lp.conns[j] = c
			j++
		}
	}
	clear(lp.conns[j:])
	lp.conns = lp.conns[:j]
	lp.holes = 0
}

// push queues work for the loop; the first item of a batch asks gnet to
// run the drain. Safe from any goroutine.
func (lp *loop) push(it item) {
	lp.qmu.Lock()
	lp.q = append(lp.q, it)
	wake := !lp.armed
	lp.armed = true
	lp.qmu.Unlock()
	if wake {
		if err := lp.el.Execute(context.Background(), lp.drainFn); err != nil {
			// The engine is stopping: its connections are being closed
			// and nothing queued can be written any more.
			lp.qmu.Lock()
			lp.armed = false
			clear(lp.q)
			lp.q = lp.q[:0]
			lp.qmu.Unlock()
		}
	}
}

// drain runs on the loop: one batch of queued work.
func (lp *loop) drain() {
	lp.qmu.Lock()
	items := lp.q
	lp.q = lp.spare[:0]
	lp.armed = false
	lp.qmu.Unlock()
	for i := 0; i < len(items); i++ {
		it := &items[i]
		switch it.kind {
		case itemFlush:
			c := it.c
			c.mu.Lock()
			c.queued = false
			c.flushLocked()
		case itemBroadcast:
			// Consecutive broadcasts to the same connections go out
			// together: one write per receiver. Anything else queued
			// between them (a member joining or leaving, a flush) ends
			// the run, so that it keeps its place among them.
			j := i + 1
			for j < len(items) && items[j].kind == itemBroadcast && items[j].group == it.group {
				j++
			}
			lp.broadcast(items[i:j], it.group)
			i = j - 1
		case itemCloseAll:
			for c := range lp.all {
				c.closeWith(it.code, it.reason)
			}
		case itemJoin:
			it.group.join(lp, it.c)
		case itemLeave:
			it.group.leave(lp, it.c)
		}
	}
	clear(items)
	lp.spare = items[:0]
}

// broadcast writes a run of broadcast items (their prepared messages, in
// order) to every open connection of the loop, or to the members of g:
// what a connection is owed by the whole run leaves in one write.
func (lp *loop) broadcast(run []item, g *Group) {
	n := 0
	if g == nil {
		for c := range lp.all {
			n += c.writeFrames(run)
		}
	} else if lp.idx < len(g.members) {
		// A member that closes meanwhile leaves the map: deleting during
		// the range is safe, and members join only through the queue.
		for c := range g.members[lp.idx] {
			n += c.writeFrames(run)
		}
	}
	lp.msgsOut.Add(uint64(n))
}

// housekeep runs on the loop at every tick: timeouts and heartbeats.
func (lp *loop) housekeep() {
	lp.ticking.Store(false)
	s := lp.srv
	now := time.Now().UnixNano()
	lp.clock = now
	ping := int64(s.live.PingInterval)
	read := int64(s.live.ReadTimeout)
	idle := int64(s.live.IdleTimeout)
	msg := int64(s.live.MessageTimeout)
	for c := range lp.all {
		switch {
		case c.state == stateClosed:
		case c.state == stateHandshake:
			if now > c.closeBy {
				c.handshakeTimeout()
			}
		case c.closeBy != 0:
			if now > c.closeBy && c.given() && c.jdg().graces < 3 && c.gc.OutboundBuffered() > 0 && c.progress(c.gc.OutboundBuffered(), now) {
				// Given up, but reading now: it has another CloseTimeout
				// (three at most) to reach its close frame.
				c.jdg().graces++
				c.closeBy = now + s.clTimeout
			} else if now > c.closeBy {
				c.drop()
			} else if c.given() && !c.jdg().shut && c.gc.OutboundBuffered() == 0 {
				// The close frame is out: end our side so that the
				// peer sees it and then the end of the stream.
				c.jdg().shut = true
				_ = syscall.Shutdown(c.gc.Fd(), syscall.SHUT_WR)
			}
		case c.paused() || c.gc.OutboundBuffered() > s.opts.MaxOutbound:
			c.watch()
		case read > 0 && now-c.seen > read:
			c.closeWith(engine.StatusGoingAway, "read timeout")
		case idle > 0 && now-c.lastData > idle:
			c.closeWith(engine.StatusGoingAway, "idle")
		case msg > 0 && c.msgSince != 0 && now-c.msgSince > msg:
			c.failWith(engine.ErrMessageTimeout.Code, engine.ErrMessageTimeout.Msg)
		case ping > 0 && now-max(c.seen, c.lastPing) >= ping:
			c.lastPing = now
			c.ping()
		}
	}
}
