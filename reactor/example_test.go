package reactor_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/reactor"
)

// chat relays every message to everyone in the room.
type chat struct {
	engine.BaseHandler
	room *reactor.Group
}

func (c *chat) OnOpen(s engine.Socket) { c.room.Add(s) }

func (c *chat) OnMessage(_ engine.Socket, op engine.OpCode, p []byte) {
	c.room.Broadcast(engine.NewPrepared(op, p))
}

// A chat server embedded in a program: New, then the groups, then Start,
// which returns once it listens; Shutdown closes every connection with 1001 before the loops stop.
func Example() {
	h := &chat{}
	srv := reactor.New(reactor.Options{
		Handler:  h,
		Liveness: engine.Liveness{PingInterval: 30 * time.Second, ReadTimeout: time.Minute},
	})
	h.room = srv.Group("lobby") // before Start: handlers read it on the loops
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening:", srv.Addr() != nil)

	// A client joins and says hello; the room's broadcast reaches it too.
	got := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := engine.Dial(ctx, "ws://"+srv.Addr().String()+"/", clientFunc(func(p []byte) { got <- string(p) }),
		&engine.DialOptions{Header: [][2]string{{"Origin", "http://" + srv.Addr().String()}}})
	if err != nil {
		log.Fatal(err)
	}
	go c.Serve()
	_ = c.WriteMessage(engine.OpText, []byte("hello, room"))
	fmt.Println(<-got)

	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// listening: true
	// hello, room
}

// clientFunc is a client handler that passes each message to a function.
type clientFunc func([]byte)

func (f clientFunc) OnOpen(engine.Socket)                                 {}
func (f clientFunc) OnMessage(_ engine.Socket, _ engine.OpCode, p []byte) { f(p) }
func (f clientFunc) OnClose(engine.Socket, engine.StatusCode, string)     {}
