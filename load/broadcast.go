package load

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// broadcastGrace is how long the receivers keep reading after the sender's
// last message, for deliveries still on their way.
const broadcastGrace = time.Second

// bcastConn is one connection of the broadcast mode under IONet, read by a
// goroutine of its own.
type bcastConn struct {
	c     net.Conn
	buf   []byte
	keep  int
	sc    frameScanner
	tally // deliveries of messages sent in the measured window

	recv atomic.Int64 // deliveries, warm-up included (progress line)
}

func (l *loader) runBroadcast() (*Result, error) {
	if l.cfg.IO == IOEpoll {
		return l.runBroadcastEpoll()
	}
	cfg := l.cfg
	conns := make([]*bcastConn, cfg.Conns)
	open, _ := l.ramp(cfg.Conns, func(i int, c net.Conn, left []byte) {
		bc := &bcastConn{c: c, buf: make([]byte, readBufferSize(1, cfg.Size+engine.MaxHeaderSize)), sc: frameScanner{need: 8}}
		bc.keep = copy(bc.buf, left)
		conns[i] = bc
	})
	res := l.newResult()
	res.Open = open
	if open == 0 {
		return res, nil
	}
	conns = opened(conns)
	if cfg.Interval < 0 {
		l.paced = &pacer{poke: make(chan struct{}, 1)}
		l.paced.want.Store(math.MaxInt64)
	}
	start := l.now()
	l.startWindow()
	// The sender and the receivers share the loader's monotonic clock: a
	// message carries now() of its send, and a delivery costs the receiver
	// one clock read per read.
	warm, end := l.warmEnd, l.end.Load()
	deadline := l.wall(l.end.Load() + int64(broadcastGrace))

	var prev int64
	stop := l.progress(func(elapsed time.Duration) string {
		var m int64
		for _, bc := range conns {
			m += bc.recv.Load()
		}
		d := m - prev
		prev = m

		return fmt.Sprintf("%5.1fs  %d open  %s deliveries/s  %.2f MB/s", elapsed.Seconds(), l.open.Load(), thousands(float64(d)), float64(d)*float64(cfg.Size)/1e6)
	})
	var wg sync.WaitGroup
	for _, bc := range conns {
		_ = bc.c.SetReadDeadline(deadline)
		l.track(bc.c)
		wg.Go(func() { l.broadcastLoop(bc, warm, end) })
	}
	cpu := l.sampleCPU() // the sender starts the window's clock with its first tick
	var sent int64
	var err error
	if cfg.Interval < 0 {
		sent, err = l.broadcastPaced(conns[0].c, warm, int64(len(conns)))
	} else {
		sent, err = l.broadcastSender(conns[0].c, warm)
	}
	if err != nil {
		l.fail(&phaseError{"write", err})
	}
	cpu.finish(res, time.Duration(l.now()-start))
	wg.Wait()
	stop()

	summarize(l, res, conns, false)
	res.Sent = sent
	res.Missing = max(0, sent*int64(len(conns))-res.Messages)
	return res, nil
}

// broadcastSender writes a message stamped with its send time every
// interval on c until the end of the run, and returns how many it sent in
// the measured window. Each message is masked with a fresh key into a buffer
// reused for every send.
func (l *loader) broadcastSender(c net.Conn, warm int64) (int64, error) {
	payload := make([]byte, l.cfg.Size)
	for i := 8; i < len(payload); i++ {
		payload[i] = 'a' + byte(i%26)
	}
	frame := make([]byte, 0, len(payload)+engine.MaxHeaderSize)
	tick := time.NewTicker(l.cfg.Interval)
	defer tick.Stop()
	var sent int64
	for l.now() < l.end.Load() {
		select {
		case <-tick.C:
		case <-l.ctx.Done():
			return sent, nil
		}
		ts := l.now()
		if ts >= l.end.Load() {
			break
		}
		putStamp(payload, ts)
		h := engine.Header{Fin: true, OpCode: l.op, Masked: true}
		_, _ = rand.Read(h.Mask[:])
		frame = engine.AppendFrame(frame[:0], h, payload)
		if _, err := c.Write(frame); err != nil {
			return sent, err
		}
		if ts >= warm {
			sent++
		}
	}
	return sent, nil
}

