package reactor

import (
	"expvar"
	"sync"
	"sync/atomic"

	"github.com/tachyonws/tachyon/engine"
)

// Stats is a snapshot of a server's counters, since it started.
type Stats struct {
	// Connections is the number of TCP connections open now: WebSocket
	// connections, and those still handshaking or asking Fallback.
	Connections int64
	// WebSockets is the number of upgraded connections open now: those
	// that completed the handshake (Upgrades) and have not ended yet.
	WebSockets int64
	// Upgrades counts completed handshakes.
	Upgrades uint64
	// HandshakeFailures counts refused handshakes by HTTP status (408 for
	// a handshake timeout).
	HandshakeFailures map[int]uint64
	// Fallbacks counts requests answered by Options.Fallback.
	Fallbacks uint64
	// Refused counts connections turned away at Options.MaxConns.
	Refused uint64
	// MessagesIn and MessagesOut count data messages received and sent
	// (a broadcast counts once per receiver).
	MessagesIn, MessagesOut uint64
	// BytesIn and BytesOut count every byte read from and written to
	// sockets, both counted the same way: frames, handshakes and their
	// refusals, and the requests and answers of Fallback.
	BytesIn, BytesOut uint64
	// Closes counts ended connections by close code: the peer's code,
	// the code a protocol error failed them with, 1005 for a close
	// without code, 1006 when the transport dropped.
	Closes map[engine.StatusCode]uint64
	// SlowClosed counts peers given up as slow readers (see
	// Options.MaxOutbound): 1008 "slow reader" or "too many pings".
	SlowClosed uint64
	// BudgetUsed and BudgetLimit are the inbound budget's bytes reserved
	// now and its limit (see Options.Budget; a budget may be shared with
	// other servers of the process); BudgetDenied counts the reservations
	// it refused, each a connection closed with 1008.
	BudgetUsed, BudgetLimit int64
	BudgetDenied            uint64
}

type serverStats struct {
	upgrades, refused, slow, fallbacks atomic.Uint64

	mu     sync.Mutex
	hsFail map[int]uint64
	closes map[engine.StatusCode]uint64
}

func (st *serverStats) handshakeFailed(status int) {
	st.mu.Lock()
	if st.hsFail == nil {
		st.hsFail = make(map[int]uint64)
	}
	st.hsFail[status]++
	st.mu.Unlock()
}

func (st *serverStats) closed(code engine.StatusCode) {
	st.mu.Lock()
	if st.closes == nil {
		st.closes = make(map[engine.StatusCode]uint64)
	}
	st.closes[code]++
	st.mu.Unlock()
}

// Stats returns a snapshot of the server's counters. Message and byte
// counts are added per wake-up of a loop, so they may lag by one.
func (s *Server) Stats() Stats {
	st := Stats{
		Connections:       s.open.Load(),
		Upgrades:          s.st.upgrades.Load(),
		Fallbacks:         s.st.fallbacks.Load(),
		Refused:           s.st.refused.Load(),
		SlowClosed:        s.st.slow.Load(),
		BudgetUsed:        s.budget.Used(),
		BudgetLimit:       s.budget.Limit(),
		BudgetDenied:      s.budget.Denied(),
		HandshakeFailures: map[int]uint64{},
		Closes:            map[engine.StatusCode]uint64{},
	}
	s.eachLoop(func(lp *loop) {
		st.MessagesIn += lp.msgsIn.Load()
		st.MessagesOut += lp.msgsOut.Load()
		st.BytesIn += lp.bytesIn.Load()
		st.BytesOut += lp.bytesOut.Load()
	})
	s.st.mu.Lock()
	for k, v := range s.st.hsFail {
		st.HandshakeFailures[k] = v
	}
	var ended uint64
	for k, v := range s.st.closes {
		st.Closes[k] = v
		ended += v
	}
	s.st.mu.Unlock()
	// Every upgraded connection ends with exactly one close (OnClose).
	st.WebSockets = max(int64(st.Upgrades)-int64(ended), 0)
	return st
}

// PublishExpvar publishes the server's Stats under name in expvar
// (served at /debug/vars by net/http's default mux once expvar is
// imported). Like expvar.Publish, it panics if name is already taken.
func (s *Server) PublishExpvar(name string) {
	expvar.Publish(name, expvar.Func(func() any { return s.Stats() }))
}
