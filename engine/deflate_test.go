package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

func TestNegotiateServer(t *testing.T) {
	off := &Compression{}
	take := &Compression{ContextTakeover: true, ServerMaxWindowBits: 13, ClientMaxWindowBits: 12}
	cases := []struct {
		c      *Compression
		offers []string
		resp   string // "" when declined
		agreed string
	}{
		// Chromium's and Firefox's offers.
		{off, []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "permessage-deflate out=15 in=15 no-takeover"},
		{off, []string{"permessage-deflate"}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "permessage-deflate out=15 in=15 no-takeover"},
		{take, []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate; server_max_window_bits=13; client_max_window_bits=12", "permessage-deflate out=13 in=12 takeover"},
		// client_max_window_bits only when offered (7.1.2.2).
		{take, []string{"permessage-deflate"}, "permessage-deflate; server_max_window_bits=13", "permessage-deflate out=13 in=15 takeover"},
		// The client's limits and wishes are honoured.
		{take, []string{"permessage-deflate; server_max_window_bits=10; server_no_context_takeover"}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10", "permessage-deflate out=10 in=15 takeover-in"},
		{take, []string{"permessage-deflate; client_no_context_takeover; client_max_window_bits=9"}, "permessage-deflate; client_no_context_takeover; server_max_window_bits=13; client_max_window_bits=9", "permessage-deflate out=13 in=9 takeover-out"},
		{&Compression{ContextTakeover: true}, []string{"permessage-deflate; server_max_window_bits=15"}, "permessage-deflate; server_max_window_bits=15", "permessage-deflate out=15 in=15 takeover"},
		// Quoted values, spaces, case.
		{off, []string{`Permessage-Deflate ; Server_Max_Window_Bits="9"`}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9", "permessage-deflate out=9 in=15 no-takeover"},
		// Offers in preference order: a bad one is declined, the next taken.
		{off, []string{"permessage-deflate; x=1, permessage-deflate; server_max_window_bits=12"}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12", "permessage-deflate out=12 in=15 no-takeover"},
		{off, []string{"x-webkit-deflate-frame", "permessage-deflate; server_max_window_bits=16", "permessage-deflate"}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "permessage-deflate out=15 in=15 no-takeover"},
		// Declined: unknown, duplicate, missing, extra or bad values.
		{off, []string{"permessage-deflate; unknown"}, "", ""},
		{off, []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, "", ""},
		{off, []string{"permessage-deflate; server_max_window_bits"}, "", ""},
		{off, []string{"permessage-deflate; server_max_window_bits=7"}, "", ""},
		{off, []string{"permessage-deflate; server_max_window_bits=08"}, "", ""},
		{off, []string{"permessage-deflate; client_max_window_bits=99999999999999999999"}, "", ""},
		{off, []string{"permessage-deflate; server_no_context_takeover=1"}, "", ""},
		{off, []string{"permessage-deflate; client_max_window_bits=10; client_max_window_bits"}, "", ""},
		{off, []string{"permessage-deflate;"}, "", ""},
		{off, []string{"foo, bar"}, "", ""},
		{nil, []string{"permessage-deflate"}, "", ""},
	}
	for _, tc := range cases {
		offers := make([][]byte, len(tc.offers))
		for i, o := range tc.offers {
			offers[i] = []byte(o)
		}
		resp, d, ok := tc.c.Negotiate(nil, offers)
		if string(resp) != tc.resp || ok != (tc.resp != "") {
			t.Errorf("%q: response %q ok=%v, want %q", tc.offers, resp, ok, tc.resp)
			continue
		}
		if ok && d.String() != tc.agreed {
			t.Errorf("%q: agreed %s, want %s", tc.offers, d, tc.agreed)
		}
	}
}

func TestNegotiateHostileOffers(t *testing.T) {
	// Thousands of parameters, huge values: declined, in time linear in the
	// offer (the header limit bounds the offer).
	long := "permessage-deflate" + strings.Repeat("; client_no_context_takeover", 2000)
	huge := "permessage-deflate; server_max_window_bits=" + strings.Repeat("9", 5000)
	quote := `permessage-deflate; server_max_window_bits="1` + strings.Repeat(`\"`, 1000)
	for _, o := range []string{long, huge, quote, strings.Repeat(",", 4000), strings.Repeat("permessage-deflate;x,", 300)} {
		if resp, _, ok := (&Compression{}).Negotiate(nil, [][]byte{[]byte(o)}); ok {
			t.Errorf("offer of %d bytes accepted: %q", len(o), resp)
		}
	}
}

func TestAcceptClient(t *testing.T) {
	off := &Compression{}
	take := &Compression{ContextTakeover: true, ServerMaxWindowBits: 10}
	cases := []struct {
		c      *Compression
		resp   string
		agreed string // "" when the client must fail
	}{
		{off, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "permessage-deflate out=15 in=15 no-takeover"},
		{off, "permessage-deflate; server_no_context_takeover; client_max_window_bits=9", "permessage-deflate out=9 in=15 no-takeover"},
		{off, "", "off"},
		{off, "permessage-deflate", ""}, // server_no_context_takeover was asked for
		{take, "permessage-deflate; server_max_window_bits=10", "permessage-deflate out=15 in=10 takeover"},
		{take, "permessage-deflate; server_max_window_bits=9; client_no_context_takeover", "permessage-deflate out=15 in=9 takeover-in"},
		{take, "permessage-deflate", ""},                               // server_max_window_bits=10 asked for
		{take, "permessage-deflate; server_max_window_bits=11", ""},    // larger than asked
		{take, "permessage-deflate; server_max_window_bits=10; x", ""}, // unknown parameter
		{take, "permessage-deflate; server_max_window_bits=10; client_max_window_bits", ""},
		{take, "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=10", ""},
		{&Compression{ContextTakeover: true, ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=11", ""},
		{nil, "permessage-deflate", ""},
	}
	for _, tc := range cases {
		var values [][]byte
		if tc.resp != "" {
			values = [][]byte{[]byte(tc.resp)}
		}
		d, err := tc.c.Accept(values)
		switch {
		case tc.agreed == "" && !errors.Is(err, ErrDeflateResponse):
			t.Errorf("%q: err %v, agreed %s; want ErrDeflateResponse", tc.resp, err, d)
		case tc.agreed != "" && (err != nil || d.String() != tc.agreed):
			t.Errorf("%q: %s, %v; want %s", tc.resp, d, err, tc.agreed)
		}
	}
}

// agree runs the negotiation both ways and returns the two agreements.
func agree(t testing.TB, client, server *Compression) (cd, sd Deflate) {
	t.Helper()
	resp, sd, ok := server.Negotiate(nil, [][]byte{[]byte(client.Offer())})
	if !ok {
		t.Fatalf("offer %q declined", client.Offer())
	}
	cd, err := client.Accept([][]byte{resp})
	if err != nil {
		t.Fatalf("response %q: %v", resp, err)
	}
	return cd, sd
}

// jsonish returns a compressible message of n bytes.
func jsonish(rng *rand.Rand, n int) []byte {
	var b []byte
	for len(b) < n {
		b = fmt.Appendf(b, `{"id":%d,"user":"u%d","text":"héllo wörld %d","ok":true},`, rng.IntN(1000), rng.IntN(50), rng.IntN(10))
	}
	b = b[:n]
	for len(b) > 0 && !utf8.Valid(b) { // not a rune cut in two
		b[len(b)-1] = ' '
	}
	return b
}

// sinkEvents keeps the messages a Conn delivers.
type sinkEvents struct {
	msgs   [][]byte
	closed StatusCode
}

func (s *sinkEvents) OnMessage(op OpCode, p []byte)     { s.msgs = append(s.msgs, bytes.Clone(p)) }
func (s *sinkEvents) OnFragment(OpCode, []byte, bool)   {}
func (s *sinkEvents) OnPing([]byte)                     {}
func (s *sinkEvents) OnPong([]byte)                     {}
func (s *sinkEvents) OnClose(code StatusCode, _ []byte) { s.closed = code }

// pump feeds a's output to b in random chunks.
func pump(t *testing.T, rng *rand.Rand, a, b *Conn) {
	t.Helper()
	out := bytes.Clone(a.Output())
	a.Advance(len(out))
	var pending []byte
	for len(out) > 0 {
		k := min(len(out), 1+rng.IntN(3000))
		pending = append(pending, out[:k]...)
		out = out[k:]
		n, err := b.Feed(pending)
		if err != nil {
			t.Fatalf("Feed: %v", err)
		}
		pending = pending[n:]
	}
	if len(pending) != 0 {
		t.Fatalf("%d bytes left unconsumed", len(pending))
	}
}

func TestDeflateRoundTrip(t *testing.T) {
	configs := []struct{ client, server *Compression }{
		{&Compression{}, &Compression{}},
		{&Compression{ContextTakeover: true}, &Compression{ContextTakeover: true}},
		{&Compression{ContextTakeover: true, ClientMaxWindowBits: 9, ServerMaxWindowBits: 8}, &Compression{ContextTakeover: true, Level: 6}},
		{&Compression{ContextTakeover: true}, &Compression{ContextTakeover: true, ServerMaxWindowBits: 13, ClientMaxWindowBits: 12, Threshold: -1}},
		{&Compression{Threshold: -1, Level: 9}, &Compression{ContextTakeover: true}},
		{&Compression{ContextTakeover: true}, &Compression{}},
	}
	for i, cfg := range configs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			cd, sd := agree(t, cfg.client, cfg.server)
			ce, se := &sinkEvents{}, &sinkEvents{}
			client := NewConn(RoleClient, ce, Config{Deflate: cd, ReadBufferSize: 1 + rng.IntN(8192)})
			server := NewConn(RoleServer, se, Config{Deflate: sd, ReadBufferSize: 1 + rng.IntN(8192)})
			var sent [][]byte
			for m := 0; m < 40; m++ {
				var p []byte
				switch m % 4 {
				case 0:
					p = jsonish(rng, rng.IntN(100000))
				case 1:
					p = jsonish(rng, rng.IntN(3000))
				case 2:
					p = make([]byte, rng.IntN(5000)) // random: incompressible
					for j := range p {
						p[j] = byte(rng.Uint32())
					}
				case 3:
					p = nil
				}
				sent = append(sent, p)
				op := OpText
				if m%4 == 2 {
					op = OpBinary
				}
				if m%5 == 0 {
					prep := NewPrepared(op, p)
					if err := client.WritePrepared(prep); err != nil {
						t.Fatal(err)
					}
					if err := server.WritePrepared(prep); err != nil {
						t.Fatal(err)
					}
				} else {
					if err := client.WriteMessage(op, p); err != nil {
						t.Fatal(err)
					}
					if err := server.WriteMessage(op, p); err != nil {
						t.Fatal(err)
					}
				}
				if m%3 == 0 {
					_ = client.WritePing([]byte("ping"))
				}
				pump(t, rng, client, server)
				pump(t, rng, server, client)
				pump(t, rng, client, server) // the pong
			}
			for _, got := range [][][]byte{ce.msgs, se.msgs} {
				if len(got) != len(sent) {
					t.Fatalf("%d messages delivered, want %d", len(got), len(sent))
				}
				for k := range sent {
					if !bytes.Equal(got[k], sent[k]) {
						t.Fatalf("message %d: %d bytes delivered, want %d", k, len(got[k]), len(sent[k]))
					}
				}
			}
		})
	}
}

// compressedFrames returns msg as a compressed message split into frames of
// at most size bytes, masked as a client sends them.
func compressedFrames(t testing.TB, msg []byte, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 5)
	_, _ = w.Write(msg)
	_ = w.Flush()
	p := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	var out []byte
	op := OpText
	for first := true; first || len(p) > 0; first = false {
		k := min(size, len(p))
		h := Header{Fin: k == len(p), OpCode: op, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
		if first {
			h.Rsv = Rsv1
		}
		out = AppendFrame(out, h, p[:k])
		p, op = p[k:], OpContinuation
	}
	return out
}

func TestDeflateFragmentedAndBadFrames(t *testing.T) {
	_, sd := agree(t, &Compression{}, &Compression{})
	msg := jsonish(rand.New(rand.NewPCG(1, 2)), 50000)
	stream := compressedFrames(t, msg, 777)
	for _, chunk := range []int{1, 13, 4096, len(stream)} {
		r := &sinkEvents{}
		c := NewConn(RoleServer, r, Config{Deflate: sd})
		var pending []byte
		for rest := stream; len(rest) > 0; {
			k := min(chunk, len(rest))
			pending = append(pending, rest[:k]...)
			rest = rest[k:]
			n, err := c.Feed(pending)
			if err != nil {
				t.Fatal(err)
			}
			pending = pending[n:]
		}
		if len(r.msgs) != 1 || !bytes.Equal(r.msgs[0], msg) {
			t.Fatalf("chunk %d: got %d messages", chunk, len(r.msgs))
		}
	}

	bad := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"RSV1 on a continuation", cat(frame(RoleServer, false, OpText, "a"), AppendFrame(nil, Header{Fin: true, Rsv: Rsv1, OpCode: OpContinuation, Masked: true}, []byte("b"))), ErrCompressedControl},
		{"RSV1 on a ping", AppendFrame(nil, Header{Fin: true, Rsv: Rsv1, OpCode: OpPing, Masked: true}, nil), ErrCompressedControl},
		{"not deflate", AppendFrame(nil, Header{Fin: true, Rsv: Rsv1, OpCode: OpBinary, Masked: true}, []byte{0xff, 0xff, 0xff, 0xff}), ErrBadCompressedData},
		{"invalid UTF-8 inside", compressedFrames(t, []byte("ok \xff\xfe"), 100), ErrInvalidUTF8},
		{"RSV2", AppendFrame(nil, Header{Fin: true, Rsv: Rsv2, OpCode: OpBinary, Masked: true}, nil), ErrReservedBits},
	}
	for _, tc := range bad {
		r := &sinkEvents{}
		c := NewConn(RoleServer, r, Config{Deflate: sd})
		_, err := c.Feed(tc.stream)
		if !errors.Is(err, tc.want) || r.closed != CloseStatus(tc.want) {
			t.Errorf("%s: %v (close %d), want %v", tc.name, err, r.closed, tc.want)
		}
	}
	// Without the extension RSV1 is a protocol error.
	c := NewConn(RoleServer, &sinkEvents{}, Config{})
	if _, err := c.Feed(compressedFrames(t, []byte("x"), 10)); !errors.Is(err, ErrReservedBits) {
		t.Errorf("RSV1 without deflate: %v", err)
	}
}

func TestDeflateBomb(t *testing.T) {
	// 20 MiB of zeros compress to ~20 KiB; the 16 MiB limit stops it with
	// 1009 after at most the limit was inflated, and the budget is
	// returned.
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 1)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 20; i++ {
		_, _ = w.Write(zeros)
	}
	_ = w.Flush()
	p := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	stream := AppendFrame(nil, Header{Fin: true, Rsv: Rsv1, OpCode: OpBinary, Masked: true, Mask: [4]byte{9, 8, 7, 6}}, p)
	_, sd := agree(t, &Compression{}, &Compression{})
	budget := NewBudget(64 << 20)
	r := &sinkEvents{}
	c := NewConn(RoleServer, r, Config{Deflate: sd, Budget: budget})
	_, err := c.Feed(bytes.Clone(stream)) // Feed unmasks in place
	if !errors.Is(err, ErrMessageTooBig) || r.closed != StatusMessageTooBig {
		t.Fatalf("bomb of %d bytes: %v, close %d", len(p), err, r.closed)
	}
	if budget.Used() != 0 {
		t.Fatalf("budget still holds %d bytes", budget.Used())
	}
	// A budget smaller than the message: 1008.
	c = NewConn(RoleServer, r, Config{Deflate: sd, Budget: NewBudget(1 << 20)})
	if _, err := c.Feed(stream); !errors.Is(err, ErrBudget) {
		t.Fatalf("bomb past the budget: %v", err)
	}
}

