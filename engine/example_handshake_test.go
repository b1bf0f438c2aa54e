package engine_test

import (
	"fmt"
	"strings"

	"github.com/tachyonws/tachyon/engine"
)

// A server reads the client's opening handshake into a buffer and answers it
// from the same goroutine, without net/http. Here the bytes arrive in two
// reads: the first call asks for more.
func ExampleServerHandshake_Handshake() {
	request := "GET /chat HTTP/1.1\r\n" +
		"Host: server.example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Origin: http://server.example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"\r\n"
	s := engine.ServerHandshake{Protocols: []string{"superchat", "chat"}}
	var r engine.Request // reused across connections
	resp := make([]byte, 0, 256)

	_, n, _, err := s.Handshake(resp, []byte(request[:40]), &r)
	fmt.Println("first read:", n, err)

	resp, n, protocol, err := s.Handshake(resp, []byte(request), &r)
	if err != nil {
		// resp holds the refusal: write it, then close the connection.
		fmt.Println(err)
		return
	}
	fmt.Printf("consumed %d bytes, subprotocol %q, path %s\n", n, protocol, r.RequestURI)
	// The response's lines end in CRLF; print them with LF.
	fmt.Print(strings.ReplaceAll(string(resp), "\r\n", "\n"))
	// Output:
	// first read: 0 <nil>
	// consumed 237 bytes, subprotocol "superchat", path /chat
	// HTTP/1.1 101 Switching Protocols
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: superchat
}
