// Command gwsecho is an echo WebSocket server on lxzan/gws, the way its
// documentation writes one: its own server (gws.NewServer, no net/http), an
// event handler whose OnMessage writes the message back, each connection's
// ReadLoop on its goroutine, ParallelEnabled off (messages of a connection
// handled in order on its read goroutine), UTF-8 checked, read limit 16 MiB,
// compression off (on with -deflate: gws defaults, level 1, threshold 512, no
// context takeover).
//
//	gwsecho -addr 127.0.0.1:9006
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT. It accepts any Origin. On /broadcast, a connection
// joins a room and each message it sends goes to every member.
package main

import (
	"bufio"
	"context"
	"net"
	"net/http"

	"github.com/lxzan/gws"
	"github.com/tachyonws/tachyon/bench/internal/serve"
)

// handler echoes; BuiltinEventHandler does nothing for the other events.
type handler struct{ gws.BuiltinEventHandler }

func (handler) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (handler) OnOpen(c *gws.Conn) {
	if inRoom(c) {
		room.Join(c)
	}
}

func (handler) OnClose(c *gws.Conn, _ error) { room.Leave(c) }

func (handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if inRoom(c) {
		// gws's Broadcaster encodes the frame once for every member.
		b := gws.NewBroadcaster(m.Opcode, m.Bytes())
		defer b.Close()
		room.Each(func(m *gws.Conn) { _ = b.Broadcast(m) })
		return
	}
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

var room serve.Room[*gws.Conn]

// inRoom tells whether c asked for /broadcast (kept in its session).
func inRoom(c *gws.Conn) bool {
	_, ok := c.Session().Load("broadcast")
	return ok
}

func main() {
	serve.Main("gwsecho", func(ctx context.Context, ln net.Listener) error {
		srv := gws.NewServer(handler{}, &gws.ServerOption{
			ParallelEnabled:    false,
			CheckUtf8Enabled:   true,
			ReadMaxPayloadSize: serve.ReadLimit,
			PermessageDeflate:  gws.PermessageDeflate{Enabled: *serve.Deflate},
		})
		// The request path decides the role, kept in the session.
		srv.OnRequest = func(conn net.Conn, br *bufio.Reader, r *http.Request) {
			c, err := srv.GetUpgrader().UpgradeFromConn(conn, br, r)
			if err != nil {
				conn.Close()
				return
			}
			if r.URL.Path == serve.BroadcastPath {
				c.Session().Store("broadcast", true)
			}
			c.ReadLoop()
		}
		return srv.RunListener(ln)
	})
}
