package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// holdFrame is the header of a masked binary frame of 16 MiB with a zero
// mask key: the payload that follows is sent as is (zeros).
var holdFrame = []byte{0x82, 0xFF, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0}

const holdPayload = 16<<20 - 1 // one byte short of the frame

// runHold: N peers each send all of a 16 MiB frame but its last byte and
// hold their sockets open; the server's RSS while they hold and after
// they leave.
func runHold(cfg config) error {
	n := orDefault(cfg.n, 100)
	limit := orDefault(cfg.limit, 90*time.Second)
	start := time.Now()
	end := start.Add(limit)
	afters := []time.Duration{5 * time.Second, 15 * time.Second, 30 * time.Second}
	// Time for writing: what is left once dialling (at most 15 s), the hold
	// and the last RSS sample are taken off.
	writeFor := min(30*time.Second, limit-15*time.Second-cfg.hold-afters[len(afters)-1]-2*time.Second)
	if writeFor <= 0 {
		return fmt.Errorf("-timeout %v is too short for a %v hold and RSS at +30 s", limit, cfg.hold)
	}

	s := newSampler(cfg.pid, cfg.every)
	defer s.Stop()
	base := idleBaseline(s)
	baseFDs := fds(cfg.pid)
	cpu := startCPU(cfg.pid)
	attackStart := time.Now()

	conns, dialFails := dialMany(cfg, n, 0, time.Now().Add(15*time.Second))
	open := countOpen(conns)
	if open == 0 {
		return fmt.Errorf("no peer completed the handshake (%s)", dialFails)
	}

	zeros := make([]byte, 256<<10)
	writeEnd := time.Now().Add(writeFor)
	var (
		sentAll   atomic.Int64
		sentBytes atomic.Int64
		writeEnds tally
		writers   sync.WaitGroup
		readers   sync.WaitGroup
		mu        sync.Mutex
		endings   = make([]ending, n)
	)
	for i, c := range conns {
		if c == nil {
			continue
		}
		writers.Add(1)
		go func() {
			defer writers.Done()
			_ = c.SetWriteDeadline(writeEnd)
			if _, err := c.Write(holdFrame); err != nil {
				writeEnds.inc(kind(err))
				return
			}
			left := holdPayload
			for left > 0 {
				m, err := c.Write(zeros[:min(left, len(zeros))])
				sentBytes.Add(int64(m))
				left -= m
				if err != nil {
					writeEnds.inc(kind(err))
					return
				}
			}
			sentAll.Add(1)
			writeEnds.inc("all 16 MiB-1 written")
		}()
		readers.Add(1)
		go func() {
			defer readers.Done()
			e := drain(c, end, false)
			mu.Lock()
			endings[i] = e
			mu.Unlock()
		}()
	}
	allWritten := make(chan struct{})
	go func() { writers.Wait(); close(allWritten) }()
	select {
	case <-allWritten:
	case <-time.After(time.Until(writeEnd) + time.Second):
	}
	writtenAt := time.Since(attackStart)
	time.Sleep(cfg.hold)

	// What the server did to them while they held.
	var byServer, stillOpen tally
	mu.Lock()
	closed := 0
	for i, c := range conns {
		if c == nil {
			continue
		}
		if e := endings[i]; e.code != 0 || e.how != "" {
			closed++
			byServer.inc(e.String())
		} else {
			stillOpen.inc("still open")
		}
	}
	mu.Unlock()
	peak := s.Peak(attackStart)
	cpuAttack := cpu.String()
	holdFDs := fds(cfg.pid)

	closeAll(conns)
	disc := time.Now()
	readers.Wait()
	rssAfter := make([]int64, len(afters))
	fdsAfter := make([]int, len(afters))
	for i, a := range afters {
		time.Sleep(time.Until(disc.Add(a)))
		rssAfter[i] = s.Now()
		fdsAfter[i] = fds(cfg.pid)
	}

	t := table{title: title(cfg, "hold") + fmt.Sprintf(": %d peers, 16 MiB frame header + %d bytes each, then held", n, holdPayload)}
	t.add("peers connected", "%d of %d (failures: %s)", open, n, dialFails)
	t.add("payload written", "%d peers wrote all of it; %.0f MiB in total in %.1f s (writers: %s)",
		sentAll.Load(), float64(sentBytes.Load())/(1<<20), writtenAt.Seconds(), writeEnds.String())
	t.add("server RSS idle", "%s (%d fds open)", mib(base), baseFDs)
	t.add("server RSS peak", "%s (%s over idle) while the peers wrote and held %v; target ≤ 1 GiB: %s",
		mib(peak), delta(base, peak), cfg.hold, yesNo(peak >= 0 && peak <= 1<<20))
	t.add("server CPU", "%s", cpuAttack)
	t.add("closed by server", "%d of %d: %s", closed, open, byServer.String())
	t.add("open at disconnect", "%d (server: %d fds open)", open-closed, holdFDs)
	for i, a := range afters {
		t.add(fmt.Sprintf("RSS %v after", a), "%s (%s vs idle; %d fds open)", mib(rssAfter[i]), delta(base, rssAfter[i]), fdsAfter[i])
	}
	last := rssAfter[len(rssAfter)-1]
	t.add("back within 64 MiB", "%s (at +%v)", yesNo(last >= 0 && base >= 0 && last-base <= 64<<10), afters[len(afters)-1])
	t.add("scenario took", "%.1f s", time.Since(start).Seconds())
	t.print(os.Stdout)
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
