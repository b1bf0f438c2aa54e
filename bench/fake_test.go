package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// loopConn is a net.Conn with no socket behind it: Read serves src again and
// again (frames frames of it at most when limited, then io.EOF), Write drops
// what it is given. It lets the libraries that only work on a net.Conn
// decode and encode in a benchmark loop, paying a copy per read as a socket
// would and no system call.
type loopConn struct {
	src   []byte
	off   int
	left  int // frames still to serve; < 0: no limit
	wrote int
}

func newLoopConn(src []byte, frames int) *loopConn { return &loopConn{src: src, left: frames} }

func (c *loopConn) Read(p []byte) (int, error) {
	if c.off == 0 && c.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.src[c.off:])
	c.off += n
	if c.off == len(c.src) {
		c.off = 0
		if c.left > 0 {
			c.left--
		}
	}
	return n, nil
}

func (c *loopConn) Write(p []byte) (int, error)      { c.wrote += len(p); return len(p), nil }
func (c *loopConn) Close() error                     { return nil }
func (c *loopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *loopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *loopConn) SetDeadline(time.Time) error      { return nil }
func (c *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(time.Time) error { return nil }
func (c *loopConn) reset(src []byte, frames int)     { c.src, c.off, c.left = src, 0, frames }
func (c *loopConn) String() string                   { return "loopConn" }

// hijacker is an http.ResponseWriter whose Hijack hands out conn: the
// net/http upgrade paths of gorilla and coder run on it without a server.
type hijacker struct {
	h    http.Header
	conn net.Conn
	resp bytes.Buffer
}

func (w *hijacker) Header() http.Header         { return w.h }
func (w *hijacker) Write(p []byte) (int, error) { return w.resp.Write(p) }
func (w *hijacker) WriteHeader(int)             {}
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.conn == nil {
		return nil, nil, errors.New("no conn")
	}
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

// upgradeRequest is the request every handshake benchmark parses: what
// Chromium sends, less the cookies.
const upgradeRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com:8080\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: http://server.example.com:8080\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"\r\n"
