// Command gwsecho is an echo WebSocket server on lxzan/gws, the way its
// documentation writes one: its own server (gws.NewServer, no net/http), an
// event handler whose OnMessage writes the message back, each connection's
// ReadLoop on its goroutine, ParallelEnabled off (messages of a connection
// handled in order on its read goroutine), UTF-8 checked, read limit 16 MiB,
// compression off.
//
//	gwsecho -addr 127.0.0.1:9006
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT. It accepts any Origin.
package main

import (
	"context"
	"net"

	"github.com/lxzan/gws"
	"github.com/tachyonws/tachyon/bench/internal/serve"
)

// handler echoes; BuiltinEventHandler does nothing for the other events.
type handler struct{ gws.BuiltinEventHandler }

func (handler) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

func main() {
	serve.Main("gwsecho", func(ctx context.Context, ln net.Listener) error {
		srv := gws.NewServer(handler{}, &gws.ServerOption{
			ParallelEnabled:    false,
			CheckUtf8Enabled:   true,
			ReadMaxPayloadSize: serve.ReadLimit,
		})
		go func() {
			<-ctx.Done()
			ln.Close()
		}()
		return srv.RunListener(ln)
	})
}