// TestDeflateBombMemory: a bomb (64 MiB from 66 KiB) ends in 1009 within a
// budget of the limit, plus its compressed bytes and one read buffer:
// inflating it never holds more than that, whether its frame is in the
// caller's buffer whole or taken in pieces as it arrives.
func TestDeflateBombMemory(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 1)
	zeros := make([]byte, 1<<20)
	for range 64 {
		_, _ = w.Write(zeros)
	}
	_ = w.Flush()
	p := bytes.TrimSuffix(buf.Bytes(), deflateTail)
	stream := AppendFrame(nil, Header{Fin: true, Rsv: Rsv1, OpCode: OpBinary, Masked: true, Mask: [4]byte{9, 8, 7, 6}}, p)
	_, sd := agree(t, &Compression{}, &Compression{})
	const limit = DefaultMaxMessageSize
	for _, piece := range []int{len(stream), DefaultReadBufferSize} {
		budget := NewBudget(limit + int64(len(p)) + DefaultReadBufferSize)
		r := &sinkEvents{}
		c := NewConn(RoleServer, r, Config{Deflate: sd, Budget: budget, MaxMessageSize: limit})
		var err error
		var pending []byte
		for rest := stream; len(rest) > 0 && err == nil; {
			k := min(piece, len(rest))
			pending = append(pending, rest[:k]...)
			rest = rest[k:]
			var n int
			n, err = c.Feed(pending)
			pending = pending[:copy(pending, pending[n:])]
		}
		if !errors.Is(err, ErrMessageTooBig) || r.closed != StatusMessageTooBig {
			t.Errorf("pieces of %d: %v, close %d; want 1009 within the budget", piece, err, r.closed)
		}
		if budget.Used() != 0 {
			t.Errorf("pieces of %d: budget still holds %d bytes", piece, budget.Used())
		}
	}
}

