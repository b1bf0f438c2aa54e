package engine_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// waitFor bounds every wait of these tests: a failure bound, not a timing.
const waitFor = 10 * time.Second

// recvWithin is recv with the generous bound of these tests.
func recvWithin(t *testing.T, ch chan string, what string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

// sink is a server handler that reports each close, with a buffer large
// enough for many connections.
type sink struct {
	engine.BaseHandler
	closed chan string
}

func newSink(n int) *sink { return &sink{closed: make(chan string, n)} }

func (s *sink) OnMessage(c engine.Socket, op engine.OpCode, p []byte) { _ = c.WriteMessage(op, p) }
func (s *sink) OnClose(_ engine.Socket, code engine.StatusCode, reason string) {
	s.closed <- fmt.Sprintf("%d %s", code, reason)
}

// upgradeServer serves up at every path with h.
func upgradeServer(t *testing.T, up *engine.Upgrader, h engine.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, h)
		if err != nil {
			return
		}
		_ = c.Serve()
	}))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = up.Shutdown(ctx)
	})
	return srv
}

// upgradeRequest sends an upgrade request changed by mod and returns the
// answer, its body read.
func upgradeRequest(t *testing.T, srv *httptest.Server, mod func(r *http.Request)) (*http.Response, string) {
	t.Helper()
	r, _ := http.NewRequest("GET", srv.URL+"/", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	if mod != nil {
		mod(r)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, "" // the body is the connection
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestUpgradeRefusesBodiesAndBigHeaders(t *testing.T) {
	srv := upgradeServer(t, &engine.Upgrader{}, newSink(4))
	for _, c := range []struct {
		name   string
		mod    func(r *http.Request)
		status int
	}{
		{"Content-Length 5", func(r *http.Request) {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("hello")), 5
		}, 400},
		{"chunked", func(r *http.Request) {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("hello")), -1
			r.TransferEncoding = []string{"chunked"}
		}, 400},
		{"header block over 8 KiB", func(r *http.Request) {
			r.Header.Set("X-Big", strings.Repeat("y", 8<<10))
		}, 431},
		{"many headers, under 8 KiB", func(r *http.Request) {
			for i := range 40 {
				r.Header.Set(fmt.Sprintf("X-H%d", i), strings.Repeat("y", 100))
			}
		}, 101},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := upgradeRequest(t, srv, c.mod)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, c.status)
			}
		})
	}
}

// dialN opens n client connections to srv and serves each; the clients
// report their close on closed.
func dialN(t *testing.T, srv *httptest.Server, n int, closed chan string) []*engine.NetConn {
	t.Helper()
	conns := make([]*engine.NetConn, n)
	for i := range conns {
		c, err := engine.Dial(context.Background(), wsURL(srv, "/"), &sink{closed: closed}, nil)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		go c.Serve()
		conns[i] = c
	}
	return conns
}

func TestUpgraderShutdown(t *testing.T) {
	const n = 200
	up := &engine.Upgrader{}
	server := newSink(n)
	srv := upgradeServer(t, up, server)
	clientClosed := make(chan string, n)
	dialN(t, srv, n, clientClosed)
	if got := up.Len(); got != n {
		t.Fatalf("Len = %d, want %d", got, n)
	}

	// net/http's Shutdown does not wait for hijacked connections: it
	// returns at once, and they are the Upgrader's to close.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("http.Server.Shutdown: %v", err)
	}
	if err := up.Shutdown(ctx); err != nil {
		t.Fatalf("Upgrader.Shutdown: %v", err)
	}
	if got := up.Len(); got != 0 {
		t.Fatalf("Len after Shutdown = %d", got)
	}
	// Every Serve has returned: every handler heard its close already.
	for i := range n {
		select {
		case got := <-server.closed:
			if got != "1001 going away" {
				t.Fatalf("server %d heard %q", i, got)
			}
		default:
			t.Fatalf("Shutdown returned before the handler of connection %d heard its close", i)
		}
		if got := recvWithin(t, clientClosed, "a client's close"); got != "1001 going away" {
			t.Fatalf("client %d heard %q", i, got)
		}
	}
}

