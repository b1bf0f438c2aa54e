package reactor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// echo sends every message back.
type echo struct{ engine.BaseHandler }

func (echo) OnMessage(s engine.Socket, op engine.OpCode, p []byte) { _ = s.WriteMessage(op, p) }

// recorder records what a handler sees.
type recorder struct {
	engine.BaseHandler
	opened chan engine.Socket
	msgs   chan []byte
	closes chan engine.CloseError
	pongs  chan []byte
	echo   bool
}

func newRecorder(echo bool) *recorder {
	return &recorder{opened: make(chan engine.Socket, 256), msgs: make(chan []byte, 8192),
		closes: make(chan engine.CloseError, 256), pongs: make(chan []byte, 16), echo: echo}
}

func (r *recorder) OnOpen(s engine.Socket) { r.opened <- s }
func (r *recorder) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	if r.echo {
		_ = s.WriteMessage(op, p)
	}
	select {
	case r.msgs <- bytes.Clone(p):
	default:
	}
}
func (r *recorder) OnClose(_ engine.Socket, code engine.StatusCode, reason string) {
	r.closes <- engine.CloseError{Code: code, Reason: reason}
}
func (r *recorder) OnPong(_ engine.Socket, p []byte) {
	select {
	case r.pongs <- bytes.Clone(p):
	default: // heartbeats: only the first few matter
	}
}

func start(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	if opts.Loops == 0 {
		opts.Loops = 2
	}
	if opts.Handshake.CheckOrigin == nil {
		opts.Handshake.CheckOrigin = func(*engine.Request) bool { return true }
	}
	s, err := Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, "ws://" + s.Addr().String() + "/"
}

func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// dial connects an engine client whose handler records what it gets.
func dial(t testing.TB, url string) (*engine.NetConn, *recorder) {
	t.Helper()
	rec := newRecorder(false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := engine.Dial(ctx, url, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Serve() }()
	t.Cleanup(func() { _ = c.Close(engine.StatusNormalClosure, "") })
	return c, rec
}

// raw is a client on a bare TCP connection, for the tests that need to
// break the rules or to look at the exact bytes.
type raw struct {
	net.Conn
	r *bufio.Reader
}

func rawDial(t testing.TB, addr string) *raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &raw{Conn: c, r: bufio.NewReaderSize(c, 1<<16)}
}

const rawRequest = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

func rawUpgrade(t testing.TB, addr string) *raw {
	t.Helper()
	c := rawDial(t, addr)
	if _, err := c.Write([]byte(rawRequest)); err != nil {
		t.Fatal(err)
	}
	status := c.readResponse(t)
	if status != 101 {
		t.Fatalf("handshake status %d", status)
	}
	return c
}

func (c *raw) readResponse(t testing.TB) int {
	t.Helper()
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	if resp.StatusCode != 101 {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode
}

func clientFrame(op engine.OpCode, fin bool, p []byte) []byte {
	var key [4]byte
	_, _ = rand.Read(key[:])
	h := engine.Header{Fin: fin, OpCode: op, Masked: true, Mask: key, Length: int64(len(p))}
	f := engine.AppendHeader(nil, h)
	start := len(f)
	f = append(f, p...)
	for i := range p {
		f[start+i] ^= key[i&3]
	}
	return f
}

// readFrame reads one server frame.
func (c *raw) readFrame(t testing.TB) (engine.Header, []byte) {
	t.Helper()
	var h engine.Header
	buf := make([]byte, 0, 14)
	for {
		n, err := engine.ParseHeader(buf, &h)
		if err != nil {
			t.Fatalf("bad header: %v", err)
		}
		if n <= len(buf) {
			break
		}
		b, err := c.r.ReadByte()
		if err != nil {
			t.Fatalf("reading frame: %v", err)
		}
		buf = append(buf, b)
	}
	if h.Masked {
		t.Fatal("server frame is masked")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.r, p); err != nil {
		t.Fatalf("reading payload: %v", err)
	}
	return h, p
}

// expectClose reads frames until a close and returns its code; then the
// server must close the TCP connection.
func (c *raw) expectClose(t testing.TB) engine.StatusCode {
	t.Helper()
	for {
		h, p := c.readFrame(t)
		if h.OpCode != engine.OpClose {
			continue
		}
		code := engine.StatusNoStatusReceived
		if len(p) >= 2 {
			code = engine.StatusCode(binary.BigEndian.Uint16(p))
		}
		return code
	}
}

func (c *raw) expectEOF(t testing.TB) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c.r); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("expected the server to close the connection: %v", err)
	}
}

