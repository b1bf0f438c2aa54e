package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// Mode is what a run does with its connections.
type Mode string

// The modes of a run.
const (
	// Echo keeps Config.Inflight messages outstanding on every connection
	// against an echo server and times each echo.
	Echo Mode = "echo"
	// Idle opens Config.Conns connections, measures the upgrades per second
	// and, with Config.PID, the server's resident memory per connection,
	// holds them for Config.Duration and closes them.
	Idle Mode = "idle"
	// Broadcast has the first connection send a time-stamped message every
	// Config.Interval to a server that sends each message to every
	// connection; every connection times the deliveries.
	Broadcast Mode = "broadcast"
)

// IO is how the echo and broadcast modes drive their sockets.
type IO string

// The I/O drivers of the echo and broadcast modes.
const (
	// IOEpoll runs the connections on Config.Loops event loops of the
	// loader's own, on raw epoll system calls: per wake-up of a connection,
	// one read and one write. The broadcast mode runs one loop, which also
	// sends. Linux only; the default there.
	IOEpoll IO = "epoll"
	// IONet runs a goroutine per connection over the net package. The
	// default outside Linux.
	IONet IO = "net"
)

// Config says what a run does. The zero value of a field takes the default
// its comment names; only URL is required.
type Config struct {
	// URL is the server's address, ws://HOST:PORT/PATH (ws:// only).
	URL string
	// Mode is what the run does (default Echo).
	Mode Mode
	// Conns is the number of connections (default 100).
	Conns int
	// Inflight is the number of messages each connection keeps outstanding
	// in the echo mode, or the broadcast sender with a negative Interval
	// (default 1).
	Inflight int
	// Size is the payload of a message in bytes (default 32; broadcast: at
	// least 8, which hold the send time). Set NoPayload for empty messages.
	Size int
	// NoPayload sends empty messages (Size is then ignored).
	NoPayload bool
	// Text sends text messages (ASCII letters, valid UTF-8) instead of
	// binary ones.
	Text bool
	// Duration is the measured window (idle: how long the connections are
	// held); default 10 s.
	Duration time.Duration
	// Warmup runs before the measured window and is not counted (echo,
	// broadcast); zero means none.
	Warmup time.Duration
	// Interval is the time between two messages of the broadcast sender
	// (default 10 ms). A negative Interval paces the sender by the
	// receivers instead: it keeps Inflight messages in flight, sending the
	// next once the receivers' deliveries add up to the oldest.
	Interval time.Duration
	// SlowReaders is the share of the connections (0 to 1) that, in the
	// echo mode, stop reading at the end of the warm-up and keep writing
	// their Inflight frames every 10 ms, until the server stops taking them:
	// peers a server must neither hold memory for without bound nor let slow
	// the others down. The measurements then cover the other connections;
	// with PID, Result.RSSPeakKB is the server's peak memory in the window.
	SlowReaders float64
	// Loops is the number of event loops of the echo mode under IOEpoll
	// (default 1; at most Conns). The broadcast mode runs one.
	Loops int
	// IO is how the echo and broadcast modes drive their sockets (default
	// IOEpoll on Linux, IONet elsewhere).
	IO IO
	// PID is the server's process ID (Linux), or 0: with it, every run
	// reports the server's CPU use and idle runs its memory per connection.
	PID int
	// Origin is the Origin header to send (none when empty).
	Origin string
	// Deflate offers permessage-deflate (RFC 7692) and fails a connection
	// whose server declines it. Every message is then JSON-like text (or
	// the same bytes as binary) compressed once ahead of time, as the
	// masking is; echoes are counted, not inflated, so the loader's cost
	// per message stays that of an uncompressed run while the server
	// inflates each message and compresses each echo. Without
	// DeflateTakeover the offer asks for no context takeover both ways. In
	// the idle mode each connection sends one message and reads its echo
	// before it is held, so that the memory measured is that of a
	// connection that has compressed and inflated. Not for the broadcast
	// mode (its stamps are read from the payload).
	Deflate bool
	// DeflateTakeover (with Deflate) offers context takeover: the server
	// may keep its windows, and the client's is asked to be at most 4 KiB
	// (client_max_window_bits=12); Size must then be at most 4096 bytes.
	DeflateTakeover bool
	// Progress receives a progress line a second while the run lasts (nil:
	// none). When it is a terminal, each line overwrites the last.
	Progress io.Writer
	// Warnings receives what the run notices about its own validity, such
	// as a loader that used as much CPU as the server (nil: they are only
	// in Result.Warnings).
	Warnings io.Writer
}

