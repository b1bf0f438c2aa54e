//go:build linux

// Command ceiling is the least a WebSocket echo server can do on one core,
// the ceiling every echo server of the comparison is measured against
// (bench/, BENCHMARKS.md), and the least a broadcast can do (on
// /broadcast, see Broadcast below). It exists to be measured, not used: it validates
// nothing (no UTF-8 check, no limits beyond memory), and its only safety is
// not crashing.
//
//	ceiling -addr 127.0.0.1:9002
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT.
//
// # What it does
//
// One thread, one level-triggered epoll set, raw system calls. The opening
// handshake is reduced to finding Sec-WebSocket-Key and answering 101. Then,
// per readiness event of a connection:
//
//  1. one read(2) of everything available, into a buffer of 1 MiB (larger
//     when a frame needs it) that the loop shares between connections;
//  2. for each complete client frame in it, the payload is unmasked in
//     place and the server frame's header (4 bytes shorter: no masking key)
//     is written in place right in front of the payload, over the end of the
//     client header: a payload of more than 512 bytes does not move; a
//     smaller frame moves back, over the gaps the shorter headers left, to
//     the end of the frame before it, so that a read of many small frames
//     is one run of bytes (moving a few hundred bytes costs less than
//     giving the kernel one more iovec);
//  3. one writev(2) of those runs, each where it lies.
//
// No byte is copied to another buffer on that path. A read that ends inside
// a frame leaves the partial frame where it is: the connection takes the
// buffer it lies in (the loop takes another from a free list) and its next
// read appends to it.
// A ping becomes a pong the same way, a pong is dropped, a close is echoed
// and the connection closed once it is written.
//
// Only under backpressure (the socket takes part of the writev) is the
// unwritten rest copied aside; the connection then waits for EPOLLOUT and
// reads nothing until it is written.
//
// # Broadcast
//
// The least a broadcast can do. Connections upgraded on /broadcast join one
// room. A data frame read from any of them is unmasked once and its server
// frame is built once, in place as above, then copied once to the end of
// the wake-up's broadcast buffer, which every frame broadcast in the same
// wake-up (one epoll_wait) joins. Once the wake-up's events are handled,
// every member of the room is written that buffer with one write(2): what a
// receiver is owed in a wake-up goes out in one system call, however many
// messages it holds, and no byte is copied per receiver (the same bytes go
// to every socket). A member whose socket takes only part of it gets the
// rest copied aside and waits for EPOLLOUT as above; what later wake-ups
// owe it is appended there until it drains. Control frames of a member are
// answered to it alone, as in the echo.
//
// Level-triggered: after one read per event, what is left in the socket
// makes the next epoll_wait report the connection again, so a connection
// with a lot to say cannot starve the others, and no read returns EAGAIN in
// the steady state (edge-triggered would need reads until EAGAIN, one more
// system call per event).
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	"github.com/tachyonws/tachyon/mask"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "listen address HOST:PORT (IPv4)")
	flag.Parse()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		os.Exit(0)
	}()
	if err := run(*addr, func(a string) { fmt.Printf("listening %s\n", a) }); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

// bufSize is the size of a read buffer: everything the loader keeps in
// flight on a connection (16 frames of 16 KiB and their headers) and more.
const bufSize = 1 << 20

// smallFrame is the largest payload that frames moves to join the frame
// before it rather than give it an iovec of its own.
const smallFrame = 512

// minRead is the least room a read is given: with less behind a partial
// frame, the frame moves to the front of its buffer (or to a larger one).
const minRead = 64 << 10

// conn is one client connection.
type conn struct {
	fd       int
	upgraded bool   // the handshake is done
	member   int    // index in server.room plus one; 0: not a member (echo)
	buf      []byte // the buffer holding a partial frame, or nil
	off, end int    // buf[off:end] is the partial frame (or request)
	want     int    // bytes the partial frame needs in all, when known
	out      []byte // output the socket did not take (backpressure only)
	closing  bool   // close the connection once out is written
}

