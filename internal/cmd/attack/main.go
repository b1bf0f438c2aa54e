package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

// config holds the flags every scenario reads.
type config struct {
	target  target
	url     string
	pid     int
	label   string        // printed in table titles, e.g. the driver
	n       int           // attacking peers (0: the scenario's default)
	normal  int           // well-behaved clients beside them (slowreaders)
	dur     time.Duration // attack duration (pingflood, slowreaders)
	rcvbuf  int           // SO_RCVBUF of peers that never read
	size    int           // slow readers' message size
	tries   int           // fastreaders: tries per case
	hold    time.Duration // hold: how long the peers hold after writing
	limit   time.Duration // the whole scenario's bound
	every   time.Duration // RSS sampling period
	dialDur time.Duration // handshake timeout
}

var scenarios = map[string]func(config) error{
	"hold":        runHold,
	"pingflood":   runPingFlood,
	"slowreaders": runSlowReaders,
	"fastreaders": runFastReaders,
	"sigterm":     runSigterm,
	"halfopen":    runHalfOpen,
	"bomb":        runBomb,
	"normal":      runNormal, // the well-behaved clients' child process
}

func main() {
	var cfg config
	scenario := flag.String("scenario", "", "hold, pingflood, slowreaders, fastreaders, sigterm, halfopen or bomb")
	rawURL := flag.String("url", "", "the server, ws://127.0.0.1:PORT/ (loopback only)")
	flag.IntVar(&cfg.pid, "pid", 0, "the server's process ID (RSS and CPU from /proc; sigterm signals it)")
	flag.StringVar(&cfg.label, "label", "", "a label for the table titles (e.g. the driver)")
	flag.IntVar(&cfg.n, "n", 0, "attacking peers; 0: the scenario's default (hold 100, pingflood 500, slowreaders 100, sigterm 3000, bomb 20)")
	flag.IntVar(&cfg.normal, "normal", 100, "slowreaders: well-behaved clients beside the attackers")
	flag.DurationVar(&cfg.dur, "d", 10*time.Second, "pingflood, slowreaders: how long the attack lasts")
	flag.IntVar(&cfg.rcvbuf, "rcvbuf", 4096, "SO_RCVBUF of the peers that never read")
	flag.IntVar(&cfg.size, "size", 16<<10, "slowreaders: size of each echo request")
	flag.IntVar(&cfg.tries, "tries", 10, "fastreaders: tries per case")
	flag.DurationVar(&cfg.hold, "hold", 5*time.Second, "hold: how long the peers hold their sockets once written")
	flag.DurationVar(&cfg.limit, "timeout", 0, "bound for the whole scenario; 0: the scenario's default")
	flag.DurationVar(&cfg.every, "every", 50*time.Millisecond, "RSS sampling period")
	flag.DurationVar(&cfg.dialDur, "dial-timeout", 10*time.Second, "connect + handshake timeout")
	flag.Parse()

	run, ok := scenarios[*scenario]
	if !ok {
		fmt.Fprintf(os.Stderr, "attack: -scenario must be one of hold, pingflood, slowreaders, fastreaders, sigterm, halfopen, bomb (got %q)\n", *scenario)
		os.Exit(2)
	}
	t, err := parseTarget(*rawURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(2)
	}
	cfg.target = t
	cfg.url = *rawURL
	if cfg.pid <= 0 || !alive(cfg.pid) {
		fmt.Fprintf(os.Stderr, "attack: -pid %d: no such running process\n", cfg.pid)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Printf("== %s: could not run: %v\n\n", title(cfg, *scenario), err)
		os.Exit(1)
	}
}

func title(cfg config, scenario string) string {
	if cfg.label == "" {
		return scenario
	}
	return scenario + " [" + cfg.label + "]"
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// dialMany opens n connections, a few at a time, before deadline; it
// returns those that completed the handshake (nil where one failed) and
// the failures by kind.
func dialMany(cfg config, n, rcvbuf int, deadline time.Time) ([]*wsConn, *tally) {
	conns := make([]*wsConn, n)
	var fails tally
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, 64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if time.Now().After(deadline) {
					fails.inc("not tried (time)")
					continue
				}
				c, err := dial(cfg.target, rcvbuf, min(cfg.dialDur, time.Until(deadline)))
				if err != nil {
					fails.inc(kind(err))
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return conns, &fails
}

func countOpen(conns []*wsConn) int {
	n := 0
	for _, c := range conns {
		if c != nil {
			n++
		}
	}
	return n
}

func closeAll(conns []*wsConn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// idleBaseline samples the server's RSS a few times before an attack
// and returns the last value.
func idleBaseline(s *sampler) int64 {
	time.Sleep(300 * time.Millisecond)
	return s.Now()
}
