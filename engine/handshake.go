package engine

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
)

// DefaultMaxHeaderBytes is the size limit ParseRequest and ParseResponse apply
// to a header block, and the one ServerHandshake applies when its
// MaxHeaderBytes is 0: 8 KiB, counting every byte up to and including the
// empty line that ends the block.
const DefaultMaxHeaderBytes = 8 << 10

// MaxHeaderFields is how many header lines a Request or Response holds. A
// header block with more is refused with ErrTooManyHeaders (431).
const MaxHeaderFields = 64

// maxListLines is how many separate Sec-WebSocket-Protocol lines, and how many
// separate Sec-WebSocket-Extensions lines, a Request or Response keeps apart.
const maxListLines = 8

// websocketGUID is the GUID of RFC 6455 section 1.3 that the accept key hashes
// with the client's key.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Sentinel errors of the server side of the handshake. Each is a
// *HandshakeError carrying the HTTP status the server answers with; compare
// with errors.Is.
var (
	// ErrMalformedRequest is a request line that is not
	// "method SP request-target SP HTTP/d.d".
	ErrMalformedRequest = &HandshakeError{400, "malformed request line"}
	// ErrMalformedHeader is a header line that is not "name: value", has a
	// space before the colon, a name that is not a token, a control byte in
	// its value or a bare CR.
	ErrMalformedHeader = &HandshakeError{400, "malformed header line"}
	// ErrObsFold is a header line continued on the next line (obs-fold).
	ErrObsFold = &HandshakeError{400, "header line folding (obs-fold) is not accepted"}
	// ErrDuplicateHeader is a second Host, Origin, Sec-WebSocket-Key or
	// Sec-WebSocket-Version line.
	ErrDuplicateHeader = &HandshakeError{400, "header field that must appear once appears more than once"}
	// ErrHeaderTooLarge is a header block over the size limit.
	ErrHeaderTooLarge = &HandshakeError{431, "request header block over the size limit"}
	// ErrTooManyHeaders is a header block of more than MaxHeaderFields lines,
	// or of more than 8 Sec-WebSocket-Protocol or Sec-WebSocket-Extensions
	// lines.
	ErrTooManyHeaders = &HandshakeError{431, "too many header fields"}
	// ErrBadMethod is a request whose method is not GET. The answer is 405
	// with "Allow: GET" (RFC 7231 section 6.5.5).
	ErrBadMethod = &HandshakeError{405, "method is not GET"}
	// ErrRequestBody is a request that announces a body: a Content-Length
	// other than 0, or any Transfer-Encoding. An opening handshake has
	// none, and bytes after the header block belong to the WebSocket
	// connection, so a body would be read as frames.
	ErrRequestBody = &HandshakeError{400, "upgrade request with a body"}
	// ErrBadHTTPVersion is a request older than HTTP/1.1.
	ErrBadHTTPVersion = &HandshakeError{400, "HTTP version is not 1.1 or later"}
	// ErrMissingHost is a request without a Host header field.
	ErrMissingHost = &HandshakeError{400, "missing Host header"}
	// ErrNotUpgrade is a request whose Upgrade header does not list
	// "websocket".
	ErrNotUpgrade = &HandshakeError{400, "Upgrade header does not list websocket"}
	// ErrNotConnectionUpgrade is a request whose Connection header does not
	// list "upgrade".
	ErrNotConnectionUpgrade = &HandshakeError{400, "Connection header does not list upgrade"}
	// ErrBadKey is a Sec-WebSocket-Key that is missing or is not the padded
	// standard base64 of 16 bytes.
	ErrBadKey = &HandshakeError{400, "Sec-WebSocket-Key is not the base64 of 16 bytes"}
	// ErrBadVersion is a Sec-WebSocket-Version that is missing or is not 13.
	// The answer is 426 with "Sec-WebSocket-Version: 13".
	ErrBadVersion = &HandshakeError{426, "Sec-WebSocket-Version is not 13"}
	// ErrForbiddenOrigin is an Origin the origin check refused.
	ErrForbiddenOrigin = &HandshakeError{403, "origin not allowed"}
	// ErrRejected is the answer to an Accept or Extensions hook that failed
	// with an error that carries no HTTP status.
	ErrRejected = &HandshakeError{403, "handshake refused by the application"}
)

// HeaderField is one header line: its name as sent (any case) and its value
// with the surrounding spaces and tabs removed. Both point into the buffer the
// header block was parsed from.
type HeaderField struct {
	Name  []byte
	Value []byte
}

