package reactor

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tachyonws/tachyon/engine"
)

// ErrServerClosed is returned by Wait and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("reactor: server closed")

// Server is a WebSocket server on gnet event loops. Start it with Start
// (returns once it listens) or ListenAndServe (blocks); stop it with
// Shutdown. Several servers may run in one process. All its methods are
// safe to call from any goroutine.
type Server struct {
	opts      Options
	addr      net.Addr
	maxConns  int64
	tick      time.Duration
	live      engine.Liveness // resolved: 0 is off
	budget    *engine.Budget
	hardOut   int   // the most a connection's backlog may reach: MaxOutbound + the largest message
	hardIn    int   // the most input kept waiting for a stalled peer: the largest message + a read
	hsTimeout int64 // nanoseconds
	clTimeout int64

	eng   gnet.Engine
	ready chan struct{}
	done  chan struct{} // closed when gnet.Run returned
	err   error         // what gnet.Run returned

	mu       sync.Mutex
	loops    []*loop
	loopOf   map[gnet.EventLoop]*loop
	nloops   int
	groups   map[string]*Group
	shutting atomic.Bool
	started  atomic.Bool
	readyOne sync.Once

	open    atomic.Int64 // connections open, handshaking ones included
	waiting atomic.Int64 // input bytes waiting for stalled peers to read (conn.setPaused)
	workers *workerPool
	st      serverStats
}

// New returns a server with the given options, not yet listening: create
// its groups, then call Start or ListenAndServe. It panics if neither
// Options.Handler nor Options.Route is set.
func New(opts Options) *Server {
	if opts.Handler == nil && opts.Route == nil {
		panic("reactor.New: Options.Handler or Options.Route must be set")
	}
	s := &Server{
		opts:   opts,
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		loopOf: make(map[gnet.EventLoop]*loop),
		groups: make(map[string]*Group),
	}
	s.applyDefaults()
	return s
}

// Start listens on addr and serves in the background (see Server.Start).
func Start(addr string, opts Options) (*Server, error) {
	if opts.Handler == nil && opts.Route == nil {
		return nil, errors.New("reactor.Start: Options.Handler or Options.Route must be set")
	}
	s := New(opts)
	if err := s.Start(addr); err != nil {
		return nil, err
	}
	return s, nil
}

// Start listens on addr and serves in the background; it returns once the
// server is listening. addr is "host:port" (TCP; port 0 picks a free port,
// see Addr) or "unix:///absolute/path" (a Unix socket; any file at that
// path is removed first). A server starts once.
func (s *Server) Start(addr string) error {
	if s.started.Swap(true) {
		return errors.New("reactor: Server.Start called twice")
	}
	if s.shutting.Load() {
		s.err = ErrServerClosed
		close(s.done)
		return ErrServerClosed
	}
	protoAddr, placeholder, err := s.resolve(addr)
	if err != nil {
		s.err = err
		close(s.done)
		return err
	}
	if s.opts.Workers > 0 {
		s.workers = newWorkerPool(s.opts.Workers)
	}
	logger := gnetLogger{s.opts.ErrorLog}
	gopts := []gnet.Option{
		gnet.WithNumEventLoop(s.nloops),
		gnet.WithReusePort(strings.HasPrefix(protoAddr, "tcp")),
		// SO_REUSEADDR on the listeners, and so on the connections
		// accepted from them: the connections a server closes first wait
		// in TIME_WAIT, which would otherwise keep the next server (ours,
		// or any that sets SO_REUSEADDR, as Go's net.Listen does) from
		// binding the port for a minute after Shutdown.
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithEdgeTriggeredIO(s.opts.EdgeTriggered),
		gnet.WithTicker(true),
		gnet.WithTCPKeepAlive(s.live.TCPKeepAlive),
		gnet.WithLogger(logger),
	}
	if s.opts.ReadBufferCap > 0 {
		gopts = append(gopts, gnet.WithReadBufferCap(s.opts.ReadBufferCap))
	}
	if s.opts.SendBuffer > 0 {
		gopts = append(gopts, gnet.WithSocketSendBuffer(s.opts.SendBuffer))
	}
	if s.opts.EdgeTriggered {
		// At most two reads of the loop's read buffer per connection per
		// wake-up: a connection with more to read is served again after
		// the others, so a flooding peer cannot hold its loop. (One read
		// cost a third of the throughput at 16 × 4 KiB in flight, which
		// is just over one buffer: every wake-up then ended in gnet's
		// re-queueing.)
		gopts = append(gopts, gnet.WithEdgeTriggeredIOChunk(2*s.readChunk()))
	}
	go func() {
		s.err = gnet.Run((*handler)(s), protoAddr, gopts...)
		if s.workers != nil {
			s.workers.stop()
		}
		close(s.done)
	}()
	select {
	case <-s.ready:
	case <-s.done:
		if placeholder != nil {
			placeholder.Close()
		}
		if s.err == nil {
			s.err = errors.New("reactor: the engine stopped while starting")
		}
		return s.err
	}
	if placeholder != nil {
		placeholder.Close()
	}
	return nil
}

