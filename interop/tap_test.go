package interop

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A tap is a TCP proxy put in front of a WebSocket server: it forwards every
// byte unchanged, both ways, and records what went over the wire, so that a
// test sees what each end really sent: the extensions offered and accepted
// in the handshake and, for each message, whether its first frame had RSV1
// set (permessage-deflate: compressed) and how many payload bytes it took.
// Its frame parser is a few lines of its own, independent of the engine's.
type tap struct {
	ln    net.Listener
	conns chan *tapConn // each connection, once its handshake has been seen
	wg    sync.WaitGroup
}

// tapConn is what the tap saw of one connection.
type tapConn struct {
	offers   []string // the request's Sec-WebSocket-Extensions lines
	status   int      // the response's status code
	accepted []string // the response's Sec-WebSocket-Extensions lines

	c2s, s2c tapDir        // client to server, server to client
	done     chan struct{} // closed when both directions have ended
}

// tapDir is one direction of a tapped connection. Its fields may be read
// once the connection is done.
type tapDir struct {
	msgs   []wireMsg // complete data messages, in order
	faults []string  // frames RFC 6455 and 7692 forbid here
	err    error     // why parsing stopped, when not at a clean EOF
}

// wireMsg is one data message as it went over the wire.
type wireMsg struct {
	op     byte // 1 text, 2 binary
	rsv1   bool // set on the first frame: compressed
	wire   int  // payload bytes of all its frames
	frames int
}

// startTap starts a tap on 127.0.0.1 forwarding to target (host:port) and
// returns it; it is closed on test cleanup, with every connection through
// it.
func startTap(t *testing.T, target string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{ln: ln, conns: make(chan *tapConn, 16)}
	var (
		mu   sync.Mutex
		open []net.Conn
	)
	tp.wg.Add(1)
	go func() {
		defer tp.wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				down.Close()
				continue
			}
			mu.Lock()
			open = append(open, down, up)
			mu.Unlock()
			tc := &tapConn{done: make(chan struct{})}
			tp.wg.Add(1)
			go func() {
				defer tp.wg.Done()
				tc.run(down, up, tp.conns)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		tp.wg.Wait()
	})
	return tp
}

// addr returns the tap's host:port.
func (tp *tap) addr() string { return tp.ln.Addr().String() }

// next returns the next connection through the tap whose handshake was
// seen, or fails the test after timeout.
func (tp *tap) next(t *testing.T, timeout time.Duration) *tapConn {
	t.Helper()
	select {
	case tc := <-tp.conns:
		return tc
	case <-time.After(timeout):
		t.Fatalf("no WebSocket handshake through the tap within %v", timeout)
	}
	return nil
}

// wait waits for both directions of the connection to end, or fails the
// test after timeout.
func (tc *tapConn) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-tc.done:
	case <-time.After(timeout):
		t.Fatalf("the tapped connection did not end within %v", timeout)
	}
}

// run forwards down (the client's side) to up (the server's) and back,
// parsing as it goes, and reports the connection on seen once the response
// head has been parsed (or the connection ended without one).
func (tc *tapConn) run(down, up net.Conn, seen chan<- *tapConn) {
	var reqDone = make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer halfClose(down, up)
		r := bufio.NewReader(io.TeeReader(down, up))
		h, err := readHead(r)
		if err == nil {
			tc.offers = h.Values("Sec-WebSocket-Extensions")
		}
		close(reqDone)
		if err != nil {
			_, _ = io.Copy(io.Discard, r)
			return
		}
		tc.c2s.parse(r)
	}()
	go func() {
		defer wg.Done()
		defer halfClose(up, down)
		r := bufio.NewReader(io.TeeReader(up, down))
		line, h, err := readStatusHead(r)
		<-reqDone // the request's fields are set before anyone reads them
		if err == nil {
			tc.status = statusCode(line)
			tc.accepted = h.Values("Sec-WebSocket-Extensions")
		}
		seen <- tc
		if err != nil || tc.status != 101 {
			_, _ = io.Copy(io.Discard, r)
			return
		}
		tc.s2c.parse(r)
	}()
	wg.Wait()
	down.Close()
	up.Close()
	close(tc.done)
}

// halfClose passes an end of stream on: src has no more to say, so neither
// has the tap to dst. A reset (or any error) closes both.
func halfClose(src, dst net.Conn) {
	if tcp, ok := dst.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
		return
	}
	src.Close()
	dst.Close()
}

func readHead(r *bufio.Reader) (textproto.MIMEHeader, error) {
	tr := textproto.NewReader(r)
	if _, err := tr.ReadLine(); err != nil {
		return nil, err
	}
	return tr.ReadMIMEHeader()
}