// fields is the header storage shared by Request and Response.
type fields struct {
	list [MaxHeaderFields]HeaderField
	n    int
}

// Fields returns every header line in the order received. The slice points
// into the Request or Response and the field values into the parsed buffer.
func (f *fields) Fields() []HeaderField { return f.list[:f.n] }

// Header returns the value of the first header line named name, compared
// ASCII case-insensitively, or nil when there is none. It does not allocate.
func (f *fields) Header(name string) []byte {
	for i := 0; i < f.n; i++ {
		if equalFold(f.list[i].Name, name) {
			return f.list[i].Value
		}
	}
	return nil
}

// Values appends to dst the value of every header line named name (ASCII
// case-insensitively) in the order received, and returns the extended slice.
func (f *fields) Values(name string, dst [][]byte) [][]byte {
	for i := 0; i < f.n; i++ {
		if equalFold(f.list[i].Name, name) {
			dst = append(dst, f.list[i].Value)
		}
	}
	return dst
}

// lines holds up to maxListLines values of one list-valued header field.
type lines struct {
	v [maxListLines][]byte
	n int
}

func (l *lines) add(v []byte) bool {
	if l.n == len(l.v) {
		return false
	}
	l.v[l.n] = v
	l.n++
	return true
}

// Request is a parsed WebSocket opening request (RFC 6455 section 4.2.1).
//
// Every []byte in it is a sub-slice of the buffer given to ParseRequest,
// never a copy: it is valid only as long as that buffer is neither reused nor
// modified. A Request is large (about 4 KiB, for MaxHeaderFields lines):
// reuse one rather than allocating one per connection. The slices its methods
// return point into the Request itself, so they change with the next parse.
type Request struct {
	// Method is the request method, "GET" for a WebSocket handshake.
	Method []byte
	// RequestURI is the request target as sent: usually path and query
	// ("/chat?room=1"), possibly an absolute URI.
	RequestURI []byte
	// Proto is the HTTP version as sent ("HTTP/1.1"); ProtoMajor and
	// ProtoMinor are its numbers.
	Proto      []byte
	ProtoMajor int
	ProtoMinor int

	// Host, Upgrade, Connection, Key (Sec-WebSocket-Key), Version
	// (Sec-WebSocket-Version), Origin and Cookie are the values of these
	// header fields, nil when absent. For Upgrade, Connection and Cookie it
	// is the first line's value; Check looks at every Upgrade and Connection
	// line.
	Host       []byte
	Upgrade    []byte
	Connection []byte
	Key        []byte
	Version    []byte
	Origin     []byte
	Cookie     []byte

	body         bool // a Content-Length other than 0 or a Transfer-Encoding
	upgradeOK    bool // some Upgrade line lists "websocket"
	connectionOK bool // some Connection line lists "upgrade"
	protocols    lines
	extensions   lines
	deflate      Deflate // what ServerHandshake.Handshake agreed
	fields
}

// ProtocolOffers returns the raw value of each Sec-WebSocket-Protocol line,
// in order: comma-separated lists of the subprotocols the client offers, in
// its order of preference. Usually there is one line or none.
func (r *Request) ProtocolOffers() [][]byte { return r.protocols.v[:r.protocols.n] }

// ExtensionOffers returns the raw value of each Sec-WebSocket-Extensions
// line, in order (RFC 6455 section 9.1: the offer "can be split between
// multiple instances" of the field). Usually there is one line or none.
func (r *Request) ExtensionOffers() [][]byte { return r.extensions.v[:r.extensions.n] }

// Deflate returns the permessage-deflate agreement ServerHandshake.Handshake
// made for this request (its Compression field); zero when none.
func (r *Request) Deflate() Deflate { return r.deflate }

func (r *Request) reset() {
	r.Method, r.RequestURI, r.Proto = nil, nil, nil
	r.ProtoMajor, r.ProtoMinor = 0, 0
	r.Host, r.Upgrade, r.Connection, r.Key, r.Version, r.Origin, r.Cookie = nil, nil, nil, nil, nil, nil, nil
	r.upgradeOK, r.connectionOK, r.body = false, false, false
	r.protocols.n, r.extensions.n, r.fields.n = 0, 0, 0
}

