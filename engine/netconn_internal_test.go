package engine

import (
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// Writing a message through the blocking driver allocates nothing: the
// frame is encoded into the connection's output buffer and written out
// under the lock.
func TestNetConnWriteAllocs(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.Copy(io.Discard, b)
	for _, role := range []Role{RoleServer, RoleClient} {
		c := newNetConn(a, role, BaseHandler{}, Config{}, "", nil)
		payload := []byte("a message of a typical chat size, some sixty bytes or so")
		if allocs := testing.AllocsPerRun(200, func() {
			if err := c.WriteMessage(OpText, payload); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%v: %v allocations per WriteMessage", role, allocs)
		}
	}
}

// notify is a server handler that signals each message.
type notify struct {
	BaseHandler
	got chan struct{}
}

func (n *notify) OnMessage(Socket, OpCode, []byte) { n.got <- struct{}{} }

// servePipe serves a server NetConn over a pipe, tracked by an Upgrader
// (liveness stamps on every read and message) or not, and returns the
// client's end and a masked frame to send.
func servePipe(t testing.TB, tracked bool) (net.Conn, *notify, []byte) {
	a, b := net.Pipe()
	h := &notify{got: make(chan struct{}, 1)}
	c := newNetConn(a, RoleServer, h, Config{}, "", nil)
	if tracked {
		u := &Upgrader{Liveness: Liveness{IdleTimeout: time.Hour}}
		if err := u.reserve(); err != nil {
			t.Fatal(err)
		}
		u.track(c)
	}
	done := make(chan struct{})
	go func() { _ = c.Serve(); close(done) }()
	t.Cleanup(func() { b.Close(); <-done })
	payload := []byte("a message of a typical chat size, some sixty bytes or so")
	frame := AppendFrame(nil, Header{Fin: true, OpCode: OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: int64(len(payload))}, payload)
	return b, h, frame
}

// Reading and delivering a message allocates nothing, with the Upgrader's
// liveness tracking on as well as off: the stamps are atomic stores of a
// coarse clock, not time.Now or timers.
func TestNetConnServeAllocs(t *testing.T) {
	for _, tracked := range []bool{false, true} {
		peer, h, frame := servePipe(t, tracked)
		if allocs := testing.AllocsPerRun(200, func() {
			if _, err := peer.Write(frame); err != nil {
				t.Fatal(err)
			}
			<-h.got
		}); allocs != 0 {
			t.Errorf("tracked=%v: %v allocations per message read", tracked, allocs)
		}
	}
}

func BenchmarkNetConnServe(b *testing.B) {
	for _, tracked := range []bool{false, true} {
		b.Run(map[bool]string{false: "untracked", true: "liveness"}[tracked], func(b *testing.B) {
			peer, h, frame := servePipe(b, tracked)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := peer.Write(frame); err != nil {
					b.Fatal(err)
				}
				<-h.got
			}
		})
	}
}

// pipeEcho is a server handler that echoes and signals each message.
type pipeEcho struct {
	BaseHandler
	got chan struct{}
}

func (e *pipeEcho) OnMessage(s Socket, op OpCode, p []byte) {
	_ = s.WriteMessage(op, p)
	e.got <- struct{}{}
}

// A compressed echo through the blocking driver allocates nothing, as a
// server (Upgrader) and as a client (Dial): the message is inflated and
// the answer compressed with pooled codecs.
func TestNetConnCompressedAllocs(t *testing.T) {
	for _, tc := range []struct {
		role Role
		take bool
	}{{RoleServer, false}, {RoleServer, true}, {RoleClient, false}, {RoleClient, true}} {
		take := tc.take
		cd, sd := agree(t, &Compression{ContextTakeover: take}, &Compression{ContextTakeover: take})
		mine, peerRole, theirs := sd, RoleClient, cd
		if tc.role == RoleClient {
			mine, peerRole, theirs = cd, RoleServer, sd
		}
		a, b := net.Pipe()
		h := &pipeEcho{got: make(chan struct{}, 1)}
		c := newNetConn(a, tc.role, h, Config{Deflate: mine}, "", nil)
		done := make(chan struct{})
		go func() { _ = c.Serve(); close(done) }()
		// The peer: a Conn whose frames go through the pipe; the answers
		// are read and fed back to it, so that its window follows.
		peer := NewConn(peerRole, &countEvents{}, Config{Deflate: theirs})
		msg := jsonish(rand.New(rand.NewPCG(8, 9)), 3000)
		buf := make([]byte, 64<<10)
		var pending []byte
		round := func() {
			_ = peer.WriteMessage(OpText, msg)
			if _, err := b.Write(peer.Output()); err != nil { // net.Pipe: returns once the server read it
				t.Fatal(err)
			}
			peer.Advance(len(peer.Output()))
			for ev := peer.events.(*countEvents); ; {
				before := ev.n
				n, err := b.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				pending = append(pending, buf[:n]...)
				k, err := peer.Feed(pending)
				if err != nil {
					t.Fatal(err)
				}
				pending = pending[:copy(pending, pending[k:])]
				if ev.n > before {
					break
				}
			}
			<-h.got
		}
		for range 20 {
			round()
		}
		if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
			t.Errorf("%v, takeover=%v: %v allocations per compressed echo", tc.role, take, allocs)
		}
		b.Close()
		<-done
	}
}
