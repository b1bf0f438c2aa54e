package cluster

import (
	"cmp"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
)

// peer is another node as its presence messages describe it.
type peer struct {
	name    string
	rooms   map[string]int
	expires time.Time
}

// Member is one node's share of a room's members.
type Member struct {
	// Node and ID identify the node (Options.Name, Node.ID).
	Node string
	ID   uint64
	// Members is the number of the room's members on that node.
	Members int
}

// NodeInfo is a live node of the cluster.
type NodeInfo struct {
	// Name and ID identify the node (Options.Name, Node.ID).
	Name string
	ID   uint64
	// Rooms is the number of rooms with members on the node.
	Rooms int
	// Self is true for the node Nodes was called on.
	Self bool
}

// Presence returns the members of room across the cluster, per node with
// members there (this one and the other live nodes), by name. A node's count is as of its last announcement:
// nodes announce a change within a few milliseconds and everything every
// Options.PresenceInterval; a node that left with Close stops counting as
// soon as its goodbye arrives, one that died or lost NATS once its
// PresenceTTL has passed without news. While this node is cut off from
// NATS, the others expire in the same way.
func (n *Node) Presence(room string) []Member {
	var out []Member
	n.mu.RLock()
	if r := n.rooms[room]; r != nil && len(r.members) > 0 {
		out = append(out, Member{Node: n.name, ID: n.id, Members: len(r.members)})
	}
	n.mu.RUnlock()
	now := time.Now()
	n.pmu.Lock()
	for id, p := range n.peers {
		if c := p.rooms[room]; c > 0 && now.Before(p.expires) {
			out = append(out, Member{Node: p.name, ID: id, Members: c})
		}
	}
	n.pmu.Unlock()
	slices.SortFunc(out, func(a, b Member) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Count returns the members of room across the cluster (see Presence).
func (n *Node) Count(room string) int {
	c := 0
	for _, m := range n.Presence(room) {
		c += m.Members
	}
	return c
}

// Nodes returns the live nodes of the cluster, this one first, then the
// others by name (see Presence for when a node stops being live).
func (n *Node) Nodes() []NodeInfo {
	n.mu.RLock()
	self := NodeInfo{Name: n.name, ID: n.id, Self: true}
	for _, r := range n.rooms {
		if len(r.members) > 0 {
			self.Rooms++
		}
	}
	n.mu.RUnlock()
	out := []NodeInfo{self}
	now := time.Now()
	n.pmu.Lock()
	for id, p := range n.peers {
		if now.Before(p.expires) {
			out = append(out, NodeInfo{Name: p.name, ID: id, Rooms: len(p.rooms)})
		}
	}
	n.pmu.Unlock()
	slices.SortFunc(out[1:], func(a, b NodeInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// presenceDelay gathers the changes of a burst of joins into one
// announcement.
const presenceDelay = 20 * time.Millisecond

// announce sends the node's presence every interval and shortly after a
// change, and forgets the peers whose TTL has passed.
func (n *Node) announce() {
	defer n.wg.Done()
	tick := time.NewTicker(n.interval)
	defer tick.Stop()
	var buf []byte
	var rooms []roomCount
	for {
		select {
		case <-n.done:
			return
		case <-tick.C:
		case <-n.changed:
			select {
			case <-n.done:
				return
			case <-time.After(presenceDelay):
			}
			// A change during the delay is in this announcement.
			select {
			case <-n.changed:
			default:
			}
		}
		rooms = rooms[:0]
		n.mu.RLock()
		for _, r := range n.rooms {
			if len(r.members) > 0 {
				rooms = append(rooms, roomCount{room: r.name, n: len(r.members)})
			}
		}
		n.mu.RUnlock()
		buf = appendPresence(buf[:0], kindAlive, n.id, uint64(n.ttl/time.Millisecond), n.name, rooms)
		if n.nc.IsConnected() { // not into the outage buffer: the announcement after the reconnection says it all
			_ = n.nc.Publish(n.presSubj, buf)
		}
		if len(buf) > 1<<20 {
			buf = nil
		}
		n.expire(time.Now())
	}
}

// expire forgets the peers not heard from within their TTL.
func (n *Node) expire(now time.Time) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	for id, p := range n.peers {
		if !now.Before(p.expires) {
			delete(n.peers, id)
		}
	}
}

// onPresence records another node's announcement (on the NATS client's
// goroutine for the presence subscription).
func (n *Node) onPresence(msg *nats.Msg) {
	p, err := parsePresence(msg.Data)
	if err != nil || p.id == n.id {
		n.malformed.Add(1)
		return
	}
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if p.kind == kindLeaving {
		delete(n.peers, p.id)
		return
	}
	ttl := time.Duration(p.ttlMS) * time.Millisecond
	if ttl <= 0 || ttl > time.Hour {
		ttl = 3 * DefaultPresenceInterval
	}
	n.peers[p.id] = &peer{name: p.name, rooms: p.rooms, expires: time.Now().Add(ttl)}
}
