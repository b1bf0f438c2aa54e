package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// Defaults of Options.
const (
	DefaultPrefix           = "tachyon"
	DefaultOutageBuffer     = 8 << 20
	DefaultPendingMsgs      = 8192
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultMaxReconnectWait = 5 * time.Second
	DefaultPresenceInterval = time.Second
	DefaultMaxBacklog       = 1024
)

// Errors of Publish.
var (
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("cluster: node closed")
	// ErrOpCode is returned by Publish for an opcode other than text or
	// binary.
	ErrOpCode = errors.New("cluster: only text and binary messages can be published")
)

// NotSentError is returned by Publish when a message was delivered to the
// node's own members but not handed to NATS (see Stats.NotSent): NATS is
// down and the outage buffer is full or off, or the message is over the
// server's payload limit. Err is the NATS client's error.
type NotSentError struct{ Err error }

func (e *NotSentError) Error() string { return "cluster: not sent to other nodes: " + e.Err.Error() }

// Unwrap returns the NATS client's error.
func (e *NotSentError) Unwrap() error { return e.Err }

// Group is a node's own members of one room: the sockets it delivers the
// room's messages to. *reactor.Group has these methods (see Reactor).
// Add and Remove are called with the node's lock held and must not block
// or call back into the Node; Broadcast must not block either, and must
// write the prepared frame as it is to every member.
type Group interface {
	Add(s engine.Socket)
	Remove(s engine.Socket)
	Broadcast(p *engine.Prepared)
}

// Reactor returns the groups of an event-loop server, for Options.Groups:
// the room "chat" is the server's group "chat".
func Reactor(srv *reactor.Server) func(room string) Group {
	return func(room string) Group { return srv.Group(room) }
}

// Message is a room's message as a node delivers it, for Options.Prepare.
type Message struct {
	// Room is the room's name.
	Room string
	// Origin is the ID of the node that published it (see Node.ID).
	Origin uint64
	// Seq numbers the origin's messages to the room: 1, 2, 3... A jump
	// tells that messages between were lost.
	Seq uint64
	// Op is engine.OpText or engine.OpBinary.
	Op engine.OpCode
	// Payload is borrowed: valid only during the call.
	Payload []byte
}

// Options configures a Node. Only Groups is required.
type Options struct {
	// Groups returns the local group of a room, once per room, on the
	// room's first use (Reactor(srv) for an event-loop server).
	Groups func(room string) Group

	// Name identifies the node in presence ("host:pid" when empty). The
	// node's ID is drawn at random by Connect, so a restarted node with the
	// same name is a new node to the others.
	Name string

	// Prefix starts every subject the nodes use (DefaultPrefix when
	// empty): Prefix.room.<name> for a room, Prefix.presence for presence.
	// Nodes that share a NATS server and a prefix form one cluster.
	Prefix string

	// OutageBuffer is what Publish may keep, in bytes, while NATS is
	// unreachable, to send once the connection is back (the NATS client's
	// reconnect buffer). Past it, messages are not sent and are counted in
	// Stats.NotSent. 0 means DefaultOutageBuffer (8 MiB); negative means
	// no buffer: everything published during an outage is dropped and
	// counted. Either way the node's own members get every message.
	OutageBuffer int

	// PendingMsgs bounds the messages from other nodes waiting to be
	// delivered on this node; when it is full (the node is slower than
	// the rooms it serves), new ones are dropped and counted in
	// Stats.SlowDropped. The memory they hold is at most PendingMsgs times
	// the NATS server's max_payload (1 MiB by default). 0 means
	// DefaultPendingMsgs (8,192).
	PendingMsgs int

	// Backlog, when set, returns the work the local server has yet to do
	// (reactor.Server.Queued for an event-loop server). While it is over
	// MaxBacklog, the node stops taking messages from other nodes out of
	// its queue, which then fills up and drops (see PendingMsgs): the
	// server's own queues stay bounded however fast the other nodes
	// publish. 0 means DefaultMaxBacklog (1,024).
	Backlog    func() int
	MaxBacklog int

	// ReconnectWait is the first wait before reconnecting to NATS after
	// the connection is lost; each failed round doubles it, up to
	// MaxReconnectWait, with ±20 % jitter. The node reconnects for ever.
	// 0 means DefaultReconnectWait (100 ms) and DefaultMaxReconnectWait
	// (5 s).
	ReconnectWait, MaxReconnectWait time.Duration

	// PresenceInterval is how often the node announces its members to
	// the others; a node not heard from for PresenceTTL is taken for dead
	// and stops counting. 0 means DefaultPresenceInterval (1 s) and three
	// intervals.
	PresenceInterval, PresenceTTL time.Duration

	// Prepare builds the frame written to the local members for a
	// message, once per message on each node (for the node's own
	// messages too): to put the room, origin or sequence number in front
	// of the payload, say, so that clients can see a gap. It runs on one
	// goroutine for the messages from other nodes, on the publisher's for
	// the node's own, and must not keep m.Payload. nil means the payload
	// as it is (engine.NewPrepared(m.Op, m.Payload)).
	Prepare func(m *Message) *engine.Prepared

	// ErrorLog receives connection losses, reconnects and slow-consumer
	// warnings; nil means the standard logger.
	ErrorLog *log.Logger

	// NATS holds more options for the NATS connection (credentials, TLS,
	// nats.RetryOnFailedConnect to start while NATS is down). They are
	// applied after the node's own (NoEcho, reconnect, buffer, handlers):
	// overriding those changes the behaviour documented here.
	NATS []nats.Option
}

