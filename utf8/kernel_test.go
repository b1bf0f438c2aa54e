//go:build !purego && gc && (amd64 || arm64)

package utf8

// Differential tests of the assembly validators against unicode/utf8.Valid.
// validKernels (kernels_amd64_test.go, kernels_arm64_test.go) lists the kernels
// this CPU can run; every test here runs each input through all of them, as
// given and copied flush against a PROT_NONE guard page on either side.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	stdutf8 "unicode/utf8"
	"unsafe"

	"github.com/tachyonws/tachyon/internal/guard"
	"github.com/tachyonws/tachyon/internal/kerneltest"
	"github.com/tachyonws/tachyon/internal/race"
)

// validKernel is one assembly validator: fn(p) must equal unicode/utf8.Valid(p)
// and read no byte outside p.
type validKernel struct {
	name string
	fn   func([]byte) bool
}

// slow reports whether the tests should trim their largest sweeps: with -short,
// under the race detector (which slows the Go oracle and the copies, not the
// assembly) and on arm64, where these tests normally run under qemu.
func slow() bool {
	return testing.Short() || race.Enabled || runtime.GOARCH == "arm64"
}

// checker runs every kernel on an input as given and on copies flush against a
// PROT_NONE page at its start and at its end, and compares each answer with
// unicode/utf8.Valid.
type checker struct {
	t      testing.TB
	ks     []validKernel
	pages  *guard.Pages // nil: no guard-page placements
	size   int          // longest input that gets the guard-page placements
	fails  int
	checks int
}

// newChecker returns a checker for the kernels this CPU can run, skipping the
// test when there are none. Inputs of up to size bytes are also run against
// guard pages, when the platform has them; size 0 means never.
func newChecker(t testing.TB, size int) *checker {
	t.Helper()
	ks := validKernels()
	if len(ks) == 0 {
		t.Skip("no assembly validator runs on this CPU")
	}
	c := &checker{t: t, ks: ks}
	// A kernel that touches a guard page then fails its test, with the input
	// named, instead of crashing the test binary.
	old := debug.SetPanicOnFault(true)
	t.Cleanup(func() { debug.SetPanicOnFault(old) })
	if size > 0 && guard.Supported {
		g, err := guard.New(size)
		if err != nil {
			t.Fatalf("guard.New: %v", err)
		}
		t.Cleanup(g.Free)
		c.pages, c.size = g, size
	}
	return c
}

// check runs every kernel on p where it is, then flush against each guard page.
func (c *checker) check(p []byte, what string) {
	want := stdutf8.Valid(p)
	c.run(p, want, what, "")
	if c.pages == nil || len(p) > c.size {
		return
	}
	// Head and Tail may overlap: copy, then run, one after the other.
	q := c.pages.Head(len(p))
	copy(q, p)
	c.run(q, want, what, ", flush against the guard page before it")
	q = c.pages.Tail(len(p))
	copy(q, p)
	c.run(q, want, what, ", flush against the guard page after it")
}

// run runs every kernel on p, in place, and reports answers other than want.
// It does not call t.Helper, which would cost more than the check itself.
func (c *checker) run(p []byte, want bool, what, where string) {
	c.checks++
	for _, k := range c.ks {
		got, fault := call(k.fn, p)
		if fault == nil && got == want {
			continue
		}
		c.fails++
		if fault != nil {
			c.t.Errorf("%s(%s, len %d%s) faulted: %v; %s", k.name, what, len(p), where, fault, show(p))
		} else {
			c.t.Errorf("%s(%s, len %d%s) = %v, want %v; %s", k.name, what, len(p), where, got, want, show(p))
		}
		if c.fails >= 10 {
			c.t.FailNow()
		}
	}
}

// call returns fn(p), or the panic fn(p) raised, such as a fault on a guard page.
func call(fn func([]byte) bool, p []byte) (got bool, fault any) {
	defer func() { fault = recover() }()
	return fn(p), nil
}

// show formats p for a failure message: all of it when short, else the bytes
// around its first invalid sequence, or around its first non-ASCII byte.
func show(p []byte) string {
	if len(p) <= 96 {
		return fmt.Sprintf("input % x", p)
	}
	at := bytes.IndexFunc(p, func(r rune) bool { return r >= 0x80 })
	for i := 0; i < len(p); {
		r, size := stdutf8.DecodeRune(p[i:])
		if r == stdutf8.RuneError && size == 1 {
			at = i
			break
		}
		i += size
	}
	if at < 0 {
		at = len(p) - 16
	}
	lo, hi := max(at-16, 0), min(at+48, len(p))
	return fmt.Sprintf("bytes %d..%d: % x", lo, hi, p[lo:hi])
}

