package fuzz

import (
	"bytes"
	"compress/flate"
	"fmt"
	"testing"

	"github.com/tachyonws/tachyon/engine"
)

// compression builds one side's permessage-deflate options from a byte of
// fuzz input: takeover, window bits, level, threshold.
func compression(b byte) *engine.Compression {
	return &engine.Compression{
		ContextTakeover:     b&1 != 0,
		ServerMaxWindowBits: 8 + int(b>>1&7),
		ClientMaxWindowBits: 8 + int(b>>4&7),
		Level:               1 + int(b>>6)*3,
		Threshold:           []int{-1, 0, 1, 100}[b>>6],
	}
}

// agreements negotiates client and server options and returns what each
// side agreed.
func agreements(t *testing.T, client, server *engine.Compression) (cd, sd engine.Deflate) {
	resp, sd, ok := server.Negotiate(nil, [][]byte{[]byte(client.Offer())})
	if !ok {
		t.Fatalf("offer %q declined", client.Offer())
	}
	cd, err := client.Accept([][]byte{resp})
	if err != nil {
		t.Fatalf("response %q to %q: %v", resp, client.Offer(), err)
	}
	return cd, sd
}

// budgetEvents checks, at each delivery, that the connection holds no more
// of the budget than the message limit allows: the message being inflated
// (up to the limit and one growth step), the compressed bytes assembled
// (up to the limit) and its windows.
type budgetEvents struct {
	events
	budget *engine.Budget
}

func (e *budgetEvents) OnMessage(op engine.OpCode, p []byte) {
	if used := e.budget.Used(); used > 3*int64(e.maxMsg)+2<<16 {
		e.t.Fatalf("%d bytes of budget held for a %d-byte limit", used, e.maxMsg)
	}
	e.events.OnMessage(op, p)
}

// FuzzInflate feeds arbitrary bytes to server and client Conns that
// negotiated permessage-deflate, both as raw input and as the payload of
// a compressed frame (so the decompressor sees arbitrary deflate streams):
// nothing panics, no message over the limit is delivered, the budget held
// stays within the limit's bound and is all returned at the end.
func FuzzInflate(f *testing.F) {
	var good bytes.Buffer
	w, _ := flate.NewWriter(&good, 6)
	_, _ = w.Write(bytes.Repeat([]byte("abcabcabd"), 300))
	_ = w.Flush()
	f.Add(good.Bytes(), []byte{0}, byte(0))
	f.Add([]byte{0xc1, 0x80, 1, 2, 3, 4}, []byte{3, 1}, byte(1))
	f.Add([]byte{0xff, 0xff, 0xff}, []byte{}, byte(0x33))
	bomb := bytes.Buffer{}
	w.Reset(&bomb)
	_, _ = w.Write(make([]byte, 200000))
	_ = w.Flush()
	f.Add(bomb.Bytes(), []byte{200}, byte(0xff))
	f.Fuzz(func(t *testing.T, data, sizes []byte, params byte) {
		const maxMsg, readBuf = 16 << 10, 256
		cd, sd := agreements(t, compression(params), compression(params^0x5A))
		for _, role := range []engine.Role{engine.RoleServer, engine.RoleClient} {
			d := sd
			if role == engine.RoleClient {
				d = cd
			}
			for _, wrap := range []bool{false, true} {
				budget := engine.NewBudget(1 << 30)
				e := &budgetEvents{events: events{t: t, maxMsg: maxMsg}, budget: budget}
				c := engine.NewConn(role, e, engine.Config{MaxMessageSize: maxMsg, ReadBufferSize: readBuf, Deflate: d, Budget: budget})
				in := bytes.Clone(data)
				if wrap {
					h := engine.Header{Fin: true, Rsv: engine.Rsv1, OpCode: engine.OpBinary}
					if role == engine.RoleServer {
						h.Masked, h.Mask = true, [4]byte{1, 2, 3, 4}
					}
					in = engine.AppendFrame(nil, h, data)
					in = append(in, in...) // twice: the second sees the first's window
				}
				_ = feedChunks(t, c, in, sizes, readBuf)
				c.Abort()
				if e.afterCl > 0 {
					t.Fatal("a message was delivered after OnClose")
				}
				if used := budget.Used(); used != 0 {
					t.Fatalf("%d bytes of budget still held after the end", used)
				}
			}
		}
	})
}

