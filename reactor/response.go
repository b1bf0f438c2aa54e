package reactor

import (
	"net/http"
	"strconv"
)

// Response is what a Fallback answers: an HTTP status, a content type and a
// body. The reactor adds Content-Length and "Connection: close".
type Response struct {
	Status      int         // HTTP status; 0 means 200
	ContentType string      // Content-Type, if not empty
	Header      [][2]string // further header lines (name, value)
	Body        []byte
}

// plainResponse appends a complete HTTP/1.1 response with a text body
// that closes the connection.
func plainResponse(dst []byte, status int, body string, header [][2]string) []byte {
	return appendResponse(dst, Response{Status: status, ContentType: "text/plain; charset=utf-8", Header: header, Body: []byte(body)})
}

// appendResponse appends r as an HTTP/1.1 response that closes the
// connection.
func appendResponse(dst []byte, r Response) []byte {
	if r.Status == 0 {
		r.Status = 200
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(r.Status)...)
	dst = append(dst, "\r\n"...)
	if r.ContentType != "" {
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, r.ContentType...)
		dst = append(dst, "\r\n"...)
	}
	for _, kv := range r.Header {
		dst = append(dst, kv[0]...)
		dst = append(dst, ": "...)
		dst = append(dst, kv[1]...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(r.Body)), 10)
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	return append(dst, r.Body...)
}
