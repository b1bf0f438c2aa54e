package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
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
	fmt.Println(res.Open, "open,", res.CleanCloses, "closed cleanly")
	// res.BytesPerConn is the server's resident memory per connection.
	// Output: 100 open, 100 closed cleanly
}
