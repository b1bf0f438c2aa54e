package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// buildTachyon builds the command for a test.
func buildTachyon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tachyon")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// run starts the command and returns the address it printed.
func run(t *testing.T, bin string, prefix string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
		if !ok {
			t.Fatalf("first line %q, want %q...", line, prefix)
		}
		return cmd, strings.Fields(addr)[0]
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not report its address")
	}
	return nil, ""
}

type collect struct {
	engine.BaseHandler
	msgs   chan string
	closed chan engine.StatusCode
}

func (c *collect) OnMessage(_ engine.Socket, _ engine.OpCode, p []byte) { c.msgs <- string(p) }

func (c *collect) OnClose(_ engine.Socket, code engine.StatusCode, _ string) {
	if c.closed != nil {
		c.closed <- code
	}
}

func dialWS(t *testing.T, url string, origin string) (*engine.NetConn, *collect) {
	t.Helper()
	h := &collect{msgs: make(chan string, 64), closed: make(chan engine.StatusCode, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), messageWait)
	defer cancel()
	var opts *engine.DialOptions
	if origin != "" {
		opts = &engine.DialOptions{Header: [][2]string{{"Origin", origin}}}
	}
	c, err := engine.Dial(ctx, url, h, opts)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Serve() }()
	return c, h
}

// messageWait bounds the wait for a message that must come: generous, so
// that a busy machine is no failure.
const messageWait = 20 * time.Second

func next(t *testing.T, ch chan string) string {
	t.Helper()
	m, ok := nextOK(ch)
	if !ok {
		t.Fatal("no message")
	}
	return m
}

// nextOK waits for a message; false if none comes within messageWait.
func nextOK(ch chan string) (string, bool) {
	select {
	case m := <-ch:
		return m, true
	case <-time.After(messageWait):
		return "", false
	}
}

func TestEchoCommand(t *testing.T) {
	bin := buildTachyon(t)
	for _, driver := range []string{"reactor", "http"} {
		t.Run(driver, func(t *testing.T) {
			cmd, addr := run(t, bin, "listening ", "echo", "-addr", "127.0.0.1:0", "-driver", driver, "-loops", "1",
				"-ping-interval", "0", "-read-timeout", "1m", "-message-timeout", "30s")
			// Any origin is accepted: browser suites serve their page elsewhere.
			c, h := dialWS(t, "ws://"+addr+"/", "http://elsewhere.example")
			_ = c.WriteMessage(engine.OpText, []byte("echo me"))
			if got := next(t, h.msgs); got != "echo me" {
				t.Fatalf("got %q", got)
			}
			// SIGTERM stops the server gracefully: the open connection is
			// told 1001 (going away) before the process exits.
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-h.closed:
				if code != engine.StatusGoingAway {
					t.Fatalf("client heard %d after SIGTERM, want 1001", code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the client heard no close after SIGTERM")
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no exit after SIGTERM")
			}
		})
	}
}

func TestServeCommand(t *testing.T) {
	bin := buildTachyon(t)
	_, url := run(t, bin, "Tachyon demo: open ", "serve", "-addr", "127.0.0.1:0", "-loops", "2")
	url = strings.TrimSuffix(url, "/")
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "new WebSocket") {
		t.Fatalf("page: %d, %d bytes", resp.StatusCode, len(page))
	}
	wsBase := "ws" + strings.TrimPrefix(url, "http")
	// The demo keeps the same-origin default.
	ctx, cancel := context.WithTimeout(context.Background(), messageWait)
	defer cancel()
	_, err = engine.Dial(ctx, wsBase+"/echo", &collect{msgs: make(chan string, 1)},
		&engine.DialOptions{Header: [][2]string{{"Origin", "http://evil.example"}}})
	if engine.HTTPStatus(err) != 403 {
		t.Fatalf("cross-origin dial: %v", err)
	}
	e, eh := dialWS(t, wsBase+"/echo", url)
	_ = e.WriteMessage(engine.OpText, []byte("hi"))
	if got := next(t, eh.msgs); got != "hi" {
		t.Fatalf("echo: %q", got)
	}
	// The chat room: every member that has its 101 receives every broadcast
	// sent after it, whichever event loop the sender is on. Several members
	// make it likely that some are on another loop than the sender.
	// (This depends on the reactor applying OnOpen, and so the handler's
	// Group.Add, before the 101 leaves.)
	const members = 4
	var socks []*engine.NetConn
	var hs []*collect
	for range members {
		c, h := dialWS(t, wsBase+"/chat", url)
		socks = append(socks, c)
		hs = append(hs, h)
	}
	for i, c := range socks {
		say := fmt.Sprintf("hello room from member %d", i)
		if err := c.WriteMessage(engine.OpText, []byte(say)); err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			for {
				m, ok := nextOK(h.msgs)
				if !ok {
					t.Fatalf("chat member %d, which had its 101 before member %d sent %q, never received it", j, i, say)
				}
				if strings.HasSuffix(m, ": "+say) {
					break
				}
			}
		}
	}
	resp, err = http.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(stats), fmt.Sprintf(`"Upgrades":%d`, 1+members)) {
		t.Fatalf("stats: %s", stats)
	}

	// Names: asked for in the URL, made unique; the room's members are
	// announced; lines are "name: text", the text unchanged.
	a, ah := dialWS(t, wsBase+"/chat?name=ann%20b", url)
	_, bh := dialWS(t, wsBase+"/chat?name=ann+b", url)
	if got := next(t, ah.msgs); got != "* you are ann b" {
		t.Fatalf("first ann: %q", got)
	}
	if got := next(t, bh.msgs); got != "* you are ann b-2" {
		t.Fatalf("second ann: %q", got)
	}
	for {
		m := next(t, bh.msgs)
		if strings.HasPrefix(m, `{"members":[`) && strings.Contains(m, `"ann b"`) && strings.Contains(m, `"ann b-2"`) {
			break
		}
	}
	if err := a.WriteMessage(engine.OpText, []byte("hi: there")); err != nil {
		t.Fatal(err)
	}
	for {
		if m := next(t, bh.msgs); m == "ann b: hi: there" {
			break
		}
	}
}
