package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// recorder is an Events that writes down what it hears.
type recorder struct {
	events []string
	closes int
}

func (r *recorder) OnMessage(op OpCode, p []byte) {
	r.events = append(r.events, fmt.Sprintf("%v:%q", op, p))
}
func (r *recorder) OnFragment(op OpCode, p []byte, final bool) {
	r.events = append(r.events, fmt.Sprintf("frag %v:%q final=%v", op, p, final))
}
func (r *recorder) OnPing(p []byte) { r.events = append(r.events, fmt.Sprintf("ping:%q", p)) }
func (r *recorder) OnPong(p []byte) { r.events = append(r.events, fmt.Sprintf("pong:%q", p)) }
func (r *recorder) OnClose(code StatusCode, reason []byte) {
	r.closes++
	r.events = append(r.events, fmt.Sprintf("close:%d:%q", code, reason))
}

// frame encodes one frame as the peer of role would send it: masked when the
// receiver is a server.
func frame(receiver Role, fin bool, op OpCode, payload string) []byte {
	h := Header{Fin: fin, OpCode: op}
	if receiver == RoleServer {
		h.Masked, h.Mask = true, [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	}
	return AppendFrame(nil, h, []byte(payload))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// drive feeds stream to a new Conn in the given chunks, the way a driver
// does: unconsumed bytes are kept and fed again with the next chunk. It
// returns the events, the output and the first error.
func drive(role Role, cfg Config, stream []byte, chunks []int) (*recorder, []byte, error) {
	r := &recorder{}
	c := NewConn(role, r, cfg)
	var pending []byte
	rest := bytes.Clone(stream)
	var err error
	for _, k := range chunks {
		if len(rest) == 0 || err != nil {
			break
		}
		k = min(k, len(rest))
		pending = append(pending, rest[:k]...)
		rest = rest[k:]
		var n int
		n, err = c.Feed(pending)
		pending = pending[:copy(pending, pending[n:])]
	}
	if err == nil && len(rest) > 0 {
		_, err = c.Feed(append(pending, rest...))
	}
	return r, bytes.Clone(c.Output()), err
}

func whole(n int) []int { return []int{n} }

// A stream with every kind of frame: whole messages, a fragmented text with
// a ping and a pong between its fragments, an empty message, a long binary
// message taken in pieces, and the close.
func richStream(receiver Role) ([]byte, []string) {
	long := string(bytes.Repeat([]byte("0123456789"), 1000)) // 10,000 bytes > ReadBufferSize
	s := cat(
		frame(receiver, true, OpText, "hello"),
		frame(receiver, true, OpBinary, "\x00\x01\x02"),
		frame(receiver, false, OpText, "Déjà "),
		frame(receiver, true, OpPing, "p1"),
		frame(receiver, false, OpContinuation, "vu \xe2\x82"), // € split across fragments
		frame(receiver, true, OpPong, "p2"),
		frame(receiver, true, OpContinuation, "\xac!"),
		frame(receiver, true, OpText, ""),
		frame(receiver, true, OpBinary, long),
		frame(receiver, false, OpBinary, long[:5000]),
		frame(receiver, true, OpContinuation, long[5000:]),
		frame(receiver, true, OpClose, "\x03\xe8bye"),
	)
	want := []string{
		`text:"hello"`, `binary:"\x00\x01\x02"`, `ping:"p1"`, `pong:"p2"`, `text:"Déjà vu €!"`, `text:""`,
		fmt.Sprintf("binary:%q", long), fmt.Sprintf("binary:%q", long), `close:1000:"bye"`,
	}
	return s, want
}

func TestFeedSplitInvariance(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		stream, want := richStream(role)
		check := func(name string, chunks []int) {
			r, out, err := drive(role, Config{}, stream, chunks)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != 1000 {
				t.Fatalf("%v %s: err = %v, want the peer's close", role, name, err)
			}
			if !reflect.DeepEqual(r.events, want) {
				t.Fatalf("%v %s: events\n%q\nwant\n%q", role, name, r.events, want)
			}
			// The ping is answered and the close echoed.
			peer := RoleServer
			if role == RoleServer {
				peer = RoleClient
			}
			pr, _, _ := drive(peer, Config{}, out, whole(len(out)))
			if wantOut := []string{`pong:"p1"`, `close:1000:"bye"`}; !reflect.DeepEqual(pr.events, wantOut) {
				t.Fatalf("%v %s: output decodes as %q, want %q", role, name, pr.events, wantOut)
			}
		}
		check("whole", whole(len(stream)))
		ones := make([]int, len(stream))
		for i := range ones {
			ones[i] = 1
		}
		check("byte by byte", ones)
		rng := rand.New(rand.NewPCG(1, uint64(role)))
		for trial := range 50 {
			var chunks []int
			for sum := 0; sum < len(stream); {
				k := 1 + rng.IntN(300)
				chunks = append(chunks, k)
				sum += k
			}
			check(fmt.Sprintf("random %d", trial), chunks)
		}
	}
}

func TestFeedFailures(t *testing.T) {
	S := RoleServer
	tests := []struct {
		name   string
		role   Role
		cfg    Config
		stream []byte
		code   StatusCode
		err    error
		events []string // before the close
	}{
		{"unmasked frame to server", S, Config{}, frame(RoleClient, true, OpText, "x"), 1002, ErrMaskRequired, nil},
		{"masked frame to client", RoleClient, Config{}, frame(RoleServer, true, OpText, "x"), 1002, ErrMaskUnexpected, nil},
		{"reserved opcode", S, Config{}, frame(S, true, 3, ""), 1002, ErrUnknownOpCode, nil},
		{"rsv1", S, Config{}, func() []byte { b := frame(S, true, OpText, "x"); b[0] |= 0x40; return b }(), 1002, ErrReservedBits, nil},
		{"long ping", S, Config{}, frame(S, true, OpPing, string(make([]byte, 126))), 1002, ErrControlTooLong, nil},
		{"fragmented ping", S, Config{}, frame(S, false, OpPing, ""), 1002, ErrFragmentedControl, nil},
		{"lone continuation", S, Config{}, frame(S, true, OpContinuation, "x"), 1002, ErrUnexpectedContinuation, nil},
		{"new message mid-fragments", S, Config{}, cat(frame(S, false, OpText, "a"), frame(S, true, OpText, "b")), 1002, ErrExpectedContinuation, nil},
		{"invalid text", S, Config{}, frame(S, true, OpText, "\xff"), 1007, ErrInvalidUTF8, nil},
		{"text ends mid code point", S, Config{}, cat(frame(S, false, OpText, "a\xe2"), frame(S, true, OpContinuation, "\x82")), 1007, ErrInvalidUTF8, nil},
		{"close of one byte", S, Config{}, frame(S, true, OpClose, "\x03"), 1002, ErrCloseTooShort, nil},
		{"close code 1005", S, Config{}, frame(S, true, OpClose, "\x03\xed"), 1002, ErrInvalidCloseCode, nil},
		{"close reason not UTF-8", S, Config{}, frame(S, true, OpClose, "\x03\xe8\xff"), 1007, ErrInvalidUTF8, nil},
		{"frame over the frame limit", S, Config{MaxFrameSize: 10}, frame(S, true, OpBinary, "01234567890"), 1009, ErrFrameTooBig, nil},
		{"message over the limit", S, Config{MaxMessageSize: 10}, cat(frame(S, false, OpBinary, "012345"), frame(S, true, OpContinuation, "67890")), 1009, ErrMessageTooBig, nil},
		{"ping still answered before a failure", S, Config{}, cat(frame(S, true, OpPing, "x"), frame(S, true, 0xB, "")), 1002, ErrUnknownOpCode, []string{`ping:"x"`}},
	}
	for _, tt := range tests {
		r, out, err := drive(tt.role, tt.cfg, tt.stream, whole(len(tt.stream)))
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			continue
		}
		want := append(tt.events, fmt.Sprintf("close:%d:%q", tt.code, tt.err.(*ProtocolError).Msg))
		if !reflect.DeepEqual(r.events, want) || r.closes != 1 {
			t.Errorf("%s: events %q, want %q", tt.name, r.events, want)
		}
		// The output ends with our close frame carrying the code.
		peer := RoleClient
		if tt.role == RoleClient {
			peer = RoleServer
		}
		pr, _, perr := drive(peer, Config{}, out, whole(len(out)))
		if CloseStatus(perr) != tt.code {
			t.Errorf("%s: output %q does not close with %d (%v)", tt.name, pr.events, tt.code, perr)
		}
	}
}

