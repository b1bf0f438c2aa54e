package reactor

import (
	"syscall"
	"unsafe"
)

// rawWriteMax is the largest write sent with a raw system call; longer
// ones go through gnet, whose system call the scheduler accounts for.
const rawWriteMax = 64 << 10

// write hands p to the socket, on the loop. When gnet holds nothing unsent
// (idle, the common case) p goes straight to write(2) as a raw system call: the
// socket is non-blocking, so the call never blocks, and the scheduler need
// not hand the loop's P away around it. What the socket did not take, and
// every error, goes on to gnet's Write, which buffers the rest until the
// socket drains, or closes the connection on an error.
func (c *conn) write(p []byte, idle bool) {
	if idle && len(p) <= rawWriteMax {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(c.gc.Fd()), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		if errno == 0 {
			p = p[n:]
		}
		if len(p) == 0 {
			return
		}
	}
	_, _ = c.gc.Write(p)
}

// kernelUnacked returns the bytes of the socket's send queue that the peer
// has not acknowledged yet (SIOCOUTQ): what it has not taken into its
// receive buffer. -1 when it cannot be read.
func kernelUnacked(fd int) int {
	var v int32
	_, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&v)))
	if errno != 0 {
		return -1
	}
	return int(v)
}

// iovMax is the most iovecs a writev may take (IOV_MAX).
const iovMax = 1024

// writev hands bs (total bytes) to the socket, on the loop, as write does
// p: straight to writev(2) as a raw system call when gnet holds nothing
// unsent, what the socket does not take (and every error) on to gnet's
// Writev. bs is left as it was.
func (c *conn) writev(bs [][]byte, total int, idle bool) {
	lp := c.lp
	n := 0
	if idle && total <= rawWriteMax && len(bs) <= iovMax {
		iov := lp.iov[:0]
		for _, b := range bs {
			if len(b) > 0 {
				v := syscall.Iovec{Base: unsafe.SliceData(b)}
				v.SetLen(len(b))
				iov = append(iov, v)
			}
		}
		lp.iov = iov
		w, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(c.gc.Fd()), uintptr(unsafe.Pointer(unsafe.SliceData(iov))), uintptr(len(iov)))
		clear(iov) // the iovecs point into the frames: not kept alive here
		if errno == 0 {
			if int(w) == total {
				return
			}
			n = int(w)
		}
	}
	// gnet's Writev moves through the slice it is given: it gets a copy,
	// less what the socket took.
	lp.vec = append(lp.vec[:0], bs...)
	vec := lp.vec
	for n > 0 && n >= len(vec[0]) {
		n -= len(vec[0])
		vec = vec[1:]
	}
	if n > 0 {
		vec[0] = vec[0][n:]
	}
	_, _ = c.gc.Writev(vec)
	clear(lp.vec)
}
