//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"
	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/load"
)

// serve starts the ceiling on loopback for the whole test binary (it has no
// way to stop) and returns its address.
func serve(t *testing.T) string {
	t.Helper()
	ready := make(chan string, 1)
	go func() {
		if err := run("127.0.0.1:0", func(a string) { ready <- a }); err != nil {
			panic(err)
		}
	}()
	select {
	case a := <-ready:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("the ceiling did not listen")
		return ""
	}
}

// TestEchoBytes: every message comes back as it was sent, across the
// lengths where the header changes (125/126, 65535/65536), messages larger
// than the 1 MiB read buffer, and many messages written at once (one read,
// one writev of many frames); a ping is answered with a pong, and a close is
// echoed.
func TestEchoBytes(t *testing.T) {
	addr := serve(t)
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sizes := []int{0, 1, 125, 126, 127, 1000, 65535, 65536, 70000, 1 << 20, 3<<20 + 7}
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte(i + 'a')}, n)
		if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(got, p) {
			t.Fatalf("size %d: type %d, %d bytes back, err %v", n, typ, len(got), err)
		}
	}
	// Many at once, without waiting: echoed in order.
	const k = 500
	go func() {
		for i := range k {
			_ = c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("message %d %s", i, bytes.Repeat([]byte("x"), i*37%3000))))
		}
	}()
	for i := range k {
		_, got, err := c.ReadMessage()
		if err != nil || !bytes.HasPrefix(got, []byte(fmt.Sprintf("message %d ", i))) {
			t.Fatalf("message %d: %.20q, %v", i, got, err)
		}
	}
	pong := make(chan string, 1)
	c.SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ReadMessage() // reads the pong (handler), then the close
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("after a close: %v", err)
	}
	select {
	case s := <-pong:
		if s != "hi" {
			t.Fatalf("pong %q", s)
		}
	default:
		t.Fatal("no pong")
	}
}

// TestUnderLoad: the loader's echo against the ceiling, briefly, with frames
// that a read splits (16 KiB, 16 in flight): no errors, every connection
// served.
func TestUnderLoad(t *testing.T) {
	addr := serve(t)
	res, err := load.Run(context.Background(), load.Config{URL: "ws://" + addr + "/", Conns: 20, Inflight: 16, Size: 16 << 10,
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != 20 || res.Errors != 0 || res.MinPerConn == 0 {
		t.Fatalf("open %d, errors %d %v, min per conn %d", res.Open, res.Errors, res.ErrorKinds, res.MinPerConn)
	}
}

// TestBroadcast: on /broadcast, every message any member sends reaches every
// member, the sender included, in the order sent, across the lengths where
// the header changes; a burst sent at once (one wake-up's worth, coalesced
// into one write per member) arrives whole and in order; echo connections
// are left out; a member that leaves is no longer written to; and a ping
// from a member is answered to it alone.
func TestBroadcast(t *testing.T) {
	addr := serve(t)
	dial := func(path string) *websocket.Conn {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	echo := dial("/")
	var members []*websocket.Conn
	for range 5 {
		members = append(members, dial("/broadcast"))
	}
	// The handshakes are done once each has its 101; the server has taken
	// each into the room before answering.
	expect := func(c *websocket.Conn, want []byte) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, got, err := c.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(got, want) {
			t.Fatalf("got type %d, %.20q (%d bytes), err %v; want %.20q (%d bytes)", typ, got, len(got), err, want, len(want))
		}
	}
	for i, n := range []int{0, 1, 125, 126, 65535, 65536, 200000} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		from := members[i%len(members)]
		if err := from.WriteMessage(websocket.BinaryMessage, p); err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			expect(m, p)
		}
	}
	const k = 200
	var burst []byte
	var msgs [][]byte
	for i := range k {
		p := []byte(fmt.Sprintf("burst %d %s", i, bytes.Repeat([]byte("y"), i*13%500)))
		msgs = append(msgs, p)
		burst = append(burst, clientFrame(p)...)
	}
	// One write of k frames: the server reads them in one or a few
	// wake-ups and writes each member the lot in as many writes.
	if _, err := members[0].UnderlyingConn().Write(burst); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		for _, p := range msgs {
			expect(m, p)
		}
	}
	// A member leaves; the others still get what is sent.
	if err := members[4].Close(); err != nil {
		t.Fatal(err)
	}
	members = members[:4]
	pong := make(chan string, 1)
	members[1].SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := members[1].WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	last := []byte("last")
	if err := members[1].WriteMessage(websocket.BinaryMessage, last); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		expect(m, last) // members[1] reads its pong on the way
	}
	select {
	case s := <-pong:
		if s != "hi" {
			t.Fatalf("pong %q", s)
		}
	default:
		t.Fatal("no pong")
	}
	// The echo connection received none of it.
	if err := echo.WriteMessage(websocket.BinaryMessage, []byte("mine")); err != nil {
		t.Fatal(err)
	}
	expect(echo, []byte("mine"))
}

