package load

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tachyonws/tachyon/engine"
)

// appendClientFrames appends k copies of a masked client frame carrying a
// payload of size bytes (ASCII letters for text, a byte pattern for binary),
// each with its own random masking key. The loader writes prefixes of this
// buffer as they are: every connection sends the same k frames again and
// again, so masking keys repeat across messages and connections. RFC 6455
// wants a fresh, unpredictable key per frame to stop cache-poisoning attacks
// through intermediaries that do not speak WebSocket; a load tool on a test
// network has no such intermediary, and masking ahead of time keeps the
// loader's cost per message down to the copy the kernel makes.
func appendClientFrames(dst []byte, k, size int, op engine.OpCode, deflate bool) []byte {
	payload := make([]byte, size)
	for i := range payload {
		if op == engine.OpText {
			payload[i] = 'a' + byte(i%26)
		} else {
			payload[i] = byte(i * 7)
		}
	}
	var rsv byte
	if deflate {
		payload = compressPayload(jsonLike(size))
		rsv = engine.Rsv1
	}
	for range k {
		h := engine.Header{Fin: true, Rsv: rsv, OpCode: op, Masked: true}
		_, _ = rand.Read(h.Mask[:])
		dst = engine.AppendFrame(dst, h, payload)
	}
	return dst
}

// jsonLike returns n bytes of text shaped like a chat or market feed's
// JSON: the same keys in every record, values that vary. It compresses
// about 3 to 5 times.
func jsonLike(n int) []byte {
	b := make([]byte, 0, n+128)
	x := uint32(2463534242)
	next := func() uint32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x }
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"seq":%d,"user":"user%d","room":"r%d","price":%d.%02d,"text":"%x"},`,
			i, next()%500, next()%20, next()%10000, next()%100, next())
	}
	return b[:n]
}

// compressPayload compresses p as one permessage-deflate message: a
// flushed raw deflate stream without its 00 00 ff ff tail (RFC 7692
// section 7.2.1), with no reference before the message's own start.
func compressPayload(p []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = w.Write(p)
	_ = w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// appendCloseFrame appends a masked client close frame with code.
func appendCloseFrame(dst []byte, code engine.StatusCode) []byte {
	h := engine.Header{Fin: true, OpCode: engine.OpClose, Masked: true}
	_, _ = rand.Read(h.Mask[:])
	return engine.AppendFrame(dst, h, engine.AppendClosePayload(nil, code, ""))
}

// Events of frameScanner.next.
const (
	evMore    = iota // read more bytes: the rest is part of a frame's head
	evFrame          // a frame that ends no message was consumed (ping, pong, fragment)
	evMessage        // a data frame with FIN was consumed: one message
	evClose          // a close frame was consumed: see closeCode, closeReason
	evError          // the server sent something no parse can go past
)

// frameScanner finds the frames in what a connection reads, without
// validating them: the loader counts echoes, it does not check them. Data
// payloads are skipped, not buffered, so frames of any size pass through a
// read buffer of any size; what a caller keeps between reads is at most the
// head of one frame: its header, need bytes of a data payload, or a whole
// control frame (up to 14+125 bytes).
type frameScanner struct {
	need  int   // bytes of a first data frame's payload to see before skipping it (8: broadcast stamps)
	skip  int64 // bytes of the current data frame not read yet
	fin   bool  // the frame being skipped ends a message
	stamp int64 // the first 8 payload bytes of the latest message, little-endian (need >= 8)

	closeCode   engine.StatusCode
	closeReason string
	err         error
}

// maxKeep is the most a caller keeps between reads: a whole control frame.
const maxKeep = engine.MaxHeaderSize + engine.MaxControlPayload

var errServerMasked = errors.New("server sent a masked frame")

// next looks at the front of b and returns how many bytes it consumed and what
// they were. With evMore the caller keeps b[n:] and reads more.
func (s *frameScanner) next(b []byte) (n int, ev int) {
	if s.skip > 0 {
		if int64(len(b)) < s.skip {
			s.skip -= int64(len(b))
			return len(b), evMore
		}
		n = int(s.skip)
		s.skip = 0
		if s.fin {
			return n, evMessage
		}
		return n, evFrame
	}
	var h engine.Header
	hn, err := engine.ParseHeader(b, &h)
	if err != nil {
		s.err = err
		return 0, evError
	}
	if hn > len(b) {
		return 0, evMore
	}
	if h.OpCode.IsControl() {
		if h.Length > engine.MaxControlPayload {
			s.err = engine.ErrControlTooLong
			return 0, evError
		}
		end := hn + int(h.Length)
		if end > len(b) {
			return 0, evMore
		}
		if h.OpCode != engine.OpClose {
			return end, evFrame // ping or pong: ignored (a run is shorter than any ping timeout)
		}
		p := b[hn:end]
		if h.Masked {
			s.err = errServerMasked
			return end, evError
		}
		s.closeCode, s.closeReason = engine.StatusNoStatusReceived, ""
		if len(p) >= 2 {
			s.closeCode = engine.StatusCode(binary.BigEndian.Uint16(p))
			s.closeReason = string(p[2:])
		}
		return end, evClose
	}
	if s.need > 0 && h.OpCode != engine.OpContinuation {
		want := int64(min(s.need, 8))
		if h.Length < want {
			want = h.Length
		}
		if int64(len(b)-hn) < want {
			return 0, evMore
		}
		var st [8]byte
		copy(st[:], b[hn:hn+int(want)])
		s.stamp = readStamp(st)
	}
	if rest := int64(len(b) - hn); rest < h.Length {
		s.skip, s.fin = h.Length-rest, h.Fin
		return len(b), evMore
	}
	n = hn + int(h.Length)
	if h.Fin {
		return n, evMessage
	}
	return n, evFrame
}

// closeError describes a close frame from the server.
func (s *frameScanner) closeError() error {
	if s.closeReason != "" {
		return fmt.Errorf("server closed: %d (%s): %q", s.closeCode, s.closeCode, s.closeReason)
	}
	return fmt.Errorf("server closed: %d (%s)", s.closeCode, s.closeCode)
}

// stampRing is a FIFO of send times, one per message in flight: a write of k
// frames pushes its time k times, and each echo pops the oldest (an echo
// server answers in order on one connection).
type stampRing struct {
	t          []int64
	head, n    int
	mask       int
	overflowed bool
}

func newStampRing(capacity int) stampRing {
	size := 1
	for size < capacity {
		size <<= 1
	}
	return stampRing{t: make([]int64, size), mask: size - 1}
}

func (r *stampRing) pushN(t int64, k int) {
	for range k {
		if r.n == len(r.t) {
			r.overflowed = true
			return
		}
		r.t[(r.head+r.n)&r.mask] = t
		r.n++
	}
}

// pop returns the oldest stamp; ok is false when the ring is empty (more
// echoes than messages sent: the server is not an echo server).
func (r *stampRing) pop() (t int64, ok bool) {
	if r.n == 0 {
		return 0, false
	}
	t = r.t[r.head]
	r.head = (r.head + 1) & r.mask
	r.n--
	return t, true
}

// putStamp writes t (ns, under 2^56: two years of a loader's clock) into
// b[:8] as 7-bit groups, low first: ASCII, so that a text message carrying
// it stays valid UTF-8.
func putStamp(b []byte, t int64) {
	for i := range 8 {
		b[i] = byte(t>>(7*i)) & 0x7f
	}
}

// readStamp reads what putStamp wrote.
func readStamp(b [8]byte) int64 {
	var t int64
	for i := range 8 {
		t |= int64(b[i]&0x7f) << (7 * i)
	}
	return t
}