type server struct {
	epfd  int
	conns []*conn  // by file descriptor
	free  [][]byte // buffers of bufSize no connection holds
	iov   []syscall.Iovec
	room  []*conn // the connections upgraded on /broadcast
	bcast []byte  // server frames broadcast in this wake-up, end to end
}

// run serves on addr until an error; listening is called with the
// address once connections are accepted.
func run(addr string, listening func(addr string)) error {
	lfd, err := listen(addr)
	if err != nil {
		return err
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, lfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return err
	}
	sa, err := syscall.Getsockname(lfd)
	if err != nil {
		return err
	}
	if sa4, ok := sa.(*syscall.SockaddrInet4); ok {
		listening(net.JoinHostPort(net.IP(sa4.Addr[:]).String(), fmt.Sprint(sa4.Port)))
	} else {
		listening(addr)
	}

	s := &server{epfd: epfd, iov: make([]syscall.Iovec, 0, 1024)}
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(epfd, events, -1)
		if err == syscall.EINTR {
			continue // the Go runtime's preemption signals
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				s.accept(lfd)
				continue
			}
			c := s.conn(fd)
			if c == nil {
				continue
			}
			switch {
			case len(c.out) > 0:
				if ev.Events&(syscall.EPOLLOUT|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
					s.flush(c)
				}
			case ev.Events&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) != 0:
				s.readable(c)
			}
		}
		if len(s.bcast) > 0 {
			s.broadcast()
		}
	}
}

// broadcast writes the wake-up's broadcast frames to every member of the
// room, one write(2) each, all of the same bytes.
func (s *server) broadcast() {
	b := s.bcast
	for i := 0; i < len(s.room); {
		c := s.room[i]
		if len(c.out) > 0 { // waiting for EPOLLOUT: queued behind the rest
			c.out = append(c.out, b...)
			i++
			continue
		}
		// A raw system call: the socket is non-blocking, and the scheduler
		// need not hear of each of a thousand writes.
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(c.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		w := int(r)
		if e != 0 {
			if e != syscall.EAGAIN && e != syscall.EINTR {
				s.close(c) // takes it out of the room: s.room[i] is another now
				continue
			}
			w = 0
		}
		if w < len(b) {
			c.out = append(c.out, b[w:]...)
			_ = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_MOD, c.fd, &syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: int32(c.fd)})
		}
		i++
	}
	s.bcast = s.bcast[:0]
}

// join adds c to the room.
func (s *server) join(c *conn) {
	s.room = append(s.room, c)
	c.member = len(s.room)
}

// leave takes c out of the room (the last member takes its place).
func (s *server) leave(c *conn) {
	if c.member == 0 {
		return
	}
	i, last := c.member-1, len(s.room)-1
	s.room[i] = s.room[last]
	s.room[i].member = i + 1
	s.room[last] = nil
	s.room = s.room[:last]
	c.member = 0
}

func listen(addr string) (int, error) {
	ta, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return -1, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return -1, err
	}
	sa := &syscall.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	if err := syscall.Bind(fd, sa); err != nil {
		return -1, err
	}
	if err := syscall.Listen(fd, 4096); err != nil {
		return -1, err
	}
	return fd, nil
}

func (s *server) conn(fd int) *conn {
	if fd < len(s.conns) {
		return s.conns[fd]
	}
	return nil
}

// accept takes every pending connection (one event may stand for many).
func (s *server) accept(lfd int) {
	for {
		fd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN, or an error that the next event will show again
		}
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if err := syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
			syscall.Close(fd)
			continue
		}
		for fd >= len(s.conns) {
			s.conns = append(s.conns, nil)
		}
		s.conns[fd] = &conn{fd: fd}
	}
}

func (s *server) close(c *conn) {
	s.leave(c)
	_ = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	syscall.Close(c.fd)
	s.conns[c.fd] = nil
	s.release(c)
}

