package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/cluster"
	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// page is a small chat page. The full demo page of `tachyon serve` (echo
// box, chat, live stats) is embedded in package main of cmd/tachyon and
// cannot be imported from here; this one stands in for it until it moves
// into an importable package.
//
//go:embed page.html
var page []byte

// serveMain runs a node of the demo: the /chat room bridged over NATS, so
// that the members connected to every node share it, /echo, and /stats
// with the server's and the node's counters and the room's presence.
func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	natsURL := fs.String("nats", "nats://127.0.0.1:4222", "NATS server(s), comma-separated")
	name := fs.String("name", "", "node name in presence (default: the listen address)")
	loops := fs.Int("loops", 0, "event loops; 0 means one per CPU")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		*name = *addr
	}
	chat := &chatHandler{}
	var srv *reactor.Server
	srv = reactor.New(reactor.Options{
		Loops:    *loops,
		Liveness: engine.Liveness{PingInterval: 20 * time.Second, ReadTimeout: time.Minute},
		Route: func(r *engine.Request) engine.Handler {
			switch path(r) {
			case "/echo":
				return echoHandler{}
			case "/chat":
				return chat
			}
			return nil
		},
		Fallback: func(r *engine.Request) reactor.Response {
			switch path(r) {
			case "/":
				return reactor.Response{ContentType: "text/html; charset=utf-8", Body: page}
			case "/stats":
				b, _ := json.Marshal(struct {
					Server   reactor.Stats
					Cluster  cluster.Stats
					Nodes    []cluster.NodeInfo
					Presence []cluster.Member
				}{srv.Stats(), chat.node.Stats(), chat.node.Nodes(), chat.node.Presence("chat")})
				return reactor.Response{ContentType: "application/json", Body: b,
					Header: [][2]string{{"Cache-Control", "no-store"}}}
			}
			return reactor.Response{Status: 404, ContentType: "text/plain; charset=utf-8", Body: []byte("not found\n")}
		},
	})
	node, err := cluster.Connect(*natsURL, cluster.Options{
		Groups:  cluster.Reactor(srv),
		Backlog: srv.Queued,
		Name:    *name,
	})
	if err != nil {
		return err
	}
	defer node.Close()
	chat.node = node // before Start: the handlers read it on the loops
	if err := srv.Start(*addr); err != nil {
		return err
	}
	fmt.Printf("Tachyon cluster node %q: open http://%s/ (chat shared through NATS at %s). Ctrl-C stops it.\n", *name, srv.Addr(), *natsURL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Wait() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

func path(r *engine.Request) string {
	p, _, _ := strings.Cut(string(r.RequestURI), "?")
	return p
}

type echoHandler struct{ engine.BaseHandler }

func (echoHandler) OnMessage(s engine.Socket, op engine.OpCode, p []byte) { _ = s.WriteMessage(op, p) }

// chatHandler relays every text message to the room on every node, with
// the sender's address in front.
type chatHandler struct {
	engine.BaseHandler
	node *cluster.Node
}

func (h *chatHandler) OnOpen(s engine.Socket) {
	h.node.Join("chat", s)
	_ = h.node.Publish("chat", engine.OpText, fmt.Appendf(nil, "* %s joined %s", s.RemoteAddr(), h.node.Name()))
}

func (h *chatHandler) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	if op != engine.OpText || len(p) > 4096 {
		return
	}
	_ = h.node.Publish("chat", engine.OpText, fmt.Appendf(nil, "%s: %s", s.RemoteAddr(), p))
}

func (h *chatHandler) OnClose(s engine.Socket, _ engine.StatusCode, _ string) {
	h.node.LeaveAll(s)
	_ = h.node.Publish("chat", engine.OpText, fmt.Appendf(nil, "* %s left", s.RemoteAddr()))
}
