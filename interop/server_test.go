package interop

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tachyonws/tachyon"
	"github.com/tachyonws/tachyon/engine"
)

// serverTarget is one of our servers under test. start starts it on
// 127.0.0.1 (a free port) serving h (echoFor(t), or a handler of its own
// when a test runs several servers) as the WebSocket handler at wsURL, with a handshake that accepts any origin and the subprotocol
// `subprotocol` when offered (the client scripts check that it is chosen)
// and negotiates permessage-deflate with comp (nil: declines it), and
// returns how to stop it (called once, on test cleanup). When the server
// also serves plain HTTP, httpBase is its root ("http://host:port") and
// pageHandler(resultsFor(t)) answers there; otherwise httpBase is "" and the
// browser test serves its page from a side server. echoHandler never blocks,
// so it may run on an event loop.
type serverTarget struct {
	name  string
	start func(t *testing.T, h *echoHandler, comp *engine.Compression) (wsURL string, httpBase string, stop func())
}

// serverTargets are the servers every client peer is run against. The
// event-loop reactor joins with one line: {"reactor", startReactorEcho}.
var serverTargets = []serverTarget{
	{"nethttp", startNetHTTPEcho},
	{"tachyon", startAPIEcho},
	{"reactor", startReactorEcho},
}

// subprotocol is offered by our client and accepted by our servers and the
// peer servers, to check the negotiation.
const subprotocol = "tachyon.echo"

// closeEvent is one OnClose the echo handler saw.
type closeEvent struct {
	code   engine.StatusCode
	reason string
}

// echoHandler is the handler of every server target: it echoes each message
// with WriteMessage; on the text "ping-me" it pings the client with "hi" and
// then sends "pinged" instead. It records the pongs and closes it sees, for
// the test to check.
type echoHandler struct {
	engine.BaseHandler

	mu       sync.Mutex
	pongs    []string
	opens    int
	deflates []string // each connection's engine.Deflate, when its Socket tells (deflateOf)
	closes   chan closeEvent
}

func newEchoHandler() *echoHandler {
	return &echoHandler{closes: make(chan closeEvent, 16)}
}

var (
	echoMu       sync.Mutex
	echoHandlers = map[*testing.T]*echoHandler{}
)

// echoFor returns the echo handler of test t: the one a server target serves
// and the test then inspects.
func echoFor(t *testing.T) *echoHandler {
	echoMu.Lock()
	defer echoMu.Unlock()
	h := echoHandlers[t]
	if h == nil {
		h = newEchoHandler()
		echoHandlers[t] = h
		t.Cleanup(func() {
			echoMu.Lock()
			delete(echoHandlers, t)
			echoMu.Unlock()
		})
	}
	return h
}

func (h *echoHandler) OnOpen(s engine.Socket) {
	h.mu.Lock()
	h.opens++
	if d, ok := deflateOf(s); ok {
		h.deflates = append(h.deflates, d.String())
	}
	h.mu.Unlock()
}

func (h *echoHandler) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	if op == engine.OpText && string(p) == "ping-me" {
		if err := s.WritePing([]byte("hi")); err != nil {
			return
		}
		_ = s.WriteMessage(engine.OpText, []byte("pinged"))
		return
	}
	_ = s.WriteMessage(op, p)
}

func (h *echoHandler) OnPong(_ engine.Socket, p []byte) {
	h.mu.Lock()
	h.pongs = append(h.pongs, string(p))
	h.mu.Unlock()
}

func (h *echoHandler) OnClose(_ engine.Socket, code engine.StatusCode, reason string) {
	select {
	case h.closes <- closeEvent{code, reason}:
	default:
	}
}

// waitClose returns the next OnClose the server saw, or fails the test.
func (h *echoHandler) waitClose(t *testing.T, timeout time.Duration) closeEvent {
	t.Helper()
	select {
	case ev := <-h.closes:
		return ev
	case <-time.After(timeout):
		t.Fatalf("the server saw no OnClose within %v", timeout)
	}
	return closeEvent{}
}

// expectClose checks that the server saw the client's close code and reason.
func (h *echoHandler) expectClose(t *testing.T, reason string) {
	t.Helper()
	ev := h.waitClose(t, 10*time.Second)
	if ev.code != engine.StatusNormalClosure || ev.reason != reason {
		t.Errorf("server OnClose(%d, %q), want (1000, %q)", ev.code, ev.reason, reason)
	}
}

func (h *echoHandler) deflateList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.deflates...)
}

func (h *echoHandler) pongList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.pongs...)
}

// deflater is implemented by a connection that tells its permessage-deflate
// agreement: engine.Conn does; engine.NetConn and the reactor's Socket do
// not (yet), and the compression tests then check the agreement through the
// handshake.
type deflater interface{ Deflate() engine.Deflate }

// deflateOf returns the agreement of c when c tells it.
func deflateOf(c any) (engine.Deflate, bool) {
	if d, ok := c.(deflater); ok {
		return d.Deflate(), true
	}
	return engine.Deflate{}, false
}

//go:embed page/interop.html
var pageFS embed.FS

