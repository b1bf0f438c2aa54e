package conformance

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tachyonws/tachyon"
	"github.com/tachyonws/tachyon/engine"
)

// target is a WebSocket echo server under test.
type target struct {
	name string
	url  string // ws://host:port/path (or wss://)
	// handshakeTimeout is how long the server waits for a whole opening
	// handshake request before it drops the connection; 0 when it has none
	// (the slow-request case is then skipped).
	handshakeTimeout time.Duration
	// deflate is what the suite knows of an in-tree server configured with
	// permessage-deflate: it runs the compression cases only. nil for the
	// others (the external server runs every case).
	deflate *deflateKnown
}

// targetFunc starts or finds a target. A non-empty skip says why there is
// none (tg.name is set either way).
type targetFunc func(t *testing.T) (tg target, skip string)

// serverTargets are the servers TestConformanceServer checks, in order.
//
// Adding a server is one line here. The reactor's echo server, once
// startReactorEcho exists (func(t *testing.T) (url string, stop func())):
//
//	started("reactor", reactorHandshakeTimeout, startReactorEcho),
var serverTargets = []targetFunc{
	started("http", httpHandshakeTimeout, startHTTPEcho),
	started("tachyon", httpHandshakeTimeout, startAPIEcho),
	externalTarget,
	started("reactor", reactorHandshakeTimeout, startReactorEcho),
	deflateTarget("http-deflate", httpHandshakeTimeout, startHTTPEchoWith, deflateOff),
	deflateTarget("http-deflate-takeover", httpHandshakeTimeout, startHTTPEchoWith, deflateTakeover),
	deflateTarget("reactor-deflate", reactorHandshakeTimeout, startReactorEchoWith, deflateOff),
	deflateTarget("reactor-deflate-takeover", reactorHandshakeTimeout, startReactorEchoWith, deflateTakeover),
}

// deflateMaxMessage is the message limit of the compression targets: above
// section 12's largest message (256 KiB + 3), small enough that the cases
// at the limit cost little under the race detector.
const deflateMaxMessage = 320 << 10

// The compression settings of the deflate targets and clients: without
// context takeover, every message compressed; with it, a threshold of 64
// bytes (so that the context probes reach even an 8-bit window's worth).
// Both at the default level: level 9 with a window re-read per message
// doubles the time of the takeover targets under the race detector.
var (
	deflateOff      = engine.Compression{Threshold: -1}
	deflateTakeover = engine.Compression{ContextTakeover: true, Threshold: 64}
)

// deflateTarget makes a target of a server started with comp that runs the
// compression cases only.
func deflateTarget(name string, handshakeTimeout time.Duration, start func(t *testing.T, comp *engine.Compression, cfg engine.Config) (string, func()), comp engine.Compression) targetFunc {
	return func(t *testing.T) (target, string) {
		u, stop := start(t, &comp, engine.Config{MaxMessageSize: deflateMaxMessage})
		t.Cleanup(stop)
		return target{name: name, url: u, handshakeTimeout: handshakeTimeout, deflate: knownOf(&comp, deflateMaxMessage)}, ""
	}
}

// started makes a target of a server that start runs for the test (stop is
// called when the test ends). handshakeTimeout is the server's, 0 for none.
func started(name string, handshakeTimeout time.Duration, start func(t *testing.T) (url string, stop func())) targetFunc {
	return func(t *testing.T) (target, string) {
		u, stop := start(t)
		t.Cleanup(stop)
		return target{name: name, url: u, handshakeTimeout: handshakeTimeout}, ""
	}
}

// externalTarget is the server TACHYON_CONFORMANCE_URL names, with the
// handshake timeout TACHYON_CONFORMANCE_HANDSHAKE_TIMEOUT gives.
func externalTarget(t *testing.T) (target, string) {
	tg := target{name: "external", url: os.Getenv("TACHYON_CONFORMANCE_URL")}
	if tg.url == "" {
		return tg, "TACHYON_CONFORMANCE_URL is not set (e.g. ws://127.0.0.1:9001/)"
	}
	if v := os.Getenv("TACHYON_CONFORMANCE_HANDSHAKE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TACHYON_CONFORMANCE_HANDSHAKE_TIMEOUT: %v", err)
		}
		tg.handshakeTimeout = d
	}
	if _, _, _, _, err := tg.endpoint(); err != nil {
		t.Fatalf("TACHYON_CONFORMANCE_URL: %v", err)
	}
	return tg, ""
}

