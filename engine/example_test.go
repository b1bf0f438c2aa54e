package engine_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

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
