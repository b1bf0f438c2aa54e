package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux this runs on).
const clockTicks = 100

// rssKB reads VmRSS of pid in KiB; -1 when it cannot be read (the
// process is gone).
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	i := bytes.Index(b, []byte("VmRSS:"))
	if i < 0 {
		return -1 // a zombie has no VmRSS
	}
	f := strings.Fields(string(b[i+len("VmRSS:"):]))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// cpuTime reads the user+system CPU time of pid; ok false when it cannot.
func cpuTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * time.Second / clockTicks, true
}

// fds counts the open file descriptors of pid (sockets among them); -1
// when they cannot be listed.
func fds(pid int) int {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(es)
}

// alive reports whether pid is still running (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// sampler records the server's RSS every interval until stopped.
type sampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []sample
}

type sample struct {
	t   time.Time
	rss int64 // KiB
}

func newSampler(pid int, every time.Duration) *sampler {
	s := &sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			s.take()
			select {
			case <-s.stop:
				return
			case <-tk.C:
			}
		}
	}()
	return s
}

func (s *sampler) take() int64 {
	v := rssKB(s.pid)
	s.mu.Lock()
	s.samples = append(s.samples, sample{time.Now(), v})
	s.mu.Unlock()
	return v
}

// Stop ends the sampling.
func (s *sampler) Stop() {
	close(s.stop)
	<-s.done
}

// Now samples once more and returns the RSS in KiB.
func (s *sampler) Now() int64 { return s.take() }

// Peak returns the largest RSS sampled at or after since, in KiB, with one
// more sample taken now: a phase shorter than the sampling period (a bomb
// refused in 4 ms) has that one at least.
func (s *sampler) Peak(since time.Time) int64 {
	s.take()
	s.mu.Lock()
	defer s.mu.Unlock()
	peak := int64(-1)
	for _, x := range s.samples {
		if !x.t.Before(since) && x.rss > peak {
			peak = x.rss
		}
	}
	return peak
}

// cpuMeter measures the server's CPU use over an interval.
type cpuMeter struct {
	pid   int
	t0    time.Time
	c0    time.Duration
	valid bool
}

func startCPU(pid int) cpuMeter {
	c, ok := cpuTime(pid)
	return cpuMeter{pid: pid, t0: time.Now(), c0: c, valid: ok}
}

// String returns the CPU used since start as a percentage of one core.
func (m cpuMeter) String() string {
	c, ok := cpuTime(m.pid)
	wall := time.Since(m.t0)
	if !m.valid || !ok || wall <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%% of a core (%.1f s CPU in %.1f s)",
		100*float64(c-m.c0)/float64(wall), (c - m.c0).Seconds(), wall.Seconds())
}

// mib formats a KiB figure in MiB.
func mib(kb int64) string {
	if kb < 0 {
		return "n/a (server gone)"
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

// delta formats b-a KiB in MiB with a sign.
func delta(a, b int64) string {
	if a < 0 || b < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f MiB", float64(b-a)/1024)
}
