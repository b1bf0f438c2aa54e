package conformance

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tachyonws/tachyon"
	"github.com/tachyonws/tachyon/engine"
)

// The client side: a fake server, a raw TCP listener that answers the opening
// handshake by hand, drives the engine's client (engine.Dial) whose handler
// echoes every message back.

// fakeServer makes a fresh listener for every connection, so that a dial left
// over from one case can never be taken for the next one's. With api set,
// the client under test is the root package's (tachyon.Dial, a Read and
// Write loop) instead of the engine's callback client.
type fakeServer struct {
	api bool
	// dialOpts are the engine client's options for the compression cases,
	// and known what they say of its compression.
	dialOpts *engine.DialOptions
	known    *deflateKnown
}

// clientUnderTest is the engine client of one connection, as its handler and
// Serve saw it.
type clientUnderTest struct {
	nc       *engine.NetConn
	api      *tachyon.Conn // the client when the fake server's api is set
	closeErr chan error    // tachyon.Conn.Close's result, when called
	done     chan struct{} // closed when Serve has returned
	serveErr error
	dialedAt time.Time    // when Dial returned
	closes   atomic.Int32 // OnClose calls
	code     engine.StatusCode
	reason   string
}

// recorder is the client's handler: echo, and note how the connection ended.
type recorder struct {
	echo
	c *clientUnderTest
}

func (h *recorder) OnClose(_ engine.Socket, code engine.StatusCode, reason string) {
	if h.c.closes.Add(1) == 1 {
		h.c.code, h.c.reason = code, reason
	}
}

// handshakeOpts shapes the fake server's answer to the client's request.
type handshakeOpts struct {
	dial *engine.DialOptions
	path string // the URL's path and query; "" means "/"
	// respond builds the answer from the request's key; nil means a valid
	// 101 that selects nothing.
	respond func(req *http.Request, key string) []byte
	chunk   int    // the answer in writes of chunk bytes
	after   []byte // bytes sent in the same write as the answer
}

func accept101(key string, extra ...string) []byte {
	lines := append([]string{
		"HTTP/1.1 101 Switching Protocols",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Accept: " + acceptKey(key),
	}, extra...)
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

// dial has the engine client dial a fresh listener and answers its
// handshake. It returns the fake server's end, the client and Dial's error.
// The client's request must be a valid opening handshake (section 4.1).
func (fs *fakeServer) dial(cx *caseCtx, o handshakeOpts) (conn net.Conn, br *bufio.Reader, req *http.Request, cu *clientUnderTest, dialErr error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		cx.failf("listen: %v", err)
	}
	defer ln.Close()
	_ = ln.SetDeadline(cx.deadline)
	path := o.path
	if path == "" {
		path = "/"
	}
	url := "ws://" + ln.Addr().String() + path
	cu = &clientUnderTest{done: make(chan struct{})}
	ctx, cancel := context.WithDeadline(context.Background(), cx.deadline)
	dialed := make(chan error, 1)
	go func() {
		if fs.api {
			cu.runAPI(ctx, url, o.dial, dialed)
			return
		}
		nc, err := engine.Dial(ctx, url, &recorder{c: cu}, o.dial)
		cu.dialedAt = time.Now()
		if err != nil {
			close(cu.done)
			dialed <- err
			return
		}
		cu.nc = nc
		dialed <- nil
		cu.serveErr = nc.Serve()
		close(cu.done)
	}()
	cx.cleanup(func() {
		cancel()
		select {
		case <-cu.done:
		case <-time.After(2 * time.Second):
		}
	})
	conn, err = ln.Accept()
	if err != nil {
		cx.failf("the client did not connect: %v", err)
	}
	cx.cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(cx.deadline)
	br = bufio.NewReaderSize(conn, 64<<10)
	req, err = http.ReadRequest(br)
	if err != nil {
		cx.failf("reading the client's request: %v", err)
	}
	key := checkClientRequest(cx, req, ln.Addr().String(), path)
	answer := accept101(key)
	if o.respond != nil {
		answer = o.respond(req, key)
	}
	if o.chunk == 0 {
		answer = append(answer, o.after...)
	}
	if err := writeChopped(conn, answer, o.chunk); err != nil {
		cx.failf("writing the handshake answer: %v", err)
	}
	if o.chunk != 0 && len(o.after) > 0 {
		if err := writeChopped(conn, o.after, 0); err != nil {
			cx.failf("writing after the handshake: %v", err)
		}
	}
	select {
	case dialErr = <-dialed:
	case <-time.After(time.Until(cx.deadline)):
		cx.failf("Dial did not return")
	}
	return conn, br, req, cu, dialErr
}

