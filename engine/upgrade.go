package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Refusals of the Upgrader itself, answered with 503 and "Retry-After: 1".
var (
	// ErrTooManyConns refuses an upgrade past Upgrader.MaxConns.
	ErrTooManyConns = &HandshakeError{503, "too many connections"}
	// ErrShuttingDown refuses an upgrade once Upgrader.Shutdown has begun.
	ErrShuttingDown = &HandshakeError{503, "server shutting down"}
)

// connReserve is what MaxConns leaves of the process's open-file limit by
// default, for listeners, plain HTTP requests and files.
const connReserve = 256

// Upgrader turns a net/http request into a WebSocket connection, for any
// net/http server and router (http.ServeMux and the common ones alike): it
// runs the same handshake checks as the event-loop server (ServerHandshake),
// hijacks the connection and hands it to a NetConn. The zero value accepts
// same-origin requests with no subprotocol, default limits, liveness checks
// and budget. Set the fields before the first Upgrade; an Upgrader must not
// be copied after it.
//
// # Connections
//
// The Upgrader keeps track of the connections it upgraded, from Upgrade
// until their Serve returns: Serve must be called on every NetConn it
// returns (one that is never served stays counted until Shutdown). Len
// counts them, MaxConns bounds them, and Shutdown closes them: net/http's
// Server.Shutdown does not know hijacked connections, so a graceful stop
// calls both, the server's first:
//
//	_ = srv.Shutdown(ctx) // stop accepting, finish plain HTTP requests
//	_ = up.Shutdown(ctx)  // 1001 to every WebSocket client, wait for them
//
// # Liveness
//
// One housekeeping goroutine per Upgrader (running while it has
// connections) enforces Liveness on all of them: a ping after PingInterval
// of silence, 1001 "read timeout" after ReadTimeout of silence, 1001 "idle"
// after IdleTimeout without data messages, 1008 "message timeout" for a
// message that takes longer than MessageTimeout to arrive; a connection
// that does not finish its closing handshake within CloseTimeout is
// dropped. The protocol work is done on each connection's Serve goroutine:
// the housekeeper only interrupts its read. Accepted TCP sockets get
// keepalive probes every Liveness.TCPKeepAlive.
//
// # What net/http decides before the Upgrader sees the request
//
// The Upgrader sees the request as net/http parsed it, which differs from
// the event-loop server's view of the raw bytes in three ways:
//
//   - Size: the header block is measured as the Upgrader rebuilds it from
//     the parsed request, against Handshake.MaxHeaderBytes (8 KiB by
//     default): over it, 431. net/http first applies its own limit,
//     http.Server.MaxHeaderBytes (1 MiB by default; it answers 431 itself):
//     set it to engine.DefaultMaxHeaderBytes so that net/http does not read
//     and hold more than the Upgrader will accept.
//   - Line folding: net/textproto joins an obs-fold continuation line (a
//     header line starting with a space or a tab) to the previous line with
//     a space, so the Upgrader cannot see it and cannot refuse it with 400
//     as the event-loop server does (RFC 9112 section 5.2 lets a server
//     replace the fold with spaces instead, which is what net/http does).
//   - Slow handshakes: when http.Server.ReadHeaderTimeout (or ReadTimeout)
//     passes before the request's header block is complete, net/http closes
//     the connection without answering (a timeout is, in net/http's
//     server.go, a "common net read error": "don't reply"). It has no hook
//     to answer 408 Request Timeout instead, so behind net/http a slowloris
//     client is cut off at ReadHeaderTimeout but gets no 408, where the
//     event-loop server answers 408. Set ReadHeaderTimeout: without it a
//     slow client may hold its connection forever.
type Upgrader struct {
	// Handshake holds the checks and negotiation: subprotocols, the origin
	// check (same-origin by default), the extension hook, compression
	// (Handshake.Compression turns on permessage-deflate, off by default;
	// see ServerHandshake.Compression and Compression for its memory and
	// CPU cost), the application's Accept hook and the header size limit.
	Handshake ServerHandshake
	// Config holds the connection's limits. Its Budget is set from the
	// Upgrader's Budget when it is nil.
	Config Config
	// Liveness holds the heartbeat and time limits of the upgraded
	// connections: a zero field means its default, a negative one turns
	// that check off (see Liveness).
	Liveness Liveness
	// Budget bounds the bytes of messages being assembled across all the
	// Upgrader's connections (see Budget); nil means Config.Budget, or
	// DefaultBudget() when that is nil too.
	Budget *Budget
	// MaxConns bounds the connections open at once: an upgrade past it is
	// refused with 503 and "Retry-After: 1" (ErrTooManyConns). Zero means
	// the process's open-file limit minus 256 (unbounded where no limit is
	// known); negative means no bound.
	MaxConns int
	// CloseTimeout bounds the wait for the peer's close after ours (a
	// timeout, Shutdown, or the application's Close): the transport is
	// dropped after it. Zero means DefaultCloseTimeout.
	CloseTimeout time.Duration

	// CheckOrigin, when set, decides on the request's origin with the
	// *http.Request in hand, instead of Handshake.CheckOrigin: false
	// refuses it with 403 (ErrForbiddenOrigin).
	CheckOrigin func(r *http.Request) bool
	// Accept, when set, is the application's say on a request that passed
	// the other checks, with the *http.Request in hand, instead of
	// Handshake.Accept (see ServerHandshake.Accept for what it returns).
	Accept func(r *http.Request) (header [][2]string, err error)

	mu        sync.Mutex
	conns     map[*NetConn]struct{}
	upgrading int           // hijacks under way, counted against MaxConns
	closing   bool          // Shutdown has begun
	drained   chan struct{} // closed when closing and no connection is left
	running   bool          // the housekeeper runs
	ready     bool          // live, tick and maxConns are set
	live      Liveness      // resolved
	tick      time.Duration
	closeTO   time.Duration
	maxConns  int // 0: none
	clock     atomic.Int64
}