// A text message whose first fragment is already invalid fails at that
// fragment, before the rest arrives (RFC 6455 section 8.1).
func TestFeedUTF8FailsFast(t *testing.T) {
	r := &recorder{}
	c := NewConn(RoleServer, r, Config{})
	b := frame(RoleServer, false, OpText, "ok \xe0\x80")
	if _, err := c.Feed(b); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("err = %v, want ErrInvalidUTF8 on the first fragment", err)
	}
	if _, err := c.Feed(frame(RoleServer, true, OpContinuation, "x")); err != ErrClosed {
		t.Fatalf("Feed after the end = %v, want ErrClosed", err)
	}
	if r.closes != 1 {
		t.Fatalf("OnClose called %d times", r.closes)
	}
}

// A short text frame is failed on its first bytes that cannot be valid, not
// once the rest arrived; a valid partial frame is left as it was.
func TestFeedUTF8FailsFastInsideAFrame(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prefix    []byte // fragments before the frame under test
		op        OpCode
		good, bad string
	}{
		{"text frame", nil, OpText, "caf\xc3\xa9 and more text to come", "ok \xff and more text to come"},
		{"continuation", frame(RoleServer, false, OpText, "caf\xc3"), OpContinuation,
			"\xa9 and more text to come", "\xa9 ok \xff and more text to come"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := frame(RoleServer, true, tc.op, tc.good)
			r := &recorder{}
			c := NewConn(RoleServer, r, Config{})
			if len(tc.prefix) > 0 {
				if n, err := c.Feed(bytes.Clone(tc.prefix)); err != nil || n != len(tc.prefix) {
					t.Fatalf("prefix: %d, %v", n, err)
				}
			}
			part := bytes.Clone(good[:len(good)-5])
			if n, err := c.Feed(part); n != 0 || err != nil {
				t.Fatalf("valid partial frame: %d, %v", n, err)
			}
			if !bytes.Equal(part, good[:len(good)-5]) {
				t.Fatal("the partial frame was left unmasked")
			}
			bad := frame(RoleServer, true, tc.op, tc.bad)
			c2 := NewConn(RoleServer, &recorder{}, Config{})
			if len(tc.prefix) > 0 {
				_, _ = c2.Feed(bytes.Clone(tc.prefix))
			}
			if _, err := c2.Feed(bad[:len(bad)-10]); !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("err = %v, want ErrInvalidUTF8 before the frame is whole", err)
			}
		})
	}
}