// edges are code points at the edges of the 1- to 4-byte ranges and of the
// ranges the second byte of a lead constrains.
var edges = []rune{0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xD7FF, 0xE000, 0xFFFF,
	0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000, 0x10FFFF}

// randomText appends valid UTF-8 to b until it is n bytes long, mixing 1- to
// 4-byte runes, with the edge code points thrown in.
func randomText(rng *rand.Rand, b []byte, n int) []byte {
	for len(b) < n {
		var r rune
		switch left := n - len(b); {
		case left == 1 || rng.IntN(4) == 0:
			r = rune(rng.IntN(0x80))
		case left == 2 || rng.IntN(3) == 0:
			r = rune(0x80 + rng.IntN(0x800-0x80))
		case left == 3 || rng.IntN(2) == 0:
			r = rune(0x800 + rng.IntN(0x10000-0x800))
			if r >= 0xD800 && r <= 0xDFFF {
				r = 0xFFFD
			}
		default:
			r = rune(0x10000 + rng.IntN(0x110000-0x10000))
		}
		if rng.IntN(8) == 0 {
			if e := edges[rng.IntN(len(edges))]; stdutf8.RuneLen(e) <= n-len(b) {
				r = e
			}
		}
		b = stdutf8.AppendRune(b, r)
	}
	return b
}

// interesting are the byte values at the edges of the UTF-8 byte classes.
var interesting = []byte{0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xAF, 0xB0, 0xBF,
	0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF}

// corruptions are the values written over single bytes of valid text.
var corruptions = []byte{0x00, 0x7F, 0x80, 0x8F, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF}

// edgeSeqs are the valid and invalid sequences around every boundary of RFC 3629.
var edgeSeqs = []string{
	// valid, at the edges of each length and second-byte range
	"a", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe1\x80\x80", "\xec\xbf\xbf", "\xed\x80\x80", "\xed\x9f\xbf",
	"\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf1\x80\x80\x80", "\xf3\xbf\xbf\xbf", "\xf4\x80\x80\x80",
	"\xf4\x8f\xbf\xbf", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "é中😀",
	// overlong
	"\xc0\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
	// surrogates
	"\xed\xa0\x80", "\xed\xad\xbf", "\xed\xb0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80",
	// above U+10FFFF, and bytes that are never valid
	"\xf4\x90\x80\x80", "\xf4\xbf\xbf\xbf", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80",
	"\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff", "\xc0", "\xc1", "\xf5",
	// stray continuations
	"\x80", "\xbf", "\xbf\xbf", "\x80\x80\x80\x80", "\xc2\x80\x80", "\xe1\x80\x80\x80", "\xf1\x80\x80\x80\x80", "\x41\x80",
	"\xe2\xac\x82",
	// truncated
	"\xc2", "\xdf", "\xe0", "\xe0\xa0", "\xe1\x80", "\xed\x9f", "\xef", "\xef\xbf", "\xf0", "\xf0\x90", "\xf0\x90\x80",
	"\xf0\x9f", "\xf0\x9f\x98", "\xf4", "\xf4\x8f\xbf", "\xf1\x80", "\xe2\x82", "\xc2\x41", "\xc2\x7f", "\xc2\xc0",
	"\xe1\x41\x80", "\xe1\x80\x41", "\xf1\x80\x80\x41",
	// too short, followed by a lead
	"\xc2\xc2\x80", "\xe1\x80\xc2\x80", "\xf1\x80\x80\xe1\x80\x80",
}

// TestKernelsGuardPagesFault makes sure a read just outside a guard.Pages slice
// faults here (under qemu too), so that the guard-page placements of the other
// tests catch an over-read.
func TestKernelsGuardPagesFault(t *testing.T) {
	if !guard.Supported {
		t.Skip("no guard pages on this platform")
	}
	g, err := guard.New(64)
	if err != nil {
		t.Fatalf("guard.New: %v", err)
	}
	defer g.Free()
	head, tail := g.Head(64), g.Tail(64)
	for _, p := range []unsafe.Pointer{
		unsafe.Add(unsafe.Pointer(unsafe.SliceData(head)), -1),
		unsafe.Add(unsafe.Pointer(unsafe.SliceData(tail)), len(tail)),
	} {
		func() {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if recover() == nil {
					t.Errorf("reading %p, next to a guard.Pages slice, did not fault", p)
				}
			}()
			_ = *(*byte)(p)
		}()
	}
}

