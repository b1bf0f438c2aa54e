package main

import (
	"bytes"
	"compress/flate"
	"fmt"
	"os"
	"sync"
	"time"
)

// bombInflated is what each bomb inflates to: 4× the default message limit.
const bombInflated = 64 << 20

// bombPayload returns a compressed message (RFC 7692: a flushed deflate
// stream without its 00 00 ff ff tail) that inflates to bombInflated
// bytes: mostly zeros, with a little text now and then so that it is not
// the smallest possible stream.
func bombPayload() []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 9)
	chunk := make([]byte, 1<<20)
	for i := 0; i < bombInflated/len(chunk); i++ {
		copy(chunk[i*97%len(chunk):], fmt.Sprintf("chunk %d", i))
		_, _ = w.Write(chunk)
	}
	_ = w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// runBomb: compression bombs against a server started with -deflate. First
// one peer, then N at once, each send one compressed message that inflates
// to 64 MiB; each should be answered 1009 as soon as the message limit is
// passed, with the server's RSS growing by a bounded amount.
func runBomb(cfg config) error {
	n := orDefault(cfg.n, 20)
	limit := orDefault(cfg.limit, 90*time.Second)
	end := time.Now().Add(limit)
	cfg.target.ext = "permessage-deflate; client_max_window_bits"
	payload := bombPayload()
	key := maskKey()
	msg := frame(opBinary, payload, key)
	msg[0] |= 0x40 // RSV1: compressed

	s := newSampler(cfg.pid, cfg.every)
	defer s.Stop()
	base := idleBaseline(s)
	t := table{title: title(cfg, "bomb") + fmt.Sprintf(": compressed messages of %d KiB on the wire inflating to %d MiB", len(payload)>>10, bombInflated>>20)}
	t.add("server RSS idle", "%s", mib(base))
	for _, k := range []int{1, n} {
		cpu := startCPU(cfg.pid)
		start := time.Now()
		conns, fails := dialMany(cfg, k, 0, time.Now().Add(15*time.Second))
		open := countOpen(conns)
		if open == 0 {
			return fmt.Errorf("no peer completed the handshake (%s)", fails)
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			endings tally
			lat     latencies
		)
		goEach(&wg, conns, func(_ int, c *wsConn) {
			sent := time.Now()
			_ = c.SetWriteDeadline(end)
			if _, err := c.Write(msg); err != nil {
				mu.Lock()
				endings.inc("write: " + kind(err))
				mu.Unlock()
				return
			}
			e := drain(c, end, true)
			mu.Lock()
			endings.inc(e.String())
			if e.code != 0 {
				lat.ok(e.at.Sub(sent))
			} else {
				lat.fail(e.String())
			}
			mu.Unlock()
		})
		wg.Wait()
		peak := s.Peak(start)
		closeAll(conns)
		t.add(fmt.Sprintf("%d at once", k), "%d connected (failures: %s); endings: %s", open, fails, endings.String())
		t.add(fmt.Sprintf("%d at once: time to close", k), "%s", lat.String())
		t.add(fmt.Sprintf("%d at once: RSS peak", k), "%s (%s over idle); CPU %s", mib(peak), delta(base, peak), cpu.String())
		time.Sleep(2 * time.Second) // let the server hand memory back between rounds
	}
	t.print(os.Stdout)
	return nil
}