// TestDeflateLimitExact: a compressed message of exactly the limit is
// delivered whole, one byte more is 1009, for sizes on both sides of the
// inflater's piece size.
func TestDeflateLimitExact(t *testing.T) {
	_, sd := agree(t, &Compression{}, &Compression{})
	rng := rand.New(rand.NewPCG(4, 4))
	for _, limit := range []int{100, 4096, 1 << 20, 3<<20 + 17} {
		msg := jsonish(rng, limit+1)
		for _, n := range []int{limit, limit + 1} {
			r := &sinkEvents{}
			c := NewConn(RoleServer, r, Config{Deflate: sd, MaxMessageSize: int64(limit)})
			_, err := c.Feed(compressedFrames(t, msg[:n], 1<<30))
			switch {
			case n == limit && (err != nil || len(r.msgs) != 1 || !bytes.Equal(r.msgs[0], msg[:n])):
				t.Errorf("limit %d: message of the limit: %v, %d messages", limit, err, len(r.msgs))
			case n > limit && !errors.Is(err, ErrMessageTooBig):
				t.Errorf("limit %d: message one byte over: %v", limit, err)
			}
		}
	}
}

// TestDeflateIncompressibleAtTheLimit: random bytes of exactly the limit
// grow a little when compressed; the message is still delivered (the
// limit holds the inflated size), in one frame and in fragments.
func TestDeflateIncompressibleAtTheLimit(t *testing.T) {
	_, sd := agree(t, &Compression{}, &Compression{})
	rng := rand.New(rand.NewPCG(6, 6))
	for _, limit := range []int{1000, 70000} {
		msg := make([]byte, limit)
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, 1)
		_, _ = w.Write(msg)
		_ = w.Flush()
		p := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
		if len(p) <= limit {
			t.Fatalf("%d random bytes compressed to %d", limit, len(p))
		}
		for _, split := range []int{len(p), len(p) / 3} {
			var stream []byte
			for i, op := 0, OpBinary; i < len(p); i, op = i+split, OpContinuation {
				h := Header{Fin: i+split >= len(p), OpCode: op, Masked: true, Mask: [4]byte{5, 6, 7, 8}}
				if i == 0 {
					h.Rsv = Rsv1
				}
				stream = AppendFrame(stream, h, p[i:min(i+split, len(p))])
			}
			r := &sinkEvents{}
			c := NewConn(RoleServer, r, Config{Deflate: sd, MaxMessageSize: int64(limit), MaxFrameSize: int64(limit)})
			if _, err := c.Feed(stream); err != nil || len(r.msgs) != 1 || !bytes.Equal(r.msgs[0], msg) {
				t.Errorf("limit %d, frames of %d: %v, %d messages", limit, split, err, len(r.msgs))
			}
		}
	}
}

