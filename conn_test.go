package tachyon_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tachyonws/tachyon"
	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/mask"
)

// echoServer starts a net/http server whose /ws echoes every message; the
// server side's Read error of each connection goes to errs.
func echoServer(t *testing.T, up *tachyon.Upgrader) (url string, errs chan error) {
	t.Helper()
	if up == nil {
		up = &tachyon.Upgrader{}
	}
	errs = make(chan error, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, up)
		if err != nil {
			return
		}
		ctx := context.Background()
		for {
			op, p, err := c.Read(ctx)
			if err != nil {
				errs <- err
				return
			}
			if err := c.Write(ctx, op, p); err != nil {
				errs <- err
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", errs
}

func dial(t *testing.T, url string) *tachyon.Conn {
	t.Helper()
	c, err := tachyon.Dial(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func TestEcho(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 10000) // longer than the read buffer: comes in pieces
	for _, m := range []struct {
		op tachyon.OpCode
		p  []byte
	}{{tachyon.Text, []byte("hello")}, {tachyon.Binary, []byte{0, 1, 2}}, {tachyon.Text, nil}, {tachyon.Binary, big}} {
		if err := c.Write(ctx, m.op, m.p); err != nil {
			t.Fatal(err)
		}
		op, p, err := c.Read(ctx)
		if err != nil || op != m.op || !bytes.Equal(p, m.p) {
			t.Fatalf("Read = %v, %d bytes, %v; want %v, %d bytes", op, len(p), err, m.op, len(m.p))
		}
	}
}

func TestStreams(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url)
	ctx := context.Background()
	w, err := c.Writer(ctx, tachyon.Text)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"one ", "two ", "three"} {
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The fragmented message comes back whole (the server Reads it).
	op, r, err := c.Reader(ctx)
	if err != nil || op != tachyon.Text {
		t.Fatal(op, err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "one two three" {
		t.Fatalf("Reader = %q, %v", got, err)
	}

	// A Reader left unfinished is skipped by the next Read.
	_ = c.Write(ctx, tachyon.Binary, []byte("abcdef"))
	_ = c.Write(ctx, tachyon.Binary, []byte("next"))
	_, r, err = c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var two [2]byte
	if _, err := io.ReadFull(r, two[:]); err != nil || string(two[:]) != "ab" {
		t.Fatal(two, err)
	}
	if _, p, err := c.Read(ctx); err != nil || string(p) != "next" {
		t.Fatalf("Read after a partial Reader = %q, %v", p, err)
	}
}

// A Read whose context ends returns ctx.Err() and closes nothing.
func TestReadContextEndsClosesNothing(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, _, err := c.Read(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v, want context.Canceled", err)
	}
	bg := context.Background()
	if err := c.Write(bg, tachyon.Text, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.Read(bg); err != nil || string(p) != "still here" {
		t.Fatalf("Read after a cancelled one = %q, %v", p, err)
	}
}

func TestPing(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url)
	ctx := context.Background()
	read := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				read <- err
				return
			}
		}
	}()
	for range 3 {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(tachyon.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := <-read; tachyon.CloseStatus(err) != tachyon.StatusNormalClosure {
		t.Fatalf("Read after Close = %v", err)
	}
	if err := c.Ping(ctx); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}

func TestCloseHandshake(t *testing.T) {
	url, errs := echoServer(t, nil)
	c := dial(t, url)
	// No goroutine reads on the client: Close reads the answer itself.
	if err := c.Close(4000, "game over"); err != nil {
		t.Fatalf("Close = %v", err)
	}
	err := <-errs
	var ce *tachyon.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "game over" {
		t.Fatalf("server Read = %v, want close 4000 game over", err)
	}
	if _, _, err := c.Read(context.Background()); err == nil {
		t.Fatal("Read after Close succeeded")
	}
	if err := c.Write(context.Background(), tachyon.Text, nil); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if err := c.Close(tachyon.StatusNormalClosure, ""); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// Close waits for the peer's close at most CloseTimeout, whether a
// goroutine is reading or not, and then closes the connection.
func TestCloseTimeout(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		<-hold // never reads, so never answers a close
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for _, reading := range []bool{false, true} {
		c, err := tachyon.Dial(context.Background(), url, &tachyon.DialOptions{CloseTimeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		read := make(chan error, 1)
		if reading {
			go func() {
				_, _, err := c.Read(context.Background())
				read <- err
			}()
		}
		start := time.Now()
		err = c.Close(tachyon.StatusNormalClosure, "")
		if took := time.Since(start); !errors.Is(err, engine.ErrCloseTimeout) || took > 5*time.Second {
			t.Fatalf("reading %v: Close of an unanswered connection = %v after %v, want ErrCloseTimeout after about 100 ms", reading, err, took)
		}
		if reading {
			if err := <-read; err == nil {
				t.Fatal("Read in progress returned nil after Close")
			}
		}
		if err := c.Write(context.Background(), tachyon.Text, nil); err == nil {
			t.Fatalf("reading %v: Write after Close succeeded", reading)
		}
	}
}

func TestReadLimit(t *testing.T) {
	up := &tachyon.Upgrader{}
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, up)
		if err != nil {
			return
		}
		c.SetReadLimit(10)
		_, _, err = c.Read(context.Background())
		errs <- err
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	ctx := context.Background()
	_ = c.Write(ctx, tachyon.Binary, make([]byte, 11))
	if err := <-errs; tachyon.CloseStatus(err) != tachyon.StatusMessageTooBig {
		t.Fatalf("server Read = %v, want 1009", err)
	}
	if _, _, err := c.Read(ctx); tachyon.CloseStatus(err) != tachyon.StatusMessageTooBig {
		t.Fatalf("client Read = %v, want 1009", err)
	}
}

// Writes from many goroutines at once arrive whole.
func TestConcurrentWrites(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url)
	ctx := context.Background()
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := bytes.Repeat([]byte{byte('a' + i)}, 100+i)
			for range each {
				if err := c.Write(ctx, tachyon.Binary, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range writers * each {
		_, p, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 100+int(p[0]-'a') || bytes.Count(p, p[:1]) != len(p) {
			t.Fatalf("message mixed up: %q", p)
		}
	}
	wg.Wait()
}

// Writes (whole and streamed), pings, Close and CloseNow from many
// goroutines at once, while one goroutine reads: every call returns, and
// the race detector sees no race.
func TestConcurrentClose(t *testing.T) {
	url, _ := echoServer(t, nil)
	for round := range 4 {
		c := dial(t, url)
		ctx := context.Background()
		var wg sync.WaitGroup
		run := func(f func()) {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		}
		// Close comes at a different point of the traffic each round:
		// once the reader has had round × 50 echoes.
		reached := make(chan struct{})
		if round == 0 {
			close(reached)
		}
		run(func() {
			for n := 1; ; n++ {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				if n == round*50 {
					close(reached)
				}
			}
		})
		for range 3 {
			run(func() {
				for c.Write(ctx, tachyon.Binary, make([]byte, 100)) == nil {
				}
			})
		}
		run(func() {
			for {
				w, err := c.Writer(ctx, tachyon.Text)
				if err != nil {
					return
				}
				_, err = w.Write([]byte("piece "))
				if cerr := w.Close(); err != nil || cerr != nil {
					return
				}
			}
		})
		run(func() {
			for c.Ping(ctx) == nil {
			}
		})
		select {
		case <-reached:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: %d echoes not read within 20 s", round, round*50)
		}
		// Close from two goroutines at once.
		run(func() { _ = c.Close(tachyon.StatusNormalClosure, "bye") })
		run(func() { _ = c.CloseNow() })
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: calls still blocked 20 s after Close and CloseNow", round)
		}
	}
}

// The Upgrader's tracking and Shutdown apply to Accept's connections.
func TestShutdown(t *testing.T) {
	up := &tachyon.Upgrader{}
	url, errs := echoServer(t, up)
	c := dial(t, url)
	ctx := context.Background()
	_ = c.Write(ctx, tachyon.Text, []byte("x"))
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if n := up.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
	shut := make(chan error)
	go func() { shut <- up.Shutdown(ctx) }()
	if _, _, err := c.Read(ctx); tachyon.CloseStatus(err) != tachyon.StatusGoingAway {
		t.Fatalf("client Read during Shutdown = %v, want 1001", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-errs; tachyon.CloseStatus(err) != tachyon.StatusGoingAway {
		t.Fatalf("server Read = %v", err)
	}
	if n := up.Len(); n != 0 {
		t.Fatalf("Len after Shutdown = %d", n)
	}
}

// The Upgrader's liveness checks apply: a client that never reads (so
// never answers the pings) is closed for its silence.
func TestReadTimeout(t *testing.T) {
	up := &tachyon.Upgrader{CloseTimeout: 50 * time.Millisecond}
	up.Liveness.PingInterval = 20 * time.Millisecond
	up.Liveness.ReadTimeout = 100 * time.Millisecond
	url, errs := echoServer(t, up)
	_ = dial(t, url) // silent
	if err := <-errs; err == nil {
		t.Fatal("server Read of a silent client returned nil")
	}
	if n := up.Len(); n != 0 {
		t.Fatalf("Len after the timeout = %d", n)
	}
}

// TestClientReadTimeout: a dialed connection is under the same Liveness
// options as an accepted one: a server that answers nothing is pinged,
// then closed with 1001 once the read timeout has passed.
func TestClientReadTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		// A server that completes the handshake and then only listens.
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		req, err := http.ReadRequest(r)
		if err != nil {
			got <- nil
			return
		}
		var accept [28]byte
		engine.AcceptKey(&accept, []byte(req.Header.Get("Sec-WebSocket-Key")))
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept[:])
		b, _ := io.ReadAll(r) // until the client hangs up
		got <- b
	}()
	opts := &tachyon.DialOptions{CloseTimeout: 50 * time.Millisecond}
	opts.Liveness.PingInterval = 20 * time.Millisecond
	opts.Liveness.ReadTimeout = 100 * time.Millisecond
	c, err := tachyon.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(context.Background()); err == nil {
		t.Fatal("Read from a silent server returned no error")
	}
	var ops []engine.OpCode
	var code engine.StatusCode
	for b := <-got; len(b) > 0; {
		var h engine.Header
		n, err := engine.ParseHeader(b, &h)
		if err != nil || int64(len(b)-n) < h.Length {
			t.Fatalf("the server read % x", b)
		}
		p := b[n : n+int(h.Length)]
		mask.Apply(p, h.Mask, 0)
		if h.OpCode == engine.OpClose {
			code, _, _ = engine.ParseClosePayload(p)
		}
		ops = append(ops, h.OpCode)
		b = b[n+int(h.Length):]
	}
	if len(ops) < 2 || ops[0] != engine.OpPing || ops[len(ops)-1] != engine.OpClose || code != engine.StatusGoingAway {
		t.Fatalf("the server got frames %v, close code %d; want pings, then a close 1001", ops, code)
	}
}

func TestNetConn(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url)
	nc := c.NetConn(tachyon.Binary)
	if _, err := nc.Write([]byte("hello, stream")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	var got []byte
	for len(got) < len("hello, stream") {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "hello, stream" {
		t.Fatalf("read %q", got)
	}
	// A Read past its deadline times out and closes nothing.
	_ = nc.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := nc.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v", err)
	}
	_ = nc.SetReadDeadline(time.Time{})
	if _, err := nc.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(nc, buf); err != nil || string(buf[:n]) != "again" {
		t.Fatalf("Read after a timeout = %q, %v", buf[:n], err)
	}
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
}

// A cross-origin refusal is ErrForbiddenOrigin on both sides: Accept's
// error, and Dial's (with the 403).
func TestRefusedHandshake(t *testing.T) {
	accepted := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, nil)
		if err == nil {
			_ = c.CloseNow()
		}
		accepted <- err
	}))
	defer srv.Close()
	_, err := tachyon.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), &tachyon.DialOptions{
		Header: [][2]string{{"Origin", "https://elsewhere.example"}},
	})
	if tachyon.HTTPStatus(err) != http.StatusForbidden || !errors.Is(err, tachyon.ErrForbiddenOrigin) {
		t.Fatalf("Dial with a foreign origin = %v, want 403, errors.Is ErrForbiddenOrigin", err)
	}
	if err := <-accepted; !errors.Is(err, tachyon.ErrForbiddenOrigin) {
		t.Fatalf("Accept of a foreign origin = %v, want ErrForbiddenOrigin", err)
	}
}

