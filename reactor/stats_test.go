package reactor

import (
	"io"
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
