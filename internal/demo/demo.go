// Package demo is the demo both `tachyon serve` and the cluster module's
// `tachyon-cluster serve` run: the page (an echo box, a chat room, live
// stats) and the chat room's handlers. Where the room's members are is the
// caller's: one reactor Group, or a room bridged across nodes.
package demo

import (
	_ "embed"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// Page is the demo's HTML page. It opens /echo and /chat?name=... on the
// same host and polls /stats, which answers with the reactor's Stats (a
// JSON object with at least its fields).
//
//go:embed index.html
var Page []byte

// Echo sends every message back as it came.
type Echo struct{ engine.BaseHandler }

// OnMessage echoes.
func (Echo) OnMessage(s engine.Socket, op engine.OpCode, p []byte) { _ = s.WriteMessage(op, p) }

// Room is where the chat's members are: a reactor Group on one server, or
// a room bridged across nodes.
type Room interface {
	// Join adds a member.
	Join(s engine.Socket)
	// Leave removes a member (it may have left already).
	Leave(s engine.Socket)
	// Send delivers a text message to every member, the sender included.
	Send(p []byte)
	// SendLocal delivers a text message to the members this server holds
	// (all of them on one server; on a node of a cluster, its own).
	SendLocal(p []byte)
}

// Chat is the demo's chat: each member has a name (asked for in the URL,
// /chat?name=ann, made unique among this server's members; "guest-N" when
// none is given), every text message goes to everyone in the room, its
// sender included, as "name: text", and the members this server holds are
// announced to them (SendLocal) on every join and leave as
// {"members": [...]}: on a node of a cluster, each node's page lists its
// own members, while joins, leaves and messages reach every node.
type Chat struct {
	room   Room
	mu     sync.Mutex
	names  map[string]bool
	guests int
}

// NewChat returns a chat whose members are in room.
func NewChat(room Room) *Chat { return &Chat{room: room, names: map[string]bool{}} }

// member is one connection's handler in the room.
type member struct {
	engine.BaseHandler
	chat *Chat
	want string // the name asked for
	name string // the name given, set in OnOpen
}

// Join is the Route for /chat: a handler per connection, which knows its
// member's name.
func (c *Chat) Join(r *engine.Request) engine.Handler {
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
	c.room.Join(s)
	_ = s.WriteMessage(engine.OpText, []byte("* you are "+name))
	c.room.Send([]byte("* " + name + " joined"))
	c.room.SendLocal(list)
}

func (m *member) OnMessage(s engine.Socket, op engine.OpCode, p []byte) {
	if op != engine.OpText || len(p) > 4096 {
		return
	}
	line := make([]byte, 0, len(m.name)+2+len(p))
	line = append(append(append(line, m.name...), ": "...), p...)
	m.chat.room.Send(line)
}

func (m *member) OnClose(s engine.Socket, _ engine.StatusCode, _ string) {
	c := m.chat
	if m.name == "" {
		return // never opened
	}
	c.room.Leave(s)
	c.mu.Lock()
	delete(c.names, m.name)
	list := c.membersLocked()
	c.mu.Unlock()
	c.room.Send([]byte("* " + m.name + " left"))
	c.room.SendLocal(list)
}

// membersLocked returns the member list message. c.mu is held.
func (c *Chat) membersLocked() []byte {
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

// Options returns the event-loop server's options for the demo: /echo
// (Echo), /chat (the chat's Join; chat is called per request, so it may be
// set after the server is made but before it starts), the page at /, the
// JSON of stats() at /stats and 404 otherwise; loops event loops, a ping
// after 20 s of silence, a read timeout of a minute, compression comp (nil:
// none), same-origin connections only.
func Options(loops int, comp *engine.Compression, chat func() *Chat, stats func() any) reactor.Options {
	return reactor.Options{
		Loops:     loops,
		Liveness:  engine.Liveness{PingInterval: 20 * time.Second, ReadTimeout: time.Minute},
		Handshake: engine.ServerHandshake{Compression: comp}, // CheckOrigin nil: same origin only
		Route: func(r *engine.Request) engine.Handler {
			switch string(r.Path()) {
			case "/echo":
				return Echo{}
			case "/chat":
				return chat().Join(r)
			}
			return nil
		},
		Fallback: func(r *engine.Request) reactor.Response {
			switch string(r.Path()) {
			case "/":
				return reactor.Response{ContentType: "text/html; charset=utf-8", Body: Page}
			case "/stats":
				b, _ := json.Marshal(stats())
				return reactor.Response{ContentType: "application/json", Body: b,
					Header: [][2]string{{"Cache-Control", "no-store"}}}
			}
			return reactor.Response{Status: 404, ContentType: "text/plain; charset=utf-8", Body: []byte("not found\n")}
		},
	}
}
