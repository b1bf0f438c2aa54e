package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// echo is the server side of the end-to-end tests: it sends every message
// back, closes with 4000 when told "bye", and reports its close.
type echo struct {
	engine.BaseHandler
	closed chan string
}

func (e *echo) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	if string(p) == "bye" {
		_ = s.Close(4000, "as you wish")
		return
	}
	_ = s.WriteMessage(op, p)
}

func (e *echo) OnClose(s engine.Socket, code engine.StatusCode, reason string) {
	e.closed <- fmt.Sprintf("%d %s", code, reason)
}

func echoServer(t *testing.T, up *engine.Upgrader) (*httptest.Server, *echo) {
	h := &echo{closed: make(chan string, 4)}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, h)
		if err != nil {
			return
		}
		_ = c.Serve()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, h
}

// client records what it hears.
type client struct {
	engine.BaseHandler
	msgs   chan string
	pongs  chan string
	closed chan string
}

func newClient() *client {
	return &client{msgs: make(chan string, 100), pongs: make(chan string, 4), closed: make(chan string, 4)}
}

func (c *client) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	c.msgs <- fmt.Sprintf("%v:%s", op, p)
}
func (c *client) OnPong(s engine.Socket, p []byte) { c.pongs <- string(p) }
func (c *client) OnClose(s engine.Socket, code engine.StatusCode, reason string) {
	c.closed <- fmt.Sprintf("%d %s", code, reason)
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

func recv(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an event")
		return ""
	}
}

func dialServe(t *testing.T, url string, h engine.Handler, opts *engine.DialOptions) (*engine.NetConn, chan error) {
	t.Helper()
	c, err := engine.Dial(context.Background(), url, h, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Serve() }()
	return c, done
}

func TestEndToEndEcho(t *testing.T) {
	srv, server := echoServer(t, &engine.Upgrader{})
	cl := newClient()
	c, done := dialServe(t, wsURL(srv, "/echo"), cl, nil)

	big := bytes.Repeat([]byte("0123456789"), 20_000) // 200 KB: many reads, taken in pieces
	_ = c.WriteMessage(engine.OpText, []byte("héllo"))
	_ = c.WriteMessage(engine.OpBinary, []byte{0, 1, 2})
	_ = c.WriteFragment(engine.OpText, []byte("frag"), false)
	_ = c.WritePing([]byte("hb"))
	_ = c.WriteFragment(engine.OpContinuation, []byte("mented"), true)
	_ = c.WriteMessage(engine.OpBinary, big)
	for _, want := range []string{"text:héllo", "binary:\x00\x01\x02", "text:fragmented", "binary:" + string(big)} {
		if got := recv(t, cl.msgs); got != want {
			t.Fatalf("got %.40q, want %.40q", got, want)
		}
	}
	if got := recv(t, cl.pongs); got != "hb" {
		t.Fatalf("pong %q", got)
	}
	if err := c.Close(engine.StatusNormalClosure, "done"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, server.closed); got != "1000 done" {
		t.Fatalf("server heard %q", got)
	}
	if got := recv(t, cl.closed); got != "1000 done" {
		t.Fatalf("client heard %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	if err := c.WriteMessage(engine.OpText, []byte("late")); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("write after close = %v", err)
	}
}

func TestEndToEndServerCloses(t *testing.T) {
	srv, server := echoServer(t, &engine.Upgrader{})
	cl := newClient()
	c, done := dialServe(t, wsURL(srv, "/echo"), cl, nil)
	_ = c.WriteMessage(engine.OpText, []byte("bye"))
	if got := recv(t, cl.closed); got != "4000 as you wish" {
		t.Fatalf("client heard %q", got)
	}
	if got := recv(t, server.closed); got != "4000 as you wish" {
		t.Fatalf("server heard %q", got)
	}
	if err := <-done; engine.CloseStatus(err) != 4000 {
		t.Fatalf("Serve = %v", err)
	}
}

// rawHandshake opens a TCP connection and completes the handshake by hand.
func rawHandshake(t *testing.T, srv *httptest.Server, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, srv.Listener.Addr())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return conn, br
}

