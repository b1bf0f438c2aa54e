package engine

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"

	"github.com/valyala/bytebufferpool"

	"github.com/tachyonws/tachyon/mask"
	"github.com/tachyonws/tachyon/utf8"
)

// Default limits. Each applies when the Config field is zero.
const (
	// DefaultMaxMessageSize is the largest message a connection assembles
	// (16 MiB). A longer one fails the connection with 1009 as soon as its
	// announced length passes the limit, before its payload is buffered.
	DefaultMaxMessageSize = 16 << 20
	// DefaultReadBufferSize (4 KiB) is the largest frame payload a
	// connection waits to see whole in the caller's buffer. Longer frames
	// are taken in pieces as they arrive, so the caller never has to hold
	// more than this much plus a header.
	DefaultReadBufferSize = 4 << 10
)

// Config holds a connection's limits and options. The zero value gives the
// defaults documented on each field.
type Config struct {
	// MaxMessageSize is the largest message, all fragments together, that
	// the connection accepts; beyond it the connection fails with 1009.
	// Zero means DefaultMaxMessageSize.
	MaxMessageSize int64
	// MaxFrameSize is the largest payload of a single frame; beyond it the
	// connection fails with 1009 at the header. Zero means MaxMessageSize.
	MaxFrameSize int64
	// ReadBufferSize is the largest frame payload Feed waits to see whole;
	// see DefaultReadBufferSize. Zero means the default; the minimum is 125
	// (a control frame is always taken whole).
	ReadBufferSize int
	// Budget, when set, is charged for the bytes of messages being
	// assembled (their buffer's capacity) before they are held; a
	// connection that would pass it is failed with 1008 (ErrBudget). The
	// drivers set it (to DefaultBudget unless told otherwise).
	Budget *Budget
	// Deflate is the permessage-deflate agreement (RFC 7692) for this
	// connection, from Compression.Negotiate or Compression.Accept; the
	// zero value means no compression. With it, RSV1 marks compressed
	// messages, which are inflated before delivery (MaxMessageSize counts
	// the inflated bytes, checked while inflating), and messages written
	// whole (WriteMessage, WritePrepared) of at least the threshold's size
	// are compressed. Fragments written with WriteFragment and control
	// frames are sent as they are.
	Deflate Deflate
	// Extensions holds the RSV bits the negotiated extensions define (Rsv1
	// for permessage-deflate). Zero without extensions.
	Extensions byte
	// Stream delivers data frames to Events.OnFragment as they arrive
	// instead of assembling messages: for messages too big to buffer.
	// MaxMessageSize then bounds nothing but is still checked (set it as
	// large as the application allows). Compression is not used with it:
	// drivers do not negotiate it, and NewConn ignores Deflate.
	Stream bool
}

// Events receives what a connection reads. The driver that owns the socket
// implements it (usually by calling the application's handler). Every
// payload is borrowed: it is valid only until the method returns.
type Events interface {
	// OnMessage delivers a complete text or binary message. A text
	// message has been validated as UTF-8.
	OnMessage(op OpCode, payload []byte)
	// OnFragment delivers a piece of a message when Config.Stream is set:
	// op is the message's opcode (OpText or OpBinary, also for
	// continuation frames), final marks its last piece. Text pieces are
	// validated as they come: the connection fails before delivering a
	// piece that cannot continue valid UTF-8.
	OnFragment(op OpCode, payload []byte, final bool)
	// OnPing delivers a ping's payload. The connection has already queued
	// the pong.
	OnPing(payload []byte)
	// OnPong delivers a pong's payload.
	OnPong(payload []byte)
	// OnClose is called exactly once, when the connection ends: with the
	// peer's code and reason when it sent a close (StatusNoStatusReceived
	// when its close had no code), with the code the connection was failed
	// with after a protocol error, or with StatusAbnormalClosure when the
	// driver reports that the transport dropped (Conn.Abort).
	OnClose(code StatusCode, reason []byte)
}

// ErrClosed is returned by writes after the connection's close frame has been
// queued, and by Feed after the connection has ended.
var ErrClosed = errors.New("engine: connection closed")

