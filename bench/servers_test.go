package bench

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// peerServers are the echo servers of cmd/ that stand for the peers.
var peerServers = []string{"gorillaecho", "gobwasecho", "gwsecho", "nbioecho", "coderecho"}

// TestPeerServers builds each peer's echo server and holds it to what the
// comparison promises of them (bench/doc.go, BENCHMARKS.md): it echoes text
// and binary messages, ping is answered, a text message that is not UTF-8
// is not echoed and ends the connection, a message of 16 MiB is echoed and
// one of 16 MiB + 1 is not and ends the connection.
func TestPeerServers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five servers")
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + "/"}
	for _, s := range peerServers {
		args = append(args, "./cmd/"+s)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, name := range peerServers {
		t.Run(name, func(t *testing.T) {
			addr := startServer(t, filepath.Join(dir, name))
			dial := func() *websocket.Conn {
				t.Helper()
				d := websocket.Dialer{ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
				c, _, err := d.Dial("ws://"+addr+"/", nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				return c
			}
			echoes := func(c *websocket.Conn, typ int, p []byte) {
				t.Helper()
				if err := c.WriteMessage(typ, p); err != nil {
					t.Fatal(err)
				}
				gt, got, err := c.ReadMessage()
				if err != nil || gt != typ || !bytes.Equal(got, p) {
					t.Fatalf("%d bytes of type %d: %d bytes of type %d back, %v", len(p), typ, len(got), gt, err)
				}
			}
			// refused: p is not echoed, and the connection ends (with a
			// close frame or without).
			refused := func(c *websocket.Conn, typ int, p []byte, what string) {
				t.Helper()
				if err := c.WriteMessage(typ, p); err != nil {
					return // the server closed while it was written: refused
				}
				gt, got, err := c.ReadMessage()
				if err == nil {
					t.Fatalf("%s: echoed (%d bytes of type %d)", what, len(got), gt)
				}
				var ce *websocket.CloseError
				var ne net.Error
				if !errors.As(err, &ce) && errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("%s: the connection stayed open", what)
				}
				t.Logf("%s: %v", what, err)
			}

			c := dial()
			echoes(c, websocket.TextMessage, []byte("héllo, wörld"))
			echoes(c, websocket.BinaryMessage, []byte{0, 0xff, 0xc3, 0x28})
			pong := make(chan string, 1)
			c.SetPongHandler(func(s string) error { pong <- s; return nil })
			if err := c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			echoes(c, websocket.TextMessage, []byte("after the ping")) // reads the pong on the way
			select {
			case s := <-pong:
				if s != "hi" {
					t.Fatalf("pong %q", s)
				}
			default:
				t.Fatal("no pong")
			}
			echoes(c, websocket.BinaryMessage, bytes.Repeat([]byte{7}, 16<<20))
			refused(c, websocket.TextMessage, []byte("bad \xc3\x28 UTF-8"), "invalid UTF-8")
			refused(dial(), websocket.BinaryMessage, make([]byte, 16<<20+1), "16 MiB + 1")
		})
	}
}

// startServer runs the echo server at path on a free loopback port until
// the test ends, and returns its address.
func startServer(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(path, "-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				found <- a
			}
		}
	}()
	select {
	case a := <-found:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no 'listening' line")
		return ""
	}
}
