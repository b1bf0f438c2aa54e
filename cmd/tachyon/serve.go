package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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
	srv = reactor.New(demo.Options(*loops, comp, func() *demo.Chat { return chat }, func() any { return srv.Stats() }))
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
func (r groupRoom) SendLocal(p []byte)   { r.Send(p) }