// Conn is the protocol state machine of one WebSocket connection, after the
// opening handshake: the driver feeds it the bytes it reads (Feed), it calls
// Events as frames complete, and it queues the bytes to send (pongs, the
// close handshake, the application's messages) in an output buffer the
// driver writes out (Output, Advance). It never touches a socket.
//
// A Conn is not safe for concurrent use: the driver serialises calls.
type Conn struct {
	// Fields are ordered by size, so that an idle connection costs as
	// little as possible (192 bytes on 64-bit platforms).
	events Events
	cfg    Config

	// The frame being taken in pieces (a payload longer than
	// ReadBufferSize): its header and the bytes still to come (inFrame
	// and maskPos, the mask offset reached, are below).
	frame     Header
	remaining int64

	// The message being assembled: its size so far, the pooled buffer
	// holding it (nil in Stream mode or until a fragment needs it) and the
	// bytes of cfg.Budget reserved for the buffer (its capacity); its
	// opcode (0 when none), whether it is compressed (RSV1 on its first
	// frame) and the UTF-8 state of a text message are below. hist holds
	// the context-takeover windows, nil until a compressed message needs
	// them.
	msgLen int64
	msgBuf *bytebufferpool.ByteBuffer
	msgRes int64
	hist   *deflateHist

	// The writing side: the queued output and the masking-key source of a
	// client (the state of a message written in fragments is below).
	out    []byte
	keys   *rand.ChaCha8
	keyBuf [8]byte

	pongs    int32 // pongs queued since the driver last asked (TakePongs)
	maskPos  int32
	role     Role
	inFrame  bool
	msgOp    OpCode
	msgComp  bool
	text     utf8.Validator
	writeOp  OpCode
	keysLeft uint8

	closeSent bool // our close frame is queued: nothing more is written
	ended     bool // OnClose has been called: nothing more is read

	noFast bool // tests: take every frame through the general path

	// probeKiB is the compressed size, in KiB, at which the compressed
	// message being assembled is next inflated to count its size (probe).
	probeKiB uint32
}

// NewConn returns the state machine of an established connection. role is
// this side's; events receives what is read.
func NewConn(role Role, events Events, cfg Config) *Conn {
	c := &Conn{}
	c.init(role, events, cfg)
	return c
}

// Reset makes c the state machine of a new connection, as NewConn would,
// reusing its memory. c must be resting (see Resting) or ended, and no
// longer in use for its old connection.
func (c *Conn) Reset(role Role, events Events, cfg Config) {
	*c = Conn{}
	c.init(role, events, cfg)
}

// Resting reports whether c holds nothing but its configuration: no frame
// or message under way, no output queued, no pongs untaken, no fragmented
// write begun, no compression windows (context takeover), no masking keys
// (a client), no close sent or received. A driver may then drop c, or
// Reset it for another connection, and go on later with a Conn made afresh
// (NewConn or Reset) with the same role, events and Config: the peer sees
// no difference. So a driver holding many idle connections need keep a
// Conn only for those that are not resting.
func (c *Conn) Resting() bool {
	return !c.inFrame && c.msgOp == 0 && c.msgBuf == nil && c.msgRes == 0 &&
		len(c.out) == 0 && c.pongs == 0 && c.writeOp == 0 &&
		c.hist == nil && c.keys == nil && !c.closeSent && !c.ended
}

// init sets up a zero Conn (NewConn, Reset).
func (c *Conn) init(role Role, events Events, cfg Config) {
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.MaxFrameSize <= 0 || cfg.MaxFrameSize > cfg.MaxMessageSize {
		cfg.MaxFrameSize = cfg.MaxMessageSize
	}
	if cfg.ReadBufferSize <= 0 {
		cfg.ReadBufferSize = DefaultReadBufferSize
	}
	if cfg.ReadBufferSize < MaxControlPayload {
		cfg.ReadBufferSize = MaxControlPayload
	}
	if cfg.Stream {
		cfg.Deflate = Deflate{}
	}
	if cfg.Deflate.Enabled() {
		cfg.Extensions |= Rsv1
	}
	c.role, c.events, c.cfg = role, events, cfg
	if role == RoleClient {
		// RFC 6455 section 5.3: each frame's key must be unpredictable,
		// "derived from a strong source of entropy". A ChaCha8 stream per
		// connection, seeded from crypto/rand, needs no lock and no system
		// call per frame.
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			panic("engine.NewConn: crypto/rand: " + err.Error())
		}
		c.keys = rand.NewChaCha8(seed)
	}
}

