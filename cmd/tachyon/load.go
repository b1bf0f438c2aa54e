package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// loadConfig is what the flags of `tachyon load` say.
type loadConfig struct {
	rawURL   string
	addr     string // host:port to dial
	host     string // Host header
	uri      string // request target
	conns    int
	inflight int
	size     int
	op       engine.OpCode
	dur      time.Duration
	warmup   time.Duration
	interval time.Duration
	procs    int
	mode     string
	pid      int
	json     bool
	origin   string
	io       string
}

// rampConcurrency bounds the handshakes in progress at once.
const rampConcurrency = 64

// handshakeTimeout bounds one connect plus opening handshake.
const handshakeTimeout = 10 * time.Second

// loadMain is `tachyon load`.
func loadMain(args []string) error {
	return runLoad(args, os.Stdout, os.Stderr)
}

// runLoad parses args and runs the load; the report goes to stdout (or, with
// -json, one JSON line goes to stdout and the report to stderr), the progress
// lines to stderr.
func runLoad(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadConfig
	fs.StringVar(&cfg.rawURL, "url", "", "server URL, ws://HOST:PORT/PATH (required)")
	fs.IntVar(&cfg.conns, "c", 100, "connections")
	fs.IntVar(&cfg.inflight, "inflight", 1, "echo: messages in flight per connection")
	fs.IntVar(&cfg.size, "size", 32, "payload bytes per message")
	typ := fs.String("type", "binary", "message type: text or binary")
	fs.DurationVar(&cfg.dur, "d", 10*time.Second, "measured duration (idle: how long the connections are held)")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up before measuring, not counted (echo, broadcast)")
	fs.DurationVar(&cfg.interval, "interval", 10*time.Millisecond, "broadcast: time between two messages of the sender")
	fs.IntVar(&cfg.procs, "procs", 1, "GOMAXPROCS of the loader")
	fs.StringVar(&cfg.mode, "mode", "echo", "echo, idle or broadcast")
	fs.IntVar(&cfg.pid, "pid", 0, "the server's PID (Linux): idle mode measures its memory per connection, echo and broadcast its CPU use")
	fs.BoolVar(&cfg.json, "json", false, "print one line of JSON on stdout (the report goes to stderr)")
	fs.StringVar(&cfg.origin, "origin", "", "Origin header to send (none by default)")
	fs.StringVar(&cfg.io, "io", defaultIO, "echo: epoll (event loops on raw epoll, Linux) or net (a goroutine per connection)")
	cpuprofile := fs.String("cpuprofile", "", "write the loader's own CPU profile to this file")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: tachyon load -url ws://HOST:PORT/PATH [flags]

Modes:
  echo       each connection keeps -inflight messages outstanding against an
             echo server and times each echo (the default)
  idle       opens -c connections, reports upgrades/s and, with -pid, the
             server's resident memory per connection; holds them for -d
  broadcast  the first connection sends a time-stamped message every
             -interval to a server that broadcasts it to every connection;
             each connection times the deliveries

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("load: unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.check(*typ); err != nil {
		return err
	}
	prev := runtime.GOMAXPROCS(cfg.procs)
	defer runtime.GOMAXPROCS(prev)
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "load: cannot raise the open-file limit:", err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	l := newLoader(cfg, stdout, stderr)
	var res *loadResult
	var err error
	switch cfg.mode {
	case "echo":
		res, err = l.runEcho()
	case "idle":
		res, err = l.runIdle()
	case "broadcast":
		res, err = l.runBroadcast()
	}
	if err != nil {
		return err
	}
	return l.report(res)
}