// TestKernelsShortSequences: the empty input, every input of one and two bytes,
// every three-byte input that starts with a non-ASCII byte (only the leads of
// three and four bytes when slow) and three-byte inputs over the interesting
// bytes otherwise, four-byte inputs over the interesting bytes and every lead,
// alone and after non-ASCII text, and the edge sequences alone.
func TestKernelsShortSequences(t *testing.T) {
	c := newChecker(t, 64)
	c.check(nil, "nil")
	c.check([]byte{}, "empty")
	for _, s := range edgeSeqs {
		c.check([]byte(s), "edge sequence")
	}
	// Short inputs get the guard placements in the other tests; here they
	// would triple the run time for nothing.
	c.pages = nil
	firstOf3 := 0x80
	if slow() {
		firstOf3 = 0xE0
	}
	buf := make([]byte, 4)
	for a := 0; a < 256; a++ {
		buf[0] = byte(a)
		c.check(buf[:1], "1 byte")
		for b := 0; b < 256; b++ {
			buf[1] = byte(b)
			c.check(buf[:2], "2 bytes")
			if a >= firstOf3 {
				for d := 0; d < 256; d++ {
					buf[2] = byte(d)
					c.check(buf[:3], "3 bytes")
				}
			}
		}
		if a < firstOf3 {
			for _, b := range interesting {
				for _, d := range interesting {
					buf[1], buf[2] = b, d
					c.check(buf[:3], "3 bytes")
				}
			}
		}
	}
	// Four bytes: every first byte that is interesting or a lead; after a
	// lead that is not in interesting, the fourth byte only needs to be
	// ASCII, a continuation-range edge or a lead.
	fourth := []byte{0x41, 0x80, 0x8F, 0x90, 0xBF, 0xC2, 0xF0}
	firsts := slices.Clone(interesting)
	for a := 0xC0; a <= 0xFF; a++ {
		if !slices.Contains(firsts, byte(a)) {
			firsts = append(firsts, byte(a))
		}
	}
	pre := []byte("é€😀é€") // 2+3+4+2+3 = 14 bytes, all valid
	long := make([]byte, 0, 64)
	for _, a := range firsts {
		lasts := interesting
		if !slices.Contains(interesting, a) {
			lasts = fourth
		}
		for _, b := range interesting {
			for _, d := range interesting {
				for _, e := range lasts {
					buf = append(buf[:0], a, b, d, e)
					c.check(buf, "4 bytes")
					long = append(append(long[:0], pre...), buf...)
					c.check(long, "4 bytes after non-ASCII")
				}
			}
		}
	}
	t.Logf("%d inputs", c.checks)
}

// TestKernelsBlockEdges puts every edge sequence at every offset within 5 bytes
// of a multiple of 16 up to 256 (so around every 16-, 32-, 64- and 128-byte
// block edge), after ASCII, 2-byte, 3-byte and mixed text, with the input
// ending right after it or running on in ASCII or in more of the same text.
// The 2- and 3-byte text comes both valid (led by enough ASCII to reach the
// offset) and cut at the offset, possibly inside a rune, as the mixed text is.
func TestKernelsBlockEdges(t *testing.T) {
	fillers := []struct {
		name  string
		text  []byte
		width int // > 0: keep the prefix valid, padding it with ASCII; 0: cut it at the offset
	}{
		{"ascii", bytes.Repeat([]byte("x"), 600), 0},
		{"2-byte", bytes.Repeat([]byte("é"), 300), 2},
		{"cut 2-byte", bytes.Repeat([]byte("é"), 300), 0},
		{"3-byte", bytes.Repeat([]byte("中"), 200), 3},
		{"cut 3-byte", bytes.Repeat([]byte("中"), 200), 0},
		{"cut mixed", kerneltest.Text("mixed", 600), 0},
	}
	ascii := fillers[0].text
	var offsets []int
	for edge := 0; edge <= 256; edge += 16 {
		for d := -5; d <= 5; d++ {
			if o := edge + d; o >= 0 {
				offsets = append(offsets, o)
			}
		}
	}
	afters := []int{0, 1, 2, 3, 4, 17, 31, 32, 33, 64, 65, 130}
	if slow() {
		afters = []int{0, 1, 2, 3, 17, 33, 64, 130}
	}
	c := newChecker(t, 1024)
	var p []byte
	for _, f := range fillers {
		for _, seq := range edgeSeqs {
			for _, off := range offsets {
				head := p[:0]
				if f.width > 0 {
					head = append(append(head, ascii[:off%f.width]...), f.text[:off-off%f.width]...)
				} else {
					head = append(head, f.text[:off]...)
				}
				head = append(head, seq...)
				for _, after := range afters {
					p = append(head, ascii[:after]...)
					c.check(p, f.name+" text, edge sequence, ASCII")
				}
				p = append(head, f.text[:200]...)
				c.check(p, f.name+" text, edge sequence, more text")
			}
		}
	}
	t.Logf("%d inputs", c.checks)
}

