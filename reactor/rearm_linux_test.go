package reactor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tachyonws/tachyon/engine"
)

// A connection whose readiness report is lost — simulated here by taking
// EPOLLIN out of its registration, so that bytes arriving for it are never
// reported — is found by the tick with bytes waiting in the kernel and
// re-armed with the events it had: its message is echoed.
func TestLostEdgeIsRearmed(t *testing.T) {
	// A 100 ms handshake timeout makes the tick 10 ms.
	s, _ := start(t, Options{Handler: echo{}, Loops: 1, HandshakeTimeout: 100 * time.Millisecond})
	c := rawUpgrade(t, s.Addr().String())
	msg := []byte("before")
	if _, err := c.Write(clientFrame(engine.OpText, true, msg)); err != nil {
		t.Fatal(err)
	}
	if _, p := c.readFrame(t); string(p) != "before" {
		t.Fatalf("echo %q", p)
	}

	var lp *loop
	s.eachLoop(func(l *loop) { lp = l })
	done := make(chan error, 1)
	if err := lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		if len(lp.conns) != 1 {
			done <- nil
			return nil
		}
		sc := lp.conns[0]
		if !lp.rearm(sc) { // finds the loop's epoll set and the events
			done <- syscall.ENOENT
			return nil
		}
		ev := syscall.EpollEvent{Events: lp.epEvents &^ syscall.EPOLLIN, Fd: int32(sc.gc.Fd())}
		done <- syscall.EpollCtl(lp.epfd, syscall.EPOLL_CTL_MOD, sc.gc.Fd(), &ev)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, done, "the loop"); err != nil {
		t.Fatalf("could not take EPOLLIN out of the registration: %v", err)
	}

	if _, err := c.Write(clientFrame(engine.OpText, true, []byte("after"))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, p := c.readFrame(t); string(p) != "after" {
		t.Fatalf("echo %q", p)
	}
	if n := s.Stats().Rearmed; n == 0 {
		t.Fatalf("Stats().Rearmed = 0 after a re-armed connection")
	}
}