// firstLine finds the first line of the header block at the front of b,
// looking only at the first limit bytes (w), after any empty lines: line is
// that line without its line ending, rest the offset in w of what follows
// it. ok is false when w holds no complete line yet.
func firstLine(b []byte, limit int) (w, line []byte, rest int, ok bool) {
	w = b
	if len(w) > limit {
		w = w[:limit]
	}
	start := skipEmptyLines(w)
	i := bytes.IndexByte(w[start:], '\n')
	if i < 0 {
		return w, nil, 0, false
	}
	line = w[start : start+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return w, line, start + i + 1, true
}

// ParseRequest parses the HTTP/1.1 request header block at the front of b
// into r, with the DefaultMaxHeaderBytes limit. See ParseRequestLimit.
func ParseRequest(b []byte, r *Request) (n int, err error) {
	return ParseRequestLimit(b, r, DefaultMaxHeaderBytes)
}

// ParseRequestLimit parses the HTTP/1.1 request header block at the front of
// b into r. It returns the length of the block, the final empty line
// included; what follows it in b is not the handshake's.
//
// When b does not hold the whole block yet it returns 0 and a nil error: read
// more and call again with the longer slice. When the block does not fit in
// limit bytes (0 or less means DefaultMaxHeaderBytes) it returns
// ErrHeaderTooLarge as soon as b is long enough to tell. A malformed block is
// a *HandshakeError with status 400 or 431. A block split anywhere gives, on
// its prefix, either "need more" or the same result as the whole.
//
// ParseRequest only parses; Check applies RFC 6455's rules. It does not
// allocate. What it accepts:
//
//   - Line endings: CRLF, and a bare LF as well (RFC 9112 section 2.2: "a
//     recipient MAY recognize a single LF as a line terminator and ignore any
//     preceding CR"). A CR anywhere else is refused (ErrMalformedHeader or
//     ErrMalformedRequest).
//   - Empty lines before the request line are skipped (RFC 9112 section 2.2:
//     a server "SHOULD ignore at least one empty line (CRLF) received prior
//     to the request-line"); they count towards the limit.
//   - The request line is "method SP request-target SP HTTP/d.d" with single
//     spaces; the target may hold visible ASCII only.
//   - Obsolete line folding (a header line starting with a space or a tab) is
//     refused with ErrObsFold (RFC 9112 section 5.2: a server "MUST either
//     reject the message by sending a 400 (Bad Request)" or replace it).
//   - Whitespace between a field name and its colon is refused (RFC 9112
//     section 5.1: "A server MUST reject, with a response status code of 400
//     (Bad Request), any received request message that contains whitespace
//     between a header field name and colon"); a name must be a token. A value may hold SP, HTAB, visible ASCII
//     and bytes 0x80 and above, and loses its leading and trailing SP and
//     HTAB.
//   - Host, Origin, Sec-WebSocket-Key and Sec-WebSocket-Version may appear
//     once (ErrDuplicateHeader): RFC 9112 section 3.2 for Host, RFC 6455
//     section 11.3 for the others.
//   - At most MaxHeaderFields header lines, and 8 lines each of
//     Sec-WebSocket-Protocol and Sec-WebSocket-Extensions (ErrTooManyHeaders).
func ParseRequestLimit(b []byte, r *Request, limit int) (n int, err error) {
	r.reset()
	if limit <= 0 {
		limit = DefaultMaxHeaderBytes
	}
	// The fast path parses and validates in one pass over the first limit
	// bytes; when it stops early (a syntax error, or the end of the bytes)
	// blockResult decides from where the block ends, so that a block's
	// prefix gives "need more" and the whole block the first error in it.
	w, line, start, ok := firstLine(b, limit)
	if !ok {
		return blockResult(b, limit, nil, ErrHeaderTooLarge)
	}
	if err := r.parseRequestLine(line); err != nil {
		return blockResult(b, limit, err, ErrHeaderTooLarge)
	}
	m, err := parseFields(w[start:], &r.fields)
	if m == 0 {
		return blockResult(b, limit, err, ErrHeaderTooLarge)
	}
	end := start + m
	for i := 0; i < r.n; i++ {
		f := &r.list[i]
		var dup bool
		switch len(f.Name) {
		case 4:
			if equalLower(f.Name, "host") {
				dup = r.Host != nil
				r.Host = f.Value
			}
		case 6:
			if equalLower(f.Name, "origin") {
				dup = r.Origin != nil
				r.Origin = f.Value
			} else if equalLower(f.Name, "cookie") && r.Cookie == nil {
				r.Cookie = f.Value
			}
		case 7:
			if equalLower(f.Name, "upgrade") {
				if r.Upgrade == nil {
					r.Upgrade = f.Value
				}
				r.upgradeOK = r.upgradeOK || hasToken(f.Value, "websocket")
			}
		case 10:
			if equalLower(f.Name, "connection") {
				if r.Connection == nil {
					r.Connection = f.Value
				}
				r.connectionOK = r.connectionOK || hasToken(f.Value, "upgrade")
			}
		case 14:
			if equalLower(f.Name, "content-length") && !allZeros(f.Value) {
				r.body = true
			}
		case 17:
			if equalLower(f.Name, "sec-websocket-key") {
				dup = r.Key != nil
				r.Key = f.Value
			} else if equalLower(f.Name, "transfer-encoding") {
				r.body = true
			}
		case 21:
			if equalLower(f.Name, "sec-websocket-version") {
				dup = r.Version != nil
				r.Version = f.Value
			}
		case 22:
			if equalLower(f.Name, "sec-websocket-protocol") && !r.protocols.add(f.Value) {
				return end, ErrTooManyHeaders
			}
		case 24:
			if equalLower(f.Name, "sec-websocket-extensions") && !r.extensions.add(f.Value) {
				return end, ErrTooManyHeaders
			}
		}
		if dup {
			return end, ErrDuplicateHeader
		}
	}
	return end, nil
}

// blockResult is the result of a parse that stopped before the end of the
// header block, with err (nil when it ran out of bytes): "need more" or
// tooLarge when b does not hold the whole block within limit, else the
// block's length and err.
func blockResult(b []byte, limit int, err error, tooLarge *HandshakeError) (int, error) {
	_, end, e := headerBlock(b, limit, tooLarge)
	if end == 0 {
		return 0, e
	}
	if err == nil {
		// Unreachable: a complete block parses to its end or to an error.
		err = tooLarge
	}
	return end, err
}

// parseRequestLine parses "method SP request-target SP HTTP-version" (RFC
// 7230 section 3.1.1), one space apart.
func (r *Request) parseRequestLine(line []byte) error {
	i := bytes.IndexByte(line, ' ')
	if i <= 0 || !isToken(line[:i]) {
		return ErrMalformedRequest
	}
	r.Method = line[:i]
	line = line[i+1:]
	i = bytes.IndexByte(line, ' ')
	if i <= 0 {
		return ErrMalformedRequest
	}
	for _, c := range line[:i] {
		if c <= ' ' || c >= 0x7F {
			return ErrMalformedRequest
		}
	}
	r.RequestURI = line[:i]
	var ok bool
	r.Proto = line[i+1:]
	r.ProtoMajor, r.ProtoMinor, ok = parseHTTPVersion(r.Proto)
	if !ok {
		return ErrMalformedRequest
	}
	return nil
}

// parseHTTPVersion parses "HTTP/" DIGIT "." DIGIT (RFC 7230 section 2.6).
func parseHTTPVersion(v []byte) (major, minor int, ok bool) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		!isDigit(v[5]) || !isDigit(v[7]) {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// headerBlock finds the header block at the front of b: start is where its
// first line begins, after any empty lines, and end is just past the empty
// line that ends it. end is 0 when b does not hold the whole block yet; err is
// tooLarge instead when the block cannot fit in limit bytes.
func headerBlock(b []byte, limit int, tooLarge *HandshakeError) (start, end int, err error) {
	if limit <= 0 {
		limit = DefaultMaxHeaderBytes
	}
	w := b
	if len(w) > limit {
		w = w[:limit]
	}
	start = skipEmptyLines(w)
	// The block ends at the first LF followed by LF or CRLF.
	for i := start; i < len(w); {
		j := bytes.IndexByte(w[i:], '\n')
		if j < 0 {
			break
		}
		j += i
		if j+1 < len(w) && w[j+1] == '\n' {
			return start, j + 2, nil
		}
		if j+2 < len(w) && w[j+1] == '\r' && w[j+2] == '\n' {
			return start, j + 3, nil
		}
		i = j + 1
	}
	if len(b) >= limit {
		return 0, 0, tooLarge
	}
	return 0, 0, nil
}

// skipEmptyLines returns the length of the empty lines (LF or CRLF) at the
// front of b.
func skipEmptyLines(b []byte) int {
	i := 0
	for i < len(b) {
		if b[i] == '\n' {
			i++
		} else if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i += 2
		} else {
			break
		}
	}
	return i
}

// parseFields parses the header lines at the front of b up to and including
// the empty line that ends them (RFC 7230 section 3.2: header-field =
// field-name ":" OWS field-value OWS), and returns the length parsed. It
// returns 0 and a nil error when b ends first, and 0 and the error at the
// first malformed line; that line may be incomplete.
func parseFields(b []byte, f *fields) (n int, err error) {
	i := 0
	for {
		j := i
		for j < len(b) && charClass[b[j]]&classToken != 0 {
			j++
		}
		if j == len(b) {
			return 0, nil
		}
		if j == i { // not a field: the empty line, or an error
			switch c := b[j]; {
			case c == '\n':
				return j + 1, nil
			case c == '\r' && j+1 == len(b):
				return 0, nil
			case c == '\r' && b[j+1] == '\n':
				return j + 2, nil
			case c == ' ' || c == '\t':
				return 0, ErrObsFold
			}
			return 0, ErrMalformedHeader
		}
		if b[j] != ':' {
			return 0, ErrMalformedHeader
		}
		// The value runs to the first control byte that is not HTAB, which
		// must be the line end.
		k := j + 1
		for {
			k += ctlIndex(b[k:])
			if k == len(b) {
				return 0, nil
			}
			if b[k] != '\t' {
				break
			}
			k++
		}
		next := k + 1
		if b[k] == '\r' {
			if k+1 == len(b) {
				return 0, nil
			}
			if b[k+1] != '\n' {
				return 0, ErrMalformedHeader
			}
			next++
		} else if b[k] != '\n' {
			return 0, ErrMalformedHeader
		}
		if f.n == len(f.list) {
			return 0, ErrTooManyHeaders
		}
		f.list[f.n] = HeaderField{Name: b[i:j], Value: trimOWS(b[j+1 : k])}
		f.n++
		i = next
	}
}

// ctlIndex returns the index of the first control byte of b (below 0x20, or
// 0x7F), or len(b) when there is none. It tests eight bytes at a time: a word
// x holds a byte below 0x20 when (x - 0x2020...) & ^x & 0x8080... is not zero,
// and a 0x7F byte when x ^ 0x7F7F... holds a zero byte; a borrow can only
// flag bytes above a true hit, and the byte loop then finds the first.
func ctlIndex(b []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		y := x ^ (0x7F * ones)
		if ((x-0x20*ones)&^x|(y-ones)&^y)&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == 0x7F {
			return i
		}
	}
	return i
}

