// Command gorillaecho is an echo WebSocket server on gorilla/websocket, the
// way its users write one: net/http, one goroutine per connection reading a
// message (NextReader into a reused buffer) and writing it back
// (WriteMessage). Read limit 16 MiB. gorilla does not check that text
// messages are UTF-8 (its documentation leaves that to the application), so
// this server does, with unicode/utf8.Valid, and closes with 1007 when one is
// not.
//
//	gorillaecho -addr 127.0.0.1:9003
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT. It accepts any Origin.
package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/tachyonws/tachyon/bench/internal/serve"
)

func main() {
	serve.Main("gorillaecho", func(ctx context.Context, ln net.Listener) error {
		return serve.HTTP(ctx, ln, http.HandlerFunc(echo))
	})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// echo serves one connection: each message is read into a buffer the
// connection reuses and written back with the same type.
func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered with the HTTP error
	}
	defer c.Close()
	c.SetReadLimit(serve.ReadLimit)
	var buf bytes.Buffer
	for {
		typ, rd, err := c.NextReader()
		if err != nil {
			return // the close handshake, answered by gorilla, or an error
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return
		}
		if typ == websocket.TextMessage && !utf8.Valid(buf.Bytes()) {
			msg := websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, "invalid UTF-8")
			_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		}
		if err := c.WriteMessage(typ, buf.Bytes()); err != nil {
			return
		}
	}
}