// httpHandshakeTimeout is the http target's ReadHeaderTimeout: net/http has
// no handshake timeout of its own, but this bounds the request's header.
const httpHandshakeTimeout = 2 * time.Second

// echo is the engine handler of the echo servers and of the client under
// test: every message goes back as it came.
type echo struct{ engine.BaseHandler }

func (echo) OnMessage(s engine.Socket, op engine.OpCode, p []byte) { _ = s.WriteMessage(op, p) }

// startHTTPEcho runs the engine's net/http driver as an echo server: a real
// net/http.Server on a loopback port, engine.Upgrader accepting any origin.
// When it stops, every connection's Serve must have returned.
func startHTTPEcho(t *testing.T) (string, func()) {
	return startHTTPEchoWith(t, nil, engine.Config{})
}

// startHTTPEchoWith is startHTTPEcho with permessage-deflate (comp, nil
// for none) and cfg as the connections' limits.
func startHTTPEchoWith(t *testing.T, comp *engine.Compression, cfg engine.Config) (string, func()) {
	return serveHTTP(t, comp, cfg, func(up *engine.Upgrader, w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, echo{})
		if err != nil {
			return // the refusal is written
		}
		_ = c.Serve()
	})
}

// startAPIEcho is startHTTPEcho with the root package's API: tachyon.Accept
// on the same Upgrader, and a Read and Write loop.
func startAPIEcho(t *testing.T) (string, func()) {
	return serveHTTP(t, nil, engine.Config{}, func(up *engine.Upgrader, w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, up)
		if err != nil {
			return // the refusal is written
		}
		ctx := context.Background()
		for {
			op, p, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, op, p); err != nil {
				return
			}
		}
	})
}

// serveHTTP runs serve on every request of a net/http.Server on a loopback
// port, with an Upgrader accepting any origin, compression comp (nil for
// none) and the connections' limits cfg.
func serveHTTP(t *testing.T, comp *engine.Compression, cfg engine.Config, serve func(up *engine.Upgrader, w http.ResponseWriter, r *http.Request)) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &engine.Upgrader{Handshake: engine.ServerHandshake{
		CheckOrigin: func(*engine.Request) bool { return true },
		Compression: comp,
	}, Config: cfg}
	var serving atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			serving.Add(1)
			defer serving.Add(-1)
			serve(up, w, r)
		}),
		ReadHeaderTimeout: httpHandshakeTimeout,
		MaxHeaderBytes:    engine.DefaultMaxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		_ = srv.Close() // hijacked connections are the handlers' to end
		for end := time.Now().Add(3 * time.Second); serving.Load() > 0 && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		if n := serving.Load(); n > 0 {
			t.Errorf("http target: %d connections still in Serve after their clients left", n)
		}
	}
	return "ws://" + ln.Addr().String() + "/", stop
}

// TestConformanceServer runs the protocol and handshake cases against every
// server target, one subtest per target and per case.
func TestConformanceServer(t *testing.T) {
	plain := append(protocolCases(), serverHandshakeCases()...)
	for _, mk := range serverTargets {
		tg, skip := mk(t)
		t.Run(tg.name, func(t *testing.T) {
			if skip != "" {
				t.Skip(skip)
			}
			cases := plain
			switch {
			case tg.deflate != nil:
				cases = deflateCases()
			case tg.name == "external":
				cases = append(plain[:len(plain):len(plain)], deflateCases()...)
			}
			title := fmt.Sprintf("%s server %s (handshake timeout %s)", tg.name, tg.url, tg.handshakeTimeout)
			if k := tg.deflate; k != nil {
				title += fmt.Sprintf(" (permessage-deflate: takeover %v, threshold %d, message limit %s)", k.takeover, k.threshold, sizeName(k.maxMessage))
			}
			runSuite(t, title, serverOnly, cases, func(cx *caseCtx) { cx.tgt = &tg })
		})
	}
}

