// Command compare runs the end-to-end comparison of BENCHMARKS.md: every
// echo server of bench/cmd and Tachyon's reactor under `tachyon load`
// (package load) over loopback, interleaved, and writes the tables and the
// charts.
//
//	compare -bin DIR -out DIR [-rounds 3] [-dur 2s] [-scenarios echo,idle,broadcast,slow[,deflate]]
//
// DIR holds the binaries (ci/bench-compare.sh builds them): tachyon,
// ceiling, gorillaecho, gobwasecho, gwsecho, nbioecho, coderecho.
//
// # Method
//
// Each server runs with GOMAXPROCS=1 pinned to CPU 0 (taskset), the loader
// with GOMAXPROCS=1 pinned to CPU 1, when the machine has both and taskset.
// For every case, each round starts every server in turn, loads it and stops
// it (SIGTERM), so the machine's noise falls on all of them alike; the tables
// give the medians of the rounds. Cases:
//
//   - echo: 100 connections, 1 and 16 messages in flight, 32 B, 4 KiB and
//     16 KiB text messages (UTF-8 checked by every server);
//   - idle: 9,000 connections opened and held; the server's resident memory
//     per connection and the upgrades per second;
//   - broadcast: 1,000 connections in a room, one sender keeping 4 messages
//     of 128 B in flight (paced by the deliveries), compared by deliveries
//     per server CPU-second, against the ceiling's broadcast too;
//   - slow readers: 1,000 connections echoing 16 KiB messages, one in
//     flight, of which 10% stop reading after the warm-up and keep writing;
//     the others' throughput and latency, the server's peak memory; and,
//     run before it, the same echo without slow readers, whose throughput
//     per connection the others' is compared with;
//   - deflate (not run unless -scenarios names it): the echo with
//     permessage-deflate (no context takeover), 100 connections, 16 in
//     flight, 1 KiB and 16 KiB of JSON-like text compressed once ahead of
//     time by the loader; every server that accepts the offer (not the
//     ceiling, not gobwasecho) inflates each message and compresses each
//     echo.
//
// Output in -out: results.jsonl (one line per run: server, case, round and
// the loader's JSON), tables.md, and the charts (PNG).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/load"
)

// server is a contender: the command that starts it, and whether it
// serves /broadcast.
type server struct {
	name      string
	version   string
	args      []string // program (in -bin) and arguments
	broadcast bool
	deflate   bool // takes -deflate: accepts permessage-deflate
}

var servers = []server{
	{"ceiling", "bench/cmd/ceiling", []string{"ceiling", "-addr", "127.0.0.1:0"}, true, false},
	{"tachyon", "this tree (reactor, 1 loop)", []string{"tachyon", "echo", "-driver", "reactor", "-loops", "1", "-addr", "127.0.0.1:0"}, true, true},
	{"gorilla", "gorilla/websocket v1.5.3", []string{"gorillaecho", "-addr", "127.0.0.1:0"}, true, true},
	{"gobwas", "gobwas/ws v1.5.0", []string{"gobwasecho", "-addr", "127.0.0.1:0"}, true, false},
	{"gws", "lxzan/gws v1.8.9", []string{"gwsecho", "-addr", "127.0.0.1:0"}, true, true},
	{"nbio", "lesismal/nbio v1.6.8", []string{"nbioecho", "-addr", "127.0.0.1:0"}, true, true},
	{"coder", "coder/websocket v1.8.15", []string{"coderecho", "-addr", "127.0.0.1:0"}, true, true},
}

// kase is one loader configuration, run against every server.
type kase struct {
	Scenario string `json:"scenario"` // echo, idle, broadcast
	Size     int    `json:"size"`
	Inflight int    `json:"inflight"`
	Conns    int    `json:"conns"`
}

func (k kase) String() string {
	switch k.Scenario {
	case "echo":
		return fmt.Sprintf("echo %s ×%d%s", sizeName(k.Size), k.Inflight, connsNote(k))
	case "broadcast":
		return fmt.Sprintf("broadcast %d×%s", k.Conns, sizeName(k.Size))
	case "slow":
		return fmt.Sprintf("slow readers %d×%s", k.Conns, sizeName(k.Size))
	case "slow-base":
		return fmt.Sprintf("slow readers' baseline %d×%s", k.Conns, sizeName(k.Size))
	case "deflate":
		return fmt.Sprintf("deflate echo %s ×%d", sizeName(k.Size), k.Inflight)
	}
	return fmt.Sprintf("idle %d", k.Conns)
}

// record is one line of results.jsonl.
type record struct {
	Server string       `json:"server"`
	Case   kase         `json:"case"`
	Round  int          `json:"round"`
	Result *load.Result `json:"result,omitempty"`
	Error  string       `json:"error,omitempty"`
}

