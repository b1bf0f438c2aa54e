package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"strconv"
)

// Sentinel errors of the client side of the handshake: a response that does
// not complete it. Their Status is 0 (the response, not the server's status,
// is at fault); a response whose status is not 101 is reported instead as a
// *HandshakeError carrying that status. Compare with errors.Is.
var (
	// ErrMalformedResponse is a status line that is not
	// "HTTP/d.d SP 3DIGIT SP reason", or a malformed header line.
	ErrMalformedResponse = &HandshakeError{0, "malformed response"}
	// ErrResponseTooLarge is a response header block over the size limit,
	// or with more than MaxHeaderFields lines.
	ErrResponseTooLarge = &HandshakeError{0, "response header block over the size limit"}
	// ErrResponseNotUpgrade is a 101 whose Upgrade is not "websocket".
	ErrResponseNotUpgrade = &HandshakeError{0, "response Upgrade header is not websocket"}
	// ErrResponseNotConnectionUpgrade is a 101 whose Connection does not list
	// "upgrade".
	ErrResponseNotConnectionUpgrade = &HandshakeError{0, "response Connection header does not list upgrade"}
	// ErrBadAccept is a 101 whose Sec-WebSocket-Accept is missing, repeated
	// or not the one computed from the key.
	ErrBadAccept = &HandshakeError{0, "response Sec-WebSocket-Accept does not match the key"}
	// ErrUnexpectedProtocol is a 101 naming a subprotocol the client did not
	// offer, or naming more than one.
	ErrUnexpectedProtocol = &HandshakeError{0, "response selects a subprotocol that was not offered"}
	// ErrUnexpectedExtension is a 101 naming an extension the client did not
	// offer.
	ErrUnexpectedExtension = &HandshakeError{0, "response selects an extension that was not offered"}
)

// NewKey writes into dst a fresh Sec-WebSocket-Key: RFC 6455 section 4.1 (7),
// "a nonce consisting of a randomly selected 16-byte value that has been
// base64-encoded". The bytes come from random, or from crypto/rand when
// random is nil. The error is random's.
func NewKey(dst *[24]byte, random io.Reader) error {
	var nonce [16]byte
	if random == nil {
		// crypto/rand.Read never fails (Go 1.24 and later).
		_, _ = rand.Read(nonce[:])
	} else if _, err := io.ReadFull(random, nonce[:]); err != nil {
		return err
	}
	base64.StdEncoding.Encode(dst[:], nonce[:])
	return nil
}

