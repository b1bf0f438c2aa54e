package reactor

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// dialSmallReceiveBuffer upgrades a raw client whose receive buffer is tiny,
// so that what the server sends piles up on the server's side.
func dialSmallReceiveBuffer(t *testing.T, addr string) *raw {
	t.Helper()
	d := net.Dialer{Timeout: 20 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	nc, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := &raw{Conn: nc, r: bufio.NewReaderSize(nc, 1<<16)}
	if _, err := c.Write([]byte(rawRequest)); err != nil {
		t.Fatal(err)
	}
	if st := c.readResponse(t); st != 101 {
		t.Fatalf("status %d", st)
	}
	return c
}

// TestPingFloodIsBounded: a peer that sends pings and never reads is
// given up (1008 "too many pings") once it owes 256 pongs; the server
// does not queue them without end.
func TestPingFloodIsBounded(t *testing.T) {
	rec := newRecorder(false)
	const maxOut = 64 << 10
	s, _ := start(t, Options{Handler: rec, MaxOutbound: maxOut, Loops: 1})
	c := dialSmallReceiveBuffer(t, s.Addr().String())
	waitFor(t, rec.opened, "open")

	ping := clientFrame(engine.OpPing, true, make([]byte, 125))
	batch := make([]byte, 0, 64<<10)
	for len(batch)+len(ping) <= cap(batch) {
		batch = append(batch, ping...)
	}
	// Ping until the server drops the peer (a write fails, or the handler
	// hears of the close), however slowly the server reads.
	deadline := time.Now().Add(20 * time.Second)
	sent := 0
	var ce engine.CloseError
	closed := false
	for !closed && time.Now().Before(deadline) {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.Write(batch)
		sent += n
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // dropped, as it should be
		}
		select {
		case ce = <-rec.closes:
			closed = true
		default:
		}
	}
	if !closed {
		ce = waitFor(t, rec.closes, "OnClose")
	}
	if ce.Code != engine.StatusPolicyViolation || ce.Reason != "too many pings" {
		t.Fatalf("OnClose %v, want 1008 too many pings", ce)
	}
	if st := s.Stats(); st.SlowClosed != 1 {
		t.Fatalf("SlowClosed = %d after %d bytes of pings", st.SlowClosed, sent)
	}
}