type config struct {
	bin, out   string
	rounds     int
	dur        time.Duration
	warmup     time.Duration
	idleConns  int
	bcastConns int
	scenarios  []string
	only       []string
	long       bool
	pin        [2][]string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "directory of the binaries (required)")
	flag.StringVar(&cfg.out, "out", "bench-out", "directory for results.jsonl, tables.md and the charts")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds (medians are taken over them)")
	flag.DurationVar(&cfg.dur, "dur", 2*time.Second, "measured window of an echo or broadcast run")
	flag.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "warm-up of an echo or broadcast run")
	flag.IntVar(&cfg.idleConns, "idle", 9000, "connections of the idle case")
	flag.IntVar(&cfg.bcastConns, "receivers", 1000, "connections of the broadcast case")
	flag.BoolVar(&cfg.long, "long", false, "the longer run: adds echo with 1,000 connections and 1 KiB, 16 in flight, and broadcasts to 5,000 receivers")
	scen := flag.String("scenarios", "echo,idle,broadcast,slow", "cases to run: echo, idle, broadcast, slow (with its baseline), deflate")
	only := flag.String("servers", "", "servers to run, comma-separated (default: all)")
	tablesOnly := flag.Bool("tables", false, "do not run: read results.jsonl in -out and write the tables and charts again")
	microIn := flag.String("micro", "", "only turn this go test -bench output into tables-micro.md in -out")
	flag.Parse()
	if *microIn != "" {
		if err := microTables(*microIn, cfg.out); err != nil {
			fatal(err)
		}
		return
	}
	cfg.scenarios = strings.Split(*scen, ",")
	if *only != "" {
		cfg.only = strings.Split(*only, ",")
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		fatal(err)
	}
	if !*tablesOnly {
		if cfg.bin == "" {
			fatal(errors.New("-bin is required"))
		}
		if err := run(&cfg); err != nil {
			fatal(err)
		}
	}
	recs, err := readResults(filepath.Join(cfg.out, "results.jsonl"))
	if err != nil {
		fatal(err)
	}
	if err := writeTables(filepath.Join(cfg.out, "tables.md"), recs); err != nil {
		fatal(err)
	}
	if err := writeCharts(cfg.out, recs); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "tables and charts in %s\n", cfg.out)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

func (cfg *config) cases() []kase {
	var ks []kase
	for _, s := range cfg.scenarios {
		switch s {
		case "echo":
			for _, size := range []int{32, 4096, 16384} {
				for _, inflight := range []int{1, 16} {
					ks = append(ks, kase{"echo", size, inflight, 100})
				}
			}
			if cfg.long {
				ks = append(ks, kase{"echo", 1 << 10, 16, 1000})
			}
		case "idle":
			ks = append(ks, kase{"idle", 0, 0, cfg.idleConns})
		case "broadcast":
			ks = append(ks, kase{"broadcast", 128, 4, cfg.bcastConns})
			if cfg.long {
				ks = append(ks, kase{"broadcast", 128, 4, 5000})
			}
		case "deflate":
			for _, size := range []int{1 << 10, 16 << 10} {
				ks = append(ks, kase{"deflate", size, 16, 100})
			}
		case "slow":
			// The same echo without slow readers first: what the others'
			// throughput per connection is compared with.
			ks = append(ks, kase{"slow-base", 16 << 10, 1, 1000}, kase{"slow", 16 << 10, 1, 1000})
		}
	}
	return ks
}

func (cfg *config) servers(k kase) []server {
	var ss []server
	for _, s := range servers {
		if cfg.only != nil && !slices.Contains(cfg.only, s.name) {
			continue
		}
		if k.Scenario == "broadcast" && !s.broadcast || k.Scenario == "deflate" && !s.deflate {
			continue
		}
		ss = append(ss, s)
	}
	return ss
}

// runTime estimates a run's length, for the progress line.
func (cfg *config) runTime(k kase) time.Duration {
	switch k.Scenario {
	case "idle":
		return 8 * time.Second
	case "broadcast", "slow", "slow-base", "deflate":
		return cfg.warmup + cfg.dur + 3*time.Second
	}
	return cfg.warmup + cfg.dur + time.Second
}