// ErrNoConnection is returned, with a Result that says why in its
// ErrorKinds, when not one connection could be opened.
var ErrNoConnection = errors.New("load: no connection could be opened")

// rampConcurrency bounds the handshakes in progress at once.
const rampConcurrency = 64

// handshakeTimeout bounds one connect plus opening handshake.
const handshakeTimeout = 10 * time.Second

// Run opens the connections cfg asks for, runs the mode over them for the
// warm-up and the measured window, closes them with a closing handshake and
// returns what it measured. Errors of single connections (refused
// handshakes, resets, ...) do not stop a run: they are counted in the
// Result. Run returns an error for a Config it cannot run, with
// ErrNoConnection when no connection opened, and with ctx.Err() when ctx
// ends the run early (the Result then covers the shorter window).
//
// A run is bounded: at most Conns connections, for Warmup + Duration plus the
// time to open and close them (each handshake within 10 s, each close
// within 1 s).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	l, err := newLoader(cfg)
	if err != nil {
		return nil, err
	}
	l.ctx = ctx
	stop := context.AfterFunc(ctx, l.cut)
	defer stop()
	var res *Result
	switch l.cfg.Mode {
	case Echo:
		res, err = l.runEcho()
	case Idle:
		res, err = l.runIdle()
	case Broadcast:
		res, err = l.runBroadcast()
	}
	if err != nil {
		return nil, err
	}
	l.finish(res)
	switch {
	case ctx.Err() != nil:
		return res, ctx.Err()
	case res.Open == 0:
		return res, ErrNoConnection
	}
	return res, nil
}

// withDefaults checks cfg, fills in the defaults and derives the dial
// address and the request target.
func (cfg Config) withDefaults() (Config, target, error) {
	var t target
	if cfg.URL == "" {
		return cfg, t, errors.New("load: no URL (ws://HOST:PORT/PATH)")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return cfg, t, fmt.Errorf("load: URL: %w", err)
	}
	if u.Scheme != "ws" {
		return cfg, t, fmt.Errorf("load: URL: scheme %q not supported (ws:// only)", u.Scheme)
	}
	if u.Host == "" {
		return cfg, t, errors.New("load: URL: no host")
	}
	t.host, t.addr, t.uri = u.Host, u.Host, u.RequestURI()
	if u.Port() == "" {
		t.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Conns, 100)
	def(&cfg.Inflight, 1)
	def(&cfg.Size, 32)
	def(&cfg.Loops, 1)
	if cfg.NoPayload {
		cfg.Size = 0
	}
	if cfg.Mode == "" {
		cfg.Mode = Echo
	}
	if cfg.IO == "" {
		cfg.IO = defaultIO
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Millisecond
	}
	switch {
	case cfg.Conns < 1:
		return cfg, t, errors.New("load: Conns must be at least 1")
	case cfg.Inflight < 1:
		return cfg, t, errors.New("load: Inflight must be at least 1")
	case cfg.Size < 0:
		return cfg, t, errors.New("load: Size must not be negative")
	case cfg.Duration < 0:
		return cfg, t, errors.New("load: Duration must be positive")
	case cfg.Warmup < 0:
		return cfg, t, errors.New("load: Warmup must not be negative")
	case cfg.SlowReaders < 0 || cfg.SlowReaders >= 1:
		return cfg, t, errors.New("load: SlowReaders must be in [0, 1)")
	case cfg.Loops < 1:
		return cfg, t, errors.New("load: Loops must be at least 1")
	case cfg.Deflate && cfg.Mode == Broadcast:
		return cfg, t, errors.New("load: Deflate works in the echo and idle modes")
	case cfg.DeflateTakeover && !cfg.Deflate:
		return cfg, t, errors.New("load: DeflateTakeover needs Deflate")
	case cfg.DeflateTakeover && cfg.Size > 4096:
		return cfg, t, errors.New("load: DeflateTakeover: Size must be at most 4096 (the client's window)")
	}
	if cfg.IO != IOEpoll && cfg.IO != IONet {
		return cfg, t, fmt.Errorf("load: IO %q: %q or %q", cfg.IO, IOEpoll, IONet)
	}
	switch cfg.Mode {
	case Echo, Idle:
	case Broadcast:
		cfg.Size = max(cfg.Size, 8) // the send time takes 8 bytes
	default:
		return cfg, t, fmt.Errorf("load: mode %q: %q, %q or %q", cfg.Mode, Echo, Idle, Broadcast)
	}
	return cfg, t, nil
}