// endpoint splits the target's URL into what dialling needs.
func (tg *target) endpoint() (addr, host, resource string, secure bool, err error) {
	u, err := url.Parse(tg.url)
	if err != nil {
		return "", "", "", false, err
	}
	switch u.Scheme {
	case "ws":
	case "wss":
		secure = true
	default:
		return "", "", "", false, fmt.Errorf("%q: the scheme must be ws or wss", tg.url)
	}
	if u.Host == "" {
		return "", "", "", false, fmt.Errorf("%q: no host", tg.url)
	}
	addr = u.Host
	if u.Port() == "" {
		port := "80"
		if secure {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return addr, u.Host, u.RequestURI(), secure, nil
}

// dial opens a transport connection to the target, closed when the case
// ends.
func (tg *target) dial(cx *caseCtx) (net.Conn, *bufio.Reader) {
	addr, _, _, secure, err := tg.endpoint()
	if err != nil {
		cx.failf("%v", err)
	}
	d := &net.Dialer{Deadline: cx.deadline}
	var conn net.Conn
	if secure {
		conn, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: strings.Split(addr, ":")[0]})
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		cx.failf("dial %s: %v", addr, err)
	}
	cx.cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(cx.deadline)
	return conn, bufio.NewReaderSize(conn, 64<<10)
}

// newKey returns a fresh Sec-WebSocket-Key: 16 random bytes in base64.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// acceptKey is the Sec-WebSocket-Accept for key (RFC 6455 section 4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// requestLines is a valid opening handshake request (RFC 6455 section 4.1),
// line by line, without the empty line that ends it.
func (tg *target) requestLines(key string) []string {
	_, host, resource, _, _ := tg.endpoint()
	return []string{
		"GET " + resource + " HTTP/1.1",
		"Host: " + host,
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: " + key,
		"Sec-WebSocket-Version: 13",
	}
}

// joinRequest ends the lines with CRLF and adds the empty line.
func joinRequest(lines []string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

// without drops the header lines of the named field.
func without(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		if n, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(n), name) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// replaced swaps the line of the named field (or the request line, for
// name "") for line.
func replaced(lines []string, name, line string) []string {
	out := append([]string(nil), lines...)
	if name == "" {
		out[0] = line
		return out
	}
	return append(without(out, name), line)
}

// open connects to the target and completes a valid opening handshake,
// checking the server's answer to the letter (section 4.2.2).
func (tg *target) open(cx *caseCtx) *wire {
	conn, br := tg.dial(cx)
	key := newKey()
	w := newWire(cx, conn, br, true)
	w.write(joinRequest(tg.requestLines(key)), 0)
	resp := readResponse(cx, br)
	if resp == nil {
		cx.failf("the server closed the connection instead of answering the opening handshake")
	}
	checkAccept(cx, resp, key)
	return w
}

// readResponse reads the server's answer to a handshake request: nil when
// the connection ended before one came.
func readResponse(cx *caseCtx, br *bufio.Reader) *http.Response {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if isTimeout(err) {
			cx.failf("no answer to the opening handshake in time")
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
			return nil
		}
		cx.failf("malformed HTTP response: %v", err)
	}
	return resp
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// checkAccept fails the case unless resp accepts the handshake of key with
// no subprotocol and no extension (section 4.2.2 (5), 4.1 for what a client
// checks).
func checkAccept(cx *caseCtx, resp *http.Response, key string) {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		cx.failf("the server answered a valid opening handshake with %s", resp.Status)
	}
	if !headerHasToken(resp.Header, "Upgrade", "websocket") {
		cx.failf("101 response without Upgrade: websocket (got %q)", resp.Header.Values("Upgrade"))
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		cx.failf("101 response without Connection: Upgrade (got %q)", resp.Header.Values("Connection"))
	}
	if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 1 || got[0] != acceptKey(key) {
		cx.failf("Sec-WebSocket-Accept is %q, want %q", got, acceptKey(key))
	}
	if v := resp.Header.Values("Sec-WebSocket-Extensions"); len(v) > 0 {
		cx.failf("101 response selects extensions %q that were not offered (section 4.1: the client must fail)", v)
	}
	if v := resp.Header.Values("Sec-WebSocket-Protocol"); len(v) > 0 {
		cx.failf("101 response selects subprotocol %q that was not offered", v)
	}
}