// Check applies the rules of RFC 6455 section 4.2.1 to a parsed request, in
// the order below, and returns the first one broken as a sentinel
// *HandshakeError. The origin is not checked here: see SameOrigin and
// ServerHandshake.CheckOrigin.
func (r *Request) Check() error {
	// 4.2.1 (1): "An HTTP/1.1 or higher GET request". A method other than
	// GET is answered 405 Method Not Allowed (RFC 7231 section 6.5.5).
	if string(r.Method) != "GET" {
		return ErrBadMethod
	}
	if r.ProtoMajor < 1 || r.ProtoMajor == 1 && r.ProtoMinor < 1 {
		return ErrBadHTTPVersion
	}
	// 4.2.1 (1) asks for a GET, which has no body here: RFC 9112 section
	// 6.3 makes a Content-Length or a Transfer-Encoding announce one, and
	// its bytes would be taken for the connection's first frames.
	if r.body {
		return ErrRequestBody
	}
	// 4.2.1 (2): "A |Host| header field containing the server's authority."
	if len(r.Host) == 0 {
		return ErrMissingHost
	}
	// 4.2.1 (3): "An |Upgrade| header field containing the value
	// "websocket", treated as an ASCII case-insensitive value."
	if !r.upgradeOK {
		return ErrNotUpgrade
	}
	// 4.2.1 (4): "A |Connection| header field that includes the token
	// "Upgrade", treated as an ASCII case-insensitive value."
	if !r.connectionOK {
		return ErrNotConnectionUpgrade
	}
	// 4.2.1 (6): "A |Sec-WebSocket-Version| header field, with a value of
	// 13." 4.2.2: otherwise the server "MUST abort the WebSocket handshake
	// ... and instead send an appropriate HTTP error code (such as 426
	// Upgrade Required) and a |Sec-WebSocket-Version| header field". Checked
	// before the key so that a client of an older draft learns the version.
	if string(r.Version) != "13" {
		return ErrBadVersion
	}
	// 4.2.1 (5): "A |Sec-WebSocket-Key| header field with a base64-encoded
	// (see Section 4 of [RFC4648]) value that, when decoded, is 16 bytes in
	// length."
	if !validKey(r.Key) {
		return ErrBadKey
	}
	return nil
}

