//go:build !purego && gc

package utf8

import (
	"fmt"
	"os"
	"slices"
	"testing"
	stdutf8 "unicode/utf8"

	"github.com/tachyonws/tachyon/internal/guard"
)

// The final partial block of validAVX512 is read with a masked load. A masked
// load whose 64-byte window reaches into an inaccessible page does not fault,
// but the CPU suppresses the fault in microcode, which costs hundreds of
// nanoseconds per call. These tests put inputs flush against (and a few bytes
// before) PROT_NONE pages, where such a window would reach into the guard page,
// and check the answers; BenchmarkPageCross shows the cost.

// pageCrossText returns n bytes of valid UTF-8 mixing 1- to 4-byte runes; seed
// rotates the mix so that multi-byte runes land at different offsets.
func pageCrossText(n, seed int) []byte {
	runes := []rune{'a', 'é', '€', '😀', 'Z', 'ß', '中', '\u07FF', '\U0010FFFF', '\u0800', '0', '\uFFFD'}
	b := make([]byte, 0, n+4)
	for i := seed; len(b) < n; i++ {
		r := runes[i%len(runes)]
		if len(b)+stdutf8.RuneLen(r) > n {
			r = 'x'
		}
		b = stdutf8.AppendRune(b, r)
	}
	return b
}

// pageCrossInputs returns the inputs of length n to check: valid text, text
// with an invalid last byte, and text ending in a truncated sequence.
func pageCrossInputs(n int) map[string][]byte {
	in := map[string][]byte{}
	for seed := range 4 {
		in[fmt.Sprintf("valid/%d", seed)] = pageCrossText(n, seed)
	}
	if n == 0 {
		return in
	}
	for _, c := range []byte{0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF} {
		b := pageCrossText(n, 1)
		b[n-1] = c
		in[fmt.Sprintf("last=%02x", c)] = b
	}
	for _, cut := range [][]byte{{0xC3}, {0xE2}, {0xE2, 0x82}, {0xF0}, {0xF0, 0x9F}, {0xF0, 0x9F, 0x98}} {
		if len(cut) > n {
			continue
		}
		b := pageCrossText(n-len(cut), 2)
		b = append(b, cut...)
		in[fmt.Sprintf("cut=% x", cut)] = b
	}
	return in
}

// TestAVX512PageCross checks validAVX512 against unicode/utf8.Valid for every
// length 0..200, with the input flush against the guard page at its start
// (Head) and its end (Tail), ending up to 130 bytes before the trailing guard
// page, and starting at every offset around the page boundary inside the
// mapping, so that the input straddles two accessible pages.
func TestAVX512PageCross(t *testing.T) {
	needAVX512Guard(t)
	page := os.Getpagesize()
	const maxLen = 200
	g, err := guard.New(2*page + maxLen + 200)
	if err != nil {
		t.Fatalf("guard.New: %v", err)
	}
	defer g.Free()

	fails := 0
	check := func(q, p []byte, name, where string) {
		t.Helper()
		copy(q, p)
		want := stdutf8.Valid(p)
		if got := validAVX512(q); got != want {
			fails++
			t.Errorf("validAVX512(%s, len %d, %s) = %v, want %v; input % x", name, len(p), where, got, want, p)
			if fails > 10 {
				t.FailNow()
			}
		}
	}
	// gaps: how far before the trailing guard page the input ends.
	var gaps []int
	for d := 0; d <= 130; d++ {
		gaps = append(gaps, d)
	}
	for n := 0; n <= maxLen; n++ {
		for name, p := range pageCrossInputs(n) {
			check(g.Head(n), p, name, "head")
			for _, d := range gaps {
				check(g.Tail(n + d)[:n], p, name, fmt.Sprintf("%d bytes before the tail guard", d))
			}
			// Start within 70 bytes either side of the page boundary in the
			// middle of the mapping (the input may straddle it).
			for off := -70; off <= 70; off++ {
				q := g.Tail(page + maxLen + 200)
				start := len(q) - page + off // the page boundary is at len(q)-page
				check(q[start:start+n], p, name, fmt.Sprintf("starting %d bytes from a page boundary", off))
			}
		}
	}
}

// BenchmarkPageCross measures validAVX512 on inputs flush against a PROT_NONE
// page and on ordinary heap buffers of the same content.
func BenchmarkPageCross(b *testing.B) {
	needAVX512Guard(b)
	for _, n := range []int{40, 1000} {
		p := pageCrossText(n, 0)
		g, err := guard.New(n)
		if err != nil {
			b.Fatalf("guard.New: %v", err)
		}
		defer g.Free()
		tail := g.Tail(n)
		copy(tail, p)
		heap := slices.Clone(p)
		for _, w := range []struct {
			name string
			buf  []byte
		}{{"guard", tail}, {"heap", heap}} {
			b.Run(fmt.Sprintf("size=%d/buf=%s", n, w.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				var ok bool
				for b.Loop() {
					ok = validAVX512(w.buf)
				}
				if !ok {
					b.Fatal("valid input reported invalid")
				}
			})
		}
	}
}