// runAPI is dial's goroutine for the root package's client: Dial, then
// echo with Read and Write until Read returns the end, which is recorded as
// OnClose would have heard it.
func (cu *clientUnderTest) runAPI(ctx context.Context, url string, opts *engine.DialOptions, dialed chan<- error) {
	c, err := tachyon.Dial(ctx, url, opts)
	cu.dialedAt = time.Now()
	if err != nil {
		close(cu.done)
		dialed <- err
		return
	}
	cu.api = c
	dialed <- nil
	bg := context.Background()
	for {
		op, p, err := c.Read(bg)
		if err == nil {
			err = c.Write(bg, op, p)
		}
		if err == nil {
			continue
		}
		var ce *engine.CloseError
		var pe *engine.ProtocolError
		switch {
		case errors.As(err, &ce):
			cu.code, cu.reason = ce.Code, ce.Reason
			if ce.Code != engine.StatusNormalClosure && ce.Code != engine.StatusGoingAway {
				cu.serveErr = err
			}
		case errors.As(err, &pe):
			cu.code, cu.reason, cu.serveErr = pe.Code, pe.Msg, err
		default: // our close went unanswered, or the transport failed
			cu.code, cu.serveErr = engine.StatusAbnormalClosure, err
		}
		cu.closes.Add(1)
		close(cu.done)
		return
	}
}

// close starts the client's closing handshake, with either API. The root
// package's Close waits for the answer: it runs on a goroutine of its own
// (its result in closeErr) while the case plays the server.
func (cu *clientUnderTest) close(code engine.StatusCode, reason string) error {
	if cu.api == nil {
		return cu.nc.Close(code, reason)
	}
	cu.closeErr = make(chan error, 1)
	go func() { cu.closeErr <- cu.api.Close(code, reason) }()
	return nil
}

// checkClientRequest fails the case unless req is a valid opening handshake
// for host and path (section 4.1), and returns its key.
func checkClientRequest(cx *caseCtx, req *http.Request, host, path string) string {
	switch {
	case req.Method != "GET":
		cx.failf("the client's request method is %s (section 4.1: GET)", req.Method)
	case req.ProtoMajor != 1 || req.ProtoMinor < 1:
		cx.failf("the client's request is %s (section 4.1: HTTP/1.1 or higher)", req.Proto)
	case req.Host != host:
		cx.failf("the client's Host is %q, want %q", req.Host, host)
	case req.RequestURI != path:
		cx.failf("the client requested %q, want %q", req.RequestURI, path)
	case !headerHasToken(req.Header, "Upgrade", "websocket"):
		cx.failf("the client's request has no Upgrade: websocket (%q)", req.Header.Values("Upgrade"))
	case !headerHasToken(req.Header, "Connection", "upgrade"):
		cx.failf("the client's request has no Connection: Upgrade (%q)", req.Header.Values("Connection"))
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		cx.failf("the client's Sec-WebSocket-Version is %q, want 13", req.Header.Values("Sec-WebSocket-Version"))
	}
	keys := req.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		cx.failf("the client sent %d Sec-WebSocket-Key lines", len(keys))
	}
	if raw, err := base64.StdEncoding.DecodeString(keys[0]); err != nil || len(raw) != 16 {
		cx.failf("the client's Sec-WebSocket-Key %q is not the base64 of 16 bytes", keys[0])
	}
	return keys[0]
}

// open has an engine client connect and returns the fake server's end. When
// the case ends well, the client's Serve must return once the connection is
// gone, having called OnClose exactly once.
func (fs *fakeServer) open(cx *caseCtx) *wire {
	return fs.openWith(cx, handshakeOpts{})
}

func (fs *fakeServer) openWith(cx *caseCtx, o handshakeOpts) *wire {
	conn, br, _, cu, err := fs.dial(cx, o)
	if err != nil {
		cx.failf("Dial failed on a valid handshake: %v", err)
	}
	cx.client = cu
	cx.finish = append(cx.finish, func() {
		_ = conn.Close()
		cu.wait(cx)
	})
	return newWire(cx, conn, br, false)
}