// pageHandler serves the browser page at /interop.html and takes its result
// at POST /result, delivered to results (the first one; later ones are
// dropped).
func pageHandler(results chan<- []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /interop.html", func(w http.ResponseWriter, r *http.Request) {
		b, _ := pageFS.ReadFile("page/interop.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case results <- b:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// Chromium asks for it; answering keeps its log quiet.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

var (
	resultsMu   sync.Mutex
	resultChans = map[*testing.T]chan []byte{}
)

// resultsFor returns the channel the browser page's result of test t is
// delivered to.
func resultsFor(t *testing.T) chan []byte {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	c := resultChans[t]
	if c == nil {
		c = make(chan []byte, 1)
		resultChans[t] = c
		t.Cleanup(func() {
			resultsMu.Lock()
			delete(resultChans, t)
			resultsMu.Unlock()
		})
	}
	return c
}

// startNetHTTPEcho runs the engine's net/http driver in process: an
// http.Server on 127.0.0.1 with engine.Upgrader at /ws (any origin, the
// subprotocol offered, permessage-deflate with comp) serving h, and the
// browser page beside it.
func startNetHTTPEcho(t *testing.T, h *echoHandler, comp *engine.Compression) (wsURL, httpBase string, stop func()) {
	t.Helper()
	return startNetHTTP(t, comp, func(up *engine.Upgrader, w http.ResponseWriter, r *http.Request, logf func(string, ...any), track func() bool) {
		c, err := up.Upgrade(w, r, h)
		if err != nil {
			logf("upgrade refused: %v", err)
			return
		}
		if !track() {
			_ = c.Close(engine.StatusGoingAway, "")
			return
		}
		if err := c.Serve(); err != nil {
			logf("server Serve returned %v", err)
		}
	})
}

// startAPIEcho is startNetHTTPEcho over the root package's API:
// tachyon.Accept, then a Read and Write loop that does what echoHandler
// does. On "ping-me" it pings with Conn.Ping, whose payload is its own:
// when the pong comes back it records "hi", the payload echoHandler's ping
// carries, so that the tests check the same thing, and then sends "pinged".
func startAPIEcho(t *testing.T, h *echoHandler, comp *engine.Compression) (wsURL, httpBase string, stop func()) {
	t.Helper()
	return startNetHTTP(t, comp, func(up *engine.Upgrader, w http.ResponseWriter, r *http.Request, logf func(string, ...any), track func() bool) {
		c, err := tachyon.Accept(w, r, up)
		if err != nil {
			logf("upgrade refused: %v", err)
			return
		}
		if !track() {
			_ = c.CloseNow()
			return
		}
		h.OnOpen(nil)
		ctx := context.Background()
		for {
			op, p, err := c.Read(ctx)
			if err != nil {
				var ce *tachyon.CloseError
				if errors.As(err, &ce) {
					h.OnClose(nil, ce.Code, ce.Reason)
				} else {
					h.OnClose(nil, tachyon.CloseStatus(err), "")
					logf("server Read returned %v", err)
				}
				return
			}
			if op == tachyon.Text && string(p) == "ping-me" {
				// "pinged" leaves only once the pong is in: the page closes
				// when it reads "pinged", and a ping sent after its close
				// would go unanswered. The pong comes in through this loop's
				// next Read.
				go func() {
					if c.Ping(ctx) != nil {
						return
					}
					h.OnPong(nil, []byte("hi"))
					if err := c.Write(ctx, tachyon.Text, []byte("pinged")); err != nil {
						logf("server Write returned %v", err)
					}
				}()
				continue
			}
			if err := c.Write(ctx, op, p); err != nil {
				logf("server Write returned %v", err)
			}
		}
	})
}

// startNetHTTP runs serve for every request to /ws of an http.Server on
// 127.0.0.1, with an engine.Upgrader accepting any origin, the subprotocol
// offered and permessage-deflate with comp, and the browser page beside it. serve calls track
// once the connection is upgraded: false means the server is stopping.
func startNetHTTP(t *testing.T, comp *engine.Compression, serve func(up *engine.Upgrader, w http.ResponseWriter, r *http.Request, logf func(string, ...any), track func() bool)) (wsURL, httpBase string, stop func()) {
	t.Helper()
	up := &engine.Upgrader{Handshake: engine.ServerHandshake{
		Protocols:   []string{subprotocol},
		CheckOrigin: func(*engine.Request) bool { return true },
		Compression: comp,
	}}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards what follows
		stopped  bool
		hijacked []net.Conn
		logs     []string // logged at stop: t.Logf may not run after the test
	)
	logf := func(format string, args ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		tracked := false
		serve(up, w, r, logf, func() bool {
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				return false
			}
			wg.Add(1)
			tracked = true
			return true
		})
		if tracked {
			wg.Done()
		}
	})
	mux.Handle("/", pageHandler(resultsFor(t)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateHijacked {
				mu.Lock()
				hijacked = append(hijacked, c)
				mu.Unlock()
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	addr := ln.Addr().String()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = srv.Close()
			mu.Lock()
			stopped = true
			for _, c := range hijacked {
				_ = c.Close() // ends any Serve still running
			}
			mu.Unlock()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("net/http echo server: a connection's Serve did not return after its conn was closed")
			}
			mu.Lock()
			for _, l := range logs {
				t.Log("net/http echo server: " + l)
			}
			mu.Unlock()
		})
	}
	return fmt.Sprintf("ws://%s/ws", addr), "http://" + addr, stop
}

// startTarget starts a server target, without compression, and stops it on
// test cleanup.
func startTarget(t *testing.T, tg serverTarget) (wsURL, httpBase string) {
	t.Helper()
	wsURL, httpBase, stop := tg.start(t, echoFor(t), nil)
	t.Cleanup(stop)
	return wsURL, httpBase
}