// headerHasToken reports whether a comma-separated header field lists
// token, ASCII case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(e), token) {
				return true
			}
		}
	}
	return false
}

// handshakeAnswer sends a raw request (in writes of chunk bytes, 0 for one)
// on a new connection and returns the server's answer, nil when the server
// closed the connection without one.
func (tg *target) handshakeAnswer(cx *caseCtx, req []byte, chunk int) *http.Response {
	conn, br := tg.dial(cx)
	if err := writeChopped(conn, req, chunk); err != nil && !isReset(err) {
		cx.failf("writing the request: %v", err)
	}
	return readResponse(cx, br)
}

// expectRefusal sends req and expects the status want; the other statuses
// in nonStrict are accepted as non-strict, and so is a connection closed
// without an answer when closeOK is set. Anything else, 101 above all,
// fails. It returns the response (nil when there was none).
func (tg *target) expectRefusal(cx *caseCtx, req []byte, want int, closeOK bool, nonStrict ...int) *http.Response {
	resp := tg.handshakeAnswer(cx, req, 0)
	switch {
	case resp == nil && closeOK:
		cx.nonStrictf("the server closed the connection without an HTTP answer (want %d)", want)
	case resp == nil:
		cx.failf("the server closed the connection without an HTTP answer, want %d", want)
	case resp.StatusCode == want:
	case resp.StatusCode == http.StatusSwitchingProtocols:
		cx.failf("the server accepted the handshake (101), want %d", want)
	default:
		for _, s := range nonStrict {
			if resp.StatusCode == s {
				cx.nonStrictf("the server answered %s, %d is more precise", resp.Status, want)
				return resp
			}
		}
		cx.failf("the server answered %s, want %d", resp.Status, want)
	}
	return resp
}

