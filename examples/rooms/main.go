// Command rooms is an event-loop server with two rooms, /lobby and /news:
// every message is relayed to everyone in its room, and a ticker
// broadcasts the time into /news. Ctrl-C closes every connection with
// 1001 and stops.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// room relays every message to all its members, the sender included.
type room struct {
	engine.BaseHandler
	members *reactor.Group
}

func (r *room) OnOpen(s engine.Socket) { r.members.Add(s) } // left on close

func (r *room) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	r.members.Broadcast(engine.NewPrepared(op, p)) // encoded once for all
}

func main() {
	lobby, news := &room{}, &room{}
	srv := reactor.New(reactor.Options{
		Route: func(r *engine.Request) engine.Handler {
			switch string(r.Path()) {
			case "/lobby":
				return lobby
			case "/news":
				return news
			}
			return nil // 404
		},
	})
	lobby.members, news.members = srv.Group("lobby"), srv.Group("news")
	if err := srv.Start("127.0.0.1:9000"); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case t := <-tick.C:
			news.members.Broadcast(engine.NewPrepared(engine.OpText, t.AppendFormat(nil, time.TimeOnly)))
		case <-ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil { // 1001 "going away" to everyone
				log.Print(err)
			}
			return
		}
	}
}