// Read into the reused buffer and Write allocate nothing per message, on
// either side (the server echoes with the same calls).
func TestZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	url, _ := echoServer(t, nil)
	c := dial(t, url)
	// A context that can end costs a watcher once, not per message.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msg := bytes.Repeat([]byte("x"), 1000)
	frag := bytes.Repeat([]byte("y"), 20000) // over the read buffer: assembled
	for _, p := range [][]byte{msg, frag} {
		round := func() {
			if err := c.Write(ctx, tachyon.Binary, p); err != nil {
				t.Fatal(err)
			}
			if _, got, err := c.Read(ctx); err != nil || len(got) != len(p) {
				t.Fatal(len(got), err)
			}
		}
		round() // buffers grow once
		if n := testing.AllocsPerRun(200, round); n != 0 {
			t.Errorf("%d-byte echo: %v allocations per message, want 0", len(p), n)
		}
	}
}

// TestZeroAllocsCompressed: with permessage-deflate negotiated, a
// compressed echo allocates nothing per message on either side: the
// client (Dial) and the net/http driver (Accept) borrow pooled codecs, and
// with context takeover keep their windows once allocated. Messages up to
// the largest buffer kept for reuse (64 KiB) are steady state; larger ones
// take fresh buffers by design, so that a burst of them is not kept.
func TestZeroAllocsCompressed(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("the race detector's sync.Pool drops buffers at random")
	}
	for _, takeover := range []bool{false, true} {
		comp := &engine.Compression{ContextTakeover: takeover}
		up := &tachyon.Upgrader{}
		up.Handshake.Compression = comp
		url, _ := echoServer(t, up)
		c, err := tachyon.Dial(context.Background(), url, &tachyon.DialOptions{Compression: comp})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		if !c.Deflate().Enabled() {
			t.Fatal("permessage-deflate not agreed")
		}
		ctx := context.Background()
		var small, large []byte
		for i := 0; len(large) < 60000; i++ {
			large = fmt.Appendf(large, `{"seq":%d,"user":"u%d","text":"hello"},`, i, i%7)
			if len(large) < 2048 {
				small = large
			}
		}
		for _, p := range [][]byte{small, large} {
			round := func() {
				if err := c.Write(ctx, tachyon.Text, p); err != nil {
					t.Fatal(err)
				}
				if _, got, err := c.Read(ctx); err != nil || len(got) != len(p) {
					t.Fatal(len(got), err)
				}
			}
			for range 3 {
				round() // buffers and windows grow once
			}
			if n := testing.AllocsPerRun(100, round); n != 0 {
				t.Errorf("takeover=%v, %d-byte compressed echo: %v allocations per message, want 0", takeover, len(p), n)
			}
		}
	}
}

