package cluster

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// The net/http driver's connections take part through the same room API
// (Sockets), both ways.
func TestNetHTTPDriver(t *testing.T) {
	s := startNATS(t, -1)
	a := newNode(t, s.ClientURL(), "a", Options{})
	h, err := Connect(s.ClientURL(), Options{Groups: Sockets(0), Name: "h", ErrorLog: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	var up engine.Upgrader
	hs := &http.Server{ReadHeaderTimeout: deadline, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, &netHandler{node: h, room: "r"})
		if err == nil {
			_ = c.Serve()
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = up.Shutdown(ctx)
	})

	ca := dial(t, a, "r")
	ch := &client{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	conn, err := engine.Dial(ctx, "ws://"+ln.Addr().String()+"/", ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = conn.Serve() }()
	t.Cleanup(func() { _ = conn.Close(engine.StatusNormalClosure, "") })
	eventually(t, "h's member to join", func() bool { return h.Stats().Rooms == 1 })
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	flush(t, a)

	for k := range 20 {
		_ = a.node.Publish("r", engine.OpText, fmt.Appendf(nil, "a:%d", k))
		_ = conn.WriteMessage(engine.OpText, fmt.Appendf(nil, "h:%d", k))
	}
	for who, c := range map[string]*client{"a's member": ca, "h's member": ch} {
		counts := checkStreams(t, who, c.waitMsgs(t, 40))
		if counts["a"] != 20 || counts["h"] != 20 {
			t.Fatalf("%s: %v", who, counts)
		}
	}
}

type netHandler struct {
	engine.BaseHandler
	node *Node
	room string
}

func (h *netHandler) OnOpen(s engine.Socket) { h.node.Join(h.room, s) }
func (h *netHandler) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	_ = h.node.Publish(h.room, op, p)
}
func (h *netHandler) OnClose(s engine.Socket, _ engine.StatusCode, _ string) { h.node.LeaveAll(s) }

// A member of a Sockets group that does not keep up is closed once its
// queue is full (one frame being written, four waiting); the others are
// not held up.
func TestSocketsSlowMember(t *testing.T) {
	g := Sockets(4)("r")
	slow := &fakeSocket{block: make(chan struct{}), closed: make(chan engine.StatusCode, 1)}
	fast := &fakeSocket{closed: make(chan engine.StatusCode, 1)}
	defer close(slow.block)
	g.Add(slow)
	g.Add(fast)
	p := engine.NewPrepared(engine.OpText, []byte("x"))
	for i := 1; i <= 10; i++ {
		g.Broadcast(p)
		eventually(t, "the fast member's frame", func() bool { return fast.written() == i })
	}
	select {
	case code := <-slow.closed:
		if code != engine.StatusPolicyViolation {
			t.Fatalf("slow member closed with %v", code)
		}
	case <-time.After(deadline):
		t.Fatal("slow member not closed")
	}
	select {
	case code := <-fast.closed:
		t.Fatalf("fast member closed with %v", code)
	default:
	}
	g.Remove(fast)
	g.Remove(slow) // gone already: nothing happens
}

type fakeSocket struct {
	engine.Socket
	block  chan struct{}
	closed chan engine.StatusCode
	mu     sync.Mutex
	n      int
}

func (f *fakeSocket) WritePrepared(*engine.Prepared) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	return nil
}

func (f *fakeSocket) written() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *fakeSocket) Close(code engine.StatusCode, _ string) error {
	select {
	case f.closed <- code:
	default:
	}
	return nil
}
