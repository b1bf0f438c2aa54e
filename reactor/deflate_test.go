package reactor

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// jsonLike returns n bytes of compressible text.
func jsonLike(n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"seq":%d,"user":"user%d","text":"hello from the room"},`, i, i%7)
	}
	return []byte(b.String()[:n])
}

// TestDeflateEchoAndBroadcast: the client and the reactor negotiate
// permessage-deflate (with and without context takeover); echoes of many
// sizes and a group broadcast arrive intact, and both ends report the
// agreement.
func TestDeflateEchoAndBroadcast(t *testing.T) {
	for _, take := range []bool{false, true} {
		t.Run(fmt.Sprintf("takeover=%v", take), func(t *testing.T) {
			comp := &engine.Compression{ContextTakeover: take, ServerMaxWindowBits: 12, ClientMaxWindowBits: 11}
			var s *Server
			opened := make(chan engine.Socket, 4)
			h := &groupEcho{opened: opened}
			s, url := start(t, Options{Handler: h, Handshake: engine.ServerHandshake{Compression: comp}})
			h.g.Store(s.Group("room"))
			rec := newRecorder(false)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := engine.Dial(ctx, url, rec, &engine.DialOptions{Compression: comp})
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = c.Serve() }()
			defer c.Close(engine.StatusNormalClosure, "")
			srv := waitFor(t, opened, "open")
			want := "permessage-deflate out=12 in=11 no-takeover"
			if take {
				want = "permessage-deflate out=12 in=11 takeover"
			}
			if got := srv.Deflate().String(); got != want {
				t.Fatalf("server agreed %s, want %s", got, want)
			}
			if !c.Deflate().Enabled() {
				t.Fatal("client did not agree")
			}
			for _, n := range []int{0, 10, 511, 512, 4000, 70000, 1 << 20} {
				msg := jsonLike(n)
				_ = c.WriteMessage(engine.OpText, msg)
				if got := waitFor(t, rec.msgs, "echo"); !bytes.Equal(got, msg) {
					t.Fatalf("%d bytes: echo of %d bytes differs", n, len(got))
				}
			}
			msg := jsonLike(3000)
			h.g.Load().Broadcast(engine.NewPrepared(engine.OpText, msg))
			if got := waitFor(t, rec.msgs, "broadcast"); !bytes.Equal(got, msg) {
				t.Fatal("broadcast differs")
			}
			// After the broadcast, the windows still agree.
			_ = c.WriteMessage(engine.OpText, msg)
			if got := waitFor(t, rec.msgs, "echo"); !bytes.Equal(got, msg) {
				t.Fatal("echo after broadcast differs")
			}
		})
	}
}

// groupEcho echoes and puts every connection in its group.
type groupEcho struct {
	engine.BaseHandler
	g      atomic.Pointer[Group] // set once the server runs, before any dial
	opened chan engine.Socket
}

func (h *groupEcho) OnOpen(s engine.Socket) {
	h.g.Load().Add(s)
	h.opened <- s
}
func (h *groupEcho) OnMessage(s engine.Socket, op engine.OpCode, p []byte) { _ = s.WriteMessage(op, p) }

// TestDeflateBombRefused: a message that inflates past the message limit
// is refused with 1009 and the connection closed; the server goes on.
func TestDeflateBombRefused(t *testing.T) {
	comp := &engine.Compression{}
	s, _ := start(t, Options{Handler: echo{}, Handshake: engine.ServerHandshake{Compression: comp}, Conn: engine.Config{MaxMessageSize: 1 << 20}})
	c := rawDeflateUpgrade(t, s.Addr().String())
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 9)
	_, _ = w.Write(make([]byte, 8<<20))
	_ = w.Flush()
	p := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	if _, err := c.Write(compressedClientFrame(engine.OpBinary, p)); err != nil {
		t.Fatal(err)
	}
	h, payload := c.readFrame(t)
	if h.OpCode != engine.OpClose || binary.BigEndian.Uint16(payload) != uint16(engine.StatusMessageTooBig) {
		t.Fatalf("got %v %q, want a 1009 close", h.OpCode, payload)
	}
}

const rawDeflateRequest = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"

func rawDeflateUpgrade(t testing.TB, addr string) *raw {
	t.Helper()
	c := rawDial(t, addr)
	if _, err := c.Write([]byte(rawDeflateRequest)); err != nil {
		t.Fatal(err)
	}
	if status := c.readResponse(t); status != 101 {
		t.Fatalf("handshake status %d", status)
	}
	return c
}

// compressedClientFrame frames an already compressed payload as a client
// sends it: RSV1, masked.
func compressedClientFrame(op engine.OpCode, p []byte) []byte {
	key := [4]byte{7, 1, 9, 3}
	f := engine.AppendFrame(nil, engine.Header{Fin: true, Rsv: engine.Rsv1, OpCode: op, Masked: true, Mask: key}, p)
	return f
}

// TestZeroAllocsCompressed echoes compressed messages over loopback with a
// raw client that allocates nothing itself: the server inflates, compresses
// and sends with no allocation per message.
func TestZeroAllocsCompressed(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, _ := start(t, Options{Handler: echo{}, Loops: 1, Handshake: engine.ServerHandshake{Compression: &engine.Compression{}}})
	c := rawDeflateUpgrade(t, s.Addr().String())
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 6)
	_, _ = w.Write(jsonLike(2048))
	_ = w.Flush()
	frame := compressedClientFrame(engine.OpText, bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff}))
	var hdr [10]byte
	buf := make([]byte, 4096)
	roundTrip := func() {
		if _, err := c.Conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c.r, hdr[:2]); err != nil {
			t.Fatal(err)
		}
		if hdr[0] != 0xC1 { // FIN, RSV1, text: compressed on the way back too
			t.Fatalf("echo header %#x", hdr[0])
		}
		n := int(hdr[1] & 0x7F)
		if n == 126 {
			if _, err := io.ReadFull(c.r, hdr[2:4]); err != nil {
				t.Fatal(err)
			}
			n = int(binary.BigEndian.Uint16(hdr[2:4]))
		}
		if _, err := io.ReadFull(c.r, buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		roundTrip()
	}
	if a := testing.AllocsPerRun(1000, roundTrip); a != 0 {
		t.Errorf("%.2f allocations per compressed echo", a)
	}
}

// countMessages counts the messages a client engine.Conn delivers.
type countMessages struct{ n int }

func (c *countMessages) OnMessage(engine.OpCode, []byte)        { c.n++ }
func (c *countMessages) OnFragment(engine.OpCode, []byte, bool) {}
func (c *countMessages) OnPing([]byte)                          {}
func (c *countMessages) OnPong([]byte)                          {}
func (c *countMessages) OnClose(engine.StatusCode, []byte)      {}

// TestZeroAllocsCompressedTakeover: with context takeover, once each
// connection's windows exist, the server's compressed echo allocates
// nothing either. The client is an engine.Conn over a raw socket (it
// allocates nothing itself), so that its windows follow the server's.
func TestZeroAllocsCompressedTakeover(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	comp := &engine.Compression{ContextTakeover: true, ServerMaxWindowBits: 13, ClientMaxWindowBits: 12}
	s, _ := start(t, Options{Handler: echo{}, Loops: 1, Handshake: engine.ServerHandshake{Compression: comp}})
	offer := comp.Offer()
	// The server's answer is Negotiate's on this offer; Accept makes the
	// client's agreement from it, as Dial would.
	resp, _, ok := comp.Negotiate(nil, [][]byte{[]byte(offer)})
	if !ok {
		t.Fatalf("offer %q declined", offer)
	}
	cd, err := comp.Accept([][]byte{resp})
	if err != nil {
		t.Fatal(err)
	}
	c := rawDial(t, s.Addr().String())
	req := strings.Replace(rawDeflateRequest, "permessage-deflate; client_max_window_bits", offer, 1)
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if status := c.readResponse(t); status != 101 {
		t.Fatalf("handshake status %d", status)
	}
	ev := &countMessages{}
	peer := engine.NewConn(engine.RoleClient, ev, engine.Config{Deflate: cd})
	msg := jsonLike(3000)
	buf := make([]byte, 16<<10)
	var pending []byte
	roundTrip := func() {
		before := ev.n
		if err := peer.WriteMessage(engine.OpText, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Conn.Write(peer.Output()); err != nil {
			t.Fatal(err)
		}
		peer.Advance(len(peer.Output()))
		for ev.n == before {
			n, err := c.r.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			pending = append(pending, buf[:n]...)
			k, err := peer.Feed(pending)
			if err != nil {
				t.Fatal(err)
			}
			pending = pending[:copy(pending, pending[k:])]
		}
	}
	for range 100 {
		roundTrip()
	}
	if a := testing.AllocsPerRun(1000, roundTrip); a != 0 {
		t.Errorf("%.2f allocations per compressed echo with context takeover", a)
	}
}
