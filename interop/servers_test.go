package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// Our client against their servers.

// peerServerLine is a JSON line a server script prints: its port first, then
// events.
type peerServerLine struct {
	Port     int    `json:"port"`
	Peer     string `json:"peer"`
	Event    string `json:"event"`
	Code     int    `json:"code"`
	Reason   string `json:"reason"`
	Protocol string `json:"protocol"`
	Payload  string `json:"payload"`

	// "open" events, with compression on: the response's
	// Sec-WebSocket-Extensions and what the peer agreed, in its own words.
	Extensions string          `json:"extensions"`
	Params     json.RawMessage `json:"params"`
}

type message struct {
	op      engine.OpCode
	payload []byte
}

// clientHandler hands what the connection hears to the test.
type clientHandler struct {
	engine.BaseHandler
	msgs   chan message
	pongs  chan string
	closes chan closeEvent
}

func newClientHandler() *clientHandler {
	return &clientHandler{
		msgs:   make(chan message, 4),
		pongs:  make(chan string, 4),
		closes: make(chan closeEvent, 1),
	}
}

func (h *clientHandler) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	h.msgs <- message{op, bytes.Clone(p)} // the payload is borrowed
}

func (h *clientHandler) OnPong(_ engine.Socket, p []byte) {
	h.pongs <- string(p)
}

func (h *clientHandler) OnClose(_ engine.Socket, code engine.StatusCode, reason string) {
	h.closes <- closeEvent{code, reason}
}

// next returns the next message, or fails the test after timeout.
func (h *clientHandler) next(t *testing.T, what string) message {
	t.Helper()
	select {
	case m := <-h.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
	}
	return message{}
}

// checkEcho compares an echo with what was sent.
func checkEcho(t *testing.T, name string, op engine.OpCode, sent []byte, m message) {
	t.Helper()
	if m.op != op {
		t.Errorf("%s: echo opcode %v, want %v", name, m.op, op)
	}
	if !bytes.Equal(m.payload, sent) {
		t.Errorf("%s: echo differs: %s", name, firstDiff(sent, m.payload))
	}
}

func firstDiff(want, got []byte) string {
	if len(want) != len(got) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Sprintf("byte %d: %#x, want %#x", i, got[i], want[i])
		}
	}
	return "equal"
}

// runAgainstServer starts a server script, dials it with engine.Dial and runs
// the exchange: every size of text and binary, a text message in fragments
// with a ping between them, a ping, and the close handshake.
func runAgainstServer(t *testing.T, command string, args ...string) {
	runAgainstServerWith(t, nil, command, args...)
}

