package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

//go:embed demo/index.html
var demoPage []byte

// serveMain runs the demo: a page at / with an echo box, a chat room
// (broadcast through the reactor) and the server's live stats. It keeps the
// library's default same-origin check.
func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	loops := fs.Int("loops", 0, "event loops; 0 means one per CPU")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var srv *reactor.Server
	chat := &chatHandler{}
	srv = reactor.New(reactor.Options{
		Loops:    *loops,
		Liveness: engine.Liveness{PingInterval: 20 * time.Second, ReadTimeout: time.Minute},
		Route: func(r *engine.Request) engine.Handler {
			switch string(r.Path()) {
			case "/echo":
				return echoHandler{}
			case "/chat":
				return chat
			}
			return nil
		},
		Fallback: func(r *engine.Request) reactor.Response {
			switch string(r.Path()) {
			case "/":
				return reactor.Response{ContentType: "text/html; charset=utf-8", Body: demoPage}
			case "/stats":
				b, _ := json.Marshal(srv.Stats())
				return reactor.Response{ContentType: "application/json", Body: b,
					Header: [][2]string{{"Cache-Control", "no-store"}}}
			}
			return reactor.Response{Status: 404, ContentType: "text/plain; charset=utf-8", Body: []byte("not found\n")}
		},
	})
	chat.room = srv.Group("chat")
	if err := srv.Start(*addr); err != nil {
		return err
	}
	srv.PublishExpvar("tachyon")
	fmt.Printf("Tachyon demo: open http://%s/ in a browser (echo box, chat room, live stats). Ctrl-C stops it.\n", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveUntil(ctx, srv)
}

// chatHandler relays every text message to the whole room, with the
// sender's address in front.
type chatHandler struct {
	engine.BaseHandler
	room *reactor.Group
}

func (h *chatHandler) OnOpen(s engine.Socket) {
	h.room.Add(s)
	h.room.Broadcast(engine.NewPrepared(engine.OpText, fmt.Appendf(nil, "* %s joined", s.RemoteAddr())))
}

func (h *chatHandler) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	if op != engine.OpText || len(p) > 4096 {
		return
	}
	h.room.Broadcast(engine.NewPrepared(engine.OpText, fmt.Appendf(nil, "%s: %s", s.RemoteAddr(), p)))
}

func (h *chatHandler) OnClose(s engine.Socket, _ engine.StatusCode, _ string) {
	h.room.Broadcast(engine.NewPrepared(engine.OpText, fmt.Appendf(nil, "* %s left", s.RemoteAddr())))
}
