package interop

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// permessage-deflate (RFC 7692) with real peers. The tests and their cases
// run in parallel (go test's -parallel, GOMAXPROCS by default): each peer
// process and each server is its own, and the browser's start overlaps the
// scripts' runs. Every compressed exchange
// goes through a tap (tap_test.go), which shows what each side really sent:
// the handshake's Sec-WebSocket-Extensions and, per message, RSV1 and the
// bytes on the wire. Each test checks that
//   - the 101 accepted permessage-deflate with the parameters the case
//     expects, that the peer says so too (its own report), and that our
//     side's agreement (engine.Deflate) is the one expected;
//   - every payload came back byte-identical: a run of similar messages,
//     text and binary of every size in sizes (up to 200000 bytes, past any
//     window), and twice a message that tempts a compressor to refer back
//     past its window (farPayload);
//   - on the wire, each sender compressed what it should (ours: exactly the
//     messages at or above its threshold; the peers are set to compress
//     everything), text shrank, and the run of similar messages shrank after
//     its first message exactly when that sender keeps its window (context
//     takeover);
//   - no control frame or continuation carried RSV1.

// runLen is the length of the run of similar messages every compressed
// exchange begins with.
const runLen = 12

// runBody is the body of the similar messages: 177 letters that do not
// compress on their own (xorshift32), so that only context takeover shrinks
// the messages after the first. The scripts build the same one.
var runBody = func() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	x := uint32(2463534242)
	b := make([]byte, 177)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%62]
	}
	return string(b)
}()

// runMessage returns the i-th similar message: JSON in which only the
// sequence number changes, 199 bytes for even i and 99 for odd i (the body
// cut to 77 letters), so that a threshold between the two (runThreshold)
// sends every other one uncompressed: with context takeover those must stay
// out of both windows, or the next compressed one, which refers back to the
// one before, inflates wrong.
func runMessage(i int) []byte {
	body := runBody
	if i%2 == 1 {
		body = body[:77]
	}
	return fmt.Appendf(nil, `{"seq":%04d,"body":"%s"}`, i, body)
}

// runThreshold falls between the sizes of the run's odd and even messages.
const runThreshold = 150

// farDistances are the distances farPayload copies from: just inside and
// just past every window size.
var farDistances = []int{200, 255, 256, 257, 300, 511, 512, 513, 1000, 1023, 1024, 1025, 2047, 2048, 2049,
	4095, 4096, 4097, 8191, 8192, 8193, 16383, 16384, 16385, 32767, 32768, 32769}

// farPayload returns the message that probes compression windows: 64000
// pseudo-random letters a-p (xorshift32) with a 32-byte copy from 100 bytes
// back every 128 bytes (matches within any window: without them
// klauspost/compress stores the lot, and nothing is probed), into which
// 64-byte copies of earlier bytes are then pasted at each of farDistances in
// turn, from offset 33000 on, every 400 bytes: the longest matches there
// are, so a compressor whose search reaches past its window takes them
// (klauspost's 15-bit writer does, zlib at 15 bits too). It must never
// refer back farther than its negotiated window (RFC 7692 section 7.1.2),
// within a message too; the inflating side, with that window (zlib in the
// peers), fails on one that does. Every compressed exchange sends it twice
// in a row: with context takeover the second copy repeats the first from
// 64000 bytes back, past any window. The scripts build the same bytes.
func farPayload() []byte {
	const n = 64000
	b := make([]byte, n)
	x := uint32(88172645)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x&15)
	}
	for p := 200; p+32 <= n; p += 128 {
		copy(b[p:p+32], b[p-100:p-68])
	}
	for k, p := 0, 33000; p+64 <= n; k, p = k+1, p+400 {
		d := farDistances[k%len(farDistances)]
		copy(b[p:p+64], b[p-d:p-d+64])
	}
	return b
}

