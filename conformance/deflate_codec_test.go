package conformance

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// The suite's permessage-deflate codec (RFC 7692 section 7.2), built on the
// standard library's compress/flate and nothing of the engine's: the tail
// handling and the context-takeover windows are done here. Three helpers
// the standard library does not have are written out by hand: a
// fixed-Huffman encoder for streams whose back-references the suite must
// control (the takeover probes, bombs), and a small inflater that reports
// the farthest back-reference, to check a peer's window (the standard
// library's inflater accepts any distance up to 32 KiB).

// deflateTail ends a flushed deflate stream; the sender drops it and the
// receiver puts it back (section 7.2.1, 7.2.2).
var deflateTail = []byte{0, 0, 0xff, 0xff}

// deflateEnd is the tail followed by an empty final stored block, so that
// an inflater ends with io.EOF where the message ends.
var deflateEnd = []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

// compressor compresses this end's messages with a window of 2^bits bytes,
// keeping its context across messages when takeover is allowed.
//
// With a 15-bit window one flate.Writer at level 1 runs over the whole
// connection, flushed after each message (a sync flush, whose tail is
// dropped) and reset between messages without takeover. The standard
// library cannot shrink its window, so below 15 bits each 2^bits-byte
// chunk is compressed by a reset writer: no back-reference can reach
// outside its chunk, and none into an earlier message.
type compressor struct {
	bits     int
	takeover bool
	fw       *flate.Writer
	out      bytes.Buffer
	fresh    bool // the writer holds no history: reset it before use
}

func newCompressor(bits int, takeover bool) *compressor {
	c := &compressor{bits: bits, takeover: takeover}
	c.fw, _ = flate.NewWriter(&c.out, flate.BestSpeed)
	return c
}

// compress returns the payload of a compressed message holding p: the
// flushed stream without its tail.
func (c *compressor) compress(p []byte) []byte {
	c.out.Reset()
	if c.bits >= 15 {
		if !c.takeover || c.fresh {
			c.fw.Reset(&c.out)
			c.fresh = false
		}
		_, _ = c.fw.Write(p)
		_ = c.fw.Flush()
	} else {
		chunk := 1 << c.bits
		for first := true; first || len(p) > 0; first = false {
			n := min(chunk, len(p))
			c.fw.Reset(&c.out)
			_, _ = c.fw.Write(p[:n])
			_ = c.fw.Flush()
			p = p[n:]
		}
		c.fresh = true
	}
	b := c.out.Bytes()
	if !bytes.HasSuffix(b, deflateTail) {
		panic("conformance: compress/flate's flush did not end with 00 00 ff ff")
	}
	return bytes.Clone(b[:len(b)-len(deflateTail)])
}

// forget drops the writer's history: after a message the suite built by
// hand, the writer's window no longer matches the peer's.
func (c *compressor) forget() { c.fresh = true }

// decompressor inflates the peer's messages: its window is 2^bits bytes,
// kept across messages when the peer keeps its context (takeover).
type decompressor struct {
	bits     int
	takeover bool
	fr       io.ReadCloser
	hist     []byte // the last 2^bits bytes inflated, with takeover
	src      bytes.Reader
}

func newDecompressor(bits int, takeover bool) *decompressor {
	d := &decompressor{bits: bits, takeover: takeover}
	d.fr = flate.NewReader(&d.src)
	return d
}

// errTooBig is an inflated message past the suite's limit.
var errTooBig = errors.New("inflates to more than the suite's limit")

// inflate decompresses the payload of a compressed message (at most limit
// bytes out). With a window below 15 bits it also decodes the stream with
// the suite's own inflater and fails a back-reference farther than the
// window (section 7.1.2: the peer "MUST NOT use an LZ77 sliding window
// longer than" it), within the message or into the ones before it.
func (d *decompressor) inflate(p []byte, limit int) ([]byte, error) {
	in := append(bytes.Clone(p), deflateEnd...)
	var dict []byte
	if d.takeover {
		dict = d.hist
	}
	d.src.Reset(in)
	if err := d.fr.(flate.Resetter).Reset(&d.src, dict); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(d.fr, int64(limit)+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("does not inflate (compress/flate: %v)", err)
	case len(out) > limit:
		return nil, errTooBig
	}
	if d.bits < 15 {
		got, far, err := inflateDistances(in, dict, limit)
		switch {
		case err != nil:
			return nil, fmt.Errorf("does not inflate (the suite's inflater: %v)", err)
		case !bytes.Equal(got, out):
			return nil, fmt.Errorf("inflates differently in the suite's inflater and compress/flate")
		case far > 1<<d.bits:
			return nil, fmt.Errorf("refers %d bytes back, past the negotiated %d-bit window (RFC 7692 section 7.1.2)", far, d.bits)
		}
	}
	if d.takeover {
		d.hist = appendWindow(d.hist, out, 1<<d.bits)
	}
	return out, nil
}

