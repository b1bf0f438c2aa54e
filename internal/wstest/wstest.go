// Package wstest serves what the loader's tests and the tachyon command's
// tests load: an echo, a broadcast hub and a refusal, on loopback.
package wstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tachyonws/tachyon/engine"
)

// echo echoes every message (the engine's blocking driver).
type echo struct{ engine.BaseHandler }

func (echo) OnMessage(s engine.Socket, op engine.OpCode, p []byte) { _ = s.WriteMessage(op, p) }

// hub sends every message to every connection it holds.
type hub struct {
	engine.BaseHandler
	mu    sync.Mutex
	conns map[engine.Socket]bool
}

func (b *hub) OnOpen(s engine.Socket) {
	b.mu.Lock()
	b.conns[s] = true
	b.mu.Unlock()
}

func (b *hub) OnClose(s engine.Socket, _ engine.StatusCode, _ string) {
	b.mu.Lock()
	delete(b.conns, s)
	b.mu.Unlock()
}

func (b *hub) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.conns {
		_ = c.WriteMessage(op, p)
	}
}

// Server serves, on loopback until the test ends, /broadcast (every message
// to every connection there), /forbidden (403) and an echo on any other
// path, with the net/http driver; comp, when set, accepts
// permessage-deflate. It returns the ws:// URL of its root.
func Server(t testing.TB, comp *engine.Compression) string {
	up := &engine.Upgrader{Handshake: engine.ServerHandshake{
		CheckOrigin: func(*engine.Request) bool { return true },
		Compression: comp,
	}}
	h := &hub{conns: map[engine.Socket]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var handler engine.Handler = echo{}
		switch r.URL.Path {
		case "/broadcast":
			handler = h
		case "/forbidden":
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		c, err := up.Upgrade(w, r, handler)
		if err != nil {
			return
		}
		_ = c.Serve()
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}
