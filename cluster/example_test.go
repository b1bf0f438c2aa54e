package cluster_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tachyonws/tachyon/cluster"
	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// chat is a room's handler on one node: members join on open, and what
// they send goes to every member on every node.
type chat struct {
	engine.BaseHandler
	node   *cluster.Node
	joined chan<- struct{} // told of each join, when set
}

func (c *chat) OnOpen(s engine.Socket) {
	c.node.Join("lobby", s)
	if c.joined != nil {
		c.joined <- struct{}{}
	}
}

func (c *chat) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	_ = c.node.Publish("lobby", op, p)
}

func (c *chat) OnClose(s engine.Socket, _ engine.StatusCode, _ string) { c.node.LeaveAll(s) }

// startNode starts an event-loop server bridged to NATS at url.
func startNode(url, name string) (*reactor.Server, *cluster.Node) {
	h := &chat{}
	srv := reactor.New(reactor.Options{Handler: h, Loops: 1})
	node, err := cluster.Connect(url, cluster.Options{Groups: cluster.Reactor(srv), Backlog: srv.Queued, Name: name})
	if err != nil {
		log.Fatal(err)
	}
	h.node = node // before Start: handlers read it on the loops
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	return srv, node
}

// Two nodes and a NATS server in one process: a client of one node says
// hello, and a client of the other hears it.
func Example() {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		log.Fatal("nats-server did not start")
	}
	defer ns.Shutdown()

	srvA, nodeA := startNode(ns.ClientURL(), "a")
	srvB, nodeB := startNode(ns.ClientURL(), "b")
	defer nodeA.Close()
	defer nodeB.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 1)
	listener, err := engine.Dial(ctx, "ws://"+srvB.Addr().String()+"/", onMessage(func(p []byte) { got <- string(p) }), nil)
	if err != nil {
		log.Fatal(err)
	}
	go listener.Serve()
	speaker, err := engine.Dial(ctx, "ws://"+srvA.Addr().String()+"/", onMessage(func([]byte) {}), nil)
	if err != nil {
		log.Fatal(err)
	}
	go speaker.Serve()

	// Both members have joined once their Dial returned; Flush makes sure
	// that b's subscription to the room has reached NATS.
	if err := nodeB.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	_ = speaker.WriteMessage(engine.OpText, []byte("hello from a"))
	fmt.Println("b's member got:", <-got)
	for nodeA.Count("lobby") != 2 && ctx.Err() == nil { // presence, as a's announcements reach b and b's reach a
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("members in the lobby:", nodeA.Count("lobby"))

	_ = srvA.Shutdown(ctx)
	_ = srvB.Shutdown(ctx)
	// Output:
	// b's member got: hello from a
	// members in the lobby: 2
}

// Prepare puts the room's sequence number in front of each message, so
// that clients can see a gap.
func ExampleOptions_prepare() {
	opts := cluster.Options{
		Prepare: func(m *cluster.Message) *engine.Prepared {
			return engine.NewPrepared(m.Op, fmt.Appendf(nil, "%x/%d %s", m.Origin, m.Seq, m.Payload))
		},
	}
	p := opts.Prepare(&cluster.Message{Room: "lobby", Origin: 0xab, Seq: 7, Op: engine.OpText, Payload: []byte("hi")})
	fmt.Printf("%q\n", p.Frame()[2:])
	// Output:
	// "ab/7 hi"
}

// A node behind net/http (engine.Upgrader) takes part through the same
// room API, with Sockets for its groups: here a client of an event-loop
// node says hello, and a client of the net/http node hears it.
func ExampleSockets() {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		log.Fatal("nats-server did not start")
	}
	defer ns.Shutdown()

	// The net/http node: each connection joins the lobby through the node.
	httpNode, err := cluster.Connect(ns.ClientURL(), cluster.Options{Groups: cluster.Sockets(0), Name: "http"})
	if err != nil {
		log.Fatal(err)
	}
	defer httpNode.Close()
	var up engine.Upgrader
	joined := make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, &chat{node: httpNode, joined: joined}); err == nil {
			_ = c.Serve()
		}
	})}
	go hs.Serve(ln)

	// The event-loop node.
	srv, node := startNode(ns.ClientURL(), "reactor")
	defer node.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 1)
	listener, err := engine.Dial(ctx, "ws://"+ln.Addr().String()+"/", onMessage(func(p []byte) { got <- string(p) }), nil)
	if err != nil {
		log.Fatal(err)
	}
	go listener.Serve()
	speaker, err := engine.Dial(ctx, "ws://"+srv.Addr().String()+"/", onMessage(func([]byte) {}), nil)
	if err != nil {
		log.Fatal(err)
	}
	go speaker.Serve()

	// Once the listener has joined, Flush makes sure that the net/http
	// node's subscription has reached NATS.
	select {
	case <-joined:
	case <-ctx.Done():
		log.Fatal("the listener did not join")
	}
	if err := httpNode.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	_ = speaker.WriteMessage(engine.OpText, []byte("hello from the event loops"))
	fmt.Println("the net/http node's member got:", <-got)

	_ = srv.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
	_ = up.Shutdown(ctx)
	// Output:
	// the net/http node's member got: hello from the event loops
}

// onMessage is a client handler that passes each message to a function.
type onMessage func([]byte)

func (f onMessage) OnOpen(engine.Socket)                                 {}
func (f onMessage) OnMessage(_ engine.Socket, _ engine.OpCode, p []byte) { f(p) }
func (f onMessage) OnClose(engine.Socket, engine.StatusCode, string)     {}
