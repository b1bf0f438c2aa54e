package interop

import (
	"context"
	"io"
	"log"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// startReactorEcho serves h on the event-loop server, with
// permessage-deflate negotiated with comp (nil: declined). It
// has no page of its own: the Chromium test then serves the page from a
// server of its own (the browser's WebSocket is cross-origin, which the
// echo target allows).
func startReactorEcho(t *testing.T, h *echoHandler, comp *engine.Compression) (wsURL, httpBase string, stop func()) {
	t.Helper()
	s, err := reactor.Start("127.0.0.1:0", reactor.Options{
		Handler: h,
		Loops:   2,
		Handshake: engine.ServerHandshake{
			Protocols:   []string{subprotocol},
			CheckOrigin: func(*engine.Request) bool { return true },
			Compression: comp,
		},
		ErrorLog: log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}
	return "ws://" + s.Addr().String() + "/ws", "", stop
}
