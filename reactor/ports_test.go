//go:build linux

package reactor

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func startAt(t *testing.T, addr string, loops int) (*Server, error) {
	t.Helper()
	s, err := Start(addr, Options{Handler: echo{}, Loops: loops,
		Handshake: engine.ServerHandshake{CheckOrigin: func(*engine.Request) bool { return true }}})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, nil
}

// A second server on an address in use fails with "address already in
// use", whoever holds the address; the first one still spreads its
// connections across its loops.
func TestAddressInUse(t *testing.T) {
	addr := freePort(t)
	s, err := startAt(t, addr, 4)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(addr, Options{Handler: echo{}})
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second server on %s: %v, want address already in use", addr, err)
	}
	if _, err := net.Listen("tcp", addr); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("net.Listen on the server's address: %v, want address already in use", err)
	}

	// Over many connections, the kernel's SO_REUSEPORT hash sends some to
	// every loop (all 32 on one of 4 loops: a chance of 4^-31).
	for range 32 {
		dial(t, "ws://"+addr+"/")
	}
	s.mu.Lock()
	n := len(s.loops)
	s.mu.Unlock()
	if n < 2 {
		t.Fatalf("32 connections served by %d of 4 loops", n)
	}

	// And the other way round: a port held by another program.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Start(ln.Addr().String(), Options{Handler: echo{}}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("server on a port net.Listen holds: %v, want address already in use", err)
	}
}

// After Shutdown, the port can be bound again at once, by our server or
// any other that sets SO_REUSEADDR (Go's net.Listen does), although the
// server closed its connections first and so holds their TIME_WAIT.
func TestPortFreeAfterShutdown(t *testing.T) {
	addr := freePort(t)
	s, err := startAt(t, addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	var clients []*recorder
	for i := range 8 {
		c, rec := dial(t, "ws://"+addr+"/")
		msg := []byte("hello " + strconv.Itoa(i))
		if err := c.WriteMessage(engine.OpText, msg); err != nil {
			t.Fatal(err)
		}
		if got := waitFor(t, rec.msgs, "echo"); string(got) != string(msg) {
			t.Fatalf("echo %q", got)
		}
		clients = append(clients, rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, rec := range clients {
		waitFor(t, rec.closes, "the client's OnClose")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("net.Listen on %s after Shutdown: %v", addr, err)
	}
	ln.Close()
	if _, err := startAt(t, addr, 2); err != nil {
		t.Fatalf("a new server on %s after Shutdown: %v", addr, err)
	}
}
