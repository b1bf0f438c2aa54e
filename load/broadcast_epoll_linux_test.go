//go:build linux

package load

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/tachyonws/tachyon/engine"
)

// TestBroadcastReadAllocs: under IOEpoll, a wake-up of a broadcast
// receiver — one read of k deliveries and their timing — and a send of the
// next message allocate nothing, at every size, whether the deliveries
// arrive whole or split across two reads.
func TestBroadcastReadAllocs(t *testing.T) {
	for _, size := range []int{8, 128, 4096, 100 << 10} {
		const k = 16
		client, server := socketPair(t)
		l, err := newLoader(Config{URL: "ws://127.0.0.1:1/", Mode: Broadcast, Size: size})
		if err != nil {
			t.Fatal(err)
		}
		r := &bcastFd{fd: client, head: make([]byte, maxKeep), sc: frameScanner{need: 8}}
		b := &bcastLoop{l: l, epfd: -1, conns: []*bcastFd{r}, live: 1, end: 1 << 62,
			scratch: make([]byte, readBufferSize(1, size+engine.MaxHeaderSize)+4096),
			payload: make([]byte, size), frame: make([]byte, 0, size+engine.MaxHeaderSize), key: make([]byte, 4)}
		payload := make([]byte, size)
		putStamp(payload, l.now())
		var deliveries []byte
		for range k {
			deliveries = engine.AppendFrame(deliveries, engine.Header{Fin: true, OpCode: engine.OpBinary}, payload)
		}
		half := len(deliveries)/2 + 3 // splits a frame
		drain := make([]byte, size+engine.MaxHeaderSize)
		wake := func(part []byte) {
			writeAll(t, server, part)
			// A large part takes more than one read.
			for unread(t, client) > 0 {
				if now := b.read(r); now == 0 || r.fd < 0 {
					t.Fatalf("size %d: read failed: %v", size, l.errs)
				}
			}
		}
		allocs := testing.AllocsPerRun(100, func() {
			wake(deliveries[:half])
			wake(deliveries[half:])
			b.send(l.now())
			for got := 0; got < len(b.frame); {
				n, err := syscall.Read(server, drain[got:len(b.frame)])
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
		// AllocsPerRun runs the function once more to warm up.
		if want := int64(101 * k); b.all != want || r.msgs != want || b.hist.n != uint64(want) || b.seq != 101 {
			t.Errorf("size %d: %d deliveries counted, %d in the window, %d timed, %d sent; want %d and 101", size, b.all, r.msgs, b.hist.n, b.seq, want)
		}
	}
}

// unread returns the bytes waiting to be read on fd (FIONREAD).
func unread(t *testing.T, fd int) int {
	var n int32
	if _, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	return int(n)
}
