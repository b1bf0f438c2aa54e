package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/cluster"
	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/internal/demo"
	"github.com/tachyonws/tachyon/reactor"
)

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
	srv, node, err := startDemo(*addr, *natsURL, *name, *loops)
	if err != nil {
		return err
	}
	defer node.Close()
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

// startDemo starts a node of the demo on addr, bridged through the NATS
// server(s) at natsURL.
func startDemo(addr, natsURL, name string, loops int) (*reactor.Server, *cluster.Node, error) {
	var (
		node *cluster.Node
		chat *demo.Chat
		srv  *reactor.Server
	)
	// The server's counters at the top level of /stats, as the page reads
	// them, and the node's beside them.
	stats := func() any {
		return struct {
			reactor.Stats
			Cluster  cluster.Stats
			Nodes    []cluster.NodeInfo
			Presence []cluster.Member
		}{srv.Stats(), node.Stats(), node.Nodes(), node.Presence("chat")}
	}
	srv = reactor.New(demo.Options(loops, &engine.Compression{}, func() *demo.Chat { return chat }, stats))
	node, err := cluster.Connect(natsURL, cluster.Options{
		Groups:  cluster.Reactor(srv),
		Backlog: srv.Queued,
		Name:    name,
	})
	if err != nil {
		return nil, nil, err
	}
	chat = demo.NewChat(nodeRoom{node, srv.Group("chat")}) // before Start: Route reads it on the loops
	if err := srv.Start(addr); err != nil {
		_ = node.Close()
		return nil, nil, err
	}
	return srv, node, nil
}

// nodeRoom is the chat's room bridged over NATS: its members are on every
// node, and what one sends reaches them all. local is the node's own share
// of the room (the group the node delivers to).
type nodeRoom struct {
	node  *cluster.Node
	local *reactor.Group
}

func (r nodeRoom) Join(s engine.Socket)  { r.node.Join("chat", s) }
func (r nodeRoom) Leave(s engine.Socket) { r.node.LeaveAll(s) }
func (r nodeRoom) Send(p []byte)         { _ = r.node.Publish("chat", engine.OpText, p) }
func (r nodeRoom) SendLocal(p []byte)    { r.local.Broadcast(engine.NewPrepared(engine.OpText, p)) }
