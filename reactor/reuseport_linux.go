//go:build linux && !(mips || mipsle || mips64 || mips64le)

package reactor

import "syscall"

// holdPlaceholder: Linux balances SO_REUSEPORT listeners, so the
// placeholder may stay bound while the loops bind the same port.
const holdPlaceholder = true

// soReusePort is SO_REUSEPORT on Linux (asm-generic/socket.h; the syscall
// package does not name it).
const soReusePort = 0xf

func setReusePort(fd int) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soReusePort, 1)
}
