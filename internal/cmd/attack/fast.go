package main

import (
	"bytes"
	"fmt"
	"os"
	"time"
)

// runFastReaders: big messages and a ping, read at full speed; do they all
// come back?
func runFastReaders(cfg config) error {
	limit := orDefault(cfg.limit, 120*time.Second)
	end := time.Now().Add(limit)
	s := newSampler(cfg.pid, cfg.every)
	defer s.Stop()
	base := idleBaseline(s)

	p8 := make([]byte, 8<<20)
	p16 := make([]byte, 16<<20)
	for i := range p16 {
		p16[i] = byte(i * 7)
	}
	copy(p8, p16)
	key := maskKey()
	f8 := frame(opBinary, p8, key)
	f16 := frame(opBinary, p16, key)
	ping := frame(opPing, []byte("fast"), key)

	type fastCase struct {
		name    string
		payload []byte
		echoes  int
		send    func(c *wsConn) error
	}
	cases := []fastCase{
		{"(a) 2 × 8 MiB back to back, then a ping", p8, 2, func(c *wsConn) error {
			for _, b := range [][]byte{f8, f8, ping} {
				if _, err := c.Write(b); err != nil {
					return err
				}
			}
			return nil
		}},
		{"(b) 16 MiB, a ping 2 ms later", p16, 1, func(c *wsConn) error {
			if _, err := c.Write(f16); err != nil {
				return err
			}
			time.Sleep(2 * time.Millisecond)
			_, err := c.Write(ping)
			return err
		}},
	}
	t := table{title: fmt.Sprintf("%s: %d tries per case, each on a new connection, read at full speed",
		title(cfg, "fastreaders"), cfg.tries)}
	t.add("server RSS idle", "%s", mib(base))
	for _, fc := range cases {
		var outcomes tally
		ok := 0
		var slowest time.Duration
		caseStart := time.Now()
		cpu := startCPU(cfg.pid)
		for range cfg.tries {
			if time.Now().After(end) {
				outcomes.inc("not run (scenario time limit)")
				continue
			}
			res, took := fastTry(cfg, fc.payload, fc.echoes, fc.send, min(20*time.Second, time.Until(end)))
			outcomes.inc(res)
			if res == "ok" {
				ok++
				slowest = max(slowest, took)
			}
		}
		t.add(fc.name, "ok %d of %d (slowest ok %v); outcomes: %s", ok, cfg.tries, ms(slowest), outcomes.String())
		peak := s.Peak(caseStart)
		t.add("  server", "RSS peak %s (%s over idle), CPU %s", mib(peak), delta(base, peak), cpu.String())
	}
	time.Sleep(time.Second)
	after := s.Now()
	t.add("server RSS 1 s after", "%s (%s vs idle)", mib(after), delta(base, after))
	t.print(os.Stdout)
	return nil
}

// fastTry runs one try: a new connection, send writes the messages while
// this goroutine reads everything back at full speed. It returns "ok" when
// all echoes (equal to payload) and the pong arrived within timeout, else
// what happened.
func fastTry(cfg config, payload []byte, echoes int, send func(*wsConn) error, timeout time.Duration) (string, time.Duration) {
	c, err := dial(cfg.target, 0, min(cfg.dialDur, timeout))
	if err != nil {
		return "dial: " + kind(err), 0
	}
	defer c.Close()
	t0 := time.Now()
	_ = c.SetDeadline(t0.Add(timeout))
	werr := make(chan error, 1)
	go func() { werr <- send(c) }()
	got, pong := 0, false
	buf := make([]byte, 0, len(payload))
	for got < echoes || !pong {
		m, err := c.readMessage(buf, true)
		if err != nil {
			how := fmt.Sprintf("dropped: %s after %d of %d echoes", kind(err), got, echoes)
			if !pong {
				how += ", no pong"
			}
			if we := <-werr; we != nil {
				how += " (write: " + kind(we) + ")"
			}
			return how, 0
		}
		switch m.op {
		case opPong:
			pong = true
		case opClose:
			c.Close()
			<-werr
			return fmt.Sprintf("dropped: close %d after %d of %d echoes", m.code, got, echoes), 0
		case opBinary:
			if !bytes.Equal(m.data, payload) {
				c.Close()
				<-werr
				return fmt.Sprintf("wrong echo (%d bytes)", m.n), 0
			}
			got++
		}
		buf = m.data[:0]
	}
	took := time.Since(t0)
	<-werr
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(closeFrame())
	return "ok", took
}
