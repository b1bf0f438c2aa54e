package main

import "syscall"

// setRcvBuf sets SO_RCVBUF on a socket before it connects, so that the
// window it advertises stays small.
func setRcvBuf(c syscall.RawConn, n int) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
	})
	if err != nil {
		return err
	}
	return serr
}

// unnice gives process pid the normal scheduling priority (nice 0).
func unnice(pid int) error { return syscall.Setpriority(syscall.PRIO_PROCESS, pid, 0) }