func TestUpgraderRefuses503(t *testing.T) {
	t.Run("MaxConns", func(t *testing.T) {
		up := &engine.Upgrader{MaxConns: 2}
		srv := upgradeServer(t, up, newSink(4))
		dialN(t, srv, 2, make(chan string, 2))
		resp, _ := upgradeRequest(t, srv, nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("third connection: %d Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		_, err := engine.Dial(context.Background(), wsURL(srv, "/"), newClient(), nil)
		if engine.HTTPStatus(err) != 503 {
			t.Fatalf("Dial past MaxConns: %v", err)
		}
	})
	t.Run("after Shutdown", func(t *testing.T) {
		up := &engine.Upgrader{}
		srv := upgradeServer(t, up, newSink(4))
		if err := up.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		resp, body := upgradeRequest(t, srv, nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("after Shutdown: %d %q", resp.StatusCode, body)
		}
	})
}

// rawConn completes a handshake by hand: the test plays a peer that does
// exactly what it is told, silence included.
func rawConn(t *testing.T, srv *httptest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	return rawHandshake(t, srv, "/")
}

// readClose reads frames from the server until its close frame and returns
// "code reason"; pings are skipped.
func readClose(t *testing.T, conn net.Conn, br *bufio.Reader) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(waitFor))
	for {
		var hb [14]byte
		if _, err := io.ReadFull(br, hb[:2]); err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		n := int(hb[1] & 0x7F)
		switch n {
		case 126:
			_, _ = io.ReadFull(br, hb[2:4])
			n = int(binary.BigEndian.Uint16(hb[2:4]))
		case 127:
			_, _ = io.ReadFull(br, hb[2:10])
			n = int(binary.BigEndian.Uint64(hb[2:10]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("reading a payload: %v", err)
		}
		if engine.OpCode(hb[0]&0x0F) == engine.OpClose {
			code, reason, err := engine.ParseClosePayload(p)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%d %s", code, reason)
		}
	}
}

// expectEOF waits for the server to close the transport.
func expectEOF(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("waiting for the server to hang up: %v", err)
	}
}

// A silent peer (its host gone, say) is closed with 1001 "read timeout"
// and dropped when it does not answer the close either.
func TestUpgraderReadTimeout(t *testing.T) {
	up := &engine.Upgrader{
		Liveness:     engine.Liveness{PingInterval: -1, ReadTimeout: 200 * time.Millisecond},
		CloseTimeout: 200 * time.Millisecond,
	}
	server := newSink(4)
	srv := upgradeServer(t, up, server)
	conn, br := rawConn(t, srv)
	if got := readClose(t, conn, br); got != "1001 read timeout" {
		t.Fatalf("close %q, want 1001 read timeout", got)
	}
	expectEOF(t, conn, br)
	if got := recvWithin(t, server.closed, "the server's close"); got != "1006 " {
		t.Fatalf("server heard %q, want 1006 (the peer never answered)", got)
	}
}

// A connection where no data message passes for IdleTimeout is closed with
// 1001 "idle", even though it answers every ping.
func TestUpgraderIdleTimeout(t *testing.T) {
	up := &engine.Upgrader{Liveness: engine.Liveness{
		PingInterval: 20 * time.Millisecond, ReadTimeout: -1, IdleTimeout: 200 * time.Millisecond,
	}}
	server := newSink(4)
	srv := upgradeServer(t, up, server)
	cl := newClient()
	dialServe(t, wsURL(srv, "/"), cl, nil)
	if got := recvWithin(t, cl.closed, "the client's close"); got != "1001 idle" {
		t.Fatalf("client heard %q", got)
	}
	if got := recvWithin(t, server.closed, "the server's close"); got != "1001 idle" {
		t.Fatalf("server heard %q", got)
	}
}

// pingCounter is a client handler that reports pings and echoes back what
// it receives, so that a busy connection keeps itself busy.
type pingCounter struct {
	engine.BaseHandler
	pings chan struct{}
	echo  bool
}

func (p *pingCounter) OnPing(engine.Socket, []byte) { p.pings <- struct{}{} }
func (p *pingCounter) OnMessage(s engine.Socket, op engine.OpCode, b []byte) {
	if p.echo {
		_ = s.WriteMessage(op, b)
	}
}

// Pings go to silent connections only: a connection that keeps sending is
// known to be alive and never sees one.
func TestUpgraderPingsOnlyIdle(t *testing.T) {
	up := &engine.Upgrader{Liveness: engine.Liveness{PingInterval: time.Second, ReadTimeout: -1}}
	srv := upgradeServer(t, up, newSink(4))
	idle := &pingCounter{pings: make(chan struct{}, 100)}
	busy := &pingCounter{pings: make(chan struct{}, 100), echo: true}
	dialServe(t, wsURL(srv, "/"), idle, nil)
	bc, _ := dialServe(t, wsURL(srv, "/"), busy, nil)
	// The busy client and the echo server bounce one message between them
	// for as long as the test runs.
	if err := bc.WriteMessage(engine.OpText, []byte("ball")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		select {
		case <-idle.pings:
		case <-time.After(waitFor):
			t.Fatalf("the idle connection got %d pings, want 2", i)
		}
	}
	if n := len(busy.pings); n != 0 {
		t.Fatalf("the busy connection got %d pings", n)
	}
}

// A peer that starts a message and stops is failed with 1008 "message
// timeout" after MessageTimeout, whether it stopped in a short frame, in a
// long frame taken in pieces, or between the fragments of a message.
func TestUpgraderMessageTimeout(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	frame := func(fin bool, op engine.OpCode, n int, send int) []byte {
		b := engine.AppendFrame(nil, engine.Header{Fin: fin, OpCode: op, Masked: true, Mask: key, Length: int64(n)}, make([]byte, n))
		return b[:len(b)-n+send]
	}
	for _, c := range []struct {
		name string
		send []byte
	}{
		{"half a short frame", frame(true, engine.OpBinary, 100, 50)},
		{"a header alone", frame(true, engine.OpBinary, 100, 0)[:4]},
		{"part of a long frame", frame(true, engine.OpBinary, 100_000, 10_000)},
		{"first fragment", frame(false, engine.OpBinary, 10, 10)},
	} {
		t.Run(c.name, func(t *testing.T) {
			up := &engine.Upgrader{Liveness: engine.Liveness{
				PingInterval: -1, ReadTimeout: -1, MessageTimeout: 200 * time.Millisecond,
			}}
			server := newSink(4)
			srv := upgradeServer(t, up, server)
			conn, br := rawConn(t, srv)
			if _, err := conn.Write(c.send); err != nil {
				t.Fatal(err)
			}
			if got := readClose(t, conn, br); got != "1008 message timeout" {
				t.Fatalf("close %q", got)
			}
			expectEOF(t, conn, br)
			if got := recvWithin(t, server.closed, "the server's close"); got != "1008 message timeout" {
				t.Fatalf("server heard %q", got)
			}
		})
	}
}

// A connection that would take more than the Upgrader's budget for its
// message is failed with 1008, and the budget is whole again after.
func TestUpgraderBudget(t *testing.T) {
	// Above the 64 KiB buffers the message pool may hand out, so that a
	// message within it is never refused for the pool's sake.
	budget := engine.NewBudget(256 << 10)
	up := &engine.Upgrader{Budget: budget}
	server := newSink(4)
	srv := upgradeServer(t, up, server)

	// A message within the budget goes through.
	cl := newClient()
	c, _ := dialServe(t, wsURL(srv, "/"), cl, nil)
	_ = c.WriteFragment(engine.OpBinary, make([]byte, 1000), false)
	_ = c.WriteFragment(engine.OpContinuation, make([]byte, 1000), true)
	if got := recvWithin(t, cl.msgs, "the echo"); len(got) != len("binary:")+2000 {
		t.Fatalf("echo of %d bytes", len(got))
	}
	// One that would pass it does not.
	chunk := make([]byte, 32<<10)
	var werr error
	for i := 0; i < 16 && werr == nil; i++ {
		werr = c.WriteFragment(map[bool]engine.OpCode{true: engine.OpBinary, false: engine.OpContinuation}[i == 0], chunk, false)
	}
	if got := recvWithin(t, cl.closed, "the client's close"); !strings.HasPrefix(got, "1008 ") {
		t.Fatalf("client heard %q, want 1008", got)
	}
	if got := recvWithin(t, server.closed, "the server's close"); !strings.HasPrefix(got, "1008 ") {
		t.Fatalf("server heard %q", got)
	}
	if used := budget.Used(); used != 0 {
		t.Fatalf("budget holds %d bytes after the connection ended", used)
	}
	if budget.Denied() == 0 {
		t.Fatal("no reservation was refused")
	}
}

// Shutdown with a context that ends first closes what is left and says so.
func TestUpgraderShutdownDeadline(t *testing.T) {
	up := &engine.Upgrader{CloseTimeout: time.Hour}
	block := make(chan struct{})
	h := &blocker{block: block, entered: make(chan struct{}, 1)}
	srv := upgradeServer(t, up, h)
	cl := newClient()
	c, _ := dialServe(t, wsURL(srv, "/"), cl, nil)
	_ = c.WriteMessage(engine.OpText, []byte("hold"))
	select {
	case <-h.entered: // the handler holds its Serve goroutine
	case <-time.After(waitFor):
		t.Fatal("the handler was never called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := up.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's error", err)
	}
	close(block)
	// The transport was closed under the connection: the client hears it.
	if got := recvWithin(t, cl.closed, "the client's close"); got != "1006 " {
		t.Fatalf("client heard %q", got)
	}
}

// blocker holds its first message until block is closed.
type blocker struct {
	engine.BaseHandler
	block   chan struct{}
	entered chan struct{}
}

func (b *blocker) OnMessage(engine.Socket, engine.OpCode, []byte) {
	b.entered <- struct{}{}
	<-b.block
}

// What net/http decides before the Upgrader sees a request, as the
// Upgrader's documentation states it: should net/http change, this test
// fails and the documentation needs another look.
func TestUpgraderBehindNetHTTP(t *testing.T) {
	up := &engine.Upgrader{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, newSink(4)); err == nil {
			_ = c.Serve()
		}
	}))
	srv.Config.ReadHeaderTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = up.Shutdown(context.Background())
	})
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(waitFor))
		return conn
	}

	// An obs-fold line reaches the Upgrader unfolded: it cannot refuse it
	// (the event-loop server answers 400, ErrObsFold).
	conn := dial()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Folded: a\r\n b\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", srv.Listener.Addr())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("folded request: %v %v, want 101 (net/http unfolds it)", resp, err)
	}

	// A handshake that does not finish within ReadHeaderTimeout is cut off
	// without an answer: net/http has no way to send 408.
	conn = dial()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n", srv.Listener.Addr())
	got, err := io.ReadAll(conn)
	if err != nil || len(got) != 0 {
		t.Fatalf("slow handshake: read %q, %v; want the connection closed without an answer", got, err)
	}
}
