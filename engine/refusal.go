package engine

import (
	"bytes"
	"net"
	"strconv"
	"time"
	stdutf8 "unicode/utf8"
)

// RefusedError is Dial's error when the server answered the opening
// handshake with a status other than 101: the *HandshakeError (its
// status) and the explanation the server gave in the body, if it was
// short. It matches, with errors.Is, the server's sentinel with that
// status and that explanation: a Tachyon server's refusal of a foreign
// origin is errors.Is(err, ErrForbiddenOrigin) on the client, as on the
// server. errors.As finds the *HandshakeError; HTTPStatus reads it.
type RefusedError struct {
	*HandshakeError
	Body string // the body, trimmed; "" when there was none or it was long
}

func (e *RefusedError) Error() string {
	if e.Body == "" {
		return e.HandshakeError.Error()
	}
	return e.HandshakeError.Error() + ": " + strconv.Quote(e.Body)
}

// Unwrap returns the *HandshakeError.
func (e *RefusedError) Unwrap() error { return e.HandshakeError }

// Is reports whether target is a *HandshakeError with the status and the
// message of this refusal (the message is what a server sends as the body).
func (e *RefusedError) Is(target error) bool {
	t, ok := target.(*HandshakeError)
	return ok && t.Status == e.Status && e.Body != "" && t.Msg == e.Body
}

// maxRefusalBody is the longest body read as a refusal's explanation.
const maxRefusalBody = 512

// refusal wraps the error of a refused handshake with the body that came
// with it: rest holds the bytes read after the response's header block;
// when it is empty, one more read is tried, bounded by a short deadline.
func refusal(conn net.Conn, he *HandshakeError, rest []byte) error {
	body := rest
	if len(body) == 0 {
		var buf [maxRefusalBody]byte
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := conn.Read(buf[:])
		body = buf[:n]
	}
	body = bytes.TrimSpace(body)
	if len(body) > maxRefusalBody || !stdutf8.Valid(body) {
		body = nil
	}
	return &RefusedError{HandshakeError: he, Body: string(body)}
}