// A large message arrives in pieces; nothing beyond the limit is buffered and
// the caller never holds more than ReadBufferSize plus a header.
func TestFeedTakesLongFramesInPieces(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 100_000)
	stream := frame(RoleServer, true, OpBinary, string(payload))
	r := &recorder{}
	c := NewConn(RoleServer, r, Config{ReadBufferSize: 1024})
	var pending []byte
	for i := 0; i < len(stream); i += 700 {
		pending = append(pending, stream[i:min(i+700, len(stream))]...)
		n, err := c.Feed(pending)
		if err != nil {
			t.Fatal(err)
		}
		pending = pending[:copy(pending, pending[n:])]
		if len(pending) > 1024+MaxHeaderSize {
			t.Fatalf("caller holds %d unconsumed bytes", len(pending))
		}
	}
	if len(r.events) != 1 || r.events[0] != fmt.Sprintf("binary:%q", payload) {
		t.Fatalf("got %d events", len(r.events))
	}
}

func TestFeedStream(t *testing.T) {
	stream := cat(frame(RoleServer, false, OpText, "ab"), frame(RoleServer, true, OpPing, ""), frame(RoleServer, true, OpContinuation, "c"),
		frame(RoleServer, true, OpBinary, "d"))
	r, _, err := drive(RoleServer, Config{Stream: true}, stream, whole(len(stream)))
	want := []string{`frag text:"ab" final=false`, `ping:""`, `frag text:"c" final=true`, `frag binary:"d" final=true`}
	if err != nil || !reflect.DeepEqual(r.events, want) {
		t.Fatalf("events %q (%v), want %q", r.events, err, want)
	}
}

