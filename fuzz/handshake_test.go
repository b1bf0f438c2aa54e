package fuzz

import (
	"bytes"
	"testing"

	"github.com/tachyonws/tachyon/engine"
)

// handshakeSeeds are requests around the rules of RFC 6455 section 4.2.1.
var handshakeSeeds = []string{
	"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n",
	"GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: keep-alive, Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\nSec-WebSocket-Extensions: permessage-deflate\n\n\x81\x80",
	"\r\nGET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
	"POST / HTTP/1.0\r\nHost: h\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX: a\rb\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
	"",
}

// FuzzHandshake holds the handshake parsers to their contracts on arbitrary
// bytes:
//   - ParseRequest, ParseResponse and ServerHandshake.Handshake never panic
//     and never claim more bytes than they were given;
//   - a prefix of the input, cut at a random point, parses to "need more" or
//     to the same result as the whole input;
//   - Handshake agrees with ParseRequest followed by Check, and an accepted
//     request gets, byte for byte, the 101 response rebuilt from its key with
//     AcceptKey, which the client side (ParseResponse, CheckResponse)
//     accepts;
//   - a refused request gets a response whose status is the error's.
func FuzzHandshake(f *testing.F) {
	for i, s := range handshakeSeeds {
		f.Add([]byte(s), uint16(i*37))
	}
	protocols := []string{"superchat", "chat"}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		split := int(cut) % (len(data) + 1)

		var r engine.Request
		n, err := engine.ParseRequest(data, &r)
		if n < 0 || n > len(data) || n == 0 && err == nil && len(data) >= engine.DefaultMaxHeaderBytes {
			t.Fatalf("ParseRequest = %d, %v for %d bytes", n, err, len(data))
		}
		var key []byte
		if n > 0 && err == nil {
			key = bytes.Clone(r.Key)
		}
		var rp engine.Request
		pn, perr := engine.ParseRequest(data[:split], &rp)
		if !(pn == 0 && perr == nil) && (pn != n || perr != err) {
			t.Fatalf("prefix of %d bytes = %d, %v; whole = %d, %v", split, pn, perr, n, err)
		}
		if pn > 0 && perr == nil && !bytes.Equal(rp.Key, key) {
			t.Fatalf("prefix parsed Key %q, whole %q", rp.Key, key)
		}
		if n == 0 && err == nil && !(pn == 0 && perr == nil) {
			t.Fatalf("whole needs more, prefix = %d, %v", pn, perr)
		}
		checkErr := err
		if n > 0 && err == nil {
			checkErr = r.Check()
		}

		s := engine.ServerHandshake{
			Protocols:   protocols,
			CheckOrigin: func(*engine.Request) bool { return true },
		}
		var hr engine.Request
		resp, hn, protocol, herr := s.Handshake(nil, data, &hr)
		if hn != n || herr != checkErr {
			t.Fatalf("Handshake = %d, %v; ParseRequest+Check = %d, %v", hn, herr, n, checkErr)
		}
		switch {
		case n == 0 && err == nil:
			if len(resp) != 0 || protocol != nil {
				t.Fatalf("need more, yet a response %q", resp)
			}
		case herr == nil:
			if want := engine.SelectProtocol(protocols, hr.ProtocolOffers()); !bytes.Equal(protocol, want) {
				t.Fatalf("protocol %q, SelectProtocol %q", protocol, want)
			}
			var accept [28]byte
			engine.AcceptKey(&accept, key)
			want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + string(accept[:]) + "\r\n"
			if protocol != nil {
				want += "Sec-WebSocket-Protocol: " + string(protocol) + "\r\n"
			}
			want += "\r\n"
			if string(resp) != want {
				t.Fatalf("101 response\n%q\nwant\n%q", resp, want)
			}
			// The client side accepts it.
			var res engine.Response
			if rn, err := engine.ParseResponse(resp, &res); rn != len(resp) || err != nil {
				t.Fatalf("ParseResponse of the 101 = %d, %v", rn, err)
			}
			k := [24]byte(key)
			got, err := engine.CheckResponse(&res, &k, protocols, "")
			if err != nil || !bytes.Equal(got, protocol) {
				t.Fatalf("CheckResponse of the 101 = %q, %v", got, err)
			}
		default:
			var res engine.Response
			if rn, err := engine.ParseResponse(resp, &res); rn == 0 || err != nil || res.Status != engine.HTTPStatus(herr) {
				t.Fatalf("refusal %q for %v parses to %d, %v, status %d", resp, herr, rn, err, res.Status)
			}
		}

		// The response parser on the same bytes.
		var res engine.Response
		rn, rerr := engine.ParseResponse(data, &res)
		if rn < 0 || rn > len(data) {
			t.Fatalf("ParseResponse = %d", rn)
		}
		pn, perr = engine.ParseResponse(data[:split], &res)
		if !(pn == 0 && perr == nil) && (pn != rn || perr != rerr) {
			t.Fatalf("ParseResponse prefix of %d bytes = %d, %v; whole = %d, %v", split, pn, perr, rn, rerr)
		}
		if rn > 0 && rerr == nil {
			var k [24]byte
			_, _ = engine.CheckResponse(&res, &k, protocols, "permessage-deflate")
		}
	})
}