// Upgrade answers the request. When the handshake is refused it writes the
// HTTP error (400, 403, 405, 426 with Sec-WebSocket-Version: 13, 431, 503
// with Retry-After, ...) through w and returns the error (a
// *HandshakeError, or what the Accept hook returned); the caller just
// returns. On success it hijacks the connection, writes the 101 response
// and returns the NetConn, ready for Serve, which must be called (typically
// right away, on the handler's goroutine). With a nil h the NetConn is in
// pull mode instead: read it with Next until it ends (tachyon.Accept does).
//
// A request that announces a body (Content-Length other than 0, any
// Transfer-Encoding) is refused with 400 (ErrRequestBody).
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, h Handler) (*NetConn, error) {
	// net/http moves Transfer-Encoding out of the header map and parses
	// Content-Length: the parsed request says whether a body comes.
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		refuse(w, ErrRequestBody)
		return nil, ErrRequestBody
	}
	// The request as it came on the wire, for the one parser and checker the
	// reactor uses too, with its limits: net/http has applied its own
	// (MaxHeaderBytes, 1 MiB by default), the engine's still applies. This
	// copy happens once per connection.
	raw := make([]byte, 0, 512)
	raw = append(raw, r.Method...)
	raw = append(raw, ' ')
	raw = append(raw, r.RequestURI...)
	raw = append(raw, " HTTP/"...)
	raw = strconv.AppendInt(raw, int64(r.ProtoMajor), 10)
	raw = append(raw, '.')
	raw = strconv.AppendInt(raw, int64(r.ProtoMinor), 10)
	raw = append(raw, "\r\nHost: "...)
	raw = append(raw, r.Host...)
	raw = append(raw, "\r\n"...)
	for name, values := range r.Header {
		for _, v := range values {
			raw = append(raw, name...)
			raw = append(raw, ": "...)
			raw = append(raw, v...)
			raw = append(raw, "\r\n"...)
		}
	}
	raw = append(raw, "\r\n"...)

	var req Request
	hs := &u.Handshake
	if u.Config.Stream && hs.Compression != nil {
		plain := *hs
		plain.Compression = nil
		hs = &plain
	}
	if u.CheckOrigin != nil || u.Accept != nil {
		local := *hs
		if u.CheckOrigin != nil {
			local.CheckOrigin = func(*Request) bool { return u.CheckOrigin(r) }
		}
		if u.Accept != nil {
			local.Accept = func(*Request) ([][2]string, error) { return u.Accept(r) }
		}
		hs = &local
	}
	resp, n, protocol, err := hs.Handshake(nil, raw, &req)
	if err == nil && n == 0 {
		err = &HandshakeError{Status: http.StatusBadRequest, Msg: "incomplete request"}
	}
	if err != nil {
		refuse(w, err)
		return nil, err
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket: connection cannot be hijacked", http.StatusInternalServerError)
		return nil, errors.New("engine: Upgrade: the ResponseWriter does not implement http.Hijacker")
	}
	if err := u.reserve(); err != nil {
		refuse(w, err)
		return nil, err
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		u.unreserve()
		return nil, err
	}
	// Bytes the client sent after its request and net/http already read.
	var leftover []byte
	if k := brw.Reader.Buffered(); k > 0 {
		leftover, _ = brw.Reader.Peek(k)
	}
	cfg := u.Config
	cfg.Deflate = req.Deflate()
	switch {
	case u.Budget != nil:
		cfg.Budget = u.Budget
	case cfg.Budget == nil:
		cfg.Budget = DefaultBudget()
	}
	c := newNetConn(conn, RoleServer, h, cfg, string(protocol), leftover)
	c.CloseTimeout = u.closeTO
	if ka := u.live.TCPKeepAlive; ka > 0 {
		setKeepAlive(conn, ka)
	}
	u.track(c)
	if _, err := conn.Write(resp); err != nil {
		u.untrack(c)
		conn.Close()
		return nil, err
	}
	return c, nil
}