// AppendRequest appends to dst the client's opening handshake (RFC 6455
// section 4.1):
//
//	GET requestURI HTTP/1.1
//	Host: host
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Key: key
//	Sec-WebSocket-Version: 13
//
// then "Sec-WebSocket-Protocol" listing protocols in order when there are
// any, "Sec-WebSocket-Extensions: extensions" when extensions is not empty,
// the lines of header in order, and the empty line. An empty requestURI is
// written as "/". CR and LF in the arguments are written as spaces.
func AppendRequest(dst []byte, host, requestURI string, key *[24]byte, protocols []string, header [][2]string, extensions string) []byte {
	dst = append(dst, "GET "...)
	if requestURI == "" {
		requestURI = "/"
	}
	dst = appendSafe(dst, requestURI)
	dst = append(dst, " HTTP/1.1\r\n"...)
	dst = appendField(dst, "Host", host)
	dst = append(dst, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key[:]...)
	dst = append(dst, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if len(protocols) > 0 {
		dst = append(dst, "Sec-WebSocket-Protocol: "...)
		for i, p := range protocols {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendSafe(dst, p)
		}
		dst = append(dst, "\r\n"...)
	}
	if extensions != "" {
		dst = appendField(dst, "Sec-WebSocket-Extensions", extensions)
	}
	dst = appendHeader(dst, header)
	return append(dst, "\r\n"...)
}

// Response is a parsed answer to the opening handshake (RFC 6455 section
// 4.2.2). Like Request, every []byte in it points into the buffer given to
// ParseResponse and is valid only as long as that buffer.
type Response struct {
	// Proto is the HTTP version as sent ("HTTP/1.1"), Status the status code
	// and Reason the reason phrase.
	Proto  []byte
	Status int
	Reason []byte

	// Upgrade, Connection, Accept (Sec-WebSocket-Accept) and Protocol
	// (Sec-WebSocket-Protocol) are the values of the first line of these
	// header fields, nil when absent.
	Upgrade    []byte
	Connection []byte
	Accept     []byte
	Protocol   []byte

	upgradeOK    bool // every Upgrade line is "websocket"
	connectionOK bool // some Connection line lists "upgrade"
	accepts      int  // Sec-WebSocket-Accept lines
	protocols    int  // Sec-WebSocket-Protocol lines
	extensions   lines
	fields
}

// Extensions returns the raw value of each Sec-WebSocket-Extensions line, in
// order (the field "MAY appear multiple times in an HTTP response", RFC 6455
// erratum 3433).
func (r *Response) Extensions() [][]byte { return r.extensions.v[:r.extensions.n] }

func (r *Response) reset() {
	r.Proto, r.Reason = nil, nil
	r.Status = 0
	r.Upgrade, r.Connection, r.Accept, r.Protocol = nil, nil, nil, nil
	r.upgradeOK, r.connectionOK = false, false
	r.accepts, r.protocols = 0, 0
	r.extensions.n, r.fields.n = 0, 0
}

// ParseResponse parses the HTTP/1.1 response header block at the front of b
// into r, with the DefaultMaxHeaderBytes limit. See ParseResponseLimit.
func ParseResponse(b []byte, r *Response) (n int, err error) {
	return ParseResponseLimit(b, r, DefaultMaxHeaderBytes)
}

// ParseResponseLimit parses the response header block at the front of b into
// r, with the conventions of ParseRequestLimit: it returns the length of the
// block (frames may follow it in b), or 0 and a nil error when b does not hold
// the whole block yet, or ErrResponseTooLarge when the block cannot fit in
// limit bytes (0 or less means DefaultMaxHeaderBytes). A malformed block is
// ErrMalformedResponse. It only parses; CheckResponse decides. It does not
// allocate.
func ParseResponseLimit(b []byte, r *Response, limit int) (n int, err error) {
	r.reset()
	if limit <= 0 {
		limit = DefaultMaxHeaderBytes
	}
	w, line, start, ok := firstLine(b, limit)
	if !ok {
		return blockResult(b, limit, nil, ErrResponseTooLarge)
	}
	if !r.parseStatusLine(line) {
		return blockResult(b, limit, ErrMalformedResponse, ErrResponseTooLarge)
	}
	m, err := parseFields(w[start:], &r.fields)
	if m == 0 {
		if err == ErrTooManyHeaders {
			err = ErrResponseTooLarge
		} else if err != nil {
			err = ErrMalformedResponse
		}
		return blockResult(b, limit, err, ErrResponseTooLarge)
	}
	end := start + m
	r.upgradeOK = true
	for i := 0; i < r.n; i++ {
		f := &r.list[i]
		switch len(f.Name) {
		case 7:
			if equalLower(f.Name, "upgrade") {
				if r.Upgrade == nil {
					r.Upgrade = f.Value
				}
				r.upgradeOK = r.upgradeOK && equalFold(f.Value, "websocket")
			}
		case 10:
			if equalLower(f.Name, "connection") {
				if r.Connection == nil {
					r.Connection = f.Value
				}
				r.connectionOK = r.connectionOK || hasToken(f.Value, "upgrade")
			}
		case 20:
			if equalLower(f.Name, "sec-websocket-accept") {
				if r.Accept == nil {
					r.Accept = f.Value
				}
				r.accepts++
			}
		case 22:
			if equalLower(f.Name, "sec-websocket-protocol") {
				if r.Protocol == nil {
					r.Protocol = f.Value
				}
				r.protocols++
			}
		case 24:
			if equalLower(f.Name, "sec-websocket-extensions") && !r.extensions.add(f.Value) {
				return end, ErrResponseTooLarge
			}
		}
	}
	r.upgradeOK = r.upgradeOK && r.Upgrade != nil
	return end, nil
}

// parseStatusLine parses "HTTP-version SP status-code SP reason-phrase" (RFC
// 7230 section 3.1.2); the reason phrase may be empty and its space missing.
func (r *Response) parseStatusLine(line []byte) bool {
	if len(line) < 12 || line[8] != ' ' {
		return false
	}
	var ok bool
	if _, _, ok = parseHTTPVersion(line[:8]); !ok {
		return false
	}
	r.Proto = line[:8]
	code := line[9:12]
	if !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) {
		return false
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	switch {
	case len(line) == 12:
		r.Reason = line[12:]
	case line[12] == ' ':
		r.Reason = line[13:]
	default:
		return false
	}
	for _, c := range r.Reason {
		if charClass[c]&classValue == 0 {
			return false
		}
	}
	return true
}

// CheckResponse applies the client's rules of RFC 6455 section 4.1 to a
// parsed response, for a request sent with key, offering protocols and
// offering extensions (the value of its Sec-WebSocket-Extensions, "" for
// none). It returns the subprotocol the server selected (nil for none; it
// points into the response buffer) or the first rule broken:
//
//   - a status other than 101: a *HandshakeError with that status;
//   - ErrResponseNotUpgrade, ErrResponseNotConnectionUpgrade, ErrBadAccept;
//   - ErrUnexpectedExtension when the response names an extension that
//     offered does not (any extension when offered is "");
//   - ErrUnexpectedProtocol when it names a subprotocol not offered.
//
// Only extension names are compared; whether the parameters the server chose
// are acceptable is for the extension's own negotiation.
func CheckResponse(r *Response, key *[24]byte, protocols []string, extensions string) (protocol []byte, err error) {
	// 4.1 (1): "If the status code received from the server is not 101, the
	// client handles the response per HTTP [RFC2616] procedures."
	if r.Status != 101 {
		return nil, &HandshakeError{r.Status, "server answered " + strconv.Itoa(r.Status) + " " + string(r.Reason) + " instead of 101 Switching Protocols"}
	}
	// 4.1 (2): "If the response lacks an |Upgrade| header field or the
	// |Upgrade| header field contains a value that is not an ASCII
	// case-insensitive match for the value "websocket", the client MUST
	// _Fail the WebSocket Connection_."
	if !r.upgradeOK {
		return nil, ErrResponseNotUpgrade
	}
	// 4.1 (3): "If the response lacks a |Connection| header field or the
	// |Connection| header field doesn't contain a token that is an ASCII
	// case-insensitive match for the value "Upgrade", the client MUST _Fail
	// the WebSocket Connection_."
	if !r.connectionOK {
		return nil, ErrResponseNotConnectionUpgrade
	}
	// 4.1 (4): "If the response lacks a |Sec-WebSocket-Accept| header field
	// or the |Sec-WebSocket-Accept| contains a value other than the
	// base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key|
	// (as a string, not base64-decoded) with the string
	// "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" but ignoring any leading and
	// trailing whitespace, the client MUST _Fail the WebSocket Connection_."
	var want [28]byte
	AcceptKey(&want, key[:])
	if r.accepts != 1 || !bytes.Equal(r.Accept, want[:]) {
		return nil, ErrBadAccept
	}
	// 4.1 (5): "If the response includes a |Sec-WebSocket-Extensions| header
	// field and this header field indicates the use of an extension that was
	// not present in the client's handshake (the server has indicated an
	// extension not requested by the client), the client MUST _Fail the
	// WebSocket Connection_."
	for _, line := range r.Extensions() {
		if !extensionsOffered(line, extensions) {
			return nil, ErrUnexpectedExtension
		}
	}
	// 4.1 (6): "If the response includes a |Sec-WebSocket-Protocol| header
	// field and this header field indicates the use of a subprotocol that was
	// not present in the client's handshake (the server has indicated a
	// subprotocol not requested by the client), the client MUST _Fail the
	// WebSocket Connection_."
	if r.protocols == 0 {
		return nil, nil
	}
	if r.protocols == 1 {
		for _, p := range protocols {
			if p != "" && string(r.Protocol) == p {
				return r.Protocol, nil
			}
		}
	}
	return nil, ErrUnexpectedProtocol
}

// extensionsOffered reports whether every extension named in the response
// value v is named in the offer.
func extensionsOffered(v []byte, offer string) bool {
	for len(v) > 0 {
		var ext []byte
		ext, v = nextExtension(v)
		name := extensionName(ext)
		if len(name) == 0 {
			if len(ext) == 0 {
				continue // empty list element
			}
			return false
		}
		found := false
		for o := []byte(offer); len(o) > 0 && !found; {
			var oe []byte
			oe, o = nextExtension(o)
			found = equalFoldBytes(extensionName(oe), name)
		}
		if !found {
			return false
		}
	}
	return true
}

// nextExtension splits an extension list (RFC 6455 section 9.1) at its first
// comma outside a quoted string.
func nextExtension(b []byte) (ext, rest []byte) { return splitUnquoted(b, ',') }

// splitUnquoted splits b at its first sep outside a quoted string and
// trims the optional white space around the part before it; rest is nil
// when there is no such sep.
func splitUnquoted(b []byte, sep byte) (part, rest []byte) {
	quoted := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			return trimOWS(b[:i]), b[i+1:]
		}
	}
	return trimOWS(b), nil
}

// extensionName returns the extension-token before the first ';' of ext, or
// nil when it is not a token.
func extensionName(ext []byte) []byte {
	if i := bytes.IndexByte(ext, ';'); i >= 0 {
		ext = ext[:i]
	}
	ext = trimOWS(ext)
	if !isToken(ext) {
		return nil
	}
	return ext
}
