package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// echoHandler sends every message back as it came.
type echoHandler struct{ engine.BaseHandler }

func (echoHandler) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	_ = s.WriteMessage(op, p)
}

func anyOrigin(*engine.Request) bool { return true }

// echoMain runs a bare echo server until SIGINT or SIGTERM. As a target for
// test suites (browser pages served from another port among them) it accepts
// any Origin.
func echoMain(args []string) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9001", "listen address: host:port, or unix:///abs/path (reactor only)")
	driver := fs.String("driver", "reactor", "reactor (event loops on gnet) or http (net/http + one goroutine per connection)")
	loops := fs.Int("loops", 0, "event loops for the reactor; 0 means one per CPU")
	et := fs.Bool("edge-triggered", false, "reactor: edge-triggered I/O instead of level-triggered (for comparisons; see reactor.Options.EdgeTriggered)")
	ping := fs.Duration("ping-interval", engine.DefaultPingInterval, "ping a connection silent for this long; 0 turns pings off")
	read := fs.Duration("read-timeout", engine.DefaultReadTimeout, "close (1001) a connection silent for this long; 0 turns it off")
	msg := fs.Duration("message-timeout", engine.DefaultMessageTimeout, "fail (1008) a message that takes longer to arrive; 0 turns it off")
	deflate := fs.Bool("deflate", false, "accept permessage-deflate (RFC 7692) offers")
	takeover := fs.Bool("deflate-takeover", false, "with -deflate: allow context takeover (windows kept per connection)")
	window := fs.Int("deflate-window", 15, "with -deflate: the server's window bits (8-15), and the client's asked for with -deflate-takeover")
	level := fs.Int("deflate-level", 1, "with -deflate: flate level, 1 (fastest) to 9")
	threshold := fs.Int("deflate-threshold", engine.DefaultCompressionThreshold, "with -deflate: messages shorter than this go uncompressed (-1: compress all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var comp *engine.Compression
	if *deflate {
		comp = &engine.Compression{Level: *level, Threshold: *threshold, ContextTakeover: *takeover, ServerMaxWindowBits: *window}
		if *takeover {
			comp.ClientMaxWindowBits = *window
		}
	}
	live := engine.Liveness{PingInterval: offIfZero(*ping), ReadTimeout: offIfZero(*read), MessageTimeout: offIfZero(*msg)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch *driver {
	case "http":
		return echoHTTP(ctx, *addr, live, comp)
	case "reactor":
		return echoReactor(ctx, *addr, *loops, *et, live, comp)
	default:
		return fmt.Errorf("echo: unknown driver %q (reactor or http)", *driver)
	}
}

// offIfZero maps a flag's 0 ("off") to the negative duration that turns a
// Liveness check off; a zero field would mean its default.
func offIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// echoHTTP serves the echo with net/http and the Upgrader. On SIGINT or
// SIGTERM the HTTP server stops first (no new connections), then the
// Upgrader sends 1001 to every WebSocket client and waits for them: the
// HTTP server's Shutdown does not know hijacked connections.
func echoHTTP(ctx context.Context, addr string, live engine.Liveness, comp *engine.Compression) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	up := &engine.Upgrader{Handshake: engine.ServerHandshake{CheckOrigin: anyOrigin, Compression: comp}, Liveness: live}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    engine.DefaultMaxHeaderBytes,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, echoHandler{})
			if err != nil {
				return
			}
			_ = c.Serve()
		}),
	}
	fmt.Printf("listening %s\n", ln.Addr())
	return runUntil(ctx, func() error { return srv.Serve(ln) }, func(sctx context.Context) error {
		err := srv.Shutdown(sctx)
		// What is left after 5 s is dropped; that is not an error here.
		if uerr := up.Shutdown(sctx); err == nil && !errors.Is(uerr, context.DeadlineExceeded) {
			err = uerr
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
		return err
	})
}

// echoReactor serves the echo on the event-loop server. Requests for
// /broadcast join one room instead: every message received there is sent
// to every connection of the room (for `tachyon load -mode broadcast`).
func echoReactor(ctx context.Context, addr string, loops int, edgeTriggered bool, live engine.Liveness, comp *engine.Compression) error {
	var room *reactor.Group
	opts := reactor.Options{
		Loops:     loops,
		Liveness:  live,
		Handshake: engine.ServerHandshake{CheckOrigin: anyOrigin, Compression: comp},
		Route: func(r *engine.Request) engine.Handler {
			if string(r.Path()) == "/broadcast" {
				return broadcastHandler{room}
			}
			return echoHandler{}
		},
		EdgeTriggered: edgeTriggered,
	}
	srv := reactor.New(opts)
	room = srv.Group("broadcast")
	if err := srv.Start(addr); err != nil {
		return err
	}
	fmt.Printf("listening %s\n", srv.Addr())
	return serveUntil(ctx, srv)
}

// serveUntil runs the server until ctx ends (SIGINT, SIGTERM) or the
// server stops on its own, then shuts it down gracefully.
func serveUntil(ctx context.Context, srv *reactor.Server) error {
	return runUntil(ctx, srv.Wait, func(sctx context.Context) error {
		_ = srv.Shutdown(sctx) // what is left after 5 s is dropped
		return nil
	})
}

// runUntil waits for serve to return or ctx to end; then it calls
// shutdown with five seconds to finish.
func runUntil(ctx context.Context, serve func() error, shutdown func(context.Context) error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return shutdown(sctx)
}

// broadcastHandler relays every message to the whole room.
type broadcastHandler struct{ room *reactor.Group }

func (b broadcastHandler) OnOpen(s engine.Socket) { b.room.Add(s) }

func (b broadcastHandler) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	b.room.Broadcast(engine.NewPrepared(op, p))
}

func (broadcastHandler) OnClose(engine.Socket, engine.StatusCode, string) {}
