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
// SIGTERM or SIGINT. It accepts any Origin. On /broadcast, a connection
// joins a room and each message it sends goes to every member.
package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/tachyonws/tachyon/bench/internal/serve"
)

func main() {
	serve.Main("gorillaecho", func(ctx context.Context, ln net.Listener) error {
		upgrader.EnableCompression = *serve.Deflate
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
	var me *member
	if r.URL.Path == serve.BroadcastPath {
		me = &member{c: c}
		room.Join(me)
		defer room.Leave(me)
	}
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
		if me != nil {
			broadcast(typ, buf.Bytes())
			continue
		}
		if err := c.WriteMessage(typ, buf.Bytes()); err != nil {
			return
		}
	}
}

// member is a connection of the broadcast room; gorilla allows one writer
// at a time, hence the lock.
type member struct {
	mu sync.Mutex
	c  *websocket.Conn
}

var room serve.Room[*member]

// broadcast sends p to every member as one PreparedMessage (gorilla's way
// of encoding a frame once for many connections).
func broadcast(typ int, p []byte) {
	pm, err := websocket.NewPreparedMessage(typ, p)
	if err != nil {
		return
	}
	room.Each(func(m *member) {
		m.mu.Lock()
		_ = m.c.WritePreparedMessage(pm)
		m.mu.Unlock()
	})
}