func TestEchoSizes(t *testing.T) {
	_, url := start(t, Options{Handler: echo{}})
	c, rec := dial(t, url)
	for _, n := range []int{0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 200_000, 1 << 20} {
		for _, op := range []engine.OpCode{engine.OpBinary, engine.OpText} {
			p := bytes.Repeat([]byte("é"), n/2+1)[:n]
			if op == engine.OpText && n%2 == 1 {
				p[n-1] = 'x'
			}
			if err := c.WriteMessage(op, p); err != nil {
				t.Fatal(err)
			}
			got := waitFor(t, rec.msgs, fmt.Sprintf("echo of %d bytes", n))
			if !bytes.Equal(got, p) {
				t.Fatalf("%v %d bytes: echo differs (got %d bytes)", op, n, len(got))
			}
		}
	}
}

func TestFragmentedEcho(t *testing.T) {
	_, url := start(t, Options{Handler: echo{}})
	c, rec := dial(t, url)
	want := []byte{}
	for i := range 10 {
		piece := bytes.Repeat([]byte{byte('a' + i)}, 1000*i)
		op := engine.OpContinuation
		if i == 0 {
			op = engine.OpText
		}
		if err := c.WriteFragment(op, piece, i == 9); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			_ = c.WritePing([]byte("between"))
		}
		want = append(want, piece...)
	}
	if got := waitFor(t, rec.msgs, "fragmented echo"); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if got := waitFor(t, rec.pongs, "pong"); string(got) != "between" {
		t.Fatalf("pong %q", got)
	}
}