// take returns a free buffer of bufSize.
func (s *server) take() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b
	}
	return make([]byte, bufSize)
}

// release gives c's buffer back (buffers grown for a large frame are
// dropped).
func (s *server) release(c *conn) {
	if len(c.buf) == bufSize {
		s.free = append(s.free, c.buf)
	}
	c.buf, c.off, c.end, c.want = nil, 0, 0, 0
}

// readable handles one EPOLLIN: one read, the frames in it, one writev.
func (s *server) readable(c *conn) {
	if c.buf == nil {
		c.buf = s.take()
	}
	// Room to read: a partial frame moves to the front of its buffer only
	// when too little is left behind it, to a larger buffer only when it
	// cannot fit.
	if room := len(c.buf) - c.end; room < minRead || c.want > len(c.buf)-c.off {
		if need := max(c.want, c.end-c.off) + minRead; need > len(c.buf) {
			nb := make([]byte, need)
			copy(nb, c.buf[c.off:c.end])
			if len(c.buf) == bufSize {
				s.free = append(s.free, c.buf)
			}
			c.buf = nb
		} else {
			copy(c.buf, c.buf[c.off:c.end])
		}
		c.end -= c.off
		c.off = 0
	}
	// Raw system calls for the read and the writev: the socket is
	// non-blocking, so the scheduler need not hear of them (the reactor's
	// writes are raw too; a ceiling paying more per call is no ceiling).
	buf := c.buf[c.end:]
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(c.fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)))
	n := int(r)
	if e != 0 || n == 0 {
		if e == syscall.EAGAIN || e == syscall.EINTR {
			return
		}
		s.close(c) // EOF or error
		return
	}
	c.end += n
	b := c.buf[c.off:c.end]
	used := 0
	if !c.upgraded {
		used = s.handshake(c, b)
		if used < 0 {
			s.close(c)
			return
		}
		if used == 0 {
			return // the request is not complete yet
		}
		c.upgraded = true
	}
	m := s.frames(c, b[used:])
	used += m
	c.off += used
	if c.off == c.end {
		c.want = 0
	}
	s.write(c)
	// The buffer goes back to the free list unless a partial frame lies in
	// it (the iovecs pointed into it; they are written or copied by now).
	if c.off == c.end && s.conns[c.fd] == c {
		s.release(c)
	}
}

// write sends the frames of s.iov with writev(2), as few calls as IOV_MAX
// allows; what the socket does not take is copied to c.out, written on
// EPOLLOUT.
func (s *server) write(c *conn) {
	iov := s.iov
	defer func() { s.iov = s.iov[:0] }()
	for len(iov) > 0 {
		k := min(len(iov), 1024)
		var total int64
		for _, v := range iov[:k] {
			total += int64(v.Len)
		}
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(c.fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(k))
		w := int64(r)
		if e != 0 {
			if e != syscall.EAGAIN && e != syscall.EINTR {
				s.close(c)
				return
			}
			w = 0
		}
		if w == total {
			iov = iov[k:]
			continue
		}
		// Backpressure: copy the rest aside and wait for EPOLLOUT.
		for _, v := range iov {
			p := unsafe.Slice(v.Base, v.Len)
			if w >= int64(len(p)) {
				w -= int64(len(p))
				continue
			}
			c.out = append(c.out, p[w:]...)
			w = 0
		}
		_ = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_MOD, c.fd, &syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: int32(c.fd)})
		return
	}
	if c.closing {
		s.close(c)
	}
}

// flush handles EPOLLOUT: one write of the remainder.
func (s *server) flush(c *conn) {
	w, err := syscall.Write(c.fd, c.out)
	if err != nil && err != syscall.EAGAIN {
		s.close(c)
		return
	}
	w = max(w, 0)
	c.out = c.out[w:]
	if len(c.out) > 0 {
		return
	}
	c.out = nil
	if c.closing {
		s.close(c)
		return
	}
	_ = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_MOD, c.fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(c.fd)})
}

