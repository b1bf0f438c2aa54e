package load

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// echoConn is one connection of the echo mode, owned by its goroutine. The
// counters the progress line reads are atomics; the rest is read by the main
// goroutine only after the connection's goroutine has ended.
type echoConn struct {
	c     net.Conn // IONet; nil under IOEpoll
	fd    int      // IOEpoll: the socket, -1 once closed
	idx   int32    // IOEpoll: index in its loop
	buf   []byte   // read buffer; buf[:keep] is the head of a frame carried over
	keep  int
	sc    frameScanner
	ring  stampRing // send times of the messages in flight
	tally           // after the warm-up: latencies, echoes, silences

	pending []byte // IOEpoll: output the socket has not taken yet

	recv  atomic.Int64 // echoes received, warm-up included (progress line)
	bytes atomic.Int64 // payload bytes of those
}

// readBufferSize is the read buffer of a connection that carries k frames of
// frameLen bytes in flight: room for all of them, within [64 KiB, 1 MiB].
func readBufferSize(k, frameLen int) int {
	return min(max(64<<10, k*frameLen+maxKeep), 1<<20)
}

func (l *loader) runEcho() (*Result, error) {
	cfg := l.cfg
	frames := appendClientFrames(nil, cfg.Inflight, cfg.Size, l.op, cfg.Deflate)
	frameLen := len(frames) / cfg.Inflight
	var warnings []string
	if cfg.IO == IONet && cfg.Inflight*frameLen > 1<<20 {
		warnings = append(warnings, fmt.Sprintf("%d bytes in flight per connection may exceed the socket buffers; a loader that blocks in a write while the server blocks in its own can stall", cfg.Inflight*frameLen))
	}
	conns := make([]*echoConn, cfg.Conns)
	open, _ := l.ramp(cfg.Conns, func(i int, c net.Conn, left []byte) {
		// Under IOEpoll a loop reads every connection into one buffer
		// (kept hot in the cache, as a bare server does) and each connection
		// keeps only the head of a frame between reads.
		size := readBufferSize(cfg.Inflight, frameLen)
		if cfg.IO == IOEpoll {
			size = max(maxKeep, len(left))
		}
		ec := &echoConn{c: c, buf: make([]byte, size), ring: newStampRing(cfg.Inflight)}
		ec.keep = copy(ec.buf, left)
		conns[i] = ec
	})
	res := l.newResult()
	res.Warnings = warnings
	res.Inflight = cfg.Inflight
	res.Open = open
	if open == 0 {
		return res, nil
	}
	conns = opened(conns)
	var slow []*echoConn
	if cfg.SlowReaders > 0 {
		n := min(int(math.Ceil(cfg.SlowReaders*float64(len(conns)))), len(conns)-1)
		slow, conns = conns[:n], conns[n:]
		res.SlowReaders = n
	}
	l.startWindow()
	deadline := l.wall(l.end.Load())

	var prevMsgs, prevBytes int64
	stop := l.progress(func(elapsed time.Duration) string {
		var m, b int64
		for _, ec := range conns {
			m += ec.recv.Load()
			b += ec.bytes.Load()
		}
		dm, db := m-prevMsgs, b-prevBytes
		prevMsgs, prevBytes = m, b
		return fmt.Sprintf("%5.1fs  %d open  %s msgs/s  %.2f MB/s", elapsed.Seconds(), l.open.Load(), thousands(float64(dm)), float64(db)/1e6)
	})
	var wg sync.WaitGroup
	for _, ec := range slow {
		l.track(ec.c)
		wg.Go(func() { l.slowReader(ec, frames) })
	}
	var rss *rssPeak
	if len(slow) > 0 && cfg.PID > 0 {
		rss = l.watchRSS()
	}
	if cfg.IO == IOEpoll {
		if err := l.startEpoll(&wg, conns, frames, frameLen); err != nil {
			return nil, fmt.Errorf("load: IO epoll: %w", err)
		}
	} else {
		for _, ec := range conns {
			_ = ec.c.SetReadDeadline(deadline)
			l.track(ec.c)
			wg.Go(func() { l.echoLoop(ec, frames, frameLen) })
		}
	}
	l.sleepUntil(l.warmEnd)
	cpu := l.sampleCPU()
	l.sleepUntil(l.end.Load())
	cpu.finish(res, time.Duration(max(l.end.Load()-l.warmEnd, 1)))
	if rss != nil {
		res.RSSBeforeKB, res.RSSPeakKB = rss.stop()
	}
	wg.Wait()
	stop()

	summarize(l, res, conns, true)
	return res, nil
}

