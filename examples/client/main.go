// Command client sends ten messages to the echo server and prints the
// replies, giving up after five seconds.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/tachyonws/tachyon"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := tachyon.Dial(ctx, "ws://127.0.0.1:8080/ws", nil)
	if err != nil {
		log.Fatal(err) // a refused handshake: tachyon.HTTPStatus(err) is 403, 404, ...
	}
	defer c.CloseNow()
	for i := range 10 {
		if err := c.Write(ctx, tachyon.Text, fmt.Appendf(nil, "message %d", i)); err != nil {
			log.Fatal(err)
		}
		_, reply, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err) // context.DeadlineExceeded once the five seconds are up
		}
		fmt.Printf("%s\n", reply)
	}
	if err := c.Close(tachyon.StatusNormalClosure, "done"); err != nil {
		log.Fatal(err)
	}
}
