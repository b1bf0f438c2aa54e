package engine

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tachyonws/tachyon/internal/kerneltest"
)

// BenchmarkDecode feeds a server Conn one masked frame per iteration and
// dispatches it to a handler that does nothing: header parse and checks,
// unmasking, UTF-8 validation for text, and the call. Each iteration first
// copies the frame into the read buffer (Feed unmasks in place), as reading
// it from the socket would.
func BenchmarkDecode(b *testing.B) {
	for _, op := range []OpCode{OpText, OpBinary} {
		for _, n := range []int{16, 128, 4 << 10, 64 << 10} {
			payload := kerneltest.Text("mixed", n)
			src := frame(RoleServer, true, op, string(payload))
			buf := make([]byte, len(src))
			b.Run(fmt.Sprintf("op=%v/size=%s", op, kerneltest.SizeName(n)), func(b *testing.B) {
				c := NewConn(RoleServer, nopEvents{}, Config{})
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				for b.Loop() {
					copy(buf, src)
					if _, err := c.Feed(buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeSettled is BenchmarkDecode with the frame copied into its
// read buffer 32 iterations before it is fed (a ring of 64 buffers), as a
// socket read that returned some time before; the copy is still paid in
// every iteration. BenchmarkDecode copies right before Feed, so the first
// loads of the frame wait for the copy's stores: a worst case no socket
// read (a system call away) produces.
func BenchmarkDecodeSettled(b *testing.B) {
	for _, op := range []OpCode{OpText, OpBinary} {
		for _, n := range []int{16, 128, 4 << 10} {
			payload := kerneltest.Text("mixed", n)
			src := frame(RoleServer, true, op, string(payload))
			const ring = 64
			bufs := make([][]byte, ring)
			for i := range bufs {
				bufs[i] = bytes.Clone(src)
			}
			b.Run(fmt.Sprintf("op=%v/size=%s", op, kerneltest.SizeName(n)), func(b *testing.B) {
				c := NewConn(RoleServer, nopEvents{}, Config{})
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					copy(bufs[(i+ring/2)%ring], src)
					if _, err := c.Feed(bufs[i%ring]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkDecodeFragmented reads a 4 KiB text message sent as four
// fragments, assembled in a pooled buffer.
func BenchmarkDecodeFragmented(b *testing.B) {
	p := kerneltest.Text("mixed", 4<<10)
	q := len(p) / 4
	src := cat(frame(RoleServer, false, OpText, string(p[:q])), frame(RoleServer, false, OpContinuation, string(p[q:2*q])),
		frame(RoleServer, false, OpContinuation, string(p[2*q:3*q])), frame(RoleServer, true, OpContinuation, string(p[3*q:])))
	buf := make([]byte, len(src))
	c := NewConn(RoleServer, nopEvents{}, Config{})
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, src)
		if _, err := c.Feed(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode queues one message per iteration and drops the output, for
// a server (unmasked) and a client (masked with a fresh key).
func BenchmarkEncode(b *testing.B) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, n := range []int{16, 128, 4 << 10, 64 << 10} {
			payload := bytes.Repeat([]byte("x"), n)
			b.Run(fmt.Sprintf("role=%v/size=%s", role, kerneltest.SizeName(n)), func(b *testing.B) {
				c := NewConn(role, nopEvents{}, Config{})
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					_ = c.WriteMessage(OpBinary, payload)
					c.Advance(len(c.Output()))
				}
			})
		}
	}
}

// BenchmarkDecodePings feeds a server Conn 64 KiB of masked pings with a
// 16-byte payload (what a ping flooder's read brings) and drops the pongs
// it queues: the cost of answering a ping, reported per ping.
func BenchmarkDecodePings(b *testing.B) {
	one := frame(RoleServer, true, OpPing, "0123456789abcdef")
	src := bytes.Repeat(one, (64<<10)/len(one))
	pings := len(src) / len(one)
	buf := make([]byte, len(src))
	c := NewConn(RoleServer, nopEvents{}, Config{})
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, src)
		for off := 0; off < len(buf); {
			n, err := c.Feed(buf[off:])
			if err != nil {
				b.Fatal(err)
			}
			off += n
			c.TakePongs()
		}
		out := c.SwapOutput(nil)
		c.SwapOutput(out[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pings), "ns/ping")
}
