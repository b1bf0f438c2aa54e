package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

//go:embed demo/index.html
var demoPage []byte

// serveMain runs the demo: a page at / with an echo box, a chat room
// (broadcast through the reactor) and the server's live stats. It keeps the
// library's default same-origin check.
func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	loops := fs.Int("loops", 0, "event loops; 0 means one per CPU")
	deflate := fs.Bool("deflate", true, "accept permessage-deflate (RFC 7692; browsers offer it on every connection)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var comp *engine.Compression
	if *deflate {
		comp = &engine.Compression{} // level 1, no context takeover: nothing kept per connection
	}
	var srv *reactor.Server
	chat := &chatRoom{names: map[string]bool{}}
	srv = reactor.New(reactor.Options{
		Loops:     *loops,
		Liveness:  engine.Liveness{PingInterval: 20 * time.Second, ReadTimeout: time.Minute},
		Handshake: engine.ServerHandshake{Compression: comp}, // same-origin only: CheckOrigin is nil
		Route: func(r *engine.Request) engine.Handler {
			switch string(r.Path()) {
			case "/echo":
				return echoHandler{}
			case "/chat":
				return chat.join(r)
			}
			return nil
		},
		Fallback: func(r *engine.Request) reactor.Response {
			switch string(r.Path()) {
			case "/":
				return reactor.Response{ContentType: "text/html; charset=utf-8", Body: demoPage}
			case "/stats":
				b, _ := json.Marshal(srv.Stats())
				return reactor.Response{ContentType: "application/json", Body: b,
					Header: [][2]string{{"Cache-Control", "no-store"}}}
			}
			return reactor.Response{Status: 404, ContentType: "text/plain; charset=utf-8", Body: []byte("not found\n")}
		},
	})
	chat.room = srv.Group("chat")
	if err := srv.Start(*addr); err != nil {
		return err
	}
	srv.PublishExpvar("tachyon")
	fmt.Printf("Tachyon demo: open http://%s/ in a browser (echo box, chat room, live stats). Ctrl-C stops it.\n", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveUntil(ctx, srv)
}

// chatRoom is the demo's chat: each member has a name (asked for in the
// URL, /chat?name=ann, made unique; "guest-N" when none is given), every
// text message goes to everyone in the room, its sender included, as
// "name: text", and the room's members are announced on every join and
// leave as {"members": [...]}.
type chatRoom struct {
	room   *reactor.Group
	mu     sync.Mutex
	names  map[string]bool
	guests int
}

// member is one connection's handler in the room.
type member struct {
	engine.BaseHandler
	chat *chatRoom
	want string // the name asked for
	name string // the name given, set in OnOpen
}

// join is the Route for /chat: a handler per connection, which knows its
// member's name.
func (c *chatRoom) join(r *engine.Request) engine.Handler {
	want, _ := r.Query("name")
	return &member{chat: c, want: cleanName(want)}
}

// maxName bounds a chat name, in characters.
const maxName = 24

// cleanName keeps the printable characters of a name asked for, at most
// maxName of them, without the leading characters the page gives a
// meaning to ('*' for the room's notices, '{' for the member list).
func cleanName(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "") {
		if n == maxName {
			break
		}
		if !unicode.IsPrint(r) || (b.Len() == 0 && (r == ' ' || r == '*' || r == '{')) {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

func (m *member) OnOpen(s engine.Socket) {
	c := m.chat
	c.mu.Lock()
	name := m.want
	if name == "" {
		c.guests++
		name = "guest-" + strconv.Itoa(c.guests)
	}
	for i, base := 2, name; c.names[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	c.names[name] = true
	m.name = name
	list := c.membersLocked()
	c.mu.Unlock()
	c.room.Add(s)
	_ = s.WriteMessage(engine.OpText, []byte("* you are "+name))
	c.room.Broadcast(engine.NewPrepared(engine.OpText, []byte("* "+name+" joined")))
	c.room.Broadcast(engine.NewPrepared(engine.OpText, list))
}

func (m *member) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	if op != engine.OpText || len(p) > 4096 {
		return
	}
	line := make([]byte, 0, len(m.name)+2+len(p))
	line = append(append(append(line, m.name...), ": "...), p...)
	m.chat.room.Broadcast(engine.NewPrepared(engine.OpText, line))
}

func (m *member) OnClose(engine.Socket, engine.StatusCode, string) {
	c := m.chat
	if m.name == "" {
		return // never opened
	}
	c.mu.Lock()
	delete(c.names, m.name)
	list := c.membersLocked()
	c.mu.Unlock()
	c.room.Broadcast(engine.NewPrepared(engine.OpText, []byte("* "+m.name+" left")))
	c.room.Broadcast(engine.NewPrepared(engine.OpText, list))
}

// membersLocked returns the member list message. c.mu is held.
func (c *chatRoom) membersLocked() []byte {
	names := make([]string, 0, len(c.names))
	for n := range c.names {
		names = append(names, n)
	}
	slices.Sort(names)
	b, _ := json.Marshal(struct {
		Members []string `json:"members"`
	}{names})
	return b
}
