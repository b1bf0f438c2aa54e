package reactor

import (
	"sync"

	"github.com/valyala/bytebufferpool"

	"github.com/tachyonws/tachyon/engine"
)

type evKind uint8

const (
	evOpen evKind = iota + 1
	evMessage
	evPing
	evPong
	evClose
)

// event is a handler call waiting for a worker, its payload copied.
type event struct {
	kind evKind
	op   engine.OpCode
	code engine.StatusCode
	buf  *bytebufferpool.ByteBuffer
}

// workQueue holds one connection's events in order. A connection is
// handed to at most one worker at a time (scheduled), which runs its
// events until none is left: handlers of one connection never run
// concurrently, and always in order.
type workQueue struct {
	mu        sync.Mutex
	events    []event
	spare     []event
	bytes     int
	scheduled bool
	full      bool
}

// enqueue runs on the loop with c.mu held: it copies the event for the
// workers. A connection whose queue passes Options.WorkerQueue bytes is
// closed with 1008; its close event still reaches the handler.
func (c *conn) enqueue(kind evKind, op engine.OpCode, p []byte, code engine.StatusCode) {
	if c.wq == nil {
		c.wq = new(workQueue)
	}
	q := c.wq
	q.mu.Lock()
	if q.full && kind != evClose {
		q.mu.Unlock()
		return
	}
	if kind != evClose && q.bytes+len(p) > c.srv.opts.WorkerQueue {
		q.full = true
		q.mu.Unlock()
		if !c.proto.CloseSent() {
			_ = c.proto.Close(engine.StatusPolicyViolation, "handler backlog")
		}
		return
	}
	ev := event{kind: kind, op: op, code: code}
	if kind != evOpen {
		ev.buf = bufPool.Get()
		ev.buf.B = append(ev.buf.B[:0], p...)
		q.bytes += len(p)
	}
	q.events = append(q.events, ev)
	schedule := !q.scheduled
	q.scheduled = true
	q.mu.Unlock()
	if schedule {
		c.srv.workers.submit(c)
	}
}

// runEvents runs on a worker: the connection's events until none is left.
func (c *conn) runEvents() {
	q := c.wq
	for {
		q.mu.Lock()
		evs := q.events
		if len(evs) == 0 {
			q.scheduled = false
			q.mu.Unlock()
			return
		}
		q.events = q.spare[:0]
		q.mu.Unlock()
		n := 0
		for i := range evs {
			c.runEvent(&evs[i])
			if evs[i].buf != nil {
				n += len(evs[i].buf.B)
				bufPool.Put(evs[i].buf)
			}
			evs[i] = event{}
		}
		q.mu.Lock()
		q.bytes -= n
		q.spare = evs[:0]
		q.mu.Unlock()
	}
}

func (c *conn) runEvent(ev *event) {
	defer func() {
		if r := recover(); r != nil {
			c.srv.opts.ErrorLog.Printf("reactor: handler panic: %v", r)
			_ = c.Close(engine.StatusInternalError, "internal error")
		}
	}()
	var p []byte
	if ev.buf != nil {
		p = ev.buf.B
	}
	switch ev.kind {
	case evOpen:
		c.handler.OnOpen(c)
	case evMessage:
		c.handler.OnMessage(c, ev.op, p)
	case evPing:
		c.pings.OnPing(c, p)
	case evPong:
		c.pings.OnPong(c, p)
	case evClose:
		c.handler.OnClose(c, ev.code, string(p))
	}
}

// workerPool is a fixed set of goroutines running connections' events.
type workerPool struct {
	mu      sync.Mutex
	cond    *sync.Cond
	ready   []*conn
	head    int
	stopped bool
}

func newWorkerPool(n int) *workerPool {
	p := &workerPool{}
	p.cond = sync.NewCond(&p.mu)
	for range n {
		go p.work()
	}
	return p
}

func (p *workerPool) submit(c *conn) {
	p.mu.Lock()
	p.ready = append(p.ready, c)
	p.mu.Unlock()
	p.cond.Signal()
}

func (p *workerPool) work() {
	for {
		p.mu.Lock()
		for p.head == len(p.ready) && !p.stopped {
			p.cond.Wait()
		}
		if p.head == len(p.ready) {
			p.mu.Unlock()
			return
		}
		c := p.ready[p.head]
		p.ready[p.head] = nil
		p.head++
		if p.head == len(p.ready) {
			p.ready, p.head = p.ready[:0], 0
		}
		p.mu.Unlock()
		c.runEvents()
	}
}

// stop lets the workers finish what is queued and exit.
func (p *workerPool) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.cond.Broadcast()
}
