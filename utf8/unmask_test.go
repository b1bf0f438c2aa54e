package utf8

// Tests of UnmaskValid against its definition, mask.ApplyGeneric followed by
// unicode/utf8.Valid, at every SIMD level this machine runs.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
	stdutf8 "unicode/utf8"
	"unsafe"

	"github.com/tachyonws/tachyon/internal/guard"
	"github.com/tachyonws/tachyon/internal/kerneltest"
	"github.com/tachyonws/tachyon/internal/race"
	"github.com/tachyonws/tachyon/mask"
)

// unmaskKeys are the masking keys the tests use: zero (unmasking changes
// nothing), all ones (every bit flips), and two with four distinct bytes, so
// that a key applied at the wrong phase shows.
var unmaskKeys = [][4]byte{{0, 0, 0, 0}, {0xFF, 0xFF, 0xFF, 0xFF}, {0x12, 0x34, 0x56, 0x78}, {0x80, 0xC3, 0x0F, 0xE1}}

// unmaskSlow reports whether to trim the sweeps: with -short, under the race
// detector, and on arm64, where the tests normally run under qemu.
func unmaskSlow() bool {
	return testing.Short() || race.Enabled || runtime.GOARCH == "arm64"
}

// exactText returns n bytes of sample text of the given kind, padded with ASCII
// to exactly n bytes.
func exactText(kind string, n int) []byte {
	p := kerneltest.Text(kind, n)
	return append(p, "abcd"[:n-len(p)]...)
}

// unmaskInputs returns the plain (unmasked) inputs of length n: valid texts of
// each kind, those with one byte corrupted (at the start, the middle, the last
// byte and a random place), text ending in a sequence cut short, text starting
// with a continuation byte, and random bytes.
func unmaskInputs(rng *rand.Rand, n int) map[string][]byte {
	in := map[string][]byte{}
	for _, kind := range []string{"ascii", "mixed", "cjk"} {
		in[kind] = exactText(kind, n)
	}
	if n == 0 {
		return in
	}
	bad := []byte{0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF}
	for i, at := range []int{0, n / 2, n - 1, rng.IntN(n)} {
		for j, kind := range []string{"ascii", "mixed", "cjk"} {
			p := exactText(kind, n)
			v := bad[(i*3+j+n)%len(bad)]
			p[at] = v
			in[fmt.Sprintf("%s with %#x at %d", kind, v, at)] = p
		}
	}
	for _, cut := range []string{"\xc3", "\xe2", "\xe2\x82", "\xf0", "\xf0\x9f", "\xf0\x9f\x98"} {
		if len(cut) <= n {
			p := append(exactText("mixed", n-len(cut)), cut...)
			in[fmt.Sprintf("mixed cut to %q", cut)] = p
		}
	}
	p := exactText("cjk", n)
	p[0] = 0x80
	in["cjk starting with a continuation"] = p
	r := make([]byte, n)
	for i := range r {
		r[i] = byte(rng.Uint32())
	}
	in["random bytes"] = r
	return in
}

// unmaskWant returns the masked form of plain for key and pos, and what
// UnmaskValid must make of it: the bytes and validity by mask.ApplyGeneric and
// unicode/utf8.Valid.
func unmaskWant(plain []byte, key [4]byte, pos int) (masked, want []byte, valid bool, next int) {
	masked = bytes.Clone(plain)
	mask.ApplyGeneric(masked, key, pos)
	want = bytes.Clone(masked)
	next = mask.ApplyGeneric(want, key, pos)
	return masked, want, stdutf8.Valid(want), next
}

// unmaskCheck runs UnmaskValid on a copy of masked placed at q and compares
// the answer and the bytes with the reference. It returns the panic UnmaskValid
// raised, if any (a fault on a guard page).
func unmaskCheck(t *testing.T, q, masked, want []byte, valid bool, next int, key [4]byte, pos int, where string) (ok bool) {
	t.Helper()
	copy(q, masked)
	var got bool
	var gotNext int
	fault := func() (fault any) {
		defer func() { fault = recover() }()
		got, gotNext = UnmaskValid(q, key, pos)
		return nil
	}()
	switch {
	case fault != nil:
		t.Errorf("UnmaskValid(len %d, key % x, pos %d, %s) faulted: %v", len(q), key, pos, where, fault)
	case got != valid || gotNext != next:
		t.Errorf("UnmaskValid(len %d, key % x, pos %d, %s) = %v, %d; want %v, %d; unmasked % x", len(q), key, pos, where, got, gotNext, valid, next, showShort(want))
	case !bytes.Equal(q, want):
		t.Errorf("UnmaskValid(len %d, key % x, pos %d, %s) unmasked to\n% x, want\n% x", len(q), key, pos, where, showShort(q), showShort(want))
	default:
		return true
	}
	return false
}

// kerneltestKind reports whether name is that of a plain sample text.
func kerneltestKind(name string) bool {
	return name == "ascii" || name == "mixed" || name == "cjk"
}

// uintptrOf returns the address of p's first byte.
func uintptrOf(p []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p))) }

func showShort(p []byte) []byte {
	if len(p) > 96 {
		return p[:96]
	}
	return p
}