func TestDeflateAllocs(t *testing.T) {
	for _, take := range []bool{false, true} {
		cd, sd := agree(t, &Compression{ContextTakeover: take}, &Compression{ContextTakeover: take})
		ce, se := &countEvents{}, &countEvents{}
		client := NewConn(RoleClient, ce, Config{Deflate: cd})
		server := NewConn(RoleServer, se, Config{Deflate: sd})
		msg := jsonish(rand.New(rand.NewPCG(3, 4)), 2048)
		round := func() {
			_ = client.WriteMessage(OpText, msg)
			n, err := server.Feed(client.Output())
			client.Advance(n)
			if err != nil {
				t.Fatal(err)
			}
			_ = server.WriteMessage(OpText, msg)
			n, err = client.Feed(server.Output())
			server.Advance(n)
			if err != nil {
				t.Fatal(err)
			}
		}
		round()
		if a := testing.AllocsPerRun(200, round); a != 0 {
			t.Errorf("takeover=%v: %.1f allocations per compressed echo", take, a)
		}
		if ce.n == 0 || se.n == 0 {
			t.Fatal("no messages")
		}
	}
}

type countEvents struct{ n int }

func (c *countEvents) OnMessage(OpCode, []byte)        { c.n++ }
func (c *countEvents) OnFragment(OpCode, []byte, bool) {}
func (c *countEvents) OnPing([]byte)                   {}
func (c *countEvents) OnPong([]byte)                   {}
func (c *countEvents) OnClose(StatusCode, []byte)      {}

