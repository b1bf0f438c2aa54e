package main

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

// runSigterm: C idle connections, then SIGTERM to the server; who got a
// 1001 close frame, and how long it all took.
func runSigterm(cfg config) error {
	n := orDefault(cfg.n, 3000)
	limit := orDefault(cfg.limit, 90*time.Second)
	start := time.Now()
	conns, dialFails := dialMany(cfg, n, 0, start.Add(limit/2))
	open := countOpen(conns)
	if open == 0 {
		return fmt.Errorf("no client completed the handshake (%s)", dialFails)
	}
	defer closeAll(conns)
	rss := rssKB(cfg.pid)

	wait := min(30*time.Second, time.Until(start.Add(limit)))
	var (
		mu      sync.Mutex
		endings []ending
		wg      sync.WaitGroup
		sigAt   time.Time
	)
	readBy := time.Now().Add(wait + 2*time.Second)
	goEach(&wg, conns, func(_ int, c *wsConn) {
		e := drain(c, readBy, true)
		if e.code != 0 || e.how != "" {
			mu.Lock()
			endings = append(endings, e)
			mu.Unlock()
		}
	})
	time.Sleep(500 * time.Millisecond) // let every reader block in read
	proc, err := os.FindProcess(cfg.pid)
	if err != nil {
		return err
	}
	sigAt = time.Now()
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	exited := make(chan time.Duration, 1)
	go func() {
		for time.Since(sigAt) < wait {
			if !alive(cfg.pid) {
				exited <- time.Since(sigAt)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		closeAll(conns) // the readers still blocked are counted as open
		<-done
	}

	var results tally
	var before int
	var times []time.Duration
	mu.Lock()
	for _, e := range endings {
		if e.at.Before(sigAt) {
			before++
			continue
		}
		results.inc(e.String())
		times = append(times, e.at.Sub(sigAt))
	}
	got := len(endings)
	mu.Unlock()
	slices.Sort(times)

	t := table{title: fmt.Sprintf("%s: %d idle connections, then SIGTERM to the server", title(cfg, "sigterm"), n)}
	t.add("clients connected", "%d of %d (failures: %s); server RSS %s", open, n, dialFails, mib(rss))
	t.add("closed before SIGTERM", "%d", before)
	t.add("results after SIGTERM", "%s", results.String())
	t.add("no result within", "%v: %d", wait, open-got)
	if len(times) > 0 {
		t.add("SIGTERM to results", "first %v, median %v, last %v", ms(times[0]), ms(times[len(times)/2]), ms(times[len(times)-1]))
	}
	select {
	case d := <-exited:
		t.add("server exited", "%v after SIGTERM", ms(d))
	case <-time.After(time.Until(sigAt.Add(wait))):
		t.add("server exited", "not within %v", wait)
	}
	t.print(os.Stdout)
	return nil
}