// Role returns the connection's role.
func (c *Conn) Role() Role { return c.role }

// Feed hands the connection bytes read from the transport. It processes
// every complete frame at the front of b and returns how many bytes it
// consumed; the caller keeps b[n:] (a partial frame) and feeds it again,
// followed by more bytes. Frames whose payload is longer than
// ReadBufferSize are consumed in pieces as they arrive, so the unconsumed
// rest is never longer than ReadBufferSize plus a header.
//
// Feed also stops, with complete frames left in b[n:], after a ping that
// makes PongBatch pongs queued since the last TakePongs (PongsQueued then
// says so): the driver writes them out and judges the peer (MaxPongsOwed)
// before it feeds the rest. A peer that floods pings and reads nothing is
// then found out after a few batches, not after all the pings a read
// brought (about 3,000 in 64 KiB).
//
// Feed unmasks payloads in place in b and hands complete unfragmented
// messages to Events.OnMessage as views into b (no copy). Fragmented
// messages are assembled in a pooled buffer.
//
// Feed returns a non-nil error when the connection has ended: a
// *ProtocolError when the peer broke the protocol (the close frame with its
// code is then queued in the output), a *CloseError when the peer closed
// (the echo is queued), or ErrClosed when Feed is called after the end. In
// every case the driver writes out the remaining output and closes the
// transport.
func (c *Conn) Feed(b []byte) (n int, err error) {
	if c.ended {
		return 0, ErrClosed
	}
	for {
		if c.inFrame {
			take := int64(len(b) - n)
			if take > c.remaining {
				take = c.remaining
			}
			if take == 0 {
				return n, nil
			}
			p := b[n : n+int(take)]
			n += int(take)
			c.remaining -= take
			if c.frame.Masked {
				c.maskPos = int32(mask.Apply(p, c.frame.Mask, int(c.maskPos)))
			}
			last := c.remaining == 0
			if last {
				c.inFrame = false
			}
			if err := c.dataPiece(p, c.frame.Fin && last); err != nil {
				return n, c.fail(err)
			}
			continue
		}
		if n == len(b) {
			return n, nil
		}
		if k := c.fastFrame(b[n:]); k > 0 {
			n += k
			continue
		}
		var h Header
		hn, err := ParseHeader(b[n:], &h)
		if err != nil {
			return n, c.fail(err)
		}
		if hn > len(b)-n {
			return n, nil
		}
		if err := c.checkFrame(&h); err != nil {
			return n, c.fail(err)
		}
		whole := h.Length <= int64(len(b)-n-hn)
		if !whole && h.Length <= int64(c.cfg.ReadBufferSize) {
			// Wait for the whole frame, but fail a text whose first bytes
			// already cannot be valid UTF-8 now, not once the rest came.
			if err := c.checkPartialText(&h, b[n+hn:]); err != nil {
				return n, c.fail(err)
			}
			return n, nil
		}
		isData := !h.OpCode.IsControl()
		comp := h.Rsv&Rsv1 != 0 // checkFrame allows it on a message's first frame only
		view := whole && h.Fin && h.OpCode != OpContinuation && !c.cfg.Stream
		if isData && h.OpCode != OpContinuation && !view {
			c.startMessage(h.OpCode, comp)
		}
		if !whole {
			// Too long to wait for: take the header now, the payload in
			// pieces as it arrives.
			n += hn
			c.inFrame, c.frame, c.remaining, c.maskPos = true, h, h.Length, 0
			continue
		}
		p := b[n+hn : n+hn+int(h.Length)]
		n += hn + int(h.Length)
		textView := view && h.OpCode == OpText && !comp
		valid := true
		switch {
		case textView && h.Masked:
			valid, _ = utf8.UnmaskValid(p, h.Mask, 0) // one pass over the bytes
		case textView:
			valid = utf8.Valid(p)
		case h.Masked:
			mask.Apply(p, h.Mask, 0)
		}
		switch {
		case !isData:
			if err := c.control(h.OpCode, p); err != nil {
				return n, err
			}
			if c.pongs >= PongBatch {
				return n, nil // the driver judges the peer first
			}
		case view && comp:
			if !c.closeSent {
				if err := c.inflateMessage(h.OpCode, p); err != nil {
					return n, c.fail(err)
				}
			}
		case view:
			// A whole message in one frame: deliver the view, no copy.
			if !valid {
				return n, c.fail(ErrInvalidUTF8)
			}
			if !c.closeSent { // section 7.1.4: after our close, data is discarded
				c.events.OnMessage(h.OpCode, p)
			}
		default:
			if err := c.dataPiece(p, h.Fin); err != nil {
				return n, c.fail(err)
			}
		}
	}
}