// TestDeflateWindowAgainstZlib checks that no back-reference of ours
// reaches past the negotiated window, within a message and across
// messages: Python's zlib inflates our output with exactly that window
// (wbits = -bits) and fails with "invalid distance too far back"
// otherwise.
func TestDeflateWindowAgainstZlib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed (CI has it)")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	// Repeats at distances from 200 bytes to 40 KiB tempt a compressor
	// into long references.
	unit := jsonish(rng, 40000)
	var msgs [][]byte
	for _, n := range []int{300, 5000, 40000, 2000} {
		m := append([]byte(nil), unit[:n/2]...)
		m = append(m, unit[:n-n/2]...)
		msgs = append(msgs, m)
	}
	// One Python process checks every case.
	var script strings.Builder
	// zlib checks distances against its window only for bytes that left
	// the output buffer of the current call: inflating into 64-byte
	// pieces makes every reference past the window an error.
	script.WriteString("import zlib,sys\nbad=[]\n" +
		"def inflate(d, buf):\n out=b''\n while True:\n  x=d.decompress(buf,64)\n  out+=x\n  buf=d.unconsumed_tail\n  if not buf and not x: return out\n")
	for bits := 8; bits <= 15; bits++ {
		for _, take := range []bool{false, true} {
			c := &Compression{ContextTakeover: take, ServerMaxWindowBits: bits, Threshold: -1}
			_, sd := agree(t, &Compression{ContextTakeover: take, ServerMaxWindowBits: bits}, c)
			conn := NewConn(RoleServer, &sinkEvents{}, Config{Deflate: sd})
			name := fmt.Sprintf("bits %d takeover %v", bits, take)
			fmt.Fprintf(&script, "d=zlib.decompressobj(%d)\n", -bits)
			for i, m := range msgs {
				if !take {
					fmt.Fprintf(&script, "d=zlib.decompressobj(%d)\n", -bits)
				}
				_ = conn.WriteMessage(OpBinary, m)
				out := conn.Output()
				hn := headerLen(out)
				fmt.Fprintf(&script, "try:\n x=inflate(d,bytes.fromhex('%x')+b'\\x00\\x00\\xff\\xff')\n", out[hn:])
				fmt.Fprintf(&script, " if len(x)!=%d: bad.append('%s message %d: wrong length')\n", len(m), name, i)
				fmt.Fprintf(&script, "except zlib.error as e:\n bad.append('%s message %d: '+str(e))\n", name, i)
				conn.Advance(len(out))
			}
		}
	}
	script.WriteString("print('\\n'.join(bad))\nsys.exit(3 if bad else 0)\n")
	cmd := exec.Command(py, "-")
	cmd.Stdin = strings.NewReader(script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("zlib: %v\n%s", err, out)
	}
}