// target is where the connections go.
type target struct {
	addr string // host:port to dial
	host string // Host header
	uri  string // request target
}

// loader holds what the connections of one run share.
type loader struct {
	cfg Config
	t   target
	op  engine.OpCode
	ctx context.Context
	tty bool // Progress is a terminal: progress lines overwrite each other

	epoch   time.Time    // the monotonic clock's zero for now()
	warmEnd int64        // now() when measuring starts
	end     atomic.Int64 // now() when measuring ends; moved earlier by cut

	open atomic.Int64 // connections open

	paced *pacer // broadcast with Interval < 0

	connsMu sync.Mutex
	nets    []net.Conn // connections on goroutines, for cut to wake (read deadlines)

	errMu  sync.Mutex
	errs   map[string]int
	nerrs  int
	header [][2]string
}

func newLoader(cfg Config) (*loader, error) {
	cfg, t, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &loader{cfg: cfg, t: t, op: engine.OpBinary, ctx: context.Background(), epoch: time.Now(), errs: map[string]int{}}
	l.end.Store(math.MaxInt64)
	if cfg.Text {
		l.op = engine.OpText
	}
	if f, ok := cfg.Progress.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			l.tty = true
		}
	}
	if cfg.Origin != "" {
		l.header = [][2]string{{"Origin", cfg.Origin}}
	}
	return l, nil
}

// cut ends the measured window now (the context is done): the loops see
// the new end at their next wake-up, the goroutines at their read deadline.
func (l *loader) cut() {
	now := l.now()
	for {
		e := l.end.Load()
		if e <= now || l.end.CompareAndSwap(e, now) {
			break
		}
	}
	l.connsMu.Lock()
	for _, c := range l.nets {
		_ = c.SetReadDeadline(time.Now())
	}
	l.connsMu.Unlock()
}

// track registers c for cut.
func (l *loader) track(c net.Conn) {
	l.connsMu.Lock()
	l.nets = append(l.nets, c)
	l.connsMu.Unlock()
	if l.ctx.Err() != nil {
		_ = c.SetReadDeadline(time.Now())
	}
}

// finish adds the errors and the warnings to res.
func (l *loader) finish(res *Result) {
	l.errMu.Lock()
	res.Errors = l.nerrs
	if len(l.errs) > 0 {
		res.ErrorKinds = l.errs
	}
	l.errMu.Unlock()
	if res.MsgsPerSec > 0 {
		res.LoaderUsPerMsg = res.LoaderCPU / res.MsgsPerSec * 1e6
		res.ServerUsPerMsg = res.ServerCPU / res.MsgsPerSec * 1e6
	}
	if res.ServerCPU > 0 && res.LoaderCPU >= res.ServerCPU {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the loader used as much CPU as the server (%.2f against %.2f cores): it may be what saturated first; compare servers by messages per second of server CPU",
			res.LoaderCPU, res.ServerCPU))
	}
	if l.cfg.Warnings != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(l.cfg.Warnings, "load: warning:", w)
		}
	}
}

