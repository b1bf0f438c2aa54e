package reactor

import (
	"sync/atomic"

	"github.com/tachyonws/tachyon/engine"
)

// Group is a set of connections of one server that receive broadcasts
// together: a chat room, a topic. Membership changes and broadcasts are
// carried out on the connections' event loops, in the order they were
// made; a connection leaves its groups when it closes. All methods are
// safe from any goroutine.
type Group struct {
	srv     *Server
	name    string
	members []map[*conn]struct{} // per loop, touched only on that loop
	n       atomic.Int64
}

// Group returns the group of that name, creating it on first use.
func (s *Server) Group(name string) *Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		g = &Group{srv: s, name: name, members: make([]map[*conn]struct{}, s.nloops)}
		s.groups[name] = g
	}
	return g
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// Len returns the number of members (as of the last change carried out).
func (g *Group) Len() int { return int(g.n.Load()) }

// Add makes s a member. s must be a connection of the group's server
// (a Socket handed to its handler); other sockets are ignored.
func (g *Group) Add(s engine.Socket) {
	if c, ok := s.(*conn); ok && c.lp.srv == g.srv {
		c.lp.push(item{kind: itemJoin, c: c, group: g})
	}
}

// Remove takes s out of the group.
func (g *Group) Remove(s engine.Socket) {
	if c, ok := s.(*conn); ok && c.lp.srv == g.srv {
		c.lp.push(item{kind: itemLeave, c: c, group: g})
	}
}

// Broadcast sends a prepared message to every member. Its frame is
// encoded once and written as it is to each of them (server frames are
// not masked); members over their outbound limit are closed as slow
// readers. Broadcasts queued to a loop before it gets to them (those a
// handler makes for a burst of messages read in one wake-up, say) leave
// together, in order: each member gets all their frames in one write,
// unless a change of membership or another write was queued between them.
func (g *Group) Broadcast(p *engine.Prepared) {
	g.srv.eachLoop(func(lp *loop) { lp.push(item{kind: itemBroadcast, prep: p, group: g}) })
}

func (g *Group) join(lp *loop, c *conn) {
	if c.state == stateClosed || lp.idx >= len(g.members) {
		return
	}
	m := g.members[lp.idx]
	if m == nil {
		m = make(map[*conn]struct{})
		g.members[lp.idx] = m
	}
	if _, ok := m[c]; ok {
		return
	}
	m[c] = struct{}{}
	x := c.extra()
	x.groups = append(x.groups, g)
	g.n.Add(1)
}

func (g *Group) leave(lp *loop, c *conn) {
	if lp.idx >= len(g.members) {
		return
	}
	if _, ok := g.members[lp.idx][c]; !ok {
		return
	}
	delete(g.members[lp.idx], c)
	g.n.Add(-1)
	x := c.x
	for i, y := range x.groups {
		if y == g {
			last := len(x.groups) - 1
			x.groups[i] = x.groups[last]
			x.groups[last] = nil
			x.groups = x.groups[:last]
			break
		}
	}
}

// Broadcast sends a prepared message to every open connection, encoded
// once, consecutive broadcasts in one write per connection (see
// Group.Broadcast).
func (s *Server) Broadcast(p *engine.Prepared) {
	s.eachLoop(func(lp *loop) { lp.push(item{kind: itemBroadcast, prep: p}) })
}

// CloseAll starts the closing handshake with every open connection, with
// code and reason; connections still in their handshake are closed.
func (s *Server) CloseAll(code engine.StatusCode, reason string) {
	s.eachLoop(func(lp *loop) { lp.push(item{kind: itemCloseAll, code: code, reason: reason}) })
}