// BenchmarkDeflateEcho measures one compressed message each way between a
// client and a server Conn (compress, frame, parse, inflate, validate),
// per message size and takeover setting.
func BenchmarkDeflateEcho(b *testing.B) {
	for _, take := range []bool{false, true} {
		for _, size := range []int{1 << 10, 16 << 10} {
			b.Run(fmt.Sprintf("takeover=%v/%dKiB", take, size>>10), func(b *testing.B) {
				comp := &Compression{ContextTakeover: take, ServerMaxWindowBits: 13, ClientMaxWindowBits: 12}
				if !take {
					comp = &Compression{}
				}
				cd, sd := agree(b, comp, comp)
				client := NewConn(RoleClient, &countEvents{}, Config{Deflate: cd})
				server := NewConn(RoleServer, &countEvents{}, Config{Deflate: sd})
				msg := jsonish(rand.New(rand.NewPCG(3, 4)), size)
				b.SetBytes(int64(2 * size))
				b.ReportAllocs()
				for b.Loop() {
					_ = client.WriteMessage(OpText, msg)
					n, _ := server.Feed(client.Output())
					client.Advance(n)
					_ = server.WriteMessage(OpText, msg)
					n, _ = client.Feed(server.Output())
					server.Advance(n)
				}
			})
		}
	}
}

