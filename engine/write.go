package engine

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrFragmentState is returned by WriteFragment when a fragment's opcode does
// not fit: a message started while another is unfinished, or a
// continuation with no message started. It is the caller's mistake, not the
// peer's.
var ErrFragmentState = errors.New("engine: WriteFragment: message already in progress or not started")

// Output returns the bytes queued to send. The driver writes them to the
// transport and then calls Advance with how many it wrote. The slice is valid
// until the next call of a method that queues or Advance.
func (c *Conn) Output() []byte { return c.out }

// SwapOutput replaces the output buffer with b and returns the previous one,
// whose bytes were queued to send: the driver then owns them and writes them
// out. b's contents become the queued output (usually b is empty, with spare
// capacity). An event-loop driver uses it to lend a connection a loop-wide
// buffer while it serves that connection and to take the bytes back, so
// that an idle connection holds no output buffer.
func (c *Conn) SwapOutput(b []byte) []byte {
	old := c.out
	c.out = b
	return old
}

// Advance drops the first n bytes of the output, once they are written.
func (c *Conn) Advance(n int) {
	if n >= len(c.out) {
		c.out = c.out[:0]
		return
	}
	c.out = c.out[:copy(c.out, c.out[n:])]
}

// WriteMessage queues a complete text or binary message. The payload is
// copied (and, for a client, masked in the copy) before WriteMessage returns.
// A text payload is sent as it is: validating it is the caller's choice. It
// returns ErrClosed once the close frame is queued.
func (c *Conn) WriteMessage(op OpCode, payload []byte) error {
	if op != OpText && op != OpBinary {
		return errors.New("engine: WriteMessage: opcode must be OpText or OpBinary")
	}
	if c.closeSent {
		return ErrClosed
	}
	if c.writeOp != 0 {
		return ErrFragmentState
	}
	if c.compresses(len(payload)) {
		return c.appendCompressed(op, payload)
	}
	c.appendFrame(op, payload)
	return nil
}

// compresses reports whether a whole message of n bytes goes out
// compressed.
func (c *Conn) compresses(n int) bool {
	d := &c.cfg.Deflate
	return d.c != nil && n >= d.c.threshold()
}

// appendCompressed queues a message compressed with a borrowed compressor
// (and, with context takeover, the connection's window as its dictionary).
func (c *Conn) appendCompressed(op OpCode, payload []byte) error {
	d := &c.cfg.Deflate
	var dict []byte
	if d.outTake && c.hist != nil {
		dict = c.hist.out
	}
	z := getDeflater(d.outBits, d.c.level())
	c.appendHeaderAndPayload(Header{Fin: true, Rsv: Rsv1, OpCode: op}, z.compress(payload, dict))
	z.release()
	if d.outTake {
		return c.keepWindow(true, payload)
	}
	return nil
}

// WriteFragment queues one fragment of a message written in pieces (RFC
// 6455 section 5.4), such as a stream of unknown length: the first call
// names the message's opcode (OpText or OpBinary), later calls pass
// OpContinuation, and the last one sets final. Control frames
// (WritePing, Close) may be written between fragments. Fragments are sent
// uncompressed, also when permessage-deflate was negotiated.
func (c *Conn) WriteFragment(op OpCode, payload []byte, final bool) error {
	if c.closeSent {
		return ErrClosed
	}
	switch {
	case (op == OpText || op == OpBinary) && c.writeOp == 0:
		c.writeOp = op
	case op == OpContinuation && c.writeOp != 0:
	default:
		return ErrFragmentState
	}
	c.appendHeaderAndPayload(Header{Fin: final, OpCode: op}, payload)
	if final {
		c.writeOp = 0
	}
	return nil
}

// WritePing queues a ping with up to 125 bytes of payload.
func (c *Conn) WritePing(payload []byte) error { return c.writeControl(OpPing, payload) }

// WritePong queues an unsolicited pong (a heartbeat; section 5.5.3). Pings are
// answered by the connection itself.
func (c *Conn) WritePong(payload []byte) error { return c.writeControl(OpPong, payload) }

func (c *Conn) writeControl(op OpCode, payload []byte) error {
	if len(payload) > MaxControlPayload {
		return ErrControlTooLong
	}
	if c.closeSent {
		return ErrClosed
	}
	c.appendFrame(op, payload)
	return nil
}

// Close queues this side's close frame with code and reason, after checking
// them (CheckClose). It is idempotent: once a close frame is queued, by Close
// or by the connection itself, later calls do nothing and return nil. After
// it nothing else is written; the connection keeps reading until the peer's
// close arrives (Feed then returns its *CloseError) or the driver gives up.
func (c *Conn) Close(code StatusCode, reason string) error {
	if err := CheckClose(code, reason); err != nil {
		return err
	}
	if c.closeSent {
		return nil
	}
	var buf [MaxControlPayload]byte
	p := AppendClosePayload(buf[:0], code, reason)
	c.appendFrame(OpClose, p)
	c.closeSent = true
	return nil
}

