package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/tachyonws/tachyon/load"
)

// loadMain is `tachyon load`.
func loadMain(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return runLoad(ctx, args, os.Stdout, os.Stderr)
}

// runLoad parses args and runs the load (package load); the report goes to
// stdout (or, with -json, one JSON line goes to stdout and the report to
// stderr), the progress lines and warnings to stderr.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := load.Config{Progress: stderr}
	fs.StringVar(&cfg.URL, "url", "", "server URL, ws://HOST:PORT/PATH (required)")
	fs.IntVar(&cfg.Conns, "c", 100, "connections")
	fs.IntVar(&cfg.Inflight, "inflight", 1, "echo: messages in flight per connection; broadcast with -interval 0: messages in flight")
	size := fs.Int("size", 32, "payload bytes per message")
	typ := fs.String("type", "binary", "message type: text or binary")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "measured duration (idle: how long the connections are held)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up before measuring, not counted (echo, broadcast)")
	fs.DurationVar(&cfg.Interval, "interval", 10*time.Millisecond, "broadcast: time between two messages of the sender; 0: as fast as the receivers take them, -inflight at a time")
	procs := fs.Int("procs", 1, "GOMAXPROCS of the loader, and its number of event loops (-io epoll)")
	mode := fs.String("mode", "echo", "echo, idle or broadcast")
	fs.IntVar(&cfg.PID, "pid", 0, "the server's PID (Linux): idle mode measures its memory per connection, echo and broadcast its CPU use")
	asJSON := fs.Bool("json", false, "print one line of JSON on stdout (the report goes to stderr)")
	fs.Float64Var(&cfg.SlowReaders, "slow", 0, "echo: share of the connections (0 to 1) that stop reading after the warm-up and keep writing")
	fs.StringVar(&cfg.Origin, "origin", "", "Origin header to send (none by default)")
	fs.BoolVar(&cfg.Deflate, "deflate", false, "echo, idle: offer permessage-deflate and send JSON-like messages compressed (idle: one echo each before holding)")
	fs.BoolVar(&cfg.DeflateTakeover, "deflate-takeover", false, "with -deflate: offer context takeover (client window 4 KiB; -size at most 4096)")
	ioFlag := fs.String("io", "", "echo, broadcast: epoll (event loops on raw epoll, Linux; the default there; broadcast runs one) or net (a goroutine per connection)")
	cpuprofile := fs.String("cpuprofile", "", "write the loader's own CPU profile to this file")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: tachyon load -url ws://HOST:PORT/PATH [flags]

Modes:
  echo       each connection keeps -inflight messages outstanding against an
             echo server and times each echo (the default)
  idle       opens -c connections, reports upgrades/s and, with -pid, the
             server's resident memory per connection; holds them for -d
  broadcast  the first connection sends a time-stamped message every
             -interval (with -interval 0: as fast as the receivers take
             them, -inflight at a time) to a server that broadcasts it to
             every connection; each connection times the deliveries

With -pid, the report gives the server's CPU beside the loader's and warns
when the loader used as much: the loader, not the server, may then be what
saturated.

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
	if cfg.URL == "" {
		return errors.New("load: -url is required (ws://HOST:PORT/PATH)")
	}
	switch *typ {
	case "text":
		cfg.Text = true
	case "binary":
	default:
		return fmt.Errorf("load: -type %q: text or binary", *typ)
	}
	switch {
	case cfg.Conns < 1:
		return errors.New("load: -c must be at least 1")
	case cfg.Inflight < 1:
		return errors.New("load: -inflight must be at least 1")
	case *size < 0:
		return errors.New("load: -size must not be negative")
	case cfg.Duration <= 0:
		return errors.New("load: -d must be positive")
	case cfg.Warmup < 0:
		return errors.New("load: -warmup must not be negative")
	case *procs < 1:
		return errors.New("load: -procs must be at least 1")
	case cfg.Interval < 0:
		return errors.New("load: -interval must not be negative")
	}
	if cfg.Interval == 0 {
		cfg.Interval = -1 // paced by the receivers
	}
	cfg.Size, cfg.NoPayload = *size, *size == 0
	cfg.Mode, cfg.IO, cfg.Loops = load.Mode(*mode), load.IO(*ioFlag), *procs
	prev := runtime.GOMAXPROCS(*procs)
	defer runtime.GOMAXPROCS(prev)
	// The open-file limit needs no raising: Go's os package raises the soft
	// limit to the hard one at start-up.
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
	res, err := load.Run(ctx, cfg)
	if res == nil {
		return err
	}
	w := stdout
	if *asJSON {
		b, jerr := json.Marshal(res)
		if jerr != nil {
			return jerr
		}
		fmt.Fprintf(stdout, "%s\n", b)
		w = stderr
	}
	if rerr := res.Report(w); rerr != nil {
		return rerr
	}
	return err
}
