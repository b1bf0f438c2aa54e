package engine

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBudgetReserveRelease(t *testing.T) {
	b := NewBudget(1000)
	if !b.Reserve(600) || !b.Reserve(400) {
		t.Fatal("reservations within the limit refused")
	}
	if b.Reserve(1) {
		t.Fatal("reservation past the limit accepted")
	}
	if b.Used() != 1000 || b.Denied() != 1 {
		t.Fatalf("used %d denied %d, want 1000 and 1", b.Used(), b.Denied())
	}
	b.Release(1000)
	if b.Used() != 0 {
		t.Fatalf("used %d after release", b.Used())
	}
	var none *Budget
	if !none.Reserve(1<<40) || none.Used() != 0 {
		t.Fatal("a nil budget must allow everything")
	}
	none.Release(5)
}

func TestDefaultBudgetLimit(t *testing.T) {
	l := DefaultBudget().Limit()
	if l < minBudgetLimit || l > DefaultBudgetLimit {
		t.Fatalf("default limit %d outside [%d, %d]", l, minBudgetLimit, DefaultBudgetLimit)
	}
}

// A fragmented message larger than the budget fails the connection with
// 1008 before the budget is passed; what was reserved comes back.
func TestFeedBudgetFailsWith1008(t *testing.T) {
	b := NewBudget(64 << 10)
	piece := strings.Repeat("x", 16<<10)
	var stream []byte
	stream = append(stream, frame(RoleServer, false, OpBinary, piece)...)
	for range 8 {
		stream = append(stream, frame(RoleServer, false, OpContinuation, piece)...)
	}
	r, out, err := drive(RoleServer, Config{Budget: b}, stream, []int{len(stream)})
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err %v, want ErrBudget", err)
	}
	if CloseStatus(err) != StatusPolicyViolation {
		t.Fatalf("close status %d, want 1008", CloseStatus(err))
	}
	if len(out) < 4 || out[0] != 0x88 || out[2] != 0x03 || out[3] != 0xF0 {
		t.Fatalf("output %x is not a close 1008", out)
	}
	if b.Used() != 0 {
		t.Fatalf("budget holds %d bytes after the connection ended", b.Used())
	}
	if r.closes != 1 {
		t.Fatalf("OnClose called %d times", r.closes)
	}
}

// A long single frame is assembled in a buffer no larger than the frame,
// and its reservation is returned once it is delivered.
func TestFeedBudgetLongFrame(t *testing.T) {
	b := NewBudget(1 << 20)
	payload := strings.Repeat("y", 100_000)
	stream := frame(RoleServer, true, OpBinary, payload)
	var chunks []int
	for range len(stream)/1000 + 1 {
		chunks = append(chunks, 1000)
	}
	r, _, err := drive(RoleServer, Config{Budget: b}, stream, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.events) != 1 || b.Used() != 0 {
		t.Fatalf("events %d, budget used %d", len(r.events), b.Used())
	}
	if b.peak.Load() > 128<<10 {
		t.Fatalf("a 100,000-byte frame reserved up to %d bytes", b.peak.Load())
	}
}

func TestLivenessResolved(t *testing.T) {
	l := Liveness{ReadTimeout: -1, IdleTimeout: time.Minute}.Resolved()
	if l.PingInterval != DefaultPingInterval || l.ReadTimeout != 0 || l.IdleTimeout != time.Minute ||
		l.MessageTimeout != DefaultMessageTimeout || l.TCPKeepAlive != DefaultTCPKeepAlive {
		t.Fatalf("resolved %+v", l)
	}
	if tk := l.Tick(); tk != 500*time.Millisecond {
		t.Fatalf("tick %v", tk)
	}
	if tk := (Liveness{PingInterval: 50 * time.Millisecond}).Tick(); tk != 10*time.Millisecond {
		t.Fatalf("tick %v", tk)
	}
}
