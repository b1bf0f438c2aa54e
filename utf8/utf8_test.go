package utf8_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	stdutf8 "unicode/utf8"

	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/guard"
	"github.com/tachyonws/tachyon/internal/kerneltest"
	"github.com/tachyonws/tachyon/internal/race"
	"github.com/tachyonws/tachyon/utf8"
)

// edgeCases are the sequences around every boundary RFC 3629 draws.
var edgeCases = []string{
	"", "a", "\x7f", "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2\x80", "\xdf\xbf", "\xc2", "\xc2\x7f", "\xc2\xc0",
	"\xe0\x80\x80", "\xe0\x9f\xbf", "\xe0\xa0\x80", "\xe0\xa0", "\xe1\x80\x80", "\xec\xbf\xbf", "\xed\x80\x80",
	"\xed\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xef\xbf", "\xef",
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x90\x80", "\xf1\x80\x80\x80",
	"\xf3\xbf\xbf\xbf", "\xf4\x80\x80\x80", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
	"\xf8\x88\x80\x80\x80", "\xfe", "\xff", "\xc0", "\xf7\xbf\xbf\xbf", "\xe2\x82\xac", "\xe2\x82", "\xe2\xac\x82",
	"\xf0\x9f\x98\x80", "\xf0\x9f\x98", "\xf0\x9f", "\xf0", "\xed\xa0\x80\xed\xb0\x80",
}

// inputs returns the test inputs: the edge cases, alone and embedded at every
// offset around the vector block sizes, sample texts of many lengths, and each
// of those with single bytes corrupted.
func inputs() [][]byte {
	var in [][]byte
	for _, e := range edgeCases {
		in = append(in, []byte(e))
		for _, at := range []int{1, 15, 16, 17, 31, 32, 33, 47, 48, 61, 62, 63, 64, 65, 95, 127, 128, 129, 191, 255, 256} {
			pad := bytes.Repeat([]byte("x"), at)
			in = append(in, append(append(bytes.Clone(pad), e...), "tail"...), append(bytes.Clone(pad), e...))
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kind := range []string{"ascii", "mixed", "cjk"} {
		for n := 0; n <= 400; n++ {
			t := kerneltest.Text(kind, n)
			in = append(in, t)
			if len(t) > 0 {
				c := bytes.Clone(t)
				c[rng.IntN(len(c))] = byte(rng.Uint32())
				in = append(in, c)
				in = append(in, t[:len(t)-1]) // maybe cut inside a sequence
			}
		}
		big := kerneltest.Text(kind, 64<<10)
		in = append(in, big)
		for _, at := range []int{0, 1, 63, 64, 4095, len(big) / 2, len(big) - 2, len(big) - 1} {
			for _, bad := range []byte{0x80, 0xC0, 0xED, 0xF5, 0xFF} {
				c := bytes.Clone(big)
				c[at] = bad
				in = append(in, c)
			}
		}
	}
	// Random valid text of mixed widths, with every byte corrupted in turn.
	runes := []rune{'a', 'é', 'ж', '€', '中', '😀', 0x10FFFF, 0xFFFD, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000}
	for n := 0; n < 60; n++ {
		var b []byte
		for range rng.IntN(40) {
			b = stdutf8.AppendRune(b, runes[rng.IntN(len(runes))])
		}
		in = append(in, b)
		for i := range b {
			c := bytes.Clone(b)
			c[i] ^= byte(1 << rng.IntN(8))
			in = append(in, c)
		}
	}
	return in
}

func TestValidMatchesStd(t *testing.T) {
	in := inputs()
	for _, p := range in {
		if got, want := utf8.ValidGeneric(p), stdutf8.Valid(p); got != want {
			t.Fatalf("ValidGeneric(%q) = %v, want %v", p, got, want)
		}
	}
	buf := make([]byte, 64<<10+16)
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		for _, p := range in {
			want := stdutf8.Valid(p)
			for align := 0; align < 8; align++ {
				q := buf[align : align+len(p)]
				copy(q, p)
				if got := utf8.Valid(q); got != want {
					t.Fatalf("Valid(%q) at align %d = %v, want %v", trim(p), align, got, want)
				}
				if len(p) > 300 {
					break // one alignment is enough for the long ones
				}
			}
		}
	})
}

