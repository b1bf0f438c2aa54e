package load

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// idleSettle is how long idle mode waits after the last upgrade before it
// reads the server's memory the first time; it reads it again idleSettle/2
// later.
const idleSettle = time.Second

// idleConn is an open idle connection and what it read with its handshake.
type idleConn struct {
	c    net.Conn
	left []byte
}

func (l *loader) runIdle() (*Result, error) {
	cfg := l.cfg
	res := l.newResult()
	if cfg.PID > 0 {
		kb, err := readRSS(cfg.PID)
		if err != nil {
			return nil, fmt.Errorf("load: PID %d: %w", cfg.PID, err)
		}
		res.RSSBeforeKB = kb
	}
	conns := make([]idleConn, cfg.Conns)
	open, took := l.ramp(cfg.Conns, func(i int, c net.Conn, left []byte) {
		conns[i] = idleConn{c, append([]byte(nil), left...)}
	})
	res.Open = open
	res.RampSec = took.Seconds()
	if took > 0 {
		res.UpgradesPerSec = float64(open) / took.Seconds()
	}
	if open == 0 {
		return res, nil
	}
	if cfg.Deflate {
		l.echoOnce(conns)
		open = int(l.open.Load())
		res.Open = open
	}
	held := time.Now()
	if cfg.PID > 0 {
		time.Sleep(idleSettle)
		for i := range 2 {
			if i > 0 {
				time.Sleep(idleSettle / 2)
			}
			kb, err := readRSS(cfg.PID)
			if err != nil {
				return nil, fmt.Errorf("load: PID %d: %w", cfg.PID, err)
			}
			res.RSSAfterKB = append(res.RSSAfterKB, kb)
		}
		after := res.RSSAfterKB[len(res.RSSAfterKB)-1]
		res.BytesPerConn = float64(after-res.RSSBeforeKB) * 1024 / float64(open)
	}
	stop := l.progress(func(elapsed time.Duration) string {
		return fmt.Sprintf("%5.1fs  %d open, holding", time.Since(held).Seconds(), l.open.Load())
	})
	l.sleepUntil(l.now() + int64(cfg.Duration-time.Since(held)))
	stop()
	res.Duration = time.Since(held).Seconds()

	// Close them all, rampConcurrency at a time, each with a close frame
	// (1000) and a wait for the server's.
	var next, clean atomic.Int64
	var wg sync.WaitGroup
	for range min(rampConcurrency, len(conns)) {
		wg.Go(func() {
			buf := make([]byte, 4096)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(conns) {
					return
				}
				ic := conns[i]
				if ic.c == nil {
					continue
				}
				var sc frameScanner
				keep := copy(buf, ic.left)
				if err := l.closeConn(ic.c, buf, keep, &sc); err != nil {
					l.fail(err)
				} else {
					clean.Add(1)
				}
			}
		})
	}
	wg.Wait()
	res.CleanCloses = int(clean.Load())
	return res, nil
}

// readRSS returns the VmRSS of process pid, in KiB, from /proc/PID/status.
func readRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
			return strconv.ParseInt(string(v), 10, 64)
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// echoOnce has every open connection send one compressed message and read
// its echo, rampConcurrency at a time, so that the memory measured next is
// that of connections that have inflated and compressed (with context
// takeover, that hold their windows). A connection that fails is closed
// and counted.
func (l *loader) echoOnce(conns []idleConn) {
	frame := appendClientFrames(nil, 1, l.cfg.Size, l.op, true)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(rampConcurrency, len(conns)) {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(conns) {
					return
				}
				ic := &conns[i]
				if ic.c == nil {
					continue
				}
				if err := echoOne(ic, frame, buf); err != nil {
					l.fail(&phaseError{"first echo", err})
					ic.c.Close()
					ic.c = nil
					l.open.Add(-1)
				}
			}
		})
	}
	wg.Wait()
}

// echoOne writes frame on ic and reads until one message has come back.
func echoOne(ic *idleConn, frame, buf []byte) error {
	_ = ic.c.SetDeadline(time.Now().Add(handshakeTimeout))
	defer ic.c.SetDeadline(time.Time{})
	if _, err := ic.c.Write(frame); err != nil {
		return err
	}
	var s frameScanner
	have := copy(buf, ic.left)
	ic.left = nil
	for {
		off := 0
		for off < have {
			n, ev := s.next(buf[off:have])
			off += n
			switch ev {
			case evMessage:
				return nil
			case evClose:
				return fmt.Errorf("closed by the server: %d %s", s.closeCode, s.closeReason)
			case evError:
				return s.err
			}
			if ev == evMore {
				break
			}
		}
		have = copy(buf, buf[off:have])
		n, err := ic.c.Read(buf[have:])
		if err != nil {
			return err
		}
		have += n
	}
}