// TestDrainsEveryByte sends many frames in one write, more than a read
// buffer holds, and nothing after: both kinds of I/O must still serve
// them all, and a frame split across writes must be completed.
func TestDrainsEveryByte(t *testing.T) {
	for _, et := range []bool{false, true} {
		t.Run(fmt.Sprintf("edgeTriggered=%v", et), func(t *testing.T) {
			s, _ := start(t, Options{Handler: echo{}, EdgeTriggered: et, ReadBufferCap: 4096})
			c := rawUpgrade(t, s.Addr().String())
			var batch []byte
			const n = 3000
			for i := range n {
				batch = append(batch, clientFrame(engine.OpBinary, true, binary.BigEndian.AppendUint32(nil, uint32(i)))...)
			}
			half := clientFrame(engine.OpBinary, true, []byte("split frame"))
			batch = append(batch, half[:7]...)
			go func() { _, _ = c.Write(batch) }()
			for i := range n {
				_, p := c.readFrame(t)
				if got := binary.BigEndian.Uint32(p); got != uint32(i) {
					t.Fatalf("frame %d: got %d", i, got)
				}
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := c.Write(half[7:]); err != nil {
				t.Fatal(err)
			}
			if _, p := c.readFrame(t); string(p) != "split frame" {
				t.Fatalf("got %q", p)
			}
		})
	}
}

// pongCounter is a recorder that counts every pong and keeps those with a
// payload (the heartbeats' pings have none) apart, none dropped.
type pongCounter struct {
	*recorder
	n      atomic.Int64
	tagged chan []byte
}

func (p *pongCounter) OnPong(_ engine.Socket, b []byte) {
	p.n.Add(1)
	if len(b) > 0 {
		p.tagged <- bytes.Clone(b)
	}
}

func TestPingPong(t *testing.T) {
	rec := newRecorder(true)
	const interval, readTimeout = 50 * time.Millisecond, time.Second
	h := &pongCounter{recorder: rec, tagged: make(chan []byte, 16)}
	_, url := start(t, Options{Handler: h, Liveness: engine.Liveness{PingInterval: interval, ReadTimeout: readTimeout}})
	c, crec := dial(t, url)
	s := waitFor(t, rec.opened, "open")
	if err := c.WritePing([]byte("client ping")); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, crec.pongs, "pong"); string(got) != "client ping" {
		t.Fatalf("pong %q", got)
	}
	if err := s.WritePing([]byte("server ping")); err != nil {
		t.Fatal(err)
	}
	// The heartbeats' pongs may come first: only a pong with a payload is
	// the answer to this ping.
	if got := waitFor(t, h.tagged, "pong"); string(got) != "server ping" {
		t.Fatalf("pong %q", got)
	}
	// Heartbeats: the client answers the server's pings, so it outlives
	// several read timeouts. The server pings only after interval of
	// silence, so the pongs it counts are at least interval apart: enough
	// of them span three read timeouts, however slowly they come.
	want := h.n.Load() + int64(3*readTimeout/interval)
	deadline := time.Now().Add(20 * time.Second)
	for h.n.Load() < want {
		select {
		case ce := <-rec.closes:
			t.Fatalf("live client closed after %d pongs: %v", h.n.Load(), ce)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pongs of %d within 20 s", h.n.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case ce := <-rec.closes:
		t.Fatalf("live client closed: %v", ce)
	default:
	}
	if err := c.WriteMessage(engine.OpText, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, crec.msgs, "echo"); string(got) != "still here" {
		t.Fatalf("got %q", got)
	}
}

func TestReadTimeoutClosesSilentPeer(t *testing.T) {
	rec := newRecorder(false)
	s, _ := start(t, Options{Handler: rec, Liveness: engine.Liveness{ReadTimeout: 200 * time.Millisecond}, CloseTimeout: 200 * time.Millisecond})
	c := rawUpgrade(t, s.Addr().String())
	if code := c.expectClose(t); code != engine.StatusGoingAway {
		t.Fatalf("close code %d", code)
	}
	// The peer never answers the close: dropped after CloseTimeout.
	c.expectEOF(t)
	if ce := waitFor(t, rec.closes, "OnClose"); ce.Code != engine.StatusAbnormalClosure {
		t.Fatalf("OnClose %v", ce)
	}
}

func TestIdleTimeout(t *testing.T) {
	rec := newRecorder(false)
	_, url := start(t, Options{Handler: rec, Liveness: engine.Liveness{IdleTimeout: 200 * time.Millisecond, PingInterval: 20 * time.Millisecond}})
	_, crec := dial(t, url)
	if ce := waitFor(t, crec.closes, "client OnClose"); ce.Code != engine.StatusGoingAway || ce.Reason != "idle" {
		t.Fatalf("client saw %v", ce)
	}
	if ce := waitFor(t, rec.closes, "server OnClose"); ce.Code != engine.StatusGoingAway {
		t.Fatalf("server saw %v", ce)
	}
}

func TestClosePaths(t *testing.T) {
	t.Run("client closes", func(t *testing.T) {
		rec := newRecorder(false)
		_, url := start(t, Options{Handler: rec})
		c, _ := dial(t, url)
		waitFor(t, rec.opened, "open")
		_ = c.Close(4001, "bye")
		if ce := waitFor(t, rec.closes, "OnClose"); ce.Code != 4001 || ce.Reason != "bye" {
			t.Fatalf("server saw %v", ce)
		}
	})
	t.Run("server closes", func(t *testing.T) {
		rec := newRecorder(false)
		_, url := start(t, Options{Handler: rec})
		_, crec := dial(t, url)
		s := waitFor(t, rec.opened, "open")
		_ = s.Close(4002, "server says bye")
		if ce := waitFor(t, crec.closes, "client OnClose"); ce.Code != 4002 || ce.Reason != "server says bye" {
			t.Fatalf("client saw %v", ce)
		}
		if ce := waitFor(t, rec.closes, "server OnClose"); ce.Code != 4002 {
			t.Fatalf("server saw %v", ce)
		}
		if err := s.WriteMessage(engine.OpText, []byte("late")); !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("write after close: %v", err)
		}
	})
	t.Run("protocol error", func(t *testing.T) {
		rec := newRecorder(false)
		s, _ := start(t, Options{Handler: rec})
		c := rawUpgrade(t, s.Addr().String())
		// An unmasked client frame.
		_, _ = c.Write(engine.AppendFrame(nil, engine.Header{Fin: true, OpCode: engine.OpText}, []byte("hi")))
		if code := c.expectClose(t); code != engine.StatusProtocolError {
			t.Fatalf("close code %d", code)
		}
		c.expectEOF(t)
		if ce := waitFor(t, rec.closes, "OnClose"); ce.Code != engine.StatusProtocolError {
			t.Fatalf("OnClose %v", ce)
		}
	})
	t.Run("invalid utf8", func(t *testing.T) {
		rec := newRecorder(false)
		s, _ := start(t, Options{Handler: rec})
		c := rawUpgrade(t, s.Addr().String())
		_, _ = c.Write(clientFrame(engine.OpText, true, []byte{0xff, 'a'}))
		if code := c.expectClose(t); code != engine.StatusInvalidFramePayloadData {
			t.Fatalf("close code %d", code)
		}
		c.expectEOF(t)
	})
	t.Run("too big", func(t *testing.T) {
		s, _ := start(t, Options{Handler: echo{}, Conn: engine.Config{MaxMessageSize: 1000}})
		c := rawUpgrade(t, s.Addr().String())
		_, _ = c.Write(clientFrame(engine.OpBinary, true, make([]byte, 1001)))
		if code := c.expectClose(t); code != engine.StatusMessageTooBig {
			t.Fatalf("close code %d", code)
		}
	})
	t.Run("transport dropped", func(t *testing.T) {
		rec := newRecorder(false)
		s, _ := start(t, Options{Handler: rec})
		c := rawUpgrade(t, s.Addr().String())
		waitFor(t, rec.opened, "open")
		c.Close()
		if ce := waitFor(t, rec.closes, "OnClose"); ce.Code != engine.StatusAbnormalClosure {
			t.Fatalf("OnClose %v", ce)
		}
		deadline := time.Now().Add(20 * time.Second)
		for s.Len() != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if s.Len() != 0 {
			t.Fatalf("%d connections left", s.Len())
		}
	})
	t.Run("handler panics", func(t *testing.T) {
		s, _ := start(t, Options{Handler: panicker{}, ErrorLog: discardLog()})
		c := rawUpgrade(t, s.Addr().String())
		_, _ = c.Write(clientFrame(engine.OpText, true, []byte("boom")))
		if code := c.expectClose(t); code != engine.StatusInternalError {
			t.Fatalf("close code %d", code)
		}
	})
}