// serverHandshakeCases are the opening handshake cases of section 4, for
// servers.
func serverHandshakeCases() []testCase {
	c := func(id, desc, rfc string, run func(cx *caseCtx, tg *target)) testCase {
		return testCase{id: id, desc: desc, rfc: rfc, only: serverOnly, run: func(cx *caseCtx) { run(cx, cx.tgt) }}
	}
	refuse := func(id, desc, rfc string, edit func(lines []string) []string, want int, nonStrict ...int) testCase {
		return c(id, desc, rfc, func(cx *caseCtx, tg *target) {
			tg.expectRefusal(cx, joinRequest(edit(tg.requestLines(newKey()))), want, false, nonStrict...)
		})
	}
	return []testCase{
		c("H.1", "valid request: 101 with the right Sec-WebSocket-Accept, then an echo", "4.2.2", func(cx *caseCtx, tg *target) {
			w := tg.open(cx)
			w.expectEcho(opText, []byte("Hello, world"))
			w.closeNormally()
		}),
		c("H.2", "header names and tokens in other cases, Connection: keep-alive, Upgrade", "4.2.1", func(cx *caseCtx, tg *target) {
			key := newKey()
			lines := tg.requestLines(key)
			lines = replaced(lines, "Upgrade", "upgrade: WebSocket")
			lines = replaced(lines, "Connection", "CONNECTION: keep-alive, Upgrade")
			lines = replaced(lines, "Sec-WebSocket-Key", "sec-websocket-key: "+key)
			lines = replaced(lines, "Sec-WebSocket-Version", "SEC-WEBSOCKET-VERSION: 13")
			resp := tg.handshakeAnswer(cx, joinRequest(lines), 0)
			if resp == nil {
				cx.failf("the server closed the connection without an answer")
			}
			checkAccept(cx, resp, key)
		}),
		c("H.3", "request in 1-byte writes", "4.2.1", func(cx *caseCtx, tg *target) {
			key := newKey()
			resp := tg.handshakeAnswer(cx, joinRequest(tg.requestLines(key)), 1)
			if resp == nil {
				cx.failf("the server closed the connection without an answer")
			}
			checkAccept(cx, resp, key)
		}),
		c("H.4", "unknown extension offered: not accepted", "9.1", func(cx *caseCtx, tg *target) {
			key := newKey()
			lines := append(tg.requestLines(key), "Sec-WebSocket-Extensions: x-tachyon-conformance; p=1")
			resp := tg.handshakeAnswer(cx, joinRequest(lines), 0)
			if resp == nil {
				cx.failf("the server closed the connection without an answer")
			}
			checkAccept(cx, resp, key)
		}),
		c("H.5", "unknown subprotocol offered: 101 without Sec-WebSocket-Protocol", "4.2.2", func(cx *caseCtx, tg *target) {
			key := newKey()
			lines := append(tg.requestLines(key), "Sec-WebSocket-Protocol: x-tachyon-conformance")
			resp := tg.handshakeAnswer(cx, joinRequest(lines), 0)
			switch {
			case resp == nil:
				cx.failf("the server closed the connection without an answer")
			case resp.StatusCode >= 400 && resp.StatusCode < 500:
				cx.nonStrictf("the server refused (%s) rather than accept without a subprotocol", resp.Status)
			default:
				checkAccept(cx, resp, key)
			}
		}),
		c("H.6", "frame sent in the same write as the request: echoed", "4.1", func(cx *caseCtx, tg *target) {
			// Section 4.1 has the client wait for the 101 before sending, so a
			// server that loses the frame is non-strict, not wrong.
			conn, br := tg.dial(cx)
			key := newKey()
			w := newWire(cx, conn, br, true)
			b := append(joinRequest(tg.requestLines(key)), w.encode(textMsg("early"))...)
			w.write(b, 0)
			resp := readResponse(cx, br)
			if resp == nil {
				cx.failf("the server closed the connection without an answer")
			}
			checkAccept(cx, resp, key)
			f, err := w.readFrame(time.Now().Add(time.Second))
			if err != nil {
				cx.nonStrictf("the frame sent behind the request was not echoed: %v", err)
				return
			}
			w.pushed = &f
			w.expectMessage(opText, []byte("early"))
			w.closeNormally()
		}),
		refuse("H.7", "no Sec-WebSocket-Key: 400", "4.2.1",
			func(l []string) []string { return without(l, "Sec-WebSocket-Key") }, 400),
		refuse("H.8", "Sec-WebSocket-Key of 10 bytes, not 16: 400", "4.2.1",
			func(l []string) []string {
				return replaced(l, "Sec-WebSocket-Key", "Sec-WebSocket-Key: "+base64.StdEncoding.EncodeToString([]byte("0123456789")))
			}, 400),
		c("H.9", "Sec-WebSocket-Version: 8: 426 with Sec-WebSocket-Version: 13", "4.2.2", func(cx *caseCtx, tg *target) {
			req := joinRequest(replaced(tg.requestLines(newKey()), "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"))
			resp := tg.expectRefusal(cx, req, 426, false, 400)
			// "... and a |Sec-WebSocket-Version| header field indicating the
			// version(s) the server is capable of understanding."
			if !headerHasToken(resp.Header, "Sec-WebSocket-Version", "13") {
				cx.failf("the refusal has no Sec-WebSocket-Version: 13 (got %q)", resp.Header.Values("Sec-WebSocket-Version"))
			}
		}),
		refuse("H.10", "no Sec-WebSocket-Version: 426 or 400", "4.2.1",
			func(l []string) []string { return without(l, "Sec-WebSocket-Version") }, 426, 400),
		c("H.11", "POST: 405 with Allow: GET", "4.2.1", func(cx *caseCtx, tg *target) {
			lines := tg.requestLines(newKey())
			lines[0] = "POST" + strings.TrimPrefix(lines[0], "GET")
			lines = append(lines, "Content-Length: 0")
			resp := tg.expectRefusal(cx, joinRequest(lines), 405, false, 400)
			if resp.StatusCode == 405 && !headerHasToken(resp.Header, "Allow", "GET") {
				cx.nonStrictf("405 without Allow: GET (RFC 9110 section 15.5.6: a 405 MUST have Allow)")
			}
		}),
		refuse("H.12", "no Upgrade header: 400 or 426", "4.2.1",
			func(l []string) []string { return without(l, "Upgrade") }, 400, 426),
		refuse("H.13", "Upgrade: h2c instead of websocket: 400 or 426", "4.2.1",
			func(l []string) []string { return replaced(l, "Upgrade", "Upgrade: h2c") }, 400, 426),
		refuse("H.14", "no Connection: Upgrade: 400 or 426", "4.2.1",
			func(l []string) []string { return replaced(l, "Connection", "Connection: keep-alive") }, 400, 426),
		refuse("H.15", "HTTP/1.0: 400", "4.2.1",
			func(l []string) []string { return replaced(l, "", strings.Replace(l[0], "HTTP/1.1", "HTTP/1.0", 1)) }, 400, 426, 505),
		refuse("H.16", "no Host header: 400", "4.2.1",
			func(l []string) []string { return without(l, "Host") }, 400),
		c("H.17", "garbage instead of a request: 400 (closing is non-strict)", "4.2.1", func(cx *caseCtx, tg *target) {
			garbage := []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 this is no HTTP\r\n\xff\xfe\r\n\r\n")
			tg.expectRefusal(cx, garbage, 400, true)
		}),
		c("H.18", "64 KiB of header fields: 431 (400 or closing is non-strict)", "4.2.1", func(cx *caseCtx, tg *target) {
			lines := tg.requestLines(newKey())
			pad := strings.Repeat("x", 1000)
			for i := 0; i < 64; i++ {
				lines = append(lines, fmt.Sprintf("X-Pad-%02d: %s", i, pad))
			}
			tg.expectRefusal(cx, joinRequest(lines), 431, true, 400)
		}),
		{
			id: "H.19", desc: "request trickled 1 byte per 100 ms: cut off by the handshake timeout", rfc: "10.4", only: serverOnly,
			timeout: time.Minute,
			run:     func(cx *caseCtx) { slowRequest(cx, cx.tgt) },
		},
	}
}

