package engine_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tachyonws/tachyon/engine"
)

// browserRequest is what a current Chrome sends to open a WebSocket.
const browserRequest = "GET /chat?room=42 HTTP/1.1\r\n" +
	"Host: example.com:8080\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: http://example.com:8080\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Cookie: session=abc123; theme=dark\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

// rfcRequest is the example of RFC 6455 section 1.3.
const rfcRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Origin: http://server.example.com\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"\r\n"

// rfcAccept is the Sec-WebSocket-Accept of RFC 6455 section 1.3 for the key
// "dGhlIHNhbXBsZSBub25jZQ==": base64 of the SHA-1 0xb3 0x7a 0x4f 0x2c 0xc0
// 0x62 0x4f 0x16 0x90 0xf6 0x46 0x06 0xcf 0x38 0x59 0x45 0xb2 0xbe 0xc4 0xea.
const rfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

func TestAcceptKey(t *testing.T) {
	var dst [28]byte
	engine.AcceptKey(&dst, []byte("dGhlIHNhbXBsZSBub25jZQ=="))
	if string(dst[:]) != rfcAccept {
		t.Fatalf("AcceptKey = %q, want %q", dst[:], rfcAccept)
	}
	long := bytes.Repeat([]byte("k"), 100) // the slow path for a key over 64 bytes
	engine.AcceptKey(&dst, long)
	if allocs := testing.AllocsPerRun(100, func() { engine.AcceptKey(&dst, []byte("dGhlIHNhbXBsZSBub25jZQ==")) }); allocs != 0 {
		t.Errorf("AcceptKey allocates %v times", allocs)
	}
}

