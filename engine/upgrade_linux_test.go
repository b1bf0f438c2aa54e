package engine_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
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
	server := &pingSink{sink: newSink(1)}
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
			server.answeredFew(t)
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
			server.answeredFew(t)
			return
		}
	}
}

// pingSink is a sink that counts the pings it was told of.
type pingSink struct {
	*sink
	pings atomic.Int64
}

func (s *pingSink) OnPing(engine.Socket, []byte) { s.pings.Add(1) }

// answeredFew checks that a flooder was given up a few batches of pongs
// past MaxPongsOwed, not after everything it sent.
func (s *pingSink) answeredFew(t *testing.T) {
	t.Helper()
	if n := s.pings.Load(); n > 2*engine.MaxPongsOwed {
		t.Fatalf("the flooder was answered %d pings before it was given up; want at most %d", n, 2*engine.MaxPongsOwed)
	}
}
