package engine

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// ErrBadCompressedData fails a connection whose compressed message does not
// inflate (RFC 7692 section 6.2: the endpoint "MUST _Fail the WebSocket
// Connection_"). It carries 1007: the message's data is not what its frame
// says it is.
var ErrBadCompressedData = &ProtocolError{StatusInvalidFramePayloadData, "compressed message does not inflate"}

// ErrCompressedControl fails a connection that sets RSV1 on a control frame
// or a continuation frame: permessage-deflate marks a compressed message on
// its first frame only (RFC 7692 section 6.1).
var ErrCompressedControl = &ProtocolError{StatusProtocolError, "RSV1 on a control or continuation frame"}

// The compressor and decompressor state is borrowed per message from
// process-wide free lists and given back at once, so the number alive is
// the number in use at the same time (about one per event loop or writing
// goroutine), never one per connection. A free list keeps at most
// freeMax entries; extras go to the garbage collector.

type freeList[T any] struct {
	mu   sync.Mutex
	free []*T
}

// freeMax is read once: runtime.GOMAXPROCS takes the scheduler's lock,
// which a message's codec return must not.
var freeMax = sync.OnceValue(func() int { return 2 * runtime.GOMAXPROCS(0) })

func (l *freeList[T]) get() *T {
	l.mu.Lock()
	n := len(l.free)
	if n == 0 {
		l.mu.Unlock()
		return nil
	}
	x := l.free[n-1]
	l.free[n-1] = nil
	l.free = l.free[:n-1]
	l.mu.Unlock()
	return x
}

func (l *freeList[T]) put(x *T) {
	l.mu.Lock()
	if len(l.free) < freeMax() {
		l.free = append(l.free, x)
	}
	l.mu.Unlock()
}

// sink is an io.Writer appending to a slice (the compressor's output).
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// deflater is a compressor with its output buffer.
type deflater struct {
	fw   *flate.Writer
	out  sink
	pool *freeList[deflater]
}

// deflaters: [0..6] windowed (8 to 14 bits), [7..15] 15 bits at levels 1 to 9.
var deflaters [16]freeList[deflater]

func deflaterIndex(bits uint8, level int) int {
	if bits < 15 {
		return int(bits) - 8
	}
	return 7 + level - 1
}

func getDeflater(bits uint8, level int) *deflater {
	l := &deflaters[deflaterIndex(bits, level)]
	if d := l.get(); d != nil {
		return d
	}
	d := &deflater{pool: l}
	var err error
	if bits < 15 {
		d.fw, err = flate.NewWriterWindow(&d.out, 1<<bits)
	} else {
		d.fw, err = flate.NewWriter(&d.out, level)
	}
	if err != nil {
		panic("engine: flate: " + err.Error()) // bits and level are checked
	}
	return d
}

func (d *deflater) release() {
	if cap(d.out.b) > maxPooled {
		d.out.b = nil
	}
	d.pool.put(d)
}

// deflateTail ends every flushed deflate stream; RFC 7692 section 7.2.1
// has the sender drop it and the receiver put it back.
var deflateTail = []byte{0, 0, 0xff, 0xff}

// compress deflates p (with dict as the window before it) into d.out and
// returns the payload of a compressed message: the flushed stream without
// its tail.
func (d *deflater) compress(p, dict []byte) []byte {
	d.out.b = d.out.b[:0]
	d.fw.ResetDict(&d.out, dict)
	// Writing to a sink cannot fail.
	_, _ = d.fw.Write(p)
	_ = d.fw.Flush()
	return bytes.TrimSuffix(d.out.b, deflateTail)
}

// inflater is a decompressor with its input and output buffers.
type inflater struct {
	fr     io.ReadCloser // also a flate.Resetter
	src    bytes.Reader
	in     []byte
	out    []byte
	chunks [][]byte // pieces of a long message, kept only while it inflates
}

var inflaters freeList[inflater]

func getInflater() *inflater {
	if f := inflaters.get(); f != nil {
		return f
	}
	f := &inflater{}
	f.fr = flate.NewReader(&f.src)
	return f
}

func (f *inflater) release() {
	if cap(f.out) > maxPooled {
		f.out = nil
	}
	if cap(f.in) > maxPooled {
		f.in = nil
	}
	f.src.Reset(nil)
	inflaters.put(f)
}

// inflateEnd is the tail the sender removed followed by an empty final
// block, so that the decompressor ends with io.EOF where the message ends.
var inflateEnd = []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

// inflateChunk is the size of the pieces a long message is inflated into
// past its first inflateChunk bytes.
const inflateChunk = 1 << 20