// appendWindow appends p to the window h and keeps its last size bytes.
func appendWindow(h, p []byte, size int) []byte {
	h = append(h, p...)
	if len(h) > size {
		h = append(h[:0:0], h[len(h)-size:]...)
	}
	return h
}

// A token of a hand-built deflate stream: a literal byte, or a copy of
// length bytes from dist bytes back.
type token struct {
	lit          byte
	length, dist int // 0: a literal
}

func copyTok(length, dist int) token { return token{length: length, dist: dist} }

// Lengths and distances of RFC 1951 section 3.2.5: base values and extra
// bits, by code.
var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// bitWriter writes a deflate stream: values least significant bit first,
// Huffman codes most significant bit first.
type bitWriter struct {
	b   []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) code(c uint64, n uint) {
	var r uint64
	for i := uint(0); i < n; i++ {
		r = r<<1 | c>>i&1
	}
	w.bits(r, n)
}

// flush pads to a byte boundary.
func (w *bitWriter) flush() {
	if w.n > 0 {
		w.bits(0, 8-w.n)
	}
}

// fixedLit writes literal/length symbol s with the fixed code (RFC 1951
// section 3.2.6).
func (w *bitWriter) fixedLit(s int) {
	switch {
	case s < 144:
		w.code(uint64(0x30+s), 8)
	case s < 256:
		w.code(uint64(0x190+s-144), 9)
	case s < 280:
		w.code(uint64(s-256), 7)
	default:
		w.code(uint64(0xc0+s-280), 8)
	}
}

// fixedBlock returns the payload of a compressed message made of one
// non-final fixed-Huffman block of toks, sync-flushed, tail removed.
func fixedBlock(toks []token) []byte {
	var w bitWriter
	w.bits(0, 1) // BFINAL
	w.bits(1, 2) // BTYPE 01: fixed codes
	for _, t := range toks {
		if t.length == 0 {
			w.fixedLit(int(t.lit))
			continue
		}
		c := 28
		for lengthBase[c] > t.length {
			c--
		}
		w.fixedLit(257 + c)
		w.bits(uint64(t.length-lengthBase[c]), lengthExtra[c])
		d := 29
		for distBase[d] > t.dist {
			d--
		}
		w.code(uint64(d), 5)
		w.bits(uint64(t.dist-distBase[d]), distExtra[d])
	}
	w.fixedLit(256)
	// The sync flush: an empty stored block, whose LEN/NLEN are the tail.
	w.bits(0, 3)
	w.flush()
	return w.b
}

// copyOf is the tokens that repeat the n bytes that end dist bytes back.
func copyOf(n, dist int) []token {
	var toks []token
	for n > 0 {
		k := min(n, 258)
		if n-k > 0 && n-k < 3 {
			k -= 3 // no copy is shorter than 3
		}
		toks = append(toks, copyTok(k, dist))
		n -= k
	}
	return toks
}

// bombPayload is a compressed message that inflates to n zero bytes: a
// literal, then copies of 258 bytes from 1 back (about 1:1000). Cached.
func bombPayload(n int) []byte {
	return cached(3, n, func(n int) []byte {
		return fixedBlock(append([]token{{lit: 0}}, copyOf(n-1, 1)...))
	})
}

var errCorrupt = errors.New("corrupt stream")

// inflateDistances decodes a whole deflate stream (ending with a final
// block) after the history hist, and returns the output and the farthest
// back-reference, counted from where each copy starts. A bit at a time, as
// Mark Adler's puff does: slow, but short and independent.
func inflateDistances(in, hist []byte, limit int) (out []byte, far int, err error) {
	r := bitReader{in: in}
	out = append([]byte(nil), hist...)
	base := len(hist)
	for {
		final := r.bits(1)
		typ := r.bits(2)
		switch typ {
		case 0:
			r.n, r.acc = 0, 0 // to a byte boundary
			if r.pos+4 > len(in) {
				return nil, 0, errCorrupt
			}
			n := int(in[r.pos]) | int(in[r.pos+1])<<8
			if nn := int(in[r.pos+2]) | int(in[r.pos+3])<<8; n != ^nn&0xffff {
				return nil, 0, errCorrupt
			}
			r.pos += 4
			if r.pos+n > len(in) {
				return nil, 0, errCorrupt
			}
			out = append(out, in[r.pos:r.pos+n]...)
			r.pos += n
		case 1:
			out, far, err = r.codes(out, base, far, &fixedLitHuff, &fixedDistHuff, limit)
		case 2:
			var lit, dist huffman
			if err := r.dynamic(&lit, &dist); err != nil {
				return nil, 0, err
			}
			out, far, err = r.codes(out, base, far, &lit, &dist, limit)
		default:
			return nil, 0, errCorrupt
		}
		switch {
		case err != nil:
			return nil, 0, err
		case r.err != nil:
			return nil, 0, r.err
		case len(out)-base > limit:
			return nil, 0, errTooBig
		case final == 1:
			return out[base:], far, nil
		}
	}
}