func trim(p []byte) []byte {
	if len(p) > 80 {
		return p[:80]
	}
	return p
}

// feed runs a Validator over p split at the given points and returns the
// results of each Validate call and of Complete.
func feed(p []byte, splits []int) (results []bool, complete bool) {
	var v utf8.Validator
	prev := 0
	for _, s := range append(splits, len(p)) {
		results = append(results, v.Validate(p[prev:s]))
		prev = s
	}
	return results, v.Complete()
}

// exhaustiveSplitLen is the length up to which TestValidatorSplits tries every
// pair of split points; it is smaller where the code runs many times slower.
func exhaustiveSplitLen() int {
	if testing.Short() || race.Enabled {
		return 12
	}
	return 40
}

// A Validator fed any split of a text answers each piece as validPrefix answers
// the bytes so far (so it fails at the piece where the prefix turns invalid) and
// ends Complete exactly when the whole text is valid.
func TestValidatorSplits(t *testing.T) {
	type splitCase struct {
		p      []byte
		bad    int // shortest invalid prefix, len(p)+1 if none
		valid  bool
		splits [][]int
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var cases []splitCase
	for _, p := range inputs() {
		c := splitCase{p: p, bad: kerneltest.BadPrefix(p), valid: stdutf8.Valid(p)}
		if len(p) <= exhaustiveSplitLen() {
			for i := 0; i <= len(p); i++ {
				for j := i; j <= len(p); j++ {
					c.splits = append(c.splits, []int{i, j})
				}
			}
		} else {
			for range 4 {
				var s []int
				for at := rng.IntN(64); at < len(p); at += 1 + rng.IntN(max(len(p)/4, 1)) {
					s = append(s, at)
				}
				c.splits = append(c.splits, s)
			}
		}
		cases = append(cases, c)
	}
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		for _, c := range cases {
			for _, splits := range c.splits {
				results, complete := feed(c.p, splits)
				for i, s := range append(splits, len(c.p)) {
					if want := s < c.bad; results[i] != want {
						t.Fatalf("%q split at %v: piece %d (up to %d) = %v, want %v", trim(c.p), splits, i, s, results[i], want)
					}
				}
				if complete != c.valid {
					t.Fatalf("%q split at %v: Complete = %v, want %v", trim(c.p), splits, complete, c.valid)
				}
			}
		}
	})
}

func TestValidatorByteAtATime(t *testing.T) {
	for _, p := range inputs() {
		if len(p) > 2000 {
			continue
		}
		bad := kerneltest.BadPrefix(p)
		var v utf8.Validator
		for i := range p {
			if got, want := v.Validate(p[i:i+1]), i+1 < bad; got != want {
				t.Fatalf("%q: byte %d: Validate = %v, want %v", trim(p), i, got, want)
			}
		}
		if v.Complete() != stdutf8.Valid(p) {
			t.Fatalf("%q: Complete = %v", trim(p), v.Complete())
		}
	}
}

func TestValidatorResetAndSticky(t *testing.T) {
	var v utf8.Validator
	if !v.Complete() {
		t.Fatal("zero Validator is not Complete")
	}
	if v.Validate([]byte("ok \xff")) {
		t.Fatal("accepted 0xFF")
	}
	if v.Validate([]byte("fine")) || v.Complete() {
		t.Fatal("a failed Validator recovered without Reset")
	}
	v.Reset()
	if !v.Validate([]byte("\xe2\x82")) || v.Complete() {
		t.Fatal("an open sequence should be a valid prefix but not complete")
	}
	if !v.Validate(nil) || !v.Validate([]byte("\xac")) || !v.Complete() {
		t.Fatal("euro sign split 2+0+1 not accepted")
	}
}