// Node bridges one server's rooms to the other nodes through NATS. Its
// methods are safe from any goroutine. Join, Leave and Publish wait for
// no reply from NATS and may be called from handlers on event loops: they
// hand their bytes to the NATS client, which writes to its socket itself
// once it holds 32 KiB (nats.WriteBufferSize). That write waits only when
// the kernel's send buffer is full too, that is when the NATS server has
// stopped reading while the connection stays up, and at most the client's
// nats.FlusherTimeout (a minute by default; Options.NATS can lower it,
// turning such a stall into a lost connection and a reconnection).
type Node struct {
	name     string
	id       uint64
	prefix   string
	presSubj string
	groups   func(string) Group
	prepare  func(*Message) *engine.Prepared
	logger   *log.Logger
	interval time.Duration
	ttl      time.Duration
	backoff0 time.Duration
	backoffN time.Duration
	nc       *nats.Conn
	presSub  *nats.Subscription
	backlog  func() int
	maxBack  int

	mu          sync.RWMutex
	rooms       map[string]*room // by name
	bySubject   map[string]*room
	socks       map[engine.Socket][]*room
	closed      bool
	droppedBase uint64 // SlowDropped of the subscriptions ended

	ch      chan *nats.Msg // every room's messages, in arrival order
	done    chan struct{}
	changed chan struct{} // membership changed: announce soon
	wg      sync.WaitGroup

	pmu   sync.Mutex
	peers map[uint64]*peer

	published, notSent, received, lost, dups, stale, inbound atomic.Uint64
	malformed, disconnects, reconnects, heldBack             atomic.Uint64
}

// room is a room's state on a node.
type room struct {
	name, subject string
	group         Group

	// Membership, under Node.mu.
	members map[engine.Socket]struct{}
	sub     *nats.Subscription
	local   atomic.Int64 // len(members), for Publish

	// Publishing, under pub.
	pub sync.Mutex
	seq uint64
	buf []byte

	// Receiving, on the dispatcher only: the last sequence number of each
	// origin, since subscription streamSub began.
	streamSub *nats.Subscription
	streams   map[uint64]uint64
}