// allZeros reports whether v is one or more '0' digits: a Content-Length
// that announces no body.
func allZeros(v []byte) bool {
	for _, c := range v {
		if c != '0' {
			return false
		}
	}
	return len(v) > 0
}

// validKey reports whether key is padded standard base64 of 16 bytes.
func validKey(key []byte) bool {
	if len(key) != 24 {
		return false
	}
	var raw [18]byte
	n, err := base64.StdEncoding.Decode(raw[:], key)
	return err == nil && n == 16
}

// SameOrigin reports whether the request passes the default origin check: it
// has no Origin header (not a browser), or the host and port of its Origin
// (the part after "scheme://") equal its Host header, ASCII
// case-insensitively. RFC 6455 section 4.2.2 (4): the server "MAY use" the
// origin and, if it does not accept it, "SHOULD respond to the client's
// handshake with an appropriate HTTP error code (such as 403 Forbidden)".
// Ports are compared as written: "https://example.com" does not match
// "Host: example.com:443".
func (r *Request) SameOrigin() bool {
	if r.Origin == nil {
		return true
	}
	i := bytes.Index(r.Origin, []byte("://"))
	if i < 0 {
		return false // "null" and other opaque origins
	}
	host := r.Origin[i+3:]
	if j := bytes.IndexByte(host, '/'); j >= 0 {
		host = host[:j]
	}
	return len(host) > 0 && equalFoldBytes(host, r.Host)
}