func TestCloseHandshake(t *testing.T) {
	// We close first: data that follows is discarded, the peer's close ends
	// the connection, and no second close frame is sent.
	r := &recorder{}
	c := NewConn(RoleServer, r, Config{})
	if err := c.Close(StatusGoingAway, "restart"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(StatusNormalClosure, ""); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := c.WriteMessage(OpText, []byte("late")); err != ErrClosed {
		t.Fatalf("write after close = %v", err)
	}
	sent := bytes.Clone(c.Output())
	_, err := c.Feed(cat(frame(RoleServer, true, OpText, "ignored"), frame(RoleServer, true, OpClose, "\x03\xe9")))
	if CloseStatus(err) != StatusGoingAway {
		t.Fatalf("err = %v", err)
	}
	if want := []string{`close:1001:""`}; !reflect.DeepEqual(r.events, want) {
		t.Fatalf("events %q, want %q", r.events, want)
	}
	if !bytes.Equal(c.Output(), sent) {
		t.Fatal("a second close frame was queued")
	}
	// A close without a code is answered with a close without a code, and
	// heard as 1005.
	r2, out, err := drive(RoleServer, Config{}, frame(RoleServer, true, OpClose, ""), whole(6))
	if CloseStatus(err) != StatusNoStatusReceived || r2.events[0] != `close:1005:""` || !bytes.Equal(out, []byte{0x88, 0x00}) {
		t.Fatalf("empty close: %v %q % x", err, r2.events, out)
	}
	// A dropped transport is 1006, once.
	r3 := &recorder{}
	c3 := NewConn(RoleClient, r3, Config{})
	c3.Abort()
	c3.Abort()
	if r3.closes != 1 || r3.events[0] != `close:1006:""` {
		t.Fatalf("Abort: %q", r3.events)
	}
	// Close checks its arguments.
	if NewConn(RoleServer, &recorder{}, Config{}).Close(1006, "") == nil {
		t.Fatal("Close(1006) accepted")
	}
}

// What one side writes, the other reads: both roles, whole and fragmented
// messages, pings, prepared messages.
func TestWriteRoundTrip(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		w := NewConn(role, &recorder{}, Config{})
		_ = w.WriteMessage(OpText, []byte("héllo"))
		_ = w.WriteFragment(OpBinary, []byte("ab"), false)
		_ = w.WritePing([]byte("hb"))
		_ = w.WriteFragment(OpContinuation, []byte("cd"), true)
		p := NewPrepared(OpText, []byte("to all"))
		_ = w.WritePrepared(p)
		if err := w.WriteFragment(OpContinuation, nil, true); err != ErrFragmentState {
			t.Fatalf("stray continuation: %v", err)
		}
		_ = w.Close(4000, "done")
		reader := RoleClient
		if role == RoleClient {
			reader = RoleServer
		}
		out := w.Output()
		r, _, err := drive(reader, Config{}, out, whole(len(out)))
		want := []string{`text:"héllo"`, `ping:"hb"`, `binary:"abcd"`, `text:"to all"`, `close:4000:"done"`}
		if CloseStatus(err) != 4000 || !reflect.DeepEqual(r.events, want) {
			t.Fatalf("%v: %q (%v), want %q", role, r.events, err, want)
		}
		w.Advance(len(out))
		if len(w.Output()) != 0 {
			t.Fatal("Advance left output")
		}
	}
	// Client keys differ frame to frame.
	c := NewConn(RoleClient, &recorder{}, Config{})
	keys := map[[4]byte]bool{}
	for range 100 {
		_ = c.WriteMessage(OpBinary, nil)
		var h Header
		_, _ = ParseHeader(c.Output(), &h)
		keys[h.Mask] = true
		c.Advance(len(c.Output()))
	}
	if len(keys) < 95 {
		t.Fatalf("only %d distinct masking keys in 100 frames", len(keys))
	}
}

type nopEvents struct{}

func (nopEvents) OnMessage(OpCode, []byte)        {}
func (nopEvents) OnFragment(OpCode, []byte, bool) {}
func (nopEvents) OnPing([]byte)                   {}
func (nopEvents) OnPong([]byte)                   {}
func (nopEvents) OnClose(StatusCode, []byte)      {}

