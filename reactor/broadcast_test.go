package reactor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// TestBroadcastBurst: many broadcasts made in one wake-up of the loop (a
// burst of frames read at once from one member) reach every member whole
// and in order, each member's in one write per run of broadcasts: frames
// of every size, runs of more than rawWriteMax bytes (on through gnet's
// Writev), and members with and without permessage-deflate (frames
// compressed per window size, with context takeover added to the member's
// window in order).
func TestBroadcastBurst(t *testing.T) {
	for _, take := range []bool{false, true} {
		t.Run(fmt.Sprintf("takeover=%v", take), func(t *testing.T) {
			comp := &engine.Compression{ContextTakeover: take}
			h := &chatRoom{}
			s, url := startRoom(t, Options{Handler: h, Handshake: engine.ServerHandshake{Compression: comp}}, &h.room)
			sender := rawUpgrade(t, s.Addr().String())
			go func() { _, _ = io.Copy(io.Discard, sender.r) }() // its own deliveries
			var recs []*recorder
			for i := range 6 {
				var opts *engine.DialOptions
				if i%2 == 0 {
					opts = &engine.DialOptions{Compression: comp}
				}
				rec := newRecorder(false)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				c, err := engine.Dial(ctx, url, rec, opts)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				go func() { _ = c.Serve() }()
				t.Cleanup(func() { _ = c.Close(engine.StatusNormalClosure, "") })
				recs = append(recs, rec)
			}
			// No wait for the joins: each was queued to its loop before
			// that member's 101, so before any broadcast the burst causes.
			var msgs [][]byte
			var burst []byte
			for i := range 300 {
				n := i * 37 % 3000
				if i%100 == 50 {
					n = 70000 + i
				}
				m := append([]byte(fmt.Sprintf("burst %d ", i)), jsonLike(n)...)
				msgs = append(msgs, m)
				burst = append(burst, clientFrame(engine.OpText, true, m)...)
			}
			for round := range 3 {
				if _, err := sender.Write(burst); err != nil {
					t.Fatal(err)
				}
				for j, rec := range recs {
					for i, m := range msgs {
						if got := waitFor(t, rec.msgs, "a broadcast"); !bytes.Equal(got, m) {
							t.Fatalf("round %d, member %d, message %d: got %.20q (%d bytes), want %.20q (%d bytes)", round, j, i, got, len(got), m, len(m))
						}
					}
				}
			}
		})
	}
}

// castFixed broadcasts the same prepared message to its room for every
// message it hears: the server's own allocations per broadcast, without
// NewPrepared's.
type castFixed struct {
	engine.BaseHandler
	room *Group
	p    *engine.Prepared
}

func (h *castFixed) OnOpen(s engine.Socket)                         { h.room.Add(s) }
func (h *castFixed) OnMessage(engine.Socket, engine.OpCode, []byte) { h.room.Broadcast(h.p) }

// TestBroadcastZeroAllocs: in steady state, a member's burst of 4
// messages, broadcast to 9 members (one write each for the 4), allocates
// nothing in the server.
func TestBroadcastZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	payload := bytes.Repeat([]byte("b"), 128)
	h := &castFixed{p: engine.NewPrepared(engine.OpBinary, payload)}
	s, _ := startRoom(t, Options{Handler: h}, &h.room)
	var members []*raw
	for range 9 {
		members = append(members, rawUpgrade(t, s.Addr().String()))
	}
	// The joins were queued before the 101s, so before the first burst's
	// broadcasts; the warm-up rounds read every delivery.
	const k = 4
	var burst []byte
	for range k {
		burst = append(burst, clientFrame(engine.OpBinary, true, payload)...)
	}
	buf := make([]byte, k*(2+len(payload)))
	round := func() {
		if _, err := members[0].Write(burst); err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if _, err := io.ReadFull(m.r, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 100 {
		round()
	}
	if a := testing.AllocsPerRun(500, round); a != 0 {
		t.Errorf("%.2f allocations per burst of %d broadcasts to 9", a, k)
	}
}

// startRoom starts a server of one loop whose handler broadcasts to
// *room, the group "room", set before the server starts.
func startRoom(t *testing.T, opts Options, room **Group) (*Server, string) {
	t.Helper()
	opts.Loops = 1
	opts.Handshake.CheckOrigin = func(*engine.Request) bool { return true }
	s := New(opts)
	*room = s.Group("room")
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, "ws://" + s.Addr().String() + "/"
}
