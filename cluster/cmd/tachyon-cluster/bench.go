package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tachyonws/tachyon/cluster"
	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// benchMain measures a room's broadcast on one node against the same room
// spread over several nodes bridged by an in-process NATS server: every
// receiver is a WebSocket client in this process, each message carries its
// publishing time, and each delivery's latency is recorded.
func benchMain(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	nodes := fs.Int("nodes", 3, "nodes of the cluster run (the single-node run has the same receivers on one node)")
	receivers := fs.Int("receivers", 1000, "receivers per node of the cluster run")
	size := fs.Int("size", 128, "message size in bytes (at least 8)")
	ratesFlag := fs.String("rates", "3.34,10,33.4", "messages per second to publish, one run per rate")
	dur := fs.Duration("duration", 5*time.Second, "measured time per run, after 1 s of warm-up")
	mode := fs.String("mode", "both", "single, cluster or both")
	loops := fs.Int("loops", 0, "event loops per server; 0 means GOMAXPROCS for the single node, GOMAXPROCS/nodes (at least 1) for each node of the cluster")
	natsURL := fs.String("nats", "", "NATS server for the cluster run, e.g. one started on cores of its own; empty means one in this process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rates []float64
	for _, s := range strings.Split(*ratesFlag, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("bad rate %q", s)
		}
		rates = append(rates, r)
	}
	*size = max(*size, 8)
	total := *nodes * *receivers
	fmt.Printf("# %d receivers, %d B messages, GOMAXPROCS %d, load average %s\n", total, *size, runtime.GOMAXPROCS(0), loadavg())
	fmt.Printf("%-16s %8s %13s %9s %9s %9s %9s %7s  %-21s %-21s %s\n", "setup", "msgs/s", "deliveries/s", "p50", "p99", "p99.9", "max", "lost",
		"own node p50 / p99", "other nodes p50 / p99", "NATS hop p50 / p99")
	for _, single := range []bool{true, false} {
		if single && *mode == "cluster" || !single && *mode == "single" {
			continue
		}
		b, err := newBench(single, *nodes, *receivers, *loops, *natsURL)
		if err != nil {
			return err
		}
		for _, r := range rates {
			b.run(r, *size, *dur)
		}
		b.close()
	}
	fmt.Printf("# load average after: %s\n", loadavg())
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

type bench struct {
	name  string
	ns    *server.Server // in-process, or nil
	srvs  []*reactor.Server
	nodes []*cluster.Node
	group *reactor.Group // single node
	raw   *rawReceivers
	recv  *receiver
	total int
}

// receiver records each delivery's latency, for every receiver.
type receiver struct {
	start time.Time
	from  atomic.Int64 // messages sent before this (ns since start) are not recorded
	h     atomic.Pointer[hist]
	// own and other split h by where the receiver is: on the node that
	// published (or the single node), or on another node. In the same
	// run, under the same load, other minus own is what the hop through
	// NATS adds.
	own, other atomic.Pointer[hist]
	hop        atomic.Pointer[hist] // publish to the frame's preparation on another node
	delivered  atomic.Uint64
}

// reset starts a run: fresh histograms, recording from the time from.
func (r *receiver) reset(from time.Duration) {
	r.from.Store(int64(from))
	r.h.Store(new(hist))
	r.own.Store(new(hist))
	r.other.Store(new(hist))
	r.hop.Store(new(hist))
	r.delivered.Store(0)
}

// prepare records the cross-node hop of a message from another node.
func (r *receiver) prepare(self *atomic.Uint64) func(m *cluster.Message) *engine.Prepared {
	return func(m *cluster.Message) *engine.Prepared {
		if m.Origin != self.Load() && len(m.Payload) >= 8 {
			if sent := int64(binary.BigEndian.Uint64(m.Payload)); sent >= r.from.Load() {
				r.hop.Load().record(time.Since(r.start) - time.Duration(sent))
			}
		}
		return engine.NewPrepared(m.Op, m.Payload)
	}
}

// record records the delivery of message p to a receiver on another node
// than the publisher's (remote) or on the same.
func (r *receiver) record(p []byte, remote bool) {
	if len(p) < 8 {
		return
	}
	sent := int64(binary.BigEndian.Uint64(p))
	if sent < r.from.Load() {
		return
	}
	d := time.Since(r.start) - time.Duration(sent)
	r.h.Load().record(d)
	if remote {
		r.other.Load().record(d)
	} else {
		r.own.Load().record(d)
	}
	r.delivered.Add(1)
}

func newBench(single bool, nodes, receivers, loops int, natsURL string) (*bench, error) {
	b := &bench{recv: &receiver{start: time.Now()}, total: nodes * receivers}
	b.recv.reset(0)
	b.raw = &rawReceivers{rec: b.recv, loops: max(1, runtime.GOMAXPROCS(0)/2)}
	quiet := log.New(io.Discard, "", 0)
	join := func(n *cluster.Node, g *reactor.Group) engine.Handler {
		if n != nil {
			return joiner{node: n}
		}
		return groupJoiner{g: g}
	}
	per := []int{b.total}
	b.name = "1 node"
	if loops <= 0 {
		loops = runtime.GOMAXPROCS(0)
		if !single {
			loops = max(1, loops/nodes)
		}
	}
	if !single {
		b.name = fmt.Sprintf("%d nodes + NATS", nodes)
		per = per[:0]
		for range nodes {
			per = append(per, receivers)
		}
		if natsURL == "" {
			ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
			if err != nil {
				return nil, err
			}
			go ns.Start()
			if !ns.ReadyForConnections(10 * time.Second) {
				return nil, fmt.Errorf("nats-server did not start")
			}
			b.ns = ns
			natsURL = ns.ClientURL()
		}
	}
	// A prefix of this run's own, should the NATS server be shared.
	prefix := fmt.Sprintf("tachyon-bench-%d", time.Now().UnixNano())
	for i, k := range per {
		var h struct{ engine.Handler }
		srv := reactor.New(reactor.Options{Loops: loops, ErrorLog: quiet, Liveness: engine.Liveness{PingInterval: -1, ReadTimeout: -1}, Handler: handlerFunc(func() engine.Handler { return h.Handler })})
		if single {
			b.group = srv.Group("bench")
			h.Handler = join(nil, b.group)
		} else {
			self := new(atomic.Uint64)
			n, err := cluster.Connect(natsURL, cluster.Options{
				Groups: cluster.Reactor(srv), Backlog: srv.Queued, Name: fmt.Sprintf("node%d", i), ErrorLog: quiet, Prefix: prefix,
				Prepare: b.recv.prepare(self),
			})
			if err != nil {
				return nil, err
			}
			self.Store(n.ID())
			b.nodes = append(b.nodes, n)
			h.Handler = join(n, nil)
		}
		if err := srv.Start("127.0.0.1:0"); err != nil {
			return nil, err
		}
		b.srvs = append(b.srvs, srv)
		if err := b.raw.dial(srv.Addr().String(), k, i > 0); err != nil { // the first node publishes
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range b.nodes {
		if err := n.Flush(ctx); err != nil {
			return nil, err
		}
	}
	for _, srv := range b.srvs {
		for srv.Group("bench").Len() < per[0] && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b, b.raw.start()
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// result is what a run counted: the deliveries expected and made, and
// the latencies recorded for receivers on the publishing node, on the
// others, and of the hop.
type result struct {
	want, got        uint64
	own, other, hops uint64
}

// run publishes at rate messages per second for 1 s of warm-up and then
// dur, waits up to 5 s for the deliveries, and prints one line.
func (b *bench) run(rate float64, size int, dur time.Duration) result {
	payload := make([]byte, size)
	for i := 8; i < size; i++ {
		payload[i] = 'x'
	}
	publish := func() {
		binary.BigEndian.PutUint64(payload, uint64(time.Since(b.recv.start)))
		if b.group != nil {
			b.group.Broadcast(engine.NewPrepared(engine.OpBinary, payload))
		} else {
			_ = b.nodes[0].Publish("bench", engine.OpBinary, payload)
		}
	}
	warm := time.Second
	b.recv.reset(time.Since(b.recv.start) + warm)
	begin := time.Now()
	sent, counted := 0, 0
	tick := time.NewTicker(time.Millisecond)
	for {
		el := time.Since(begin)
		if el >= warm+dur {
			break
		}
		for due := int(el.Seconds() * rate); sent < due; sent++ {
			if time.Since(begin) >= warm {
				counted++
			}
			publish()
		}
		<-tick.C
	}
	tick.Stop()
	want := uint64(counted * b.total)
	end := time.Now().Add(5 * time.Second)
	for b.recv.delivered.Load() < want && time.Now().Before(end) {
		time.Sleep(5 * time.Millisecond)
	}
	got := b.recv.delivered.Load()
	q, _ := b.recv.h.Load().quantiles(0.5, 0.99, 0.999, 1)
	fmt.Printf("%-16s %8.1f %13.0f %9v %9v %9v %9v %7d  %-21s %-21s %s\n", b.name, float64(counted)/dur.Seconds(),
		float64(got)/dur.Seconds(), round(q[0]), round(q[1]), round(q[2]), round(q[3]), int64(want)-int64(got),
		p50p99(b.recv.own.Load()), p50p99(b.recv.other.Load()), p50p99(b.recv.hop.Load()))
	_, own := b.recv.own.Load().quantiles()
	_, other := b.recv.other.Load().quantiles()
	_, hops := b.recv.hop.Load().quantiles()
	return result{want: want, got: got, own: own, other: other, hops: hops}
}

// p50p99 formats a histogram's median and 99th percentile, "-" when empty.
func p50p99(h *hist) string {
	q, n := h.quantiles(0.5, 0.99)
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%v / %v", round(q[0]), round(q[1]))
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

func (b *bench) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.raw.close()
	for _, n := range b.nodes {
		_ = n.Close()
	}
	for _, srv := range b.srvs {
		_ = srv.Shutdown(ctx)
	}
	if b.ns != nil {
		b.ns.Shutdown()
	}
}

// joiner puts each connection in the room "bench" through the node.
type joiner struct {
	engine.BaseHandler
	node *cluster.Node
}

func (j joiner) OnOpen(s engine.Socket)                                 { j.node.Join("bench", s) }
func (j joiner) OnClose(s engine.Socket, _ engine.StatusCode, _ string) { j.node.LeaveAll(s) }

// groupJoiner puts each connection in a reactor group.
type groupJoiner struct {
	engine.BaseHandler
	g *reactor.Group
}

func (j groupJoiner) OnOpen(s engine.Socket) { j.g.Add(s) }

// handlerFunc defers to the handler its function returns.
type handlerFunc func() engine.Handler

func (f handlerFunc) OnOpen(s engine.Socket) { f().OnOpen(s) }
func (f handlerFunc) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	f().OnMessage(s, op, p)
}
func (f handlerFunc) OnClose(s engine.Socket, c engine.StatusCode, r string) { f().OnClose(s, c, r) }