// now returns the monotonic time since the loader started, in nanoseconds.
func (l *loader) now() int64 { return int64(time.Since(l.epoch)) }

// tally is what one connection measured in the window: latencies,
// messages received, and the gaps between them.
type tally struct {
	hist    histogram
	msgs    int64 // messages received
	last    int64 // now() of the latest receive
	silence int64 // longest gap between two receives, ns
}

func (t *tally) tallied() *tally { return t }

// summarize merges the connections' tallies into res: messages, rates,
// latency and fairness over the measured window. toEnd also counts, as a
// silence, the gap from each connection's last receive to the window's end
// (a connection that starved completely shows up too).
func summarize[C interface{ tallied() *tally }](l *loader, res *Result, conns []C, toEnd bool) {
	var all histogram
	end := l.end.Load()
	counts := make([]int64, len(conns))
	var silence int64
	for i, c := range conns {
		t := c.tallied()
		all.merge(&t.hist)
		counts[i] = t.msgs
		silence = max(silence, t.silence)
		if toEnd {
			silence = max(silence, end-max(t.last, l.warmEnd))
		}
	}
	l.tallyUp(res, &all, counts, silence)
}

// tallyUp fills res from the window's latencies, the messages each
// connection received in it and the longest silence (ns): messages, rates,
// latency and fairness.
func (l *loader) tallyUp(res *Result, all *histogram, counts []int64, silence int64) {
	for _, n := range counts {
		res.Messages += n
	}
	secs := float64(max(l.end.Load()-l.warmEnd, 0)) / 1e9
	res.Duration = secs
	if secs > 0 {
		res.MsgsPerSec = float64(res.Messages) / secs
		res.MBPerSec = float64(res.Messages) * float64(l.cfg.Size) / secs / 1e6
	}
	res.setLatency(all)
	res.setFairness(counts, silence)
}

// startWindow starts the warm-up now; the measured window follows it.
func (l *loader) startWindow() {
	l.warmEnd = l.now() + int64(l.cfg.Warmup)
	end := l.warmEnd + int64(l.cfg.Duration)
	for {
		e := l.end.Load()
		if e < end || l.end.CompareAndSwap(e, end) {
			break // cut came first
		}
	}
}

// opened drops the connections that failed to open (nil), in place.
func opened[T any](conns []*T) []*T {
	live := conns[:0]
	for _, c := range conns {
		if c != nil {
			live = append(live, c)
		}
	}
	return live
}

// wall converts a now() value to a time.Time (for deadlines).
func (l *loader) wall(t int64) time.Time { return l.epoch.Add(time.Duration(t)) }

// phaseError is an error with the step it happened in.
type phaseError struct {
	phase string
	err   error
}

func (e *phaseError) Error() string { return e.phase + ": " + e.err.Error() }
func (e *phaseError) Unwrap() error { return e.err }

// errKind reduces an error to a line that is the same for every connection
// that failed the same way (no port numbers), for counting.
func errKind(err error) string {
	phase := ""
	var pe *phaseError
	if errors.As(err, &pe) {
		phase = pe.phase + ": "
		err = pe.err
	}
	var he *engine.HandshakeError
	var errno syscall.Errno
	switch {
	case errors.As(err, &he):
		if he.Status != 0 {
			return fmt.Sprintf("%srefused with HTTP %d: %s", phase, he.Status, he.Msg)
		}
		return phase + he.Msg
	case errors.As(err, &errno):
		return phase + errno.Error()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return phase + "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return phase + "connection closed by the server without a close frame"
	}
	return phase + err.Error()
}

// fail counts an error.
func (l *loader) fail(err error) {
	k := errKind(err)
	l.errMu.Lock()
	l.errs[k]++
	l.nerrs++
	l.errMu.Unlock()
}

// loaderDeflate checks the server's answers to the loader's offers: any
// agreement the RFC allows, since the loader's frames are compressed
// without references across messages and within 4 KiB when a window is
// asked for.
var loaderDeflate = &engine.Compression{ContextTakeover: true}