// clientFrame returns a masked binary client frame carrying p (a zero key:
// masking is the identity, which the server cannot tell).
func clientFrame(p []byte) []byte {
	f := []byte{0x82}
	switch {
	case len(p) < 126:
		f = append(f, 0x80|byte(len(p)))
	case len(p) < 1<<16:
		f = append(f, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		panic("clientFrame: too long")
	}
	f = append(f, 0, 0, 0, 0)
	return append(f, p...)
}

// TestBroadcastUnderLoad: the loader's paced broadcast against the ceiling,
// briefly: no errors, nothing missing, every receiver served.
func TestBroadcastUnderLoad(t *testing.T) {
	addr := serve(t)
	res, err := load.Run(context.Background(), load.Config{URL: "ws://" + addr + "/broadcast", Mode: load.Broadcast, Conns: 50,
		Inflight: 4, Interval: -1, Size: 128, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != 50 || res.Errors != 0 || res.Missing != 0 || res.Sent == 0 || res.MinPerConn != res.Sent {
		t.Fatalf("open %d, errors %d %v, missing %d, sent %d, min per conn %d", res.Open, res.Errors, res.ErrorKinds, res.Missing, res.Sent, res.MinPerConn)
	}
}

// TestFramesCoalesce: frames turns a read of client frames into server
// frames in place, a frame of up to smallFrame bytes of payload moved back
// to extend the iovec before it, a larger one in an iovec of its own; the
// bytes of the iovecs, end to end, are the server frames in order; a
// partial frame at the end is left where it lies.
func TestFramesCoalesce(t *testing.T) {
	sizes := []int{0, 1, 125, 126, smallFrame, smallFrame + 1, 3, 70000, 2, 600, 5}
	const iovecs = 4 // [0 … smallFrame], [smallFrame+1, 3], [70000, 2], [600, 5]
	var in, want []byte
	for i, n := range sizes {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i*7 + j)
		}
		in = engine.AppendFrame(in, engine.Header{Fin: true, OpCode: engine.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, byte(i)}}, p)
		want = engine.AppendFrame(want, engine.Header{Fin: true, OpCode: engine.OpBinary}, p)
	}
	whole := len(in)
	in = append(in, 0x82, 0x80|100, 9, 9) // the start of one more
	s := &server{}
	c := &conn{}
	if n := s.frames(c, in); n != whole {
		t.Fatalf("consumed %d bytes, want %d", n, whole)
	}
	if len(s.iov) != iovecs {
		t.Errorf("%d iovecs, want %d", len(s.iov), iovecs)
	}
	var got []byte
	for _, v := range s.iov {
		got = append(got, unsafe.Slice(v.Base, v.Len)...)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the iovecs hold %d bytes, not the %d of the server frames (or not the same)", len(got), len(want))
	}
	if !bytes.Equal(in[whole:], []byte{0x82, 0x80 | 100, 9, 9}) {
		t.Errorf("the partial frame moved: % x", in[whole:])
	}
}