// checkPartialText validates the part of a short text frame that has
// arrived, so that invalid UTF-8 fails the connection at once (section 8.1:
// an endpoint fails the connection "when an endpoint is to interpret a byte
// stream as UTF-8 but finds that the byte stream is not, in fact, a valid
// UTF-8 stream"). The bytes are unmasked for the check and masked back: the
// frame is decoded again once it is whole. Only frames that straddle reads
// pay for it.
func (c *Conn) checkPartialText(h *Header, p []byte) error {
	if len(p) == 0 || c.closeSent {
		return nil
	}
	var v utf8.Validator
	switch {
	case h.Rsv&Rsv1 != 0:
		return nil // compressed: validated once inflated
	case h.OpCode == OpText && c.msgOp == 0:
	case h.OpCode == OpText:
		return nil // a protocol error checkFrame reports
	case h.OpCode == OpContinuation && c.msgOp == OpText && !c.msgComp:
		v = c.text
	default:
		return nil
	}
	if h.Masked {
		mask.Apply(p, h.Mask, 0)
	}
	ok := v.Validate(p)
	if h.Masked {
		mask.Apply(p, h.Mask, 0)
	}
	if !ok {
		return ErrInvalidUTF8
	}
	return nil
}

// fastFrame takes the most common frame without the general path's calls:
// a whole, final text or binary frame with no RSV bits, a 7- or 16-bit length,
// the masking the role requires, outside a fragmented message and within the
// frame limit. It returns the bytes it consumed, or 0 to leave the frame to the
// general path, which would accept it the same way (TestFastFrameAgrees
// holds the two equal). The header rules are CheckHeader's.
func (c *Conn) fastFrame(b []byte) int {
	if len(b) < 2 || c.msgOp != 0 || c.closeSent || c.cfg.Stream || c.noFast {
		return 0
	}
	b0, b1 := b[0], b[1]
	op := OpCode(b0 & 0x0F)
	if b0&0xF0 != 0x80 || (op != OpText && op != OpBinary) {
		return 0 // not FIN, RSV bits set, or not a data opcode
	}
	masked := b1&0x80 != 0
	if masked != (c.role == RoleServer) {
		return 0
	}
	length, hn := int(b1&0x7F), 2
	switch {
	case length == 126 && len(b) >= 4:
		length, hn = int(binary.BigEndian.Uint16(b[2:4])), 4
	case length >= 126:
		return 0
	}
	if int64(length) > c.cfg.MaxFrameSize {
		return 0
	}
	var key [4]byte
	if masked {
		if len(b) < hn+4 {
			return 0
		}
		key = [4]byte(b[hn : hn+4])
		hn += 4
	}
	if len(b)-hn < length {
		return 0
	}
	p := b[hn : hn+length]
	ok := true
	switch {
	case op == OpText && masked:
		ok, _ = utf8.UnmaskValid(p, key, 0) // one pass over the bytes
	case op == OpText:
		ok = utf8.Valid(p)
	case masked:
		mask.Apply(p, key, 0)
	}
	if !ok {
		// Put the bytes back as they came so that the general path sees the
		// frame untouched and fails it the one way it fails frames.
		if masked {
			mask.Apply(p, key, 0)
		}
		return 0
	}
	c.events.OnMessage(op, p)
	return hn + length
}