// slowRequest trickles a request one byte per 100 ms and expects the server
// to cut it off within its handshake timeout (plus a margin): a slowloris
// client must not hold a connection for ever (section 10.4: servers should
// limit resources per client). A 408 answer is welcome, not required.
func slowRequest(cx *caseCtx, tg *target) {
	if tg.handshakeTimeout <= 0 {
		cx.skipf("the target has no handshake timeout configured")
	}
	const every = 100 * time.Millisecond
	margin := 2*time.Second + tg.handshakeTimeout/2
	limit := tg.handshakeTimeout + margin
	// A request long enough to last past the limit.
	lines := tg.requestLines(newKey())
	need := int(limit/every) + 64
	lines = append(lines, "X-Slow: "+strings.Repeat("s", need))
	req := joinRequest(lines)

	conn, br := tg.dial(cx)
	start := time.Now()
	_ = conn.SetDeadline(start.Add(limit))
	stop := make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for i := range req {
			if _, err := conn.Write(req[i : i+1]); err != nil {
				writer <- err
				return
			}
			select {
			case <-t.C:
			case <-stop:
				writer <- nil
				return
			}
		}
		writer <- nil
	}()
	defer func() {
		close(stop)
		_ = conn.Close()
		<-writer
	}()
	resp, err := http.ReadResponse(br, nil)
	took := time.Since(start)
	switch {
	case err == nil && resp.StatusCode == http.StatusSwitchingProtocols:
		cx.failf("the server accepted a request that took %s", fmtDuration(took))
	case err == nil:
		// 408 is the status for it; any refusal cuts the client off as well,
		// provided the connection then ends.
		if _, err := io.Copy(io.Discard, br); err != nil && isTimeout(err) {
			cx.failf("the server answered %s after %s but kept the connection open", resp.Status, fmtDuration(took))
		}
		cx.infof("%s after %s", resp.Status, fmtDuration(took))
	case isTimeout(err):
		cx.failf("the connection is still open %s into a request trickled one byte per %s (handshake timeout %s)", fmtDuration(took), every, tg.handshakeTimeout)
	default:
		cx.infof("closed after %s", fmtDuration(took))
	}
}
