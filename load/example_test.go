package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/load"
)

// echo is the server under test: it writes every message back.
type echo struct{ engine.BaseHandler }

func (echo) OnMessage(s engine.Socket, op engine.OpCode, p []byte) { _ = s.WriteMessage(op, p) }

// Load-test a server of your own from a Go test or a program: here an echo
// server on net/http, started in the same process, under 10 connections with
// 4 messages of 1 KiB in flight on each.
func ExampleRun() {
	up := &engine.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, echo{})
		if err != nil {
			return
		}
		_ = c.Serve()
	}))
	defer srv.Close()

	res, err := load.Run(context.Background(), load.Config{
		URL:      "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		Conns:    10,
		Inflight: 4,
		Size:     1024,
		Warmup:   100 * time.Millisecond,
		Duration: 300 * time.Millisecond,
		PID:      os.Getpid(), // the server's CPU: this process, here
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// res.MsgsPerSec, res.P99us, res.Jain, res.ServerUsPerMsg ... are the
	// measurements; res.Report writes them for people.
	fmt.Println(res.Open, "connections,", res.Errors, "errors, echoes:", res.Messages > 0)
	// Output: 10 connections, 0 errors, echoes: true
}

// Measure the memory a server holds per idle connection: give it the
// server's PID (Linux). Here the server is this process.
func ExampleRun_idle() {
	up := &engine.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, echo{}); err == nil {
			_ = c.Serve()
		}
	}))
	defer srv.Close()

	res, err := load.Run(context.Background(), load.Config{
		URL:      "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		Mode:     load.Idle,
		Conns:    100,
		Duration: 100 * time.Millisecond,
		PID:      os.Getpid(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// res.BytesPerConn is the server's resident memory per connection,
	// res.UpgradesPerSec the rate of the opening handshakes.
	fmt.Println(res.Open, "open,", res.CleanCloses, "closed cleanly")
	// Output: 100 open, 100 closed cleanly
}

// hub sends every message to every connection it holds: the server of the
// broadcast example.
type hub struct {
	engine.BaseHandler
	mu    sync.Mutex
	conns map[engine.Socket]bool
}

func (h *hub) OnOpen(s engine.Socket) { h.mu.Lock(); h.conns[s] = true; h.mu.Unlock() }

func (h *hub) OnClose(s engine.Socket, _ engine.StatusCode, _ string) {
	h.mu.Lock()
	delete(h.conns, s)
	h.mu.Unlock()
}

func (h *hub) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		_ = c.WriteMessage(op, p)
	}
}

// Measure a broadcast: the first connection sends a message every 10 ms
// (Config.Interval) to a server that sends it to every connection, and
// every connection times what it receives. A negative Interval sends as
// fast as the receivers take the messages, Inflight at a time.
func ExampleRun_broadcast() {
	h := &hub{conns: map[engine.Socket]bool{}}
	up := &engine.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, h); err == nil {
			_ = c.Serve()
		}
	}))
	defer srv.Close()

	res, err := load.Run(context.Background(), load.Config{
		URL:      "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		Mode:     load.Broadcast,
		Conns:    20,
		Size:     128,
		Interval: 10 * time.Millisecond,
		Warmup:   100 * time.Millisecond,
		Duration: 300 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// res.MsgsPerSec counts deliveries; res.P99us is their latency from the
	// send, res.Missing what a receiver did not get.
	fmt.Println(res.Open, "connections,", res.Errors, "errors, deliveries:", res.Messages > 0)
	// Output: 20 connections, 0 errors, deliveries: true
}