// refuse writes the HTTP answer to a refused upgrade.
func refuse(w http.ResponseWriter, err error) {
	status := HTTPStatus(err)
	if status == 0 {
		status = http.StatusForbidden
	}
	switch status {
	case http.StatusUpgradeRequired:
		w.Header().Set("Sec-WebSocket-Version", "13")
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", "GET") // RFC 9110 section 15.5.6: a 405 MUST list the allowed methods
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	msg := http.StatusText(status)
	var he *HandshakeError
	if errors.As(err, &he) {
		msg = he.Msg
	}
	http.Error(w, msg, status)
}

// setKeepAlive turns on TCP keepalive probes on a TCP socket (under TLS
// too); other transports are left alone.
func setKeepAlive(conn net.Conn, period time.Duration) {
	if u, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = u.NetConn()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(period)
	}
}

// setup resolves the options, once. u.mu is held.
func (u *Upgrader) setup() {
	if u.ready {
		return
	}
	u.ready = true
	u.live = u.Liveness.Resolved()
	u.closeTO = u.CloseTimeout
	if u.closeTO <= 0 {
		u.closeTO = DefaultCloseTimeout
	}
	u.tick = u.live.Tick(u.closeTO)
	switch {
	case u.MaxConns > 0:
		u.maxConns = u.MaxConns
	case u.MaxConns == 0:
		if l := fdLimit(); l > 0 {
			u.maxConns = max(l-connReserve, l/2)
		}
	}
	u.conns = make(map[*NetConn]struct{})
}

// reserve counts an upgrade about to hijack, or refuses it (503).
func (u *Upgrader) reserve() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.setup()
	switch {
	case u.closing:
		return ErrShuttingDown
	case u.maxConns > 0 && len(u.conns)+u.upgrading >= u.maxConns:
		return ErrTooManyConns
	}
	u.upgrading++
	return nil
}

// unreserve forgets an upgrade that failed before its NetConn existed.
func (u *Upgrader) unreserve() {
	u.mu.Lock()
	u.upgrading--
	u.drainedLocked()
	u.mu.Unlock()
}

// track adds an upgraded connection (reserved before) and starts the
// housekeeper with the first one. A connection upgraded while Shutdown
// runs is asked to go away at once.
func (u *Upgrader) track(c *NetConn) {
	now := time.Now().UnixNano()
	u.mu.Lock()
	defer u.mu.Unlock()
	u.upgrading--
	u.clock.Store(now)
	c.up, c.clock, c.idleOn = u, &u.clock, u.live.IdleTimeout > 0
	c.seen.Store(now)
	c.lastData.Store(now)
	c.lastPing = now
	u.conns[c] = struct{}{}
	if u.closing {
		c.ask(wakeGoingAway, now+int64(u.closeTO))
	}
	if !u.running {
		u.running = true
		go u.housekeep()
	}
}

// untrack forgets a connection whose Serve returned (or whose 101 could
// not be written).
func (u *Upgrader) untrack(c *NetConn) {
	u.mu.Lock()
	delete(u.conns, c)
	u.drainedLocked()
	u.mu.Unlock()
}

// drainedLocked tells a waiting Shutdown that no connection is left.
// u.mu is held.
func (u *Upgrader) drainedLocked() {
	if u.closing && len(u.conns) == 0 && u.upgrading == 0 && u.drained != nil {
		close(u.drained)
		u.drained = nil
	}
}