// Steady state: reading and writing a message allocates nothing, for both
// roles; a fragmented message reuses its pooled buffer.
func TestConnAllocs(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		src := cat(frame(role, true, OpText, string(bytes.Repeat([]byte("é"), 64))), frame(role, false, OpBinary, "abc"), frame(role, true, OpContinuation, "def"))
		buf := make([]byte, len(src))
		c := NewConn(role, nopEvents{}, Config{})
		payload := []byte("a reply of some length")
		run := func() {
			copy(buf, src) // Feed unmasks in place
			if n, err := c.Feed(buf); err != nil || n != len(buf) {
				t.Fatalf("Feed = %d, %v", n, err)
			}
			_ = c.WriteMessage(OpText, payload)
			c.Advance(len(c.Output()))
		}
		run()
		if a := testing.AllocsPerRun(200, run); a != 0 {
			t.Errorf("%v: %v allocations per round", role, a)
		}
	}
}

// A message that arrives in two reads is assembled in a pooled buffer; the
// pool keeps reusing it after it has calibrated itself (bytebufferpool
// re-sizes what it keeps every 42,000 returns, from the lengths it is
// given back).
func TestConnAllocsSplitMessageAfterCalibration(t *testing.T) {
	src := frame(RoleServer, true, OpBinary, string(bytes.Repeat([]byte("x"), 16<<10)))
	buf := make([]byte, len(src))
	c := NewConn(RoleServer, nopEvents{}, Config{})
	half := len(src) / 2
	run := func() {
		copy(buf, src)
		n, err := c.Feed(buf[:half])
		if err != nil {
			t.Fatalf("Feed: %v", err)
		}
		// What Feed left unconsumed is offered again with the rest.
		if m, err := c.Feed(buf[n:]); err != nil || n+m != len(buf) {
			t.Fatalf("Feed = %d+%d of %d, %v", n, m, len(buf), err)
		}
	}
	for range 50_000 {
		run()
	}
	if a := testing.AllocsPerRun(200, run); a != 0 {
		t.Errorf("%v allocations per split message after the pool calibrated", a)
	}
}

// The fast path for common frames and the general path give the same events,
// output and error on every frame, good or bad: short frames of every opcode,
// FIN and RSV combination, masked or not, valid or invalid text, alone and
// inside a fragmented message, fed to both roles.
func TestFastFrameAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	payloads := []string{"", "a", "héllo", "\xff", "ok\xe2\x82", string(bytes.Repeat([]byte("é"), 62)), "0123456789",
		string(bytes.Repeat([]byte("x"), 126)), string(bytes.Repeat([]byte("é"), 100)) + "\xc3", string(bytes.Repeat([]byte("y"), 300))}
	var streams [][]byte
	for b0 := 0; b0 < 256; b0++ {
		for _, masked := range []bool{false, true} {
			for _, p := range payloads {
				h := Header{Fin: b0&0x80 != 0, Rsv: byte(b0>>4) & 7, OpCode: OpCode(b0 & 0xF), Masked: masked, Mask: [4]byte{1, 2, 3, byte(rng.Uint32())}}
				f := AppendFrame(nil, h, []byte(p))
				streams = append(streams, f, f[:len(f)-1], f[:min(len(f), 3)], cat(frame(RoleServer, false, OpText, "x"), f), cat(frame(RoleClient, false, OpBinary, "x"), f))
			}
		}
	}
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, s := range streams {
			var res [2]string
			for i, noFast := range []bool{false, true} {
				r := &recorder{}
				c := NewConn(role, r, Config{MaxFrameSize: 250})
				c.noFast = noFast
				n, err := c.Feed(bytes.Clone(s))
				// The output read back by the peer (a client's masking keys
				// are random, its frames are not).
				peer := RoleClient
				if role == RoleClient {
					peer = RoleServer
				}
				out := c.Output()
				pr, _, perr := drive(peer, Config{}, out, whole(len(out)))
				res[i] = fmt.Sprintf("%d %v %q -> %q %v", n, err, r.events, pr.events, perr)
			}
			if res[0] != res[1] {
				t.Fatalf("%v, % x:\nfast:    %s\ngeneral: %s", role, s, res[0], res[1])
			}
		}
	}
}

