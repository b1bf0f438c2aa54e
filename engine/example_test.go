package engine_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// EchoHandler sends every message back.
type EchoHandler struct{ engine.BaseHandler }

// OnMessage echoes. The payload is borrowed, but WriteMessage copies it out
// before returning, so no copy is needed here.
func (EchoHandler) OnMessage(s engine.Socket, op engine.OpCode, payload []byte) {
	_ = s.WriteMessage(op, payload)
}

// An echo server behind net/http: any router works, the upgrade hijacks the
// connection and Serve runs it on the handler's goroutine.
func ExampleUpgrader() {
	up := &engine.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, EchoHandler{})
		if err != nil {
			return // the refusal (400, 403, 426, ...) has been written
		}
		if err := c.Serve(); err != nil {
			log.Printf("websocket %v: %v", c.RemoteAddr(), err)
		}
	})
	// log.Fatal(http.ListenAndServe(":8080", mux))
}

// PrintHandler prints what it hears and closes after the first message.
type PrintHandler struct {
	engine.BaseHandler
	done chan struct{}
}

func (h *PrintHandler) OnMessage(s engine.Socket, op engine.OpCode, payload []byte) {
	fmt.Printf("%v: %s\n", op, payload)
	_ = s.Close(engine.StatusNormalClosure, "thanks")
}

func (h *PrintHandler) OnClose(s engine.Socket, code engine.StatusCode, reason string) {
	fmt.Println("closed:", int(code), reason)
	close(h.done)
}

// A client: Dial, then Serve on a goroutine of its own; writes are safe from
// anywhere.
func ExampleDial() {
	// An echo server to talk to.
	up := &engine.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, EchoHandler{}); err == nil {
			_ = c.Serve()
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"

	h := &PrintHandler{done: make(chan struct{})}
	c, err := engine.Dial(context.Background(), url, h, nil)
	if err != nil {
		log.Fatal(err)
	}
	go c.Serve()
	if err := c.WriteMessage(engine.OpText, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	<-h.done
	// Output:
	// text: hello
	// closed: 1000 thanks
}

// closeReporter reports the close its connection heard.
type closeReporter struct {
	engine.BaseHandler
	closed chan string
}

func (h *closeReporter) OnClose(_ engine.Socket, code engine.StatusCode, reason string) {
	h.closed <- fmt.Sprintf("%d %s", code, reason)
}

// A graceful stop behind net/http: http.Server.Shutdown does not know the
// hijacked WebSocket connections, so the Upgrader's Shutdown follows it and
// sends every one of them 1001 "going away".
func ExampleUpgrader_Shutdown() {
	up := &engine.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, engine.BaseHandler{}); err == nil {
			_ = c.Serve()
		}
	}))
	h := &closeReporter{closed: make(chan string, 1)}
	c, err := engine.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), h, nil)
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = c.Serve() }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Config.Shutdown(ctx) // stop accepting (httptest's listener: srv.Close below)
	if err := up.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("the client heard:", <-h.closed)
	srv.Close()
	// Output: the client heard: 1001 going away
}

// One budget bounds what all the connections of a server (or of several)
// hold for messages being assembled; past it the connection asking is
// failed with 1008 before the memory is spent.
func ExampleBudget() {
	b := engine.NewBudget(64 << 20)
	up := &engine.Upgrader{Budget: b}
	_ = up // and reactor.Options{Budget: b} for an event-loop server beside it
	fmt.Println(b.Reserve(48<<20), b.Reserve(32<<20), b.Used()>>20, "MiB used")
	b.Release(48 << 20)
	fmt.Println(b.Used(), "used,", b.Denied(), "refused")
	// Output:
	// true false 48 MiB used
	// 0 used, 1 refused
}

// Compression on both ends: the server is ready to take permessage-deflate,
// the client offers it, and both report what they agreed. Messages of
// Threshold bytes or more (512 by default; here every one) go out
// compressed.
func ExampleCompression() {
	comp := &engine.Compression{Threshold: -1} // level 1, no context takeover
	up := &engine.Upgrader{Handshake: engine.ServerHandshake{Compression: comp}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, EchoHandler{}); err == nil {
			fmt.Println("server:", c.Deflate())
			_ = c.Serve()
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"

	h := &PrintHandler{done: make(chan struct{})}
	c, err := engine.Dial(context.Background(), url, h, &engine.DialOptions{Compression: comp})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("client:", c.Deflate())
	go c.Serve()
	_ = c.WriteMessage(engine.OpText, []byte("compressible, compressible, compressible"))
	<-h.done
	// Unordered output:
	// server: permessage-deflate out=15 in=15 no-takeover
	// client: permessage-deflate out=15 in=15 no-takeover
	// text: compressible, compressible, compressible
	// closed: 1000 thanks
}