// Connect connects a node to the NATS server(s) at url (comma-separated,
// as nats.Connect takes them) and starts bridging. It fails when NATS
// cannot be reached, unless Options.NATS holds
// nats.RetryOnFailedConnect(true). Call Close to leave the cluster.
func Connect(url string, opts Options) (*Node, error) {
	if opts.Groups == nil {
		return nil, errors.New("cluster.Connect: Options.Groups is nil")
	}
	n := &Node{
		name:      opts.Name,
		prefix:    opts.Prefix,
		groups:    opts.Groups,
		prepare:   opts.Prepare,
		logger:    opts.ErrorLog,
		interval:  opts.PresenceInterval,
		ttl:       opts.PresenceTTL,
		backoff0:  opts.ReconnectWait,
		backoffN:  opts.MaxReconnectWait,
		rooms:     make(map[string]*room),
		bySubject: make(map[string]*room),
		socks:     make(map[engine.Socket][]*room),
		done:      make(chan struct{}),
		changed:   make(chan struct{}, 1),
		peers:     make(map[uint64]*peer),
		backlog:   opts.Backlog,
		maxBack:   opts.MaxBacklog,
	}
	if n.maxBack <= 0 {
		n.maxBack = DefaultMaxBacklog
	}
	if n.name == "" {
		host, _ := os.Hostname()
		n.name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if n.prefix == "" {
		n.prefix = DefaultPrefix
	}
	n.presSubj = presenceSubject(n.prefix)
	if n.prepare == nil {
		n.prepare = func(m *Message) *engine.Prepared { return engine.NewPrepared(m.Op, m.Payload) }
	}
	if n.logger == nil {
		n.logger = log.Default()
	}
	if n.interval <= 0 {
		n.interval = DefaultPresenceInterval
	}
	if n.ttl <= 0 {
		n.ttl = 3 * n.interval
	}
	if n.backoff0 <= 0 {
		n.backoff0 = DefaultReconnectWait
	}
	if n.backoffN <= 0 {
		n.backoffN = max(DefaultMaxReconnectWait, n.backoff0)
	}
	pending := opts.PendingMsgs
	if pending <= 0 {
		pending = DefaultPendingMsgs
	}
	n.ch = make(chan *nats.Msg, pending)
	buf := opts.OutageBuffer
	switch {
	case buf == 0:
		buf = DefaultOutageBuffer
	case buf < 0:
		buf = -1 // the client's "no buffer"
	}
	var idb [8]byte
	for n.id == 0 {
		_, _ = rand.Read(idb[:])
		n.id = binary.BigEndian.Uint64(idb[:])
	}

	nopts := []nats.Option{
		nats.Name("tachyon " + n.name),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(buf),
		nats.CustomReconnectDelay(n.reconnectDelay),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.disconnects.Add(1)
			if err != nil {
				n.logger.Printf("cluster: %s: NATS connection lost: %v", n.name, err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			n.reconnects.Add(1)
			n.logger.Printf("cluster: %s: reconnected to NATS at %s", n.name, nc.ConnectedUrlRedacted())
			n.poke()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				n.logger.Printf("cluster: %s: %s: %v", n.name, sub.Subject, err)
			} else {
				n.logger.Printf("cluster: %s: %v", n.name, err)
			}
		}),
	}
	nc, err := nats.Connect(url, append(nopts, opts.NATS...)...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to NATS: %w", err)
	}
	n.nc = nc
	n.presSub, err = nc.Subscribe(n.presSubj, n.onPresence)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: subscribing to presence: %w", err)
	}
	_ = n.presSub.SetPendingLimits(4096, 16<<20)
	n.wg.Add(2)
	go n.dispatch()
	go n.announce()
	n.poke()
	return n, nil
}

// reconnectDelay is the NATS client's wait before its attempt-th round of
// reconnection: exponential, capped, jittered.
func (n *Node) reconnectDelay(attempt int) time.Duration {
	d := n.backoff0
	for i := 1; i < attempt && d < n.backoffN; i++ {
		d *= 2
	}
	d = min(d, n.backoffN)
	return d - d/5 + time.Duration(mrand.Int64N(int64(d/5)*2+1))
}

// Name returns the node's name (Options.Name).
func (n *Node) Name() string { return n.name }