func TestParseRequestBrowser(t *testing.T) {
	var r engine.Request
	b := []byte(browserRequest + "\x81\x85trailing frame")
	n, err := engine.ParseRequest(b, &r)
	if err != nil || n != len(browserRequest) {
		t.Fatalf("ParseRequest = %d, %v; want %d, nil", n, err, len(browserRequest))
	}
	for _, c := range []struct{ name, got, want string }{
		{"Method", string(r.Method), "GET"},
		{"RequestURI", string(r.RequestURI), "/chat?room=42"},
		{"Proto", string(r.Proto), "HTTP/1.1"},
		{"Host", string(r.Host), "example.com:8080"},
		{"Upgrade", string(r.Upgrade), "websocket"},
		{"Connection", string(r.Connection), "Upgrade"},
		{"Key", string(r.Key), "dGhlIHNhbXBsZSBub25jZQ=="},
		{"Version", string(r.Version), "13"},
		{"Origin", string(r.Origin), "http://example.com:8080"},
		{"Cookie", string(r.Cookie), "session=abc123; theme=dark"},
		{"Header(user-agent)", string(r.Header("user-agent")), "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},
		{"Header(ACCEPT-LANGUAGE)", string(r.Header("ACCEPT-LANGUAGE")), "en-US,en;q=0.9"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		t.Errorf("ProtoMajor, ProtoMinor = %d, %d", r.ProtoMajor, r.ProtoMinor)
	}
	if r.Header("X-Missing") != nil {
		t.Error("Header of an absent field is not nil")
	}
	if got := len(r.Fields()); got != 14 {
		t.Errorf("len(Fields()) = %d, want 14", got)
	}
	if p := r.ProtocolOffers(); len(p) != 1 || string(p[0]) != "chat, superchat" {
		t.Errorf("ProtocolOffers = %q", p)
	}
	if e := r.ExtensionOffers(); len(e) != 1 || string(e[0]) != "permessage-deflate; client_max_window_bits" {
		t.Errorf("ExtensionOffers = %q", e)
	}
	if err := r.Check(); err != nil {
		t.Errorf("Check = %v", err)
	}
	if !r.SameOrigin() {
		t.Error("SameOrigin = false")
	}
	// The values point into b: no copies.
	b[bytes.Index(b, []byte("/chat"))+1] = 'C'
	if string(r.RequestURI) != "/Chat?room=42" {
		t.Errorf("RequestURI is a copy: %q", r.RequestURI)
	}
}

func TestParseRequestMultiLine(t *testing.T) {
	req := "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nUpgrade: WebSocket\r\nConnection: keep-alive\r\nConnection: upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b, c\r\n" +
		"Sec-WebSocket-Extensions: x\r\nsec-websocket-extensions: y; p=\"1,2\"\r\n\r\n"
	var r engine.Request
	if _, err := engine.ParseRequest([]byte(req), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("Check = %v", err)
	}
	if p := r.ProtocolOffers(); len(p) != 2 || string(p[1]) != "b, c" {
		t.Errorf("ProtocolOffers = %q", p)
	}
	if e := r.ExtensionOffers(); len(e) != 2 || string(e[1]) != `y; p="1,2"` {
		t.Errorf("ExtensionOffers = %q", e)
	}
	if v := r.Values("upgrade", nil); len(v) != 2 || string(v[0]) != "h2c" || string(v[1]) != "WebSocket" {
		t.Errorf("Values(upgrade) = %q", v)
	}
	if got := engine.SelectProtocol([]string{"c", "a"}, r.ProtocolOffers()); string(got) != "c" {
		t.Errorf("SelectProtocol = %q, want c (the server's preference)", got)
	}
}

// okHeaders completes a request line into a valid handshake.
const okHeaders = "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// reqWith builds a request from the valid one, replacing (or, with value "",
// removing) the header lines named in kv.
func reqWith(kv ...string) string {
	lines := strings.Split(strings.TrimSuffix(okHeaders, "\r\n"), "\r\n")
	for i := 0; i < len(kv); i += 2 {
		found := false
		for j, l := range lines {
			if strings.HasPrefix(l, kv[i]+":") {
				found = true
				if kv[i+1] == "" {
					lines = append(lines[:j], lines[j+1:]...)
				} else {
					lines[j] = kv[i] + ": " + kv[i+1]
				}
				break
			}
		}
		if !found && kv[i+1] != "" {
			lines = append(lines, kv[i]+": "+kv[i+1])
		}
	}
	return "GET / HTTP/1.1\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
}

// handshakeCases covers every rule, by the sentinel it breaks (nil: valid).
var handshakeCases = []struct {
	name string
	req  string
	want *engine.HandshakeError
}{
	{"valid", "GET / HTTP/1.1\r\n" + okHeaders + "\r\n", nil},
	{"bare LF line endings", strings.ReplaceAll("GET / HTTP/1.1\r\n"+okHeaders+"\r\n", "\r\n", "\n"), nil},
	{"mixed line endings", "GET / HTTP/1.1\n" + okHeaders + "\n", nil},
	{"leading empty lines", "\r\n\n\r\nGET / HTTP/1.1\r\n" + okHeaders + "\r\n", nil},
	{"HTTP/1.2", "GET / HTTP/1.2\r\n" + okHeaders + "\r\n", nil},
	{"absolute URI", "GET ws://h/chat HTTP/1.1\r\n" + okHeaders + "\r\n", nil},
	{"case-insensitive names and tokens", "GET / HTTP/1.1\r\n" + strings.ToLower("Host: h\r\nUpgrade: WEBSOCKET\r\nConnection: UPGRADE\r\n") + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n", nil},
	{"spaces and tabs around values", "GET / HTTP/1.1\r\nHost:h\r\nUpgrade: \t websocket \t\r\nConnection:Upgrade\r\nSec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version:13 \r\n\r\n", nil},
	{"Connection keep-alive, Upgrade", reqWith("Connection", "keep-alive, Upgrade"), nil},
	{"Connection with empty elements", reqWith("Connection", ",, keep-alive ,Upgrade,"), nil},
	{"Upgrade list", reqWith("Upgrade", "h2c, websocket"), nil},
	{"obs-text in a value", reqWith("X-Name", "caf\xc3\xa9"), nil},
	{"empty value", reqWith("X-Empty", ""+" "), nil},
	{"Content-Length 0", reqWith("Content-Length", "0"), nil},

	{"POST", "POST / HTTP/1.1\r\n" + okHeaders + "\r\n", engine.ErrBadMethod},
	{"lower-case get", "get / HTTP/1.1\r\n" + okHeaders + "\r\n", engine.ErrBadMethod},
	{"HTTP/1.0", "GET / HTTP/1.0\r\n" + okHeaders + "\r\n", engine.ErrBadHTTPVersion},
	{"HTTP/0.9", "GET / HTTP/0.9\r\n" + okHeaders + "\r\n", engine.ErrBadHTTPVersion},
	{"Content-Length 5", reqWith("Content-Length", "5"), engine.ErrRequestBody},
	{"Content-Length not a number", reqWith("Content-Length", "x"), engine.ErrRequestBody},
	{"Content-Length empty", reqWith("Content-Length", ""+" "), engine.ErrRequestBody},
	{"Transfer-Encoding chunked", reqWith("Transfer-Encoding", "chunked"), engine.ErrRequestBody},
	{"Transfer-Encoding identity", reqWith("TRANSFER-ENCODING", "identity"), engine.ErrRequestBody},
	{"no Host", reqWith("Host", ""), engine.ErrMissingHost},
	{"empty Host", "GET / HTTP/1.1\r\nHost:\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", engine.ErrMissingHost},
	{"no Upgrade", reqWith("Upgrade", ""), engine.ErrNotUpgrade},
	{"Upgrade h2c", reqWith("Upgrade", "h2c"), engine.ErrNotUpgrade},
	{"Upgrade websocket/13", reqWith("Upgrade", "websocket/13"), engine.ErrNotUpgrade},
	{"Upgrade websockets", reqWith("Upgrade", "websockets"), engine.ErrNotUpgrade},
	{"no Connection", reqWith("Connection", ""), engine.ErrNotConnectionUpgrade},
	{"Connection keep-alive", reqWith("Connection", "keep-alive"), engine.ErrNotConnectionUpgrade},
	{"Connection upgraded", reqWith("Connection", "upgraded"), engine.ErrNotConnectionUpgrade},
	{"no Version", reqWith("Sec-WebSocket-Version", ""), engine.ErrBadVersion},
	{"Version 8", reqWith("Sec-WebSocket-Version", "8"), engine.ErrBadVersion},
	{"Version 13, 8", reqWith("Sec-WebSocket-Version", "13, 8"), engine.ErrBadVersion},
	{"Version 013", reqWith("Sec-WebSocket-Version", "013"), engine.ErrBadVersion},
	{"no Key", reqWith("Sec-WebSocket-Key", ""), engine.ErrBadKey},
	{"Key of 15 bytes", reqWith("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j"), engine.ErrBadKey},
	{"Key of 17 bytes", reqWith("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ0="), engine.ErrBadKey},
	{"Key unpadded", reqWith("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ"), engine.ErrBadKey},
	{"Key URL alphabet", reqWith("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZ_=="), engine.ErrBadKey},
	{"Key not base64", reqWith("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j*Q=="), engine.ErrBadKey},

	{"obs-fold", "GET / HTTP/1.1\r\n" + okHeaders + "X-Long: a\r\n b\r\n\r\n", engine.ErrObsFold},
	{"obs-fold tab", "GET / HTTP/1.1\r\n" + okHeaders + "X-Long: a\r\n\tb\r\n\r\n", engine.ErrObsFold},
	{"space after request line", "GET / HTTP/1.1\r\n " + okHeaders + "\r\n", engine.ErrObsFold},
	{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n" + okHeaders[9:] + "\r\n", engine.ErrMalformedHeader},
	{"no colon", "GET / HTTP/1.1\r\n" + okHeaders + "NoColon\r\n\r\n", engine.ErrMalformedHeader},
	{"empty name", "GET / HTTP/1.1\r\n" + okHeaders + ": v\r\n\r\n", engine.ErrMalformedHeader},
	{"bad name", "GET / HTTP/1.1\r\n" + okHeaders + "X(y): v\r\n\r\n", engine.ErrMalformedHeader},
	{"NUL in value", reqWith("X-Nul", "a\x00b"), engine.ErrMalformedHeader},
	{"bare CR in value", reqWith("X-CR", "a\rb"), engine.ErrMalformedHeader},
	{"CRCRLF", "GET / HTTP/1.1\r\n" + okHeaders + "X: a\r\r\n\r\n", engine.ErrMalformedHeader},
	{"DEL in value", reqWith("X-Del", "a\x7fb"), engine.ErrMalformedHeader},
	{"duplicate Host", "GET / HTTP/1.1\r\n" + okHeaders + "Host: evil\r\n\r\n", engine.ErrDuplicateHeader},
	{"duplicate Key", "GET / HTTP/1.1\r\n" + okHeaders + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", engine.ErrDuplicateHeader},
	{"duplicate Version", "GET / HTTP/1.1\r\n" + okHeaders + "Sec-WebSocket-Version: 13\r\n\r\n", engine.ErrDuplicateHeader},
	{"duplicate Origin", "GET / HTTP/1.1\r\n" + okHeaders + "Origin: http://h\r\nOrigin: http://h\r\n\r\n", engine.ErrDuplicateHeader},
	{"no request line", "\r\nHost: h\r\n\r\n", engine.ErrMalformedRequest},
	{"two spaces", "GET  / HTTP/1.1\r\n" + okHeaders + "\r\n", engine.ErrMalformedRequest},
	{"no version", "GET /\r\n" + okHeaders + "\r\n", engine.ErrMalformedRequest},
	{"HTTP/11", "GET / HTTP/11\r\n" + okHeaders + "\r\n", engine.ErrMalformedRequest},
	{"http/1.1", "GET / http/1.1\r\n" + okHeaders + "\r\n", engine.ErrMalformedRequest},
	{"trailing space", "GET / HTTP/1.1 \r\n" + okHeaders + "\r\n", engine.ErrMalformedRequest},
	{"control in target", "GET /\x01 HTTP/1.1\r\n" + okHeaders + "\r\n", engine.ErrMalformedRequest},
	{"bad method token", "G(T / HTTP/1.1\r\n" + okHeaders + "\r\n", engine.ErrMalformedRequest},
	{"too many fields", "GET / HTTP/1.1\r\n" + okHeaders + strings.Repeat("X: y\r\n", engine.MaxHeaderFields-4) + "\r\n", engine.ErrTooManyHeaders},
	{"too many protocol lines", "GET / HTTP/1.1\r\n" + okHeaders + strings.Repeat("Sec-WebSocket-Protocol: y\r\n", 9) + "\r\n", engine.ErrTooManyHeaders},
	{"over 8 KiB", "GET / HTTP/1.1\r\n" + okHeaders + "X: " + strings.Repeat("y", 8192) + "\r\n\r\n", engine.ErrHeaderTooLarge},
}

// parseAndCheck is ParseRequest then Check.
func parseAndCheck(b []byte, r *engine.Request) (int, error) {
	n, err := engine.ParseRequest(b, r)
	if err == nil && n > 0 {
		err = r.Check()
	}
	return n, err
}

func TestRequestRules(t *testing.T) {
	for _, c := range handshakeCases {
		t.Run(c.name, func(t *testing.T) {
			var r engine.Request
			n, err := parseAndCheck([]byte(c.req), &r)
			if c.want == nil {
				if err != nil || n != len(c.req) {
					t.Fatalf("= %d, %v; want %d, nil", n, err, len(c.req))
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if engine.HTTPStatus(err) != c.want.Status {
				t.Fatalf("HTTPStatus = %d, want %d", engine.HTTPStatus(err), c.want.Status)
			}
		})
	}
}

func TestRequestStatuses(t *testing.T) {
	// The statuses each sentinel answers with are part of the API.
	for _, c := range []struct {
		err    *engine.HandshakeError
		status int
	}{
		{engine.ErrBadMethod, 405}, {engine.ErrBadHTTPVersion, 400}, {engine.ErrMissingHost, 400},
		{engine.ErrNotUpgrade, 400}, {engine.ErrNotConnectionUpgrade, 400}, {engine.ErrBadKey, 400},
		{engine.ErrBadVersion, 426}, {engine.ErrHeaderTooLarge, 431}, {engine.ErrTooManyHeaders, 431},
		{engine.ErrForbiddenOrigin, 403}, {engine.ErrObsFold, 400}, {engine.ErrMalformedHeader, 400},
		{engine.ErrMalformedRequest, 400}, {engine.ErrDuplicateHeader, 400}, {engine.ErrRequestBody, 400},
	} {
		if c.err.Status != c.status {
			t.Errorf("%v: status %d, want %d", c.err, c.err.Status, c.status)
		}
	}
}

// TestParseRequestIncremental feeds every case one byte at a time: each
// prefix is "need more" (or the same error, for an oversize block) until the
// block is complete, and then the result is the whole's.
func TestParseRequestIncremental(t *testing.T) {
	for _, c := range handshakeCases {
		t.Run(c.name, func(t *testing.T) {
			b := []byte(c.req + "GET / HTTP/1.1\r\n") // bytes after the block must not matter
			var whole engine.Request
			wn, werr := parseAndCheck(b, &whole)
			var r engine.Request
			for i := 0; i <= len(b); i++ {
				n, err := parseAndCheck(b[:i], &r)
				if n == 0 && err == nil {
					if i >= len(c.req) {
						t.Fatalf("prefix of %d bytes: need more, whole block is %d", i, len(c.req))
					}
					continue
				}
				if n != wn || err != werr {
					t.Fatalf("prefix of %d bytes = %d, %v; whole = %d, %v", i, n, err, wn, werr)
				}
				if werr == nil && i < wn {
					t.Fatalf("prefix of %d bytes complete, block is %d", i, wn)
				}
				if werr == nil && (string(r.Key) != string(whole.Key) || len(r.Fields()) != len(whole.Fields())) {
					t.Fatalf("prefix of %d bytes parsed differently", i)
				}
				if werr != engine.ErrHeaderTooLarge {
					break
				}
			}
		})
	}
}

func TestParseRequestLimit(t *testing.T) {
	req := []byte(rfcRequest)
	var r engine.Request
	if n, err := engine.ParseRequestLimit(req, &r, len(req)); err != nil || n != len(req) {
		t.Fatalf("block of exactly the limit = %d, %v", n, err)
	}
	if _, err := engine.ParseRequestLimit(req, &r, len(req)-1); err != engine.ErrHeaderTooLarge {
		t.Fatalf("block one over the limit: %v", err)
	}
	// An incomplete block is refused as soon as it reaches the limit.
	if n, err := engine.ParseRequestLimit(req[:99], &r, 100); n != 0 || err != nil {
		t.Fatalf("99 of 100 bytes = %d, %v; want need more", n, err)
	}
	if _, err := engine.ParseRequestLimit(req[:100], &r, 100); err != engine.ErrHeaderTooLarge {
		t.Fatalf("100 of 100 bytes without the end: %v", err)
	}
	// The default limit is 8 KiB.
	big := bytes.Repeat([]byte("a"), engine.DefaultMaxHeaderBytes)
	if _, err := engine.ParseRequest(big[:engine.DefaultMaxHeaderBytes-1], &r); err != nil {
		t.Fatalf("8 KiB - 1 of garbage without a line end: %v", err)
	}
	if _, err := engine.ParseRequest(big, &r); err != engine.ErrHeaderTooLarge {
		t.Fatalf("8 KiB of garbage: %v", err)
	}
	var s engine.ServerHandshake
	resp, _, _, err := s.Handshake(nil, big, &r)
	if err != engine.ErrHeaderTooLarge || !bytes.HasPrefix(resp, []byte("HTTP/1.1 431 Request Header Fields Too Large\r\n")) {
		t.Fatalf("Handshake of 8 KiB = %q, %v", resp, err)
	}
	s.MaxHeaderBytes = 16 << 10
	if _, n, _, err := s.Handshake(nil, big, &r); n != 0 || err != nil {
		t.Fatalf("MaxHeaderBytes 16 KiB: %d, %v", n, err)
	}
}

func TestParseRequestAllocs(t *testing.T) {
	b := []byte(browserRequest)
	var r engine.Request
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := engine.ParseRequest(b, &r); err != nil {
			t.Fatal(err)
		}
		if err := r.Check(); err != nil {
			t.Fatal(err)
		}
		_ = r.Header("User-Agent")
	})
	if allocs != 0 {
		t.Errorf("ParseRequest+Check allocates %v times", allocs)
	}
	var s engine.ServerHandshake
	s.Protocols = []string{"superchat"}
	dst := make([]byte, 0, 512)
	allocs = testing.AllocsPerRun(100, func() {
		if _, _, _, err := s.Handshake(dst[:0], b, &r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Handshake allocates %v times", allocs)
	}
}

func TestHandshakeRFCExample(t *testing.T) {
	s := engine.ServerHandshake{Protocols: []string{"chat"}}
	var r engine.Request
	b := []byte(rfcRequest)
	resp, n, proto, err := s.Handshake([]byte("prefix:"), b, &r)
	if err != nil || n != len(b) || string(proto) != "chat" {
		t.Fatalf("Handshake = %d, %q, %v", n, proto, err)
	}
	want := "prefix:HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + rfcAccept + "\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n" +
		"\r\n"
	if string(resp) != want {
		t.Fatalf("response\n%q\nwant\n%q", resp, want)
	}
	// Need more: dst comes back unchanged.
	resp, n, proto, err = s.Handshake([]byte("x"), b[:len(b)-1], &r)
	if string(resp) != "x" || n != 0 || proto != nil || err != nil {
		t.Fatalf("partial Handshake = %q, %d, %q, %v", resp, n, proto, err)
	}
}

func TestAppendAccept(t *testing.T) {
	got := engine.AppendAccept(nil, []byte("dGhlIHNhbXBsZSBub25jZQ=="), nil, []byte("permessage-deflate"), [][2]string{{"Set-Cookie", "a=b\r\nX-Injected: 1"}})
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + rfcAccept + "\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate\r\nSet-Cookie: a=b  X-Injected: 1\r\n\r\n"
	if string(got) != want {
		t.Fatalf("AppendAccept\n%q\nwant\n%q", got, want)
	}
}

func TestAppendReject(t *testing.T) {
	for _, c := range []struct {
		status int
		header [][2]string
		body   string
		want   string
	}{
		{400, nil, "bad\n", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n\r\nbad\n"},
		{403, nil, "", "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n\r\n"},
		{405, nil, "x", "HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nAllow: GET\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\n\r\nx"},
		{426, nil, "v", "HTTP/1.1 426 Upgrade Required\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\n\r\nv"},
		{431, nil, "", "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n\r\n"},
		{401, [][2]string{{"WWW-Authenticate", `Bearer realm="ws"`}}, "", "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer realm=\"ws\"\r\n\r\n"},
		{599, nil, "", "HTTP/1.1 599 Status\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n\r\n"},
	} {
		if got := string(engine.AppendReject(nil, c.status, c.header, c.body)); got != c.want {
			t.Errorf("AppendReject(%d)\n%q\nwant\n%q", c.status, got, c.want)
		}
	}
}

func TestHandshakeRejections(t *testing.T) {
	var s engine.ServerHandshake
	var r engine.Request
	for _, c := range handshakeCases {
		if c.want == nil {
			continue
		}
		resp, _, _, err := s.Handshake(nil, []byte(c.req), &r)
		if err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
			continue
		}
		want := string(engine.AppendReject(nil, c.want.Status, nil, c.want.Msg+"\n"))
		if string(resp) != want {
			t.Errorf("%s: response\n%q\nwant\n%q", c.name, resp, want)
		}
		// The refusal is itself a well-formed response.
		hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), nil)
		if err != nil {
			t.Errorf("%s: net/http cannot read the refusal: %v", c.name, err)
			continue
		}
		body, _ := io.ReadAll(hr.Body)
		if hr.StatusCode != c.want.Status || string(body) != c.want.Msg+"\n" || !hr.Close {
			t.Errorf("%s: net/http reads %d %q close=%v", c.name, hr.StatusCode, body, hr.Close)
		}
		if c.want.Status == 426 && hr.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Errorf("%s: 426 without Sec-WebSocket-Version: 13", c.name)
		}
	}
}

func TestHandshakeOrigin(t *testing.T) {
	var r engine.Request
	for _, c := range []struct {
		origin string // "" for none
		ok     bool
	}{
		{"", true},
		{"http://h", true},
		{"https://H", true},
		{"http://h/", true},
		{"http://h:80", false},
		{"http://evil", false},
		{"http://h.evil", false},
		{"null", false},
		{"h", false},
		{"http://", false},
	} {
		var s engine.ServerHandshake
		req := reqWith("Origin", c.origin)
		_, _, _, err := s.Handshake(nil, []byte(req), &r)
		if c.ok && err != nil || !c.ok && err != engine.ErrForbiddenOrigin {
			t.Errorf("Origin %q: %v", c.origin, err)
		}
		// A hook overrides the default.
		s.CheckOrigin = func(r *engine.Request) bool { return string(r.Origin) == "http://evil" }
		_, _, _, err = s.Handshake(nil, []byte(req), &r)
		if (c.origin == "http://evil") != (err == nil) {
			t.Errorf("Origin %q with hook: %v", c.origin, err)
		}
	}
}

func TestHandshakeHooks(t *testing.T) {
	var r engine.Request
	req := []byte(strings.Replace(browserRequest, "/chat?room=42", "/private", 1))
	errAuth := &engine.HandshakeError{Status: 401, Msg: "login first"}
	s := engine.ServerHandshake{
		Protocols: []string{"v2", "superchat", "chat"},
		Accept: func(r *engine.Request) ([][2]string, error) {
			switch {
			case string(r.RequestURI) == "/private" && !bytes.Contains(r.Cookie, []byte("session=ok")):
				return [][2]string{{"WWW-Authenticate", "Cookie"}}, errAuth
			case string(r.RequestURI) == "/teapot":
				return nil, errors.New("internal detail")
			}
			return [][2]string{{"Set-Cookie", "seen=1"}}, nil
		},
		Extensions: func(offers [][]byte) ([]byte, error) {
			if len(offers) != 1 || !bytes.HasPrefix(offers[0], []byte("permessage-deflate")) {
				return nil, errors.New("unexpected offer")
			}
			return []byte("permessage-deflate; server_no_context_takeover"), nil
		},
	}
	resp, _, _, err := s.Handshake(nil, req, &r)
	if err != errAuth || !bytes.HasPrefix(resp, []byte("HTTP/1.1 401 Unauthorized\r\n")) || !bytes.Contains(resp, []byte("\r\nWWW-Authenticate: Cookie\r\n")) || !bytes.HasSuffix(resp, []byte("\r\n\r\nlogin first\n")) {
		t.Fatalf("rejected by Accept: %q, %v", resp, err)
	}

	req = bytes.Replace(req, []byte("session=abc123"), []byte("session=ok"), 1)
	resp, _, proto, err := s.Handshake(nil, req, &r)
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + rfcAccept + "\r\n" +
		"Sec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\nSet-Cookie: seen=1\r\n\r\n"
	if err != nil || string(proto) != "superchat" || string(resp) != want {
		t.Fatalf("accepted: %q, %q, %v", resp, proto, err)
	}

	teapot := bytes.Replace(req, []byte("/private"), []byte("/teapot"), 1)
	resp, _, _, err = s.Handshake(nil, teapot, &r)
	if err == nil || err.Error() != "internal detail" || string(resp) != string(engine.AppendReject(nil, 403, nil, engine.ErrRejected.Msg+"\n")) {
		t.Fatalf("plain error from Accept: %q, %v", resp, err)
	}

	badExt := bytes.Replace(req, []byte("permessage-deflate; client"), []byte("x-other; client"), 1)
	resp, _, _, err = s.Handshake(nil, badExt, &r)
	if err == nil || !bytes.HasPrefix(resp, []byte("HTTP/1.1 400 ")) {
		t.Fatalf("refused by Extensions: %q, %v", resp, err)
	}

	// No protocol in common: no header. Default Extensions: declined.
	s = engine.ServerHandshake{Protocols: []string{"CHAT", "v3"}}
	resp, _, proto, err = s.Handshake(nil, req, &r)
	if err != nil || proto != nil || bytes.Contains(resp, []byte("Sec-WebSocket-Protocol")) || bytes.Contains(resp, []byte("Sec-WebSocket-Extensions")) {
		t.Fatalf("no common protocol: %q, %q, %v", resp, proto, err)
	}
}

func TestSelectProtocol(t *testing.T) {
	offers := [][]byte{[]byte(" a ,, b"), []byte("c")}
	for _, c := range []struct {
		server []string
		want   string
	}{
		{nil, ""}, {[]string{"x"}, ""}, {[]string{"a"}, "a"}, {[]string{"x", "b", "a"}, "b"},
		{[]string{"c"}, "c"}, {[]string{"A"}, ""}, {[]string{""}, ""},
	} {
		if got := engine.SelectProtocol(c.server, offers); string(got) != c.want || (c.want == "") != (got == nil) {
			t.Errorf("SelectProtocol(%q) = %q, want %q", c.server, got, c.want)
		}
	}
}

// TestParseNetHTTPRequest parses a handshake written by net/http's client.
func TestParseNetHTTPRequest(t *testing.T) {
	hr, err := http.NewRequest("GET", "http://example.com:9000/socket?x=1&y=%20", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Upgrade", "websocket")
	hr.Header.Set("Connection", "Upgrade")
	hr.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	hr.Header.Set("Sec-WebSocket-Version", "13")
	hr.Header.Set("Sec-WebSocket-Protocol", "chat, superchat")
	hr.Header.Set("Origin", "http://example.com:9000")
	hr.Header.Add("X-Multi", "one")
	hr.Header.Add("X-Multi", "two")
	var buf bytes.Buffer
	if err := hr.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var r engine.Request
	n, err := engine.ParseRequest(buf.Bytes(), &r)
	if err != nil || n != buf.Len() {
		t.Fatalf("ParseRequest = %d, %v (of %d)\n%s", n, err, buf.Len(), buf.Bytes())
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	if !r.SameOrigin() {
		t.Error("not same origin")
	}
	for _, c := range []struct{ name, got, want string }{
		{"Method", string(r.Method), hr.Method},
		{"RequestURI", string(r.RequestURI), hr.URL.RequestURI()},
		{"Host", string(r.Host), hr.Host},
		{"Key", string(r.Key), hr.Header.Get("Sec-WebSocket-Key")},
		{"Version", string(r.Version), "13"},
		{"Origin", string(r.Origin), hr.Header.Get("Origin")},
		{"User-Agent", string(r.Header("user-agent")), "Go-http-client/1.1"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if v := r.Values("X-Multi", nil); len(v) != 2 || string(v[0]) != "one" || string(v[1]) != "two" {
		t.Errorf("X-Multi = %q", v)
	}
	s := engine.ServerHandshake{Protocols: []string{"superchat"}}
	resp, _, _, err := s.Handshake(nil, buf.Bytes(), &r)
	if err != nil {
		t.Fatal(err)
	}
	// net/http reads the 101 back.
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), hr)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 101 || res.Header.Get("Sec-WebSocket-Accept") != rfcAccept || res.Header.Get("Sec-WebSocket-Protocol") != "superchat" {
		t.Errorf("net/http reads %d %v", res.StatusCode, res.Header)
	}
}

func TestNewKey(t *testing.T) {
	var k [24]byte
	if err := engine.NewKey(&k, bytes.NewReader([]byte("the sample nonce"))); err != nil {
		t.Fatal(err)
	}
	if string(k[:]) != "dGhlIHNhbXBsZSBub25jZQ==" {
		t.Fatalf("NewKey = %q", k[:])
	}
	if err := engine.NewKey(&k, bytes.NewReader([]byte("short"))); err == nil {
		t.Fatal("NewKey with a short reader: no error")
	}
	var k2 [24]byte
	if err := engine.NewKey(&k, nil); err != nil {
		t.Fatal(err)
	}
	if err := engine.NewKey(&k2, nil); err != nil {
		t.Fatal(err)
	}
	if k == k2 || k[22] != '=' || k[23] != '=' {
		t.Fatalf("NewKey from crypto/rand: %q, %q", k[:], k2[:])
	}
}

func TestAppendRequest(t *testing.T) {
	key := [24]byte([]byte("dGhlIHNhbXBsZSBub25jZQ=="))
	got := engine.AppendRequest(nil, "server.example.com", "/chat", &key, []string{"chat", "superchat"},
		[][2]string{{"Origin", "http://example.com"}}, "permessage-deflate")
	want := "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate\r\nOrigin: http://example.com\r\n\r\n"
	if string(got) != want {
		t.Fatalf("AppendRequest\n%q\nwant\n%q", got, want)
	}
	got = engine.AppendRequest(nil, "h", "", &key, nil, nil, "")
	want = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if string(got) != want {
		t.Fatalf("AppendRequest\n%q\nwant\n%q", got, want)
	}
	// net/http's server side reads it.
	hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(got)))
	if err != nil || hr.Host != "h" || hr.Header.Get("Sec-WebSocket-Key") != string(key[:]) {
		t.Fatalf("net/http reads %v, %v", hr, err)
	}
}

// roundTrip runs a client request through the server and returns the
// server's answer.
func roundTrip(t *testing.T, s *engine.ServerHandshake, key *[24]byte, protocols []string, ext string) []byte {
	t.Helper()
	req := engine.AppendRequest(nil, "h", "/x", key, protocols, nil, ext)
	var r engine.Request
	resp, n, _, err := s.Handshake(nil, req, &r)
	if err != nil || n != len(req) {
		t.Fatalf("server: %d, %v", n, err)
	}
	return resp
}

func TestClientRoundTrip(t *testing.T) {
	var key [24]byte
	if err := engine.NewKey(&key, nil); err != nil {
		t.Fatal(err)
	}
	s := &engine.ServerHandshake{
		Protocols: []string{"b", "a"},
		Extensions: func([][]byte) ([]byte, error) {
			return []byte(`permessage-deflate; client_max_window_bits=10`), nil
		},
	}
	resp := roundTrip(t, s, &key, []string{"a", "b"}, "permessage-deflate; client_max_window_bits")
	var res engine.Response
	frames := append(bytes.Clone(resp), 0x81, 0x00)
	n, err := engine.ParseResponse(frames, &res)
	if err != nil || n != len(resp) {
		t.Fatalf("ParseResponse = %d, %v", n, err)
	}
	proto, err := engine.CheckResponse(&res, &key, []string{"a", "b"}, "permessage-deflate; client_max_window_bits")
	if err != nil || string(proto) != "b" {
		t.Fatalf("CheckResponse = %q, %v", proto, err)
	}
	if res.Status != 101 || string(res.Reason) != "Switching Protocols" || string(res.Header("sec-websocket-accept")) != string(res.Accept) {
		t.Errorf("Response %d %q", res.Status, res.Reason)
	}
	if e := res.Extensions(); len(e) != 1 || string(e[0]) != "permessage-deflate; client_max_window_bits=10" {
		t.Errorf("Extensions = %q", e)
	}
	// Byte by byte: need more until complete.
	for i := 0; i < len(resp); i++ {
		if n, err := engine.ParseResponse(resp[:i], &res); n != 0 || err != nil {
			t.Fatalf("prefix of %d: %d, %v", i, n, err)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() {
		_, _ = engine.ParseResponse(resp, &res)
		if _, err := engine.CheckResponse(&res, &key, []string{"a", "b"}, "permessage-deflate"); err != nil {
			t.Fatal(err)
		}
	}); allocs > 1 {
		t.Errorf("ParseResponse+CheckResponse allocates %v times", allocs)
	}

	// The server picks nothing: no protocol.
	s = &engine.ServerHandshake{}
	resp = roundTrip(t, s, &key, []string{"a"}, "permessage-deflate")
	if _, err := engine.ParseResponse(resp, &res); err != nil {
		t.Fatal(err)
	}
	if proto, err := engine.CheckResponse(&res, &key, []string{"a"}, "permessage-deflate"); err != nil || proto != nil {
		t.Fatalf("CheckResponse = %q, %v", proto, err)
	}
}

func TestCheckResponseTampered(t *testing.T) {
	var key [24]byte
	if err := engine.NewKey(&key, nil); err != nil {
		t.Fatal(err)
	}
	s := &engine.ServerHandshake{Protocols: []string{"chat"}}
	good := string(roundTrip(t, s, &key, []string{"chat"}, ""))
	var accept [28]byte
	engine.AcceptKey(&accept, key[:])
	rep := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	for _, c := range []struct {
		name    string
		resp    string
		offered []string
		ext     string
		want    error
		status  int
	}{
		{"good", good, []string{"chat"}, "", nil, 0},
		{"header case", strings.NewReplacer("Upgrade: websocket", "upgrade: WebSocket", "Connection: Upgrade", "CONNECTION: upgrade", "Sec-WebSocket-Accept", "sec-websocket-accept", "Sec-WebSocket-Protocol", "SEC-WEBSOCKET-PROTOCOL").Replace(good), []string{"chat"}, "", nil, 0},
		{"200", rep("101 Switching Protocols", "200 OK"), []string{"chat"}, "", nil, 200},
		{"403", string(engine.AppendReject(nil, 403, nil, "no")), []string{"chat"}, "", nil, 403},
		{"no Upgrade", rep("Upgrade: websocket\r\n", ""), []string{"chat"}, "", engine.ErrResponseNotUpgrade, 0},
		{"Upgrade h2c", rep("Upgrade: websocket", "Upgrade: h2c"), []string{"chat"}, "", engine.ErrResponseNotUpgrade, 0},
		{"second Upgrade", rep("Upgrade: websocket\r\n", "Upgrade: websocket\r\nUpgrade: h2c\r\n"), []string{"chat"}, "", engine.ErrResponseNotUpgrade, 0},
		{"no Connection", rep("Connection: Upgrade\r\n", ""), []string{"chat"}, "", engine.ErrResponseNotConnectionUpgrade, 0},
		{"Connection close", rep("Connection: Upgrade", "Connection: close"), []string{"chat"}, "", engine.ErrResponseNotConnectionUpgrade, 0},
		{"no Accept", rep("Sec-WebSocket-Accept: "+string(accept[:])+"\r\n", ""), []string{"chat"}, "", engine.ErrBadAccept, 0},
		{"wrong Accept", rep(string(accept[:]), rfcAccept), []string{"chat"}, "", engine.ErrBadAccept, 0},
		{"two Accepts", rep("\r\n\r\n", "\r\nSec-WebSocket-Accept: "+string(accept[:])+"\r\n\r\n"), []string{"chat"}, "", engine.ErrBadAccept, 0},
		{"protocol not offered", good, []string{"other"}, "", engine.ErrUnexpectedProtocol, 0},
		{"protocol when none offered", good, nil, "", engine.ErrUnexpectedProtocol, 0},
		{"two protocols", rep("chat", "chat, chat"), []string{"chat"}, "", engine.ErrUnexpectedProtocol, 0},
		{"extension when none offered", rep("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"), []string{"chat"}, "", engine.ErrUnexpectedExtension, 0},
		{"extension not offered", rep("\r\n\r\n", "\r\nSec-WebSocket-Extensions: x-foo\r\n\r\n"), []string{"chat"}, "permessage-deflate; a=\"x,x-foo\"", engine.ErrUnexpectedExtension, 0},
		{"extension offered", rep("\r\n\r\n", "\r\nSec-WebSocket-Extensions: Permessage-Deflate; a=\"b,c\", \r\n\r\n"), []string{"chat"}, "x-foo, permessage-deflate", nil, 0},
		{"bad extension syntax", rep("\r\n\r\n", "\r\nSec-WebSocket-Extensions: ;x\r\n\r\n"), []string{"chat"}, "x", engine.ErrUnexpectedExtension, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var res engine.Response
			if _, err := engine.ParseResponse([]byte(c.resp), &res); err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			_, err := engine.CheckResponse(&res, &key, c.offered, c.ext)
			if c.status != 0 {
				if engine.HTTPStatus(err) != c.status {
					t.Fatalf("CheckResponse = %v, want status %d", err, c.status)
				}
				return
			}
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("CheckResponse = %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	for _, c := range []struct {
		resp string
		want error
	}{
		{"HTTP/1.1 101 Switching Protocols\r\n\r\n", nil},
		{"HTTP/1.1 101\r\n\r\n", nil},
		{"HTTP/1.1 101 \n\n", nil},
		{"HTTP/1.1 1O1 x\r\n\r\n", engine.ErrMalformedResponse},
		{"HTTP/1.1 1011 x\r\n\r\n", engine.ErrMalformedResponse},
		{"HTTP/1.1  101 x\r\n\r\n", engine.ErrMalformedResponse},
		{"HTTP/x.1 101 x\r\n\r\n", engine.ErrMalformedResponse},
		{"HTTP/1.1 101 x\x00\r\n\r\n", engine.ErrMalformedResponse},
		{"HTTP/1.1 101 x\r\nA: b\r\n c\r\n\r\n", engine.ErrMalformedResponse},
		{"HTTP/1.1 101 x\r\n" + strings.Repeat("A: b\r\n", 65) + "\r\n", engine.ErrResponseTooLarge},
		{"HTTP/1.1 101 x\r\nA: " + strings.Repeat("b", 9000) + "\r\n\r\n", engine.ErrResponseTooLarge},
	} {
		var res engine.Response
		if _, err := engine.ParseResponse([]byte(c.resp), &res); err != c.want {
			t.Errorf("ParseResponse(%.40q) = %v, want %v", c.resp, err, c.want)
		}
	}
	var res engine.Response
	if _, err := engine.ParseResponseLimit([]byte("HTTP/1.1 101 x\r\n\r\n"), &res, 10); err != engine.ErrResponseTooLarge {
		t.Errorf("ParseResponseLimit 10: %v", err)
	}
}

func BenchmarkHandshake(b *testing.B) {
	req := []byte(browserRequest)
	s := engine.ServerHandshake{Protocols: []string{"chat"}}
	var r engine.Request
	dst := make([]byte, 0, 512)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		resp, _, _, err := s.Handshake(dst[:0], req, &r)
		if err != nil || len(resp) == 0 {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandshakeNewRequest(b *testing.B) {
	// A Request and a response buffer per connection, as a naive server would.
	req := []byte(browserRequest)
	s := engine.ServerHandshake{Protocols: []string{"chat"}}
	b.ReportAllocs()
	for b.Loop() {
		var r engine.Request
		if _, _, _, err := s.Handshake(nil, req, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequest(b *testing.B) {
	req := []byte(browserRequest)
	var r engine.Request
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engine.ParseRequest(req, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcceptKey(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	var dst [28]byte
	b.ReportAllocs()
	for b.Loop() {
		engine.AcceptKey(&dst, key)
	}
}

func BenchmarkClientHandshake(b *testing.B) {
	var key [24]byte
	_ = engine.NewKey(&key, nil)
	var r engine.Request
	s := engine.ServerHandshake{Protocols: []string{"chat"}}
	req := engine.AppendRequest(nil, "h", "/", &key, []string{"chat"}, nil, "")
	resp, _, _, _ := s.Handshake(nil, req, &r)
	var res engine.Response
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = engine.AppendRequest(buf[:0], "h", "/", &key, []string{"chat"}, nil, "")
		if _, err := engine.ParseResponse(resp, &res); err != nil {
			b.Fatal(err)
		}
		if _, err := engine.CheckResponse(&res, &key, []string{"chat"}, ""); err != nil {
			b.Fatal(err)
		}
	}
}
