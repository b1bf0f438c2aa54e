package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Where the peers live. Python is Debian's interpreter on purpose: a pyenv or
// virtualenv python3 earlier on PATH does not see python3-websockets.
const (
	chromiumPath = "/usr/bin/chromium"
	pythonPath   = "/usr/bin/python3"
)

// sizes are the message sizes, in bytes, every peer exchanges: empty, one
// byte, the largest 7-bit length, the smallest 16-bit one, the largest 16-bit
// one, the smallest 64-bit one, and one well past 64 KiB (several reads, and
// several frames for peers that fragment).
var sizes = []int{0, 1, 125, 126, 65535, 65536, 200000}

// requirePeer skips the test when a peer is missing, or fails it when
// TACHYON_INTEROP_REQUIRED is set.
func requirePeer(t *testing.T, name string, err error, hint string) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("TACHYON_INTEROP_REQUIRED") != "" {
		t.Fatalf("interop peer %s is missing (TACHYON_INTEROP_REQUIRED is set): %v; %s", name, err, hint)
	}
	t.Skipf("interop peer %s is missing: %v; %s (or run ci/interop.sh)", name, err, hint)
}

func requireChromium(t *testing.T) {
	t.Helper()
	_, err := os.Stat(chromiumPath)
	requirePeer(t, "chromium", err, "install Debian's chromium (ci/interop-tools.sh)")
}

var nodeCheck = sync.OnceValues(func() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join("node_modules", "ws", "package.json")); err != nil {
		return "", fmt.Errorf("ws is not installed in interop/node_modules: %w", err)
	}
	return node, nil
})

// requireNode returns the node binary, with ws installed beside the scripts.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := nodeCheck()
	requirePeer(t, "node ws", err, "install Node.js and run `npm ci --prefix interop`")
	return node
}

var pythonCheck = sync.OnceValue(func() error {
	out, err := exec.Command(pythonPath, "-c", "import websockets").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import websockets: %v: %s", pythonPath, err, bytes.TrimSpace(out))
	}
	return nil
})

func requirePython(t *testing.T) {
	t.Helper()
	requirePeer(t, "python websockets", pythonCheck(), "install Debian's python3-websockets (ci/interop-tools.sh)")
}

// peerProc is a peer running as a child process, in a process group of its
// own so that it and every process it started can be killed at once.
type peerProc struct {
	cmd    *exec.Cmd
	lines  chan string   // stdout, line by line; closed at EOF
	stderr *syncBuffer   // all of stderr, for failure messages
	done   chan struct{} // closed once the process has been waited for
	err    error         // Wait's result, once done is closed
}

// startPeer starts a command with the interop directory as its working
// directory and env added to the test's environment. It is killed (with its
// whole process group) on test cleanup.
func startPeer(t *testing.T, env []string, name string, args ...string) *peerProc {
	t.Helper()
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdin = nil
	p := &peerProc{cmd: cmd, lines: make(chan string, 64), stderr: new(syncBuffer), done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not exit after SIGKILL", name, cmd.Process.Pid)
		}
		if t.Failed() {
			if s := p.stderr.String(); s != "" {
				t.Logf("%s stderr:\n%s", filepath.Base(name), p.stderrTail())
			}
		}
	})
	return p
}

// stderrTail returns the end of the process's stderr, without Chromium's
// complaints that there is no D-Bus (there never is, on a test machine).
func (p *peerProc) stderrTail() string {
	var keep []string
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if !strings.Contains(l, ":ERROR:dbus/") {
			keep = append(keep, l)
		}
	}
	return tail(strings.Join(keep, "\n"), 4000)
}

// kill sends SIGKILL to the process group.
func (p *peerProc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// line returns the next line of stdout, or fails the test after timeout or at
// EOF.
func (p *peerProc) line(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("%s ended (%v) before printing the expected line; stderr:\n%s", p.cmd.Path, p.err, p.stderrTail())
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("%s printed nothing for %v; stderr:\n%s", p.cmd.Path, timeout, p.stderrTail())
	}
	return ""
}