var keyField = []byte("sec-websocket-key:")

// handshake answers a complete request at the front of b with a 101 (one
// write) and returns the request's length; 0 when the request is not
// complete yet, -1 when it has no key.
func (s *server) handshake(c *conn, b []byte) int {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	var key []byte
	for line := range bytes.Lines(b[:end+2]) {
		if len(line) > len(keyField) && bytes.EqualFold(line[:len(keyField)], keyField) {
			key = bytes.TrimSpace(line[len(keyField):])
			break
		}
	}
	if key == nil {
		return -1
	}
	if bytes.HasPrefix(b, []byte("GET /broadcast ")) {
		s.join(c)
	}
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	var sum [sha1.Size]byte
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	resp = base64.StdEncoding.AppendEncode(resp, h.Sum(sum[:0]))
	resp = append(resp, "\r\n\r\n"...)
	if _, err := syscall.Write(c.fd, resp); err != nil {
		return -1
	}
	return end + 4
}

// frames turns the complete client frames at the front of b into server
// frames in place and adds them to s.iov: a frame of more than smallFrame
// bytes of payload as an iovec of its own, where it lies; a smaller one
// moved back to the end of the iovec before it, which it extends. It returns how much of b it
// consumed; c.want is set to the length of a partial frame whose header is
// complete.
func (s *server) frames(c *conn, b []byte) int {
	p := 0
	run := -1 // the end in b of the last iovec's bytes; -1: none yet
	for !c.closing {
		f := b[p:]
		if len(f) < 2 {
			break
		}
		hn := 2
		length := uint64(f[1] & 0x7F)
		switch length {
		case 126:
			hn = 4
		case 127:
			hn = 10
		}
		masked := f[1]&0x80 != 0
		if masked {
			hn += 4
		}
		if len(f) < hn {
			break
		}
		switch length {
		case 126:
			length = uint64(binary.BigEndian.Uint16(f[2:4]))
		case 127:
			length = binary.BigEndian.Uint64(f[2:10])
		}
		if length > uint64(len(f)-hn) {
			c.want = hn + int(length)
			break
		}
		payload := f[hn : hn+int(length)]
		b0 := f[0]
		if masked {
			mask.Apply(payload, [4]byte(f[hn-4:hn]), 0)
		}
		p += hn + int(length)
		switch b0 & 0x0F {
		case 0x8: // close: echo it and close once written
			c.closing = true
		case 0x9: // ping: pong
			b0 = b0&0xF0 | 0xA
		case 0xA: // pong: nothing
			continue
		}
		// The server header, right in front of the payload: the client's
		// without its masking key (the same length encoding, 4 bytes
		// shorter), written over the end of the client's.
		sh := hn
		if masked {
			sh -= 4
		}
		h := f[hn-sh : hn]
		if masked {
			copy(h[2:], f[2:sh]) // extended length (0, 2 or 8 bytes), moved 4 bytes on
		}
		h[0], h[1] = b0, f[1]&0x7F
		if c.member > 0 && b0&0x08 == 0 { // a data frame of the room: to everyone
			s.bcast = append(s.bcast, h[:sh+int(length)]...)
			continue
		}
		// A small frame joins the one before it: it moves back over the
		// gap the shorter headers left (4 bytes a frame), so that a read of
		// many small frames goes out as one run of bytes. An iovec costs
		// the kernel more than moving a few hundred bytes does.
		n := sh + int(length)
		start := len(b) - len(f) + hn - sh // h's offset in b
		if run >= 0 && int(length) <= smallFrame {
			copy(b[run:], h[:n]) // backwards, overlapping: a memmove
			last := &s.iov[len(s.iov)-1]
			last.SetLen(int(last.Len) + n)
			run += n
			continue
		}
		v := syscall.Iovec{Base: &h[0]}
		v.SetLen(n)
		s.iov = append(s.iov, v)
		run = start + n
	}
	return p
}
