package conformance

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"time"
	"unicode/utf8"
)

// The wire format of RFC 6455 section 5.2, written out here rather than taken
// from the engine: the suite must not share code with what it checks.

// Opcodes (section 5.2, registry in section 11.8).
const (
	opCont   byte = 0x0
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPing   byte = 0x9
	opPong   byte = 0xA
)

// Reserved bits as they sit in the frame's first byte, shifted down by 4.
const (
	rsv1 byte = 4
	rsv2 byte = 2
	rsv3 byte = 1
)

// maxReadPayload bounds the payload the suite accepts in one frame from the
// peer, so that a broken length cannot make it allocate without end.
const maxReadPayload = 64 << 20

func opName(op byte) string {
	switch op {
	case opCont:
		return "continuation"
	case opText:
		return "text"
	case opBinary:
		return "binary"
	case opClose:
		return "close"
	case opPing:
		return "ping"
	case opPong:
		return "pong"
	}
	return fmt.Sprintf("opcode %d", op)
}

// frame is one frame to send or as received.
type frame struct {
	fin     bool
	rsv     byte // RSV1..RSV3 as rsv1|rsv2|rsv3
	op      byte
	payload []byte

	// flipMask sends the frame with the masking its direction forbids:
	// masked from a server, unmasked from a client.
	flipMask bool
	// length, when not zero, replaces the length announced in the
	// header (the payload is sent as it is).
	length uint64

	masked bool    // as received
	key    [4]byte // as received
}

func msg(op byte, p []byte) frame               { return frame{fin: true, op: op, payload: p} }
func textMsg(s string) frame                    { return msg(opText, []byte(s)) }
func frag(op byte, p []byte, fin bool) frame    { return frame{fin: fin, op: op, payload: p} }
func withRsv(f frame, rsv byte) frame           { f.rsv = rsv; return f }
func closeMsg(code uint16, reason string) frame { return msg(opClose, closePayload(code, reason)) }
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// appendFrame encodes f, masked with a fresh random key when mask is set.
func appendFrame(dst []byte, f frame, mask bool) []byte {
	if f.flipMask {
		mask = !mask
	}
	b0 := f.op&0x0F | (f.rsv&7)<<4
	if f.fin {
		b0 |= 0x80
	}
	var b1 byte
	if mask {
		b1 = 0x80
	}
	n := uint64(len(f.payload))
	if f.length != 0 {
		n = f.length
	}
	switch {
	case n <= 125:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, n)
	}
	if !mask {
		return append(dst, f.payload...)
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, f.payload...)
	maskBytes(dst[start:], key)
	return dst
}

// maskBytes XORs b with key (section 5.3), from the key's first byte. Eight
// bytes at a time: the suite masks 16 MiB messages under the race detector.
func maskBytes(b []byte, key [4]byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:]))
	k |= k << 32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}

// validCloseCode reports whether a close frame may carry code (section 7.4:
// 1000-1003 and 1007-1011 defined by the RFC, 1012-1014 registered since,
// 3000-4999 for libraries and applications).
func validCloseCode(code uint16) bool {
	return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
}

// isTimeout tells a read that hit its deadline from a connection that ended.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// wire is this end of a connection to the peer under test: a raw client
// talking to a server target, or the fake server talking to the engine's
// client. Its methods end the case with a fail when the peer misbehaves.
type wire struct {
	x      *caseCtx
	conn   net.Conn
	br     *bufio.Reader
	client bool   // this end is the client: it masks, the peer must not
	peer   string // "server" or "client"

	closeSent bool   // our close frame is out
	pushed    *frame // a frame read ahead, returned by the next read

	lastKey  [4]byte
	sameKeys int

	dfl  *pmd    // permessage-deflate, when negotiated
	last msgSeen // the last message read
}

// msgSeen is how a message came: compressed or not, and its size on the
// wire (compressed).
type msgSeen struct {
	compressed bool
	wireLen    int
}

func newWire(cx *caseCtx, conn net.Conn, br *bufio.Reader, client bool) *wire {
	w := &wire{x: cx, conn: conn, br: br, client: client, peer: "client"}
	if client {
		w.peer = "server"
	}
	return w
}