func run(cfg *config) error {
	if _, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() >= 2 {
		cfg.pin = [2][]string{{"taskset", "-c", "0"}, {"taskset", "-c", "1"}}
	} else {
		fmt.Fprintln(os.Stderr, "warning: no taskset or fewer than 2 CPUs: server and loader are not pinned")
	}
	f, err := os.Create(filepath.Join(cfg.out, "results.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	var total, done int
	var left time.Duration
	for _, k := range cfg.cases() {
		n := len(cfg.servers(k)) * cfg.rounds
		total += n
		left += time.Duration(n) * cfg.runTime(k)
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "%d runs, about %v\n", total, left.Round(time.Minute))
	for _, k := range cfg.cases() {
		for round := 1; round <= cfg.rounds; round++ {
			for _, s := range cfg.servers(k) {
				res, err := cfg.runOne(s, k)
				rec := record{Server: s.name, Case: k, Round: round, Result: res}
				line := ""
				switch {
				case err != nil:
					rec.Error = err.Error()
					line = "FAILED: " + err.Error()
				case k.Scenario == "slow":
					line = fmt.Sprintf("%s msgs/s (the %d others), p99 %.0f µs, server RSS %d → %d KiB", thousands(res.MsgsPerSec), res.Open-res.SlowReaders, res.P99us, res.RSSBeforeKB, res.RSSPeakKB)
				case k.Scenario == "idle":
					line = fmt.Sprintf("%d open, %.0f B/conn, %.0f upgrades/s", res.Open, res.BytesPerConn, res.UpgradesPerSec)
				default:
					line = fmt.Sprintf("%s msgs/s, p99 %.0f µs, server %.2f cores, loader %.2f", thousands(res.MsgsPerSec), res.P99us, res.ServerCPU, res.LoaderCPU)
				}
				if res != nil && res.Errors > 0 {
					line += fmt.Sprintf(" (%d errors)", res.Errors)
				}
				if err := enc.Encode(rec); err != nil {
					return err
				}
				done++
				left -= cfg.runTime(k)
				fmt.Fprintf(os.Stderr, "[%3d/%d %s, ~%s left] %s round %d %s: %s\n", done, total,
					time.Since(start).Round(time.Second), max(left, 0).Round(10*time.Second), k, round, s.name, line)
			}
		}
	}
	return nil
}

// runOne starts s, runs the loader of k against it and stops it.
func (cfg *config) runOne(s server, k kase) (*load.Result, error) {
	argv := append(slices.Clone(cfg.pin[0]), filepath.Join(cfg.bin, s.args[0]))
	argv = append(argv, s.args[1:]...)
	if k.Scenario == "deflate" {
		argv = append(argv, "-deflate")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer stop(cmd)
	addr, err := listening(stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %v %s", s.name, err, logs.String())
	}
	path := "/"
	args := []string{"load", "-json", "-pid", fmt.Sprint(cmd.Process.Pid), "-procs", "1", "-type", "text", "-c", fmt.Sprint(k.Conns)}
	switch k.Scenario {
	case "echo", "slow-base", "deflate":
		args = append(args, "-size", fmt.Sprint(k.Size), "-inflight", fmt.Sprint(k.Inflight), "-d", cfg.dur.String(), "-warmup", cfg.warmup.String())
		if k.Scenario == "deflate" {
			args = append(args, "-deflate")
		}
	case "idle":
		args = append(args, "-mode", "idle", "-d", "1s")
	case "slow":
		args = append(args, "-size", fmt.Sprint(k.Size), "-inflight", fmt.Sprint(k.Inflight), "-slow", "0.1", "-d", cfg.dur.String(), "-warmup", cfg.warmup.String())
	case "broadcast":
		path = "/broadcast"
		args = append(args, "-mode", "broadcast", "-interval", "0", "-size", fmt.Sprint(k.Size), "-inflight", fmt.Sprint(k.Inflight), "-d", cfg.dur.String(), "-warmup", cfg.warmup.String())
	}
	args = append(args, "-url", "ws://"+addr+path)
	argv = append(slices.Clone(cfg.pin[1]), filepath.Join(cfg.bin, "tachyon"))
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lc := exec.CommandContext(ctx, argv[0], argv[1:]...)
	lc.Env = append(os.Environ(), "GOMAXPROCS=1")
	var lerr strings.Builder
	lc.Stderr = &lerr
	out, err := lc.Output()
	var res load.Result
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		return nil, fmt.Errorf("loader: %v: %s", err, lastLines(lerr.String(), 3))
	}
	return &res, nil
}

// listening waits for the server's "listening ADDR" line.
func listening(stdout interface{ Read([]byte) (int, error) }) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				found <- a
				break
			}
		}
		close(found)
		for sc.Scan() { // drain whatever else it prints
		}
	}()
	select {
	case a, ok := <-found:
		if !ok {
			return "", errors.New("exited before listening")
		}
		return a, nil
	case <-time.After(10 * time.Second):
		return "", errors.New("no 'listening' line within 10 s")
	}
}

// stop sends SIGTERM, then SIGKILL after 3 s.
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

func readResults(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []record
	dec := json.NewDecoder(f)
	for dec.More() {
		var r record
		if err := dec.Decode(&r); err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

func sizeName(n int) string {
	switch {
	case n >= 1024 && n%1024 == 0:
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// thousands formats x rounded, with separators: 1,234,567.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// connsNote names the connections of an echo case that does not have the
// usual 100.
func connsNote(k kase) string {
	if k.Conns == 100 {
		return ""
	}
	return fmt.Sprintf(", %s conns", thousands(float64(k.Conns)))
}

// label is s's name in the tables: with its library's version, for a peer.
func (s server) label() string {
	if i := strings.LastIndex(s.version, " v"); i >= 0 {
		return s.name + s.version[i:]
	}
	return s.name
}

// libLabel is lib's name in the micro-benchmark tables: with the version
// bench/go.mod pins, for a library that is also a server of the comparison.
func libLabel(lib string) string {
	for _, s := range servers {
		if s.name == lib {
			return s.label()
		}
	}
	return lib
}
