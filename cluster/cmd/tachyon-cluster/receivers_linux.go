//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// rawReceivers are the bench's WebSocket clients on a few epoll loops of
// their own instead of a goroutine each, so that a thousand receivers cost
// a few wake-ups per broadcast, not a thousand trips through the scheduler:
// the server side is what is measured. They only read (server frames are
// not masked), and record the latency carried in each message's first 8
// bytes.
type rawReceivers struct {
	rec    *receiver
	fds    []int
	remote []bool // per fd: on another node than the publisher's
	stop   chan struct{}
	wg     sync.WaitGroup
	loops  int
}

const rawRequest = "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// dial upgrades k connections to addr, 64 at a time; remote tells whether
// addr is another node than the publisher's.
func (rr *rawReceivers) dial(addr string, k int, remote bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for range k {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fd, err := upgradeRaw(ctx, addr)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmpErr(firstErr, err)
				return
			}
			rr.fds = append(rr.fds, fd)
			rr.remote = append(rr.remote, remote)
		})
	}
	wg.Wait()
	return firstErr
}

func upgradeRaw(ctx context.Context, addr string) (int, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return -1, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := fmt.Fprintf(c, rawRequest, addr); err != nil {
		return -1, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return -1, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || br.Buffered() != 0 {
		return -1, fmt.Errorf("upgrade: %s, %d bytes after it", resp.Status, br.Buffered())
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
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
	return fd, syscall.SetNonblock(fd, true)
}

// start runs the receivers on rr.loops epoll loops.
func (rr *rawReceivers) start() error {
	rr.stop = make(chan struct{})
	for i := range rr.loops {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		var mine []*rawConn
		for j := i; j < len(rr.fds); j += rr.loops {
			rc := &rawConn{fd: rr.fds[j], remote: rr.remote[j]}
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(len(mine))}
			if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, rc.fd, &ev); err != nil {
				return err
			}
			mine = append(mine, rc)
		}
		rr.wg.Go(func() { rr.loop(epfd, mine) })
	}
	return nil
}

type rawConn struct {
	fd     int
	remote bool
	keep   []byte // the start of a frame not yet complete
}

func (rr *rawReceivers) loop(epfd int, conns []*rawConn) {
	defer syscall.Close(epfd)
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 256<<10)
	for {
		select {
		case <-rr.stop:
			return
		default:
		}
		n, err := syscall.EpollWait(epfd, events, 100)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return
		}
		for _, ev := range events[:max(n, 0)] {
			rc := conns[ev.Fd]
			k := copy(buf, rc.keep)
			m, err := syscall.Read(rc.fd, buf[k:])
			if m <= 0 {
				if err == syscall.EAGAIN || err == syscall.EINTR {
					continue
				}
				_ = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, rc.fd, nil)
				continue
			}
			rest := rr.frames(buf[:k+m], rc.remote)
			rc.keep = append(rc.keep[:0], rest...)
		}
	}
}

// frames records each complete frame of b, read by a receiver on another
// node than the publisher's or not, and returns the incomplete rest.
func (rr *rawReceivers) frames(b []byte, remote bool) []byte {
	for len(b) >= 2 {
		hl, n := 2, int(b[1]&0x7f)
		switch n {
		case 126:
			if len(b) < 4 {
				return b
			}
			hl, n = 4, int(binary.BigEndian.Uint16(b[2:]))
		case 127:
			if len(b) < 10 {
				return b
			}
			hl, n = 10, int(binary.BigEndian.Uint64(b[2:]))
		}
		if len(b) < hl+n {
			return b
		}
		if b[0]&0x0f == 2 || b[0]&0x0f == 1 {
			rr.rec.record(b[hl:hl+n], remote)
		}
		b = b[hl+n:]
	}
	return b
}

func (rr *rawReceivers) close() {
	if rr.stop != nil {
		close(rr.stop)
	}
	rr.wg.Wait()
	for _, fd := range rr.fds {
		_ = syscall.Close(fd)
	}
}