// A write whose context ends before it starts sends nothing and closes
// nothing; one whose context ends while it is blocked closes the
// connection (the frame cannot be finished).
func TestWriteContext(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		<-hold // never reads
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Write(done, tachyon.Binary, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with an ended context = %v", err)
	}
	if err := c.Write(context.Background(), tachyon.Binary, []byte("still open")); err != nil {
		t.Fatalf("Write after it = %v", err)
	}

	// 32 MiB (more than the socket buffers take from a peer that reads
	// nothing): the write blocks; its context ends once the write is
	// under way (armed: Write has looked at the context a last time).
	ctx := newArmedContext()
	errc := make(chan error, 1)
	go func() { errc <- c.Write(ctx, tachyon.Binary, make([]byte, 32<<20)) }()
	<-ctx.armed
	ctx.cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Write cut short = %v, want context.Canceled", err)
	}
	if err := c.Write(context.Background(), tachyon.Binary, []byte("x")); err == nil {
		t.Fatal("Write after a write cut short succeeded")
	}
	if _, _, err := c.Read(context.Background()); err == nil {
		t.Fatal("Read after a write cut short succeeded")
	}
}

// A connection nobody reads still leaves the Upgrader once its close goes
// unanswered: Shutdown does not wait for it forever.
func TestUnreadConnectionLeaves(t *testing.T) {
	up := &tachyon.Upgrader{CloseTimeout: 50 * time.Millisecond}
	accepted := make(chan *tachyon.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, up)
		if err == nil {
			accepted <- c // and never read
		}
	}))
	defer srv.Close()
	_ = dial(t, "ws"+strings.TrimPrefix(srv.URL, "http")) // does not read either
	c := <-accepted
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := up.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an unread connection: %v", err)
	}
	if _, _, err := c.Read(context.Background()); err == nil {
		t.Fatal("Read after Shutdown succeeded")
	}
}