// runAgainstServerWith is runAgainstServer, with compression when dc is not
// nil: the script is then started with dc's peer options as its config, Dial
// offers dc.ours through a tap, the exchange begins with a run of similar
// messages, sends the window probe (farPayload) twice after the sizes and
// then a message the server echoes in three compressed fragments, and what
// went over the wire is checked against dc (checkClientWire).
func runAgainstServerWith(t *testing.T, dc *deflateCase, command string, args ...string) {
	if dc != nil {
		args = append(args, dc.peerConfig(t))
	}
	p := startPeer(t, nil, command, args...)
	var hello peerServerLine
	p.jsonLine(t, 20*time.Second, &hello)
	if hello.Port == 0 {
		t.Fatalf("server script printed no port: %+v", hello)
	}
	t.Logf("peer: %s on port %d", hello.Peer, hello.Port)

	h := newClientHandler()
	ctx := testContext(t, 10*time.Second)
	addr := fmt.Sprintf("127.0.0.1:%d", hello.Port)
	opts := &engine.DialOptions{
		Protocols:        []string{"other.proto", subprotocol},
		HandshakeTimeout: 10 * time.Second,
	}
	var tp *tap
	if dc != nil {
		tp = startTap(t, addr)
		addr = tp.addr()
		opts.Compression = dc.ours
	}
	url := fmt.Sprintf("ws://%s/echo", addr)
	c, err := engine.Dial(ctx, url, h, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	served := make(chan error, 1)
	go func() { served <- c.Serve() }()
	t.Cleanup(func() {
		_ = c.Close(engine.StatusGoingAway, "")
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return")
		}
	})
	if got := c.Subprotocol(); got != subprotocol {
		t.Errorf("Subprotocol() = %q, want %q", got, subprotocol)
	}
	var tc *tapConn
	if dc != nil {
		tc = tp.next(t, 10*time.Second)
		if d, ok := deflateOf(c); ok {
			dc.checkAgreement(t, d)
		}
		for i := range runLen {
			msg := runMessage(i)
			if err := c.WriteMessage(engine.OpText, msg); err != nil {
				t.Fatalf("run-%d: WriteMessage: %v", i, err)
			}
			checkEcho(t, fmt.Sprintf("run-%d", i), engine.OpText, msg, h.next(t, fmt.Sprintf("run-%d echo", i)))
		}
	}

	for _, n := range sizes {
		msg := textPayload(n)
		if err := c.WriteMessage(engine.OpText, msg); err != nil {
			t.Fatalf("text-%d: WriteMessage: %v", n, err)
		}
		checkEcho(t, fmt.Sprintf("text-%d", n), engine.OpText, msg, h.next(t, fmt.Sprintf("text-%d echo", n)))
	}
	for _, n := range sizes {
		msg := binaryPayload(n)
		if err := c.WriteMessage(engine.OpBinary, msg); err != nil {
			t.Fatalf("binary-%d: WriteMessage: %v", n, err)
		}
		checkEcho(t, fmt.Sprintf("binary-%d", n), engine.OpBinary, msg, h.next(t, fmt.Sprintf("binary-%d echo", n)))
	}

	if dc != nil {
		far := farPayload()
		for i := range 2 {
			if err := c.WriteMessage(engine.OpBinary, far); err != nil {
				t.Fatalf("far-repeats %d: WriteMessage: %v", i, err)
			}
			checkEcho(t, fmt.Sprintf("far-repeats %d", i), engine.OpBinary, far, h.next(t, fmt.Sprintf("far-repeats %d echo", i)))
		}
		// The server echoes this one in three compressed fragments.
		msg := append([]byte("fragment-me:"), textPayload(30000)...)
		if err := c.WriteMessage(engine.OpText, msg); err != nil {
			t.Fatalf("fragment-me: WriteMessage: %v", err)
		}
		checkEcho(t, "fragmented echo", engine.OpText, msg, h.next(t, "fragmented echo"))
	}

	// A text message in three fragments, split inside multi-byte
	// characters, with a ping between two fragments (RFC 6455 section 5.4:
	// control frames may be injected in the middle of a fragmented message).
	whole := textPayload(70000)
	if !strings.HasPrefix(string(whole), "aé") {
		t.Fatalf("text pattern changed: %q", whole[:8])
	}
	const cut1, cut2 = 2, 40001 // whole[1:3] is "é": the first cut splits it
	if err := c.WriteFragment(engine.OpText, whole[:cut1], false); err != nil {
		t.Fatalf("WriteFragment 1: %v", err)
	}
	if err := c.WritePing([]byte("mid-message")); err != nil {
		t.Fatalf("WritePing between fragments: %v", err)
	}
	if err := c.WriteFragment(engine.OpContinuation, whole[cut1:cut2], false); err != nil {
		t.Fatalf("WriteFragment 2: %v", err)
	}
	if err := c.WriteFragment(engine.OpContinuation, whole[cut2:], true); err != nil {
		t.Fatalf("WriteFragment 3: %v", err)
	}
	expectPong(t, h, "mid-message")
	checkEcho(t, "fragmented text", engine.OpText, whole, h.next(t, "fragmented text echo"))

	if err := c.WritePing([]byte("go-ping")); err != nil {
		t.Fatalf("WritePing: %v", err)
	}
	expectPong(t, h, "go-ping")

	if err := c.Close(engine.StatusNormalClosure, "go done"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case ev := <-h.closes:
		if ev.code != engine.StatusNormalClosure {
			t.Errorf("client OnClose(%d, %q), want 1000 echoed", ev.code, ev.reason)
		} else {
			t.Logf("client OnClose(%d, %q)", ev.code, ev.reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose within 10s of Close")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v after a normal close, want nil", err)
		}
		served <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of the close handshake")
	}

	// What the server saw of our close frame (and of our pings, where the
	// script reports them; and of the handshake, with compression).
	var opened *peerServerLine
	for {
		var ev peerServerLine
		p.jsonLine(t, 10*time.Second, &ev)
		if ev.Event == "open" && dc != nil {
			opened = &ev
			continue
		}
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
	if dc != nil {
		tc.wait(t, 10*time.Second)
		if opened == nil {
			t.Errorf("server script reported no open event")
		} else {
			t.Logf("peer server agreed %s", opened.Params)
			if len(tc.accepted) != 1 || opened.Extensions != tc.accepted[0] {
				t.Errorf("server script says it answered Sec-WebSocket-Extensions %q; the wire says %q", opened.Extensions, tc.accepted)
			}
		}
		dc.checkClientWire(t, tc)
	}
}

func expectPong(t *testing.T, h *clientHandler, payload string) {
	t.Helper()
	select {
	case got := <-h.pongs:
		if got != payload {
			t.Errorf("pong payload %q, want %q", got, payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no pong to ping %q within 10s", payload)
	}
}

func TestNodeServer(t *testing.T) {
	node := requireNode(t)
	runAgainstServer(t, node, "node/server.mjs")
}

func TestPythonServer(t *testing.T) {
	requirePython(t)
	runAgainstServer(t, pythonPath, "python/server.py")
}