// TestDeflateFragmentedBomb: a bomb in fragments is refused with 1009 as
// soon as its fragments inflate past the limit, before its last one; an
// honest message near the limit, in small fragments, is probed the same
// way and delivered.
func TestDeflateFragmentedBomb(t *testing.T) {
	_, sd := agree(t, &Compression{}, &Compression{})
	const limit = 1 << 20
	stream := compressedFrames(t, make([]byte, 8<<20), 1000)
	var h Header
	n, _ := ParseHeader(stream, &h)
	first := stream[:n+int(h.Length)]
	r := &sinkEvents{}
	c := NewConn(RoleServer, r, Config{Deflate: sd, MaxMessageSize: limit})
	if _, err := c.Feed(bytes.Clone(first)); err != nil {
		t.Fatalf("first fragment: %v", err)
	}
	// The next fragments, never the last: the 1009 must come before it.
	rest := stream[len(first):]
	for k := 0; k < 20 && len(rest) > 0; k++ {
		n, _ := ParseHeader(rest, &h)
		if h.Fin {
			break
		}
		_, err := c.Feed(bytes.Clone(rest[:n+int(h.Length)]))
		rest = rest[n+int(h.Length):]
		if errors.Is(err, ErrMessageTooBig) {
			return
		}
		if err != nil {
			t.Fatalf("fragment %d: %v", k, err)
		}
	}
	t.Fatal("no 1009 before the bomb's last fragment")
}