// Messages Read assembles are charged to the Upgrader's budget: past it,
// the connection fails with 1008, and what was taken is given back.
func TestReadBudget(t *testing.T) {
	budget := engine.NewBudget(64 << 10)
	up := &tachyon.Upgrader{Budget: budget}
	url, errs := echoServer(t, up)
	c := dial(t, url)
	ctx := context.Background()
	// Within the budget: a 32 KiB message in fragments echoes.
	w, _ := c.Writer(ctx, tachyon.Binary)
	for range 8 {
		_, _ = w.Write(make([]byte, 4<<10))
	}
	_ = w.Close()
	if _, p, err := c.Read(ctx); err != nil || len(p) != 32<<10 {
		t.Fatalf("32 KiB: %d bytes, %v", len(p), err)
	}
	// Past it: 256 KiB in fragments.
	w, _ = c.Writer(ctx, tachyon.Binary)
	for range 64 {
		if _, err := w.Write(make([]byte, 4<<10)); err != nil {
			break
		}
	}
	_ = w.Close()
	if err := <-errs; !errors.Is(err, engine.ErrBudget) {
		t.Fatalf("server Read = %v, want ErrBudget", err)
	}
	// The client sees the 1008, or, when the server's close met the rest
	// of its writes, the reset.
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("client Read after the failure succeeded")
	}
	if n := budget.Used(); n != 0 {
		t.Fatalf("budget still holds %d bytes", n)
	}
}

