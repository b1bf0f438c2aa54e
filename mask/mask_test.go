package mask_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/guard"
	"github.com/tachyonws/tachyon/internal/kerneltest"
	"github.com/tachyonws/tachyon/internal/race"
	"github.com/tachyonws/tachyon/mask"
)

// oracle masks b one byte at a time, as RFC 6455 section 5.3 states the rule.
func oracle(b []byte, key [4]byte, pos int) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

var keys = [][4]byte{{0, 0, 0, 0}, {0xFF, 0xFF, 0xFF, 0xFF}, {0x12, 0x34, 0x56, 0x78}, {0x80, 0x01, 0xFE, 0x7F}}

// lengths covers every length up to a few vectors, then a sparser set with the
// lengths around every vector and loop size.
func lengths() []int {
	var ns []int
	every := 300
	if race.Enabled || testing.Short() {
		every = 130 // two 64-byte vectors and the tails around them
	}
	for n := 0; n <= every; n++ {
		ns = append(ns, n)
	}
	for n := 301; n <= 1100; n += 13 {
		ns = append(ns, n)
	}
	return append(ns, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097, 65536+3, 1<<20+5)
}

func TestApplyMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 1<<20+32)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	got := make([]byte, len(src))
	want := make([]byte, len(src))
	check := func(t *testing.T, name string, apply func([]byte, [4]byte, int) int) {
		for _, n := range lengths() {
			for align := 0; align < 8; align++ {
				for _, key := range keys {
					pos := (n + align) & 7 // every pos 0..7, more or less at random
					copy(got, src[:n+16])
					copy(want, src[:n+16])
					gp := apply(got[align:align+n], key, pos)
					wp := oracle(want[align:align+n], key, pos)
					if gp != wp || !bytes.Equal(got[:n+16], want[:n+16]) {
						t.Fatalf("%s: len %d align %d key %x pos %d: returned %d, want %d; bytes differ: %v",
							name, n, align, key, pos, gp, wp, !bytes.Equal(got[:n+16], want[:n+16]))
					}
				}
			}
		}
	}
	kerneltest.ForEachLevel(t, func(t *testing.T) { check(t, "Apply", mask.Apply) })
	t.Run("ApplyGeneric", func(t *testing.T) { check(t, "ApplyGeneric", mask.ApplyGeneric) })
}

func TestApplyNegativeAndLargePos(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for _, pos := range []int{-9, -4, -3, -1, 4, 5, 1 << 40, -(1 << 40) + 1} {
		got := bytes.Repeat([]byte{0xAA}, 37)
		want := bytes.Clone(got)
		if gp, wp := mask.Apply(got, key, pos), oracle(want, key, pos); gp != wp || !bytes.Equal(got, want) {
			t.Errorf("pos %d: returned %d want %d, bytes equal %v", pos, gp, wp, bytes.Equal(got, want))
		}
	}
}

// A payload unmasked in pieces, each call starting where the last one ended,
// equals the payload unmasked at once.
func TestApplyPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		for trial := 0; trial < 300; trial++ {
			n := rng.IntN(3000)
			want := make([]byte, n)
			for i := range want {
				want[i] = byte(rng.Uint32())
			}
			got := bytes.Clone(want)
			key := [4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
			start := rng.IntN(4)
			oracle(want, key, start)
			pos, rest := start, got
			for len(rest) > 0 {
				k := rng.IntN(min(len(rest), 200) + 1)
				pos = mask.Apply(rest[:k], key, pos)
				rest = rest[k:]
			}
			if !bytes.Equal(got, want) || pos != (start+n)&3 {
				t.Fatalf("trial %d (len %d): pieces differ from one shot", trial, n)
			}
		}
	})
}

// The kernels read and write nothing outside the slice: slices flush against an
// inaccessible page on either side fault if they do.
func TestApplyGuardPages(t *testing.T) {
	if !guard.Supported {
		t.Skip("no guard pages on this platform")
	}
	g, err := guard.New(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	key := [4]byte{9, 8, 7, 6}
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		for n := 0; n <= 1<<16; n = next(n) {
			for _, b := range [][]byte{g.Head(n), g.Tail(n)} {
				for i := range b {
					b[i] = byte(i)
				}
				mask.Apply(b, key, n)
				for i := range b {
					if b[i] != byte(i)^key[(n+i)&3] {
						t.Fatalf("len %d: byte %d wrong", n, i)
					}
				}
			}
		}
	})
}

// next steps through every length up to 300, then through the lengths around
// each power of two.
func next(n int) int {
	if n < 300 {
		return n + 1
	}
	for p := 512; p <= 1<<16; p <<= 1 {
		switch {
		case n < p-1:
			return p - 1
		case n < p+1:
			return n + 1
		}
	}
	return 1<<16 + 1
}

func TestApplyAllocs(t *testing.T) {
	b := make([]byte, 4096)
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		for _, n := range []int{0, 3, 16, 128, 4096} {
			if a := testing.AllocsPerRun(100, func() { mask.Apply(b[:n], [4]byte{1, 2, 3, 4}, 1) }); a != 0 {
				t.Errorf("len %d: %v allocations per call, want 0", n, a)
			}
		}
	})
}

// BenchmarkApply measures Apply at every SIMD level this machine has (the
// sub-benchmark names the level), ApplyGeneric, and copy() of the same number of
// bytes: the memory-bandwidth ceiling for a pass that reads and writes each
// byte once.
func BenchmarkApply(b *testing.B) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	buf := make([]byte, 1<<20)
	dst := make([]byte, 1<<20)
	for _, n := range kerneltest.BenchSizes {
		for _, l := range cpu.Available() {
			b.Run(fmt.Sprintf("path=%s/size=%s", l, kerneltest.SizeName(n)), func(b *testing.B) {
				defer cpu.Force(l)()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					mask.Apply(buf[:n], key, 0)
				}
			})
		}
		b.Run(fmt.Sprintf("path=ApplyGeneric/size=%s", kerneltest.SizeName(n)), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				mask.ApplyGeneric(buf[:n], key, 0)
			}
		})
		b.Run(fmt.Sprintf("path=copy/size=%s", kerneltest.SizeName(n)), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				copy(dst[:n], buf[:n])
			}
		})
	}
}

// BenchmarkApplyPageEnd masks payloads that end right before an inaccessible
// page. A masked vector load or store whose window reaches into such a page
// does not fault but costs a microcode assist of hundreds of nanoseconds, so
// the AVX-512 kernel places its window inside b's pages: these numbers should
// match BenchmarkApply's.
func BenchmarkApplyPageEnd(b *testing.B) {
	if !guard.Supported {
		b.Skip("no guard pages on this platform")
	}
	g, err := guard.New(4096)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Free()
	for _, n := range []int{40, 1000} {
		for _, l := range cpu.Available() {
			b.Run(fmt.Sprintf("path=%s/size=%dB", l, n), func(b *testing.B) {
				defer cpu.Force(l)()
				p := g.Tail(n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					mask.Apply(p, [4]byte{1, 2, 3, 4}, 0)
				}
			})
		}
	}
}
