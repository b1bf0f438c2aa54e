//go:build linux

package load

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// defaultIO is the echo mode's default IO: its own epoll loops.
const defaultIO = IOEpoll

// startEpoll runs the echo connections on Config.Loops event loops of their own
// (IOEpoll), each a goroutine around a level-triggered epoll set, and adds
// the loops to wg.
//
// Why not a goroutine per connection (IONet): Go's poller is
// edge-triggered, so a goroutine reads until EAGAIN before it parks; each
// wake-up costs a read that returns data, the write, a read that returns
// EAGAIN, and a trip through the scheduler. Here a wake-up is one read(2)
// (the level-triggered set says there is something to read) and one
// write(2), the system calls of a bare epoll server. On loopback, where each
// write also pays for the receiving side's TCP processing, that saves less
// than one might think: 5–10% of the loader's CPU per message (see
// epollPoll). Either way the loader costs about what the bare server costs
// per message: the two sides of an echo make the same system calls.
//
// The connections are dialed and upgraded through the net package; each
// socket is then duplicated out of it (the net.Conn is closed, which takes it
// out of Go's poller) and handed back to a net.Conn at the end, for the
// closing handshake.
func (l *loader) startEpoll(wg *sync.WaitGroup, conns []*echoConn, frames []byte, frameLen int) error {
	for _, ec := range conns {
		fd, err := detach(ec.c)
		if err != nil {
			return err
		}
		ec.fd, ec.c = fd, nil
	}
	loops := min(l.cfg.Loops, len(conns))
	for i := range loops {
		var mine []*echoConn
		for j := i; j < len(conns); j += loops {
			mine = append(mine, conns[j])
		}
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		for j, ec := range mine {
			ec.idx = int32(j)
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: ec.idx} // Fd holds the index into mine
			if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, ec.fd, &ev); err != nil {
				syscall.Close(epfd)
				return err
			}
		}
		wg.Go(func() { l.epollLoop(wg, epfd, mine, frames, frameLen) })
	}
	return nil
}