// With permessage-deflate agreed, Read returns inflated messages (whole:
// the engine inflates them), and Write compresses.
func TestCompression(t *testing.T) {
	for _, takeover := range []bool{false, true} {
		up := &tachyon.Upgrader{}
		up.Handshake.Compression = &engine.Compression{Threshold: -1, ContextTakeover: takeover}
		url, _ := echoServer(t, up)
		c, err := tachyon.Dial(context.Background(), url, &tachyon.DialOptions{
			Compression: &engine.Compression{Threshold: -1, ContextTakeover: takeover}})
		if err != nil {
			t.Fatal(err)
		}
		if d := c.Deflate(); !d.Enabled() {
			t.Fatalf("takeover %v: permessage-deflate not agreed (%s)", takeover, d)
		}
		ctx := context.Background()
		for _, m := range [][]byte{[]byte("hello, deflate"), bytes.Repeat([]byte("abc"), 100000), nil} {
			if err := c.Write(ctx, tachyon.Text, m); err != nil {
				t.Fatal(err)
			}
			if _, p, err := c.Read(ctx); err != nil || !bytes.Equal(p, m) {
				t.Fatalf("takeover %v: echo of %d bytes: %d bytes, %v", takeover, len(m), len(p), err)
			}
		}
		w, _ := c.Writer(ctx, tachyon.Binary)
		_, _ = w.Write([]byte("in "))
		_, _ = w.Write([]byte("pieces"))
		_ = w.Close()
		if op, r, err := c.Reader(ctx); err != nil || op != tachyon.Binary {
			t.Fatal(op, err)
		} else if got, _ := io.ReadAll(r); string(got) != "in pieces" {
			t.Fatalf("takeover %v: %q", takeover, got)
		}
		if err := c.Close(tachyon.StatusNormalClosure, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// armedContext is a context that says when a call has checked it (its
// first Err, which Write makes once the write is armed against it), so
// that a test can end it while the call is under way, not before.
type armedContext struct {
	context.Context
	done    chan struct{}
	armed   chan struct{}
	once    sync.Once
	stopped atomic.Bool
}

func newArmedContext() *armedContext {
	return &armedContext{Context: context.Background(), done: make(chan struct{}), armed: make(chan struct{})}
}

func (c *armedContext) Done() <-chan struct{} { return c.done }

func (c *armedContext) Err() error {
	if c.stopped.Load() {
		return context.Canceled
	}
	c.once.Do(func() { close(c.armed) })
	return nil
}

func (c *armedContext) cancel() {
	c.stopped.Store(true)
	close(c.done)
}
