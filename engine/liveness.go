package engine

import "time"

// Liveness defaults: what a zero Liveness field means.
const (
	DefaultPingInterval   = 30 * time.Second
	DefaultReadTimeout    = 75 * time.Second
	DefaultMessageTimeout = 60 * time.Second
	DefaultTCPKeepAlive   = 30 * time.Second
)

// Liveness holds the heartbeat and time limits of established connections,
// one set for both drivers: the event-loop server (reactor.Options) and the
// net/http driver (Upgrader). A zero field means its default, a negative one
// turns that check off. Time limits are checked on a periodic tick (about a
// tenth of the shortest one, at least 10 ms), so they are exact to a tick.
type Liveness struct {
	// PingInterval: a connection that has received nothing for this long
	// is sent a ping (a busy connection never is, so test suites see no
	// unexpected pings). Default 30 s.
	PingInterval time.Duration
	// ReadTimeout closes a connection (1001 "read timeout") that has
	// received nothing at all, not even a pong, for this long: a half-open
	// peer (its host gone, its process stopped) is closed within it. Keep
	// it above PingInterval so that live peers answer in time. Default 75 s.
	ReadTimeout time.Duration
	// IdleTimeout closes a connection (1001 "idle") that has neither
	// received nor sent a data message for this long; pings and pongs do
	// not count. Default: off.
	IdleTimeout time.Duration
	// MessageTimeout bounds the time from the first byte of a message (or
	// of a frame) to its last: a peer that starts a message and trickles or
	// stops is closed (1008 "message timeout"), so no one holds an
	// unfinished message, and the memory reserved for it, for long.
	// Default 60 s.
	MessageTimeout time.Duration
	// TCPKeepAlive is the TCP keepalive period of accepted sockets, so the
	// kernel notices dead peers even on a connection that sends nothing.
	// Default 30 s.
	TCPKeepAlive time.Duration
}

// Resolved returns l with the defaults filled in and the switched-off checks
// (negative) as 0: each field of the result is a duration to enforce, or 0
// for none.
func (l Liveness) Resolved() Liveness {
	pick := func(v, def time.Duration) time.Duration {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return def
		}
		return v
	}
	return Liveness{
		PingInterval:   pick(l.PingInterval, DefaultPingInterval),
		ReadTimeout:    pick(l.ReadTimeout, DefaultReadTimeout),
		IdleTimeout:    pick(l.IdleTimeout, 0),
		MessageTimeout: pick(l.MessageTimeout, DefaultMessageTimeout),
		TCPKeepAlive:   pick(l.TCPKeepAlive, DefaultTCPKeepAlive),
	}
}

// Tick returns the period at which a driver checks these limits: a tenth
// of the shortest of them and of extra (other timeouts the driver keeps),
// between 10 ms and 500 ms. l must be resolved.
func (l Liveness) Tick(extra ...time.Duration) time.Duration {
	shortest := time.Duration(0)
	for _, d := range append([]time.Duration{l.PingInterval, l.ReadTimeout, l.IdleTimeout, l.MessageTimeout}, extra...) {
		if d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	if shortest == 0 {
		return 500 * time.Millisecond
	}
	return min(max(shortest/10, 10*time.Millisecond), 500*time.Millisecond)
}

// ErrMessageTimeout fails a connection whose message (or frame) took
// longer than Liveness.MessageTimeout to arrive: 1008, "message timeout".
var ErrMessageTimeout = &ProtocolError{StatusPolicyViolation, "message timeout"}
