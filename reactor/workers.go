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
	events    []event // events[head:] wait; the worker runs a batch from head
	head      int
	bytes     int
	scheduled bool
	full      bool
}

// eventCost is what an event counts against WorkerQueue besides its
// payload, so that empty messages, pings and pongs are bounded too.
const eventCost = 64

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
	cost := len(p) + eventCost
	if kind != evClose && q.bytes+cost > c.lp.srv.opts.WorkerQueue {
		q.full = true
		q.mu.Unlock()
		if !c.proto.CloseSent() {
			_ = c.proto.Close(engine.StatusPolicyViolation, "handler backlog")
		}
		return
	}
	ev := event{kind: kind, op: op, code: code}
	if len(p) > 0 {
		ev.buf = bufPool.Get()
		ev.buf.B = append(ev.buf.B[:0], p...)
	}
	q.bytes += cost
	q.events = append(q.events, ev)
	schedule := !q.scheduled
	q.scheduled = true
	q.mu.Unlock()
	if schedule {
		c.lp.srv.workers.submit(c)
	}
}

// maxBatch is the most events of one connection a worker runs in a turn.
const maxBatch = 64

// runEvents runs on a worker: up to maxBatch of the connection's events,
// then the connection goes to the back of the pool's line, so that a
// connection that is never idle cannot keep a worker for itself. A turn
// that finds nothing left unschedules it.
func (c *conn) runEvents() {
	q := c.wq
	q.mu.Lock()
	if q.head == len(q.events) {
		clear(q.events)
		q.events, q.head = q.events[:0], 0
		q.scheduled = false
		q.mu.Unlock()
		return
	}
	if q.head >= len(q.events)/2 { // reuse the consumed front
		n := copy(q.events, q.events[q.head:])
		clear(q.events[n:])
		q.events, q.head = q.events[:n], 0
	}
	end := min(len(q.events), q.head+maxBatch)
	batch := q.events[q.head:end] // the loop only appends behind it
	q.head = end
	q.mu.Unlock()
	n := 0
	for i := range batch {
		ev := &batch[i]
		c.runEvent(ev)
		n += eventCost
		if ev.buf != nil {
			n += len(ev.buf.B)
			bufPool.Put(ev.buf)
		}
	}
	q.mu.Lock()
	q.bytes -= n
	q.mu.Unlock()
	c.lp.srv.workers.submit(c)
}

func (c *conn) runEvent(ev *event) {
	defer func() {
		if r := recover(); r != nil {
			c.lp.srv.opts.ErrorLog.Printf("reactor: handler panic: %v", r)
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
		// The 101 and what OnOpen wrote may leave now.
		c.mu.Lock()
		if c.opening {
			c.opening = false
			c.scheduleLocked()
		}
		c.mu.Unlock()
	case evMessage:
		c.handler.OnMessage(c, ev.op, p)
	case evPing:
		c.pingHandler().OnPing(c, p)
	case evPong:
		c.pingHandler().OnPong(c, p)
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
		if p.head >= len(p.ready)/2 { // reuse the consumed front
			n := copy(p.ready, p.ready[p.head:])
			clear(p.ready[n:])
			p.ready, p.head = p.ready[:n], 0
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
