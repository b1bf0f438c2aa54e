// Command coderecho is an echo WebSocket server on coder/websocket, the way
// its documentation writes one: net/http, websocket.Accept, one goroutine
// per connection reading each message (Reader, into a reused buffer) and
// writing it back (Write). Compression off, read limit 16 MiB. coder does not
// check that text messages are UTF-8, so this server does, with
// unicode/utf8.Valid, and closes with 1007 when one is not.
//
//	coderecho -addr 127.0.0.1:9005
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT. It accepts any Origin. On /broadcast, a connection
// joins a room and each message it sends goes to every member.
package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/tachyonws/tachyon/bench/internal/serve"
)

func main() {
	serve.Main("coderecho", func(ctx context.Context, ln net.Listener) error {
		return serve.HTTP(ctx, ln, http.HandlerFunc(echo))
	})
}

var opts = &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}

func echo(w http.ResponseWriter, r *http.Request) {
	if *serve.Deflate {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept has answered with the HTTP error
	}
	defer c.CloseNow()
	c.SetReadLimit(serve.ReadLimit)
	ctx := context.Background()
	bcast := r.URL.Path == serve.BroadcastPath
	if bcast {
		room.Join(c)
		defer room.Leave(c)
	}
	var buf bytes.Buffer
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return // the close handshake, answered by coder, or an error
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return
		}
		if typ == websocket.MessageText && !utf8.Valid(buf.Bytes()) {
			_ = c.Close(websocket.StatusInvalidFramePayloadData, "invalid UTF-8")
			return
		}
		if bcast {
			// Write is safe from any goroutine.
			room.Each(func(m *websocket.Conn) { _ = m.Write(ctx, typ, buf.Bytes()) })
			continue
		}
		if err := c.Write(ctx, typ, buf.Bytes()); err != nil {
			return
		}
	}
}

var room serve.Room[*websocket.Conn]
