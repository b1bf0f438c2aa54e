package engine

import (
	"errors"
	"net/http"
	"strconv"
)

// Upgrader turns a net/http request into a WebSocket connection, for any
// net/http server and router (http.ServeMux and the common ones alike): it
// runs the same handshake checks as the event-loop server (ServerHandshake),
// hijacks the connection and hands it to a NetConn. The zero value accepts
// same-origin requests with no subprotocol and default limits.
type Upgrader struct {
	// Handshake holds the checks and negotiation: subprotocols, the origin
	// check (same-origin by default), the extension hook and the
	// application's Accept hook.
	Handshake ServerHandshake
	// Config holds the connection's limits.
	Config Config
}

// Upgrade answers the request. When the handshake is refused it writes the
// HTTP error (400, 403, 405, 426 with Sec-WebSocket-Version: 13, ...) through
// w and returns the *HandshakeError; the caller just returns. On success it
// hijacks the connection, writes the 101 response and returns the NetConn,
// ready for Serve (typically called right away, on the handler's goroutine).
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, h Handler) (*NetConn, error) {
	// The request as it came on the wire, for the one parser and checker the
	// reactor uses too. Its size is bounded by the server's MaxHeaderBytes;
	// this copy happens once per connection.
	raw := make([]byte, 0, 512)
	raw = append(raw, r.Method...)
	raw = append(raw, ' ')
	raw = append(raw, r.RequestURI...)
	raw = append(raw, " HTTP/"...)
	raw = strconv.AppendInt(raw, int64(r.ProtoMajor), 10)
	raw = append(raw, '.')
	raw = strconv.AppendInt(raw, int64(r.ProtoMinor), 10)
	raw = append(raw, "\r\nHost: "...)
	raw = append(raw, r.Host...)
	raw = append(raw, "\r\n"...)
	for name, values := range r.Header {
		for _, v := range values {
			raw = append(raw, name...)
			raw = append(raw, ": "...)
			raw = append(raw, v...)
			raw = append(raw, "\r\n"...)
		}
	}
	raw = append(raw, "\r\n"...)

	hs := u.Handshake
	if hs.MaxHeaderBytes < len(raw) {
		hs.MaxHeaderBytes = len(raw) // net/http has already applied its own limit
	}
	var req Request
	resp, n, protocol, err := hs.Handshake(nil, raw, &req)
	if err == nil && n == 0 {
		err = &HandshakeError{Status: http.StatusBadRequest, Msg: "incomplete request"}
	}
	if err != nil {
		status := HTTPStatus(err)
		if status == 0 {
			status = http.StatusForbidden
		}
		switch status {
		case http.StatusUpgradeRequired:
			w.Header().Set("Sec-WebSocket-Version", "13")
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", "GET") // RFC 9110 section 15.5.6: a 405 MUST list the allowed methods
		}
		msg := http.StatusText(status)
		var he *HandshakeError
		if errors.As(err, &he) {
			msg = he.Msg
		}
		http.Error(w, msg, status)
		return nil, err
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket: connection cannot be hijacked", http.StatusInternalServerError)
		return nil, errors.New("engine: Upgrade: the ResponseWriter does not implement http.Hijacker")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	// Bytes the client sent after its request and net/http already read.
	var leftover []byte
	if k := brw.Reader.Buffered(); k > 0 {
		leftover, _ = brw.Reader.Peek(k)
	}
	if _, err := conn.Write(resp); err != nil {
		conn.Close()
		return nil, err
	}
	return newNetConn(conn, RoleServer, h, u.Config, string(protocol), leftover), nil
}
