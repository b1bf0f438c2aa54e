package reactor

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tachyonws/tachyon/engine"
)

// Stats count consistently: an HTTP request answered by Fallback is no
// WebSocket, and bytes out count its answer as bytes in count its request.
func TestStatsConsistent(t *testing.T) {
	body := strings.Repeat("x", 1000)
	s, url := start(t, Options{Handler: echo{}, Fallback: func(*engine.Request) Response {
		return Response{ContentType: "text/plain", Body: []byte(body)}
	}})
	before := s.Stats()
	resp, err := http.Get("http" + strings.TrimPrefix(url, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != body {
		t.Fatalf("fallback answered %d bytes", len(got))
	}
	after := s.Stats()
	if after.Fallbacks != before.Fallbacks+1 || after.WebSockets != 0 || after.Upgrades != 0 {
		t.Fatalf("after a fallback request: %d fallbacks, %d WebSockets, %d upgrades", after.Fallbacks, after.WebSockets, after.Upgrades)
	}
	if out := after.BytesOut - before.BytesOut; out < uint64(len(body)) {
		t.Fatalf("bytes out grew by %d for a %d-byte answer", out, len(body))
	}
	if in := after.BytesIn - before.BytesIn; in == 0 {
		t.Fatal("bytes in did not count the request")
	}

	c, rec := dial(t, url)
	if st := s.Stats(); st.WebSockets != 1 || st.Upgrades != 1 {
		t.Fatalf("with one client: %d WebSockets, %d upgrades", st.WebSockets, st.Upgrades)
	}
	_ = c.Close(engine.StatusNormalClosure, "")
	waitFor(t, rec.closes, "the close")
	// The server's close is counted before its echo leaves, so the
	// client's OnClose comes after it.
	if st := s.Stats(); st.WebSockets != 0 {
		t.Fatalf("after the close: %d WebSockets", st.WebSockets)
	}
}

// BytesIn and BytesOut count exactly what crossed the socket, each way the
// same things: a plain HTTP request and its answer, and a connection's
// handshake, frames (one sent in two pieces) and closing handshake, as the
// peer counts them.
func TestStatsBytesExact(t *testing.T) {
	s, url := start(t, Options{Handler: echo{}, Loops: 1, Fallback: func(*engine.Request) Response {
		return Response{ContentType: "text/plain", Body: []byte("page")}
	}})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
	before := s.Stats()
	var sent, got int
	// exchange writes each piece, then reads until the server closes.
	exchange := func(pieces ...[]byte) []byte {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, p := range pieces {
			if _, err := c.Write(p); err != nil {
				t.Fatal(err)
			}
			sent += len(p)
		}
		all, _ := io.ReadAll(c)
		got += len(all)
		return all
	}

	if ans := exchange([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); !strings.HasSuffix(string(ans), "page") {
		t.Fatalf("fallback answered %q", ans)
	}
	mask := func(op byte, p string) []byte {
		key := [4]byte{1, 2, 3, 4}
		f := append([]byte{0x80 | op, 0x80 | byte(len(p))}, key[:]...)
		for i := range len(p) {
			f = append(f, p[i]^key[i%4])
		}
		return f
	}
	hs := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	msg := mask(0x1, "hello, stats")
	closeFrame := mask(0x8, "\x03\xe8")
	ans := exchange([]byte(hs[:20]), []byte(hs[20:]), msg[:5], msg[5:], closeFrame)
	if !strings.Contains(string(ans), "101 Switching Protocols") || !strings.Contains(string(ans), "hello, stats") {
		t.Fatalf("the connection got %q", ans)
	}

	after := s.Stats()
	if in := after.BytesIn - before.BytesIn; in != uint64(sent) {
		t.Errorf("BytesIn grew by %d, the peer sent %d", in, sent)
	}
	if out := after.BytesOut - before.BytesOut; out != uint64(got) {
		t.Errorf("BytesOut grew by %d, the peer received %d", out, got)
	}
}
