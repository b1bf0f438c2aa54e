package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tachyonws/tachyon/cluster"
	"github.com/tachyonws/tachyon/engine"
)

// The bench runs end to end on a small load, both setups.
func TestBenchSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the bench's receivers are Linux only")
	}
	if err := benchMain([]string{"-receivers", "3", "-rates", "20", "-duration", "200ms"}); err != nil {
		t.Fatal(err)
	}
}

// A cluster run delivers every message to every receiver and records the
// latencies of the publishing node's receivers and the other nodes' apart,
// a third each; a single-node run has only its own.
func TestBenchSplit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the bench's receivers are Linux only")
	}
	for _, single := range []bool{true, false} {
		b, err := newBench(single, 3, 2, 1, "")
		if err != nil {
			t.Fatal(err)
		}
		r := b.run(50, 64, 200*time.Millisecond)
		b.close()
		if r.want == 0 || r.got != r.want || r.own+r.other != r.got {
			t.Fatalf("single %v: %+v", single, r)
		}
		if single && (r.other != 0 || r.hops != 0) {
			t.Fatalf("single node: %+v", r)
		}
		if !single && (r.own*3 != r.got || r.other*3 != 2*r.got || r.hops*2 != r.other) {
			t.Fatalf("3 nodes, 2 receivers each: %+v, want a third own, two thirds other, one hop per message per other node", r)
		}
	}
}

// Two nodes of the demo on one NATS server share the chat room: what a
// member of one says, a member of the other hears; each node lists its
// own members to them; /stats shows the room's presence on both nodes.
func TestServeTwoNodes(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	var addrs []string
	var nodes []*cluster.Node
	for _, name := range []string{"one", "two"} {
		srv, node, err := startDemo("127.0.0.1:0", ns.ClientURL(), name, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = node.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
		addrs = append(addrs, srv.Addr().String())
		nodes = append(nodes, node)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func(addr, name string) (*engine.NetConn, chan string) {
		msgs := make(chan string, 100)
		c, err := engine.Dial(ctx, "ws://"+addr+"/chat?name="+name, chatClient(msgs),
			&engine.DialOptions{Header: [][2]string{{"Origin", "http://" + addr}}}) // the demo's same-origin check
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = c.Serve() }()
		t.Cleanup(func() { _ = c.Close(engine.StatusNormalClosure, "") })
		return c, msgs
	}
	// until reads msgs until one satisfies ok; it fails on a member list
	// naming someone of the other node.
	until := func(who string, msgs chan string, foreign string, ok func(string) bool) {
		t.Helper()
		for {
			select {
			case m := <-msgs:
				if strings.HasPrefix(m, `{"members":`) && strings.Contains(m, `"`+foreign+`"`) {
					t.Fatalf("%s: member list of the other node: %s", who, m)
				}
				if ok(m) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("%s: nothing matched", who)
			}
		}
	}
	_, bobMsgs := dial(addrs[1], "bob")
	if err := nodes[1].Flush(ctx); err != nil { // bob's node has subscribed to the room
		t.Fatal(err)
	}
	ann, annMsgs := dial(addrs[0], "ann")
	until("ann", annMsgs, "bob", func(m string) bool { return m == `{"members":["ann"]}` })
	until("bob", bobMsgs, "ann", func(m string) bool { return m == "* ann joined" })
	if err := ann.WriteMessage(engine.OpText, []byte("hello across nodes")); err != nil {
		t.Fatal(err)
	}
	until("bob", bobMsgs, "ann", func(m string) bool { return m == "ann: hello across nodes" })

	// /stats on the first node: the room's presence on both nodes. It is
	// looked at again after each message node one receives from NATS (the
	// second node's presence announcements among them), until it says so.
	events := make(chan struct{}, 1)
	sub, err := nodes[0].NATS().Subscribe(">", func(*nats.Msg) {
		select {
		case events <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for {
		resp, err := http.Get("http://" + addrs[0] + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var st struct {
			Upgrades uint64
			Cluster  cluster.Stats
			Presence []cluster.Member
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("/stats: %v: %s", err, body)
		}
		if len(st.Presence) == 2 && st.Presence[0].Node == "one" && st.Presence[1].Node == "two" && st.Upgrades == 1 && st.Cluster.Connected {
			break
		}
		select {
		case <-events:
		case <-ctx.Done():
			t.Fatalf("/stats: %s", body)
		}
	}
}

// chatClient passes each message to a channel.
type chatClient chan string

func (c chatClient) OnOpen(engine.Socket)                                 {}
func (c chatClient) OnMessage(_ engine.Socket, _ engine.OpCode, p []byte) { c <- string(p) }
func (c chatClient) OnClose(engine.Socket, engine.StatusCode, string)     {}
