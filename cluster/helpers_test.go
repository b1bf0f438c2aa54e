package cluster

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// deadline bounds every wait of the tests.
const deadline = 30 * time.Second

// startNATS starts a NATS server in-process on 127.0.0.1, on port (-1
// picks a free one).
func startNATS(t testing.TB, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(deadline) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s
}

func natsPort(s *server.Server) int { return s.Addr().(*net.TCPAddr).Port }

// stopNATS stops s and returns its port, for a new server.
func stopNATS(s *server.Server) (port int) {
	port = natsPort(s)
	s.Shutdown()
	s.WaitForShutdown()
	return port
}

// tnode is a reactor server bridged by a Node. A client connecting to
// /r/NAME joins the room NAME; what it sends is published to the room.
type tnode struct {
	srv  *reactor.Server
	node *Node

	mu     sync.Mutex
	opened []engine.Socket // the server's side of each connection, in the order they opened
}

// sockets returns the server's side of the connections opened so far.
func (tn *tnode) sockets() []engine.Socket {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return append([]engine.Socket(nil), tn.opened...)
}

func newNode(t testing.TB, natsURL, name string, opts Options) *tnode {
	t.Helper()
	tn := &tnode{}
	tn.srv = reactor.New(reactor.Options{
		Loops:    1,
		ErrorLog: log.New(io.Discard, "", 0),
		Route: func(r *engine.Request) engine.Handler {
			room, ok := strings.CutPrefix(string(r.RequestURI), "/r/")
			if !ok {
				return nil
			}
			return &roomHandler{tn: tn, room: room}
		},
	})
	opts.Groups = Reactor(tn.srv)
	if opts.Backlog == nil {
		opts.Backlog = tn.srv.Queued
	}
	opts.Name = name
	if opts.ErrorLog == nil {
		w := &testWriter{t: t}
		t.Cleanup(w.stop) // after the node's Close, registered below
		opts.ErrorLog = log.New(w, "", 0)
	}
	node, err := Connect(natsURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	tn.node = node // before Start: the handlers read it on the loop
	if err := tn.srv.Start("127.0.0.1:0"); err != nil {
		_ = node.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = node.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		_ = tn.srv.Shutdown(ctx)
	})
	return tn
}

// testWriter logs to the test until stop: the NATS client's callbacks
// may run after the node's Close, when the test is over.
type testWriter struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

type roomHandler struct {
	engine.BaseHandler
	tn   *tnode
	room string
}

func (h *roomHandler) OnOpen(s engine.Socket) {
	h.tn.mu.Lock()
	h.tn.opened = append(h.tn.opened, s)
	h.tn.mu.Unlock()
	h.tn.node.Join(h.room, s)
}

func (h *roomHandler) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	_ = h.tn.node.Publish(h.room, op, p)
}

func (h *roomHandler) OnClose(s engine.Socket, _ engine.StatusCode, _ string) {
	h.tn.node.LeaveAll(s)
}

// client is a WebSocket client that keeps what it receives.
type client struct {
	conn *engine.NetConn

	mu     sync.Mutex
	msgs   []string
	notify chan struct{}
}

func (c *client) OnOpen(engine.Socket) {}

func (c *client) OnMessage(_ engine.Socket, _ engine.OpCode, p []byte) {
	c.mu.Lock()
	c.msgs = append(c.msgs, string(p))
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *client) OnClose(engine.Socket, engine.StatusCode, string) {}

// dial connects a client to the room on tn; once it returns, the node has
// taken the client in (OnOpen runs before the 101 leaves).
func dial(t testing.TB, tn *tnode, room string) *client {
	t.Helper()
	c := &client{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	conn, err := engine.Dial(ctx, "ws://"+tn.srv.Addr().String()+"/r/"+room, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.conn = conn
	go func() { _ = conn.Serve() }()
	t.Cleanup(func() { _ = conn.Close(engine.StatusNormalClosure, "") })
	return c
}

func (c *client) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

func (c *client) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// waitMsgs waits until the client has received n messages.
func (c *client) waitMsgs(t testing.TB, n int) []string {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		if got := c.received(); len(got) >= n {
			return got
		}
		select {
		case <-c.notify:
		case <-timer.C:
			t.Fatalf("client received %d messages, want %d", c.count(), n)
		}
	}
}

// eventually waits until cond holds, checking it every millisecond or so,
// for at most deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// flush waits until the NATS server has taken each node's subscriptions
// and messages.
func flush(t testing.TB, nodes ...*tnode) {
	t.Helper()
	for _, tn := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		err := tn.node.Flush(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: Flush: %v", tn.node.Name(), err)
		}
	}
}

// checkStreams checks that msgs, of the form "PUBLISHER:K", hold each
// publisher's K in increasing order, with no repeats, and returns how
// many came from each.
func checkStreams(t testing.TB, who string, msgs []string) map[string]int {
	t.Helper()
	last := map[string]int{}
	count := map[string]int{}
	for _, m := range msgs {
		var k int
		pub, ks, ok := strings.Cut(m, ":")
		if _, err := fmt.Sscan(ks, &k); !ok || err != nil {
			t.Fatalf("%s: unexpected message %q", who, m)
		}
		if l, seen := last[pub]; seen && k <= l {
			t.Fatalf("%s: from %s, %d after %d (duplicate or out of order)", who, pub, k, l)
		}
		last[pub] = k
		count[pub]++
	}
	return count
}