// A server Conn rests between messages, and only then; Reset gives a Conn
// that behaves as a new one, without allocating.
func TestRestingAndReset(t *testing.T) {
	r := &recorder{}
	c := NewConn(RoleServer, r, Config{})
	if !c.Resting() {
		t.Fatal("a new server Conn is not resting")
	}
	whole := frame(RoleServer, true, OpText, "hello")
	if n, err := c.Feed(bytes.Clone(whole[:4])); n != 0 || err != nil {
		t.Fatalf("Feed(partial header) = %d, %v", n, err)
	}
	if !c.Resting() {
		t.Error("unconsumed bytes are the driver's: the Conn still rests")
	}
	steps := []struct {
		what string
		do   func()
		rest bool
	}{
		{"a message read", func() { _, _ = c.Feed(bytes.Clone(whole)) }, true},
		{"a message written", func() { _ = c.WriteMessage(OpBinary, []byte("x")) }, false},
		{"its output taken", func() { c.Advance(len(c.Output())) }, true},
		{"a fragment read", func() { _, _ = c.Feed(frame(RoleServer, false, OpText, "he")) }, false},
		{"the last fragment read", func() { _, _ = c.Feed(frame(RoleServer, true, OpContinuation, "llo")) }, true},
		{"a frame begun", func() { _, _ = c.Feed(frame(RoleServer, true, OpBinary, string(make([]byte, 8<<10)))[:6<<10]) }, false},
		{"reset", func() { c.Reset(RoleServer, r, Config{}) }, true},
		{"a ping read", func() { _, _ = c.Feed(frame(RoleServer, true, OpPing, "p")) }, false},
		{"the pong taken", func() { c.Advance(len(c.Output())); c.TakePongs() }, true},
		{"a fragmented write begun", func() { _ = c.WriteFragment(OpBinary, []byte("a"), false); c.Advance(len(c.Output())) }, false},
		{"finished", func() { _ = c.WriteFragment(OpContinuation, []byte("b"), true); c.Advance(len(c.Output())) }, true},
		{"closed", func() { _ = c.Close(StatusNormalClosure, ""); c.Advance(len(c.Output())) }, false},
		{"reset after the close", func() { c.Reset(RoleServer, r, Config{}) }, true},
	}
	for _, s := range steps {
		s.do()
		if got := c.Resting(); got != s.rest {
			t.Fatalf("after %s: Resting = %v, want %v", s.what, got, s.rest)
		}
	}
	r.events = nil
	if _, err := c.Feed(bytes.Clone(whole)); err != nil || len(r.events) != 1 {
		t.Fatalf("after Reset: Feed error %v, events %q", err, r.events)
	}
	if NewConn(RoleClient, r, Config{}).Resting() {
		t.Error("a client Conn holds its masking keys: it never rests")
	}
	if a := testing.AllocsPerRun(100, func() { c.Reset(RoleServer, r, Config{}) }); a != 0 {
		t.Errorf("Reset: %v allocations", a)
	}
}

// TestFeedStopsAfterPongBatch: Feed returns after the ping that makes
// PongBatch pongs queued, leaving the rest; fed again once the driver took
// them, it answers the rest, every pong in order.
func TestFeedStopsAfterPongBatch(t *testing.T) {
	const total = 2*PongBatch + PongBatch/2
	var in []byte
	for i := range total {
		in = append(in, frame(RoleServer, true, OpPing, fmt.Sprint(i))...)
	}
	c := NewConn(RoleServer, nopEvents{}, Config{})
	var batches []int
	for off := 0; off < len(in); {
		n, err := c.Feed(in[off:])
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("no progress at %d of %d bytes", off, len(in))
		}
		off += n
		if q := c.PongsQueued(); off < len(in) && q != PongBatch {
			t.Fatalf("Feed stopped with %d pongs queued, want %d", q, PongBatch)
		}
		batches = append(batches, c.TakePongs())
	}
	if want := []int{PongBatch, PongBatch, PongBatch / 2}; fmt.Sprint(batches) != fmt.Sprint(want) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	out := c.Output()
	for i := range total {
		var h Header
		n, err := ParseHeader(out, &h)
		if err != nil || h.OpCode != OpPong || string(out[n:n+int(h.Length)]) != fmt.Sprint(i) {
			t.Fatalf("pong %d: %v %v %q", i, err, h.OpCode, out[n:n+int(h.Length)])
		}
		out = out[n+int(h.Length):]
	}
}
