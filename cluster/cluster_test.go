package cluster

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tachyonws/tachyon/engine"
)

// three starts a NATS server and three nodes on it.
func three(t *testing.T, opts Options) (nodes []*tnode) {
	t.Helper()
	s := startNATS(t, -1)
	for _, name := range []string{"a", "b", "c"} {
		nodes = append(nodes, newNode(t, s.ClientURL(), name, opts))
	}
	return nodes
}

// Every member on every node receives every message once, each
// publisher's in order, whether it was published on its node or another;
// each node encodes each message once.
func TestDeliveryAcrossNodes(t *testing.T) {
	var prepared atomic.Int64 // frames built, across the three nodes
	nodes := three(t, Options{Prepare: func(m *Message) *engine.Prepared {
		prepared.Add(1)
		return engine.NewPrepared(m.Op, m.Payload)
	}})
	const perNode, each = 2, 100
	var clients []*client
	for _, tn := range nodes {
		for range perNode {
			clients = append(clients, dial(t, tn, "chat"))
		}
	}
	flush(t, nodes...)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for k := range each {
				if err := c.conn.WriteMessage(engine.OpText, fmt.Appendf(nil, "c%d:%d", i, k)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	total := len(clients) * each
	for i, c := range clients {
		got := c.waitMsgs(t, total)
		counts := checkStreams(t, fmt.Sprintf("client %d", i), got)
		for j := range clients {
			if n := counts[fmt.Sprintf("c%d", j)]; n != each {
				t.Errorf("client %d got %d messages from c%d, want %d", i, n, j, each)
			}
		}
	}
	for _, tn := range nodes {
		flush(t, tn)
		st := tn.node.Stats()
		if want := uint64((len(clients) - perNode) * each); st.Received != want {
			t.Errorf("%s: Received %d, want %d", tn.node.Name(), st.Received, want)
		}
		if st.Published != perNode*each || st.Lost != 0 || st.Duplicates != 0 || st.NotSent != 0 || st.SlowDropped != 0 {
			t.Errorf("%s: %+v", tn.node.Name(), st)
		}
	}
	// One frame per message per node, whatever the number of members.
	if got, want := prepared.Load(), int64(len(nodes)*len(clients)*each); got != want {
		t.Errorf("%d frames prepared, want %d (one per message per node)", got, want)
	}
	// Nothing more arrives: no duplicates later either.
	for i, c := range clients {
		if n := c.count(); n != total {
			t.Errorf("client %d: %d messages, want %d", i, n, total)
		}
	}
}

// A node subscribes to a room while it has members there, and only then.
func TestInterest(t *testing.T) {
	nodes := three(t, Options{})
	a, b, c := nodes[0], nodes[1], nodes[2]
	dial(t, a, "x")
	cb := dial(t, b, "x")
	dial(t, c, "y") // c serves another room
	flush(t, nodes...)
	if st := c.node.Stats(); st.Rooms != 1 {
		t.Fatalf("c: Rooms %d, want 1", st.Rooms)
	}
	for k := range 20 {
		_ = a.node.Publish("x", engine.OpText, fmt.Appendf(nil, "a:%d", k))
	}
	cb.waitMsgs(t, 20)
	flush(t, a, c) // anything sent to c has reached its queue
	if st := c.node.Stats(); st.Inbound != 0 || st.Pending != 0 {
		t.Fatalf("c, no member in x, received: %+v", st)
	}

	// A member on c: c subscribes, and gets what follows.
	cc := dial(t, c, "x")
	flush(t, c)
	for k := 20; k < 30; k++ {
		_ = a.node.Publish("x", engine.OpText, fmt.Appendf(nil, "a:%d", k))
	}
	checkStreams(t, "c's member", cc.waitMsgs(t, 10))
	// It leaves: c unsubscribes and gets nothing more.
	_ = cc.conn.Close(engine.StatusNormalClosure, "")
	eventually(t, "c to leave x", func() bool { return c.node.Stats().Rooms == 1 })
	flush(t, c)
	for k := 30; k < 50; k++ {
		_ = a.node.Publish("x", engine.OpText, fmt.Appendf(nil, "a:%d", k))
	}
	checkStreams(t, "b's member", cb.waitMsgs(t, 50))
	flush(t, a, c)
	if st := c.node.Stats(); st.Inbound != 10 || st.Received != 10 || st.Lost != 0 {
		t.Fatalf("c: %+v, want exactly the 10 messages of its member's time", st)
	}
	if got := cc.count(); got != 10 {
		t.Fatalf("c's member got %d messages, want 10", got)
	}
}

// Join and Leave change a connection's rooms while it stays open: joining
// twice changes nothing, and leaving a room unsubscribes the node from it
// when it was the room's last member there.
func TestJoinLeave(t *testing.T) {
	nodes := three(t, Options{})
	a, b := nodes[0], nodes[1]
	dial(t, a, "x")
	m := dial(t, b, "x")
	s := b.sockets()[0]
	b.node.Join("y", s)
	b.node.Join("y", s) // once is enough
	flush(t, a, b)
	if st := b.node.Stats(); st.Rooms != 2 {
		t.Fatalf("b: Rooms %d, want 2", st.Rooms)
	}
	_ = a.node.Publish("x", engine.OpText, []byte("x:1"))
	_ = a.node.Publish("y", engine.OpText, []byte("y:1"))
	m.waitMsgs(t, 2)

	b.node.Leave("x", s)
	b.node.Leave("x", s)       // not a member any more: nothing happens
	b.node.Leave("nowhere", s) // nor in a room it never joined
	flush(t, b)
	if st := b.node.Stats(); st.Rooms != 1 {
		t.Fatalf("b: Rooms %d after leaving x, want 1", st.Rooms)
	}
	_ = a.node.Publish("x", engine.OpText, []byte("x:2"))
	_ = a.node.Publish("y", engine.OpText, []byte("y:2"))
	got := m.waitMsgs(t, 3)
	flush(t, a, b)
	if got := m.count(); got != 3 {
		t.Fatalf("b's member got %d messages, want 3", got)
	}
	if got[2] != "y:2" {
		t.Fatalf("b's member got %q", got)
	}
	if st := b.node.Stats(); st.Inbound != 3 || st.Received != 3 {
		t.Fatalf("b: %+v, want 3 messages from NATS (x:1, y:1, y:2)", st)
	}
	for _, p := range b.node.Presence("x") {
		if p.Node == "b" {
			t.Fatalf("b: Presence(x) = %v after its member left", b.node.Presence("x"))
		}
	}
	eventually(t, "a to see b leave x", func() bool { return a.node.Count("x") == 1 && a.node.Count("y") == 1 })
}

// Presence counts the members of a room on every node, with the nodes'
// names; a node that dies stops counting once its TTL has passed, and the
// others go on; one that closes leaves at once.
func TestPresence(t *testing.T) {
	nodes := three(t, Options{PresenceInterval: 100 * time.Millisecond, PresenceTTL: time.Second})
	a, b, c := nodes[0], nodes[1], nodes[2]
	a1 := dial(t, a, "lobby")
	dial(t, a, "lobby")
	bm := dial(t, b, "lobby")
	dial(t, c, "other")
	want := []Member{{Node: "a", ID: a.node.ID(), Members: 2}, {Node: "b", ID: b.node.ID(), Members: 1}}
	for _, tn := range nodes {
		eventually(t, tn.node.Name()+" to see 3 members", func() bool {
			return fmt.Sprint(tn.node.Presence("lobby")) == fmt.Sprint(want) && tn.node.Count("other") == 1
		})
	}
	if got := c.node.Nodes(); len(got) != 3 || got[0].Name != "c" || !got[0].Self || got[1].Name != "a" || got[2].Name != "b" {
		t.Fatalf("c.Nodes() = %+v", got)
	}

	_ = a1.conn.Close(engine.StatusNormalClosure, "")
	for _, tn := range nodes {
		eventually(t, tn.node.Name()+" to see a leave", func() bool { return tn.node.Count("lobby") == 2 })
	}

	// c dies without a word: it stops counting within its TTL, and the
	// others go on.
	start := time.Now()
	c.node.kill()
	for _, tn := range []*tnode{a, b} {
		eventually(t, tn.node.Name()+" to forget c", func() bool { return tn.node.Count("other") == 0 && len(tn.node.Nodes()) == 2 })
	}
	if d := time.Since(start); d < time.Second/4 { // its last announcement was at most an interval (and some scheduling) before
		t.Fatalf("dead node forgotten after %v, before its TTL", d)
	} else if d > time.Second+100*time.Millisecond+2*time.Second { // TTL + interval, and room for a loaded machine
		t.Fatalf("dead node forgotten after %v: not within its TTL (1s) after its last announcement", d)
	} else {
		t.Logf("dead node forgotten after %v (TTL 1s, interval 100ms)", d)
	}
	flush(t, a, b)
	_ = a.node.Publish("lobby", engine.OpText, []byte("a:1"))
	if got := bm.waitMsgs(t, 1); got[0] != "a:1" {
		t.Fatalf("b's member got %q", got)
	}

	// b closes: its goodbye removes it long before its TTL.
	start = time.Now()
	_ = b.node.Close()
	eventually(t, "a to forget b", func() bool { return a.node.Count("lobby") == 1 && len(a.node.Nodes()) == 1 })
	t.Logf("closed node forgotten after %v", time.Since(start))
	if st := a.node.Stats(); st.Nodes != 0 {
		t.Fatalf("a: Nodes %d", st.Nodes)
	}
}

// A publisher's messages during a NATS outage, with no outage buffer: its
// own members get them, the other nodes' do not, and every node counts
// them: the publisher as not sent, the two others as lost. After the
// restart of the NATS server, delivery goes on across the three nodes.
func TestOutageDrop(t *testing.T) {
	s := startNATS(t, -1)
	a := newNode(t, s.ClientURL(), "a", Options{OutageBuffer: -1, ReconnectWait: 20 * time.Millisecond})
	b := newNode(t, s.ClientURL(), "b", Options{ReconnectWait: 20 * time.Millisecond})
	c := newNode(t, s.ClientURL(), "c", Options{ReconnectWait: 20 * time.Millisecond})
	ca, cb, cc := dial(t, a, "r"), dial(t, b, "r"), dial(t, c, "r")
	flush(t, a, b, c)
	_ = a.node.Publish("r", engine.OpText, []byte("a:0"))
	cb.waitMsgs(t, 1)
	cc.waitMsgs(t, 1)

	port := stopNATS(s)
	eventually(t, "the nodes to see NATS gone", func() bool {
		return !a.node.Stats().Connected && !b.node.Stats().Connected && !c.node.Stats().Connected
	})
	for k := 1; k <= 10; k++ {
		var ns *NotSentError
		if err := a.node.Publish("r", engine.OpText, fmt.Appendf(nil, "a:%d", k)); !errors.As(err, &ns) {
			t.Fatalf("Publish during the outage: %v, want a NotSentError", err)
		}
	}
	checkStreams(t, "a's member", ca.waitMsgs(t, 11))
	if st := a.node.Stats(); st.NotSent != 10 || st.Published != 11 {
		t.Fatalf("a: %+v", st)
	}

	startNATS(t, port)
	eventually(t, "the nodes to reconnect", func() bool {
		return a.node.Stats().Connected && b.node.Stats().Connected && c.node.Stats().Connected
	})
	flush(t, a, b, c)
	_ = a.node.Publish("r", engine.OpText, []byte("a:11"))
	_ = b.node.Publish("r", engine.OpText, []byte("b:0"))
	for _, x := range []struct {
		tn *tnode
		cl *client
	}{{b, cb}, {c, cc}} {
		name := x.tn.node.Name()
		got := x.cl.waitMsgs(t, 3)
		counts := checkStreams(t, name+"'s member", got)
		if counts["a"] != 2 || counts["b"] != 1 {
			t.Fatalf("%s's member got %q", name, got)
		}
		flush(t, x.tn)
		received := uint64(2) // a:0 and a:11; b:0 is b's own
		if name == "c" {
			received = 3
		}
		if st := x.tn.node.Stats(); st.Lost != 10 || st.Received != received || st.Reconnects == 0 || st.Duplicates != 0 {
			t.Fatalf("%s: %+v, want the 10 lost counted", name, st)
		}
	}
	checkStreams(t, "a's member", ca.waitMsgs(t, 13))
	if got := ca.count(); got != 13 {
		t.Fatalf("a's member got %d messages, want 13", got)
	}
}

// The wait before each round of reconnection doubles from ReconnectWait
// up to MaxReconnectWait, within ±20 %.
func TestReconnectDelay(t *testing.T) {
	n := &Node{backoff0: 100 * time.Millisecond, backoffN: 5 * time.Second}
	for attempt := 1; attempt <= 12; attempt++ {
		want := min(n.backoff0<<(attempt-1), n.backoffN)
		lo, hi := want-want/5, want+want/5
		seen := map[time.Duration]bool{}
		for range 50 {
			d := n.reconnectDelay(attempt)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: wait %v, want %v ±20%%", attempt, d, want)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Fatalf("attempt %d: always %v, want jitter", attempt, want)
		}
	}
}

// gatedReconnect holds a node's reconnection until open is called, so
// that a test can let the receivers reconnect first.
type gatedReconnect struct {
	once sync.Once
	ch   chan struct{}
}

func newGate(t *testing.T) *gatedReconnect {
	g := &gatedReconnect{ch: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

func (g *gatedReconnect) open() { g.once.Do(func() { close(g.ch) }) }

func (g *gatedReconnect) option() nats.Option {
	return nats.CustomReconnectDelay(func(int) time.Duration {
		<-g.ch
		return 10 * time.Millisecond
	})
}

// With the outage buffer, what is published during an outage reaches the
// other two nodes once NATS is back; past the buffer's bound, it is
// dropped and counted on every side.
func TestOutageBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		buffer int
		full   bool
	}{
		{"buffered", 0, false},
		{"bound", 2048, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startNATS(t, -1)
			gate := newGate(t)
			a := newNode(t, s.ClientURL(), "a", Options{OutageBuffer: tc.buffer, NATS: []nats.Option{gate.option()}})
			b := newNode(t, s.ClientURL(), "b", Options{ReconnectWait: 20 * time.Millisecond})
			c := newNode(t, s.ClientURL(), "c", Options{ReconnectWait: 20 * time.Millisecond})
			cb, cc := dial(t, b, "r"), dial(t, c, "r")
			dial(t, a, "r")
			flush(t, a, b, c)
			_ = a.node.Publish("r", engine.OpText, []byte("a:0"))
			cb.waitMsgs(t, 1)
			cc.waitMsgs(t, 1)

			port := stopNATS(s)
			eventually(t, "the nodes to see NATS gone", func() bool {
				return !a.node.Stats().Connected && !b.node.Stats().Connected && !c.node.Stats().Connected
			})
			payload := strings.Repeat("x", 100)
			notSent := 0
			const during = 50
			for k := 1; k <= during; k++ {
				if err := a.node.Publish("r", engine.OpText, fmt.Appendf(nil, "a:%d %s", k, payload)); err != nil {
					notSent++
				}
			}
			if st := a.node.Stats(); st.NotSent != uint64(notSent) {
				t.Fatalf("a: NotSent %d, Publish failed %d times", st.NotSent, notSent)
			}
			if tc.full != (notSent > 0) || notSent == during {
				t.Fatalf("%d of %d not sent with OutageBuffer %d", notSent, during, tc.buffer)
			}

			startNATS(t, port)
			eventually(t, "b and c to reconnect", func() bool { return b.node.Stats().Connected && c.node.Stats().Connected })
			flush(t, b, c) // their subscriptions are back before a sends what it kept
			gate.open()
			eventually(t, "a to reconnect", func() bool { return a.node.Stats().Connected })
			flush(t, a)
			_ = a.node.Publish("r", engine.OpText, []byte("a:51"))
			want := 1 + during - notSent + 1
			for _, x := range []struct {
				tn *tnode
				cl *client
			}{{b, cb}, {c, cc}} {
				name := x.tn.node.Name()
				checkStreams(t, name+"'s member", x.cl.waitMsgs(t, want))
				flush(t, a, x.tn)
				if st := x.tn.node.Stats(); st.Lost != uint64(notSent) || st.Received != uint64(want) || st.Duplicates != 0 || x.cl.count() != want {
					t.Fatalf("%s: %+v, its member got %d; want %d received, %d lost", name, st, x.cl.count(), want, notSent)
				}
			}
			t.Logf("%d of %d published during the outage kept, %d dropped and counted", during-notSent, during, notSent)
		})
	}
}

// A node too slow for its rooms drops what its bounded queue cannot hold,
// counts it, and the other nodes go on.
func TestSlowNode(t *testing.T) {
	s := startNATS(t, -1)
	var cID uint64
	var idMu sync.Mutex
	release := make(chan struct{})
	var blocked sync.Once
	slow := Options{
		PendingMsgs: 8,
		Prepare: func(m *Message) *engine.Prepared {
			idMu.Lock()
			self := m.Origin == cID
			idMu.Unlock()
			if !self {
				blocked.Do(func() { <-release })
			}
			return engine.NewPrepared(m.Op, m.Payload)
		},
	}
	a := newNode(t, s.ClientURL(), "a", Options{})
	b := newNode(t, s.ClientURL(), "b", Options{})
	c := newNode(t, s.ClientURL(), "c", slow)
	idMu.Lock()
	cID = c.node.ID()
	idMu.Unlock()
	var once sync.Once
	defer once.Do(func() { close(release) })
	cb, cc := dial(t, b, "feed"), dial(t, c, "feed")
	dial(t, a, "feed")
	flush(t, a, b, c)

	const n = 200
	for k := 1; k <= n; k++ {
		_ = a.node.Publish("feed", engine.OpBinary, fmt.Appendf(nil, "a:%d %0100d", k, k))
	}
	checkStreams(t, "b's member", cb.waitMsgs(t, n)) // b is not held up by c
	flush(t, a, c)                                   // everything for c has reached it, queued or dropped
	st := c.node.Stats()
	if st.Pending > st.PendingLimit || st.PendingLimit != 8 {
		t.Fatalf("c: Pending %d, limit %d", st.Pending, st.PendingLimit)
	}
	if st.SlowDropped < n-10 || st.SlowDropped > n-8 {
		t.Fatalf("c: SlowDropped %d of %d with a queue of 8", st.SlowDropped, n)
	}
	dropped := st.SlowDropped
	once.Do(func() { close(release) })
	eventually(t, "c to deliver what it kept", func() bool { return c.node.Stats().Received+dropped == n })
	_ = a.node.Publish("feed", engine.OpBinary, []byte("a:201"))
	kept := int(n - dropped)
	checkStreams(t, "c's member", cc.waitMsgs(t, kept+1))
	st = c.node.Stats()
	if st.Lost != dropped || st.SlowDropped != dropped || st.Received != uint64(kept+1) {
		t.Fatalf("c: %+v; want Lost = SlowDropped = %d", st, dropped)
	}
	checkStreams(t, "b's member", cb.waitMsgs(t, n+1))
}

// A node whose event loops fall behind stops taking messages from its
// queue (Options.Backlog), so the loops' queues stay bounded; the queue
// drops and counts the rest.
func TestBacklogHoldsBack(t *testing.T) {
	s := startNATS(t, -1)
	var backlog atomic.Int64
	backlog.Store(1 << 20) // the loops are far behind
	a := newNode(t, s.ClientURL(), "a", Options{})
	c := newNode(t, s.ClientURL(), "c", Options{PendingMsgs: 8, MaxBacklog: 10,
		Backlog: func() int { return int(backlog.Load()) }})
	ca, cc := dial(t, a, "feed"), dial(t, c, "feed")
	flush(t, a, c)
	const n = 100
	for k := 1; k <= n; k++ {
		_ = a.node.Publish("feed", engine.OpText, fmt.Appendf(nil, "a:%d", k))
	}
	ca.waitMsgs(t, n)
	flush(t, a, c)
	st := c.node.Stats()
	// One message held by the dispatcher, up to 8 queued, the rest dropped.
	if st.Received != 0 || st.HeldBack != 1 || st.Pending > 8 || st.SlowDropped < n-9 || st.SlowDropped > n-8 {
		t.Fatalf("c, held back: %+v", st)
	}
	dropped := st.SlowDropped
	backlog.Store(10) // caught up
	eventually(t, "c to deliver what it kept", func() bool { return c.node.Stats().Received+dropped == n })
	_ = a.node.Publish("feed", engine.OpText, []byte("a:101"))
	checkStreams(t, "c's member", cc.waitMsgs(t, int(n-dropped+1)))
	if st := c.node.Stats(); st.Lost != dropped || st.SlowDropped != dropped {
		t.Fatalf("c: %+v", st)
	}
}
