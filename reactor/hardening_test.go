package reactor

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// waitUntil polls cond until it holds; the deadline only bounds a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// longHeader is the header of a masked binary frame of length n with a
// zero key: its payload goes on the wire as it is.
func longHeader(n int64) []byte {
	return engine.AppendHeader(nil, engine.Header{Fin: true, OpCode: engine.OpBinary, Masked: true, Length: n})
}

// TestBudgetBoundsHeldMessages: peers that each hold a large unfinished
// message cannot take the server past its inbound budget: the ones that
// would are closed with 1008, and everything reserved comes back once they
// leave.
func TestBudgetBoundsHeldMessages(t *testing.T) {
	const limit = 8 << 20
	b := engine.NewBudget(limit)
	s, _ := start(t, Options{Handler: echo{}, Budget: b})
	const peers, each = 6, 3 << 20
	clients := make([]*raw, peers)
	for i := range clients {
		c := rawUpgrade(t, s.Addr().String())
		clients[i] = c
		go func() { // the server may close it halfway: the write then fails
			_, _ = c.Write(longHeader(16 << 20))
			_, _ = c.Write(make([]byte, each))
		}()
	}
	// 18 MiB of messages against an 8 MiB budget: some peers are refused
	// (1008), the others hold what fits.
	waitUntil(t, "a peer refused with 1008", func() bool { return s.Stats().Closes[engine.StatusPolicyViolation] > 0 })
	if u := b.Used(); u > limit || u == 0 {
		t.Fatalf("budget used %d, want within (0, %d]", u, limit)
	}
	if n := s.Stats().Closes[engine.StatusPolicyViolation]; n == peers {
		t.Fatalf("all %d peers refused", n)
	}
	for _, c := range clients {
		c.Close()
	}
	waitUntil(t, "the budget to be returned", func() bool { return b.Used() == 0 })
}

// TestHeldInputCharged: bytes of partial frames waiting in gnet's inbound
// buffer count against the budget too.
func TestHeldInputCharged(t *testing.T) {
	b := engine.NewBudget(32 << 10)
	s, _ := start(t, Options{Handler: echo{}, Budget: b, Loops: 1})
	var clients []*raw
	for range 16 {
		c := rawUpgrade(t, s.Addr().String())
		clients = append(clients, c)
		f := clientFrame(engine.OpBinary, true, make([]byte, 4000))
		if _, err := c.Write(f[:len(f)-1]); err != nil { // one byte short: it waits
			t.Fatal(err)
		}
	}
	// 16 × 4 KiB waiting against a 32 KiB budget.
	waitUntil(t, "a peer refused with 1008", func() bool { return s.Stats().Closes[engine.StatusPolicyViolation] > 0 })
	if b.Used() > b.Limit() {
		t.Fatalf("used %d of %d", b.Used(), b.Limit())
	}
	for _, c := range clients {
		c.Close()
	}
	waitUntil(t, "the budget to be returned", func() bool { return b.Used() == 0 })
}

// TestFastReaderNeverDropped: a peer that reads at full speed gets every
// echo and pong, whatever the message size within the limits: a 16 MiB
// message and a ping; two 8 MiB messages back to back and a ping.
func TestFastReaderNeverDropped(t *testing.T) {
	s, _ := start(t, Options{Handler: echo{}, Loops: 1})
	cases := map[string][]int{"16MiB+ping": {16 << 20}, "2x8MiB+ping": {8 << 20, 8 << 20}}
	for name, sizes := range cases {
		for try := range 3 {
			c := rawUpgrade(t, s.Addr().String())
			go func() {
				for _, n := range sizes {
					_, _ = c.Write(longHeader(int64(n)))
					_, _ = c.Write(make([]byte, n))
				}
				_, _ = c.Write(clientFrame(engine.OpPing, true, []byte("after")))
			}()
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			for _, n := range sizes {
				h, p := c.readFrame(t)
				if h.OpCode != engine.OpBinary || len(p) != n {
					t.Fatalf("%s try %d: got %v of %d bytes, want the %d-byte echo", name, try, h.OpCode, len(p), n)
				}
			}
			if h, p := c.readFrame(t); h.OpCode != engine.OpPong || string(p) != "after" {
				t.Fatalf("%s try %d: got %v %q, want the pong", name, try, h.OpCode, p)
			}
			c.Close()
		}
	}
	if st := s.Stats(); st.SlowClosed != 0 {
		t.Fatalf("SlowClosed = %d", st.SlowClosed)
	}
}