func TestValidGuardPages(t *testing.T) {
	if !guard.Supported {
		t.Skip("no guard pages on this platform")
	}
	const max = 4 << 10
	g, err := guard.New(max)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	texts := [][]byte{kerneltest.Text("ascii", max), kerneltest.Text("mixed", max), kerneltest.Text("cjk", max)}
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		for n := 0; n <= max; n++ {
			if n > 300 && n%61 != 0 && n != max {
				continue
			}
			for _, text := range texts {
				src := text[:min(n, len(text))]
				for _, b := range [][]byte{g.Head(len(src)), g.Tail(len(src))} {
					copy(b, src)
					if got, want := utf8.Valid(b), stdutf8.Valid(b); got != want {
						t.Fatalf("len %d: Valid = %v, want %v", len(b), got, want)
					}
					var v utf8.Validator
					v.Validate(b)
					if v.Complete() != stdutf8.Valid(b) {
						t.Fatalf("len %d: Validator disagrees", len(b))
					}
				}
			}
		}
	})
}

func TestAllocs(t *testing.T) {
	p := kerneltest.Text("mixed", 4096)
	kerneltest.ForEachLevel(t, func(t *testing.T) {
		if a := testing.AllocsPerRun(100, func() { utf8.Valid(p) }); a != 0 {
			t.Errorf("Valid: %v allocations per call", a)
		}
		var v utf8.Validator
		if a := testing.AllocsPerRun(100, func() { v.Reset(); v.Validate(p[:1001]); v.Validate(p[1001:]) }); a != 0 {
			t.Errorf("Validator: %v allocations per message", a)
		}
	})
}

var sink bool

// BenchmarkValid measures Valid at every SIMD level this machine has, the
// automaton (ValidGeneric), unicode/utf8.Valid, and copy() of the same bytes,
// on ASCII, mixed prose and CJK text.
func BenchmarkValid(b *testing.B) {
	dst := make([]byte, 1<<20)
	for _, kind := range []string{"ascii", "mixed", "cjk"} {
		for _, n := range kerneltest.BenchSizes {
			p := kerneltest.Text(kind, n)
			run := func(name string, f func([]byte) bool) {
				b.Run(fmt.Sprintf("text=%s/path=%s/size=%s", kind, name, kerneltest.SizeName(n)), func(b *testing.B) {
					b.SetBytes(int64(len(p)))
					b.ReportAllocs()
					for b.Loop() {
						sink = f(p)
					}
				})
			}
			for _, l := range cpu.Available() {
				b.Run(fmt.Sprintf("text=%s/path=%s/size=%s", kind, l, kerneltest.SizeName(n)), func(b *testing.B) {
					defer cpu.Force(l)()
					b.SetBytes(int64(len(p)))
					b.ReportAllocs()
					for b.Loop() {
						sink = utf8.Valid(p)
					}
				})
			}
			run("dfa", utf8.ValidGeneric)
			run("stdlib", stdutf8.Valid)
			run("copy", func(p []byte) bool { copy(dst, p); return true })
		}
	}
}

// BenchmarkValidator measures a Validator fed 64 KiB of text in 4 KiB pieces
// against one Valid call over the same bytes.
func BenchmarkValidator(b *testing.B) {
	for _, kind := range []string{"ascii", "mixed", "cjk"} {
		p := kerneltest.Text(kind, 64<<10)
		b.Run(fmt.Sprintf("text=%s/mode=oneshot", kind), func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				sink = utf8.Valid(p)
			}
		})
		b.Run(fmt.Sprintf("text=%s/mode=pieces4KiB", kind), func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			var v utf8.Validator
			for b.Loop() {
				v.Reset()
				for i := 0; i < len(p); i += 4 << 10 {
					v.Validate(p[i:min(i+4<<10, len(p))])
				}
				sink = v.Complete()
			}
		})
	}
}
