// Package serve holds what the echo servers of bench/cmd share: the flag,
// the "listening ADDR" line the drivers wait for, and the signal that stops
// them.
package serve

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Deflate is the -deflate flag every echo server takes: accept
// permessage-deflate offers, in the library's default compression mode
// (level 1 where it can be set, no context takeover where that is a
// choice), for the compressed echo scenarios. gobwasecho does not take
// it (gobwas/ws's wsflate would need a codec of the server's own).
var Deflate = flag.Bool("deflate", false, "accept permessage-deflate (RFC 7692) offers")

// ReadLimit is the largest message every server of the comparison accepts:
// 16 MiB, Tachyon's default.
const ReadLimit = 16 << 20

// Main parses -addr, listens on it, prints "listening ADDR" and calls run
// with the listener and a context that ends on SIGTERM or SIGINT. It
// returns when the context ends (whether run has returned or not: some
// servers have no way to stop), and ends the process with status 1 when run
// returns an error first.
func Main(name string, run func(ctx context.Context, ln net.Listener) error) {
	addr := flag.String("addr", "127.0.0.1:0", "listen address HOST:PORT")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err == nil {
		fmt.Printf("listening %s\n", ln.Addr())
		errc := make(chan error, 1)
		go func() { errc <- run(ctx, ln) }()
		select {
		case err = <-errc:
		case <-ctx.Done():
		}
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}

// HTTP serves h on ln until ctx ends. Hijacked connections are not the
// server's to wait for: the process exit ends them.
func HTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return srv.Close()
	}
}

// Room is the set of connections of the broadcast scenario: every message
// one of them sends goes to all of them. Its methods are safe from any
// goroutine.
type Room[C comparable] struct {
	mu      sync.RWMutex
	members map[C]struct{}
}

// Join adds c.
func (r *Room[C]) Join(c C) {
	r.mu.Lock()
	if r.members == nil {
		r.members = map[C]struct{}{}
	}
	r.members[c] = struct{}{}
	r.mu.Unlock()
}

// Leave removes c.
func (r *Room[C]) Leave(c C) {
	r.mu.Lock()
	delete(r.members, c)
	r.mu.Unlock()
}

// Each calls f for every member, under the room's read lock.
func (r *Room[C]) Each(f func(C)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for c := range r.members {
		f(c)
	}
}

// BroadcastPath is the request path that joins the room; any other path is
// an echo.
const BroadcastPath = "/broadcast"