// ListenAndServe starts a server on addr (see Start) and blocks until it
// is shut down; it then returns ErrServerClosed, or the error that kept it
// from starting.
func ListenAndServe(addr string, opts Options) error {
	s, err := Start(addr, opts)
	if err != nil {
		return err
	}
	return s.Wait()
}

// ListenAndServe starts the server on addr (see Start) and blocks until
// it is shut down.
func (s *Server) ListenAndServe(addr string) error {
	if err := s.Start(addr); err != nil {
		return err
	}
	return s.Wait()
}

// Wait blocks until the server, once started, has stopped and returns ErrServerClosed, or
// the engine's error if it stopped on its own.
func (s *Server) Wait() error {
	<-s.done
	if s.err != nil {
		return s.err
	}
	return ErrServerClosed
}

// Addr returns the address the server listens on; with port 0, the port
// that was picked.
func (s *Server) Addr() net.Addr { return s.addr }

// Len returns the number of open connections, handshaking ones included.
func (s *Server) Len() int { return int(s.open.Load()) }

// Shutdown stops the server gracefully: it stops accepting, sends every
// connection a close frame 1001 "going away" (handshaking ones are simply
// closed), waits until the peers have answered and every connection is
// closed or ctx ends, then stops the event loops (dropping what is left,
// whose handlers see 1006) and waits for them. It returns ctx's error when
// connections were left, else nil.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.started.Load() {
		s.shutting.Store(true)
		return nil
	}
	select {
	case <-s.ready:
	case <-s.done:
		return nil // it never started listening
	}
	if !s.shutting.Swap(true) {
		s.eachLoop(func(lp *loop) { lp.push(item{kind: itemCloseAll, code: engine.StatusGoingAway, reason: "going away"}) })
	}
	var left error
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
wait:
	for s.open.Load() > 0 {
		select {
		case <-ctx.Done():
			left = ctx.Err()
			break wait
		case <-s.done:
			break wait
		case <-tk.C:
		}
	}
	go func() {
		// Engine.Stop polls every 500 ms; s.done tells sooner.
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.eng.Stop(sctx)
	}()
	<-s.done
	return left
}

func (s *Server) applyDefaults() {
	o := &s.opts
	o.Conn.Stream = false
	o.Conn.Deflate = engine.Deflate{} // negotiated per connection (Handshake.Compression)
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.MaxOutbound <= 0 {
		o.MaxOutbound = DefaultMaxOutbound
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = DefaultSendBuffer
	}
	s.budget = o.Budget
	if s.budget == nil {
		s.budget = engine.DefaultBudget()
	}
	o.Conn.Budget = s.budget
	maxMsg := o.Conn.MaxMessageSize
	if maxMsg <= 0 {
		maxMsg = engine.DefaultMaxMessageSize
	}
	s.hardOut = o.MaxOutbound + int(min(maxMsg, 1<<40)) + 256<<10
	s.hardIn = int(min(maxMsg, 1<<40)) + s.readChunk()
	if o.WorkerQueue <= 0 {
		o.WorkerQueue = DefaultWorkerQueue
	}
	if o.ErrorLog == nil {
		o.ErrorLog = log.Default()
	}
	s.nloops = o.Loops
	if s.nloops <= 0 {
		s.nloops = runtime.NumCPU()
	}
	s.maxConns = int64(o.MaxConns)
	if s.maxConns <= 0 {
		s.maxConns = fdLimit() - 256
		if s.maxConns < 16 {
			s.maxConns = 16
		}
	}
	s.hsTimeout = int64(o.HandshakeTimeout)
	s.clTimeout = int64(o.CloseTimeout)
	// The loops' clock ticks at a tenth of the shortest timeout, between
	// 10 ms and 500 ms: timeouts are exact to about a tick.
	s.live = o.Liveness.Resolved()
	s.tick = s.live.Tick(o.HandshakeTimeout, o.CloseTimeout)
}

