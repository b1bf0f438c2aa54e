package main

import (
	"bufio"
	"context"
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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

func next(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	return ""
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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
	a, ah := dialWS(t, wsBase+"/chat", url)
	_, bh := dialWS(t, wsBase+"/chat", url)
	_ = a.WriteMessage(engine.OpText, []byte("hello room"))
	for _, h := range []*collect{ah, bh} {
		for {
			if m := next(t, h.msgs); strings.HasSuffix(m, ": hello room") {
				break
			}
		}
	}
	resp, err = http.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(stats), `"Upgrades":3`) {
		t.Fatalf("stats: %s", stats)
	}
}
