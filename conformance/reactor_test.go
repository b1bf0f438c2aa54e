package conformance

import (
	"context"
	"io"
	"log"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// reactorHandshakeTimeout is the reactor target's handshake timeout.
const reactorHandshakeTimeout = 2 * time.Second

// startReactorEcho runs the event-loop server as an echo server, with two
// loops, level-triggered (the default).
func startReactorEcho(t *testing.T) (string, func()) {
	return startReactorEchoWith(t, nil, engine.Config{})
}

// startReactorEchoWith is startReactorEcho with permessage-deflate (comp,
// nil for none) and cfg as the connections' limits.
func startReactorEchoWith(t *testing.T, comp *engine.Compression, cfg engine.Config) (string, func()) {
	s, err := reactor.Start("127.0.0.1:0", reactor.Options{
		Handler:          echo{},
		Loops:            2,
		HandshakeTimeout: reactorHandshakeTimeout,
		Handshake:        engine.ServerHandshake{CheckOrigin: func(*engine.Request) bool { return true }, Compression: comp},
		Conn:             cfg,
		ErrorLog:         log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("reactor target: Shutdown: %v", err)
		}
	}
	return "ws://" + s.Addr().String() + "/", stop
}