// FuzzDeflateRoundTrip writes messages compressed with random parameters
// (window sizes, takeover, level, threshold), some prepared, some
// fragmented (sent uncompressed), and reads them with the other side fed
// in random chunks: exactly the messages written arrive.
func FuzzDeflateRoundTrip(f *testing.F) {
	f.Add([]byte("hello, hello, hello, world"), []byte{0, 5, 3}, []byte{7}, byte(0), byte(0), true)
	f.Add(bytes.Repeat([]byte("{\"a\":1,\"b\":[1,2,3]}"), 400), []byte{1, 1, 1, 200}, []byte{0, 1}, byte(0xff), byte(1), false)
	f.Add([]byte("Déjà vu — 你好 👋"), []byte{255, 13}, []byte{255}, byte(0x21), byte(0x90), true)
	f.Fuzz(func(t *testing.T, data, cuts, sizes []byte, cp, sp byte, client bool) {
		if len(data) > 64<<10 {
			data = data[:64<<10]
		}
		cd, sd := agreements(t, compression(cp), compression(sp))
		writer, reader := engine.RoleServer, engine.RoleClient
		wd, rd := sd, cd
		if client {
			writer, reader, wd, rd = engine.RoleClient, engine.RoleServer, cd, sd
		}
		w := engine.NewConn(writer, &events{t: t, maxMsg: 1 << 30}, engine.Config{Deflate: wd})
		e := &events{t: t, maxMsg: 1 << 30}
		r := engine.NewConn(reader, e, engine.Config{Deflate: rd})
		var want []string
		for i, m := range splitMessages(data, cuts) {
			op, msg := m.op, m.p
			switch {
			case i%4 == 3 && len(msg) > 1:
				half := len(msg) / 2
				_ = w.WriteFragment(op, msg[:half], false)
				_ = w.WritePing([]byte("between"))
				_ = w.WriteFragment(engine.OpContinuation, msg[half:], true)
			case i%3 == 1:
				if err := w.WritePrepared(engine.NewPrepared(op, msg)); err != nil {
					t.Fatal(err)
				}
			default:
				if err := w.WriteMessage(op, msg); err != nil {
					t.Fatal(err)
				}
			}
			want = append(want, fmt.Sprintf("%v:%q", op, msg))
			// Feed what is written so far: the reader's window follows
			// the writer's message by message.
			if err := feedChunks(t, r, bytes.Clone(w.Output()), sizes, engine.DefaultReadBufferSize); err != nil {
				t.Fatalf("reader failed: %v (agreed %s / %s)", err, wd, rd)
			}
			w.Advance(len(w.Output()))
		}
		if fmt.Sprint(e.msgs) != fmt.Sprint(want) {
			t.Fatalf("read %q\nwrote %q", e.msgs, want)
		}
	})
}

// FuzzNegotiate offers arbitrary Sec-WebSocket-Extensions values to a
// server and arbitrary responses to a client: nothing panics, and what the
// server answers is one permessage-deflate element that a client whose
// offer it answers accepts.
func FuzzNegotiate(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits", byte(0))
	f.Add("permessage-deflate; server_max_window_bits=10; client_no_context_takeover, permessage-deflate", byte(1))
	f.Add(`permessage-deflate; server_max_window_bits="9"; x`, byte(0x7f))
	f.Fuzz(func(t *testing.T, offer string, params byte) {
		server := compression(params)
		resp, d, ok := server.Negotiate(nil, [][]byte{[]byte(offer)})
		if !ok {
			if len(resp) != 0 || d.Enabled() {
				t.Fatalf("declined %q but answered %q", offer, resp)
			}
		} else if !bytes.HasPrefix(resp, []byte("permessage-deflate")) || bytes.IndexByte(resp, ',') >= 0 {
			t.Fatalf("answer %q to %q", resp, offer)
		}
		// A client with any options must not panic on any response.
		_, _ = compression(params ^ 0xff).Accept([][]byte{[]byte(offer)})
	})
}
