package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// runPingFlood: peers send pings as fast as they can and never read,
// beside one client echoing a small message every 100 ms.
func runPingFlood(cfg config) error {
	ping := frame(opPing, []byte("tachyon-attack!!"), maskKey())
	buf := bytes.Repeat(ping, 32<<10/len(ping))
	return spamScenario(cfg, "pingflood", orDefault(cfg.n, 500), 1, buf, len(ping),
		"masked pings (16-byte payload) as fast as they can, never reading")
}

// runSlowReaders: peers send echo requests continuously and never read,
// beside normal clients echoing every 100 ms.
func runSlowReaders(cfg config) error {
	payload := bytes.Repeat([]byte{'s'}, cfg.size)
	return spamScenario(cfg, "slowreaders", orDefault(cfg.n, 100), cfg.normal,
		frame(opBinary, payload, maskKey()), 0,
		fmt.Sprintf("masked %d-byte echo requests continuously, never reading", cfg.size))
}

// spamScenario runs n attackers writing buf over and over without reading
// (SO_RCVBUF cfg.rcvbuf) for cfg.dur beside normal well-behaved clients,
// then reports. unit > 0 counts frames of that size in what was sent.
func spamScenario(cfg config, name string, n, normal int, buf []byte, unit int, what string) error {
	limit := orDefault(cfg.limit, cfg.dur+60*time.Second)
	start := time.Now()
	s := newSampler(cfg.pid, cfg.every)
	defer s.Stop()
	base := idleBaseline(s)

	dialBy := start.Add(min(20*time.Second, limit/3))
	conns, dialFails := dialMany(cfg, n, cfg.rcvbuf, dialBy)
	open := countOpen(conns)
	if open == 0 {
		closeAll(conns)
		return fmt.Errorf("no attacker completed the handshake (%s)", dialFails)
	}

	lat := &latencies{}
	child, childErr := startNormal(cfg, normal, cfg.dur)

	cpu := startCPU(cfg.pid)
	attackStart := time.Now()
	until := attackStart.Add(cfg.dur)
	var (
		sent    atomic.Int64
		writes  tally
		endings tally
		wg      sync.WaitGroup
	)
	drainBy := until.Add(3 * time.Second)
	goEach(&wg, conns, func(_ int, c *wsConn) {
		defer c.Close()
		_ = c.SetWriteDeadline(until)
		last := time.Now()
		var err error
		for time.Now().Before(until) {
			var m int
			m, err = c.Write(buf)
			sent.Add(int64(m))
			if m > 0 {
				last = time.Now()
			}
			if err != nil {
				break
			}
			runtime.Gosched() // every attacker gets its turn
		}
		switch k := kind(err); {
		case k == "ok" || k == "timeout" && until.Sub(last) < time.Second:
			writes.inc("still writing at the end")
		case k == "timeout":
			writes.inc("writes stalled ≥ 1 s before the end")
		default:
			writes.inc("write failed: " + k)
		}
		// Now read what the server sent (pongs, echoes) to find out how
		// it ended the connection, if it did.
		endings.inc(drain(c, drainBy, true).String())
	})

	if childErr == nil {
		childErr = child.result(lat, cfg.dur+30*time.Second)
	}
	peak := s.Peak(attackStart)
	cpuAttack := cpu.String()
	wg.Wait()
	closeAll(conns)
	time.Sleep(2 * time.Second)
	after := s.Now()
	afterFDs := fds(cfg.pid)

	t := table{title: fmt.Sprintf("%s: %d peers sending %s for %v, %d normal client(s) echoing 32 B every 100 ms",
		title(cfg, name), n, what, cfg.dur, normal)}
	t.add("attackers connected", "%d of %d (failures: %s)", open, n, dialFails)
	sentLine := fmt.Sprintf("%.1f MiB", float64(sent.Load())/(1<<20))
	if unit > 0 {
		sentLine = fmt.Sprintf("%d frames (%.0f/s), %s", sent.Load()/int64(unit), float64(sent.Load()/int64(unit))/cfg.dur.Seconds(), sentLine)
	}
	t.add("attackers sent", "%s", sentLine)
	if childErr != nil {
		t.add("normal clients", "failed: %v", childErr)
	}
	t.add("normal latency", "%s", lat.String())
	t.add("normal failures", "%s (%d scheduled: one per 100 ms each; a slow round trip delays the next)",
		lat.failures(), normal*int(cfg.dur/(100*time.Millisecond)))
	t.add("server RSS", "idle %s, peak %s (%s), 2 s after all left %s (%s vs idle; %d fds open)",
		mib(base), mib(peak), delta(base, peak), mib(after), delta(base, after), afterFDs)
	t.add("server CPU", "%s", cpuAttack)
	t.add("attackers' writes", "%s", writes.String())
	t.add("attackers ended", "%s", endings.String())
	t.print(os.Stdout)
	return nil
}

// normalClient echoes a 32-byte text message every 100 ms on c until
// until, redialling when its connection fails (or c is nil), and records
// each round trip.
func normalClient(cfg config, c *wsConn, until time.Time, lat *latencies) {
	defer func() {
		if c != nil {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(closeFrame())
			c.Close()
		}
	}()
	fail := func(why string) {
		lat.fail(why)
		if c != nil {
			c.Close()
			c = nil
		}
	}
	key := maskKey()
	buf := make([]byte, 0, 64<<10)
	tk := time.NewTicker(100 * time.Millisecond)
	defer tk.Stop()
	for seq := 0; time.Now().Before(until); seq++ {
		if seq > 0 {
			<-tk.C
		}
		if c == nil {
			var err error
			if c, err = dial(cfg.target, 0, min(2*time.Second, cfg.dialDur)); err != nil {
				fail("dial: " + kind(err))
				continue
			}
		}
		payload := fmt.Appendf(nil, "normal client message %10d", seq)
		t0 := time.Now()
		_ = c.SetWriteDeadline(t0.Add(2 * time.Second))
		if _, err := c.Write(frame(opText, payload, key)); err != nil {
			fail("write: " + kind(err))
			continue
		}
		_ = c.SetReadDeadline(t0.Add(2 * time.Second))
		for {
			m, err := c.readMessage(buf, true)
			if err != nil {
				fail("read: " + kind(err))
				break
			}
			if m.op == opPing {
				_, _ = c.Write(frame(opPong, m.data, key))
				continue
			}
			if m.op == opPong {
				continue
			}
			if m.op == opClose {
				fail(fmt.Sprintf("close %d", m.code))
				break
			}
			if m.op != opText || !bytes.Equal(m.data, payload) {
				fail("wrong echo")
				break
			}
			lat.ok(time.Since(t0))
			break
		}
	}
}
