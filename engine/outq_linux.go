package engine

import (
	"net"
	"syscall"
	"unsafe"
)

// kernelUnacked returns the bytes of conn's socket send queue that the peer
// has not acknowledged (SIOCOUTQ): what it has not taken into its receive
// buffer. 0 when it cannot be known.
func kernelUnacked(conn net.Conn) int {
	if u, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = u.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var v int32
	_ = rc.Control(func(fd uintptr) {
		if _, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&v))); errno != 0 {
			v = 0
		}
	})
	return int(v)
}
