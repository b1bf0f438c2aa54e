package tachyon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tachyonws/tachyon"
)

// An echo server on a net/http mux, beside a page. The Upgrader holds the
// options and lets the program close every connection on the way out.
func Example_echoServer() {
	var up tachyon.Upgrader
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from the page")
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, &up)
		if err != nil {
			return // the refusal (400, 403, ...) has been written
		}
		for {
			op, p, err := c.Read(r.Context())
			if err != nil {
				return // the peer closed, or the connection failed
			}
			if err := c.Write(r.Context(), op, p); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux) // or http.ListenAndServe(":8080", mux)
	defer srv.Close()
	defer up.Shutdown(context.Background()) // 1001 to every client

	c, err := tachyon.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	_ = c.Write(context.Background(), tachyon.Text, []byte("echo?"))
	_, p, _ := c.Read(context.Background())
	fmt.Printf("%s\n", p)
	// Output: echo?
}

// A client that sends ten messages and reads the replies, giving up
// after a timeout: no goroutine, no channel.
func Example_clientWithTimeout() {
	url := startEcho() // ws://127.0.0.1:port/ws

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := tachyon.Dial(ctx, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	for i := range 10 {
		if err := c.Write(ctx, tachyon.Text, fmt.Appendf(nil, "message %d", i)); err != nil {
			log.Fatal(err)
		}
		_, p, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err) // context.DeadlineExceeded after 5 s
		}
		if i == 9 {
			fmt.Printf("%s\n", p)
		}
	}
	if err := c.Close(tachyon.StatusNormalClosure, "done"); err != nil {
		log.Fatal(err)
	}
	// Output: message 9
}

// A line protocol over a WebSocket, through the net.Conn adapter: the
// program sees a byte stream, each write a message.
func ExampleConn_NetConn() {
	url := startEcho()
	c, err := tachyon.Dial(context.Background(), url, nil)
	if err != nil {
		log.Fatal(err)
	}
	nc := c.NetConn(tachyon.Text)
	defer nc.Close()

	fmt.Fprintf(nc, "PING 1\n")
	fmt.Fprintf(nc, "PING 2\n")
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	lines := bufio.NewScanner(nc)
	for i := 0; i < 2 && lines.Scan(); i++ {
		fmt.Println(lines.Text())
	}
	// Output:
	// PING 1
	// PING 2
}

// A message too large to hold, written and read as a stream; a ping that
// waits for its pong while a goroutine reads.
func ExampleConn_Writer() {
	url := startEcho()
	ctx := context.Background()
	c, err := tachyon.Dial(ctx, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	w, err := c.Writer(ctx, tachyon.Binary) // one message, in fragments
	if err != nil {
		log.Fatal(err)
	}
	for range 16 {
		_, _ = w.Write(make([]byte, 64<<10))
	}
	if err := w.Close(); err != nil { // ends the message
		log.Fatal(err)
	}
	_, r, err := c.Reader(ctx) // the echo, piece by piece
	if err != nil {
		log.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, r)
	fmt.Println(n, "bytes")

	go func() { // the pong arrives through a Read
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	if err := c.Ping(ctx); err == nil {
		fmt.Println("pong")
	}
	// Output:
	// 1048576 bytes
	// pong
}

// startEcho starts an echo server for the examples and returns its URL.
func startEcho() string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, nil)
		if err != nil {
			return
		}
		for {
			op, p, err := c.Read(r.Context())
			if err != nil {
				return
			}
			_ = c.Write(r.Context(), op, p)
		}
	}))
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}