// ID returns the node's ID, drawn at random by Connect: the Origin of its
// messages and its identity in presence.
func (n *Node) ID() uint64 { return n.id }

// NATS returns the node's NATS connection, for its status and statistics.
// Closing it is Close's job.
func (n *Node) NATS() *nats.Conn { return n.nc }

// Join makes s a member of room on this node: it joins the room's local
// group, and the node subscribes to the room's subject if s is its first
// local member. A socket joins a room once; joining again does nothing.
// The subscription reaches the NATS server asynchronously: Flush waits
// for it.
func (n *Node) Join(room string, s engine.Socket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.roomLocked(room)
	if _, ok := r.members[s]; ok {
		return
	}
	r.members[s] = struct{}{}
	r.local.Store(int64(len(r.members)))
	n.socks[s] = append(n.socks[s], r)
	r.group.Add(s)
	if len(r.members) == 1 && !n.closed {
		sub, err := n.nc.ChanSubscribe(r.subject, n.ch)
		if err != nil {
			n.logger.Printf("cluster: %s: subscribing to room %q: %v", n.name, room, err)
		}
		r.sub = sub
	}
	n.poke()
}

// Leave takes s out of room; the node unsubscribes from the room when s
// was its last local member.
func (n *Node) Leave(room string, s engine.Socket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.rooms[room]; r != nil {
		n.leaveLocked(r, s)
	}
}

// LeaveAll takes s out of every room it joined. Call it from the
// handler's OnClose: a closed connection leaves the server's groups by
// itself, but the node counts its members for presence and interest.
func (n *Node) LeaveAll(s engine.Socket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.socks[s]) > 0 {
		n.leaveLocked(n.socks[s][0], s)
	}
}

func (n *Node) leaveLocked(r *room, s engine.Socket) {
	if _, ok := r.members[s]; !ok {
		return
	}
	delete(r.members, s)
	r.local.Store(int64(len(r.members)))
	rs := n.socks[s]
	for i, x := range rs {
		if x == r {
			rs = append(rs[:i], rs[i+1:]...)
			break
		}
	}
	if len(rs) == 0 {
		delete(n.socks, s)
	} else {
		n.socks[s] = rs
	}
	r.group.Remove(s)
	if len(r.members) == 0 && r.sub != nil {
		if d, err := r.sub.Dropped(); err == nil {
			n.droppedBase += uint64(d)
		}
		_ = r.sub.Unsubscribe()
		r.sub = nil
	}
	n.poke()
}

// roomLocked returns the room, creating it. A room stays once created:
// its publishing sequence must never restart.
func (n *Node) roomLocked(name string) *room {
	r := n.rooms[name]
	if r == nil {
		r = &room{
			name:    name,
			subject: roomSubject(n.prefix, name),
			group:   n.groups(name),
			members: make(map[engine.Socket]struct{}),
			streams: make(map[uint64]uint64),
		}
		n.rooms[name] = r
		n.bySubject[r.subject] = r
	}
	return r
}

func (n *Node) room(name string) *room {
	n.mu.RLock()
	r := n.rooms[name]
	n.mu.RUnlock()
	if r != nil {
		return r
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.roomLocked(name)
}

// Publish sends a message to every member of room on every node. The
// node's own members get it at once, from this call, through the local
// group's Broadcast; the other nodes get it through NATS, which does not
// send it back to this node (NoEcho), so each member gets it once.
//
// Delivery to other nodes is at most once. While NATS is up, none is lost
// unless a receiving node is too slow (Options.PendingMsgs); during an
// outage the message waits in the outage buffer or, past it, is dropped:
// Publish then returns a *NotSentError and counts it in Stats.NotSent.
// Each message carries the next of this node's sequence numbers for the
// room, so a receiving node counts the ones it missed (Stats.Lost) and
// Options.Prepare can show them to clients.
//
// Messages one node publishes to a room arrive everywhere in the order
// Publish was called. payload is copied before Publish returns.
func (n *Node) Publish(room string, op engine.OpCode, payload []byte) error {
	if op != engine.OpText && op != engine.OpBinary {
		return ErrOpCode
	}
	r := n.room(room)
	r.pub.Lock()
	defer r.pub.Unlock()
	if n.isClosed() {
		return ErrClosed
	}
	r.seq++
	n.published.Add(1)
	if r.local.Load() > 0 {
		m := Message{Room: r.name, Origin: n.id, Seq: r.seq, Op: op, Payload: payload}
		r.group.Broadcast(n.prepare(&m))
	}
	r.buf = appendData(r.buf[:0], byte(op), n.id, r.seq, payload)
	if cap(r.buf) > 64<<10 && len(payload) < 4<<10 {
		defer func() { r.buf = nil }() // do not keep a large buffer for small messages
	}
	if err := n.nc.Publish(r.subject, r.buf); err != nil {
		n.notSent.Add(1)
		return &NotSentError{Err: err}
	}
	return nil
}

func (n *Node) isClosed() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.closed
}