var errDeflateDeclined = errors.New("the server declined permessage-deflate (Deflate is set)")

// offer returns the Sec-WebSocket-Extensions value the loader sends.
func (l *loader) offer() string {
	switch {
	case !l.cfg.Deflate:
		return ""
	case l.cfg.DeflateTakeover:
		return "permessage-deflate; client_max_window_bits=12"
	}
	return "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
}

// dial connects and runs the opening handshake. It returns the connection
// and the bytes read past the server's response.
func (l *loader) dial(buf []byte) (net.Conn, []byte, error) {
	d := net.Dialer{Timeout: handshakeTimeout}
	c, err := d.Dial("tcp", l.t.addr)
	if err != nil {
		return nil, nil, &phaseError{"connect", err}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	var key [24]byte
	_ = engine.NewKey(&key, nil)
	req := engine.AppendRequest(buf[:0], l.t.host, l.t.uri, &key, nil, l.header, l.offer())
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, nil, &phaseError{"handshake", err}
	}
	if cap(buf) < 4096 {
		buf = make([]byte, 4096)
	}
	buf = buf[:cap(buf)]
	var resp engine.Response
	r := 0
	for {
		n, err := c.Read(buf[r:])
		r += n
		if m, perr := engine.ParseResponse(buf[:r], &resp); perr != nil {
			c.Close()
			return nil, nil, &phaseError{"handshake", perr}
		} else if m > 0 {
			if _, cerr := engine.CheckResponse(&resp, &key, nil, l.offer()); cerr != nil {
				c.Close()
				return nil, nil, &phaseError{"handshake", cerr}
			}
			if l.cfg.Deflate {
				if d, derr := loaderDeflate.Accept(resp.Extensions()); derr != nil || !d.Enabled() {
					c.Close()
					return nil, nil, &phaseError{"handshake", errDeflateDeclined}
				}
			}
			_ = c.SetDeadline(time.Time{})
			return c, buf[m:r], nil
		}
		if err != nil {
			c.Close()
			return nil, nil, &phaseError{"handshake", err}
		}
		if r == len(buf) {
			c.Close()
			return nil, nil, &phaseError{"handshake", engine.ErrResponseTooLarge}
		}
	}
}

