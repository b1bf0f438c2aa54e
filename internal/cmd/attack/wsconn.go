package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// WebSocket opcodes.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// maxFrame bounds what the client accepts in one frame from the server.
const maxFrame = 64 << 20

// target is a parsed ws:// URL on a loopback address.
type target struct {
	addr string // host:port
	host string // Host header
	path string
	ext  string // Sec-WebSocket-Extensions offered ("": none); the server must accept it
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, err
	}
	if u.Scheme != "ws" {
		return target{}, fmt.Errorf("url %q: only ws:// is supported", raw)
	}
	host := u.Hostname()
	ips, err := net.LookupIP(host)
	if err != nil {
		return target{}, err
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return target{}, fmt.Errorf("url %q: %s is not a loopback address; this tool attacks loopback only", raw, ip)
		}
	}
	if u.Port() == "" {
		return target{}, fmt.Errorf("url %q: no port", raw)
	}
	p := u.RequestURI()
	if p == "" {
		p = "/"
	}
	return target{addr: u.Host, host: u.Host, path: p}, nil
}

// wsConn is a client connection after a successful handshake.
type wsConn struct {
	net.Conn
	r *bufio.Reader
}

// dial connects and completes the opening handshake within timeout.
// rcvbuf > 0 sets SO_RCVBUF before the connection is made.
func dial(t target, rcvbuf int, timeout time.Duration) (*wsConn, error) {
	d := net.Dialer{Timeout: timeout}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error { return setRcvBuf(c, rcvbuf) }
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	req := "GET " + t.path + " HTTP/1.1\r\n" +
		"Host: " + t.host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + k + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Origin: http://" + t.host + "\r\n"
	if t.ext != "" {
		req += "Sec-WebSocket-Extensions: " + t.ext + "\r\n"
	}
	req += "\r\n"
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	status, err := br.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "101" {
		c.Close()
		return nil, fmt.Errorf("handshake: %q", strings.TrimSpace(status))
	}
	h := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	want := base64.StdEncoding.EncodeToString(h[:])
	accepted, extOK := false, t.ext == ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("handshake: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(strings.TrimSpace(name), "Sec-WebSocket-Accept") && strings.TrimSpace(value) == want {
			accepted = true
		}
		if strings.EqualFold(strings.TrimSpace(name), "Sec-WebSocket-Extensions") && strings.HasPrefix(strings.TrimSpace(value), "permessage-deflate") {
			extOK = true
		}
	}
	if !accepted {
		c.Close()
		return nil, errors.New("handshake: bad or missing Sec-WebSocket-Accept")
	}
	if !extOK {
		c.Close()
		return nil, errors.New("handshake: the server declined " + t.ext + " (start it with -deflate)")
	}
	_ = c.SetDeadline(time.Time{})
	return &wsConn{Conn: c, r: br}, nil
}