// AcceptKey writes into dst the Sec-WebSocket-Accept value for the client's
// Sec-WebSocket-Key key: RFC 6455 section 4.2.2 (5.4), "the base64-encoded
// (see Section 4 of [RFC4648]) SHA-1 of the concatenation of the
// |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string
// "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"". It does not allocate for a key of
// up to 64 bytes.
func AcceptKey(dst *[28]byte, key []byte) {
	var buf [64 + len(websocketGUID)]byte
	var in []byte
	if len(key) <= 64 {
		in = append(buf[:0], key...)
	} else {
		in = append(make([]byte, 0, len(key)+len(websocketGUID)), key...)
	}
	in = append(in, websocketGUID...)
	sum := sha1.Sum(in)
	base64.StdEncoding.Encode(dst[:], sum[:])
}

// AppendAccept appends to dst the 101 response accepting a request whose
// Sec-WebSocket-Key is key (RFC 6455 section 4.2.2 (5)):
//
//	HTTP/1.1 101 Switching Protocols
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Accept: <AcceptKey(key)>
//
// then "Sec-WebSocket-Protocol: protocol" when protocol is not empty,
// "Sec-WebSocket-Extensions: extensions" when extensions is not empty, the
// header lines of header in order, and the empty line. CR and LF in the
// header names and values are written as spaces so that they cannot start a
// line of their own.
func AppendAccept(dst, key, protocol, extensions []byte, header [][2]string) []byte {
	var accept [28]byte
	AcceptKey(&accept, key)
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = append(dst, accept[:]...)
	dst = append(dst, "\r\n"...)
	if len(protocol) > 0 {
		dst = appendField(dst, "Sec-WebSocket-Protocol", protocol)
	}
	if len(extensions) > 0 {
		dst = appendField(dst, "Sec-WebSocket-Extensions", extensions)
	}
	dst = appendHeader(dst, header)
	return append(dst, "\r\n"...)
}