func readStatusHead(r *bufio.Reader) (string, textproto.MIMEHeader, error) {
	tr := textproto.NewReader(r)
	line, err := tr.ReadLine()
	if err != nil {
		return "", nil, err
	}
	h, err := tr.ReadMIMEHeader()
	return line, h, err
}

// statusCode reads the code of "HTTP/1.1 101 Switching Protocols".
func statusCode(line string) int {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// parse reads frames until the stream ends, recording the data messages and
// any frame that breaks RFC 7692's rules: RSV1 on a control frame or a
// continuation, RSV2 or RSV3 at all (permessage-deflate defines only RSV1).
func (d *tapDir) parse(r *bufio.Reader) {
	var cur *wireMsg
	var hdr [14]byte
	for {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			if !errors.Is(err, io.EOF) {
				d.err = err
			}
			return
		}
		fin, rsv, op := hdr[0]&0x80 != 0, hdr[0]&0x70, hdr[0]&0x0f
		n := int64(hdr[1] & 0x7f)
		extra := 0
		switch n {
		case 126:
			extra = 2
		case 127:
			extra = 8
		}
		if hdr[1]&0x80 != 0 {
			extra += 4 // the masking key
		}
		if _, err := io.ReadFull(r, hdr[2:2+extra]); err != nil {
			d.err = err
			return
		}
		switch n {
		case 126:
			n = int64(binary.BigEndian.Uint16(hdr[2:4]))
		case 127:
			n = int64(binary.BigEndian.Uint64(hdr[2:10]))
		}
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			d.err = err
			return
		}
		if rsv&0x30 != 0 {
			d.faults = append(d.faults, fmt.Sprintf("opcode %d with RSV2/RSV3 set", op))
		}
		switch {
		case op >= 8:
			if rsv&0x40 != 0 {
				d.faults = append(d.faults, fmt.Sprintf("control frame (opcode %d) with RSV1 set", op))
			}
		case op == 0:
			if rsv&0x40 != 0 {
				d.faults = append(d.faults, "continuation frame with RSV1 set")
			}
			if cur == nil {
				d.faults = append(d.faults, "continuation frame outside a message")
				continue
			}
			cur.wire += int(n)
			cur.frames++
		case op == 1 || op == 2:
			if cur != nil {
				d.faults = append(d.faults, "data frame inside a fragmented message")
			}
			cur = &wireMsg{op: op, rsv1: rsv&0x40 != 0, wire: int(n), frames: 1}
		default:
			d.faults = append(d.faults, fmt.Sprintf("reserved opcode %d", op))
		}
		if fin && op < 8 && cur != nil {
			d.msgs = append(d.msgs, *cur)
			cur = nil
		}
	}
}

// TestTapParse checks the tap's frame parser on frames written by hand.
func TestTapParse(t *testing.T) {
	frame := func(b0 byte, masked bool, n int) []byte {
		var f []byte
		mask := byte(0)
		if masked {
			mask = 0x80
		}
		switch {
		case n < 126:
			f = append(f, b0, mask|byte(n))
		case n < 1<<16:
			f = append(f, b0, mask|126)
			f = binary.BigEndian.AppendUint16(f, uint16(n))
		default:
			f = append(f, b0, mask|127)
			f = binary.BigEndian.AppendUint64(f, uint64(n))
		}
		if masked {
			f = append(f, 1, 2, 3, 4)
		}
		return append(f, make([]byte, n)...)
	}
	var wire []byte
	wire = append(wire, frame(0xC1, true, 5)...)      // compressed text, one frame
	wire = append(wire, frame(0x02, false, 300)...)   // binary, first of three frames
	wire = append(wire, frame(0x89, true, 2)...)      // ping in between
	wire = append(wire, frame(0x00, false, 70000)...) // continuation
	wire = append(wire, frame(0x80, false, 1)...)     // final continuation
	wire = append(wire, frame(0xC9, false, 0)...)     // ping with RSV1: a fault
	wire = append(wire, frame(0xC0, false, 0)...)     // continuation outside a message, RSV1: two faults
	wire = append(wire, frame(0xA2, false, 0)...)     // binary with RSV2: a fault
	var d tapDir
	d.parse(bufio.NewReader(strings.NewReader(string(wire))))
	want := []wireMsg{{op: 1, rsv1: true, wire: 5, frames: 1}, {op: 2, wire: 70301, frames: 3}, {op: 2, wire: 0, frames: 1}}
	if fmt.Sprint(d.msgs) != fmt.Sprint(want) {
		t.Errorf("messages %+v, want %+v", d.msgs, want)
	}
	if len(d.faults) != 4 || d.err != nil {
		t.Errorf("faults %q, err %v; want 4 faults and no error", d.faults, d.err)
	}
}
