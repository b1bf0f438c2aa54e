package reactor

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// Lost edges. Under edge-triggered I/O a connection is read only when
// epoll reports it; bytes that arrive with no report wait until more
// arrive. Measured here (2-vCPU VM, Linux 6.18, 100 connections echoing
// 16 KiB with 16 in flight, the loop saturated): now and then a group of
// connections had all of their peer's next messages in the kernel's
// receive queue, gnet's buffers empty, their epoll registration intact —
// and no report, for seconds (Jain down to 0.6 in a 5 s run, one silence
// of 5 s). Signalling readiness again from the socket (SO_RCVLOWAT) did
// not bring them back; re-arming the registration (EPOLL_CTL_MOD, which
// re-checks readiness) did, at once. The peers wait for our answers, so
// nothing else would have.
//
// So the tick looks at connections that went quiet since the last one
// while nothing of theirs waits anywhere in the reactor: one ioctl each
// (bytes queued in the kernel); a connection with bytes there is re-armed
// in the loop's epoll set, found once per loop in /proc/self/fdinfo.

// kernelQueued returns the bytes waiting in fd's receive queue, or -1.
func kernelQueued(fd int) int {
	var v int32
	_, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&v)))
	if errno != 0 {
		return -1
	}
	return int(v)
}

// rearm re-registers c's socket in its loop's epoll set with the events it
// had, so that epoll reports it again if it is readable. It reports whether
// it could.
func (lp *loop) rearm(c *conn) bool {
	fd := c.gc.Fd()
	if lp.epfd == 0 {
		lp.epfd, lp.epEvents = findEpoll(fd)
	}
	if lp.epfd < 0 {
		return false
	}
	ev := syscall.EpollEvent{Events: lp.epEvents, Fd: int32(fd)}
	return syscall.EpollCtl(lp.epfd, syscall.EPOLL_CTL_MOD, fd, &ev) == nil
}

// findEpoll finds the epoll instance that holds fd, and the events fd is
// registered for, in /proc/self/fdinfo; -1 if there is none to be found.
func findEpoll(fd int) (int, uint32) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, 0
	}
	id := strconv.Itoa(fd)
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		// Lines read "tfd:       54 events: 8000201f data: ...".
		for line := range bytes.Lines(info) {
			f := bytes.Fields(line)
			if len(f) < 4 || string(f[0]) != "tfd:" || string(f[1]) != id || string(f[2]) != "events:" {
				continue
			}
			events, err := strconv.ParseUint(string(f[3]), 16, 32)
			if err != nil {
				return -1, 0
			}
			epfd, err := strconv.Atoi(e.Name())
			if err != nil {
				return -1, 0
			}
			return epfd, uint32(events)
		}
	}
	return -1, 0
}