// AppendReject appends to dst a response refusing the handshake with status:
// the status line, "Connection: close", a plain-text Content-Type, the
// Content-Length of body, the lines of header in order, the empty line, and
// body. For 405 it adds "Allow: GET" (RFC 7231 section 6.5.5: a 405 "MUST
// generate an Allow header field"); for 426 it adds "Upgrade: websocket" and
// "Sec-WebSocket-Version: 13" (RFC 6455 section 4.2.2 and RFC 7231 section
// 6.5.15), and "Connection: Upgrade, close". CR and LF in header are written
// as spaces.
func AppendReject(dst []byte, status int, header [][2]string, body string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	switch status {
	case 405:
		dst = append(dst, "\r\nConnection: close\r\nAllow: GET"...)
	case 426:
		dst = append(dst, "\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13"...)
	default:
		dst = append(dst, "\r\nConnection: close"...)
	}
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	dst = appendHeader(dst, header)
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// statusText is the reason phrase for the statuses a handshake may end with.
func statusText(status int) string {
	switch status {
	case 101:
		return "Switching Protocols"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 426:
		return "Upgrade Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable"
	}
	return "Status"
}

// appendField appends "name: value\r\n", with CR and LF of value as spaces.
func appendField[S string | []byte](dst []byte, name string, value S) []byte {
	dst = appendSafe(dst, name)
	dst = append(dst, ": "...)
	dst = appendSafe(dst, value)
	return append(dst, "\r\n"...)
}

func appendHeader(dst []byte, header [][2]string) []byte {
	for _, h := range header {
		dst = appendField(dst, h[0], h[1])
	}
	return dst
}

// appendSafe appends s with every CR and LF replaced by a space.
func appendSafe[S string | []byte](dst []byte, s S) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i := n; i < len(dst); i++ {
		if dst[i] == '\r' || dst[i] == '\n' {
			dst[i] = ' '
		}
	}
	return dst
}

// ServerHandshake is the server's side of the opening handshake in one call:
// parse, check, negotiate, answer. Its zero value accepts any valid
// same-origin request with no subprotocol and no extension.
type ServerHandshake struct {
	// Protocols are the subprotocols the server speaks, in its order of
	// preference. The server picks the first of them that the client
	// offered (compared case-sensitively, RFC 6455 section 4.2.2 (5.4): "the
	// server selects one or none of the acceptable protocols"); when none
	// was offered, the response has no Sec-WebSocket-Protocol.
	Protocols []string

	// CheckOrigin decides whether the request's origin is allowed; nil
	// means (*Request).SameOrigin. A false answer refuses the handshake with
	// ErrForbiddenOrigin (403).
	CheckOrigin func(r *Request) bool

	// Extensions, when set, is called with the raw value of each
	// Sec-WebSocket-Extensions line of a request that offers extensions.
	// A non-empty response becomes the Sec-WebSocket-Extensions of the 101
	// response; an error refuses the handshake, with the error's HTTP
	// status or else 400. Nil declines every extension: the response has no
	// Sec-WebSocket-Extensions (RFC 6455 section 9.1 lets the server accept
	// none of those offered).
	Extensions func(offers [][]byte) (response []byte, err error)

	// Compression, when set (and Extensions is nil), negotiates
	// permessage-deflate (RFC 7692) with Compression.Negotiate: the
	// agreement is left in the Request (Request.Deflate) for the driver to
	// put in the connection's Config. Nil, the default, declines
	// compression. A driver whose Config.Stream is set leaves it nil.
	//
	// Cost (details on Compression): without context takeover a
	// connection keeps no compression state, and the codecs borrowed per
	// message (0.8 MiB per compressor at level 1, about 40 KiB per
	// decompressor) number those in use at once, about one per event loop
	// or goroutine writing; with ContextTakeover each connection keeps its
	// two windows, 2^bits bytes each (12 KiB at 13/12 bits). CPU: about
	// 10 µs per 1 KiB message and 40 to 90 µs per 16 KiB JSON message
	// (inflate and compress the echo, level 1), against well under a
	// microsecond of protocol work without compression.
	Compression *Compression

	// Accept, when set, is the application's say on a request that passed
	// every other check (path, authentication, cookies, ...). A nil error
	// accepts, and the header lines it returns go into the 101 response
	// (Set-Cookie, for instance). An error refuses the handshake with the
	// error's HTTP status, or 403 when it carries none, and the header lines
	// it returns go into the refusal (WWW-Authenticate, Location, ...).
	Accept func(r *Request) (header [][2]string, err error)

	// MaxHeaderBytes is the size limit of the request header block;
	// 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
}