// frame encodes one masked client frame (fin set) with the given mask key.
func frame(op byte, payload []byte, key [4]byte) []byte {
	n := len(payload)
	b := make([]byte, 0, n+14)
	b = append(b, 0x80|op)
	switch {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range n {
		b[start+i] ^= key[i&3]
	}
	return b
}

// maskKey returns a random non-zero mask key.
func maskKey() [4]byte {
	var k [4]byte
	for k == [4]byte{} {
		_, _ = rand.Read(k[:])
	}
	return k
}

// closeFrame is a masked close frame with status 1000.
func closeFrame() []byte { return frame(opClose, []byte{0x03, 0xE8}, maskKey()) }

// header is a frame header from the server.
type header struct {
	fin bool
	op  byte
	n   int64
}

func (c *wsConn) readHeader() (header, error) {
	var b [8]byte
	if _, err := io.ReadFull(c.r, b[:2]); err != nil {
		return header{}, err
	}
	h := header{fin: b[0]&0x80 != 0, op: b[0] & 0x0F, n: int64(b[1] & 0x7F)}
	if b[1]&0x80 != 0 {
		return h, errors.New("server frame is masked")
	}
	switch h.n {
	case 126:
		if _, err := io.ReadFull(c.r, b[:2]); err != nil {
			return h, err
		}
		h.n = int64(binary.BigEndian.Uint16(b[:2]))
	case 127:
		if _, err := io.ReadFull(c.r, b[:8]); err != nil {
			return h, err
		}
		h.n = int64(binary.BigEndian.Uint64(b[:8]))
	}
	if h.n > maxFrame {
		return h, fmt.Errorf("server frame of %d bytes", h.n)
	}
	return h, nil
}

// message is what readMessage returns: a data message or a control frame.
type message struct {
	op   byte
	data []byte // data messages when kept, control payloads always
	n    int64  // length of the payload
	code int    // close frames: the status code, 1005 when there is none
}

// readMessage reads the next data message (its fragments assembled) or
// control frame. With keep false the payloads of data messages are
// discarded (only their length is returned); buf is reused for them
// otherwise.
func (c *wsConn) readMessage(buf []byte, keep bool) (message, error) {
	var m message
	buf = buf[:0]
	for {
		h, err := c.readHeader()
		if err != nil {
			return m, err
		}
		if h.op >= opClose {
			p := make([]byte, h.n)
			if _, err := io.ReadFull(c.r, p); err != nil {
				return m, err
			}
			cm := message{op: h.op, data: p, n: h.n}
			if h.op == opClose {
				cm.code = 1005
				if len(p) >= 2 {
					cm.code = int(binary.BigEndian.Uint16(p))
				}
			}
			return cm, nil
		}
		if h.op != opCont {
			m.op = h.op
		}
		if keep {
			start := len(buf)
			buf = slices.Grow(buf, int(h.n))[:start+int(h.n)]
			if _, err := io.ReadFull(c.r, buf[start:]); err != nil {
				return m, err
			}
		} else if _, err := io.CopyN(io.Discard, c.r, h.n); err != nil {
			return m, err
		}
		m.n += h.n
		if h.fin {
			m.data = buf
			return m, nil
		}
	}
}

// kind names how an I/O error ended a connection.
func kind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "RST"
	case errors.Is(err, syscall.EPIPE):
		return "EPIPE"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	s := err.Error()
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// ending is how one peer's connection ended as seen by its reader: the
// close code received (0 for none) and what the read that followed
// returned.
type ending struct {
	code int
	how  string
	at   time.Time
}

func (e ending) String() string {
	switch {
	case e.code != 0 && e.how != "":
		return fmt.Sprintf("close %d, then %s", e.code, e.how)
	case e.code != 0:
		return fmt.Sprintf("close %d", e.code)
	case e.how == "":
		return "still open"
	}
	return e.how
}

// drain reads from c until the server's close frame and the end of the
// stream, or until the deadline; data messages and pongs are discarded.
// With reply it answers a close frame with one (as a client should; not
// while another goroutine may be writing). It returns how the connection
// ended; how is empty when the deadline came first or c was closed here.
func drain(c *wsConn, deadline time.Time, reply bool) ending {
	var e ending
	_ = c.SetReadDeadline(deadline)
	for {
		m, err := c.readMessage(nil, false)
		if err != nil {
			if k := kind(err); k != "timeout" && k != "closed" {
				e.how = k
				if e.at.IsZero() {
					e.at = time.Now()
				}
			}
			return e
		}
		if m.op == opClose && e.code == 0 {
			e.code = m.code
			e.at = time.Now()
			if reply {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = c.Write(closeFrame())
			}
		}
	}
}

// goEach runs f for every connection of conns that was dialled, each on
// a goroutine of its own counted in wg.
func goEach(wg *sync.WaitGroup, conns []*wsConn, f func(i int, c *wsConn)) {
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, c)
		}()
	}
}
