package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/internal/demo"
	"github.com/tachyonws/tachyon/reactor"
)

// serveMain runs the demo: a page at / with an echo box, a chat room
// (broadcast through the reactor) and the server's live stats. It keeps the
// library's default same-origin check.
func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	loops := fs.Int("loops", 0, "event loops; 0 means one per CPU")
	deflate := fs.Bool("deflate", true, "accept permessage-deflate (RFC 7692; browsers offer it on every connection)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var comp *engine.Compression
	if *deflate {
		comp = &engine.Compression{} // level 1, no context takeover: nothing kept per connection
	}
	var srv *reactor.Server
	var chat *demo.Chat
	srv = reactor.New(reactor.Options{
		Loops:     *loops,
		Liveness:  engine.Liveness{PingInterval: 20 * time.Second, ReadTimeout: time.Minute},
		Handshake: engine.ServerHandshake{Compression: comp}, // same-origin only: CheckOrigin is nil
		Route: func(r *engine.Request) engine.Handler {
			switch string(r.Path()) {
			case "/echo":
				return echoHandler{}
			case "/chat":
				return chat.Join(r)
			}
			return nil
		},
		Fallback: func(r *engine.Request) reactor.Response {
			switch string(r.Path()) {
			case "/":
				return reactor.Response{ContentType: "text/html; charset=utf-8", Body: demo.Page}
			case "/stats":
				b, _ := json.Marshal(srv.Stats())
				return reactor.Response{ContentType: "application/json", Body: b,
					Header: [][2]string{{"Cache-Control", "no-store"}}}
			}
			return reactor.Response{Status: 404, ContentType: "text/plain; charset=utf-8", Body: []byte("not found\n")}
		},
	})
	chat = demo.NewChat(groupRoom{srv.Group("chat")}) // before Start: Route reads it on the loops
	if err := srv.Start(*addr); err != nil {
		return err
	}
	srv.PublishExpvar("tachyon")
	fmt.Printf("Tachyon demo: open http://%s/ in a browser (echo box, chat room, live stats). Ctrl-C stops it.\n", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveUntil(ctx, srv)
}

// groupRoom is the chat's room on one server: a reactor Group, which takes
// a closing connection out by itself.
type groupRoom struct{ g *reactor.Group }

func (r groupRoom) Join(s engine.Socket) { r.g.Add(s) }
func (r groupRoom) Leave(engine.Socket)  {}
func (r groupRoom) Send(p []byte)        { r.g.Broadcast(engine.NewPrepared(engine.OpText, p)) }