// inflate decompresses a message's payload p (dict is the window before
// it) and returns the message. It stops as soon as the output passes limit
// (ErrMessageTooBig). The first inflateChunk bytes go into f.out, which
// doubles; the rest into pieces of inflateChunk bytes joined once the
// message is complete, so that a bomb costs the limit and no more (no
// buffer is copied and dropped on the way to it), and a message that
// completes costs twice its size at most for a moment. Every buffer is
// reserved in budget before it is allocated (res, which the caller
// releases).
func (f *inflater) inflate(p, dict []byte, limit int64, budget *Budget, res *int64) ([]byte, error) {
	f.in = append(append(f.in[:0], p...), inflateEnd...)
	f.src.Reset(f.in)
	if err := f.fr.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return nil, ErrBadCompressedData
	}
	reserve := func(n int) bool {
		if !budget.Reserve(int64(n)) {
			return false
		}
		*res += int64(n)
		return true
	}
	out := f.out[:0]
	if !reserve(cap(out)) {
		return nil, ErrBudget
	}
	total := int64(0) // bytes in full chunks
	chunks := f.chunks[:0]
	defer func() {
		clear(chunks) // the pieces go to the collector, f keeps none
		f.chunks = chunks[:0]
	}()
	cur := out // the buffer being filled: out, or the last chunk
	for {
		if len(cur) == cap(cur) {
			switch {
			case total+int64(len(out)) > limit:
				f.out = out
				return nil, ErrMessageTooBig
			case len(chunks) == 0 && cap(out) < inflateChunk:
				size := min(max(2*cap(out), 4096), inflateChunk)
				if !reserve(size - cap(out)) {
					f.out = out
					return nil, ErrBudget
				}
				nb := make([]byte, len(out), size)
				copy(nb, out)
				out, cur = nb, nb
			default:
				if len(chunks) > 0 {
					chunks[len(chunks)-1] = cur
					total += int64(len(cur))
				}
				size := int(min(inflateChunk, limit+1-total-int64(len(out))))
				if size <= 0 {
					size = 1
				}
				if !reserve(size) {
					f.out = out
					return nil, ErrBudget
				}
				cur = make([]byte, 0, size)
				chunks = append(chunks, cur)
			}
		}
		k, err := f.fr.Read(cur[len(cur):cap(cur)])
		cur = cur[:len(cur)+k]
		if len(chunks) == 0 {
			out = cur
		}
		have := total + int64(len(out))
		if len(chunks) > 0 {
			have += int64(len(cur))
		}
		if have > limit {
			f.out = out
			return nil, ErrMessageTooBig
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			f.out = out
			return nil, ErrBadCompressedData
		}
	}
	f.out = out
	if len(chunks) == 0 {
		return out, nil
	}
	chunks[len(chunks)-1] = cur
	total += int64(len(cur))
	size := int64(len(out)) + total
	if !reserve(int(size)) {
		return nil, ErrBudget
	}
	msg := make([]byte, 0, size)
	msg = append(msg, out...)
	for i, c := range chunks {
		msg = append(msg, c...)
		chunks[i] = nil
	}
	return msg, nil
}

// count inflates the first bytes of a compressed message (dict is the
// window before it) into a scratch buffer, and fails with
// ErrMessageTooBig when they already inflate past limit, or
// ErrBadCompressedData when they cannot be the start of a deflate stream.
func (f *inflater) count(p, dict []byte, limit int64) error {
	f.src.Reset(p)
	if err := f.fr.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return ErrBadCompressedData
	}
	if cap(f.out) < 32<<10 {
		f.out = make([]byte, 0, 32<<10)
	}
	scratch := f.out[:cap(f.out)]
	total := int64(0)
	for {
		k, err := f.fr.Read(scratch)
		total += int64(k)
		switch {
		case total > limit:
			return ErrMessageTooBig
		case err == io.ErrUnexpectedEOF || err == io.EOF:
			return nil // the rest is still to come
		case err != nil:
			return ErrBadCompressedData
		}
	}
}

// deflateHist holds a connection's context-takeover windows: the last
// bytes it compressed (out) and inflated (in), up to 2^bits each.
type deflateHist struct {
	out, in []byte
}

// keepWindow appends p to the window h, keeping its last size bytes. The
// window is allocated at its full size on first use.
func keepWindow(h []byte, p []byte, size int) []byte {
	if h == nil {
		h = make([]byte, 0, size)
	}
	switch {
	case len(p) >= size:
		h = append(h[:0], p[len(p)-size:]...)
	case len(h)+len(p) <= size:
		h = append(h, p...)
	default:
		keep := size - len(p)
		copy(h, h[len(h)-keep:])
		h = append(h[:keep], p...)
	}
	return h
}
