package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// table prints rows of two columns, the first one padded.
type table struct {
	title string
	rows  [][2]string
}

func (t *table) add(k string, format string, args ...any) {
	t.rows = append(t.rows, [2]string{k, fmt.Sprintf(format, args...)})
}

func (t *table) print(w io.Writer) {
	width := 0
	for _, r := range t.rows {
		width = max(width, len(r[0]))
	}
	fmt.Fprintf(w, "== %s\n", t.title)
	for _, r := range t.rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
	}
	fmt.Fprintln(w)
}

// tally counts strings.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *tally) inc(k string) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k]++
	t.mu.Unlock()
}

// String lists the counts, largest first: "90 close 1009, 10 EOF".
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if t.m[keys[i]] != t.m[keys[j]] {
			return t.m[keys[i]] > t.m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", t.m[k], k)
	}
	return strings.Join(parts, ", ")
}

// latencies collects round-trip times from many goroutines.
type latencies struct {
	mu     sync.Mutex
	d      []time.Duration
	sent   int
	failed int
	why    tally
}

func (l *latencies) ok(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.sent++
	l.mu.Unlock()
}

func (l *latencies) fail(why string) {
	l.mu.Lock()
	l.sent++
	l.failed++
	l.mu.Unlock()
	l.why.inc(why)
}

// String gives p50, p99 and max of the successful round trips.
func (l *latencies) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "no round trip completed"
	}
	d := slices.Clone(l.d)
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return fmt.Sprintf("p50 %v  p99 %v  max %v  (%d round trips)", ms(q(0.50)), ms(q(0.99)), ms(d[len(d)-1]), len(d))
}

func (l *latencies) failures() string {
	l.mu.Lock()
	sent, failed := l.sent, l.failed
	l.mu.Unlock()
	if failed == 0 {
		return fmt.Sprintf("0 of %d", sent)
	}
	return fmt.Sprintf("%d of %d (%s)", failed, sent, l.why.String())
}

// ms rounds a duration for display.
func ms(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "attack: "+format+"\n", args...)
}