// TestKernelsRandomCorrupted: random valid text of every length 0..300, as is,
// cut short at either end, and with every byte replaced in turn by each
// corruption value (a subset of them when slow) and by a random byte.
func TestKernelsRandomCorrupted(t *testing.T) {
	c := newChecker(t, 512)
	rng := rand.New(rand.NewPCG(1, 2))
	reps, vals := 3, corruptions
	if slow() {
		reps, vals = 1, []byte{0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF}
	}
	for n := 0; n <= 300; n++ {
		for range reps {
			p := randomText(rng, nil, n)
			if len(p) != n || !stdutf8.Valid(p) {
				t.Fatalf("randomText(%d) made % x", n, p)
			}
			c.check(p, "random valid")
			if n > 0 {
				c.check(p[:n-1], "random valid, cut at the end")
				c.check(p[1:], "random valid, cut at the start")
			}
			q := bytes.Clone(p)
			for i := range q {
				for _, v := range vals {
					if v != p[i] {
						q[i] = v
						c.check(q, "random, one byte corrupted")
					}
				}
				q[i] = byte(rng.Uint32())
				c.check(q, "random, one byte corrupted")
				q[i] = p[i]
			}
		}
	}
	t.Logf("%d inputs", c.checks)
}

// TestKernelsLong: 64 KiB texts, valid and with one error at each of many
// places (around the block edges at both ends, the very last byte included,
// and random ones), texts ending in a cut-off or invalid sequence, and ASCII
// text with a sequence cut off at the end of a block and followed by ASCII.
func TestKernelsLong(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 64 << 10
	texts := []struct {
		name string
		text []byte
	}{
		{"random", randomText(rng, nil, n)},
		{"ascii", kerneltest.Text("ascii", n)},
		{"mixed", kerneltest.Text("mixed", n)},
		{"cjk", kerneltest.Text("cjk", n)},
	}
	ats := []int{0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 127, 128, 129, 1000, 4095, 4096,
		n/2 - 1, n / 2, n - 129, n - 128, n - 65, n - 64, n - 63, n - 33, n - 32, n - 17, n - 16, n - 15,
		n - 4, n - 3, n - 2, n - 1}
	for range 10 {
		ats = append(ats, rng.IntN(n))
	}
	vals := corruptions
	if slow() {
		vals = []byte{0x80, 0xC0, 0xE0, 0xED, 0xF0, 0xF5, 0xFF}
	}
	c := newChecker(t, n+8)
	for _, tt := range texts {
		text := tt.text
		if !stdutf8.Valid(text) {
			t.Fatalf("%s text is not valid", tt.name)
		}
		c.check(text, tt.name)
		q := bytes.Clone(text)
		for _, at := range ats {
			if at >= len(text) {
				continue
			}
			for _, v := range vals {
				q[at] = v
				c.check(q, fmt.Sprintf("%s with %#x at %d", tt.name, v, at))
			}
			q[at] = text[at]
		}
		for _, end := range []string{"\xc3", "\xe2\x82", "\xe2", "\xf0\x9f\x98", "\xf0\x9f", "\xf0", "\x80",
			"\xf4\x90\x80\x80", "\xed\xa0\x80", "é", "€", "😀"} {
			for cut := 0; cut <= 3; cut++ {
				q := append(bytes.Clone(text[:len(text)-cut]), end...)
				c.check(q, fmt.Sprintf("%s cut by %d, ending in %q", tt.name, cut, end))
			}
		}
	}
	// A sequence cut off at the end of a block, then an all-ASCII block.
	ascii := bytes.Clone(texts[1].text)
	for _, s := range []string{"\xc2", "\xe1\x80", "\xf1\x80\x80", "\xe1", "\xf1", "\xf1\x80"} {
		for _, end := range []int{16, 32, 64, 128, 4096, len(ascii)} {
			orig := bytes.Clone(ascii[end-len(s) : end])
			copy(ascii[end-len(s):], s)
			c.check(ascii, fmt.Sprintf("ascii with %q ending at %d", s, end))
			copy(ascii[end-len(s):], orig)
		}
	}
	t.Logf("%d inputs", c.checks)
}

