//go:build linux

package load

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/tachyonws/tachyon/engine"
)

// bcastFd is one connection of the broadcast mode under IOEpoll, owned by
// the loop.
type bcastFd struct {
	fd   int    // the socket, -1 once closed
	idx  int32  // index in the loop
	head []byte // head[:keep] is the head of a frame carried over between reads
	keep int
	sc   frameScanner

	msgs    int64 // deliveries of messages sent in the measured window
	last    int64 // now() of the latest of those
	silence int64 // longest gap between two of those, ns

	pending []byte // the sender: output the socket has not taken yet
}

// bcastLoop runs every connection of a broadcast under IOEpoll on one
// goroutine around a level-triggered epoll set: per wake-up of a
// connection, one read(2) of everything available into a buffer shared by
// the loop, its frames scanned where they lie, one clock read; and, between
// wake-ups, the sender's next message when it is due (the first
// connection's socket, one write(2)). Latencies go into one histogram for
// the loop: 30 KiB that stay in the cache, where one per connection would
// not.
//
// One loop, whatever Config.Loops: the sender, paced by the deliveries,
// then sees them without a lock or a wake-up across goroutines, and a
// receiver's cost is one read(2) and a scan, well below what a server
// spends on the delivery.
type bcastLoop struct {
	l       *loader
	epfd    int
	conns   []*bcastFd
	scratch []byte
	hist    histogram
	warm    int64        // the window's start
	end     int64        // its end, as of the latest look (cut moves it)
	all     int64        // deliveries so far, warm-up included
	recv    atomic.Int64 // all, for the progress line (stored once per wake-up)
	live    int          // connections open

	// The sender, on conns[0].
	payload []byte
	frame   []byte
	key     []byte // 4 bytes: the masking key of the next message
	seq     int64  // messages sent, warm-up included
	sent    int64  // of those, sent in the measured window
	next    int64  // Interval > 0: when the next message is due
}

func (l *loader) runBroadcastEpoll() (*Result, error) {
	cfg := l.cfg
	conns := make([]*bcastFd, cfg.Conns)
	open, _ := l.ramp(cfg.Conns, func(i int, c net.Conn, left []byte) {
		fd, err := detach(c)
		if err != nil {
			l.drop(c, &phaseError{"handshake", err})
			return
		}
		r := &bcastFd{fd: fd, head: make([]byte, max(maxKeep, len(left))), sc: frameScanner{need: 8}}
		r.keep = copy(r.head, left)
		conns[i] = r
	})
	res := l.newResult()
	res.Open = open
	conns = opened(conns)
	if len(conns) == 0 {
		return res, nil
	}
	b, err := newBcastLoop(l, conns)
	if err != nil {
		for _, r := range conns {
			syscall.Close(r.fd)
		}
		return nil, fmt.Errorf("load: IO epoll: %w", err)
	}
	defer syscall.Close(b.epfd)

	start := l.now()
	l.startWindow()
	b.warm = l.warmEnd
	var prev int64
	stop := l.progress(func(elapsed time.Duration) string {
		m := b.recv.Load()
		d := m - prev
		prev = m
		return fmt.Sprintf("%5.1fs  %d open  %s deliveries/s  %.2f MB/s", elapsed.Seconds(), l.open.Load(), thousands(float64(d)), float64(d)*float64(cfg.Size)/1e6)
	})
	cpu := l.sampleCPU()
	b.run(func() { cpu.finish(res, time.Duration(l.now()-start)) })
	var wg sync.WaitGroup
	for _, r := range conns {
		if r.fd >= 0 {
			wg.Go(func() { l.bcastClose(r) })
		}
	}
	wg.Wait()
	stop()

	counts := make([]int64, len(conns))
	var silence int64
	for i, r := range conns {
		counts[i] = r.msgs
		silence = max(silence, r.silence)
	}
	l.tallyUp(res, &b.hist, counts, silence)
	res.Sent = b.sent
	res.Missing = max(0, b.sent*int64(len(conns))-res.Messages)
	return res, nil
}

// newBcastLoop registers conns (conns[0] is the sender) with a new epoll
// set.
func newBcastLoop(l *loader, conns []*bcastFd) (*bcastLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	for i, r := range conns {
		r.idx = int32(i)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: r.idx} // Fd holds the index into conns
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, r.fd, &ev); err != nil {
			syscall.Close(epfd)
			return nil, err
		}
	}
	payload := make([]byte, l.cfg.Size)
	for i := 8; i < len(payload); i++ {
		payload[i] = 'a' + byte(i%26)
	}
	return &bcastLoop{
		l: l, epfd: epfd, conns: conns, live: len(conns),
		scratch: make([]byte, readBufferSize(1, l.cfg.Size+engine.MaxHeaderSize)+4096),
		payload: payload, frame: make([]byte, 0, len(payload)+engine.MaxHeaderSize), key: make([]byte, 4),
	}, nil
}