// startMessage begins assembling a message whose first frame has opcode op
// (and RSV1 when comp).
func (c *Conn) startMessage(op OpCode, comp bool) {
	c.msgOp, c.msgLen, c.msgComp, c.probeKiB = op, 0, comp, 0
	if op == OpText && !comp {
		c.text.Reset()
	}
}

// checkFrame applies the header rules and the message-level ones: a
// continuation needs a message to continue, a new message needs the last one
// finished, and the message must stay within MaxMessageSize.
func (c *Conn) checkFrame(h *Header) error {
	// A compressed message is held to the limits by its inflated size,
	// checked while it inflates; its compressed bytes may pass them by
	// deflate's overhead (incompressible data grows a little), no more.
	comp := h.Rsv&Rsv1 != 0 && (h.OpCode == OpText || h.OpCode == OpBinary) || h.OpCode == OpContinuation && c.msgComp
	maxFrame, maxMsg := c.cfg.MaxFrameSize, c.cfg.MaxMessageSize
	if comp {
		maxFrame, maxMsg = compressedLimit(maxFrame), compressedLimit(maxMsg)
	}
	if err := CheckHeader(h, c.role, c.cfg.Extensions, maxFrame); err != nil {
		return err
	}
	if h.Rsv&Rsv1 != 0 && (h.OpCode.IsControl() || h.OpCode == OpContinuation) {
		return ErrCompressedControl
	}
	if h.OpCode.IsControl() {
		return nil
	}
	if h.OpCode == OpContinuation {
		if c.msgOp == 0 {
			return ErrUnexpectedContinuation
		}
		if h.Length > maxMsg-c.msgLen {
			return ErrMessageTooBig
		}
		return nil
	}
	if c.msgOp != 0 {
		return ErrExpectedContinuation
	}
	if h.Length > maxMsg {
		return ErrMessageTooBig
	}
	return nil
}

// compressedLimit is the most compressed bytes a message (or frame) of n
// bytes may take: deflate's stored blocks add 5 bytes per 65,535, and a
// stream has a few more bytes of block headers and padding.
func compressedLimit(n int64) int64 {
	if n > math.MaxInt64/2 {
		return n
	}
	return n + n>>12 + 64
}

// dataPiece takes the next piece of the current message (a whole frame, or a
// piece of a long one); final marks the message's last byte.
func (c *Conn) dataPiece(p []byte, final bool) error {
	op := c.msgOp
	c.msgLen += int64(len(p))
	if c.closeSent {
		// Section 7.1.4: once our close is sent, data frames are discarded
		// while we wait for the peer's close.
		if final {
			c.msgOp = 0
			c.releaseBuf()
		}
		return nil
	}
	plainText := op == OpText && !c.msgComp
	if plainText && !c.text.Validate(p) {
		return ErrInvalidUTF8 // fail fast: no suffix can make this prefix valid
	}
	if final && plainText && !c.text.Complete() {
		return ErrInvalidUTF8
	}
	if c.cfg.Stream {
		if final {
			c.msgOp = 0
		}
		c.events.OnFragment(op, p, final)
		return nil
	}
	if !final || c.msgBuf != nil {
		if err := c.grow(len(p)); err != nil {
			return err
		}
		c.msgBuf.B = append(c.msgBuf.B, p...)
	}
	if !final {
		if c.msgComp {
			return c.probe()
		}
		return nil
	}
	c.msgOp = 0
	whole := p // a long unfragmented frame that arrived in one piece
	if c.msgBuf != nil {
		whole = c.msgBuf.B
	}
	if c.msgComp {
		c.msgComp = false
		err := c.inflateMessage(op, whole)
		c.releaseBuf()
		return err
	}
	c.events.OnMessage(op, whole)
	c.releaseBuf()
	return nil
}

// deflateMaxRatio bounds how much deflate can expand: a 258-byte copy
// coded in 2 bits at best, about 1032 bytes out per byte in.
const deflateMaxRatio = 1032

