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

func freeMax() int { return 2 * runtime.GOMAXPROCS(0) }

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
	b := d.out.b
	if bytes.HasSuffix(b, deflateTail) {
		b = b[:len(b)-len(deflateTail)]
	}
	return b
}

// inflater is a decompressor with its input and output buffers.
type inflater struct {
	fr  io.ReadCloser // also a flate.Resetter
	src bytes.Reader
	in  []byte
	out []byte
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

// inflate decompresses a message's payload p (dict is the window before
// it) into f.out. It stops as soon as the output passes limit
// (ErrMessageTooBig), so a bomb costs no more than the limit and one
// growth step. The output buffer's capacity is reserved in budget while
// in use (res, which the caller releases).
func (f *inflater) inflate(p, dict []byte, limit int64, budget *Budget, res *int64) ([]byte, error) {
	f.in = append(append(f.in[:0], p...), inflateEnd...)
	f.src.Reset(f.in)
	if err := f.fr.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return nil, ErrBadCompressedData
	}
	out := f.out[:0]
	if !budget.Reserve(int64(cap(out))) {
		return nil, ErrBudget
	}
	*res += int64(cap(out))
	for {
		if len(out) == cap(out) {
			if int64(len(out)) > limit {
				f.out = out
				return nil, ErrMessageTooBig
			}
			size := min(max(2*int64(cap(out)), 4096), limit+1)
			if !budget.Reserve(size - int64(cap(out))) {
				f.out = out
				return nil, ErrBudget
			}
			*res += size - int64(cap(out))
			nb := make([]byte, len(out), size)
			copy(nb, out)
			out = nb
		}
		k, err := f.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+k]
		if int64(len(out)) > limit {
			f.out = out
			return nil, ErrMessageTooBig
		}
		if err == io.EOF {
			f.out = out
			return out, nil
		}
		if err != nil {
			f.out = out
			return nil, ErrBadCompressedData
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