type panicker struct{ engine.BaseHandler }

func (panicker) OnMessage(engine.Socket, engine.OpCode, []byte) { panic("handler bug") }

func TestShutdownClosesEveryone(t *testing.T) {
	rec := newRecorder(false)
	s, url := start(t, Options{Handler: rec})
	var crecs []*recorder
	for range 20 {
		_, crec := dial(t, url)
		crecs = append(crecs, crec)
	}
	for range 20 {
		waitFor(t, rec.opened, "open")
	}
	half := rawDial(t, s.Addr().String()) // a handshake in progress
	_, _ = half.Write([]byte("GET / HTTP/1.1\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, crec := range crecs {
		if ce := waitFor(t, crec.closes, "client OnClose"); ce.Code != engine.StatusGoingAway {
			t.Fatalf("client saw %v", ce)
		}
	}
	for range 20 {
		if ce := waitFor(t, rec.closes, "server OnClose"); ce.Code != engine.StatusGoingAway {
			t.Fatalf("server saw %v", ce)
		}
	}
	if err := s.Wait(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Wait: %v", err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

func TestSlowReaderIsClosed(t *testing.T) {
	rec := newRecorder(false)
	s, _ := start(t, Options{Handler: rec, MaxOutbound: 256 << 10, CloseTimeout: 200 * time.Millisecond})
	c := rawUpgrade(t, s.Addr().String()) // never reads
	sock := waitFor(t, rec.opened, "open")
	payload := make([]byte, 64<<10)
	var err error
	for i := 0; i < 10_000 && err == nil; i++ {
		err = sock.WriteMessage(engine.OpBinary, payload)
		if i%16 == 15 {
			time.Sleep(time.Millisecond) // let the loop flush
		}
	}
	if !errors.Is(err, ErrSlowReader) {
		t.Fatalf("writes never failed: %v", err)
	}
	waitFor(t, rec.closes, "OnClose")
	if st := s.Stats(); st.SlowClosed != 1 {
		t.Fatalf("SlowClosed = %d", st.SlowClosed)
	}
	_ = c
}

func TestHandshakeRejections(t *testing.T) {
	// The timeout is long beside what a request written at once needs, even
	// on a busy machine; the slowloris below trickles for longer than it.
	const handshakeTimeout = 3 * time.Second
	s, _ := start(t, Options{Handler: echo{}, HandshakeTimeout: handshakeTimeout,
		Handshake: engine.ServerHandshake{CheckOrigin: func(r *engine.Request) bool { return r.SameOrigin() }}})
	addr := s.Addr().String()
	cases := []struct {
		name, req string
		status    int
	}{
		{"no key", strings.Replace(rawRequest, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1), 400},
		{"wrong version", strings.Replace(rawRequest, "Version: 13", "Version: 8", 1), 426},
		{"POST", strings.Replace(rawRequest, "GET", "POST", 1), 405},
		{"cross origin", strings.Replace(rawRequest, "Host: x\r\n", "Host: x\r\nOrigin: http://evil.example\r\n", 1), 403},
		{"no upgrade", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
		{"huge header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 431},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, addr)
			go func() { _, _ = c.Write([]byte(tc.req)) }()
			if got := c.readResponse(t); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			c.expectEOF(t)
		})
	}
	t.Run("slowloris", func(t *testing.T) {
		c := rawDial(t, addr)
		// A request that would take 4 handshake timeouts at one byte per
		// 20 ms, never finished: the writer stops once the server hangs up.
		const every = 20 * time.Millisecond
		pad := strings.Repeat("s", int(4*handshakeTimeout/every))
		req := strings.Replace(rawRequest, "Host: x\r\n", "Host: x\r\nX-Slow: "+pad+"\r\n", 1)
		stop := make(chan struct{})
		defer close(stop)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range len(req) - 2 {
				if _, err := c.Write([]byte{req[i]}); err != nil {
					return
				}
				select {
				case <-time.After(every):
				case <-stop:
					return
				}
			}
		}()
		if got := c.readResponse(t); got != 408 {
			t.Fatalf("status %d, want 408", got)
		}
		c.expectEOF(t)
		c.Close()
		<-done
	})
	st := s.Stats()
	for _, code := range []int{400, 426, 405, 403, 431, 408} {
		if st.HandshakeFailures[code] == 0 {
			t.Errorf("no handshake failure counted for %d: %v", code, st.HandshakeFailures)
		}
	}
}

func TestFallbackAndRoute(t *testing.T) {
	s, url := start(t, Options{
		Route: func(r *engine.Request) engine.Handler {
			if string(r.RequestURI) == "/echo" {
				return echo{}
			}
			return nil
		},
		Fallback: func(r *engine.Request) Response {
			return Response{ContentType: "text/plain", Body: []byte("page at " + string(r.RequestURI))}
		},
	})
	resp, err := http.Get("http://" + s.Addr().String() + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "page at /index.html" {
		t.Fatalf("fallback: %d %q", resp.StatusCode, body)
	}
	c, rec := dial(t, url+"echo")
	_ = c.WriteMessage(engine.OpText, []byte("routed"))
	if got := waitFor(t, rec.msgs, "echo"); string(got) != "routed" {
		t.Fatalf("got %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := engine.Dial(ctx, url+"nowhere", newRecorder(false), nil); engine.HTTPStatus(err) != 404 {
		t.Fatalf("unrouted path: %v", err)
	}
}

func TestMaxConns(t *testing.T) {
	s, url := start(t, Options{Handler: echo{}, MaxConns: 3})
	for range 3 {
		dial(t, url)
	}
	c := rawDial(t, s.Addr().String())
	_, _ = c.Write([]byte(rawRequest))
	if got := c.readResponse(t); got != 503 {
		t.Fatalf("status %d, want 503", got)
	}
	if st := s.Stats(); st.Refused != 1 {
		t.Fatalf("Refused = %d", st.Refused)
	}
}

func TestConcurrentWriters(t *testing.T) {
	rec := newRecorder(false)
	_, url := start(t, Options{Handler: rec})
	c, crec := dial(t, url)
	_ = c
	sock := waitFor(t, rec.opened, "open")
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := sock.WriteMessage(engine.OpText, fmt.Appendf(nil, "%d:%d", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := make([]int, writers)
	for range writers * each {
		m := waitFor(t, crec.msgs, "message")
		var w, i int
		if _, err := fmt.Sscanf(string(m), "%d:%d", &w, &i); err != nil {
			t.Fatal(err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: got %d, want %d", w, i, next[w])
		}
		next[w]++
	}
}

func TestBroadcastAndGroups(t *testing.T) {
	var room atomic.Pointer[Group]
	joined := make(chan struct{}, 64)
	member := &joiner{room: &room, joined: joined}
	other := &joiner{joined: joined}
	s, url := start(t, Options{Route: func(r *engine.Request) engine.Handler {
		if string(r.RequestURI) == "/0" {
			return member
		}
		return other
	}})
	room.Store(s.Group("room"))
	var in, out []*recorder
	for i := range 12 {
		_, crec := dial(t, url+fmt.Sprint(i%2))
		if i%2 == 0 {
			in = append(in, crec)
		} else {
			out = append(out, crec)
		}
	}
	for range 12 {
		waitFor(t, joined, "open")
	}
	deadline := time.Now().Add(20 * time.Second)
	for room.Load().Len() != 6 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := room.Load().Len(); n != 6 {
		t.Fatalf("room has %d members", n)
	}
	room.Load().Broadcast(engine.NewPrepared(engine.OpText, []byte("to the room")))
	s.Broadcast(engine.NewPrepared(engine.OpText, []byte("to all")))
	for _, r := range in {
		if got := waitFor(t, r.msgs, "room broadcast"); string(got) != "to the room" {
			t.Fatalf("member got %q", got)
		}
	}
	for _, r := range append(in, out...) {
		if got := waitFor(t, r.msgs, "broadcast"); string(got) != "to all" {
			t.Fatalf("got %q", got)
		}
	}
	s.CloseAll(4000, "closing all")
	for _, r := range append(in, out...) {
		if ce := waitFor(t, r.closes, "close"); ce.Code != 4000 {
			t.Fatalf("got %v", ce)
		}
	}
	deadline = time.Now().Add(20 * time.Second)
	for room.Load().Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := room.Load().Len(); n != 0 {
		t.Fatalf("room keeps %d closed members", n)
	}
}

// joiner puts its connections into the room, if it has one.
type joiner struct {
	engine.BaseHandler
	room   *atomic.Pointer[Group]
	joined chan struct{}
}

func (j *joiner) OnOpen(s engine.Socket) {
	if j.room != nil {
		j.room.Load().Add(s)
	}
	j.joined <- struct{}{}
}

func TestWorkersKeepOrder(t *testing.T) {
	_, url := start(t, Options{Handler: slowEcho{}, Workers: 4})
	var recs []*recorder
	var conns []*engine.NetConn
	for range 4 {
		c, crec := dial(t, url)
		conns = append(conns, c)
		recs = append(recs, crec)
	}
	const n = 300
	for i := range n {
		for _, c := range conns {
			_ = c.WriteMessage(engine.OpText, fmt.Append(nil, i))
		}
	}
	for _, r := range recs {
		for i := range n {
			if got := waitFor(t, r.msgs, "echo"); string(got) != fmt.Sprint(i) {
				t.Fatalf("got %q, want %d", got, i)
			}
		}
	}
}

// slowEcho blocks a little, as handlers on workers may.
type slowEcho struct{ engine.BaseHandler }

func (slowEcho) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	time.Sleep(10 * time.Microsecond)
	_ = s.WriteMessage(op, p)
}

func TestManyConnections(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 500
	}
	s, _ := start(t, Options{Handler: echo{}})
	addr := s.Addr().String()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	var failed atomic.Int64
	conns := make([]net.Conn, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				failed.Add(1)
				return
			}
			conns[i] = c
			_ = c.SetDeadline(time.Now().Add(60 * time.Second))
			r := bufio.NewReader(c)
			if _, err := c.Write([]byte(rawRequest)); err != nil {
				failed.Add(1)
				return
			}
			resp, err := http.ReadResponse(r, nil)
			if err != nil || resp.StatusCode != 101 {
				failed.Add(1)
				return
			}
			msg := fmt.Appendf(nil, "conn %d", i)
			if _, err := c.Write(clientFrame(engine.OpText, true, msg)); err != nil {
				failed.Add(1)
				return
			}
			want := engine.AppendFrame(nil, engine.Header{Fin: true, OpCode: engine.OpText}, msg)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, want) {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d connections failed", f, n)
	}
	if got := s.Len(); got != n {
		t.Fatalf("server counts %d connections, want %d", got, n)
	}
	for _, c := range conns {
		c.Close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Len() != 0 {
		t.Fatalf("%d connections left after the clients left", s.Len())
	}
}

func TestUnixSocket(t *testing.T) {
	path := t.TempDir() + "/ws.sock"
	s, err := Start("unix://"+path, Options{Handler: echo{}, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := newRecorder(false)
	c, err := engine.Dial(ctx, "ws+unix://"+path, rec, &engine.DialOptions{Header: [][2]string{{"Origin", "http://localhost"}}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Serve() }()
	_ = c.WriteMessage(engine.OpText, []byte("over unix"))
	if got := waitFor(t, rec.msgs, "echo"); string(got) != "over unix" {
		t.Fatalf("got %q", got)
	}
	_ = c.Close(engine.StatusNormalClosure, "")
}

func TestSeveralServers(t *testing.T) {
	_, url1 := start(t, Options{Handler: echo{}})
	_, url2 := start(t, Options{Handler: echo{}, EdgeTriggered: true})
	for _, url := range []string{url1, url2} {
		c, rec := dial(t, url)
		_ = c.WriteMessage(engine.OpText, []byte(url))
		if got := waitFor(t, rec.msgs, "echo"); string(got) != url {
			t.Fatalf("got %q", got)
		}
	}
}

// TestZeroAllocsPerMessage echoes over loopback with a raw client that
// allocates nothing itself: every allocation counted is the server's.
func TestZeroAllocsPerMessage(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, _ := start(t, Options{Handler: echo{}, Loops: 1})
	for _, op := range []engine.OpCode{engine.OpText, engine.OpBinary} {
		c := rawUpgrade(t, s.Addr().String())
		frame := clientFrame(op, true, bytes.Repeat([]byte("a"), 128))
		want := len(frame) - 4
		buf := make([]byte, want)
		roundTrip := func() {
			if _, err := c.Conn.Write(frame); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c.r, buf); err != nil {
				t.Fatal(err)
			}
		}
		for range 100 {
			roundTrip()
		}
		if a := testing.AllocsPerRun(2000, roundTrip); a != 0 {
			t.Errorf("%v: %.2f allocations per echoed message", op, a)
		}
	}
}

// Seven 16 KiB messages in flight, echoed: a wake-up's output is more than
// 64 KiB, and the loop keeps that buffer (it allocated it again at every
// wake-up when it kept only 64 KiB: 5 allocations per round); a message
// split between two reads is assembled in a pooled buffer. (More than two
// reads' worth waiting, 128 KiB, makes gnet re-queue the connection behind
// the others, which costs gnet two small allocations each time.)
func TestZeroAllocsLargeMessagesInFlight(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, _ := start(t, Options{Handler: echo{}, Loops: 1})
	c := rawUpgrade(t, s.Addr().String())
	one := clientFrame(engine.OpBinary, true, bytes.Repeat([]byte("a"), 16<<10))
	burst := bytes.Repeat(one, 7)
	want := 7 * (len(one) - 4)
	buf := make([]byte, want)
	roundTrip := func() {
		if _, err := c.Conn.Write(burst); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c.r, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		roundTrip()
	}
	if a := testing.AllocsPerRun(200, roundTrip); a != 0 {
		t.Errorf("%.2f allocations per 7 echoed 16 KiB messages", a)
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// BenchmarkEchoLoopback measures one echoed message over loopback, client
// and server in this process, one message in flight: mostly system calls,
// but -benchmem shows the server's allocations (none).
func BenchmarkEchoLoopback(b *testing.B) {
	s, _ := start(b, Options{Handler: echo{}, Loops: 1})
	for _, size := range []int{32, 4096} {
		for _, op := range []engine.OpCode{engine.OpBinary, engine.OpText} {
			b.Run(fmt.Sprintf("%v/%dB", op, size), func(b *testing.B) {
				c := rawUpgrade(b, s.Addr().String())
				frame := clientFrame(op, true, bytes.Repeat([]byte("a"), size))
				buf := make([]byte, len(frame)-4)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Conn.Write(frame); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c.r, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// blocker holds its worker until released.
type blocker struct {
	engine.BaseHandler
	release chan struct{}
	closes  chan engine.StatusCode
}

func (b *blocker) OnMessage(engine.Socket, engine.OpCode, []byte) { <-b.release }
func (b *blocker) OnClose(_ engine.Socket, code engine.StatusCode, _ string) {
	b.closes <- code
}

// TestWorkerQueueBounded: with handlers on workers, a connection whose
// events wait beyond WorkerQueue bytes is closed with 1008, and its handler
// still hears of the close, after the events queued before it.
func TestWorkerQueueBounded(t *testing.T) {
	h := &blocker{release: make(chan struct{}), closes: make(chan engine.StatusCode, 1)}
	s, _ := start(t, Options{Handler: h, Workers: 1, WorkerQueue: 64 << 10})
	c := rawUpgrade(t, s.Addr().String())
	payload := make([]byte, 16<<10)
	go func() {
		for range 16 {
			if _, err := c.Write(clientFrame(engine.OpBinary, true, payload)); err != nil {
				return
			}
		}
	}()
	if code := c.expectClose(t); code != engine.StatusPolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	_, _ = c.Write(clientFrame(engine.OpClose, true, []byte{0x03, 0xf0})) // the peer answers 1008
	close(h.release)
	if code := waitFor(t, h.closes, "OnClose"); code != engine.StatusPolicyViolation {
		t.Fatalf("OnClose %d", code)
	}
}

func TestLifecycleMisuse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Shutdown before Start returns at once; Start after it refuses.
	s := New(Options{Handler: echo{}})
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
	// A bad address fails Start; Shutdown and Wait still return.
	s = New(Options{Handler: echo{}})
	if err := s.Start("no port"); err == nil {
		t.Fatal("Start with a bad address succeeded")
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err == nil || errors.Is(err, ErrServerClosed) {
		t.Fatalf("Wait after a failed Start: %v", err)
	}
	// Start twice.
	s, _ = start(t, Options{Handler: echo{}})
	if err := s.Start("127.0.0.1:0"); err == nil {
		t.Fatal("second Start succeeded")
	}
	// Listening on a port that is taken fails cleanly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Start(ln.Addr().String(), Options{Handler: echo{}, Loops: 1, ErrorLog: discardLog()}); err == nil {
		t.Fatal("Start on a taken port succeeded")
	}
}
