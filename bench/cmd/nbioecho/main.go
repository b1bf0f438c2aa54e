// Command nbioecho is an echo WebSocket server on lesismal/nbio, the way its
// documentation writes one: nbhttp's engine with its own event loops
// (IOModNonBlocking, its default: no goroutine per connection), a
// websocket.Upgrader whose OnMessage writes the message back, payloads
// released after each call (ReleaseWebsocketPayload), UTF-8 checked (the
// engine's default, unicode/utf8.Valid), messages up to 16 MiB, compression
// off.
//
//	nbioecho -addr 127.0.0.1:9007
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT. It accepts any Origin. On /broadcast, a connection
// joins a room and each message it sends goes to every member.
package main

import (
	"context"
	"net"
	"net/http"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/tachyonws/tachyon/bench/internal/serve"
)

func main() {
	serve.Main("nbioecho", func(ctx context.Context, ln net.Listener) error {
		u := websocket.NewUpgrader()
		u.CheckOrigin = func(*http.Request) bool { return true }
		u.EnableCompression(*serve.Deflate)
		u.MessageLengthLimit = serve.ReadLimit
		u.OnMessage(func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
			if c.Session() != nil { // a member of the broadcast room
				// WriteMessage is safe from any goroutine.
				room.Each(func(m *websocket.Conn) { _ = m.WriteMessage(typ, data) })
				return
			}
			_ = c.WriteMessage(typ, data)
		})
		u.OnClose(func(c *websocket.Conn, _ error) { room.Leave(c) })
		engine := nbhttp.NewEngine(nbhttp.Config{
			Network: "tcp",
			Addrs:   []string{ln.Addr().String()},
			Listen:  func(string, string) (net.Listener, error) { return ln, nil }, // the one serve.Main opened
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := u.Upgrade(w, r, nil)
				if err == nil && r.URL.Path == serve.BroadcastPath {
					c.SetSession(true)
					room.Join(c)
				}
			}),
			ReleaseWebsocketPayload: true,
			MaxLoad:                 1 << 20,
		})
		if err := engine.Start(); err != nil {
			return err
		}
		<-ctx.Done()
		engine.Stop()
		return nil
	})
}

var room serve.Room[*websocket.Conn]