// jsonLine reads the next stdout line and decodes it into v.
func (p *peerProc) jsonLine(t *testing.T, timeout time.Duration, v any) {
	t.Helper()
	l := p.line(t, timeout)
	if err := json.Unmarshal([]byte(l), v); err != nil {
		t.Fatalf("%s printed %q, not JSON: %v", p.cmd.Path, l, err)
	}
}

// wait waits for the process to exit and fails the test unless it exited 0.
func (p *peerProc) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		t.Fatalf("%s did not exit within %v; stderr:\n%s", p.cmd.Path, timeout, p.stderrTail())
	}
	if p.err != nil {
		t.Fatalf("%s: %v; stderr:\n%s", p.cmd.Path, p.err, p.stderrTail())
	}
}

// clientResult is what the client scripts (Node, Python, the browser page)
// report: each check by name, and how the connection closed.
type clientResult struct {
	Peer      string  `json:"peer"`   // peer and version
	OK        bool    `json:"ok"`     // every check passed
	Checks    []check `json:"checks"` // in order
	Error     string  `json:"error"`  // an exception that stopped the run
	CloseCode int     `json:"closeCode"`
	Reason    string  `json:"closeReason"`
	WasClean  *bool   `json:"wasClean"` // browser only

	// With compression (the client scripts' config, the page's deflate=1):
	URL           string          `json:"url"`           // page only: the ws URL of this result
	Extensions    string          `json:"extensions"`    // the response's Sec-WebSocket-Extensions as the peer saw it
	DeflateParams json.RawMessage `json:"deflateParams"` // what the peer agreed, in its own words
}

type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// assertClientResult fails the test for every failed check, and checks that
// the run covered each size in both directions, the ping and the close.
func assertClientResult(t *testing.T, r *clientResult, wantChecks []string) {
	t.Helper()
	t.Logf("peer: %s; %d checks; close %d %q", r.Peer, len(r.Checks), r.CloseCode, r.Reason)
	if r.Error != "" {
		t.Errorf("peer stopped with an error: %s", r.Error)
	}
	seen := map[string]bool{}
	for _, c := range r.Checks {
		seen[c.Name] = true
		if !c.OK {
			t.Errorf("peer check %s failed: %s", c.Name, c.Detail)
		}
	}
	for _, name := range wantChecks {
		if !seen[name] {
			t.Errorf("peer did not report check %s", name)
		}
	}
	if r.CloseCode != 1000 {
		t.Errorf("peer saw close code %d, want 1000 echoed", r.CloseCode)
	}
	if !r.OK && !t.Failed() {
		t.Errorf("peer reported ok=false with no failed check: %+v", r)
	}
}

// echoChecks are the check names every client script reports for the echo
// round trips.
func echoChecks() []string {
	var names []string
	for _, kind := range []string{"text", "binary"} {
		for _, n := range sizes {
			names = append(names, fmt.Sprintf("%s-%d", kind, n))
		}
	}
	return names
}

// textPayload returns n bytes of valid UTF-8 that mix one-, two-, three- and
// four-byte sequences (padded with ASCII at the end to hit n exactly).
func textPayload(n int) []byte {
	const cycle = "aé€😀Zñ中𝄞"
	b := make([]byte, 0, n)
	for len(b) < n {
		for _, r := range cycle {
			s := string(r)
			if len(b)+len(s) > n {
				break
			}
			b = append(b, s...)
		}
		if rest := n - len(b); rest > 0 && rest < 4 {
			b = append(b, strings.Repeat("x", rest)...)
		}
	}
	return b
}

// binaryPayload returns n bytes where every byte value occurs and no short
// period repeats (so a misplaced chunk shows).
func binaryPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8 + i>>16)
	}
	return b
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// testContext returns a context that ends after d or with the test.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