// ramp opens n connections, rampConcurrency handshakes at a time, and calls
// opened for each that completes (from several goroutines at once). It
// returns how many opened and how long it took.
func (l *loader) ramp(n int, opened func(i int, c net.Conn, leftover []byte)) (int, time.Duration) {
	start := time.Now()
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	stop := l.progress(func(elapsed time.Duration) string {
		return fmt.Sprintf("%5.1fs  opening: %d/%d open, %d failed", elapsed.Seconds(), l.open.Load(), n, l.errorCount())
	})
	for range min(rampConcurrency, n) {
		wg.Go(func() {
			buf := make([]byte, 4096)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, left, err := l.dial(buf)
				if err != nil {
					l.fail(err)
					continue
				}
				l.open.Add(1)
				ok.Add(1)
				opened(i, c, left)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	stop()
	return int(ok.Load()), took
}

func (l *loader) errorCount() int {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.nerrs
}

// progress prints line(elapsed) on stderr once a second until the returned
// function is called (which prints the last one and waits for the printer to
// stop).
func (l *loader) progress(line func(elapsed time.Duration) string) (stop func()) {
	out := l.cfg.Progress
	if out == nil {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		printed := false
		for {
			select {
			case <-t.C:
				s := line(time.Since(start))
				if l.tty {
					fmt.Fprintf(out, "\r%-79s", s)
				} else {
					fmt.Fprintln(out, s)
				}
				printed = true
			case <-done:
				if printed && l.tty {
					fmt.Fprintln(out)
				}
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// closeConn ends a connection the polite way: a close frame with 1000, then
// what the server still sends is read and dropped until its close frame (or
// EOF, or a second). It returns nil when the server answered with a close
// frame, else why not (phase "close"). buf holds keep bytes already read and
// not yet scanned by sc.
func (l *loader) closeConn(c net.Conn, buf []byte, keep int, sc *frameScanner) error {
	defer l.open.Add(-1)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(closeFrame); err != nil {
		return &phaseError{"close", err}
	}
	if len(buf) < maxKeep {
		buf = make([]byte, 4096)
		keep = 0
	}
	for {
		b := buf[:keep]
		p := 0
	scan:
		for {
			k, ev := sc.next(b[p:])
			p += k
			switch ev {
			case evClose:
				return nil
			case evError:
				return &phaseError{"close", sc.err}
			case evMore:
				break scan
			}
		}
		keep = copy(buf, b[p:])
		n, err := c.Read(buf[keep:])
		keep += n
		if err != nil && n == 0 {
			return &phaseError{"close", err}
		}
	}
}

// closeFrame is the masked close frame (1000) every connection ends with.
var closeFrame = appendCloseFrame(nil, engine.StatusNormalClosure)

// Result is what a run measured. It marshals to the JSON line of
// `tachyon load -json`; the field comments give the units. Rates and
// latencies cover the measured window only (not the warm-up).
type Result struct {
	Mode     Mode    `json:"mode"`
	URL      string  `json:"url"`
	Conns    int     `json:"conns"`      // connections asked for
	Open     int     `json:"open"`       // connections opened (handshake done)
	Inflight int     `json:"inflight"`   // echo: messages in flight per connection
	Size     int     `json:"size"`       // payload bytes per message
	Type     string  `json:"type"`       // "text" or "binary"
	Duration float64 `json:"duration_s"` // measured window, seconds

	Messages   int64   `json:"messages"`   // echoes (echo) or deliveries (broadcast) in the window
	MsgsPerSec float64 `json:"msgs_per_s"` // the same per second
	MBPerSec   float64 `json:"mb_per_s"`   // payload received, 10^6 bytes per second, one way

	// Latency in microseconds: from the write of a message to the read of
	// its echo (echo), or from the send time to the delivery (broadcast).
	// Quantiles come from a log-linear histogram, within 0.4%.
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	P999us    float64 `json:"p999_us"`
	MaxUs     float64 `json:"max_us"`
	MeanUs    float64 `json:"mean_us"`
	Latencies uint64  `json:"latencies"` // latencies recorded

	// Fairness across connections: messages per connection in the window,
	// Jain's index of those counts (1: all equal, 1/n: one took all), and
	// the longest time one connection went without receiving.
	MinPerConn       int64   `json:"min_per_conn"`
	MaxPerConn       int64   `json:"max_per_conn"`
	Jain             float64 `json:"jain"`
	LongestSilenceMs float64 `json:"longest_silence_ms"`

	// Broadcast: messages the sender sent in the window, and deliveries
	// expected and not seen (sent × open − deliveries).
	Sent    int64 `json:"sent,omitempty"`
	Missing int64 `json:"missing,omitempty"`

	// Idle: upgrades per second while opening, the time it took, the
	// server's resident memory (KiB) before and, twice, after the
	// connections opened, and what the last reading says per connection.
	UpgradesPerSec float64 `json:"upgrades_per_s,omitempty"`
	RampSec        float64 `json:"ramp_s,omitempty"`
	RSSBeforeKB    int64   `json:"rss_before_kb,omitempty"`
	RSSAfterKB     []int64 `json:"rss_after_kb,omitempty"`
	BytesPerConn   float64 `json:"bytes_per_conn,omitempty"`
	CleanCloses    int     `json:"clean_closes,omitempty"` // closes the server answered with its close frame

	// Slow readers (echo with Config.SlowReaders): how many connections
	// stopped reading, and the server's peak resident memory (KiB) in the
	// window (RSSBeforeKB: at its start).
	SlowReaders int   `json:"slow_readers,omitempty"`
	RSSPeakKB   int64 `json:"rss_peak_kb,omitempty"`

	// CPU used in the measured window, in cores (1 = one core busy), by the
	// loader and, with Config.PID, by the server; 0 when not measured
	// (outside Linux). Per message: CPU microseconds per echo or delivery.
	LoaderCPU      float64 `json:"loader_cpu,omitempty"`
	ServerCPU      float64 `json:"server_cpu,omitempty"`
	LoaderUsPerMsg float64 `json:"loader_us_per_msg,omitempty"`
	ServerUsPerMsg float64 `json:"server_us_per_msg,omitempty"`

	// Warnings are what the run noticed about its own validity.
	Warnings []string `json:"warnings,omitempty"`

	// Errors counts the connections that failed, ErrorKinds by cause.
	Errors     int            `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
}

// setLatency fills the latency fields from h.
func (r *Result) setLatency(h *histogram) {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	r.P50us = us(h.quantile(0.50))
	r.P99us = us(h.quantile(0.99))
	r.P999us = us(h.quantile(0.999))
	r.MaxUs = us(h.max)
	r.MeanUs = h.mean() / 1e3
	r.Latencies = h.n
}

// setFairness fills the fairness fields from per-connection message counts
// and silences (ns).
func (r *Result) setFairness(counts []int64, silence int64) {
	if len(counts) > 0 {
		r.MinPerConn, r.MaxPerConn = counts[0], counts[0]
		for _, x := range counts {
			r.MinPerConn = min(r.MinPerConn, x)
			r.MaxPerConn = max(r.MaxPerConn, x)
		}
	}
	r.Jain = jain(counts)
	r.LongestSilenceMs = float64(silence) / 1e6
}

func (l *loader) newResult() *Result {
	typ := "binary"
	if l.op == engine.OpText {
		typ = "text"
	}
	return &Result{Mode: l.cfg.Mode, URL: l.cfg.URL, Conns: l.cfg.Conns, Size: l.cfg.Size, Type: typ}
}

// Report writes r as a few lines of text for people.
func (r *Result) Report(w io.Writer) error {
	var sb strings.Builder
	r.write(&sb)
	_, err := io.WriteString(w, sb.String())
	return err
}

func (r *Result) write(w io.Writer) {
	fmt.Fprintf(w, "%s %s\n", r.Mode, r.URL)
	fmt.Fprintf(w, "  connections  %d open of %d\n", r.Open, r.Conns)
	switch r.Mode {
	case Echo:
		fmt.Fprintf(w, "  messages     %d in flight per connection, %d B %s, %.1f s measured\n", r.Inflight, r.Size, r.Type, r.Duration)
		fmt.Fprintf(w, "  throughput   %s msgs/s, %.2f MB/s of payload each way (%d echoes)\n", thousands(r.MsgsPerSec), r.MBPerSec, r.Messages)
		r.writeLatency(w, "latency")
		fmt.Fprintf(w, "  fairness     per connection %d min, %d max; Jain %.4f; longest silence %.1f ms\n", r.MinPerConn, r.MaxPerConn, r.Jain, r.LongestSilenceMs)
		if r.SlowReaders > 0 {
			fmt.Fprintf(w, "  slow readers %d stopped reading (not in the figures above)", r.SlowReaders)
			if r.RSSPeakKB > 0 {
				fmt.Fprintf(w, "; server RSS %d KiB at the start, %d KiB at its peak", r.RSSBeforeKB, r.RSSPeakKB)
			}
			fmt.Fprintln(w)
		}
	case Broadcast:
		fmt.Fprintf(w, "  messages     %d B %s, %d sent in %.1f s measured\n", r.Size, r.Type, r.Sent, r.Duration)
		fmt.Fprintf(w, "  deliveries   %s/s, %.2f MB/s received (%d delivered; %d missing, not received %v after the end)\n", thousands(r.MsgsPerSec), r.MBPerSec, r.Messages, r.Missing, broadcastGrace)
		r.writeLatency(w, "delivery")
		fmt.Fprintf(w, "  fairness     per connection %d min, %d max; Jain %.4f; longest silence %.1f ms\n", r.MinPerConn, r.MaxPerConn, r.Jain, r.LongestSilenceMs)
	case Idle:
		fmt.Fprintf(w, "  upgrades     %s/s (%d in %.2f s)\n", thousands(r.UpgradesPerSec), r.Open, r.RampSec)
		if r.RSSBeforeKB > 0 {
			fmt.Fprintf(w, "  server RSS   %d KiB before, %v KiB after: %.0f bytes per idle connection\n", r.RSSBeforeKB, r.RSSAfterKB, r.BytesPerConn)
		}
		fmt.Fprintf(w, "  held         %.1f s; %d of %d closed cleanly (close 1000 answered)\n", r.Duration, r.CleanCloses, r.Open)
	}
	if r.LoaderCPU > 0 || r.ServerCPU > 0 {
		fmt.Fprintf(w, "  cpu          loader %.2f cores", r.LoaderCPU)
		if r.LoaderUsPerMsg > 0 {
			fmt.Fprintf(w, " (%.2f µs per message)", r.LoaderUsPerMsg)
		}
		if r.ServerCPU > 0 {
			fmt.Fprintf(w, ", server %.2f cores", r.ServerCPU)
			if r.ServerUsPerMsg > 0 {
				fmt.Fprintf(w, " (%.2f µs per message)", r.ServerUsPerMsg)
			}
		}
		fmt.Fprintln(w)
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(w, "  warning      %s\n", m)
	}
	if r.Errors == 0 {
		fmt.Fprintf(w, "  errors       none\n")
		return
	}
	fmt.Fprintf(w, "  errors       %d\n", r.Errors)
	kinds := make([]string, 0, len(r.ErrorKinds))
	for k := range r.ErrorKinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return r.ErrorKinds[kinds[i]] > r.ErrorKinds[kinds[j]] })
	for _, k := range kinds {
		fmt.Fprintf(w, "    %6d  %s\n", r.ErrorKinds[k], k)
	}
}

func (r *Result) writeLatency(w io.Writer, label string) {
	if r.Latencies == 0 {
		fmt.Fprintf(w, "  %-11s  none recorded\n", label)
		return
	}
	fmt.Fprintf(w, "  %-11s  p50 %s  p99 %s  p99.9 %s  max %s  mean %s\n", label,
		micros(r.P50us), micros(r.P99us), micros(r.P999us), micros(r.MaxUs), micros(r.MeanUs))
}

// micros formats a duration in microseconds with a readable unit.
func micros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	}
	return fmt.Sprintf("%.1fµs", us)
}

// thousands formats x rounded, with thin separators: 1,234,567.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// sleepUntil waits until now() reaches t or the context is done.
func (l *loader) sleepUntil(t int64) {
	d := time.Duration(t - l.now())
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-l.ctx.Done():
	}
}

// cpuSample is the CPU time used so far by the loader and, with a PID, by the
// server; a field is -1 when it could not be read.
type cpuSample struct {
	pid            int
	loader, server time.Duration
}

func (l *loader) sampleCPU() cpuSample {
	s := cpuSample{pid: l.cfg.PID, loader: -1, server: -1}
	if t, err := selfCPU(); err == nil {
		s.loader = t
	}
	if s.pid > 0 {
		if t, err := processCPU(s.pid); err == nil {
			s.server = t
		}
	}
	return s
}

// finish samples again and records in res the share of one core each process
// used over the window of length d since s.
func (s cpuSample) finish(res *Result, d time.Duration) {
	e := cpuSample{pid: s.pid, loader: -1, server: -1}
	if t, err := selfCPU(); err == nil {
		e.loader = t
	}
	if s.pid > 0 {
		if t, err := processCPU(s.pid); err == nil {
			e.server = t
		}
	}
	if s.loader >= 0 && e.loader >= 0 {
		res.LoaderCPU = float64(e.loader-s.loader) / float64(d)
	}
	if s.server >= 0 && e.server >= 0 {
		res.ServerCPU = float64(e.server-s.server) / float64(d)
	}
}