// wait fails the case unless Serve returns within a few seconds, having
// called OnClose exactly once.
func (cu *clientUnderTest) wait(cx *caseCtx) {
	select {
	case <-cu.done:
	case <-time.After(3 * time.Second):
		cx.failf("the client's Serve did not return after the connection ended")
	}
	if n := cu.closes.Load(); n != 1 {
		cx.failf("the client's OnClose was called %d times, want once", n)
	}
}

// TestConformanceClient runs the protocol cases and the client's handshake
// cases against the engine's client, one subtest per case.
func TestConformanceClient(t *testing.T) {
	cases := append(protocolCases(), clientHandshakeCases()...)
	t.Run("engine", func(t *testing.T) {
		runSuite(t, "engine client (engine.Dial, echo handler)", clientOnly, cases, func(cx *caseCtx) { cx.fake = &fakeServer{} })
	})
	t.Run("tachyon", func(t *testing.T) {
		runSuite(t, "tachyon client (tachyon.Dial, Read and Write)", clientOnly, cases, func(cx *caseCtx) { cx.fake = &fakeServer{api: true} })
	})
	// The compression cases, with the client's Compression without and
	// with context takeover.
	for _, v := range []struct {
		name string
		comp engine.Compression
	}{{"engine-deflate", deflateOff}, {"engine-deflate-takeover", deflateTakeover}} {
		t.Run(v.name, func(t *testing.T) {
			comp := v.comp
			opts := &engine.DialOptions{Compression: &comp, Config: engine.Config{MaxMessageSize: deflateMaxMessage}}
			known := knownOf(&comp, deflateMaxMessage)
			title := fmt.Sprintf("engine client (engine.Dial, echo handler; permessage-deflate: takeover %v, threshold %d, message limit %s)", known.takeover, known.threshold, sizeName(known.maxMessage))
			runSuite(t, title, clientOnly, deflateCases(), func(cx *caseCtx) { cx.fake = &fakeServer{dialOpts: opts, known: known} })
		})
	}
}

// clientCloseCases are the closing-handshake cases only a client under
// test can run: they use its API (Close) and its view of the end (OnClose).
func clientCloseCases() []testCase {
	c := func(id, desc, rfc string, run func(cx *caseCtx)) testCase {
		return testCase{id: id, desc: desc, rfc: rfc, only: clientOnly, run: run}
	}
	ended := func(cx *caseCtx, code engine.StatusCode, reason string) {
		cu := cx.client
		cu.wait(cx)
		if cu.code != code || reason != "" && cu.reason != reason {
			cx.failf("the client's OnClose got %d %q, want %d %q", cu.code, cu.reason, code, reason)
		}
	}
	return []testCase{
		c("7.7.1", "client Close(1000, \"bye\"): masked close 1000 \"bye\", Serve returns nil", "7.1.2", func(cx *caseCtx) {
			w := cx.open()
			if err := cx.client.close(1000, "bye"); err != nil {
				cx.failf("Close: %v", err)
			}
			f := w.next("the client's close")
			if f.op != opClose || string(f.payload) != "\x03\xe8bye" {
				cx.failf("the client sent %s %q, want close 1000 \"bye\"", opName(f.op), f.payload)
			}
			w.finishClose(f)
			ended(cx, 1000, "bye")
			if cx.client.serveErr != nil {
				cx.failf("Serve returned %v after a normal close", cx.client.serveErr)
			}
		}),
		c("7.7.2", "client Close with no answer: the client drops TCP after its close timeout", "7.1.1", func(cx *caseCtx) {
			w := cx.fake.openWith(cx, handshakeOpts{dial: &engine.DialOptions{CloseTimeout: 300 * time.Millisecond}})
			start := time.Now()
			if err := cx.client.close(1001, ""); err != nil {
				cx.failf("Close: %v", err)
			}
			f := w.next("the client's close")
			if f.op != opClose {
				cx.failf("the client sent %s, want close", opName(f.op))
			}
			// No answer: the client must give up on its own.
			_, err := w.readFrame(time.Now().Add(3 * time.Second))
			switch {
			case err == nil:
				cx.failf("the client sent a frame after its close")
			case isTimeout(err):
				cx.failf("the client kept the connection open 3 s after an unanswered close")
			}
			cx.infof("dropped after %s", fmtDuration(time.Since(start)))
			ended(cx, engine.StatusAbnormalClosure, "")
		}),
		c("7.7.3", "server drops TCP right after the handshake: OnClose 1006", "7.1.5", func(cx *caseCtx) {
			w := cx.open()
			_ = w.conn.Close()
			ended(cx, engine.StatusAbnormalClosure, "")
		}),
		c("7.7.4", "server drops TCP in the middle of a frame: OnClose 1006", "7.1.5", func(cx *caseCtx) {
			w := cx.open()
			b := w.encode(msg(opBinary, make([]byte, 300)))
			w.write(b[:100], 0)
			_ = w.conn.Close()
			ended(cx, engine.StatusAbnormalClosure, "")
		}),
		c("7.7.5", "server close 1001 \"going away\": echoed, OnClose 1001 \"going away\"", "7.1.5", func(cx *caseCtx) {
			w := cx.open()
			w.send(closeMsg(1001, "going away"))
			checkNormal(w, w.readClose(0), 1001)
			ended(cx, 1001, "going away")
		}),
		c("7.7.6", "protocol error: OnClose has the code the client failed with", "7.1.7", func(cx *caseCtx) {
			w := cx.open()
			w.send(msg(5, nil))
			w.expectFailure(1002)
			ended(cx, 1002, "")
		}),
	}
}