// probe is called as the compressed fragments of a message arrive: when
// they could already inflate past MaxMessageSize (more than the limit
// divided by deflate's greatest ratio), and each time they have doubled
// since, the bytes so far are inflated into a scratch buffer and counted,
// so that a bomb sent in fragments is refused (1009) as soon as its
// fragments pass the limit, not at its last one. The work is at most
// about twice the message's inflated size for an honest message, and
// bounded by ten passes over the limit for a hostile one.
func (c *Conn) probe() error {
	n := int64(len(c.msgBuf.B))
	if n*deflateMaxRatio <= c.cfg.MaxMessageSize || n < int64(c.probeKiB)<<10 {
		return nil
	}
	c.probeKiB = uint32(min(2*n>>10+1, math.MaxUint32))
	var dict []byte
	if c.cfg.Deflate.inTake && c.hist != nil {
		dict = c.hist.in
	}
	f := getInflater()
	err := f.count(c.msgBuf.B, dict, c.cfg.MaxMessageSize)
	f.release()
	return err
}

// inflateMessage inflates a compressed message's payload and delivers it.
// The one place every compressed message passes, whichever route its
// frames took.
func (c *Conn) inflateMessage(op OpCode, p []byte) error {
	d := &c.cfg.Deflate
	var dict []byte
	if d.inTake && c.hist != nil {
		dict = c.hist.in
	}
	f := getInflater()
	var res int64
	out, err := f.inflate(p, dict, c.cfg.MaxMessageSize, c.cfg.Budget, &res)
	if err == nil && op == OpText && !utf8.Valid(out) {
		err = ErrInvalidUTF8
	}
	if err == nil && d.inTake {
		err = c.keepWindow(false, out)
	}
	if err == nil {
		c.events.OnMessage(op, out)
	}
	f.release()
	c.cfg.Budget.Release(res)
	return err
}

// keepWindow adds p to the outgoing (out) or incoming window of a
// connection with context takeover, reserving a window's full size in the
// budget when it is first needed.
func (c *Conn) keepWindow(out bool, p []byte) error {
	d := &c.cfg.Deflate
	if c.hist == nil {
		c.hist = &deflateHist{}
	}
	w, bits := &c.hist.in, d.inBits
	if out {
		w, bits = &c.hist.out, d.outBits
	}
	size := 1 << bits
	if *w == nil {
		if !c.cfg.Budget.Reserve(int64(size)) {
			return ErrBudget
		}
	}
	*w = keepWindow(*w, p, size)
	return nil
}

// maxPooled is the largest message buffer kept for reuse: larger ones are
// dropped after their message, so memory that a burst of big messages
// took is not kept once they are gone.
const maxPooled = 64 << 10

var msgPool bytebufferpool.Pool

// grow makes room for n more bytes of the message being assembled,
// reserving the buffer's new capacity in the budget first. The buffer
// doubles, but never past what the current frame (when it is the
// message's last) or the message limit can still bring.
func (c *Conn) grow(n int) error {
	if c.msgBuf == nil {
		c.msgBuf = msgPool.Get()
		c.msgBuf.B = c.msgBuf.B[:0]
		if !c.reserve(int64(cap(c.msgBuf.B))) {
			c.releaseBuf()
			return ErrBudget
		}
	}
	b := c.msgBuf.B
	need := len(b) + n
	if need <= cap(b) {
		return nil
	}
	ceiling := c.cfg.MaxMessageSize
	if c.inFrame && c.frame.Fin {
		ceiling = int64(need) + c.remaining
	}
	size := max(int64(need), min(2*int64(cap(b)), ceiling), 512)
	if !c.reserve(size - int64(cap(b))) {
		return ErrBudget
	}
	nb := make([]byte, len(b), size)
	copy(nb, b)
	c.msgBuf.B = nb
	return nil
}

// reserve takes n bytes of the budget for the message buffer.
func (c *Conn) reserve(n int64) bool {
	if !c.cfg.Budget.Reserve(n) {
		return false
	}
	c.msgRes += n
	return true
}