// TestSlowReaderGets1008: a peer that does not read what it is sent is
// given up once it has taken nothing for CloseTimeout: its handler hears
// 1008, and when the peer reads at last it finds the close frame 1008
// behind what was queued, then the end of the stream.
func TestSlowReaderGets1008(t *testing.T) {
	rec := newRecorder(false)
	s, _ := start(t, Options{Handler: rec, MaxOutbound: 64 << 10, CloseTimeout: 2 * time.Second, Loops: 1})
	c := dialSmallReceiveBuffer(t, s.Addr().String())
	sock := waitFor(t, rec.opened, "open")
	payload := make([]byte, 16<<10)
	done := make(chan struct{})
	go func() { // writes until the server gives up on the peer
		defer close(done)
		for sock.WriteMessage(engine.OpBinary, payload) == nil {
			time.Sleep(time.Millisecond) // a steady stream, not a flood
		}
	}()
	ce := waitFor(t, rec.closes, "OnClose")
	if ce.Code != engine.StatusPolicyViolation || ce.Reason != "slow reader" {
		t.Fatalf("OnClose %v, want 1008 slow reader", ce)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if code := c.expectClose(t); code != engine.StatusPolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	c.expectEOF(t)
	<-done
	if st := s.Stats(); st.SlowClosed != 1 {
		t.Fatalf("SlowClosed = %d", st.SlowClosed)
	}
}

// TestMessageTimeout: a peer that starts a frame and stops is closed with
// 1008 once MessageTimeout passes.
func TestMessageTimeout(t *testing.T) {
	rec := newRecorder(false)
	s, _ := start(t, Options{Handler: rec, Liveness: engine.Liveness{MessageTimeout: 300 * time.Millisecond}})
	c := rawUpgrade(t, s.Addr().String())
	f := clientFrame(engine.OpText, true, bytes.Repeat([]byte("a"), 100))
	if _, err := c.Write(f[:50]); err != nil {
		t.Fatal(err)
	}
	if code := c.expectClose(t); code != engine.StatusPolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	if ce := waitFor(t, rec.closes, "OnClose"); ce.Reason != "message timeout" {
		t.Fatalf("OnClose %v", ce)
	}
}

// chatRoom joins every connection to a room and broadcasts what it hears.
type chatRoom struct {
	engine.BaseHandler
	room *Group
}

func (h *chatRoom) OnOpen(s engine.Socket) { h.room.Add(s) }
func (h *chatRoom) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	h.room.Broadcast(engine.NewPrepared(op, p))
}

// TestNewMemberGetsEveryBroadcast: a connection that has its 101 receives
// every broadcast made after it, also when the sender is on another loop
// and handlers run on workers: membership is applied before the 101
// leaves.
func TestNewMemberGetsEveryBroadcast(t *testing.T) {
	for _, workers := range []int{0, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			h := &chatRoom{}
			s := New(Options{Handler: h, Loops: 2, Workers: workers, Handshake: engine.ServerHandshake{CheckOrigin: func(*engine.Request) bool { return true }}})
			h.room = s.Group("room")
			if err := s.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = s.Shutdown(ctx)
			})
			url := "ws://" + s.Addr().String() + "/"
			sender, _ := dial(t, url)
			for i := range 100 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				rec := newRecorder(false)
				c, err := engine.Dial(ctx, url, rec, nil)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				go func() { _ = c.Serve() }()
				msg := fmt.Sprintf("round %d", i)
				if err := sender.WriteMessage(engine.OpText, []byte(msg)); err != nil {
					t.Fatal(err)
				}
				for {
					got := waitFor(t, rec.msgs, "the broadcast after the 101")
					if string(got) == msg {
						break
					}
				}
				_ = c.Close(engine.StatusNormalClosure, "")
			}
		})
	}
}
