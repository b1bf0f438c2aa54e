// Command gobwasecho is an echo WebSocket server on gobwas/ws, in the
// package's low-level, zero-copy style: net.Listener, ws.Upgrade on the raw
// connection, one goroutine per connection with a wsutil.Reader (UTF-8
// checked, frames up to 16 MiB, control frames answered by
// wsutil.ControlFrameHandler) over a bufio.Reader, and a wsutil.Writer that
// writes each message back with one write.
//
//	gobwasecho -addr 127.0.0.1:9004
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT. It accepts any Origin. On /broadcast, a connection
// joins a room and each message it sends goes to every member.
package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"sync"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/tachyonws/tachyon/bench/internal/serve"
)

func main() {
	serve.Main("gobwasecho", func(ctx context.Context, ln net.Listener) error {
		go func() {
			<-ctx.Done()
			ln.Close()
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			go echo(c)
		}
	})
}

func echo(c net.Conn) {
	defer c.Close()
	var me *member
	u := ws.Upgrader{OnRequest: func(uri []byte) error {
		if string(uri) == serve.BroadcastPath {
			me = &member{c: c}
		}
		return nil
	}}
	if _, err := u.Upgrade(c); err != nil {
		return // Upgrade has answered with the HTTP error
	}
	if me != nil {
		room.Join(me)
		defer room.Leave(me)
	}
	const state = ws.StateServerSide
	r := &wsutil.Reader{
		Source:         bufio.NewReader(c),
		State:          state,
		CheckUTF8:      true,
		MaxFrameSize:   serve.ReadLimit,
		MaxMessageSize: serve.ReadLimit,
		OnIntermediate: wsutil.ControlFrameHandler(c, state),
	}
	control := wsutil.ControlFrameHandler(c, state)
	w := wsutil.NewWriter(c, state, ws.OpText)
	var buf bytes.Buffer
	for {
		h, err := r.NextFrame()
		if err != nil {
			return
		}
		if h.OpCode.IsControl() {
			if err := control(h, r); err != nil {
				return // a close (answered) or an error
			}
			continue
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			if err == wsutil.ErrInvalidUTF8 {
				_ = ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusInvalidFramePayloadData, "invalid UTF-8")))
			}
			return
		}
		if me != nil {
			broadcast(h.OpCode, buf.Bytes())
			continue
		}
		w.Reset(c, state, h.OpCode)
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// member is a connection of the broadcast room, with a lock so that
// broadcasts from several senders do not interleave their writes.
type member struct {
	mu sync.Mutex
	c  net.Conn
}

var room serve.Room[*member]

// broadcast compiles p into a frame once (ws.CompileFrame) and writes the
// same bytes to every member.
func broadcast(op ws.OpCode, p []byte) {
	frame, err := ws.CompileFrame(ws.NewFrame(op, true, p))
	if err != nil {
		return
	}
	room.Each(func(m *member) {
		m.mu.Lock()
		_, _ = m.c.Write(frame)
		m.mu.Unlock()
	})
}
