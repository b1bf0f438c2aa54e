package reactor

import (
	"context"
	"testing"
	"unsafe"

	"github.com/panjf2000/gnet/v2"

	"github.com/tachyonws/tachyon/engine"
)

// An idle upgraded connection costs the reactor one allocation of this size
// on 64-bit platforms (the 144-byte size class): what only some
// connections need (a subprotocol, a deflate agreement, groups, the
// judgement of a slow reader, the peer's address once closed) is in
// connExtra, allocated by those that do.
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit platforms only")
	}
	if n := unsafe.Sizeof(conn{}); n > 144 {
		t.Errorf("reactor conn is %d bytes, budget 144", n)
	}
	// A connection with a subprotocol, compression or groups adds this
	// much; the judgement of a slow reader is apart.
	if n := unsafe.Sizeof(connExtra{}); n > 80 {
		t.Errorf("connExtra is %d bytes, budget 80", n)
	}
}

// onLoops runs f on each of the server's loops, one after another.
func onLoops(t *testing.T, s *Server, f func(*loop)) {
	t.Helper()
	s.eachLoop(func(lp *loop) {
		done := make(chan struct{})
		err := lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			defer close(done)
			f(lp)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, done, "the loop")
	})
}

// An idle upgraded connection keeps no protocol state machine: it rests
// after the handshake and after every exchange, and wakes with the same
// agreement (subprotocol, compression) when the peer or the server writes.
func TestIdleConnectionsRest(t *testing.T) {
	s, _ := start(t, Options{Handler: echo{}, Loops: 1, Handshake: engine.ServerHandshake{
		Protocols:   []string{"chat"},
		Compression: &engine.Compression{},
	}})
	plain := rawUpgrade(t, s.Addr().String())
	comp := rawDeflateUpgrade(t, s.Addr().String())
	resting := func(what string) {
		t.Helper()
		n := 0
		onLoops(t, s, func(lp *loop) {
			for _, c := range lp.conns {
				c.mu.Lock()
				if c.proto != nil {
					n++
				}
				c.mu.Unlock()
			}
		})
		if n != 0 {
			t.Errorf("%s: %d connections hold a state machine", what, n)
		}
	}
	resting("after the handshakes")
	for range 3 {
		for _, c := range []*raw{plain, comp} {
			if _, err := c.Write(clientFrame(engine.OpBinary, true, []byte("hello"))); err != nil {
				t.Fatal(err)
			}
			h, p := c.readFrame(t)
			if string(p) != "hello" || h.Rsv != 0 {
				t.Fatalf("echo %v %q", h, p)
			}
		}
		resting("after an echo")
	}
	var agreed []engine.Deflate
	onLoops(t, s, func(lp *loop) {
		for _, c := range lp.conns {
			agreed = append(agreed, c.Deflate())
		}
	})
	if len(agreed) != 2 || agreed[0].Enabled() == agreed[1].Enabled() {
		t.Errorf("the agreements after resting: %+v", agreed)
	}
	s.Broadcast(engine.NewPrepared(engine.OpText, []byte("all")))
	for _, c := range []*raw{plain, comp} {
		if _, p := c.readFrame(t); string(p) != "all" {
			t.Fatalf("broadcast %q", p)
		}
	}
	resting("after a broadcast")
}

// A walk of the loop's connections sees each once, even when connections
// close during it (the current one, one already seen, one still ahead),
// and the list has no holes after it.
func TestLoopWalkWithRemovals(t *testing.T) {
	lp := &loop{}
	cs := make([]*conn, 8)
	for i := range cs {
		cs[i] = &conn{}
		lp.add(cs[i])
	}
	seen := map[*conn]int{}
	for c := range lp.all {
		seen[c]++
		switch c {
		case cs[2]:
			lp.remove(cs[2])        // itself
			lp.remove(cs[0])        // seen already
			lp.remove(cs[6])        // ahead: not to be seen
			for c := range lp.all { // a nested walk
				if c == cs[3] {
					lp.remove(c)
				}
			}
		}
	}
	for i, c := range cs {
		want := 1
		if i == 3 || i == 6 { // removed before the walk reached them
			want = 0
		}
		if seen[c] != want {
			t.Errorf("connection %d seen %d times, want %d", i, seen[c], want)
		}
	}
	if len(lp.conns) != 4 || lp.holes != 0 || lp.walking != 0 {
		t.Fatalf("after the walk: %d connections, %d holes, %d walking", len(lp.conns), lp.holes, lp.walking)
	}
	for i, c := range lp.conns {
		if c == nil || int(c.idx) != i {
			t.Errorf("place %d: %v", i, c)
		}
	}
	lp.remove(lp.conns[0])
	if len(lp.conns) != 3 {
		t.Errorf("removal outside a walk: %d left", len(lp.conns))
	}
}

// addrHandler sends what RemoteAddr says at each event, and the closed
// socket itself.
type addrHandler struct {
	got    chan string
	closed chan engine.Socket
}

func (h addrHandler) OnOpen(s engine.Socket) { h.got <- s.RemoteAddr().String() }
func (h addrHandler) OnMessage(s engine.Socket, _ engine.OpCode, _ []byte) {
	h.got <- s.RemoteAddr().String()
}
func (h addrHandler) OnClose(s engine.Socket, _ engine.StatusCode, _ string) {
	h.got <- s.RemoteAddr().String()
	h.closed <- s
}

// The peer's address is the same before, during and after the close, on
// the loop and on workers (it is gnet's until the close, then a copy).
func TestRemoteAddrOutlivesTheConnection(t *testing.T) {
	for _, workers := range []int{0, 2} {
		h := addrHandler{got: make(chan string, 8), closed: make(chan engine.Socket, 1)}
		s, _ := start(t, Options{Handler: h, Loops: 1, Workers: workers})
		c := rawUpgrade(t, s.Addr().String())
		want := c.LocalAddr().String()
		if _, err := c.Write(clientFrame(engine.OpText, true, []byte("hi"))); err != nil {
			t.Fatal(err)
		}
		c.Close()
		for _, when := range []string{"OnOpen", "OnMessage", "OnClose"} {
			if got := waitFor(t, h.got, when); got != want {
				t.Errorf("workers %d, %s: RemoteAddr %s, want %s", workers, when, got, want)
			}
		}
		// The loop finishes a close (gnet releases the connection) before
		// it takes its next event: once a second connection has its 101,
		// the first is gone.
		gone := waitFor(t, h.closed, "the closed socket")
		rawUpgrade(t, s.Addr().String())
		waitFor(t, h.got, "the second connection's OnOpen")
		if got := gone.RemoteAddr().String(); got != want {
			t.Errorf("workers %d, after the close: RemoteAddr %s, want %s", workers, got, want)
		}
	}
}