// broadcastLoop reads one connection's deliveries until the read deadline
// (the end of the run and a grace period), timing those of messages sent in
// the measured window [warm, end).
func (l *loader) broadcastLoop(bc *bcastConn, warm, end int64) {
	for {
		n, err := bc.c.Read(bc.buf[bc.keep:])
		if n > 0 {
			now := l.now() // the one clock read of this read
			b := bc.buf[:bc.keep+n]
			p, got, all := 0, int64(0), int64(0)
		scan:
			for {
				k, ev := bc.sc.next(b[p:])
				p += k
				switch ev {
				case evMore:
					break scan
				case evMessage:
					bc.recv.Add(1)
					all++
					if ts := bc.sc.stamp; ts >= warm && ts < end {
						bc.hist.record(now - ts)
						got++
					}
				case evClose:
					l.drop(bc.c, bc.sc.closeError())
					return
				case evError:
					l.drop(bc.c, &phaseError{"read", bc.sc.err})
					return
				}
			}
			bc.keep = copy(bc.buf, b[p:])
			if all > 0 && l.paced != nil {
				l.paced.delivered(all)
			}
			if got > 0 {
				bc.msgs += got
				if bc.last != 0 {
					bc.silence = max(bc.silence, now-bc.last)
				}
				bc.last = now
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if err := l.closeConn(bc.c, bc.buf, bc.keep, &bc.sc); err != nil {
					l.fail(err)
				}
				return
			}
			l.drop(bc.c, &phaseError{"read", err})
			return
		}
	}
}

// pacer lets the paced broadcast sender (Config.Interval < 0) wait for
// deliveries: receivers add theirs, and poke the sender once the total
// reaches what it waits for.
type pacer struct {
	total atomic.Int64 // deliveries so far, warm-up included
	want  atomic.Int64 // the total the sender waits for
	poke  chan struct{}
}

func (p *pacer) delivered(k int64) {
	if p.total.Add(k) >= p.want.Load() {
		select {
		case p.poke <- struct{}{}:
		default:
		}
	}
}

// broadcastPaced sends as fast as the receivers take the messages: it
// keeps Config.Inflight messages in flight, a message counting as delivered
// once the deliveries to all n receivers add up to it (a receiver that
// falls behind is made up for by none: all receive every message, in
// order). It returns how many messages it sent in the measured window.
func (l *loader) broadcastPaced(c net.Conn, warm, n int64) (int64, error) {
	payload := make([]byte, l.cfg.Size)
	for i := 8; i < len(payload); i++ {
		payload[i] = 'a' + byte(i%26)
	}
	frame := make([]byte, 0, len(payload)+engine.MaxHeaderSize)
	end := l.end.Load()
	timer := time.NewTimer(time.Duration(end - l.now()))
	defer timer.Stop()
	inflight := int64(l.cfg.Inflight)
	var sent int64
	for seq := int64(0); ; seq++ {
		// Messages 0 .. seq-inflight must be delivered everywhere.
		if need := (seq - inflight + 1) * n; need > 0 {
			l.paced.want.Store(need)
			for l.paced.total.Load() < need {
				select {
				case <-l.paced.poke:
				case <-timer.C:
					return sent, nil
				case <-l.ctx.Done():
					return sent, nil
				}
			}
		}
		ts := l.now()
		if ts >= l.end.Load() {
			return sent, nil
		}
		putStamp(payload, ts)
		h := engine.Header{Fin: true, OpCode: l.op, Masked: true}
		_, _ = rand.Read(h.Mask[:])
		frame = engine.AppendFrame(frame[:0], h, payload)
		if _, err := c.Write(frame); err != nil {
			return sent, err
		}
		if ts >= warm {
			sent++
		}
	}
}