// run sends and receives until every message sent has reached every
// receiver after the end of the window, or broadcastGrace has passed since
// (or every connection ended). ended is called once, when the window ends.
func (b *bcastLoop) run(ended func()) {
	l := b.l
	n := int64(len(b.conns))
	inflight := int64(l.cfg.Inflight)
	paced := l.cfg.Interval < 0
	iv := int64(l.cfg.Interval)
	events := make([]syscall.EpollEvent, 256)
	now := l.now()
	b.next = now + iv
	done := false // the window has ended: no more sends
	for b.live > 0 {
		b.end = l.end.Load()
		if !done && now >= b.end {
			done = true
			ended()
		}
		var wake int64 // when the loop must look again without an event
		switch {
		case done:
			if b.all >= b.seq*n || now >= b.end+int64(broadcastGrace) {
				return
			}
			wake = b.end + int64(broadcastGrace)
		case paced:
			// Message seq may go once messages 0 .. seq-inflight have
			// reached every receiver.
			for b.conns[0].fd >= 0 && (b.seq < inflight || b.all >= (b.seq-inflight+1)*n) {
				b.send(now)
			}
			wake = b.end
		default:
			if now >= b.next && b.conns[0].fd >= 0 {
				b.send(now)
				b.next += iv
				if b.next <= now { // late: the ticks missed are dropped
					b.next = now + iv
				}
			}
			wake = min(b.next, b.end)
		}
		k, err := epollPoll(b.epfd, events)
		if k == 0 && err == nil {
			k, err = syscall.EpollWait(b.epfd, events, int(min(max(wake-now, 0)/1e6+1, 100)))
		}
		if err != nil {
			if err == syscall.EINTR {
				now = l.now()
				continue
			}
			l.fail(&phaseError{"epoll", err})
			return
		}
		read := false
		for _, ev := range events[:k] {
			r := b.conns[ev.Fd]
			if r.fd < 0 {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 && len(r.pending) > 0 {
				b.flush(r)
				continue
			}
			if t := b.read(r); t != 0 {
				now, read = t, true
			}
		}
		if !read {
			now = l.now()
		}
		b.recv.Store(b.all)
	}
}

// read handles one readiness event of r: one read, the deliveries in it
// timed against the one clock read. It returns the time of the read, or 0
// when nothing was read (r may have ended).
func (b *bcastLoop) read(r *bcastFd) (now int64) {
	k := copy(b.scratch, r.head[:r.keep])
	n, err := rawRead(r.fd, b.scratch[k:])
	if n <= 0 {
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return 0
		}
		if n == 0 && err == nil {
			err = io.EOF
		}
		b.drop(r, &phaseError{"read", err})
		return 0
	}
	now = b.l.now()
	buf := b.scratch[:k+n]
	p, got, all := 0, int64(0), int64(0)
scan:
	for {
		m, ev := r.sc.next(buf[p:])
		p += m
		switch ev {
		case evMore:
			break scan
		case evMessage:
			all++
			if ts := r.sc.stamp; ts >= b.warm && ts < b.end {
				b.hist.record(now - ts)
				got++
			}
		case evClose:
			b.drop(r, r.sc.closeError())
			return now
		case evError:
			b.drop(r, &phaseError{"read", r.sc.err})
			return now
		}
	}
	r.keep = copy(r.head, buf[p:]) // at most a frame's head
	b.all += all
	if got > 0 {
		r.msgs += got
		if r.last != 0 {
			r.silence = max(r.silence, now-r.last)
		}
		r.last = now
	}
	return now
}

// rawRead is read(2) as a raw system call: the socket is non-blocking, so
// the call never blocks and the scheduler need not know of it (as
// epollPoll). Through syscall.Read, the scheduler's bookkeeping around each
// of the loop's many short reads, and the system monitor thread it keeps
// awake, cost the loader about a tenth of its CPU.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// send writes the next message, stamped with now and masked with a fresh
// key, on the sender's socket.
func (b *bcastLoop) send(now int64) {
	putStamp(b.payload, now)
	h := engine.Header{Fin: true, OpCode: b.l.op, Masked: true}
	_, _ = rand.Read(b.key)
	h.Mask = [4]byte(b.key)
	b.frame = engine.AppendFrame(b.frame[:0], h, b.payload)
	b.seq++
	if now >= b.warm {
		b.sent++
	}
	r := b.conns[0]
	if len(r.pending) > 0 {
		r.pending = append(r.pending, b.frame...)
		return
	}
	w, err := syscall.Write(r.fd, b.frame)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		b.l.fail(&phaseError{"write", err})
		b.drop(r, nil)
		return
	}
	if w = max(w, 0); w < len(b.frame) {
		r.pending = append(r.pending[:0], b.frame[w:]...)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT, Fd: r.idx}
		_ = syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_MOD, r.fd, &ev)
	}
}

// flush writes the sender's queued output on EPOLLOUT.
func (b *bcastLoop) flush(r *bcastFd) {
	w, err := syscall.Write(r.fd, r.pending)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		b.drop(r, &phaseError{"write", err})
		return
	}
	w = max(w, 0)
	r.pending = r.pending[:copy(r.pending, r.pending[w:])]
	if len(r.pending) == 0 {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: r.idx}
		_ = syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_MOD, r.fd, &ev)
	}
}

// drop counts err (unless nil: counted already) and closes r.
func (b *bcastLoop) drop(r *bcastFd, err error) {
	if err != nil {
		b.l.fail(err)
	}
	_ = syscall.EpollCtl(b.epfd, syscall.EPOLL_CTL_DEL, r.fd, nil)
	syscall.Close(r.fd)
	r.fd = -1
	b.live--
	b.l.open.Add(-1)
}

// bcastClose hands r's socket back to a net.Conn, writes what is still
// queued and runs the closing handshake.
func (l *loader) bcastClose(r *bcastFd) {
	l.closeFd(r.fd, r.pending, r.head, r.keep, &r.sc)
	r.fd = -1
}
