//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