// queueClose queues a close frame with a code and reason already known to be
// valid (an echo, or a protocol failure).
func (c *Conn) queueClose(code StatusCode, reason []byte) {
	var buf [MaxControlPayload]byte
	p := buf[:0]
	if code != StatusNoStatusReceived {
		p = binary.BigEndian.AppendUint16(p, uint16(code))
		p = append(p, reason[:min(len(reason), MaxCloseReason)]...)
	}
	c.appendFrame(OpClose, p)
	c.closeSent = true
}

// appendFrame queues a final frame.
func (c *Conn) appendFrame(op OpCode, payload []byte) {
	c.appendHeaderAndPayload(Header{Fin: true, OpCode: op}, payload)
}

// appendHeaderAndPayload queues a frame, masked with a fresh key on a client.
func (c *Conn) appendHeaderAndPayload(h Header, payload []byte) {
	if c.role == RoleClient {
		h.Masked = true
		h.Mask = c.nextKey()
	}
	c.out = AppendFrame(c.out, h, payload)
}

// nextKey returns a fresh masking key: half of a 64-bit ChaCha8 output.
func (c *Conn) nextKey() (k [4]byte) {
	if c.keysLeft == 0 {
		binary.LittleEndian.PutUint64(c.keyBuf[:], c.keys.Uint64())
		c.keysLeft = 2
	}
	c.keysLeft--
	copy(k[:], c.keyBuf[4*c.keysLeft:])
	return k
}

// Prepared is a message encoded once to be written to many connections (a
// broadcast). A server's frames are not masked, so every server connection
// sends the same bytes; a client connection masks its own copy.
type Prepared struct {
	op      OpCode
	payload []byte
	frame   []byte // the unmasked frame

	// The message compressed without a dictionary, as an unmasked frame,
	// for each window size (8 to 15 bits), made on first use (under mu).
	mu       sync.Mutex
	deflated [8]atomic.Pointer[[]byte]
}

// NewPrepared encodes a text or binary message once. It copies payload.
func NewPrepared(op OpCode, payload []byte) *Prepared {
	frame := AppendFrame(nil, Header{Fin: true, OpCode: op}, payload)
	return &Prepared{op: op, payload: frame[len(frame)-len(payload):], frame: frame}
}

// Frame returns the encoded, unmasked frame: the bytes a server connection
// sends. It must not be modified.
func (p *Prepared) Frame() []byte { return p.frame }

// WritePrepared queues a prepared message: on a server, a copy of the bytes
// encoded once; on a client, a frame masked with a fresh key.
func (c *Conn) WritePrepared(p *Prepared) error {
	if c.closeSent {
		return ErrClosed
	}
	if c.writeOp != 0 {
		return ErrFragmentState
	}
	if c.role == RoleServer {
		frame, err := c.FrameFor(p)
		c.out = append(c.out, frame...)
		return err
	}
	if c.compresses(len(p.payload)) {
		return c.writeDeflated(p)
	}
	c.appendFrame(p.op, p.payload)
	return nil
}

// FrameFor returns the bytes a server connection sends for p: the frame
// encoded once, or, when the connection compresses messages of its size,
// the frame compressed once for its window size. The caller must send them
// (behind any queued output): with context takeover the payload has been
// added to the connection's window. An error (ErrBudget, for the window)
// comes with the frame, which may still be sent. A client connection masks
// its own copy: it uses WritePrepared.
func (c *Conn) FrameFor(p *Prepared) ([]byte, error) {
	if !c.compresses(len(p.payload)) {
		return p.frame, nil
	}
	d := &c.cfg.Deflate
	frame := p.deflate(d.outBits, d.c.level())
	if d.outTake {
		return frame, c.keepWindow(true, p.payload)
	}
	return frame, nil
}

// Deflate returns the connection's permessage-deflate agreement (zero when
// compression is off).
func (c *Conn) Deflate() Deflate { return c.cfg.Deflate }

// writeDeflated queues a prepared message on a client, masking the
// payload compressed once for every connection with the same window size:
// without a dictionary, so the same bytes serve connections with and
// without context takeover (those with it add the payload to their window,
// as their peer does).
func (c *Conn) writeDeflated(p *Prepared) error {
	d := &c.cfg.Deflate
	frame := p.deflate(d.outBits, d.c.level())
	hn := headerLen(frame)
	c.appendHeaderAndPayload(Header{Fin: true, Rsv: Rsv1, OpCode: p.op}, frame[hn:])
	if d.outTake {
		return c.keepWindow(true, p.payload)
	}
	return nil
}

// deflate returns the compressed frame for a window of bits, compressing
// it at level on first use. Data deflate cannot shrink is still sent
// compressed (in stored blocks, 5 bytes more per 64 KiB): with context
// takeover it then stays in both windows for later messages to refer to.
func (p *Prepared) deflate(bits uint8, level int) []byte {
	slot := &p.deflated[bits-8]
	if f := slot.Load(); f != nil {
		return *f
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := slot.Load(); f != nil {
		return *f
	}
	z := getDeflater(bits, level)
	defer z.release()
	f := AppendFrame(nil, Header{Fin: true, Rsv: Rsv1, OpCode: p.op}, z.compress(p.payload, nil))
	slot.Store(&f)
	return f
}

// headerLen returns the length of the unmasked frame header at the front
// of frame (one AppendFrame wrote).
func headerLen(frame []byte) int {
	switch frame[1] & 0x7F {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}
