package interop

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Their clients against our servers: each client peer runs against every
// server target.

// runClientScript runs a client script against a target and checks its report
// and what the server saw.
func runClientScript(t *testing.T, tg serverTarget, reason string, command string, args ...string) {
	wsURL, _ := startTarget(t, tg)
	h := echoFor(t)
	p := startPeer(t, nil, command, append(args, wsURL, subprotocol)...)
	var r clientResult
	p.jsonLine(t, 45*time.Second, &r)
	assertClientResult(t, &r, append(echoChecks(), "subprotocol", "ping-pong", "close-1000"))
	p.wait(t, 10*time.Second)
	h.expectClose(t, reason)
}

func TestNodeClient(t *testing.T) {
	node := requireNode(t)
	for _, tg := range serverTargets {
		t.Run(tg.name, func(t *testing.T) {
			runClientScript(t, tg, "node done", node, "node/client.mjs")
		})
	}
}

func TestPythonClient(t *testing.T) {
	requirePython(t)
	for _, tg := range serverTargets {
		t.Run(tg.name, func(t *testing.T) {
			runClientScript(t, tg, "python done", pythonPath, "python/client.py")
		})
	}
}

// TestChromium opens the page in headless Chromium: the browser exchanges
// messages with the echo server, answers the server's ping, closes with 1000
// "done" and posts its result back.
func TestChromium(t *testing.T) {
	requireChromium(t)
	for _, tg := range serverTargets {
		t.Run(tg.name, func(t *testing.T) {
			wsURL, httpBase := startTarget(t, tg)
			h := echoFor(t)
			results := resultsFor(t)
			if httpBase == "" {
				httpBase = startPageServer(t, results)
			}
			page := httpBase + "/interop.html?ws=" + url.QueryEscape(wsURL)
			start := time.Now()
			p := launchChromium(t, page)

			var raw []byte
			select {
			case raw = <-results:
			case <-p.done:
				t.Fatalf("chromium exited (%v) before the page reported; stderr:\n%s", p.err, p.stderrTail())
			case <-time.After(60 * time.Second):
				t.Fatalf("no result from the page within 60s; chromium stderr:\n%s", p.stderrTail())
			}
			t.Logf("page reported after %v", time.Since(start).Round(time.Millisecond))
			p.kill()

			var r clientResult
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("page result %q: %v", raw, err)
			}
			assertClientResult(t, &r, append(echoChecks(), "server-ping", "close-1000", "close-clean"))
			if r.WasClean == nil || !*r.WasClean {
				t.Errorf("browser close event: wasClean = %v, want true", r.WasClean)
			}
			h.expectClose(t, "done")
			if pongs := h.pongList(); !slices.Contains(pongs, "hi") {
				t.Errorf("server saw pongs %q, want one with payload \"hi\"", pongs)
			}
		})
	}
}

// launchChromium opens page in headless Chromium, with a fresh profile and a
// TMPDIR of its own (Chromium, killed, leaves its temporary files behind).
func launchChromium(t *testing.T, page string) *peerProc {
	t.Helper()
	dir, err := os.MkdirTemp("", "interop-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	profile, tmp := filepath.Join(dir, "profile"), filepath.Join(dir, "tmp")
	for _, d := range []string{profile, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return startPeer(t, []string{"TMPDIR=" + tmp}, chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
		"--user-data-dir="+profile, page)
}

// startPageServer serves the browser page and takes its result, for targets
// that serve no plain HTTP. It returns its base URL.
func startPageServer(t *testing.T, results chan<- []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: pageHandler(results), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}