// control handles a complete control frame.
func (c *Conn) control(op OpCode, p []byte) error {
	switch op {
	case OpPing:
		if !c.closeSent {
			c.appendFrame(OpPong, p)
			c.pongs++
		}
		c.events.OnPing(p)
	case OpPong:
		c.events.OnPong(p)
	case OpClose:
		code, reason, err := ParseClosePayload(p)
		if err != nil {
			return c.fail(err)
		}
		if !c.closeSent {
			// Section 5.5.1: answer with a close, echoing the status code.
			c.queueClose(code, reason)
		}
		c.end(code, reason)
		return &CloseError{Code: code, Reason: string(reason)}
	}
	return nil
}

// fail ends the connection after a protocol error: the close frame with the
// error's code is queued (unless ours is already out) and Events hears of it.
func (c *Conn) fail(err error) error {
	code := CloseStatus(err)
	if code == 0 {
		code = StatusProtocolError
	}
	var reason []byte
	var pe *ProtocolError
	if errors.As(err, &pe) {
		reason = []byte(pe.Msg)
		if len(reason) > MaxCloseReason {
			reason = reason[:MaxCloseReason]
		}
	}
	if !c.closeSent {
		c.queueClose(code, reason)
	}
	c.end(code, reason)
	return err
}

// end releases the message buffer and tells Events, once.
func (c *Conn) end(code StatusCode, reason []byte) {
	if c.ended {
		return
	}
	c.ended = true
	c.releaseBuf()
	if h := c.hist; h != nil {
		c.hist = nil
		c.cfg.Budget.Release(int64(cap(h.out) + cap(h.in))) // reserved whole (keepWindow)
	}
	c.events.OnClose(code, reason)
}

// releaseBuf returns the message buffer to the pool (or drops it when it
// is large) and its reservation to the budget.
func (c *Conn) releaseBuf() {
	if c.msgBuf != nil {
		if cap(c.msgBuf.B) <= maxPooled {
			// Put with its length: the pool sizes what it keeps by the
			// lengths it is given back (a 95th percentile), so an emptied
			// buffer would teach it to keep nothing over 64 bytes.
			msgPool.Put(c.msgBuf)
		}
		c.msgBuf = nil
	}
	c.cfg.Budget.Release(c.msgRes)
	c.msgRes = 0
}

// Fail ends the connection for a reason of the driver's own (a time limit,
// a budget, a peer that does not read): the close frame with code and
// reason is queued unless this side's close is already out, the message
// being assembled is dropped (its budget returned), and Events.OnClose
// hears code. The driver then writes out the output and closes the
// transport. It does nothing once the connection has ended. It must not be
// called from inside an Events method.
func (c *Conn) Fail(code StatusCode, reason string) {
	if c.ended {
		return
	}
	r := []byte(reason)
	if !c.closeSent {
		c.queueClose(code, r)
	}
	c.end(code, r)
}

// Abort ends the connection when the transport dropped without a close
// handshake: Events.OnClose hears StatusAbnormalClosure (1006), unless the
// connection had already ended.
func (c *Conn) Abort() { c.end(StatusAbnormalClosure, nil) }

// Ended reports whether the connection has ended (OnClose was called).
func (c *Conn) Ended() bool { return c.ended }

// InMessage reports whether a message or a frame has begun to arrive and
// is not complete yet (the driver times it: Liveness.MessageTimeout).
func (c *Conn) InMessage() bool { return c.inFrame || c.msgOp != 0 }

// PongsQueued returns how many pongs the connection queued since the last
// TakePongs, without counting again: a driver learns from it whether Feed
// stopped after a batch (PongBatch).
func (c *Conn) PongsQueued() int { return int(c.pongs) }

// TakePongs returns how many pongs the connection queued (answering pings)
// since the last call, and starts counting again. A driver uses it to bound
// the pongs owed to a peer that pings but does not read.
func (c *Conn) TakePongs() int {
	n := int(c.pongs)
	c.pongs = 0
	return n
}

// CloseSent reports whether this side's close frame is queued.
func (c *Conn) CloseSent() bool { return c.closeSent }
