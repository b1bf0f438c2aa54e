package reactor

import (
	"log"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// Defaults for the zero values of Options.
const (
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	DefaultMaxOutbound      = 256 << 10
	DefaultSendBuffer       = 256 << 10
	DefaultWorkerQueue      = 1 << 20
)

// Options configure a Server. The zero value serves same-origin WebSocket
// requests on one event loop per CPU, level-triggered, with the defaults
// documented on each field; only Handler (or Route) must be set.
type Options struct {
	// Handler receives the events of every connection, unless Route is
	// set. Its methods run on the connection's event loop (unless Workers
	// is set) and must never block there: a handler that sleeps, waits on
	// a lock or does disk or network I/O stalls every connection of its
	// loop. Hand slow work to a goroutine, or set Workers.
	Handler engine.Handler

	// Route, when set, picks the handler for each accepted request (by
	// path, say: switch string(r.Path()); r.Query reads a parameter) after
	// the handshake checks passed; a nil handler refuses the request with
	// 404. The Request is valid only during the call.
	Route func(r *engine.Request) engine.Handler

	// Handshake holds the handshake's checks and negotiation: subprotocols,
	// the origin check (same-origin by default), extensions, compression
	// and the application's Accept hook. Its hooks run on the event loop.
	//
	// Handshake.Compression turns on permessage-deflate (off by default).
	// Without context takeover a connection keeps nothing for it: each
	// loop borrows one compressor (0.8 MiB at level 1) and one
	// decompressor (about 40 KiB) per message from a process-wide pool, so
	// memory grows with the loops, not the connections; with
	// ContextTakeover each connection keeps two windows of 2^bits bytes
	// (12 KiB at 13/12 bits). CPU: about 10 µs per 1 KiB echo and 40 to
	// 90 µs per 16 KiB JSON echo (inflate and compress, level 1): one loop
	// echoed 12,600 compressed 16 KiB messages a second, 53,000
	// uncompressed (engine.Compression; BENCHMARKS.md, "Compression").
	Handshake engine.ServerHandshake

	// Conn holds each connection's limits (message and frame size). The
	// reactor does not support Conn.Stream.
	Conn engine.Config

	// Fallback, when set, answers requests that are not WebSocket upgrades
	// (no "Upgrade: websocket"), such as the page of a demo; the
	// connection is closed after the response. Without it such requests
	// get the handshake's 4xx. It runs on the event loop.
	Fallback func(r *engine.Request) Response

	// Loops is the number of event loops; 0 means one per CPU
	// (runtime.NumCPU).
	Loops int

	// EdgeTriggered switches the loops to edge-triggered I/O: a
	// connection is read when epoll reports new bytes, up to two reads
	// of the loop's buffer per turn, and gnet re-queues one with more to
	// read. The default is level-triggered: one read per connection per
	// turn, and epoll reports again whatever is left, so every connection
	// with bytes waiting is served once per turn.
	//
	// Edge-triggered is not the default because of how gnet (v2.9) runs
	// its re-queued reads: they go to the queue it drains until empty in
	// the same turn, so while connections keep more than two reads
	// waiting (16 KiB echoes with 16 in flight), the loop serves only
	// them and never asks epoll again; the others wait, for seconds
	// (seen: a connection silent for the whole of a 5 s run). Level-
	// triggered loops also served the well-behaved clients faster under
	// attack (100 slow readers: p99 46–60 ms against 250–340 ms) and
	// small echoes with fewer system calls; edge-triggered ones did more
	// 16 KiB echoes per CPU second when nothing starved. BENCHMARKS.md
	// has the figures.
	EdgeTriggered bool

	// ReadBufferCap is the read buffer of each event loop, in bytes;
	// 0 means gnet's default (64 KiB).
	ReadBufferCap int

	// MaxConns caps the open connections (handshaking ones included);
	// connections beyond it are answered 503 and closed. 0 means the
	// process's file-descriptor limit minus 256, so that accept never
	// runs out of descriptors (which would stop the engine).
	MaxConns int

	// HandshakeTimeout bounds the time from accept to a complete request;
	// a slower client (a request trickled byte by byte) is answered 408
	// and closed. 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration

	// CloseTimeout bounds the wait for the peer's close frame after ours;
	// then the connection is dropped (1006). 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration

	// Liveness holds the heartbeat and the time limits of upgraded
	// connections, the same options as the net/http driver's: a ping to a
	// connection silent for 30 s, a read timeout of 75 s, a message
	// timeout of 60 s, TCP keepalive every 30 s, no idle timeout. A zero
	// field means its default, a negative one turns it off; see
	// engine.Liveness.
	Liveness engine.Liveness

	// MaxOutbound is the backlog (bytes written but not yet taken by the
	// peer's socket, beyond the kernel's SendBuffer) above which a
	// connection is watched as a possible slow reader. While its backlog
	// is over it, the peer must keep taking bytes. While it takes none,
	// its input waits unread: up to 256 KiB once that has lasted 100 ms (up
	// to the largest message before, for a fast reader caught for a
	// moment, while the stalled peers' waiting input adds up to less than
	// 32 MiB); past that, or after CloseTimeout without taking anything,
	// it is given up — the handler hears 1008 "slow reader", the close
	// frame goes out behind the backlog, what the peer sends is dropped
	// unread, and it is dropped after CloseTimeout (at once if it sends
	// more than 64 KiB meanwhile).
	// A peer that reads at full speed is never given up, whatever the
	// message size within Conn.MaxMessageSize. Whatever the peer does, a
	// backlog never passes MaxOutbound plus Conn.MaxMessageSize (plus one
	// wake-up's output): that is the most one connection holds for output.
	// A peer that pings without taking our pongs is given up after 256
	// unanswered ones ("too many pings"). Both count in Stats.SlowClosed.
	// 0 means DefaultMaxOutbound (256 KiB).
	MaxOutbound int

	// SendBuffer is the kernel's send buffer for each connection
	// (SO_SNDBUF; Linux allots twice the figure). It bounds the kernel
	// memory a peer that does not read makes the server hold, and makes
	// MaxOutbound's watch begin once that much is unread, not after the
	// kernel's autotuned buffer (up to 4 MiB) has filled. 0 means
	// DefaultSendBuffer (256 KiB: about 40 MB/s per connection at 50 ms of
	// round trip); a negative value leaves the kernel's autotuning.
	SendBuffer int

	// Budget bounds the bytes all connections together make the server
	// hold for input: messages being assembled and the partial frames and
	// requests waiting in the read buffers. A connection whose input would
	// pass it is closed with 1008 before the memory is spent. nil means
	// engine.DefaultBudget(), shared by the servers and upgraders of the
	// process: 256 MiB, less under a small memory limit.
	Budget *engine.Budget

	// Workers, when set, runs handlers on a pool of this many goroutines
	// instead of on the event loops, keeping each connection's events in
	// order. Payloads are then copied out of the read buffer.
	Workers int

	// WorkerQueue bounds the bytes of one connection's events waiting for
	// a worker; over it the connection is closed with 1008. 0 means
	// DefaultWorkerQueue.
	WorkerQueue int

	// ErrorLog receives the event loops' errors and warnings; nil means
	// the standard logger. gnet's informational messages are dropped.
	ErrorLog *log.Logger
}
