package main

import (
	"fmt"
	"os"
	"time"
)

// runHalfOpen: one client completes the handshake and then sends nothing,
// not even pongs; how long until the server closes it?
func runHalfOpen(cfg config) error {
	limit := orDefault(cfg.limit, 60*time.Second)
	c, err := dial(cfg.target, 0, cfg.dialDur)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	t0 := time.Now()
	_ = c.SetReadDeadline(t0.Add(limit))
	pings := 0
	var firstPing time.Duration
	code := 0
	var codeAt time.Duration
	how := "still open"
	for {
		// The client reads only to observe; it answers nothing.
		m, err := c.readMessage(nil, false)
		if err != nil {
			how = kind(err)
			if how == "timeout" {
				how = "still open"
			}
			break
		}
		switch m.op {
		case opPing:
			if pings == 0 {
				firstPing = time.Since(t0)
			}
			pings++
		case opClose:
			if code == 0 {
				code, codeAt = m.code, time.Since(t0)
			}
		}
	}
	took := time.Since(t0)

	t := table{title: fmt.Sprintf("%s: one client silent after the handshake (never answers pings), bound %v", title(cfg, "halfopen"), limit)}
	if pings > 0 {
		t.add("pings received", "%d, the first after %v", pings, ms(firstPing))
	} else {
		t.add("pings received", "0")
	}
	if code != 0 {
		t.add("close frame", "%d after %v", code, ms(codeAt))
	} else {
		t.add("close frame", "none")
	}
	if how == "still open" {
		t.add("ended", "still open after %v", ms(took))
	} else {
		t.add("ended", "%s after %v", how, ms(took))
	}
	t.print(os.Stdout)
	return nil
}
