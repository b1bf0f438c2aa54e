package fuzz

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/tachyonws/tachyon/engine"
)

// events records what a Conn delivers, and checks the limits it was given.
type events struct {
	t       *testing.T
	maxMsg  int
	msgs    []string
	closes  int
	afterCl int
}

func (e *events) OnMessage(op engine.OpCode, p []byte) {
	if len(p) > e.maxMsg {
		e.t.Fatalf("delivered a %d-byte message over the %d-byte limit", len(p), e.maxMsg)
	}
	if e.closes > 0 {
		e.afterCl++
	}
	e.msgs = append(e.msgs, fmt.Sprintf("%v:%q", op, p))
}
func (e *events) OnFragment(op engine.OpCode, p []byte, final bool) {
	e.msgs = append(e.msgs, fmt.Sprintf("frag %v:%q %v", op, p, final))
}
func (e *events) OnPing(p []byte) {}
func (e *events) OnPong(p []byte) {}
func (e *events) OnClose(code engine.StatusCode, reason []byte) {
	e.closes++
	if e.closes > 1 {
		e.t.Fatal("OnClose called twice")
	}
}

// feedChunks feeds b to c in chunks of the given sizes (cycled), keeping the
// unconsumed bytes as a driver does, and checks the caller never has to hold
// more than the read buffer plus a header.
func feedChunks(t *testing.T, c *engine.Conn, b []byte, sizes []byte, readBuf int) error {
	var pending []byte
	for i := 0; len(b) > 0; i++ {
		k := 1
		if len(sizes) > 0 {
			k = int(sizes[i%len(sizes)]) + 1
		}
		k = min(k, len(b))
		pending = append(pending, b[:k]...)
		b = b[k:]
		n, err := c.Feed(pending)
		for err == nil && n < len(pending) && c.PongsQueued() >= engine.PongBatch {
			// Feed stopped after a batch of pongs: a driver writes them
			// out, then feeds the rest.
			c.TakePongs()
			var m int
			m, err = c.Feed(pending[n:])
			n += m
		}
		if err != nil {
			return err
		}
		pending = pending[:copy(pending, pending[n:])]
		if len(pending) > readBuf+engine.MaxHeaderSize {
			t.Fatalf("%d unconsumed bytes held, limit %d", len(pending), readBuf+engine.MaxHeaderSize)
		}
	}
	return nil
}

// FuzzDecoder feeds arbitrary bytes, in arbitrary chunks, to a server and a
// client Conn with small limits: nothing panics, no message over the limit is
// delivered, the caller never holds more than a read buffer, OnClose comes at
// most once and nothing is delivered after it, and the output the Conn queues
// always parses as frames.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, []byte{0})
	f.Add([]byte{0x01, 0x03, 'H', 'e', 'l', 0x89, 0x00, 0x80, 0x02, 'l', 'o', 0x88, 0x02, 0x03, 0xe8}, []byte{3, 1})
	f.Add([]byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1}, []byte{})
	f.Add([]byte{0x82, 0xFE, 0x04, 0x00, 1, 2, 3, 4}, []byte{200})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		const maxMsg, readBuf = 1024, 256
		for _, role := range []engine.Role{engine.RoleServer, engine.RoleClient} {
			for _, stream := range []bool{false, true} {
				e := &events{t: t, maxMsg: maxMsg}
				c := engine.NewConn(role, e, engine.Config{MaxMessageSize: maxMsg, ReadBufferSize: readBuf, Stream: stream})
				_ = feedChunks(t, c, bytes.Clone(data), sizes, readBuf)
				if e.afterCl > 0 {
					t.Fatal("a message was delivered after OnClose")
				}
				out := c.Output()
				for len(out) > 0 {
					var h engine.Header
					n, err := engine.ParseHeader(out, &h)
					if err != nil || n > len(out) || int64(len(out)-n) < h.Length {
						t.Fatalf("queued output does not parse as frames: % x", c.Output())
					}
					out = out[n+int(h.Length):]
				}
			}
		}
	})
}

// FuzzRoundTrip writes messages with one role, fragmented at random, and reads
// them with the other, fed in random chunks: the reader delivers exactly the
// messages written.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{0, 5, 3}, []byte{7}, true)
	f.Add([]byte("Déjà vu — 你好 👋"), []byte{1, 1, 1, 200}, []byte{0, 1}, false)
	f.Add(bytes.Repeat([]byte{0xAB}, 5000), []byte{255, 13}, []byte{255}, true)
	f.Fuzz(func(t *testing.T, data, cuts, sizes []byte, client bool) {
		if len(data) > 64<<10 {
			data = data[:64<<10] // longer inputs find nothing new and slow the fuzzer
		}
		writer, reader := engine.RoleServer, engine.RoleClient
		if client {
			writer, reader = engine.RoleClient, engine.RoleServer
		}
		w := engine.NewConn(writer, &events{t: t, maxMsg: 1 << 30}, engine.Config{})
		var want []string
		// Every third message is sent in fragments.
		for i, m := range splitMessages(data, cuts) {
			op, msg := m.op, m.p
			if i%3 == 2 && len(msg) > 1 {
				half := len(msg) / 2
				_ = w.WriteFragment(op, msg[:half], false)
				_ = w.WritePing([]byte("between"))
				_ = w.WriteFragment(engine.OpContinuation, msg[half:], true)
			} else if err := w.WriteMessage(op, msg); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("%v:%q", op, msg))
		}
		_ = w.Close(engine.StatusNormalClosure, "")
		e := &events{t: t, maxMsg: 1 << 30}
		r := engine.NewConn(reader, e, engine.Config{})
		err := feedChunks(t, r, bytes.Clone(w.Output()), sizes, engine.DefaultReadBufferSize)
		if engine.CloseStatus(err) != engine.StatusNormalClosure {
			t.Fatalf("reader ended with %v", err)
		}
		if fmt.Sprint(e.msgs) != fmt.Sprint(want) {
			t.Fatalf("read %q\nwrote %q", e.msgs, want)
		}
	})
}

// fuzzMsg is one message a round-trip target writes.
type fuzzMsg struct {
	op engine.OpCode
	p  []byte
}

// splitMessages cuts data into at most 52 messages at the cut points
// (cuts[i]*20 bytes for the i-th, the rest in the last; at least one,
// maybe empty): even-numbered ones text (made valid UTF-8), odd ones
// binary.
func splitMessages(data, cuts []byte) []fuzzMsg {
	var ms []fuzzMsg
	rest := data
	for i := 0; (len(rest) > 0 || i == 0) && i < 52; i++ {
		k := len(rest)
		if i < len(cuts) {
			k = min(int(cuts[i])*20, len(rest))
		}
		m := fuzzMsg{engine.OpBinary, rest[:k]}
		rest = rest[k:]
		if i%2 == 0 {
			m.op, m.p = engine.OpText, []byte(strings.ToValidUTF8(string(m.p), "?"))
		}
		ms = append(ms, m)
	}
	return ms
}