func TestEndToEndProtocolErrorAndDrop(t *testing.T) {
	srv, server := echoServer(t, &engine.Upgrader{})
	// An unmasked frame from a client: the server fails the connection with
	// 1002 and says so in its close frame.
	conn, br := rawHandshake(t, srv, "/echo")
	conn.Write(engine.AppendFrame(nil, engine.Header{Fin: true, OpCode: engine.OpText}, []byte("x")))
	b := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := br.Read(b)
	var h engine.Header
	hn, err := engine.ParseHeader(b[:n], &h)
	if err != nil || h.OpCode != engine.OpClose || n < hn+2 || b[hn] != 0x03 || b[hn+1] != 0xEA {
		t.Fatalf("expected a close 1002, got % x", b[:n])
	}
	if got := recv(t, server.closed); !strings.HasPrefix(got, "1002 ") {
		t.Fatalf("server heard %q", got)
	}
	// A client that vanishes: the server hears 1006.
	conn2, _ := rawHandshake(t, srv, "/echo")
	conn2.Close()
	if got := recv(t, server.closed); got != "1006 " {
		t.Fatalf("server heard %q", got)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	srv, _ := echoServer(t, &engine.Upgrader{})
	do := func(mod func(r *http.Request)) *http.Response {
		r, _ := http.NewRequest("GET", srv.URL+"/echo", nil)
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		r.Header.Set("Sec-WebSocket-Version", "13")
		mod(r)
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do(func(r *http.Request) { r.Header.Del("Upgrade") }); r.StatusCode != 400 {
		t.Errorf("no Upgrade: %d", r.StatusCode)
	}
	if r := do(func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }); r.StatusCode != 426 || r.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Errorf("version 8: %d %q", r.StatusCode, r.Header.Get("Sec-WebSocket-Version"))
	}
	if r := do(func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }); r.StatusCode != 403 {
		t.Errorf("cross origin: %d", r.StatusCode)
	}
	if r := do(func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "short") }); r.StatusCode != 400 {
		t.Errorf("bad key: %d", r.StatusCode)
	}
}

func TestEndToEndSubprotocol(t *testing.T) {
	up := &engine.Upgrader{Handshake: engine.ServerHandshake{Protocols: []string{"chat", "superchat"}}}
	var got string
	gotCh := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, &echo{closed: make(chan string, 1)})
		if err != nil {
			return
		}
		gotCh <- c.Subprotocol()
		_ = c.Serve()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := engine.Dial(context.Background(), wsURL(srv, "/"), newClient(), &engine.DialOptions{Protocols: []string{"superchat", "chat"}})
	if err != nil {
		t.Fatal(err)
	}
	got = recv(t, gotCh)
	if got != "chat" || c.Subprotocol() != "chat" {
		t.Fatalf("server chose %q, client sees %q; want chat (the server's preference)", got, c.Subprotocol())
	}
	go c.Serve()
	_ = c.Close(1000, "")
}

func TestEndToEndTLS(t *testing.T) {
	h := &echo{closed: make(chan string, 4)}
	up := &engine.Upgrader{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, h)
		if err == nil {
			_ = c.Serve()
		}
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cl := newClient()
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/"
	c, _ := dialServe(t, url, cl, &engine.DialOptions{TLSConfig: &tls.Config{RootCAs: pool}})
	_ = c.WriteMessage(engine.OpText, []byte("secret"))
	if got := recv(t, cl.msgs); got != "text:secret" {
		t.Fatalf("got %q", got)
	}
	_ = c.Close(1000, "")
}

func TestEndToEndUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Skip("no unix sockets:", err)
	}
	h := &echo{closed: make(chan string, 4)}
	up := &engine.Upgrader{}
	var seenPath string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenPath = r.URL.Path
		if c, err := up.Upgrade(w, r, h); err == nil {
			_ = c.Serve()
		}
	})}
	go srv.Serve(l)
	defer srv.Close()
	cl := newClient()
	c, _ := dialServe(t, "ws+unix://"+path, cl, &engine.DialOptions{Path: "/chat/room1"})
	_ = c.WriteMessage(engine.OpText, []byte("over a socket file"))
	if got := recv(t, cl.msgs); got != "text:over a socket file" || seenPath != "/chat/room1" {
		t.Fatalf("got %q at %q", got, seenPath)
	}
	_ = c.Close(1000, "")
}

// Writes from many goroutines at once never interleave frames.
func TestConcurrentWrites(t *testing.T) {
	srv, _ := echoServer(t, &engine.Upgrader{})
	cl := newClient()
	cl.msgs = make(chan string, 1000)
	c, _ := dialServe(t, wsURL(srv, "/echo"), cl, nil)
	var wg sync.WaitGroup
	const writers, each = 8, 50
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := bytes.Repeat([]byte{byte('a' + w)}, 100+i)
				if err := c.WriteMessage(engine.OpBinary, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for range writers * each {
		got := recv(t, cl.msgs)
		p := strings.TrimPrefix(got, "binary:")
		if strings.Trim(p, p[:1]) != "" {
			t.Fatalf("a message mixes writers: %.30q", p)
		}
	}
	_ = c.Close(1000, "")
}

func TestDialCancel(t *testing.T) {
	// A server that accepts and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = engine.Dial(ctx, "ws://"+l.Addr().String()+"/", newClient(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("Dial ignored the context")
	}
	if _, err := engine.Dial(context.Background(), "http://example.com/", newClient(), nil); !errors.Is(err, engine.ErrBadURL) {
		t.Fatalf("http URL: %v", err)
	}
}