// TestUnmaskValid compares UnmaskValid with mask.ApplyGeneric followed by
// unicode/utf8.Valid on every input of unmaskInputs of every length 0..300
// and a few long ones, with every key, every starting pos 0..3 and at 8
// alignments inside a larger buffer whose bytes around the input must stay as
// they were.
func TestUnmaskValid(t *testing.T) {
	lengths := []int{}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 511, 1024, 1027, 4096, 65536+3)
	aligns := 8
	if unmaskSlow() {
		aligns = 2
	}
	const fill = 0xE2 // a lead byte: reading it would change the answer
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		fails := 0
		for _, n := range lengths {
			buf := make([]byte, n+aligns+64)
			for name, plain := range unmaskInputs(rng, n) {
				if unmaskSlow() && n > 64 && !kerneltestKind(name) && rng.IntN(4) != 0 {
					continue // all the plain texts, a quarter of the others
				}
				for ki, key := range unmaskKeys {
					for pos := range 4 {
						masked, want, valid, next := unmaskWant(plain, key, pos+4*ki) // pos beyond 3 too
						for a := range aligns {
							for i := range buf {
								buf[i] = fill
							}
							q := buf[a : a+n : a+n]
							if !unmaskCheck(t, q, masked, want, valid, next, key, pos+4*ki, fmt.Sprintf("%s at alignment %d", name, a)) {
								fails++
							}
							for i, c := range buf {
								if (i < a || i >= a+n) && c != fill {
									t.Errorf("UnmaskValid(%s, len %d, alignment %d) wrote byte %d of the buffer, outside the input", name, n, a, i)
									fails++
									break
								}
							}
							if fails > 10 {
								t.FailNow()
							}
						}
					}
				}
			}
		}
	})
}

// TestUnmaskValidGuardPages runs UnmaskValid on inputs flush against a
// PROT_NONE page before and after them, for every length 0..200 and a few long
// ones, so that any byte read or written outside the input faults.
func TestUnmaskValidGuardPages(t *testing.T) {
	if !guard.Supported {
		t.Skip("no guard pages on this platform")
	}
	lengths := []int{}
	for n := 0; n <= 200; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 255, 256, 257, 1000, 4095, 4096, 4097, 8191, 8192)
	g, err := guard.New(8192)
	if err != nil {
		t.Fatalf("guard.New: %v", err)
	}
	defer g.Free()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		fails := 0
		for _, n := range lengths {
			for name, plain := range unmaskInputs(rng, n) {
				key, pos := unmaskKeys[rng.IntN(len(unmaskKeys))], rng.IntN(4)
				masked, want, valid, next := unmaskWant(plain, key, pos)
				for _, side := range []string{"head", "tail"} {
					q := g.Head(n)
					if side == "tail" {
						q = g.Tail(n)
					}
					if !unmaskCheck(t, q, masked, want, valid, next, key, pos, name+", flush against the guard page at its "+side) {
						fails++
						if fails > 10 {
							t.FailNow()
						}
					}
				}
			}
		}
	})
}

// TestUnmaskValidAllocs checks that UnmaskValid does not allocate.
func TestUnmaskValidAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	p := kerneltest.Text("mixed", 1000)
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		for _, n := range []int{0, 16, 128, len(p)} {
			if a := testing.AllocsPerRun(100, func() { UnmaskValid(p[:n], [4]byte{1, 2, 3, 4}, 1) }); a != 0 {
				t.Errorf("UnmaskValid(len %d) allocates %v times per call", n, a)
			}
		}
	})
}

var unmaskSink bool

// BenchmarkUnmaskValid compares UnmaskValid (path=fused) with the two calls
// it replaces, mask.Apply then Valid (path=twocall), on mixed text; path=copy
// is the copy alone, the floor under both. Every iteration copies the masked
// payload into a buffer (the kernels unmask in place), the same for every
// path, and the copy is part of the time:
//
//	mode=fresh  the payload is copied into the buffer just before the call,
//	            so the call's first loads read bytes stored a moment ago
//	mode=ring   the payload is copied into a buffer of a ring a few
//	            iterations ahead of its use, as bytes read from a socket
//	            have settled by the time the frame is parsed
//
// off is the payload's offset from a 64-byte boundary: 0, and 6 as after the
// header of a short masked client frame.
func BenchmarkUnmaskValid(b *testing.B) {
	key := [4]byte{0x37, 0xFA, 0x21, 0x3D}
	paths := []struct {
		name string
		fn   func([]byte) bool
	}{
		{"fused", func(p []byte) bool { ok, _ := UnmaskValid(p, key, 0); return ok }},
		{"twocall", func(p []byte) bool { mask.Apply(p, key, 0); return Valid(p) }},
		{"copy", func(p []byte) bool { return true }},
	}
	for _, n := range []int{16, 32, 128, 1 << 10, 4 << 10, 64 << 10} {
		src := exactText("mixed", n)
		mask.ApplyGeneric(src, key, 0)
		for _, mode := range []string{"fresh", "ring"} {
			ring, ahead := 1, 0
			if mode == "ring" {
				ring = max(2, min(16, (256<<10)/n))
				ahead = ring / 2
			}
			for _, off := range []int{0, 6} {
				bufs := make([][]byte, ring)
				for i := range bufs {
					raw := make([]byte, n+128)
					base := (64 - int(uintptrOf(raw)&63)) & 63
					bufs[i] = raw[base+off : base+off+n]
				}
				for _, c := range paths {
					b.Run(fmt.Sprintf("size=%s/mode=%s/off=%d/path=%s", kerneltest.SizeName(n), mode, off, c.name), func(b *testing.B) {
						b.SetBytes(int64(n))
						b.ReportAllocs()
						for i := range ahead {
							copy(bufs[i], src)
						}
						i, ok := 0, true
						for b.Loop() {
							copy(bufs[(i+ahead)%ring], src)
							ok = c.fn(bufs[i%ring]) && ok
							i++
						}
						if !ok {
							b.Fatal("valid text reported invalid")
						}
						unmaskSink = ok
					})
				}
			}
		}
	}
}
