package engine_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// A peer that pings and never reads is failed with 1008 "too many pings"
// once it owes MaxPongsOwed pongs, instead of keeping its Serve goroutine
// busy answering into a socket nobody reads.
func TestUpgraderPingFloodIsBounded(t *testing.T) {
	up := &engine.Upgrader{}
	server := newSink(1)
	srv := upgradeServer(t, up, server)
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", srv.Listener.Addr())
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	ping := engine.AppendFrame(nil, engine.Header{Fin: true, OpCode: engine.OpPing, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, make([]byte, 16))
	var batch []byte
	for len(batch)+len(ping) <= 64<<10 {
		batch = append(batch, ping...)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case got := <-server.closed:
			if got != "1008 too many pings" {
				t.Fatalf("server heard %q, want 1008 too many pings", got)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the server kept answering a peer that does not read")
		}
		_ = conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := conn.Write(batch); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			got := recvWithin(t, server.closed, "the server's close")
			if got != "1008 too many pings" {
				t.Fatalf("server heard %q, want 1008 too many pings", got)
			}
			return
		}
	}
}