// deflateCase is one compression setting tried with a peer.
type deflateCase struct {
	name string
	ours *engine.Compression // our server's, or our client's
	peer map[string]any      // the peer's options (its script's config), nil for its defaults

	// resp is the response's Sec-WebSocket-Extensions: exactly, when our
	// server answers; as a set of parameters, when the peer's does.
	resp string
	// agreement is our side's engine.Deflate, as its String.
	agreement string
	// c2s and s2c say whether the client and the server keep their
	// compression window across messages (context takeover).
	c2s, s2c bool
	// peerFrom, when not zero, is the size from which the peer compresses
	// a message (Node's scripts: compressFrom); zero: every message.
	peerFrom int
}

// peerConfig is the JSON config argument of the case's peer script.
func (dc *deflateCase) peerConfig(t *testing.T) string {
	cfg := map[string]any{"run": runLen}
	// Node ws takes perMessageDeflate (an object turns it on); Python takes
	// deflate (empty: websockets' default compression).
	opts := map[string]any{}
	if dc.peer != nil {
		opts = dc.peer
	}
	cfg["perMessageDeflate"] = opts
	cfg["deflate"] = opts
	if dc.peerFrom > 0 {
		cfg["compressFrom"] = dc.peerFrom
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (dc *deflateCase) checkAgreement(t *testing.T, d engine.Deflate) {
	t.Helper()
	if got := d.String(); got != dc.agreement {
		t.Errorf("our side agreed %q, want %q", got, dc.agreement)
	}
}

// checkServerHandshake checks the handshake our server answered: the 101's
// Sec-WebSocket-Extensions is exactly dc.resp, and the agreement is
// dc.agreement: from the connection when it tells (h.deflateList), else as
// engine.Compression.Negotiate makes it from the offer on the wire (the
// call the server's handshake makes).
func (dc *deflateCase) checkServerHandshake(t *testing.T, tc *tapConn, h *echoHandler) {
	t.Helper()
	t.Logf("offer %q, response %q", tc.offers, tc.accepted)
	if tc.status != 101 {
		t.Fatalf("response status %d, want 101", tc.status)
	}
	if len(tc.accepted) != 1 || tc.accepted[0] != dc.resp {
		t.Errorf("101 Sec-WebSocket-Extensions %q, want %q", tc.accepted, dc.resp)
	}
	if ds := h.deflateList(); len(ds) > 0 {
		if len(ds) != 1 || ds[0] != dc.agreement {
			t.Errorf("server connections agreed %q, want [%q]", ds, dc.agreement)
		}
		return
	}
	offers := make([][]byte, len(tc.offers))
	for i, o := range tc.offers {
		offers[i] = []byte(o)
	}
	resp, d, ok := dc.ours.Negotiate(nil, offers)
	if !ok || string(resp) != strings.Join(tc.accepted, ", ") {
		t.Errorf("Negotiate(offer) = %q, %v; the server answered %q", resp, ok, tc.accepted)
	}
	dc.checkAgreement(t, d)
}

// checkClientHandshake checks the handshake a peer server answered our
// client: the 101 accepted permessage-deflate with dc.resp's parameters (in
// any order), and engine.Compression.Accept, the call Dial makes, agrees
// dc.agreement from it.
func (dc *deflateCase) checkClientHandshake(t *testing.T, tc *tapConn) {
	t.Helper()
	t.Logf("offer %q, response %q", tc.offers, tc.accepted)
	if tc.status != 101 {
		t.Fatalf("response status %d, want 101", tc.status)
	}
	if want := dc.ours.Offer(); len(tc.offers) != 1 || tc.offers[0] != want {
		t.Errorf("Dial offered %q, want %q", tc.offers, want)
	}
	if len(tc.accepted) != 1 || !sameParams(tc.accepted[0], dc.resp) {
		t.Errorf("101 Sec-WebSocket-Extensions %q, want %q (parameters in any order)", tc.accepted, dc.resp)
	}
	values := make([][]byte, len(tc.accepted))
	for i, v := range tc.accepted {
		values[i] = []byte(v)
	}
	d, err := dc.ours.Accept(values)
	if err != nil {
		t.Fatalf("Accept(%q): %v", tc.accepted, err)
	}
	dc.checkAgreement(t, d)
}

// sameParams compares two extension elements as name and set of parameters.
func sameParams(a, b string) bool {
	split := func(s string) []string {
		f := strings.Split(s, ";")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		slices.Sort(f[1:])
		return f
	}
	return slices.Equal(split(a), split(b))
}

// sender says who sent a direction's messages, and so what it compresses.
type sender struct {
	name      string
	threshold int  // compressed when len >= threshold
	takeover  bool // keeps its window across messages
}

func ours(comp *engine.Compression, takeover bool) sender {
	th := comp.Threshold
	switch {
	case th < 0:
		th = 0
	case th == 0:
		th = engine.DefaultCompressionThreshold
	}
	return sender{"tachyon", th, takeover}
}

func (dc *deflateCase) peerSender(takeover bool) sender {
	return sender{"the peer", dc.peerFrom, takeover}
}

// expectedMessages are the lengths and opcodes of the messages every
// compressed exchange begins with, in order: the run, sizes as text, sizes
// as binary, and the window probe twice.
func expectedMessages() (lens []int, ops []byte) {
	for i := range runLen {
		lens, ops = append(lens, len(runMessage(i))), append(ops, 1)
	}
	for _, op := range []byte{1, 2} {
		for _, n := range sizes {
			lens, ops = append(lens, n), append(ops, op)
		}
	}
	far := len(farPayload())
	return append(lens, far, far), append(ops, 2, 2)
}

// checkDirection checks one direction's messages on the wire against what
// their sender s should have done. With fragmented, the message after
// expectedMessages must have gone compressed in several frames.
func checkDirection(t *testing.T, dir string, d *tapDir, s sender, fragmented bool) {
	t.Helper()
	for _, f := range d.faults {
		t.Errorf("%s: %s", dir, f)
	}
	if d.err != nil {
		t.Logf("%s: the tap stopped parsing: %v", dir, d.err)
	}
	lens, ops := expectedMessages()
	if len(d.msgs) < len(lens) {
		t.Errorf("%s: %d messages on the wire, want at least %d", dir, len(d.msgs), len(lens))
		return
	}
	compressed := 0
	for i, n := range lens {
		m := d.msgs[i]
		if m.op != ops[i] {
			t.Errorf("%s: message %d has opcode %d, want %d", dir, i, m.op, ops[i])
			continue
		}
		if want := n >= s.threshold; m.rsv1 != want {
			t.Errorf("%s: message %d (%d bytes): RSV1 %v, want %v (%s compresses from %d bytes)", dir, i, n, m.rsv1, want, s.name, s.threshold)
		}
		if m.rsv1 {
			compressed++
		}
		// The text payload repeats a 22-byte cycle, the window probe has
		// four bits a byte: deflate must shrink them.
		if m.rsv1 && m.op == 1 && n >= 1000 && m.wire*4 > n {
			t.Errorf("%s: message %d: %d text bytes took %d compressed", dir, i, n, m.wire)
		}
		if m.rsv1 && i >= len(lens)-2 && m.wire*4 > n*3 {
			t.Errorf("%s: message %d (the window probe): %d bytes took %d compressed", dir, i, n, m.wire)
		}
	}
	if fragmented {
		if len(d.msgs) <= len(lens) {
			t.Errorf("%s: no message after the window probe, want one in fragments", dir)
		} else if m := d.msgs[len(lens)]; m.frames < 2 || !m.rsv1 {
			t.Errorf("%s: the message after the window probe went in %d frame(s), RSV1 %v; want a compressed message in fragments", dir, m.frames, m.rsv1)
		}
	}
	run := d.msgs[:runLen]
	wires := make([]int, len(run))
	for i, m := range run {
		wires[i] = m.wire
	}
	t.Logf("%s: %d of the first %d messages compressed; the run took %v bytes", dir, compressed, len(lens), wires)
	if !run[0].rsv1 {
		return // sent as they are: nothing to say about windows
	}
	// The even messages of the run: each repeats the one two before (two
	// messages back is past an 8- or 9-bit window: there it can only refer
	// to the odd message between, the first 97 bytes, and takes about 60%
	// of the first; the others take a few bytes with context takeover, as
	// much as the first without).
	for i := 2; i < len(run); i += 2 {
		switch {
		case s.takeover && run[i].wire*3 > run[0].wire*2:
			t.Errorf("%s: with context takeover, similar message %d took %d bytes, the first %d: %s does not refer back to the earlier ones", dir, i, run[i].wire, run[0].wire, s.name)
		case !s.takeover && run[i].wire*4 < run[0].wire*3:
			t.Errorf("%s: without context takeover, similar message %d took %d bytes, the first %d: %s refers back across messages", dir, i, run[i].wire, run[0].wire, s.name)
		}
	}
}

// checkServerWire checks the wire of a connection a peer client made to our
// server; fragmented says whether the client sent a message in fragments
// after the window probe (the scripts do, the browser cannot).
func (dc *deflateCase) checkServerWire(t *testing.T, tc *tapConn, fragmented bool) {
	t.Helper()
	checkDirection(t, "client to server", &tc.c2s, dc.peerSender(dc.c2s), fragmented)
	checkDirection(t, "server to client", &tc.s2c, ours(dc.ours, dc.s2c), false)
}

// checkClientWire checks the wire of a connection our client made to a peer
// server.
func (dc *deflateCase) checkClientWire(t *testing.T, tc *tapConn) {
	t.Helper()
	dc.checkClientHandshake(t, tc)
	checkDirection(t, "client to server", &tc.c2s, ours(dc.ours, dc.c2s), false)
	checkDirection(t, "server to client", &tc.s2c, dc.peerSender(dc.s2c), true)
}

// hostOf returns the host:port of wsURL.
func hostOf(t *testing.T, wsURL string) string {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// tapURL returns wsURL with its host:port replaced by the tap's.
func tapURL(t *testing.T, wsURL string, tp *tap) string {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = tp.addr()
	return u.String()
}

// deflateChecks are the checks every compressed client reports.
func deflateChecks() []string {
	return append(echoChecks(), "deflate-negotiated", "similar-run", "far-repeats")
}

// runClientScriptDeflate runs a client script against a target serving dc
// through a tap, then checks the script's report, the handshake, and the
// wire.
func runClientScriptDeflate(t *testing.T, tg serverTarget, dc *deflateCase, reason string, command string, args ...string) {
	h := newEchoHandler()
	wsURL, _, stop := tg.start(t, h, dc.ours)
	t.Cleanup(stop)
	tp := startTap(t, hostOf(t, wsURL))
	p := startPeer(t, nil, command, append(args, tapURL(t, wsURL, tp), subprotocol, dc.peerConfig(t))...)
	tc := tp.next(t, 20*time.Second)
	var r clientResult
	p.jsonLine(t, 45*time.Second, &r)
	dc.checkServerHandshake(t, tc, h)
	t.Logf("peer agreed %s", r.DeflateParams)
	if len(tc.accepted) != 1 || r.Extensions != tc.accepted[0] {
		t.Errorf("the peer says the response's Sec-WebSocket-Extensions was %q; the wire says %q", r.Extensions, tc.accepted)
	}
	assertClientResult(t, &r, append(deflateChecks(), "fragmented", "subprotocol", "ping-pong", "close-1000"))
	p.wait(t, 10*time.Second)
	h.expectClose(t, reason)
	tc.wait(t, 10*time.Second)
	dc.checkServerWire(t, tc, true)
}

// Cases for their clients against our servers. Node's ws is given
// threshold 0 so that it compresses every message, as the others do. (Plain
// 15-bit context takeover is Python's and Chromium's case; Node's take it
// with thresholds, and with small windows.)
var (
	nodeClientCases = []deflateCase{
		{
			name: "server-defaults", ours: &engine.Compression{},
			peer:      map[string]any{"threshold": 0},
			resp:      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			agreement: "permessage-deflate out=15 in=15 no-takeover",
		},
		{
			name: "takeover-server-windows-9-10", ours: &engine.Compression{ContextTakeover: true, Threshold: -1, ServerMaxWindowBits: 9, ClientMaxWindowBits: 10},
			peer:      map[string]any{"threshold": 0},
			resp:      "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
			agreement: "permessage-deflate out=9 in=10 takeover",
			c2s:       true, s2c: true,
		},
		{
			name: "takeover-client-windows-8-8", ours: &engine.Compression{ContextTakeover: true, Threshold: -1},
			peer:      map[string]any{"threshold": 0, "serverMaxWindowBits": 8, "clientMaxWindowBits": 8},
			resp:      "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
			agreement: "permessage-deflate out=8 in=8 takeover",
			c2s:       true, s2c: true,
		},
		{
			// Thresholds with context takeover, on both sides (ws's
			// compress option, as ws applies its threshold only without
			// takeover): every other message of the run, and the small
			// sizes, go uncompressed between compressed ones.
			name: "takeover-thresholds", ours: &engine.Compression{ContextTakeover: true, Threshold: runThreshold},
			peer:      map[string]any{},
			resp:      "permessage-deflate",
			agreement: "permessage-deflate out=15 in=15 takeover",
			c2s:       true, s2c: true, peerFrom: runThreshold,
		},
		{
			// ws offers client_no_context_takeover but keeps its window
			// unless the response names the parameter too.
			name: "client-no-takeover-window-10", ours: &engine.Compression{Threshold: -1},
			peer:      map[string]any{"threshold": 0, "serverNoContextTakeover": true, "clientNoContextTakeover": true, "serverMaxWindowBits": 10},
			resp:      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10",
			agreement: "permessage-deflate out=10 in=15 no-takeover",
		},
	}
	pythonClientCases = []deflateCase{
		{
			name: "no-takeover", ours: &engine.Compression{Threshold: -1},
			resp:      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			agreement: "permessage-deflate out=15 in=15 no-takeover",
		},
		{
			name: "takeover-server-windows-10-9", ours: &engine.Compression{ContextTakeover: true, Threshold: -1, ServerMaxWindowBits: 10, ClientMaxWindowBits: 9},
			resp:      "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
			agreement: "permessage-deflate out=10 in=9 takeover",
			c2s:       true, s2c: true,
		},
		{
			// zlib cannot compress with an 8-bit raw window, so the client's
			// stays at 9.
			name: "takeover-client-windows-8-9", ours: &engine.Compression{ContextTakeover: true, Threshold: -1},
			peer:      map[string]any{"server_max_window_bits": 8, "client_max_window_bits": 9},
			resp:      "permessage-deflate; server_max_window_bits=8; client_max_window_bits=9",
			agreement: "permessage-deflate out=8 in=9 takeover",
			c2s:       true, s2c: true,
		},
	}
)

func TestNodeClientDeflate(t *testing.T) {
	t.Parallel()
	node := requireNode(t)
	for _, tg := range serverTargets {
		for _, dc := range nodeClientCases {
			t.Run(tg.name+"/"+dc.name, func(t *testing.T) {
				t.Parallel()
				runClientScriptDeflate(t, tg, &dc, "node done", node, "node/client.mjs")
			})
		}
	}
}

func TestPythonClientDeflate(t *testing.T) {
	t.Parallel()
	requirePython(t)
	for _, tg := range serverTargets {
		for _, dc := range pythonClientCases {
			t.Run(tg.name+"/"+dc.name, func(t *testing.T) {
				t.Parallel()
				runClientScriptDeflate(t, tg, &dc, "python done", pythonPath, "python/client.py")
			})
		}
	}
}

// Cases for our client against their servers. Node's ws server is given
// threshold 0 so that it compresses every message, as Python's does.
// (Plain 15-bit context takeover is Python's case; Node's takes it with
// thresholds, and with small windows.)
var (
	nodeServerCases = []deflateCase{
		{
			name: "client-defaults", ours: &engine.Compression{},
			peer:      map[string]any{"threshold": 0},
			resp:      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			agreement: "permessage-deflate out=15 in=15 no-takeover",
		},
		{
			name: "takeover-server-windows-9-8", ours: &engine.Compression{ContextTakeover: true, Threshold: -1},
			peer:      map[string]any{"threshold": 0, "serverMaxWindowBits": 9, "clientMaxWindowBits": 8},
			resp:      "permessage-deflate; server_max_window_bits=9; client_max_window_bits=8",
			agreement: "permessage-deflate out=8 in=9 takeover",
			c2s:       true, s2c: true,
		},
		{
			// Thresholds with context takeover, on both sides (ws's
			// compress option, as ws applies its threshold only without
			// takeover): every other message of the run, and the small
			// sizes, go uncompressed between compressed ones.
			name: "takeover-thresholds", ours: &engine.Compression{ContextTakeover: true, Threshold: runThreshold},
			peer:      map[string]any{},
			resp:      "permessage-deflate",
			agreement: "permessage-deflate out=15 in=15 takeover",
			c2s:       true, s2c: true, peerFrom: runThreshold,
		},
		{
			name: "server-no-takeover-client-windows-10-9", ours: &engine.Compression{ContextTakeover: true, Threshold: -1, ServerMaxWindowBits: 10, ClientMaxWindowBits: 9},
			peer:      map[string]any{"threshold": 0, "serverNoContextTakeover": true, "clientNoContextTakeover": true},
			resp:      "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9; server_no_context_takeover; client_no_context_takeover",
			agreement: "permessage-deflate out=9 in=10 no-takeover",
		},
	}
	pythonServerCases = []deflateCase{
		{
			// websockets' server asks for 12-bit windows by default.
			name: "no-takeover", ours: &engine.Compression{Threshold: -1},
			resp:      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12",
			agreement: "permessage-deflate out=12 in=12 no-takeover",
		},
		{
			name: "takeover", ours: &engine.Compression{ContextTakeover: true, Threshold: -1},
			resp:      "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
			agreement: "permessage-deflate out=12 in=12 takeover",
			c2s:       true, s2c: true,
		},
		{
			name: "server-no-takeover-windows-9-8", ours: &engine.Compression{ContextTakeover: true, Threshold: -1},
			peer:      map[string]any{"server_no_context_takeover": true, "client_no_context_takeover": true, "server_max_window_bits": 9, "client_max_window_bits": 8},
			resp:      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
			agreement: "permessage-deflate out=8 in=9 no-takeover",
		},
	}
)

func TestNodeServerDeflate(t *testing.T) {
	t.Parallel()
	node := requireNode(t)
	for _, dc := range nodeServerCases {
		t.Run(dc.name, func(t *testing.T) {
			t.Parallel()
			runAgainstServerWith(t, &dc, node, "node/server.mjs")
		})
	}
}

func TestPythonServerDeflate(t *testing.T) {
	t.Parallel()
	requirePython(t)
	for _, dc := range pythonServerCases {
		t.Run(dc.name, func(t *testing.T) {
			t.Parallel()
			runAgainstServerWith(t, &dc, pythonPath, "python/server.py")
		})
	}
}

// chromiumCases are tried with the browser's own offer
// ("permessage-deflate; client_max_window_bits"), on each of our servers.
var chromiumCases = []deflateCase{
	{
		name: "server-defaults", ours: &engine.Compression{},
		resp:      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		agreement: "permessage-deflate out=15 in=15 no-takeover",
	},
	{
		name: "takeover", ours: &engine.Compression{ContextTakeover: true, Threshold: -1},
		resp:      "permessage-deflate",
		agreement: "permessage-deflate out=15 in=15 takeover",
		c2s:       true, s2c: true,
	},
	{
		// Every other message of the run, and the small sizes, go
		// uncompressed between compressed ones.
		name: "takeover-threshold", ours: &engine.Compression{ContextTakeover: true, Threshold: runThreshold},
		resp:      "permessage-deflate",
		agreement: "permessage-deflate out=15 in=15 takeover",
		c2s:       true, s2c: true,
	},
	{
		name: "takeover-windows-8-9", ours: &engine.Compression{ContextTakeover: true, Threshold: -1, ServerMaxWindowBits: 8, ClientMaxWindowBits: 9},
		resp:      "permessage-deflate; server_max_window_bits=8; client_max_window_bits=9",
		agreement: "permessage-deflate out=8 in=9 takeover",
		c2s:       true, s2c: true,
	},
}

// TestChromiumDeflate runs every Chromium case on every server target in one
// browser: the page takes each server in turn (one ws parameter each) and
// posts a result for each.
func TestChromiumDeflate(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	type conn struct {
		name string
		dc   *deflateCase
		h    *echoHandler
		tp   *tap
		url  string
	}
	var conns []*conn
	q := url.Values{"deflate": {"1"}, "run": {fmt.Sprint(runLen)}}
	for _, tg := range serverTargets {
		for i := range chromiumCases {
			dc := &chromiumCases[i]
			c := &conn{name: tg.name + "/" + dc.name, dc: dc, h: newEchoHandler()}
			wsURL, _, stop := tg.start(t, c.h, dc.ours)
			t.Cleanup(stop)
			c.tp = startTap(t, hostOf(t, wsURL))
			c.url = tapURL(t, wsURL, c.tp)
			q.Add("ws", c.url)
			conns = append(conns, c)
		}
	}
	results := make(chan []byte, len(conns))
	page := startPageServer(t, results) + "/interop.html?" + q.Encode()
	start := time.Now()
	p := launchChromium(t, page)

	got := map[string]*clientResult{}
	for range conns {
		var raw []byte
		select {
		case raw = <-results:
		case <-p.done:
			t.Fatalf("chromium exited (%v) before the page reported on every server; stderr:\n%s", p.err, p.stderrTail())
		case <-time.After(60 * time.Second):
			t.Fatalf("the page reported on %d of %d servers within 60s; chromium stderr:\n%s", len(got), len(conns), p.stderrTail())
		}
		var r clientResult
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("page result %q: %v", raw, err)
		}
		got[r.URL] = &r
		t.Logf("page reported on %s after %v", r.URL, time.Since(start).Round(time.Millisecond))
	}
	p.kill()

	for _, c := range conns {
		t.Run(c.name, func(t *testing.T) {
			r := got[c.url]
			if r == nil {
				t.Fatalf("no result for %s", c.url)
			}
			assertClientResult(t, r, append(deflateChecks(), "server-ping", "close-1000", "close-clean"))
			if r.WasClean == nil || !*r.WasClean {
				t.Errorf("browser close event: wasClean = %v, want true", r.WasClean)
			}
			c.h.expectClose(t, "done")
			if pongs := c.h.pongList(); !slices.Contains(pongs, "hi") {
				t.Errorf("server saw pongs %q, want one with payload \"hi\"", pongs)
			}
			tc := c.tp.next(t, time.Second)
			tc.wait(t, 10*time.Second)
			c.dc.checkServerHandshake(t, tc, c.h)
			if len(tc.accepted) != 1 || r.Extensions != tc.accepted[0] {
				t.Errorf("the page's ws.extensions is %q; the wire says %q", r.Extensions, tc.accepted)
			}
			if len(tc.offers) != 1 || tc.offers[0] != "permessage-deflate; client_max_window_bits" {
				t.Errorf("Chromium offered %q, want its default [\"permessage-deflate; client_max_window_bits\"]", tc.offers)
			}
			c.dc.checkServerWire(t, tc, false)
		})
	}
}
