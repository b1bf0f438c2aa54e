package cluster

import (
	"sync"

	"github.com/tachyonws/tachyon/engine"
)

// DefaultSocketQueue is the frames a member of a Sockets group may have
// waiting.
const DefaultSocketQueue = 256

// preparedWriter is a socket that writes a prepared frame as it is, such
// as the net/http driver's *engine.NetConn.
type preparedWriter interface {
	WritePrepared(p *engine.Prepared) error
}

// Sockets returns groups for the connections of the net/http driver
// (engine.Upgrader's *engine.NetConn), for Options.Groups: the same room
// API as an event-loop server's. Its writes block, so each member of a
// group has a goroutine that writes the room's frames in order, with up
// to queue frames waiting (0 means DefaultSocketQueue); a member whose
// queue is full is closed with 1008 "slow reader" and leaves the group,
// so a slow peer holds neither the room nor more than its queue. Sockets
// that cannot write a prepared frame are not taken in.
func Sockets(queue int) func(room string) Group {
	if queue <= 0 {
		queue = DefaultSocketQueue
	}
	return func(string) Group {
		return &socketGroup{queue: queue, members: make(map[engine.Socket]chan *engine.Prepared)}
	}
}

type socketGroup struct {
	queue   int
	mu      sync.Mutex
	members map[engine.Socket]chan *engine.Prepared
}

func (g *socketGroup) Add(s engine.Socket) {
	w, ok := s.(preparedWriter)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.members[s]; ok {
		return
	}
	ch := make(chan *engine.Prepared, g.queue)
	g.members[s] = ch
	go func() {
		for p := range ch {
			if w.WritePrepared(p) != nil {
				for range ch { // the connection ended: drop the rest until Remove
				}
				return
			}
		}
	}()
}

func (g *socketGroup) Remove(s engine.Socket) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.members[s]; ok {
		delete(g.members, s)
		close(ch)
	}
}

func (g *socketGroup) Broadcast(p *engine.Prepared) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s, ch := range g.members {
		select {
		case ch <- p:
		default:
			delete(g.members, s)
			close(ch)
			go func() { _ = s.Close(engine.StatusPolicyViolation, "slow reader") }()
		}
	}
}