// check validates the flags and derives the dial address and request target.
func (cfg *loadConfig) check(typ string) error {
	if cfg.rawURL == "" {
		return errors.New("load: -url is required (ws://HOST:PORT/PATH)")
	}
	u, err := url.Parse(cfg.rawURL)
	if err != nil {
		return fmt.Errorf("load: -url: %w", err)
	}
	if u.Scheme != "ws" {
		return fmt.Errorf("load: -url: scheme %q not supported (ws:// only)", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("load: -url: no host")
	}
	cfg.host = u.Host
	cfg.addr = u.Host
	if u.Port() == "" {
		cfg.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	cfg.uri = u.RequestURI()
	switch typ {
	case "text":
		cfg.op = engine.OpText
	case "binary":
		cfg.op = engine.OpBinary
	default:
		return fmt.Errorf("load: -type %q: text or binary", typ)
	}
	switch {
	case cfg.conns < 1:
		return errors.New("load: -c must be at least 1")
	case cfg.inflight < 1:
		return errors.New("load: -inflight must be at least 1")
	case cfg.size < 0:
		return errors.New("load: -size must not be negative")
	case cfg.dur <= 0:
		return errors.New("load: -d must be positive")
	case cfg.warmup < 0:
		return errors.New("load: -warmup must not be negative")
	case cfg.procs < 1:
		return errors.New("load: -procs must be at least 1")
	case cfg.interval <= 0:
		return errors.New("load: -interval must be positive")
	}
	if cfg.io != "epoll" && cfg.io != "net" {
		return fmt.Errorf("load: -io %q: epoll or net", cfg.io)
	}
	switch cfg.mode {
	case "echo", "idle":
	case "broadcast":
		if cfg.size < 8 {
			cfg.size = 8 // the send time takes 8 bytes
		}
	default:
		return fmt.Errorf("load: -mode %q: echo, idle or broadcast", cfg.mode)
	}
	return nil
}

// loader holds what the connections of one run share.
type loader struct {
	cfg    loadConfig
	stdout io.Writer
	stderr io.Writer
	tty    bool // stderr is a terminal: progress lines overwrite each other

	epoch   time.Time // the monotonic clock's zero for now()
	warmEnd int64     // now() when measuring starts
	end     int64     // now() when measuring ends

	open atomic.Int64 // connections open

	errMu  sync.Mutex
	errs   map[string]int
	nerrs  int
	header [][2]string
}

func newLoader(cfg loadConfig, stdout, stderr io.Writer) *loader {
	l := &loader{cfg: cfg, stdout: stdout, stderr: stderr, epoch: time.Now(), errs: map[string]int{}}
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			l.tty = true
		}
	}
	if cfg.origin != "" {
		l.header = [][2]string{{"Origin", cfg.origin}}
	}
	return l
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
func summarize[C interface{ tallied() *tally }](l *loader, res *loadResult, conns []C, toEnd bool) {
	var all histogram
	counts := make([]int64, len(conns))
	var silence int64
	for i, c := range conns {
		t := c.tallied()
		all.merge(&t.hist)
		counts[i] = t.msgs
		res.Messages += t.msgs
		silence = max(silence, t.silence)
		if toEnd {
			silence = max(silence, l.end-max(t.last, l.warmEnd))
		}
	}
	secs := l.cfg.dur.Seconds()
	res.Duration = secs
	res.MsgsPerSec = float64(res.Messages) / secs
	res.MBPerSec = float64(res.Messages) * float64(l.cfg.size) / secs / 1e6
	res.setLatency(&all)
	res.setFairness(counts, silence)
}

// startWindow starts the warm-up now; the measured window follows it.
func (l *loader) startWindow() {
	l.warmEnd = l.now() + int64(l.cfg.warmup)
	l.end = l.warmEnd + int64(l.cfg.dur)
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

// dial connects and runs the opening handshake. It returns the connection
// and the bytes read past the server's response.
func (l *loader) dial(buf []byte) (net.Conn, []byte, error) {
	d := net.Dialer{Timeout: handshakeTimeout}
	c, err := d.Dial("tcp", l.cfg.addr)
	if err != nil {
		return nil, nil, &phaseError{"connect", err}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	var key [24]byte
	_ = engine.NewKey(&key, nil)
	req := engine.AppendRequest(buf[:0], l.cfg.host, l.cfg.uri, &key, nil, l.header, "")
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
			if _, cerr := engine.CheckResponse(&resp, &key, nil, ""); cerr != nil {
				c.Close()
				return nil, nil, &phaseError{"handshake", cerr}
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
					fmt.Fprintf(l.stderr, "\r%-79s", s)
				} else {
					fmt.Fprintln(l.stderr, s)
				}
				printed = true
			case <-done:
				if printed && l.tty {
					fmt.Fprintln(l.stderr)
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

// loadResult is the outcome of a run, as printed and as JSON.
type loadResult struct {
	Mode     string  `json:"mode"`
	URL      string  `json:"url"`
	Conns    int     `json:"conns"`    // asked for
	Open     int     `json:"open"`     // opened (handshake done)
	Inflight int     `json:"inflight"` // echo
	Size     int     `json:"size"`
	Type     string  `json:"type"`
	Duration float64 `json:"duration_s"` // measured window

	Messages   int64   `json:"messages"`   // echoes (echo) or deliveries (broadcast) in the window
	MsgsPerSec float64 `json:"msgs_per_s"` // the same per second
	MBPerSec   float64 `json:"mb_per_s"`   // payload received, 10^6 bytes per second, one way

	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	P999us    float64 `json:"p999_us"`
	MaxUs     float64 `json:"max_us"`
	MeanUs    float64 `json:"mean_us"`
	Latencies uint64  `json:"latencies"` // latencies recorded

	MinPerConn       int64   `json:"min_per_conn"`
	MaxPerConn       int64   `json:"max_per_conn"`
	Jain             float64 `json:"jain"`
	LongestSilenceMs float64 `json:"longest_silence_ms"`

	// broadcast
	Sent    int64 `json:"sent,omitempty"`    // messages the sender sent in the window
	Missing int64 `json:"missing,omitempty"` // deliveries expected and not seen: sent × open − deliveries

	// idle
	UpgradesPerSec float64 `json:"upgrades_per_s,omitempty"`
	RampSec        float64 `json:"ramp_s,omitempty"`
	RSSBeforeKB    int64   `json:"rss_before_kb,omitempty"`
	RSSAfterKB     []int64 `json:"rss_after_kb,omitempty"`
	BytesPerConn   float64 `json:"bytes_per_conn,omitempty"`
	CleanCloses    int     `json:"clean_closes,omitempty"`

	// CPU used in the measured window, in cores (1 = one core busy), by the
	// loader and, with -pid, by the server; 0 when not measured.
	LoaderCPU float64 `json:"loader_cpu,omitempty"`
	ServerCPU float64 `json:"server_cpu,omitempty"`

	Errors     int            `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
}

// setLatency fills the latency fields from h.
func (r *loadResult) setLatency(h *histogram) {
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
func (r *loadResult) setFairness(counts []int64, silence int64) {
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

func (l *loader) newResult() *loadResult {
	typ := "binary"
	if l.cfg.op == engine.OpText {
		typ = "text"
	}
	return &loadResult{Mode: l.cfg.mode, URL: l.cfg.rawURL, Conns: l.cfg.conns, Size: l.cfg.size, Type: typ}
}

// report prints res, and its JSON with -json.
func (l *loader) report(res *loadResult) error {
	l.errMu.Lock()
	res.Errors = l.nerrs
	if len(l.errs) > 0 {
		res.ErrorKinds = l.errs
	}
	l.errMu.Unlock()
	w := l.stdout
	if l.cfg.json {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintf(l.stdout, "%s\n", b)
		w = l.stderr
	}
	var sb strings.Builder
	res.write(&sb)
	_, err := io.WriteString(w, sb.String())
	if err == nil && res.Open == 0 {
		return errors.New("load: no connection could be opened")
	}
	return err
}

func (r *loadResult) write(w io.Writer) {
	fmt.Fprintf(w, "%s %s\n", r.Mode, r.URL)
	fmt.Fprintf(w, "  connections  %d open of %d\n", r.Open, r.Conns)
	switch r.Mode {
	case "echo":
		fmt.Fprintf(w, "  messages     %d in flight per connection, %d B %s, %.1f s measured\n", r.Inflight, r.Size, r.Type, r.Duration)
		fmt.Fprintf(w, "  throughput   %s msgs/s, %.2f MB/s of payload each way (%d echoes)\n", thousands(r.MsgsPerSec), r.MBPerSec, r.Messages)
		r.writeLatency(w, "latency")
		fmt.Fprintf(w, "  fairness     per connection %d min, %d max; Jain %.4f; longest silence %.1f ms\n", r.MinPerConn, r.MaxPerConn, r.Jain, r.LongestSilenceMs)
	case "broadcast":
		fmt.Fprintf(w, "  messages     %d B %s, %d sent in %.1f s measured\n", r.Size, r.Type, r.Sent, r.Duration)
		fmt.Fprintf(w, "  deliveries   %s/s, %.2f MB/s received (%d delivered; %d missing, not received %v after the end)\n", thousands(r.MsgsPerSec), r.MBPerSec, r.Messages, r.Missing, broadcastGrace)
		r.writeLatency(w, "delivery")
		fmt.Fprintf(w, "  fairness     per connection %d min, %d max; Jain %.4f; longest silence %.1f ms\n", r.MinPerConn, r.MaxPerConn, r.Jain, r.LongestSilenceMs)
	case "idle":
		fmt.Fprintf(w, "  upgrades     %s/s (%d in %.2f s)\n", thousands(r.UpgradesPerSec), r.Open, r.RampSec)
		if r.RSSBeforeKB > 0 {
			fmt.Fprintf(w, "  server RSS   %d KiB before, %v KiB after: %.0f bytes per idle connection\n", r.RSSBeforeKB, r.RSSAfterKB, r.BytesPerConn)
		}
		fmt.Fprintf(w, "  held         %.1f s; %d of %d closed cleanly (close 1000 answered)\n", r.Duration, r.CleanCloses, r.Open)
	}
	if r.LoaderCPU > 0 || r.ServerCPU > 0 {
		fmt.Fprintf(w, "  cpu          loader %.0f%% of a core", r.LoaderCPU*100)
		if r.ServerCPU > 0 {
			fmt.Fprintf(w, ", server %.0f%%", r.ServerCPU*100)
		}
		fmt.Fprintln(w)
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

func (r *loadResult) writeLatency(w io.Writer, label string) {
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

// sleepUntil waits until now() reaches t.
func (l *loader) sleepUntil(t int64) {
	if d := time.Duration(t - l.now()); d > 0 {
		time.Sleep(d)
	}
}

// cpuSample is the CPU time used so far by the loader and, with -pid, by the
// server; a field is -1 when it could not be read.
type cpuSample struct {
	pid            int
	loader, server time.Duration
}

func (l *loader) sampleCPU() cpuSample {
	s := cpuSample{pid: l.cfg.pid, loader: -1, server: -1}
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
func (s cpuSample) finish(res *loadResult, d time.Duration) {
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