// clientHandshakeCases are the opening handshake cases of section 4.1 for
// the client: its request, and the answers it must refuse.
func clientHandshakeCases() []testCase {
	c := func(id, desc, rfc string, run func(cx *caseCtx, fs *fakeServer)) testCase {
		return testCase{id: id, desc: desc, rfc: rfc, only: clientOnly, run: func(cx *caseCtx) { run(cx, cx.fake) }}
	}
	// refused answers the request with respond and expects Dial to fail and
	// the client to close the connection.
	refused := func(id, desc, rfc string, status int, respond func(req *http.Request, key string) []byte) testCase {
		return c(id, desc, rfc, func(cx *caseCtx, fs *fakeServer) {
			conn, br, _, _, err := fs.dial(cx, handshakeOpts{respond: respond})
			if err == nil {
				cx.failf("Dial accepted the answer")
			}
			if status != 0 && engine.HTTPStatus(err) != status {
				cx.failf("Dial's error %q carries status %d, want %d", err, engine.HTTPStatus(err), status)
			}
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := br.ReadByte(); err == nil || isTimeout(err) {
				cx.failf("the client kept the connection open after refusing the handshake (err %v)", err)
			}
			cx.infof("Dial: %v", err)
		})
	}
	return []testCase{
		c("H.1", "request: GET, HTTP/1.1, Host, Upgrade, Connection, 16-byte key, version 13, path and query", "4.1", func(cx *caseCtx, fs *fakeServer) {
			w := fs.openWith(cx, handshakeOpts{path: "/chat/room?id=42&x=%20y"})
			w.expectEcho(opText, []byte("Hello, world"))
			w.closeNormally()
		}),
		c("H.2", "two connections use different keys", "4.1", func(cx *caseCtx, fs *fakeServer) {
			_, _, r1, _, err1 := fs.dial(cx, handshakeOpts{})
			_, _, r2, _, err2 := fs.dial(cx, handshakeOpts{})
			if err1 != nil || err2 != nil {
				cx.failf("Dial: %v, %v", err1, err2)
			}
			if k := r1.Header.Get("Sec-WebSocket-Key"); k == r2.Header.Get("Sec-WebSocket-Key") {
				cx.failf("both connections sent the key %q (section 4.1: a random nonce per connection)", k)
			}
		}),
		refused("H.3", "wrong Sec-WebSocket-Accept: Dial fails", "4.1", 0, func(_ *http.Request, key string) []byte {
			b := accept101(key)
			return []byte(strings.Replace(string(b), acceptKey(key), acceptKey(key+"x"), 1))
		}),
		refused("H.4", "no Sec-WebSocket-Accept: Dial fails", "4.1", 0, func(_ *http.Request, key string) []byte {
			return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		}),
		refused("H.5", "200 OK with the upgrade headers: Dial fails", "4.1", 200, func(_ *http.Request, key string) []byte {
			return []byte(strings.Replace(string(accept101(key)), "101 Switching Protocols", "200 OK", 1))
		}),
		refused("H.6", "403 Forbidden: Dial fails with status 403", "4.1", 403, func(*http.Request, string) []byte {
			return []byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n")
		}),
		refused("H.7", "101 without Upgrade: websocket: Dial fails", "4.1", 0, func(_ *http.Request, key string) []byte {
			return []byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n")
		}),
		refused("H.8", "101 without Connection: Upgrade: Dial fails", "4.1", 0, func(_ *http.Request, key string) []byte {
			return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n")
		}),
		refused("H.9", "101 selecting a subprotocol not offered: Dial fails", "4.1", 0, func(_ *http.Request, key string) []byte {
			return accept101(key, "Sec-WebSocket-Protocol: chat")
		}),
		refused("H.10", "101 selecting an extension not offered: Dial fails", "4.1", 0, func(_ *http.Request, key string) []byte {
			return accept101(key, "Sec-WebSocket-Extensions: permessage-deflate")
		}),
		c("H.11", "subprotocols offered in order; the one selected is reported", "4.1", func(cx *caseCtx, fs *fakeServer) {
			var offered []string
			w := fs.openWith(cx, handshakeOpts{
				dial: &engine.DialOptions{Protocols: []string{"chat", "superchat"}},
				respond: func(req *http.Request, key string) []byte {
					offered = req.Header.Values("Sec-WebSocket-Protocol")
					return accept101(key, "Sec-WebSocket-Protocol: superchat")
				},
			})
			if strings.Join(offered, ",") != "chat, superchat" && strings.Join(offered, ",") != "chat,superchat" {
				cx.failf("the client offered %q, want chat, superchat", offered)
			}
			p := ""
			if cx.client.api != nil {
				p = cx.client.api.Subprotocol()
			} else {
				p = cx.client.nc.Subprotocol()
			}
			if p != "superchat" {
				cx.failf("Subprotocol() = %q, want superchat", p)
			}
			w.closeNormally()
		}),
		c("H.12", "101 in 1-byte writes", "4.1", func(cx *caseCtx, fs *fakeServer) {
			w := fs.openWith(cx, handshakeOpts{chunk: 1})
			w.expectEcho(opText, []byte("Hello, world"))
			w.closeNormally()
		}),
		c("H.13", "frames right behind the 101, in the same write", "4.1", func(cx *caseCtx, fs *fakeServer) {
			early := appendFrame(nil, textMsg("early"), false)
			early = appendFrame(early, msg(opPing, []byte("early ping")), false)
			w := fs.openWith(cx, handshakeOpts{after: early})
			w.expectMessage(opText, []byte("early"))
			w.expectPong([]byte("early ping"))
			w.closeNormally()
		}),
		c("H.14", "answer header names and tokens in other cases", "4.1", func(cx *caseCtx, fs *fakeServer) {
			w := fs.openWith(cx, handshakeOpts{respond: func(_ *http.Request, key string) []byte {
				return []byte("HTTP/1.1 101 Switching Protocols\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: " + acceptKey(key) + "\r\n\r\n")
			}})
			w.expectEcho(opText, []byte("Hello, world"))
			w.closeNormally()
		}),
		withTimeout(h15Timeout, c("H.15", "no answer: Dial gives up after HandshakeTimeout", "4.1", func(cx *caseCtx, fs *fakeServer) {
			start := time.Now()
			_, _, _, cu, err := fs.dial(cx, handshakeOpts{
				dial: &engine.DialOptions{HandshakeTimeout: 300 * time.Millisecond},
				respond: func(*http.Request, string) []byte {
					time.Sleep(600 * time.Millisecond) // past the timeout
					return nil
				},
			})
			if err == nil {
				cx.failf("Dial succeeded without an answer")
			}
			took := cu.dialedAt.Sub(start)
			if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
				cx.infof("Dial: %v", err)
			}
			// Without its own timeout Dial would wait for its context, the
			// case's deadline: giving up well before it is giving up on its
			// own, however slowly the machine runs.
			if took > h15Timeout/2 {
				cx.failf("Dial took %s with a 300 ms HandshakeTimeout (its context ends at %s)", took, h15Timeout)
			}
			cx.infof("gave up after %s", fmtDuration(took))
		})),
	}
}

// h15Timeout is case H.15's deadline, and so its Dial's context's.
const h15Timeout = 30 * time.Second

// withTimeout gives a case a timeout of its own.
func withTimeout(d time.Duration, c testCase) testCase {
	c.timeout = d
	return c
}