// Handshake parses the request at the front of b into r, checks it and
// appends the answer to dst.
//
// When b does not hold the whole request yet, it returns dst unchanged, n == 0
// and a nil error: read more and call again. Otherwise n is the length of the
// request; bytes after it belong to the connection.
//
// On success resp is dst with the 101 response appended and protocol is the
// subprotocol chosen (nil for none; it points into b). On failure err says why
// (a *HandshakeError, or what the Accept hook returned) and resp is dst with
// the refusal appended: send it and close the connection.
//
// The checks run in this order: syntax and size (ParseRequest), the rules of
// RFC 6455 section 4.2.1 (Check), the origin (CheckOrigin), the application
// (Accept), the extensions (Extensions), then the subprotocol is chosen.
//
// With no hooks set and an accepted request it does not allocate beyond
// growing dst.
func (s *ServerHandshake) Handshake(dst, b []byte, r *Request) (resp []byte, n int, protocol []byte, err error) {
	n, err = ParseRequestLimit(b, r, s.MaxHeaderBytes)
	if err != nil {
		return rejectWith(dst, err, nil), n, nil, err
	}
	if n == 0 {
		return dst, 0, nil, nil
	}
	if err = r.Check(); err != nil {
		return rejectWith(dst, err, nil), n, nil, err
	}
	allowed := false
	if s.CheckOrigin != nil {
		allowed = s.CheckOrigin(r)
	} else {
		allowed = r.SameOrigin()
	}
	if !allowed {
		return rejectWith(dst, ErrForbiddenOrigin, nil), n, nil, ErrForbiddenOrigin
	}
	var header [][2]string
	if s.Accept != nil {
		header, err = s.Accept(r)
		if err != nil {
			return rejectWith(dst, err, header), n, nil, err
		}
	}
	var ext []byte
	var extBuf [160]byte
	r.deflate = Deflate{}
	switch {
	case s.Extensions == nil && s.Compression != nil && r.extensions.n > 0:
		ext, r.deflate, _ = s.Compression.Negotiate(extBuf[:0], r.ExtensionOffers())
	case s.Extensions != nil && r.extensions.n > 0:
		ext, err = s.Extensions(r.ExtensionOffers())
		if err != nil {
			if HTTPStatus(err) == 0 {
				return AppendReject(dst, 400, nil, "extension offer refused\n"), n, nil, err
			}
			return rejectWith(dst, err, nil), n, nil, err
		}
	}
	protocol = SelectProtocol(s.Protocols, r.ProtocolOffers())
	return AppendAccept(dst, r.Key, protocol, ext, header), n, protocol, nil
}

// rejectWith appends the refusal for err: its HTTP status (403 when it has
// none) and, as the body, the message of the *HandshakeError it is or wraps.
// The text of any other error stays on the server: the body is then
// ErrRejected's message.
func rejectWith(dst []byte, err error, header [][2]string) []byte {
	msg := ErrRejected.Msg
	status := ErrRejected.Status
	var he *HandshakeError
	if errors.As(err, &he) && he.Status != 0 {
		msg, status = he.Msg, he.Status
	}
	return AppendReject(dst, status, header, msg+"\n")
}

// SelectProtocol returns the first of the server's protocols, in order, that
// appears in the client's offers (the raw values of its Sec-WebSocket-Protocol
// lines, comma-separated lists), or nil when there is none. Protocols compare
// case-sensitively; the result points into offers.
func SelectProtocol(server []string, offers [][]byte) []byte {
	for _, p := range server {
		for _, line := range offers {
			for rest := line; len(rest) > 0; {
				var tok []byte
				tok, rest = nextListElement(rest)
				if len(tok) > 0 && string(tok) == p {
					return tok
				}
			}
		}
	}
	return nil
}

// nextListElement splits a comma-separated list (RFC 7230 section 7) at its
// first comma, returning the first element with its surrounding spaces and
// tabs removed. Empty elements come back empty.
func nextListElement(b []byte) (elem, rest []byte) {
	if i := bytes.IndexByte(b, ','); i >= 0 {
		elem, rest = b[:i], b[i+1:]
	} else {
		elem = b
	}
	return trimOWS(elem), rest
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// hasToken reports whether the comma-separated list v holds token,
// compared ASCII case-insensitively.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var e []byte
		e, v = nextListElement(v)
		if equalFold(e, token) {
			return true
		}
	}
	return false
}

// Character classes of RFC 7230 section 3.2.6.
const (
	classToken = 1 << iota // tchar
	classValue             // field-vchar, SP or HTAB
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c == ' ' || c == '\t' || c > ' ' && c != 0x7F {
			t[c] |= classValue
		}
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t[c] |= classToken
	}
	return t
}()

func isToken(b []byte) bool {
	for _, c := range b {
		if charClass[c]&classToken == 0 {
			return false
		}
	}
	return len(b) > 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalLower reports whether the token b equals s, ASCII case-insensitively,
// for s of lower-case letters, digits and '-'. Setting bit 0x20 lower-cases a
// letter and leaves digits and '-' alone; the only other byte it maps onto
// one of them is CR (onto '-'), which is not in a token.
func equalLower(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// equalFold reports whether b equals s, ASCII case-insensitively.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