// encode encodes frames as this end sends them.
func (w *wire) encode(fs ...frame) []byte {
	var b []byte
	for _, f := range fs {
		b = appendFrame(b, f, w.client)
		if f.op == opClose {
			w.closeSent = true
		}
	}
	return b
}

// send writes frames in one write.
func (w *wire) send(fs ...frame) { w.write(w.encode(fs...), 0) }

// sendChopped writes frames in writes of chunk bytes.
func (w *wire) sendChopped(chunk int, fs ...frame) { w.write(w.encode(fs...), chunk) }

// write writes b in writes of chunk bytes (0: one write).
func (w *wire) write(b []byte, chunk int) {
	if err := w.tryWrite(b, chunk); err != nil {
		w.x.failf("writing to the %s: %v", w.peer, err)
	}
}

func (w *wire) tryWrite(b []byte, chunk int) error {
	_ = w.conn.SetWriteDeadline(w.x.deadline)
	return writeChopped(w.conn, b, chunk)
}

func writeChopped(c net.Conn, b []byte, chunk int) error {
	if chunk <= 0 {
		chunk = len(b)
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// sendAsync writes b (in writes of chunk bytes) on another goroutine, so
// that the case can read the peer's answer meanwhile; wait reports how the
// writing went. A peer may start answering before it has read everything.
func (w *wire) sendAsync(b []byte, chunk int) (wait func()) {
	_ = w.conn.SetWriteDeadline(w.x.deadline)
	done := make(chan error, 1)
	conn := w.conn
	go func() { done <- writeChopped(conn, b, chunk) }()
	return func() {
		if err := <-done; err != nil {
			w.x.failf("writing to the %s: %v", w.peer, err)
		}
	}
}

// readFrame reads the next frame from the peer within deadline, and fails
// the case if the frame breaks RFC 6455. err is a timeout or the end of the
// connection.
func (w *wire) readFrame(deadline time.Time) (frame, error) {
	if f := w.pushed; f != nil {
		w.pushed = nil
		return *f, nil
	}
	_ = w.conn.SetReadDeadline(deadline)
	var h [8]byte
	if _, err := io.ReadFull(w.br, h[:2]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, rsv: h[0] >> 4 & 7, op: h[0] & 0x0F, masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		if _, err := io.ReadFull(w.br, h[:2]); err != nil {
			return frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(w.br, h[:8]); err != nil {
			return frame{}, err
		}
		n = binary.BigEndian.Uint64(h[:8])
		if n>>63 != 0 {
			w.x.failf("%s sent a 64-bit length with its top bit set (RFC 6455 section 5.2)", w.peer)
		}
	}
	if f.masked {
		if _, err := io.ReadFull(w.br, f.key[:]); err != nil {
			return frame{}, err
		}
	}
	if n > maxReadPayload {
		w.x.failf("%s sent a %s frame of %d bytes, over the suite's %d", w.peer, opName(f.op), n, maxReadPayload)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(w.br, f.payload); err != nil {
		return frame{}, err
	}
	if f.masked {
		maskBytes(f.payload, f.key)
	}
	w.validate(&f)
	return f, nil
}

// validate fails the case on a frame no peer may send.
func (w *wire) validate(f *frame) {
	x := w.x
	switch {
	case w.client && f.masked:
		x.failf("server sent a masked %s frame (RFC 6455 section 5.1: a server MUST NOT mask)", opName(f.op))
	case !w.client && !f.masked:
		x.failf("client sent an unmasked %s frame (RFC 6455 section 5.1: a client MUST mask every frame)", opName(f.op))
	case w.dfl != nil && f.rsv == rsv1 && (f.op == opText || f.op == opBinary):
		// RFC 7692 section 6: RSV1 marks a compressed message, on its first
		// frame.
	case w.dfl != nil && f.rsv == rsv1:
		x.failf("%s sent a %s frame with RSV1 set (RFC 7692 section 6.1: never on control frames and non-first fragments)", w.peer, opName(f.op))
	case f.rsv != 0 && w.dfl != nil:
		x.failf("%s sent a %s frame with RSV bits %03b; permessage-deflate only uses RSV1 (section 5.2)", w.peer, opName(f.op), f.rsv)
	case f.rsv != 0:
		x.failf("%s sent a %s frame with RSV bits %03b and no extension negotiated (section 5.2)", w.peer, opName(f.op), f.rsv)
	case f.op > opBinary && f.op < opClose || f.op > opPong:
		x.failf("%s sent a frame with the reserved opcode %d (section 5.2)", w.peer, f.op)
	case f.op >= opClose && !f.fin:
		x.failf("%s sent a fragmented %s frame (section 5.5)", w.peer, opName(f.op))
	case f.op >= opClose && len(f.payload) > 125:
		x.failf("%s sent a %s frame of %d bytes (section 5.5: at most 125)", w.peer, opName(f.op), len(f.payload))
	}
	if f.op == opClose {
		p := f.payload
		switch {
		case len(p) == 1:
			x.failf("%s sent a close frame with a one-byte payload (section 5.5.1)", w.peer)
		case len(p) >= 2 && !validCloseCode(binary.BigEndian.Uint16(p)):
			x.failf("%s sent close code %d, which may not be sent (section 7.4)", w.peer, binary.BigEndian.Uint16(p))
		case len(p) > 2 && !utf8.Valid(p[2:]):
			x.failf("%s sent a close reason that is not UTF-8 (section 5.5.1)", w.peer)
		}
	}
	if f.masked {
		// Section 5.3: the key "MUST be derived from a strong source of
		// entropy" and be unpredictable: the same key frame after frame is not.
		if f.key == w.lastKey {
			w.sameKeys++
			if w.sameKeys == 3 {
				x.nonStrictf("client used the masking key %x for 4 frames in a row (section 5.3: keys must be unpredictable)", f.key)
			}
		} else {
			w.sameKeys = 0
		}
		w.lastKey = f.key
	}
}

// next returns the next frame, answering the peer's pings on the way (a peer
// may send heartbeats). It fails the case on a timeout or when the connection
// ends; what is for the message.
func (w *wire) next(what string) frame {
	for {
		f, err := w.readFrame(w.x.deadline)
		if err != nil {
			if isTimeout(err) {
				w.x.failf("no %s from the %s within the case's time", what, w.peer)
			}
			w.x.failf("the %s closed the connection instead of sending %s: %v", w.peer, what, err)
		}
		if f.op == opPing && !w.closeSent {
			w.send(msg(opPong, f.payload))
			continue
		}
		return f
	}
}

// describeClose says what a close frame the case did not expect held.
func describeClose(f frame) string {
	if len(f.payload) < 2 {
		return "close without a code"
	}
	return fmt.Sprintf("close %d %q", binary.BigEndian.Uint16(f.payload), f.payload[2:])
}

// assembly reassembles one message from data frames, whatever the peer's
// fragmentation.
type assembly struct {
	op      byte
	p       []byte
	nframes int
	comp    bool // RSV1 on the first frame: compressed (RFC 7692)
}

// add takes the next data frame and reports whether the message is whole.
func (a *assembly) add(w *wire, f frame) bool {
	switch {
	case f.op == opCont && a.nframes == 0:
		w.x.failf("the %s sent a continuation frame with no message to continue (section 5.4)", w.peer)
	case f.op != opCont && a.nframes > 0:
		w.x.failf("the %s started a %s message inside a fragmented one (section 5.4)", w.peer, opName(f.op))
	}
	if a.nframes == 0 {
		a.op, a.p, a.comp = f.op, f.payload, f.rsv&rsv1 != 0 // no copy for the common single frame
	} else {
		a.p = append(a.p, f.payload...)
	}
	a.nframes++
	if f.fin {
		w.last = msgSeen{compressed: a.comp, wireLen: len(a.p)}
	}
	if f.fin && a.comp {
		p, err := w.dfl.dec.inflate(a.p, inflateLimit)
		if err != nil {
			w.x.failf("the %s sent a compressed %s message (%d bytes) that %v", w.peer, opName(a.op), len(a.p), err)
		}
		a.p = p
	}
	if f.fin && a.op == opText && !utf8.Valid(a.p) {
		w.x.failf("the %s sent a text message that is not UTF-8 (section 5.6)", w.peer)
	}
	return f.fin
}

// readMessage reads one message, reassembling its fragments whatever the
// peer's fragmentation. nframes is how many data frames carried it.
func (w *wire) readMessage(what string) (op byte, p []byte, nframes int) {
	var a assembly
	for {
		f := w.next(what)
		switch f.op {
		case opClose:
			w.x.failf("the %s sent a %s instead of %s", w.peer, describeClose(f), what)
		case opPong:
			w.x.failf("the %s sent an unexpected pong (%d bytes) instead of %s", w.peer, len(f.payload), what)
		}
		if a.add(w, f) {
			return a.op, a.p, a.nframes
		}
	}
}

// expectMixed expects the messages want, in order, and the pongs, in order,
// however the two interleave: a peer may answer a ping before it echoes a
// message that came earlier, or between the fragments of its echo.
func (w *wire) expectMixed(want []frame, pongs ...[]byte) {
	var a assembly
	for len(want) > 0 || len(pongs) > 0 {
		f := w.next(fmt.Sprintf("%d more messages and %d more pongs", len(want), len(pongs)))
		switch f.op {
		case opClose:
			w.x.failf("the %s sent a %s while %d messages and %d pongs were due", w.peer, describeClose(f), len(want), len(pongs))
		case opPong:
			if len(pongs) == 0 {
				w.x.failf("the %s sent an unexpected pong (%d bytes)", w.peer, len(f.payload))
			}
			if !bytes.Equal(f.payload, pongs[0]) {
				w.x.failf("pong payload %q, want %q (pongs answer pings in order)", f.payload, pongs[0])
			}
			pongs = pongs[1:]
			continue
		}
		if len(want) == 0 {
			w.x.failf("the %s sent a %s frame, no more messages were due", w.peer, opName(f.op))
		}
		if !a.add(w, f) {
			continue
		}
		if a.op != want[0].op {
			w.x.failf("echo is a %s message, want %s", opName(a.op), opName(want[0].op))
		}
		if !bytes.Equal(a.p, want[0].payload) {
			w.x.failf("echo differs: %s", diff(a.p, want[0].payload))
		}
		want, a = want[1:], assembly{}
	}
}

// expectMessage reads a message and fails unless it is op with payload want.
// It returns how many frames carried it.
func (w *wire) expectMessage(op byte, want []byte) int {
	got, p, n := w.readMessage(fmt.Sprintf("the echo of a %d-byte %s message", len(want), opName(op)))
	if got != op {
		w.x.failf("echo is a %s message, want %s", opName(got), opName(op))
	}
	if !bytes.Equal(p, want) {
		w.x.failf("echo differs: %s", diff(p, want))
	}
	return n
}

// expectEcho sends the message as one frame and expects it back.
func (w *wire) expectEcho(op byte, p []byte) {
	w.send(msg(op, p))
	w.expectMessage(op, p)
}

func diff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("%d bytes, want %d; first difference at byte %d (%#02x, want %#02x)", len(got), len(want), i, got[i], want[i])
		}
	}
	return fmt.Sprintf("%d bytes, want %d (the shorter is a prefix of the longer)", len(got), len(want))
}

// expectPong reads the next frame and fails unless it is a pong with
// payload want.
func (w *wire) expectPong(want []byte) {
	f := w.next(fmt.Sprintf("a pong with %d bytes", len(want)))
	switch {
	case f.op == opClose:
		w.x.failf("the %s sent a %s instead of a pong", w.peer, describeClose(f))
	case f.op != opPong:
		w.x.failf("the %s sent a %s frame instead of a pong", w.peer, opName(f.op))
	case !bytes.Equal(f.payload, want):
		w.x.failf("pong payload differs from the ping's: %s", diff(f.payload, want))
	}
}

// closeSeen is what the end of a connection looked like.
type closeSeen struct {
	frame   bool // a close frame arrived (false: the TCP connection ended without one)
	code    uint16
	hasCode bool
	reason  []byte
}

func (c closeSeen) String() string {
	switch {
	case !c.frame:
		return "no close frame"
	case !c.hasCode:
		return "close without a code"
	}
	return fmt.Sprintf("close %d %q", c.code, c.reason)
}

// readClose reads until the peer's close frame, then runs the rest of the
// closing handshake: it answers the close unless ours is out already, then
// waits for the TCP connection to end. A data frame or pong before the close
// fails the case (the peer answered what it should have refused or ignored);
// so does any frame after it. within bounds the wait for the close frame
// (0: the case's deadline).
func (w *wire) readClose(within time.Duration) closeSeen {
	deadline := w.x.deadline
	if within > 0 {
		deadline = time.Now().Add(within)
	}
	for {
		f, err := w.readFrame(deadline)
		if err != nil {
			if isTimeout(err) {
				w.x.failf("no close frame from the %s in time", w.peer)
			}
			return closeSeen{}
		}
		switch f.op {
		case opPing:
			continue // after its close no pong is due; before, one would race the close
		case opClose:
			c := closeSeen{frame: true}
			if len(f.payload) >= 2 {
				c.hasCode, c.code, c.reason = true, binary.BigEndian.Uint16(f.payload), f.payload[2:]
			}
			w.finishClose(f)
			return c
		case opPong:
			w.x.failf("the %s sent a pong where a close was due", w.peer)
		default:
			w.x.failf("the %s sent a %d-byte %s frame where a close was due", w.peer, len(f.payload), opName(f.op))
		}
	}
}

// finishClose completes the closing handshake after the peer's close frame f.
func (w *wire) finishClose(f frame) {
	if !w.closeSent {
		// Section 5.5.1: the endpoint that receives a close answers with one,
		// typically echoing the code. The peer may have hung up already.
		_ = w.tryWrite(w.encode(msg(opClose, f.payload)), 0)
	}
	deadline := w.x.deadline
	if !w.client {
		// Section 7.1.1: the server closes the TCP connection first; a client
		// SHOULD wait for that (but MAY close at once). The fake server gives
		// the client a moment, then closes.
		deadline = minTime(deadline, time.Now().Add(time.Second))
	}
	f, err := w.readFrame(deadline)
	switch {
	case err == nil:
		w.x.failf("the %s sent a %d-byte %s frame after its close frame (section 5.5.1)", w.peer, len(f.payload), opName(f.op))
	case !isTimeout(err):
		// The peer closed the TCP connection.
	case w.client:
		w.x.failf("the server kept the TCP connection open after the closing handshake (section 5.5.1: it MUST close it; 7.1.1: the server first)")
	default:
		_ = w.conn.Close()
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// expectFailure expects the peer to fail the connection with code: a close
// frame carrying it, then the end of the TCP connection. A TCP connection
// dropped without a close frame is non-strict (the RFC's "_Fail the
// WebSocket Connection_" lets an endpoint skip the close frame when it
// cannot send it; Autobahn grades it so).
func (w *wire) expectFailure(code uint16) {
	w.expectFailureWithin(code, 0)
}

func (w *wire) expectFailureWithin(code uint16, within time.Duration) {
	c := w.readClose(within)
	checkFailure(w, c, code)
}

func checkFailure(w *wire, c closeSeen, code uint16) {
	switch {
	case !c.frame:
		w.x.nonStrictf("the %s dropped the TCP connection without a close frame (want close %d)", w.peer, code)
	case !c.hasCode || c.code != code:
		w.x.failf("the %s failed the connection with %s, want %d", w.peer, c, code)
	}
}

// closeNormally runs the closing handshake from this end with 1000: the
// peer must answer with a close (1000 passes, no code is non-strict) and the
// connection end.
func (w *wire) closeNormally() {
	w.send(closeMsg(1000, ""))
	c := w.readClose(0)
	switch {
	case !c.frame:
		w.x.nonStrictf("the %s dropped the TCP connection instead of answering the close (section 5.5.1)", w.peer)
	case !c.hasCode:
		w.x.nonStrictf("the %s answered close 1000 with a close without a code (section 5.5.1: it typically echoes the code)", w.peer)
	case c.code != 1000:
		w.x.failf("the %s answered close 1000 with %s", w.peer, c)
	}
}