// TestKernelsOffsets runs inputs that start at offsets 0..7 inside a larger
// buffer, on the Go heap and ending 8-offset bytes before a guard page, with
// the bytes around the slice set to a lead byte, which would make the answer
// false if a kernel read it.
func TestKernelsOffsets(t *testing.T) {
	const maxLen = 1500
	c := newChecker(t, 0)
	var g *guard.Pages
	if guard.Supported {
		var err error
		if g, err = guard.New(maxLen + 8); err != nil {
			t.Fatalf("guard.New: %v", err)
		}
		defer g.Free()
	}
	rng := rand.New(rand.NewPCG(7, 8))
	heap := make([]byte, maxLen+16)
	for _, n := range []int{0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 1000, maxLen} {
		for _, kind := range []string{"random", "ascii", "mixed", "cjk"} {
			var text []byte
			if kind == "random" {
				text = randomText(rng, nil, n)
			} else {
				text = kerneltest.Text(kind, n)
			}
			variants := [][]byte{text}
			if len(text) > 0 {
				lead := bytes.Clone(text)
				lead[len(lead)-1] = 0xC3
				bad := bytes.Clone(text)
				bad[len(bad)/2] = 0xFF
				variants = append(variants, lead, bad)
			}
			bufs := [][]byte{heap}
			if g != nil {
				bufs = append(bufs, g.Tail(len(text)+8))
			}
			for _, p := range variants {
				want := stdutf8.Valid(p)
				for _, buf := range bufs {
					for off := range 8 {
						for i := range buf {
							buf[i] = 0xE2 // a lead: an error if read before the start or past the end
						}
						q := buf[off : off+len(p)]
						copy(q, p)
						c.run(q, want, fmt.Sprintf("%s at offset %d", kind, off), "")
					}
				}
			}
		}
	}
}

// TestKernelsGuardPages runs every length up to 520 and lengths around 1, 4
// and 8 KiB, flush against a guard page on each side, on ASCII and non-ASCII
// text, as is, ending in a lead and starting with a continuation.
func TestKernelsGuardPages(t *testing.T) {
	if !guard.Supported {
		t.Skip("no guard pages on this platform")
	}
	c := newChecker(t, 8192)
	var lengths []int
	for n := 0; n <= 520; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1023, 1024, 1025, 4095, 4096, 4097, 8191, 8192)
	for _, kind := range []string{"ascii", "mixed", "cjk"} {
		for _, n := range lengths {
			p := kerneltest.Text(kind, n)
			p = append(p, "abcd"[:n-len(p)]...) // make it exactly n bytes long
			c.check(p, kind)
			if n > 0 {
				q := bytes.Clone(p)
				q[n-1] = 0xF0
				c.check(q, kind+" ending in a lead")
				q[0] = 0x80
				c.check(q, kind+" starting with a continuation")
			}
		}
	}
}

// TestKernelsRandomBytes is a differential test on random near-UTF-8 bytes:
// random valid text of up to 200 bytes with up to two bits flipped.
func TestKernelsRandomBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	iters := 200000
	if slow() {
		iters = 20000
	}
	c := newChecker(t, 0)
	var p []byte
	for range iters {
		p = randomText(rng, p[:0], rng.IntN(200))
		// Flip a few bits, so that errors are rare but present.
		for j := rng.IntN(3); j > 0 && len(p) > 0; j-- {
			p[rng.IntN(len(p))] ^= byte(1 << rng.IntN(8))
		}
		c.check(p, "random bytes")
	}
}