// Len returns how many upgraded connections are open (from Upgrade until
// their Serve returns).
func (u *Upgrader) Len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.conns)
}

// Shutdown closes every connection gracefully: from its call on, upgrades
// are refused with 503 (ErrShuttingDown); each open connection is sent a
// close 1001 "going away" (by its Serve goroutine, after the handler
// call under way, if any); then Shutdown waits until every Serve has
// returned or ctx ends. Connections that do not finish their closing
// handshake within CloseTimeout are dropped meanwhile; when ctx ends first,
// the transports still open are closed and Shutdown returns ctx.Err().
// It returns nil once no connection is left. The Upgrader cannot be used
// again afterwards.
//
// Call it after http.Server.Shutdown, which does not wait for hijacked
// connections (nor close them).
func (u *Upgrader) Shutdown(ctx context.Context) error {
	u.mu.Lock()
	u.setup()
	u.closing = true
	if u.drained == nil {
		u.drained = make(chan struct{})
	}
	drained := u.drained
	list := make([]*NetConn, 0, len(u.conns))
	for c := range u.conns {
		list = append(list, c)
	}
	u.drainedLocked()
	closeBy := time.Now().Add(u.closeTO).UnixNano()
	u.mu.Unlock()

	for _, c := range list {
		c.ask(wakeGoingAway, closeBy)
	}
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
	}
	u.mu.Lock()
	for c := range u.conns {
		c.drop()
	}
	clear(u.conns) // forgotten: the housekeeper stops at its next tick
	u.mu.Unlock()
	return ctx.Err()
}

// housekeep enforces Liveness and close timeouts on every connection, at
// every tick, while there are connections.
//
// The stamps the Serve goroutines take are the clock published at the
// last tick, so a stamp is at most a tick older than the read. When the
// housekeeper itself ran late (a busy machine), a stamp of the epoch that
// stalled may be much older than its read: such stamps are moved to the
// end of that epoch, on this tick and the next (a Serve goroutine may store
// one a moment after the first pass), so that no connection is timed out
// or pinged for the housekeeper's delay.
func (u *Upgrader) housekeep() {
	t := time.NewTicker(u.tick)
	defer t.Stop()
	var list []*NetConn
	var stallFrom, stallTo int64
	for range t.C {
		now := time.Now().UnixNano()
		prev := u.clock.Swap(now)
		from, to := stallFrom, stallTo
		stallFrom, stallTo = 0, 0
		if now-prev > 2*int64(u.tick) {
			from, to = prev, now
			stallFrom, stallTo = prev, now
		}
		u.mu.Lock()
		if len(u.conns) == 0 {
			u.running = false
			u.mu.Unlock()
			return
		}
		for c := range u.conns {
			list = append(list, c)
		}
		u.mu.Unlock()
		for _, c := range list {
			if from != 0 {
				c.seen.CompareAndSwap(from, to)
				c.lastData.CompareAndSwap(from, to)
				c.msgSince.CompareAndSwap(from, to)
			}
			c.check(now, &u.live, int64(u.closeTO))
		}
		clear(list)
		list = list[:0]
	}
}

// check applies the limits to one connection at time now; it runs on the
// housekeeper and never blocks.
func (c *NetConn) check(now int64, l *Liveness, closeTimeout int64) {
	if by := c.closeBy.Load(); by != 0 {
		if now > by {
			c.drop()
			if c.pull != nil {
				// In pull mode nobody may be reading to see the drop:
				// the connection is let go here (once).
				c.finishPull()
			}
		}
		return
	}
	seen := c.seen.Load()
	since := c.msgSince.Load()
	switch {
	case l.ReadTimeout > 0 && now-seen > int64(l.ReadTimeout):
		c.ask(wakeReadTimeout, now+closeTimeout)
	case l.IdleTimeout > 0 && now-c.lastData.Load() > int64(l.IdleTimeout):
		c.ask(wakeIdle, now+closeTimeout)
	case l.MessageTimeout > 0 && since != 0 && now-since > int64(l.MessageTimeout):
		c.ask(wakeMessageTimeout, now+closeTimeout)
	case l.PingInterval > 0 && now-max(seen, c.lastPing) >= int64(l.PingInterval):
		c.lastPing = now
		c.ask(wakePing, 0)
	}
}
