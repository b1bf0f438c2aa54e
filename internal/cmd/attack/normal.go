package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// The well-behaved clients run in a child process of their own (the tool
// re-executed with -scenario normal): in the attackers' process hundreds
// of goroutines that never block would keep them waiting for a turn, and
// their latency would measure the tool's scheduler, not the server. The
// child inherits the tool's priority.
//
// The child dials its clients, prints "ready", echoes for -d from then on,
// and prints its result as one JSON line.

type normalResult struct {
	RTTMicros []int64        `json:"rtt_us"`
	Sent      int            `json:"sent"`
	Failed    int            `json:"failed"`
	Why       map[string]int `json:"why"`
	Dialled   int            `json:"dialled"`
}

// runNormal is the child's side.
func runNormal(cfg config) error {
	conns, fails := dialMany(cfg, cfg.normal, 0, time.Now().Add(cfg.dialDur))
	lat := &latencies{}
	for _, c := range conns {
		if c == nil {
			lat.fail("first dial")
		}
	}
	if fails.String() != "none" {
		warnf("normal clients: dial failures: %s", fails)
	}
	fmt.Println("ready")
	until := time.Now().Add(cfg.dur)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			normalClient(cfg, c, until, lat)
		}()
	}
	wg.Wait()
	r := normalResult{Sent: lat.sent, Failed: lat.failed, Why: lat.why.m, Dialled: countOpen(conns)}
	for _, d := range lat.d {
		r.RTTMicros = append(r.RTTMicros, d.Microseconds())
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// normalChild is the parent's handle on the child process.
type normalChild struct {
	cmd   *exec.Cmd
	lines chan string
}

// startNormal starts the child with n clients echoing for dur and waits
// until they are connected.
func startNormal(cfg config, n int, dur time.Duration) (*normalChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-scenario", "normal", "-url", cfg.url, "-pid", strconv.Itoa(cfg.pid),
		"-normal", strconv.Itoa(n), "-d", dur.String(), "-dial-timeout", cfg.dialDur.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// The attackers run at low priority (nice 19, which the child
	// inherits); the well-behaved clients should not: back to the normal
	// priority where the system allows it (root), so that their latency
	// is the server's, not their own scheduling's.
	if err := unnice(cmd.Process.Pid); err != nil {
		fmt.Fprintf(os.Stderr, "note: the normal clients keep the attackers' priority: %v\n", err)
	}
	ch := &normalChild{cmd: cmd, lines: make(chan string, 4)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			ch.lines <- sc.Text()
		}
		close(ch.lines)
	}()
	if line, err := ch.next(cfg.dialDur + 5*time.Second); err != nil || line != "ready" {
		ch.stop()
		return nil, fmt.Errorf("normal clients' process: %q, %v", line, err)
	}
	return ch, nil
}

func (ch *normalChild) next(timeout time.Duration) (string, error) {
	select {
	case line, ok := <-ch.lines:
		if !ok {
			return "", errors.New("exited")
		}
		return line, nil
	case <-time.After(timeout):
		return "", errors.New("timed out")
	}
}

// result waits up to timeout for the child's result and merges it into lat.
func (ch *normalChild) result(lat *latencies, timeout time.Duration) error {
	defer ch.stop()
	line, err := ch.next(timeout)
	if err != nil {
		return err
	}
	var r normalResult
	if err := json.NewDecoder(bytes.NewReader([]byte(line))).Decode(&r); err != nil {
		return err
	}
	for _, us := range r.RTTMicros {
		lat.ok(time.Duration(us) * time.Microsecond)
	}
	for why, k := range r.Why {
		for range k {
			lat.fail(why)
		}
	}
	return nil
}

// stop ends the child (it has normally exited by now) and reaps it.
func (ch *normalChild) stop() {
	done := make(chan struct{})
	go func() { _ = ch.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = ch.cmd.Process.Kill()
		<-done
	}
}
