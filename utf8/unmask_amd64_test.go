//go:build !purego && gc

package utf8

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"testing"
	stdutf8 "unicode/utf8"

	"github.com/tachyonws/tachyon/internal/guard"
	"github.com/tachyonws/tachyon/mask"
)

// TestUnmaskValidAVX512Placements calls unmaskValidAVX512 directly on every
// length 0..400 (0..200 when slow) and a few longer ones, placed at every offset 0..63 after the leading guard page, ending 0..130 bytes before the
// trailing guard page (so that the final block takes the backward window
// wherever it must), and starting within 70 bytes either side of a page
// boundary inside the mapping. Every answer and every byte must match
// mask.ApplyGeneric and unicode/utf8.Valid, and the 8 bytes either side of the
// input must not change.
func TestUnmaskValidAVX512Placements(t *testing.T) {
	needAVX512Guard(t)
	page := os.Getpagesize()
	var lengths []int
	for n := 0; n <= 400; n++ {
		if n <= 200 || !unmaskSlow() {
			lengths = append(lengths, n)
		}
	}
	lengths = append(lengths, 511, 512, 513, 1000, 4095, 4096, 4097)
	size := 3 * page
	g, err := guard.New(size)
	if err != nil {
		t.Fatalf("guard.New: %v", err)
	}
	defer g.Free()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	all := g.Head(size)
	const fill = 0xC3

	rng := rand.New(rand.NewPCG(21, 22))
	fails := 0
	check := func(start int, plain []byte, key [4]byte, pos int, name, where string) {
		n := len(plain)
		lo, hi := max(start-8, 0), min(start+n+8, size)
		for i := lo; i < hi; i++ {
			all[i] = fill
		}
		q := all[start : start+n : start+n]
		copy(q, plain)
		mask.ApplyGeneric(q, key, pos)
		want := stdutf8.Valid(plain)
		var got bool
		fault := func() (fault any) {
			defer func() { fault = recover() }()
			got = unmaskValidAVX512(q, wordKey(key, pos))
			return nil
		}()
		msg := ""
		switch {
		case fault != nil:
			msg = fmt.Sprintf("faulted: %v", fault)
		case got != want:
			msg = fmt.Sprintf("= %v, want %v", got, want)
		case !bytes.Equal(q, plain):
			msg = fmt.Sprintf("unmasked to % x, want % x", showShort(q), showShort(plain))
		default:
			for i := lo; i < hi; i++ {
				if (i < start || i >= start+n) && all[i] != fill {
					msg = fmt.Sprintf("wrote the byte at %d from the input's start", i-start)
					break
				}
			}
		}
		if msg != "" {
			fails++
			t.Errorf("unmaskValidAVX512(%s, len %d, key % x, pos %d, %s) %s", name, n, key, pos, where, msg)
			if fails > 10 {
				t.FailNow()
			}
		}
	}
	for _, n := range lengths {
		var ins []struct {
			name string
			p    []byte
		}
		for name, p := range unmaskInputs(rng, n) {
			if kerneltestKind(name) || rng.IntN(6) == 0 {
				ins = append(ins, struct {
					name string
					p    []byte
				}{name, p})
			}
		}
		for _, in := range ins {
			key, pos := unmaskKeys[rng.IntN(len(unmaskKeys))], rng.IntN(4)
			for off := range 64 {
				check(off, in.p, key, pos+off, in.name, fmt.Sprintf("%d bytes after the leading guard page", off))
			}
			for d := 0; d <= 130; d++ {
				check(size-n-d, in.p, key, pos+d, in.name, fmt.Sprintf("%d bytes before the trailing guard page", d))
			}
			for off := -70; off <= 70; off++ {
				if s := 2*page + off; s+n <= size {
					check(s, in.p, key, pos+off, in.name, fmt.Sprintf("starting %d bytes from a page boundary", off))
				}
			}
		}
	}
}

// BenchmarkUnmaskValidPageCross measures unmaskValidAVX512 on inputs flush
// against a PROT_NONE page and on ordinary heap buffers: a masked load or
// store whose window reached into the guard page would cost a microcode
// assist of hundreds of nanoseconds.
func BenchmarkUnmaskValidPageCross(b *testing.B) {
	needAVX512Guard(b)
	for _, n := range []int{40, 1000} {
		p := exactText("mixed", n)
		g, err := guard.New(n)
		if err != nil {
			b.Fatalf("guard.New: %v", err)
		}
		defer g.Free()
		for _, w := range []struct {
			name string
			buf  []byte
		}{{"guard", g.Tail(n)}, {"heap", make([]byte, n)}} {
			copy(w.buf, p)
			b.Run(fmt.Sprintf("size=%d/buf=%s", n, w.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				ok := true
				for b.Loop() {
					// The key 0 leaves the bytes as they are, so the input
					// stays valid without a copy per iteration.
					ok = unmaskValidAVX512(w.buf, 0) && ok
				}
				if !ok {
					b.Fatal("valid input reported invalid")
				}
			})
		}
	}
}