// TestWorkerQueueCountsEvents: WorkerQueue bounds events, not only their
// payload bytes: empty messages waiting for a busy worker close the
// connection with 1008 too.
func TestWorkerQueueCountsEvents(t *testing.T) {
	h := &blocker{release: make(chan struct{}), closes: make(chan engine.StatusCode, 1)}
	s, _ := start(t, Options{Handler: h, Workers: 1, WorkerQueue: 64 << 10, Loops: 1})
	defer close(h.release)
	c := rawUpgrade(t, s.Addr().String())
	empty := clientFrame(engine.OpBinary, true, nil)
	batch := make([]byte, 0, 64<<10)
	for len(batch)+len(empty) <= cap(batch) {
		batch = append(batch, empty...)
	}
	go func() {
		for sent := 0; sent < 3<<20; {
			n, err := c.Write(batch)
			sent += n
			if err != nil {
				return
			}
		}
	}()
	if code := c.expectClose(t); code != engine.StatusPolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

// TestBacklogDrainedIsNotSlow: a message larger than MaxOutbound is sent
// (a large message is never refused for its size alone); once the peer
// has read it, the next write goes through: the limit is checked against
// gnet's backlog as it is, not as it was after the last write.
func TestBacklogDrainedIsNotSlow(t *testing.T) {
	rec := newRecorder(false)
	const maxOut = 256 << 10
	s, _ := start(t, Options{Handler: rec, MaxOutbound: maxOut, Loops: 1})
	c := dialSmallReceiveBuffer(t, s.Addr().String())
	sock := waitFor(t, rec.opened, "open")
	if err := sock.WriteMessage(engine.OpBinary, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if _, p := c.readFrame(t); len(p) != 1<<20 {
		t.Fatalf("got %d bytes", len(p))
	}
	if err := sock.WriteMessage(engine.OpBinary, []byte("hi")); err != nil {
		t.Fatalf("a write to a peer with nothing pending failed: %v", err)
	}
	if _, p := c.readFrame(t); string(p) != "hi" {
		t.Fatalf("got %q", p)
	}
}

// turnTaker logs every handler call in the order the worker runs them, and
// holds the first message it gets until released.
type turnTaker struct {
	engine.BaseHandler
	opened  chan engine.Socket
	held    chan engine.Socket // the socket whose message is being held
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	log     []turn
}

type turn struct {
	s    engine.Socket
	kind string // "open" or "msg"
}

func (h *turnTaker) add(s engine.Socket, kind string) {
	h.mu.Lock()
	h.log = append(h.log, turn{s, kind})
	h.mu.Unlock()
}

func (h *turnTaker) OnOpen(s engine.Socket) {
	h.add(s, "open")
	h.opened <- s
}

func (h *turnTaker) OnMessage(s engine.Socket, _ engine.OpCode, _ []byte) {
	h.add(s, "msg")
	first := false
	h.once.Do(func() { first = true })
	if first {
		h.held <- s
		<-h.release
	}
}

// TestWorkersAreShared: a connection that always has events waiting gets
// one batch per turn on a worker, so the other connections' events (OnOpen
// included) run too: they run before the busy connection's queue is empty.
// The order is decided by the pool's turns alone, not by timing: a first
// connection's message holds the only worker until all the others' events
// are queued.
func TestWorkersAreShared(t *testing.T) {
	h := &turnTaker{opened: make(chan engine.Socket, 8), held: make(chan engine.Socket, 1), release: make(chan struct{})}
	s, _ := start(t, Options{Handler: h, Workers: 1, Loops: 1})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(h.release) }) }
	t.Cleanup(release)

	gate := rawUpgrade(t, s.Addr().String())
	gateSock := waitFor(t, h.opened, "gate OnOpen")
	busy := rawUpgrade(t, s.Addr().String())
	busySock := waitFor(t, h.opened, "busy OnOpen")
	quiet := rawUpgrade(t, s.Addr().String())
	quietSock := waitFor(t, h.opened, "quiet OnOpen")

	if _, err := gate.Write(clientFrame(engine.OpBinary, true, []byte("g"))); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, h.held, "the gate's message"); got != gateSock {
		t.Fatal("the message held is not the gate's")
	}
	// The only worker is held. Queue many more than a batch of the busy
	// connection's messages, then a message of the quiet one and the
	// OnOpen of a new connection, in that order.
	waitIn := func(want uint64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for s.Stats().MessagesIn != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d messages read, want %d", s.Stats().MessagesIn, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	const n = 1000
	var batch []byte
	for range n {
		batch = append(batch, clientFrame(engine.OpBinary, true, []byte("x"))...)
	}
	if _, err := busy.Write(batch); err != nil {
		t.Fatal(err)
	}
	waitIn(1 + n)
	if _, err := quiet.Write(clientFrame(engine.OpBinary, true, []byte("q"))); err != nil {
		t.Fatal(err)
	}
	waitIn(1 + n + 1)
	// The new connection's 101 waits for its OnOpen, which waits for the
	// worker: send the request, read the answer once the worker is free.
	late := rawDial(t, s.Addr().String())
	if _, err := late.Write([]byte(rawRequest)); err != nil {
		t.Fatal(err)
	}
	p := s.workers
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		ready := len(p.ready) - p.head
		p.mu.Unlock()
		if ready == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections ready for the worker, want 3 (busy, quiet, new)", ready)
		}
		time.Sleep(time.Millisecond)
	}
	release()
	if st := late.readResponse(t); st != 101 {
		t.Fatalf("status %d", st)
	}
	// Every event runs in the end: 4 opens, the gate's message, the busy
	// connection's n and the quiet one's.
	const total = 4 + 1 + n + 1
	deadline = time.Now().Add(20 * time.Second)
	for {
		h.mu.Lock()
		done := len(h.log)
		h.mu.Unlock()
		if done == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events handled", done, total)
		}
		time.Sleep(time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	lastBusy, quietMsg, lateOpen := -1, -1, -1
	for i, e := range h.log {
		switch {
		case e.s == busySock && e.kind == "msg":
			lastBusy = i
		case e.s == quietSock && e.kind == "msg":
			quietMsg = i
		case e.kind == "open" && e.s != gateSock && e.s != busySock && e.s != quietSock:
			lateOpen = i
		}
	}
	if quietMsg < 0 || lateOpen < 0 {
		t.Fatalf("quiet message at %d, new connection's OnOpen at %d", quietMsg, lateOpen)
	}
	if quietMsg > lastBusy || lateOpen > lastBusy {
		t.Fatalf("the busy connection kept the worker: its last message ran at %d, after the quiet connection's message (%d) and the new connection's OnOpen (%d)",
			lastBusy, quietMsg, lateOpen)
	}
	// The others waited for one turn of the busy connection at most.
	ran := 0
	for _, e := range h.log[:min(quietMsg, lateOpen)] {
		if e.s == busySock && e.kind == "msg" {
			ran++
		}
	}
	if ran > maxBatch {
		t.Fatalf("the busy connection ran %d messages before the others had a turn; a turn is at most %d", ran, maxBatch)
	}
}

// pingCounter counts the pings its connections were answered for.
type pingCounter struct {
	engine.BaseHandler
	pings  atomic.Int64
	closes chan engine.CloseError
}

func (h *pingCounter) OnPing(engine.Socket, []byte) { h.pings.Add(1) }
func (h *pingCounter) OnClose(_ engine.Socket, code engine.StatusCode, reason string) {
	h.closes <- engine.CloseError{Code: code, Reason: reason}
}

// TestPingFloodGivenUpEarly: a peer that floods small pings and reads
// nothing is answered a few batches of pongs (engine.PongBatch) past
// MaxPongsOwed, not every ping its reads bring: a 64 KiB read holds about
// 3,000 pings of 16 bytes, and judging the peer once per read had it
// answered about 6,000 before it was given up, each costing its loop.
func TestPingFloodGivenUpEarly(t *testing.T) {
	h := &pingCounter{closes: make(chan engine.CloseError, 1)}
	s, _ := start(t, Options{Handler: h, Loops: 1})
	c := dialSmallReceiveBuffer(t, s.Addr().String())
	ping := clientFrame(engine.OpPing, true, make([]byte, 16))
	batch := make([]byte, 0, 64<<10)
	for len(batch)+len(ping) <= cap(batch) {
		batch = append(batch, ping...)
	}
	go func() {
		for i := 0; i < 64; i++ { // bounded: 4 MiB of pings at most
			if _, err := c.Write(batch); err != nil {
				return // dropped, as it should be
			}
		}
	}()
	ce := waitFor(t, h.closes, "OnClose")
	if ce.Code != engine.StatusPolicyViolation || ce.Reason != "too many pings" {
		t.Fatalf("OnClose %v, want 1008 too many pings", ce)
	}
	if n, most := h.pings.Load(), int64(2*engine.MaxPongsOwed); n > most {
		t.Fatalf("the flooder was answered %d pings before it was given up; want at most %d", n, most)
	} else {
		t.Logf("answered %d pings before giving the flooder up", n)
	}
}
