package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tachyonws/tachyon"
	"github.com/tachyonws/tachyon/engine"
)

// runAgainstServerAPI is runAgainstServer with the root package's client:
// tachyon.Dial, Write and Read with contexts, a Writer for the fragmented
// message, Ping while a Read waits, and Close.
func runAgainstServerAPI(t *testing.T, command string, args ...string) {
	p := startPeer(t, nil, command, args...)
	var hello peerServerLine
	p.jsonLine(t, 20*time.Second, &hello)
	if hello.Port == 0 {
		t.Fatalf("server script printed no port: %+v", hello)
	}
	t.Logf("peer: %s on port %d", hello.Peer, hello.Port)

	ctx := testContext(t, 30*time.Second)
	url := fmt.Sprintf("ws://127.0.0.1:%d/echo", hello.Port)
	c, err := tachyon.Dial(ctx, url, &tachyon.DialOptions{Protocols: []string{"other.proto", subprotocol}})
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if got := c.Subprotocol(); got != subprotocol {
		t.Errorf("Subprotocol() = %q, want %q", got, subprotocol)
	}
	echo := func(name string, op tachyon.OpCode, msg []byte) {
		t.Helper()
		if err := c.Write(ctx, op, msg); err != nil {
			t.Fatalf("%s: Write: %v", name, err)
		}
		gop, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("%s: Read: %v", name, err)
		}
		checkEcho(t, name, gop, msg, message{gop, got})
		if gop != op {
			t.Errorf("%s: echo opcode %v, want %v", name, gop, op)
		}
	}
	for _, n := range sizes {
		echo(fmt.Sprintf("text-%d", n), tachyon.Text, textPayload(n))
	}
	for _, n := range sizes {
		echo(fmt.Sprintf("binary-%d", n), tachyon.Binary, binaryPayload(n))
	}

	// A text message in three fragments split inside a character, with a
	// ping sent meanwhile (between two of them, or after them: Ping runs on
	// a goroutine of its own and waits for its pong, which a Read takes in).
	whole := textPayload(70000)
	const cut1, cut2 = 2, 40001
	w, err := c.Writer(ctx, tachyon.Text)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(whole[:cut1]); err != nil {
		t.Fatalf("fragment 1: %v", err)
	}
	pinged := make(chan error, 1)
	go func() { pinged <- c.Ping(ctx) }()
	for _, part := range [][]byte{whole[cut1:cut2], whole[cut2:]} {
		if _, err := w.Write(part); err != nil {
			t.Fatalf("fragment: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	op, r, err := c.Reader(ctx)
	if err != nil {
		t.Fatalf("Reader: %v", err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading the fragmented echo: %v", err)
	}
	checkEcho(t, "fragmented text", op, whole, message{op, got})

	// The pongs come in while a Read waits, which is then cancelled: that
	// closes nothing.
	rctx, cancel := context.WithCancel(ctx)
	read := make(chan error, 1)
	go func() {
		_, _, err := c.Read(rctx)
		read <- err
	}()
	if err := <-pinged; err != nil {
		t.Errorf("Ping during the fragmented message: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	cancel()
	if err := <-read; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Read returned %v", err)
	}
	echo("after a cancelled Read", tachyon.Text, []byte("still open"))

	if err := c.Close(tachyon.StatusNormalClosure, "go done"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := c.Read(ctx); tachyon.CloseStatus(err) != engine.StatusNormalClosure {
		t.Errorf("Read after Close = %v, want the echoed 1000", err)
	}
	for {
		var ev peerServerLine
		p.jsonLine(t, 10*time.Second, &ev)
		if ev.Event == "ping" || ev.Event == "" {
			continue
		}
		if ev.Event != "close" {
			t.Fatalf("server script reported %+v", ev)
		}
		if ev.Code != 1000 || ev.Reason != "go done" || ev.Protocol != subprotocol {
			t.Errorf("server saw close (%d, %q) on protocol %q, want (1000, \"go done\") on %q", ev.Code, ev.Reason, ev.Protocol, subprotocol)
		}
		break
	}
}

func TestNodeServerAPI(t *testing.T) {
	node := requireNode(t)
	runAgainstServerAPI(t, node, "node/server.mjs")
}

func TestPythonServerAPI(t *testing.T) {
	requirePython(t)
	runAgainstServerAPI(t, pythonPath, "python/server.py")
}