type bitReader struct {
	in  []byte
	pos int
	acc uint32
	n   uint
	err error
}

func (r *bitReader) bits(n uint) int {
	for r.n < n {
		if r.pos >= len(r.in) {
			r.err = io.ErrUnexpectedEOF
			return 0
		}
		r.acc |= uint32(r.in[r.pos]) << r.n
		r.pos++
		r.n += 8
	}
	v := r.acc & (1<<n - 1)
	r.acc >>= n
	r.n -= n
	return int(v)
}

// huffman is a canonical code as puff keeps it: the number of codes of
// each length and the symbols in code order.
type huffman struct {
	count  [16]uint16
	symbol []uint16
}

func (h *huffman) build(lengths []uint8) error {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return errCorrupt // over-subscribed
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbol = make([]uint16, len(lengths))
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	return nil
}

func (r *bitReader) decode(h *huffman) int {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		code |= r.bits(1)
		if r.err != nil {
			return -1
		}
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first])
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return -1
}

var fixedLitHuff, fixedDistHuff = func() (huffman, huffman) {
	var l [288]uint8
	for s := range l {
		switch {
		case s < 144:
			l[s] = 8
		case s < 256:
			l[s] = 9
		case s < 280:
			l[s] = 7
		default:
			l[s] = 8
		}
	}
	var d [30]uint8
	for s := range d {
		d[s] = 5
	}
	var lh, dh huffman
	_ = lh.build(l[:])
	_ = dh.build(d[:])
	return lh, dh
}()

// codes decodes one block's symbols onto out (whose first base bytes are
// the history).
func (r *bitReader) codes(out []byte, base, far int, lit, dist *huffman, limit int) ([]byte, int, error) {
	for {
		s := r.decode(lit)
		switch {
		case s < 0:
			return nil, 0, errCorrupt
		case s < 256:
			out = append(out, byte(s))
			continue
		case s == 256:
			return out, far, nil
		case s > 285:
			return nil, 0, errCorrupt
		}
		s -= 257
		n := lengthBase[s] + r.bits(lengthExtra[s])
		ds := r.decode(dist)
		if ds < 0 || ds > 29 {
			return nil, 0, errCorrupt
		}
		d := distBase[ds] + r.bits(distExtra[ds])
		if r.err != nil {
			return nil, 0, r.err
		}
		if d > len(out) {
			return nil, 0, fmt.Errorf("a copy from %d bytes back, %d bytes into the stream", d, len(out)-base)
		}
		far = max(far, d)
		for i := 0; i < n; i++ {
			out = append(out, out[len(out)-d])
		}
		if len(out)-base > limit {
			return nil, 0, errTooBig
		}
	}
}

// dynamic reads a dynamic block's code definitions (RFC 1951 section
// 3.2.7).
func (r *bitReader) dynamic(lit, dist *huffman) error {
	nlen := r.bits(5) + 257
	ndist := r.bits(5) + 1
	ncode := r.bits(4) + 4
	if nlen > 286 || ndist > 30 {
		return errCorrupt
	}
	order := [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		cl[order[i]] = uint8(r.bits(3))
	}
	var lencode huffman
	if err := lencode.build(cl[:]); err != nil {
		return err
	}
	lengths := make([]uint8, nlen+ndist)
	for i := 0; i < len(lengths); {
		s := r.decode(&lencode)
		if s < 0 || r.err != nil {
			return errCorrupt
		}
		if s < 16 {
			lengths[i] = uint8(s)
			i++
			continue
		}
		var v uint8
		var rep int
		switch s {
		case 16:
			if i == 0 {
				return errCorrupt
			}
			v, rep = lengths[i-1], 3+r.bits(2)
		case 17:
			rep = 3 + r.bits(3)
		default:
			rep = 11 + r.bits(7)
		}
		if i+rep > len(lengths) {
			return errCorrupt
		}
		for ; rep > 0; rep-- {
			lengths[i] = v
			i++
		}
	}
	if lengths[256] == 0 {
		return errCorrupt
	}
	if err := lit.build(lengths[:nlen]); err != nil {
		return err
	}
	return dist.build(lengths[nlen:])
}
