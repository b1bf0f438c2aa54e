package engine

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/flate"
)

// feedLike returns n bytes shaped like a chat or market feed's JSON, as
// `tachyon load -deflate` sends (the same generator as package load): the
// same keys in every record, values that vary; it compresses 3 to 5 times,
// less than jsonish.
func feedLike(n int) []byte {
	b := make([]byte, 0, n+128)
	x := uint32(2463534242)
	next := func() uint32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x }
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"seq":%d,"user":"user%d","room":"r%d","price":%d.%02d,"text":"%x"},`,
			i, next()%500, next()%20, next()%10000, next()%100, next())
	}
	return b[:n]
}

// BenchmarkDeflateCodec measures a server's work for one compressed echo
// without I/O: inflating a message compressed by the client (here by
// compress/flate at its default level, as the loader does) and
// compressing the echo at level 1 without a dictionary.
//
//   - flate: the library called directly with preallocated buffers, the
//     floor any wrapper can reach;
//   - engine: the engine's pooled codecs (inflater.inflate,
//     deflater.compress) as a Conn uses them;
//   - conn: a server Conn fed the masked frame, validating the text and
//     writing the echo (the reactor's work per message, syscalls aside).
func BenchmarkDeflateCodec(b *testing.B) {
	inputs := []struct {
		name string
		gen  func(int) []byte
	}{
		{"json", func(n int) []byte { return jsonish(rand.New(rand.NewPCG(3, 4)), n) }},
		{"feed", feedLike},
	}
	for _, in := range inputs {
		for _, size := range []int{1 << 10, 16 << 10} {
			msg := in.gen(size)
			var z bytes.Buffer
			sw, _ := stdflate.NewWriter(&z, stdflate.DefaultCompression)
			_, _ = sw.Write(msg)
			_ = sw.Flush()
			wire := bytes.TrimSuffix(z.Bytes(), deflateTail)
			name := fmt.Sprintf("%s/%dKiB", in.name, size>>10)
			b.Run("codec=flate/"+name, func(b *testing.B) {
				var out bytes.Buffer
				out.Grow(2 * size)
				w, _ := flate.NewWriter(&out, 1)
				var src bytes.Reader
				r := flate.NewReader(&src)
				stream := append(bytes.Clone(wire), inflateEnd...)
				dst := make([]byte, size+1)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					src.Reset(stream)
					_ = r.(flate.Resetter).Reset(&src, nil)
					n := 0
					for {
						k, err := r.Read(dst[n:])
						n += k
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					out.Reset()
					w.Reset(&out)
					_, _ = w.Write(dst[:n])
					_ = w.Flush()
				}
			})
			b.Run("codec=engine/"+name, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					f := getInflater()
					var res int64
					p, err := f.inflate(wire, nil, 1<<30, nil, &res)
					if err != nil || len(p) != size {
						b.Fatalf("%d bytes inflated: %v", len(p), err)
					}
					z := getDeflater(15, 1)
					_ = z.compress(p, nil)
					z.release()
					f.release()
				}
			})
			b.Run("codec=conn/"+name, func(b *testing.B) {
				_, sd := agree(b, &Compression{}, &Compression{})
				e := &echoEvents{}
				c := NewConn(RoleServer, e, Config{Deflate: sd})
				e.c = c
				frame := AppendFrame(nil, Header{Fin: true, Rsv: Rsv1, OpCode: OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, wire)
				buf := make([]byte, len(frame))
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					copy(buf, frame) // Feed unmasks in place
					if _, err := c.Feed(buf); err != nil {
						b.Fatal(err)
					}
					c.Advance(len(c.Output()))
				}
				if e.n == 0 {
					b.Fatal("no message")
				}
			})
		}
	}
}

// echoEvents writes every message back on c.
type echoEvents struct {
	countEvents
	c *Conn
}

func (e *echoEvents) OnMessage(op OpCode, p []byte) {
	e.n++
	_ = e.c.WriteMessage(op, p)
}
