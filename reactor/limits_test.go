package reactor

import (
	"bufio"
	"context"
	"net"
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
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
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
// given up (1008 "too many pings") once it owes 1,024 pongs; the server
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
	deadline := time.Now().Add(4 * time.Second)
	sent := 0
	for sent < 24<<20 && time.Now().Before(deadline) {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.Write(batch)
		sent += n
		if err != nil {
			break // dropped, as it should be
		}
	}
	if ce := waitFor(t, rec.closes, "OnClose"); ce.Code != engine.StatusPolicyViolation || ce.Reason != "too many pings" {
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

// spinner keeps its worker busy a little for each message.
type spinner struct {
	engine.BaseHandler
	mu     sync.Mutex
	counts map[engine.Socket]int
	done   atomic.Bool // the test is over: the events still queued cost nothing
}

func (h *spinner) OnMessage(s engine.Socket, _ engine.OpCode, _ []byte) {
	h.mu.Lock()
	h.counts[s]++
	h.mu.Unlock()
	for t0 := time.Now(); time.Since(t0) < 300*time.Microsecond && !h.done.Load(); {
	}
}

// TestWorkersAreShared: a connection that always has events waiting gets
// one batch per turn on a worker, so the other connections' events (OnOpen
// included) run too.
func TestWorkersAreShared(t *testing.T) {
	h := &spinner{counts: map[engine.Socket]int{}}
	s, _ := start(t, Options{Handler: h, Workers: 1, Loops: 1})
	defer h.done.Store(true)
	msg := clientFrame(engine.OpBinary, true, []byte("x"))
	batch := make([]byte, 0, 4<<10)
	for len(batch)+len(msg) <= cap(batch) {
		batch = append(batch, msg...)
	}
	stop := make(chan struct{})
	var clients []*raw
	for range 8 {
		clients = append(clients, rawUpgrade(t, s.Addr().String()))
	}
	for _, c := range clients {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Write(batch); err != nil {
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	p := s.workers
	p.mu.Lock()
	head, n, c := p.head, len(p.ready), cap(p.ready)
	p.mu.Unlock()
	close(stop)
	h.mu.Lock()
	var per []int
	for _, n := range h.counts {
		per = append(per, n)
	}
	h.mu.Unlock()
	t.Logf("messages handled per connection: %v", per)
	t.Logf("8 connections: ready list head=%d len=%d cap=%d", head, n, c)
	if len(per) < 8 {
		t.Fatalf("only %d of 8 busy connections had any event handled in 1.5 s: %v", len(per), per)
	}
}