// take scans b, the bytes carried over from the last read and those just
// read at time now: it pops and records the send time of each echo and
// counts them, and returns how many were completed (for the caller to send
// as many again) and how many bytes of b it consumed (the rest is the head of
// a frame, for the caller to carry over). An error (a close or a frame it
// cannot go past) ends the connection.
func (ec *echoConn) take(l *loader, b []byte, now int64) (done, p int, err error) {
scan:
	for {
		k, ev := ec.sc.next(b[p:])
		p += k
		switch ev {
		case evMore:
			break scan
		case evMessage:
			ts, ok := ec.ring.pop()
			if !ok {
				return done, p, &phaseError{"read", errors.New("more messages than were sent: not an echo server")}
			}
			done++
			if now >= l.warmEnd {
				ec.hist.record(now - ts)
			}
		case evClose:
			return done, p, ec.sc.closeError()
		case evError:
			return done, p, &phaseError{"read", ec.sc.err}
		}
	}
	if done > 0 {
		ec.recv.Add(int64(done))
		ec.bytes.Add(int64(done) * int64(l.cfg.Size))
		if now >= l.warmEnd {
			ec.msgs += int64(done)
			ec.silence = max(ec.silence, now-max(ec.last, l.warmEnd))
			ec.last = now
		}
	}
	return done, p, nil
}

// echoLoop runs one connection on its own goroutine (IONet): it writes
// the frames in flight, then, for each read that completes k echoes, writes
// k frames again in one write. It ends at the read deadline (the end of the
// run), closing the connection, or at the first error, counted.
func (l *loader) echoLoop(ec *echoConn, frames []byte, frameLen int) {
	inflight := l.cfg.Inflight
	ec.ring.pushN(l.now(), inflight)
	if _, err := ec.c.Write(frames[:inflight*frameLen]); err != nil {
		l.drop(ec.c, &phaseError{"write", err})
		return
	}
	for {
		n, err := ec.c.Read(ec.buf[ec.keep:])
		if n > 0 {
			b := ec.buf[:ec.keep+n]
			now := l.now() // the one clock read of this read
			done, p, terr := ec.take(l, b, now)
			if terr != nil {
				l.drop(ec.c, terr)
				return
			}
			ec.keep = copy(ec.buf, b[p:])
			if done > 0 {
				ec.ring.pushN(now, done)
				if _, err := ec.c.Write(frames[:done*frameLen]); err != nil {
					l.drop(ec.c, &phaseError{"write", err})
					return
				}
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if err := l.closeConn(ec.c, ec.buf, ec.keep, &ec.sc); err != nil {
					l.fail(err)
				}
				return
			}
			l.drop(ec.c, &phaseError{"read", err})
			return
		}
	}
}

// drop counts err and closes c without a closing handshake.
func (l *loader) drop(c net.Conn, err error) {
	l.fail(err)
	c.Close()
	l.open.Add(-1)
}

// slowReader is a connection of Config.SlowReaders: after the warm-up it
// writes its frames every slowInterval and never reads, until the end of
// the window or until a write blocks that long (the server stopped reading
// it). It then closes without a closing handshake.
func (l *loader) slowReader(ec *echoConn, frames []byte) {
	defer l.open.Add(-1)
	defer ec.c.Close()
	l.sleepUntil(l.warmEnd)
	_ = ec.c.SetWriteDeadline(l.wall(l.end.Load()))
	t := time.NewTicker(slowInterval)
	defer t.Stop()
	for l.now() < l.end.Load() {
		if _, err := ec.c.Write(frames); err != nil {
			return // the deadline, or the server gave up on it
		}
		select {
		case <-t.C:
		case <-l.ctx.Done():
			return
		}
	}
}

// slowInterval is how often a slow reader writes its frames.
const slowInterval = 10 * time.Millisecond

// rssPeak samples the server's resident memory every 100 ms.
type rssPeak struct {
	before, peak int64
	done         chan struct{}
	finished     chan struct{}
}

func (l *loader) watchRSS() *rssPeak {
	r := &rssPeak{done: make(chan struct{}), finished: make(chan struct{})}
	r.before, _ = readRSS(l.cfg.PID)
	r.peak = r.before
	go func() {
		defer close(r.finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if kb, err := readRSS(l.cfg.PID); err == nil {
					r.peak = max(r.peak, kb)
				}
			case <-r.done:
				return
			}
		}
	}()
	return r
}

// stop ends the sampling and returns the first reading and the peak, KiB.
func (r *rssPeak) stop() (before, peak int64) {
	close(r.done)
	<-r.finished
	return r.before, r.peak
}
