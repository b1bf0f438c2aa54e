package bench

import (
	"fmt"
	"testing"

	"github.com/gobwas/ws"
	"github.com/tachyonws/tachyon/internal/kerneltest"
	"github.com/tachyonws/tachyon/mask"
)

// BenchmarkMask unmasks a payload in place with Tachyon's dispatched
// mask.Apply, its pure-Go mask.ApplyGeneric, gobwas/ws's Cipher, and copies it
// with copy() (the bandwidth ceiling). Contenders of one size run next to each
// other.
func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	buf := make([]byte, 1<<20)
	dst := make([]byte, 1<<20)
	for _, n := range kerneltest.BenchSizes {
		p := buf[:n]
		run := func(name string, f func()) {
			b.Run(fmt.Sprintf("size=%s/lib=%s", kerneltest.SizeName(n), name), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					f()
				}
			})
		}
		run("tachyon", func() { mask.Apply(p, key, 1) })
		run("gobwas", func() { ws.Cipher(p, key, 1) })
		run("tachyon-generic", func() { mask.ApplyGeneric(p, key, 1) })
		run("copy", func() { copy(dst[:n], p) })
	}
}

// TestSameResult keeps the comparison honest: both libraries must compute the
// same bytes for the benchmark's inputs.
func TestSameResult(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for n := 0; n < 5000; n += 7 {
		for off := 0; off < 4; off++ {
			a := make([]byte, n)
			for i := range a {
				a[i] = byte(i * 31)
			}
			c := append([]byte(nil), a...)
			mask.Apply(a, key, off)
			ws.Cipher(c, key, off)
			if string(a) != string(c) {
				t.Fatalf("len %d offset %d: tachyon and gobwas disagree", n, off)
			}
		}
	}
}