// readChunk is the loop's read buffer (gnet's default 64 KiB unless
// ReadBufferCap says otherwise): one read's most.
func (s *Server) readChunk() int {
	if s.opts.ReadBufferCap > 0 {
		return s.opts.ReadBufferCap
	}
	return 64 << 10
}

// scratchKeep is the largest output buffer a loop keeps between wake-ups:
// what one wake-up of a connection may write back when it echoes what it
// read (two reads), with room for the frame headers and a message that
// began in an earlier read. One such buffer per loop, not per connection:
// dropping it (as a 64 KiB bound did at 16 KiB echoes, 16 in flight) costs
// an allocation, its growth copies and the collector's time at every
// wake-up.
func (s *Server) scratchKeep() int {
	return max(4*s.readChunk(), scratchKeep)
}

// resolve turns addr into gnet's form. For TCP port 0 it binds a
// placeholder listener with SO_REUSEPORT to pick the port: every loop's
// listener then binds that same port, and the placeholder is closed once
// they are up.
func (s *Server) resolve(addr string) (protoAddr string, placeholder net.Listener, err error) {
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if !strings.HasPrefix(path, "/") {
			return "", nil, fmt.Errorf("reactor: unix socket path must be absolute: %q", addr)
		}
		s.addr = &net.UnixAddr{Name: path, Net: "unix"}
		return "unix://" + path, nil, nil
	}
	addr = strings.TrimPrefix(addr, "tcp://")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("reactor: %w", err)
	}
	if port == "0" || port == "" {
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = setReusePort(int(fd)) }); err != nil {
				return err
			}
			return serr
		}}
		placeholder, err = lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return "", nil, fmt.Errorf("reactor: %w", err)
		}
		s.addr = placeholder.Addr()
		if !holdPlaceholder {
			placeholder.Close()
			placeholder = nil
		}
		return "tcp://" + s.addr.String(), placeholder, nil
	}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("reactor: %w", err)
	}
	// The loops' listeners share the port through SO_REUSEPORT, which
	// would let them join the listeners of another process on the same
	// port (a second server started by mistake), the kernel then splitting
	// the connections between the two. A listener without SO_REUSEPORT
	// cannot bind a port anyone listens on: bind one first, to fail with
	// "address already in use", and close it before the loops bind.
	probe, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("reactor: %w", err)
	}
	probe.Close()
	s.addr = ta
	return "tcp://" + addr, nil, nil
}

// loopFor returns the state of gc's event loop, creating it on the loop's
// first connection.
func (s *Server) loopFor(gc gnet.Conn) *loop {
	el := gc.EventLoop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if lp := s.loopOf[el]; lp != nil {
		return lp
	}
	lp := newLoop(s, el, len(s.loops))
	s.loopOf[el] = lp
	s.loops = append(s.loops, lp)
	return lp
}

func (s *Server) eachLoop(f func(*loop)) {
	s.mu.Lock()
	loops := s.loops
	s.mu.Unlock()
	for _, lp := range loops {
		f(lp)
	}
}

// fdLimit returns the soft limit on open files (the Go runtime raises it
// to the hard limit at start-up).
func fdLimit() int64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 16
	}
	return int64(rl.Cur)
}

// gnetLogger passes gnet's warnings and errors to the server's logger and
// drops the rest.
type gnetLogger struct{ l *log.Logger }

func (gnetLogger) Debugf(string, ...any)            {}
func (gnetLogger) Infof(string, ...any)             {}
func (g gnetLogger) Warnf(format string, a ...any)  { g.l.Printf("reactor: gnet: "+format, a...) }
func (g gnetLogger) Errorf(format string, a ...any) { g.l.Printf("reactor: gnet: "+format, a...) }
func (g gnetLogger) Fatalf(format string, a ...any) {
	g.l.Printf("reactor: gnet: fatal: "+format, a...)
}
