//go:build linux

// Command epollecho is the physical ceiling of a WebSocket echo server on one
// core: one thread, one epoll set, raw system calls, and nothing else. It
// exists to be measured against (ci/bench-echo.sh, BENCHMARKS.md), not used:
// it validates nothing, has no limits, and its only safety is not crashing.
//
//	epollecho -addr 127.0.0.1:9002
//
// It prints "listening ADDR" once it accepts connections and exits on
// SIGTERM or SIGINT.
//
// What it does, per connection: the opening handshake reduced to finding
// Sec-WebSocket-Key and answering 101 with its accept key; then, per
// readiness event, ONE read(2) and ONE write(2): the complete client frames in
// what was read are unmasked (mask.Apply) and appended, as server frames with
// the same opcode, to one output buffer, written with one write(2). A partial
// frame at the end of a read stays buffered for the next; an unsent remainder
// of the output stays buffered too, and the connection then waits for
// EPOLLOUT, and reads nothing, until it is written. A ping is answered with a
// pong, a close is echoed and the connection closed.
//
// The epoll set is level-triggered: after one read per event, what is left in
// the socket makes the next epoll_wait report the connection again, so one
// connection with a lot to say cannot starve the others, and no read ever
// returns EAGAIN in the steady state (edge-triggered would need reads until
// EAGAIN, one more system call per event).
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

	"github.com/tachyonws/tachyon/mask"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "listen address host:port (IPv4)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "epollecho:", err)
		os.Exit(1)
	}
}

// conn is one client connection.
type conn struct {
	fd       int
	upgraded bool   // the handshake is done
	in       []byte // bytes read and not consumed: a partial request or frame
	out      []byte // bytes of output not written yet
	closing  bool   // close the connection once out is written
}

type server struct {
	epfd    int
	conns   []*conn // by file descriptor
	scratch []byte  // read buffer, shared: one thread
	outBuf  []byte  // output of the current event, shared
}

func run(addr string) error {
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
		fmt.Printf("listening %s\n", net.JoinHostPort(net.IP(sa4.Addr[:]).String(), fmt.Sprint(sa4.Port)))
	} else {
		fmt.Printf("listening %s\n", addr)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		os.Exit(0)
	}()

	s := &server{epfd: epfd, scratch: make([]byte, 64<<10), outBuf: make([]byte, 0, 64<<10)}
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
			case ev.Events&syscall.EPOLLOUT != 0 && len(c.out) > 0:
				s.flush(c)
			case ev.Events&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) != 0:
				s.readable(c)
			}
		}
	}
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

// accept takes every pending connection (the listener is level-triggered
// too, but one event may stand for many).
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
	_ = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	syscall.Close(c.fd)
	s.conns[c.fd] = nil
}

// readable handles one EPOLLIN: one read, the frames in it, one write.
func (s *server) readable(c *conn) {
	// The partial frame left by the last read goes in front of this one.
	need := len(c.in) + 16<<10
	if len(s.scratch) < need {
		s.scratch = make([]byte, need)
	}
	k := copy(s.scratch, c.in)
	n, err := syscall.Read(c.fd, s.scratch[k:])
	if n <= 0 {
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return
		}
		s.close(c) // EOF or error
		return
	}
	b := s.scratch[:k+n]
	out := s.outBuf[:0]
	var used int
	if !c.upgraded {
		used, out = handshake(b, out)
		if used < 0 {
			s.close(c)
			return
		}
		if used > 0 {
			c.upgraded = true
		}
	}
	if c.upgraded {
		var m int
		m, out = s.frames(c, b[used:], out)
		used += m
	}
	// Keep the unconsumed tail (the scratch buffer grows above when it
	// holds a frame larger than itself).
	c.in = append(c.in[:0], b[used:]...)
	s.outBuf = out[:0]
	if len(out) == 0 {
		return
	}
	w, err := syscall.Write(c.fd, out)
	if err != nil && err != syscall.EAGAIN {
		s.close(c)
		return
	}
	w = max(w, 0)
	if w < len(out) {
		c.out = append(c.out[:0], out[w:]...)
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

// handshake answers a complete request at the front of b: it returns the
// request's length and out with the 101 appended, 0 when the request is not
// complete yet, or -1 when it has no key.
func handshake(b, out []byte) (int, []byte) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, out
	}
	req := b[:end+2]
	var key []byte
	for line := range bytes.Lines(req) {
		if len(line) > len(keyField) && bytes.EqualFold(line[:len(keyField)], keyField) {
			key = bytes.TrimSpace(line[len(keyField):])
			break
		}
	}
	if key == nil {
		return -1, out
	}
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	var sum [sha1.Size]byte
	out = append(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	out = base64.StdEncoding.AppendEncode(out, h.Sum(sum[:0]))
	out = append(out, "\r\n\r\n"...)
	return end + 4, out
}

// frames unmasks the complete frames at the front of b and appends them to
// out as server frames. It returns how much of b it consumed.
func (s *server) frames(c *conn, b, out []byte) (int, []byte) {
	p := 0
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
			break
		}
		payload := f[hn : hn+int(length)]
		if masked {
			mask.Apply(payload, [4]byte(f[hn-4:hn]), 0)
		}
		p += hn + int(length)
		b0 := f[0]
		switch b0 & 0x0F {
		case 0x8: // close: echo it and close once written
			c.closing = true
		case 0x9: // ping: pong
			b0 = b0&0xF0 | 0xA
		case 0xA: // pong: nothing
			continue
		}
		out = append(out, b0)
		switch {
		case length > 0xFFFF:
			out = append(out, 127)
			out = binary.BigEndian.AppendUint64(out, length)
		case length > 125:
			out = append(out, 126)
			out = binary.BigEndian.AppendUint16(out, uint16(length))
		default:
			out = append(out, byte(length))
		}
		out = append(out, payload...)
	}
	return p, out
}
