package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	stdutf8 "unicode/utf8"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"
	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/internal/kerneltest"
	"github.com/tachyonws/tachyon/utf8"
)

// The operations of a WebSocket server, one benchmark each, a sub-benchmark
// per size and library, every library given the same bytes. A library that
// does not expose an operation on its own has no sub-benchmark; the tables
// of BENCHMARKS.md name it (bench/cmd/compare keeps the list).

// peerSizes are the payload sizes of the comparisons.
var peerSizes = []int{16, 128, 1 << 10, 4 << 10, 64 << 10}

func run(b *testing.B, n int, lib string, f func(b *testing.B)) {
	b.Run(fmt.Sprintf("size=%s/lib=%s", kerneltest.SizeName(n), lib), func(b *testing.B) {
		b.SetBytes(int64(n))
		b.ReportAllocs()
		f(b)
	})
}

// BenchmarkUTF8 validates text that is mostly ASCII with some multi-byte
// sequences: Tachyon's utf8.Valid (SIMD), unicode/utf8.Valid (what gorilla
// and coder applications, gws and nbio call), and gobwas's wsutil.UTF8Reader
// (a streaming check over an io.Reader).
func BenchmarkUTF8(b *testing.B) {
	for _, n := range peerSizes {
		p := kerneltest.Text("mixed", n)
		run(b, n, "tachyon", func(b *testing.B) {
			for b.Loop() {
				if !utf8.Valid(p) {
					b.Fatal("invalid")
				}
			}
		})
		run(b, n, "stdlib", func(b *testing.B) {
			for b.Loop() {
				if !stdutf8.Valid(p) {
					b.Fatal("invalid")
				}
			}
		})
		run(b, n, "gobwas", func(b *testing.B) {
			var br bytes.Reader
			u := wsutil.NewUTF8Reader(nil)
			buf := make([]byte, 4096)
			for b.Loop() {
				br.Reset(p)
				u.Source = &br
				u.Reset(&br)
				for {
					if _, err := u.Read(buf); err != nil {
						break
					}
				}
				if !u.Valid() {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// clientFrame is a masked client frame of op carrying p.
func clientFrame(op engine.OpCode, p []byte) []byte {
	return engine.AppendFrame(nil, engine.Header{Fin: true, OpCode: op, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, p)
}

// BenchmarkHeaderParse parses the header of a masked client frame:
// engine.ParseHeader from a slice, ws.ReadHeader from an io.Reader.
func BenchmarkHeaderParse(b *testing.B) {
	for _, n := range peerSizes {
		f := clientFrame(engine.OpBinary, make([]byte, n))
		hdr := f[:len(f)-n]
		run(b, n, "tachyon", func(b *testing.B) {
			var h engine.Header
			for b.Loop() {
				if _, err := engine.ParseHeader(hdr, &h); err != nil || h.Length != int64(n) {
					b.Fatal(err)
				}
			}
		})
		run(b, n, "gobwas", func(b *testing.B) {
			var br bytes.Reader
			for b.Loop() {
				br.Reset(hdr)
				if h, err := ws.ReadHeader(&br); err != nil || h.Length != int64(n) {
					b.Fatal(err)
				}
			}
		})
	}
}

type nopEvents struct{}

func (nopEvents) OnMessage(engine.OpCode, []byte)        {}
func (nopEvents) OnFragment(engine.OpCode, []byte, bool) {}
func (nopEvents) OnPing([]byte)                          {}
func (nopEvents) OnPong([]byte)                          {}
func (nopEvents) OnClose(engine.StatusCode, []byte)      {}

// BenchmarkDecode reads one masked client message per iteration on a server
// connection and hands it over whole: header, unmasking, UTF-8 for text,
// the message in a buffer the connection reuses. Each library reads from a
// loopConn that copies the frame into its buffer as a socket read would.
func BenchmarkDecode(b *testing.B) {
	for _, op := range []engine.OpCode{engine.OpText, engine.OpBinary} {
		b.Run("op="+op.String(), func(b *testing.B) {
			for _, n := range peerSizes {
				benchDecode(b, op, n)
			}
		})
	}
}

func benchDecode(b *testing.B, op engine.OpCode, n int) {
	p := kerneltest.Text("mixed", n)
	src := clientFrame(op, p)
	run(b, n, "tachyon", func(b *testing.B) {
		c := engine.NewConn(engine.RoleServer, nopEvents{}, engine.Config{})
		buf := make([]byte, len(src))
		for b.Loop() {
			copy(buf, src) // the socket read
			if _, err := c.Feed(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	run(b, n, "gorilla", func(b *testing.B) {
		conn := newLoopConn(src, -1)
		c := gorillaServer(b, conn)
		var buf bytes.Buffer
		for b.Loop() {
			_, r, err := c.NextReader()
			if err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				b.Fatal(err)
			}
			if op == engine.OpText && !stdutf8.Valid(buf.Bytes()) { // gorilla leaves it to the application
				b.Fatal("invalid")
			}
		}
	})
	run(b, n, "gobwas", func(b *testing.B) {
		conn := newLoopConn(src, -1)
		r := &wsutil.Reader{Source: bufio.NewReader(conn), State: ws.StateServerSide, CheckUTF8: true}
		var buf bytes.Buffer
		for b.Loop() {
			if _, err := r.NextFrame(); err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	run(b, n, "coder", func(b *testing.B) {
		conn := newLoopConn(src, -1)
		c := coderServer(b, conn)
		ctx := context.Background()
		var buf bytes.Buffer
		for b.Loop() {
			_, r, err := c.Reader(ctx)
			if err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				b.Fatal(err)
			}
			if op == engine.OpText && !stdutf8.Valid(buf.Bytes()) { // coder leaves it to the application
				b.Fatal("invalid")
			}
		}
	})
	run(b, n, "gws", func(b *testing.B) {
		// gws reads in its ReadLoop only: serve b.N frames, then EOF.
		conn := newLoopConn(src, 0)
		h := &gwsCounter{}
		c := gwsServer(b, conn, h)
		conn.reset(src, b.N)
		b.ResetTimer()
		c.ReadLoop()
		if h.n != b.N {
			b.Fatalf("gws read %d messages of %d", h.n, b.N)
		}
	})
}

// BenchmarkEncode writes one server message per iteration to a sink.
func BenchmarkEncode(b *testing.B) {
	for _, n := range peerSizes {
		p := bytes.Repeat([]byte("x"), n)
		run(b, n, "tachyon", func(b *testing.B) {
			c := engine.NewConn(engine.RoleServer, nopEvents{}, engine.Config{})
			for b.Loop() {
				_ = c.WriteMessage(engine.OpBinary, p)
				c.Advance(len(c.Output())) // the socket write
			}
		})
		run(b, n, "gorilla", func(b *testing.B) {
			c := gorillaServer(b, newLoopConn(nil, 0))
			for b.Loop() {
				if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
					b.Fatal(err)
				}
			}
		})
		run(b, n, "gobwas", func(b *testing.B) {
			w := wsutil.NewWriter(newLoopConn(nil, 0), ws.StateServerSide, ws.OpBinary)
			for b.Loop() {
				_, _ = w.Write(p)
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
		run(b, n, "coder", func(b *testing.B) {
			c := coderServer(b, newLoopConn(nil, 0))
			ctx := context.Background()
			for b.Loop() {
				if err := c.Write(ctx, coder.MessageBinary, p); err != nil {
					b.Fatal(err)
				}
			}
		})
		run(b, n, "gws", func(b *testing.B) {
			c := gwsServer(b, newLoopConn(nil, 0), &gwsCounter{})
			for b.Loop() {
				if err := c.WriteMessage(gws.OpcodeBinary, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandshake parses an upgrade request and writes the 101 response:
// Tachyon's ServerHandshake on the bytes; gobwas's ws.Upgrader on a
// connection that serves them; gorilla, coder and gws after net/http's
// http.ReadRequest, which is how their servers get a request.
func BenchmarkHandshake(b *testing.B) {
	req := []byte(upgradeRequest)
	n := len(req)
	b.Run("lib=tachyon", func(b *testing.B) {
		s := engine.ServerHandshake{CheckOrigin: func(*engine.Request) bool { return true }}
		var r engine.Request
		dst := make([]byte, 0, 512)
		b.SetBytes(int64(n))
		b.ReportAllocs()
		for b.Loop() {
			if resp, _, _, err := s.Handshake(dst[:0], req, &r); err != nil || len(resp) == 0 {
				b.Fatal(err)
			}
		}
	})
	b.Run("lib=gobwas", func(b *testing.B) {
		conn := newLoopConn(req, -1)
		u := ws.Upgrader{}
		b.SetBytes(int64(n))
		b.ReportAllocs()
		for b.Loop() {
			conn.reset(req, 1)
			if _, err := u.Upgrade(conn); err != nil {
				b.Fatal(err)
			}
		}
	})
	httpUpgrade := func(b *testing.B, upgrade func(w *hijacker, r *http.Request) error) {
		conn := newLoopConn(req, -1)
		b.SetBytes(int64(n))
		b.ReportAllocs()
		for b.Loop() {
			conn.reset(req, 1)
			r, err := http.ReadRequest(bufio.NewReader(conn))
			if err != nil {
				b.Fatal(err)
			}
			w := &hijacker{h: http.Header{}, conn: newLoopConn(nil, 0)}
			if err := upgrade(w, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("lib=gorilla", func(b *testing.B) {
		u := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		httpUpgrade(b, func(w *hijacker, r *http.Request) error { _, err := u.Upgrade(w, r, nil); return err })
	})
	b.Run("lib=coder", func(b *testing.B) {
		o := &coder.AcceptOptions{InsecureSkipVerify: true, CompressionMode: coder.CompressionDisabled}
		httpUpgrade(b, func(w *hijacker, r *http.Request) error { _, err := coder.Accept(w, r, o); return err })
	})
	b.Run("lib=gws", func(b *testing.B) {
		u := gws.NewUpgrader(&gwsCounter{}, &gws.ServerOption{})
		httpUpgrade(b, func(w *hijacker, r *http.Request) error {
			_, err := u.UpgradeFromConn(w.conn, bufio.NewReader(w.conn), r)
			return err
		})
	})
}

// BenchmarkPrepare encodes a broadcast frame once, for writing the same
// bytes to many connections: engine.NewPrepared, gorilla's
// NewPreparedMessage (which encodes lazily, per connection kind: the first
// write pays it, included here), gobwas's ws.CompileFrame and gws's
// NewBroadcaster (encodes on its first Broadcast, included).
func BenchmarkPrepare(b *testing.B) {
	for _, n := range peerSizes {
		p := bytes.Repeat([]byte("x"), n)
		run(b, n, "tachyon", func(b *testing.B) {
			for b.Loop() {
				if pr := engine.NewPrepared(engine.OpBinary, p); len(pr.Frame()) == 0 {
					b.Fatal("empty")
				}
			}
		})
		run(b, n, "gorilla", func(b *testing.B) {
			c := gorillaServer(b, newLoopConn(nil, 0))
			for b.Loop() {
				pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, p)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.WritePreparedMessage(pm); err != nil {
					b.Fatal(err)
				}
			}
		})
		run(b, n, "gobwas", func(b *testing.B) {
			for b.Loop() {
				if _, err := ws.CompileFrame(ws.NewFrame(ws.OpBinary, true, p)); err != nil {
					b.Fatal(err)
				}
			}
		})
		run(b, n, "gws", func(b *testing.B) {
			c := gwsServer(b, newLoopConn(nil, 0), &gwsCounter{})
			for b.Loop() {
				br := gws.NewBroadcaster(gws.OpcodeBinary, p)
				if err := br.Broadcast(c); err != nil {
					b.Fatal(err)
				}
				_ = br.Close()
			}
		})
	}
}

// gorillaServer upgrades conn with gorilla's Upgrader (the handshake
// bytes go to the hijacker) and returns the server connection.
func gorillaServer(tb testing.TB, conn *loopConn) *websocket.Conn {
	r := mustRequest(tb)
	u := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	c, err := u.Upgrade(&hijacker{h: http.Header{}, conn: conn}, r, nil)
	if err != nil {
		tb.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	return c
}

func coderServer(tb testing.TB, conn *loopConn) *coder.Conn {
	r := mustRequest(tb)
	c, err := coder.Accept(&hijacker{h: http.Header{}, conn: conn}, r, &coder.AcceptOptions{InsecureSkipVerify: true, CompressionMode: coder.CompressionDisabled})
	if err != nil {
		tb.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	return c
}

// gwsCounter counts the messages gws reads.
type gwsCounter struct {
	gws.BuiltinEventHandler
	n int
}

func (h *gwsCounter) OnMessage(_ *gws.Conn, m *gws.Message) { h.n++; _ = m.Close() }

func gwsServer(tb testing.TB, conn *loopConn, h gws.Event) *gws.Conn {
	r := mustRequest(tb)
	u := gws.NewUpgrader(h, &gws.ServerOption{CheckUtf8Enabled: true, ReadMaxPayloadSize: 16 << 20})
	c, err := u.UpgradeFromConn(conn, bufio.NewReader(conn), r)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func mustRequest(tb testing.TB) *http.Request {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader([]byte(upgradeRequest))))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

var _ io.Reader = (*loopConn)(nil)