// epollPoll is epoll_wait(2) with a zero timeout (as epoll_pwait, which
// every architecture has), made as a raw system call: it never blocks, so the
// scheduler need not know of it. syscall.EpollWait tells the scheduler of
// every call, and when one blocks for more than 20 µs the runtime hands the
// loop's P to another thread and takes it back when the wait returns (futex
// calls and thread switches). Blocking in a raw call instead would keep the P
// from every other goroutine of the process for as long as the wait. Polling
// first and blocking through the scheduler only when nothing is ready was
// measured at 0.83–0.88 µs of loader CPU per message at 16 in flight against
// bench/cmd/epollecho (now bench/cmd/ceiling), against 0.78–0.82 for a raw blocking wait (which
// starved an in-process server) and 0.88–0.93 for IONet.
func epollPoll(epfd int, events []syscall.EpollEvent) (int, error) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// detach returns a duplicate of c's socket and closes c. The duplicate
// shares the socket's non-blocking mode.
func detach(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, errors.New("IOEpoll: not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = syscall.Dup(int(s)) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	syscall.CloseOnExec(fd)
	c.Close()
	return fd, nil
}

// epollLoop runs one event loop until the end of the run, then hands each
// connection still open to a goroutine of wg that closes it.
func (l *loader) epollLoop(wg *sync.WaitGroup, epfd int, conns []*echoConn, frames []byte, frameLen int) {
	defer syscall.Close(epfd)
	inflight := l.cfg.Inflight
	live := 0
	for _, ec := range conns {
		ec.ring.pushN(l.now(), inflight)
		if l.epollWrite(epfd, ec, frames[:inflight*frameLen]) {
			live++
		}
	}
	events := make([]syscall.EpollEvent, 256)
	// One read buffer for the loop, as in a bare epoll server: it stays in
	// the cache, where 100 buffers of 64 KiB, one per connection, would not.
	scratch := make([]byte, readBufferSize(inflight, frameLen)+4096) // + what a handshake left
	now := l.now()
	for live > 0 {
		// The clock is read once per read (epollRead); a wake-up that read
		// nothing reads it here. The end moves earlier when the run is cut.
		end := l.end.Load()
		if now >= end {
			break
		}
		// Poll first: while the server keeps up, something is ready and the
		// wait costs one system call the scheduler does not see. Only when
		// nothing is, block through the scheduler.
		n, err := epollPoll(epfd, events)
		if n == 0 && err == nil {
			n, err = syscall.EpollWait(epfd, events, int(min((end-now)/1e6+1, 100)))
		}
		if err != nil {
			if err == syscall.EINTR {
				now = l.now()
				continue
			}
			l.fail(&phaseError{"epoll", err})
			break
		}
		read := false
		for _, ev := range events[:n] {
			ec := conns[ev.Fd]
			if ec.fd < 0 {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 && len(ec.pending) > 0 {
				if !l.epollFlush(epfd, ec) {
					live--
				}
				continue
			}
			ok, t := l.epollRead(epfd, ec, scratch, frames, frameLen)
			if !ok {
				live--
			}
			if t != 0 {
				now, read = t, true
			}
		}
		if !read {
			now = l.now()
		}
	}
	for _, ec := range conns {
		if ec.fd < 0 {
			continue
		}
		wg.Go(func() { l.epollClose(ec) })
	}
}

// epollRead handles one readiness event: one read, the echoes in it, one
// write of as many frames. It returns false when the connection ended, and
// the time of the read (0 when nothing was read): the one clock read of a
// read, which times the echoes, stamps the frames written in answer and
// tells the loop where it is in the window.
func (l *loader) epollRead(epfd int, ec *echoConn, scratch, frames []byte, frameLen int) (ok bool, now int64) {
	k := copy(scratch, ec.buf[:ec.keep])
	n, err := rawRead(ec.fd, scratch[k:]) // as the broadcast loop's: see rawRead
	if n <= 0 {
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return true, 0
		}
		if n == 0 && err == nil {
			err = io.EOF
		}
		l.epollDrop(epfd, ec, &phaseError{"read", err})
		return false, 0
	}
	now = l.now()
	b := scratch[:k+n]
	done, p, err := ec.take(l, b, now)
	if err != nil {
		l.epollDrop(epfd, ec, err)
		return false, now
	}
	ec.keep = copy(ec.buf, b[p:]) // at most maxKeep bytes: a frame's head
	if done == 0 {
		return true, now
	}
	ec.ring.pushN(now, done)
	return l.epollWrite(epfd, ec, frames[:done*frameLen]), now
}

// epollWrite writes b with one write(2), or queues it behind output not yet
// written. What the socket does not take waits for EPOLLOUT.
func (l *loader) epollWrite(epfd int, ec *echoConn, b []byte) bool {
	if len(ec.pending) > 0 {
		ec.pending = append(ec.pending, b...)
		return true
	}
	w, err := syscall.Write(ec.fd, b)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		l.epollDrop(epfd, ec, &phaseError{"write", err})
		return false
	}
	w = max(w, 0)
	if w < len(b) {
		ec.pending = append(ec.pending[:0], b[w:]...)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT, Fd: ec.idx}
		_ = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_MOD, ec.fd, &ev)
	}
	return true
}

// epollFlush writes queued output on EPOLLOUT.
func (l *loader) epollFlush(epfd int, ec *echoConn) bool {
	w, err := syscall.Write(ec.fd, ec.pending)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		l.epollDrop(epfd, ec, &phaseError{"write", err})
		return false
	}
	w = max(w, 0)
	ec.pending = ec.pending[:copy(ec.pending, ec.pending[w:])]
	if len(ec.pending) == 0 {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: ec.idx}
		_ = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_MOD, ec.fd, &ev)
	}
	return true
}

// epollDrop counts err and closes the connection.
func (l *loader) epollDrop(epfd int, ec *echoConn, err error) {
	l.fail(err)
	_ = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, ec.fd, nil)
	syscall.Close(ec.fd)
	ec.fd = -1
	l.open.Add(-1)
}

// epollClose hands the socket back to a net.Conn, writes what is still
// queued and runs the closing handshake.
func (l *loader) epollClose(ec *echoConn) {
	l.closeFd(ec.fd, ec.pending, ec.buf, ec.keep, &ec.sc)
	ec.fd = -1
}

// closeFd hands fd back to a net.Conn (a duplicate, in Go's poller; fd is
// closed), writes pending, and runs the closing handshake with what buf
// holds (keep bytes, scanned by sc).
func (l *loader) closeFd(fd int, pending, buf []byte, keep int, sc *frameScanner) {
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		l.fail(&phaseError{"close", err})
		l.open.Add(-1)
		return
	}
	if len(pending) > 0 {
		if _, err := c.Write(pending); err != nil {
			l.drop(c, &phaseError{"close", err})
			return
		}
	}
	if err := l.closeConn(c, buf, keep, sc); err != nil {
		l.fail(err)
	}
}
