//go:build linux

package load

import (
	"syscall"
	"testing"

	"github.com/tachyonws/tachyon/engine"
)

// TestEpollReadAllocs: a wake-up of an established connection under
// IOEpoll — one read of k echoes, their timing, one write of k frames —
// allocates nothing, at every size, whether the echoes arrive whole or
// split across two reads.
func TestEpollReadAllocs(t *testing.T) {
	for _, size := range []int{0, 32, 4096, 16 << 10} {
		const k = 16
		client, server := socketPair(t)
		l, err := newLoader(Config{URL: "ws://127.0.0.1:1/", Inflight: k, Size: size, NoPayload: size == 0})
		if err != nil {
			t.Fatal(err)
		}
		frames := appendClientFrames(nil, k, size, engine.OpBinary, false)
		frameLen := len(frames) / k
		var echoes []byte
		for range k {
			echoes = engine.AppendFrame(echoes, engine.Header{Fin: true, OpCode: engine.OpBinary}, make([]byte, size))
		}
		ec := &echoConn{fd: client, buf: make([]byte, maxKeep), ring: newStampRing(k)}
		ec.ring.pushN(l.now(), k)
		scratch := make([]byte, readBufferSize(k, frameLen)+4096)
		drain := make([]byte, len(frames))
		half := len(echoes)/2 + 3 // splits a frame
		wake := func(part []byte) {
			writeAll(t, server, part)
			if ok, now := l.epollRead(-1, ec, scratch, frames, frameLen); !ok || now == 0 {
				t.Fatalf("size %d: epollRead failed: %v", size, l.errs)
			}
		}
		allocs := testing.AllocsPerRun(200, func() {
			wake(echoes[:half])
			wake(echoes[half:])
			for got := 0; got < len(frames); {
				n, err := syscall.Read(server, drain[got:])
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
		})
		syscall.Close(client)
		syscall.Close(server)
		if allocs != 0 {
			t.Errorf("size %d: %v allocations per wake-up", size, allocs)
		}
		// AllocsPerRun runs the function once more to warm up; no window
		// was started, so every echo is in the measured part.
		if want := int64(201 * k); ec.recv.Load() != want || ec.msgs != want || ec.hist.n != uint64(want) {
			t.Errorf("size %d: %d echoes counted, %d in the window, %d timed; want %d", size, ec.recv.Load(), ec.msgs, ec.hist.n, want)
		}
	}
}

// socketPair returns the two ends of a Unix stream socket pair with 4 MiB
// buffers each way, for a test to play the server on one end.
func socketPair(t *testing.T) (client, server int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<20)
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	}
	return fds[0], fds[1]
}

// writeAll writes all of p to fd.
func writeAll(t *testing.T, fd int, p []byte) {
	t.Helper()
	for len(p) > 0 {
		n, err := syscall.Write(fd, p)
		if err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
}