// Flush waits until the NATS server has taken everything the node sent
// so far: its subscriptions (so a member that joined receives what other
// nodes publish from now on) and its messages.
func (n *Node) Flush(ctx context.Context) error {
	return n.nc.FlushWithContext(ctx)
}

// dispatch delivers the messages from other nodes, one at a time, in
// arrival order.
func (n *Node) dispatch() {
	defer n.wg.Done()
	var m Message
	for {
		select {
		case <-n.done:
			return
		case msg := <-n.ch:
			if !n.holdBack() {
				return
			}
			n.deliver(msg, &m)
		}
	}
}

// holdBack waits while the local server's backlog is over its bound;
// false when the node closed meanwhile.
func (n *Node) holdBack() bool {
	if n.backlog == nil || n.backlog() <= n.maxBack {
		return true
	}
	n.heldBack.Add(1)
	wait := 50 * time.Microsecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return false
		case <-t.C:
		}
		if n.backlog() <= n.maxBack {
			return true
		}
		wait = min(2*wait, 5*time.Millisecond)
		t.Reset(wait)
	}
}

func (n *Node) deliver(msg *nats.Msg, m *Message) {
	n.inbound.Add(1)
	op, origin, seq, payload, err := parseData(msg.Data)
	if err != nil || (engine.OpCode(op) != engine.OpText && engine.OpCode(op) != engine.OpBinary) {
		n.malformed.Add(1)
		return
	}
	n.mu.RLock()
	r := n.bySubject[msg.Subject]
	live := r != nil && msg.Sub != nil && r.sub == msg.Sub
	n.mu.RUnlock()
	if !live {
		// Queued before the room's last local member left.
		n.stale.Add(1)
		return
	}
	if r.streamSub != msg.Sub {
		r.streamSub = msg.Sub
		clear(r.streams)
	}
	if last, ok := r.streams[origin]; ok {
		if seq <= last {
			n.dups.Add(1)
			return
		}
		n.lost.Add(seq - last - 1)
	}
	r.streams[origin] = seq
	n.received.Add(1)
	*m = Message{Room: r.name, Origin: origin, Seq: seq, Op: engine.OpCode(op), Payload: payload}
	r.group.Broadcast(n.prepare(m))
	*m = Message{}
}

// Close leaves the cluster: it tells the other nodes that its members are
// gone, then closes the NATS connection (what is still in its outage
// buffer is lost). The local groups and their members stay as they are.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	close(n.done)
	n.wg.Wait()
	if n.nc.IsConnected() {
		_ = n.nc.Publish(n.presSubj, appendPresence(nil, kindLeaving, n.id, 0, n.name, nil))
		_ = n.nc.FlushTimeout(time.Second)
	}
	n.nc.Close()
	return nil
}

// kill stops the node as if its process died: no goodbye (for tests).
func (n *Node) kill() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.nc.Close()
	close(n.done)
	n.wg.Wait()
}

// poke asks the presence goroutine to announce soon.
func (n *Node) poke() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}
