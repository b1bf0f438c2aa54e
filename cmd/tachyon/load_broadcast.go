package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
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

// bcastConn is one connection of the broadcast mode.
type bcastConn struct {
	c     net.Conn
	buf   []byte
	keep  int
	sc    frameScanner
	tally // deliveries of messages sent in the measured window

	recv atomic.Int64 // deliveries, warm-up included (progress line)
}

func (l *loader) runBroadcast() (*loadResult, error) {
	cfg := l.cfg
	conns := make([]*bcastConn, cfg.conns)
	open, _ := l.ramp(cfg.conns, func(i int, c net.Conn, left []byte) {
		bc := &bcastConn{c: c, buf: make([]byte, readBufferSize(1, cfg.size+engine.MaxHeaderSize)), sc: frameScanner{need: 8}}
		bc.keep = copy(bc.buf, left)
		conns[i] = bc
	})
	res := l.newResult()
	res.Open = open
	if open == 0 {
		return res, nil
	}
	conns = opened(conns)
	start := l.now()
	l.startWindow()
	// The sender stamps wall-clock time (it is what the message carries);
	// the window in wall-clock terms:
	wallWarm := l.wall(l.warmEnd).UnixNano()
	wallEnd := l.wall(l.end).UnixNano()
	deadline := l.wall(l.end + int64(broadcastGrace))

	var prev int64
	stop := l.progress(func(elapsed time.Duration) string {
		var m int64
		for _, bc := range conns {
			m += bc.recv.Load()
		}
		d := m - prev
		prev = m
		return fmt.Sprintf("%5.1fs  %d open  %s deliveries/s  %.2f MB/s", elapsed.Seconds(), l.open.Load(), thousands(float64(d)), float64(d)*float64(cfg.size)/1e6)
	})
	var wg sync.WaitGroup
	for _, bc := range conns {
		_ = bc.c.SetReadDeadline(deadline)
		wg.Go(func() { l.broadcastLoop(bc, wallWarm, wallEnd) })
	}
	cpu := l.sampleCPU() // the sender starts the window's clock with its first tick
	sent, err := l.broadcastSender(conns[0].c, wallWarm)
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
func (l *loader) broadcastSender(c net.Conn, wallWarm int64) (int64, error) {
	payload := make([]byte, l.cfg.size)
	for i := 8; i < len(payload); i++ {
		payload[i] = 'a' + byte(i%26)
	}
	frame := make([]byte, 0, len(payload)+engine.MaxHeaderSize)
	tick := time.NewTicker(l.cfg.interval)
	defer tick.Stop()
	var sent int64
	for l.now() < l.end {
		<-tick.C
		now := time.Now()
		if l.now() >= l.end {
			break
		}
		ts := now.UnixNano()
		binary.LittleEndian.PutUint64(payload, uint64(ts))
		h := engine.Header{Fin: true, OpCode: l.cfg.op, Masked: true}
		_, _ = rand.Read(h.Mask[:])
		frame = engine.AppendFrame(frame[:0], h, payload)
		if _, err := c.Write(frame); err != nil {
			return sent, err
		}
		if ts >= wallWarm {
			sent++
		}
	}
	return sent, nil
}

// broadcastLoop reads one connection's deliveries until the read deadline
// (the end of the run and a grace period), timing those of messages sent in
// the measured window [wallWarm, wallEnd).
func (l *loader) broadcastLoop(bc *bcastConn, wallWarm, wallEnd int64) {
	for {
		n, err := bc.c.Read(bc.buf[bc.keep:])
		if n > 0 {
			wallNow := time.Now().UnixNano()
			now := l.now()
			b := bc.buf[:bc.keep+n]
			p, got := 0, int64(0)
		scan:
			for {
				k, ev := bc.sc.next(b[p:])
				p += k
				switch ev {
				case evMore:
					break scan
				case evMessage:
					bc.recv.Add(1)
					if ts := bc.sc.stamp; ts >= wallWarm && ts < wallEnd {
						bc.hist.record(wallNow - ts)
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