func TestDeflateFragmentedNearTheLimit(t *testing.T) {
	_, sd := agree(t, &Compression{}, &Compression{})
	msg := jsonish(rand.New(rand.NewPCG(2, 3)), 60000)
	for _, limit := range []int{60000, 60001} {
		r := &sinkEvents{}
		c := NewConn(RoleServer, r, Config{Deflate: sd, MaxMessageSize: int64(limit)})
		if _, err := c.Feed(compressedFrames(t, msg, 7)); err != nil || len(r.msgs) != 1 || !bytes.Equal(r.msgs[0], msg) {
			t.Fatalf("limit %d: %v, %d messages", limit, err, len(r.msgs))
		}
	}
}

// TestDeflatePreparedOnce: a prepared message (a broadcast) is compressed
// once per window size, however many connections it goes to, and the same
// frame serves connections with and without context takeover; with
// takeover its payload joins the connection's window, so the next message
// refers back to it, and the client, which adds it to its own window,
// inflates both.
func TestDeflatePreparedOnce(t *testing.T) {
	msg := jsonish(rand.New(rand.NewPCG(9, 9)), 4000)
	p := NewPrepared(OpText, msg)
	frames := map[int][]byte{} // by window bits: the first connection's frame
	for i, tc := range []struct {
		take bool
		bits int
	}{{false, 15}, {true, 15}, {false, 15}, {true, 15}, {true, 12}, {false, 12}} {
		cd, sd := agree(t, &Compression{ContextTakeover: tc.take, ServerMaxWindowBits: tc.bits}, &Compression{ContextTakeover: tc.take})
		ce := &sinkEvents{}
		server := NewConn(RoleServer, &sinkEvents{}, Config{Deflate: sd})
		client := NewConn(RoleClient, ce, Config{Deflate: cd})
		frame, err := server.FrameFor(p)
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := frames[tc.bits]; !ok {
			frames[tc.bits] = frame
		} else if &f[0] != &frame[0] {
			t.Fatalf("connection %d (%d bits): the message was compressed again", i, tc.bits)
		}
		if _, err := client.Feed(bytes.Clone(frame)); err != nil {
			t.Fatal(err)
		}
		_ = server.WriteMessage(OpText, msg)
		next := bytes.Clone(server.Output())
		server.Advance(len(next))
		switch {
		case tc.take && len(next) > len(frame)/4:
			t.Errorf("connection %d: with takeover the repeat took %d bytes after a %d-byte broadcast: not referred back", i, len(next), len(frame))
		case !tc.take && len(next) < len(frame)/2:
			t.Errorf("connection %d: without takeover the repeat took %d bytes after a %d-byte broadcast", i, len(next), len(frame))
		}
		if _, err := client.Feed(next); err != nil {
			t.Fatal(err)
		}
		if len(ce.msgs) != 2 || !bytes.Equal(ce.msgs[0], msg) || !bytes.Equal(ce.msgs[1], msg) {
			t.Fatalf("connection %d: %d messages delivered", i, len(ce.msgs))
		}
	}
	if len(frames) != 2 || &frames[12][0] == &frames[15][0] {
		t.Fatal("one frame per window size expected")
	}
}
