// Package kerneltest holds what the tests of the SIMD kernels share: running a
// test once per SIMD level the machine offers, and UTF-8 sample texts.
package kerneltest

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tachyonws/tachyon/internal/cpu"
)

// ForEachLevel runs f as a subtest once for every SIMD level this CPU and build
// can run (see cpu.Available), with the kernels forced to that level. Tests that
// use it must not run in parallel with other kernel tests.
func ForEachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, l := range cpu.Available() {
		restore := cpu.Force(l)
		t.Run(l.String(), f)
		restore()
	}
}

// Text returns n bytes or fewer of sample text of the named kind, cut on a
// code-point boundary: "ascii" (English prose), "mixed" (prose in Latin with
// accents, Cyrillic, Greek, CJK and emoji, as chat traffic mixes them) or "cjk"
// (Chinese and Japanese only). It panics on an unknown kind.
func Text(kind string, n int) []byte {
	var unit string
	switch kind {
	case "ascii":
		unit = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. "
	case "mixed":
		unit = "Déjà vu, señor: ça coûte 12 €. Привет, как дела? Καλημέρα κόσμε. 你好，世界！今日はいい天気ですね。 👋🎉🚀 Größe naïve façade. "
	case "cjk":
		unit = "我能吞下玻璃而不伤身体。天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。いろはにほへと ちりぬるを わかよたれそ つねならむ。"
	default:
		panic("kerneltest.Text: unknown kind " + kind)
	}
	s := strings.Repeat(unit, n/len(unit)+2)
	// Cut at n or just before it, where a code point begins.
	for n > 0 && s[n] >= 0x80 && s[n] < 0xC0 {
		n--
	}
	return []byte(s[:n])
}

// ValidPrefix is the oracle for streaming validation, built on unicode/utf8
// alone: q is a prefix of some valid UTF-8 string when it is valid up to a cut
// point within its last three bytes and what follows the cut is a proper
// beginning of a sequence (an encoding unicode/utf8 does not yet count as a
// full rune).
func ValidPrefix(q []byte) bool {
	for k := len(q); k >= 0 && k >= len(q)-3; k-- {
		if !utf8.Valid(q[:k]) {
			continue
		}
		if k == len(q) || !utf8.FullRune(q[k:]) {
			return true
		}
	}
	return false
}

// BadPrefix returns the length of the shortest prefix of p that ValidPrefix
// rejects, or len(p)+1 when every prefix is a valid one. Validity of prefixes
// is monotone (a prefix of a valid prefix is one too), so a binary search
// finds it with O(log n) calls of ValidPrefix.
func BadPrefix(p []byte) int {
	lo, hi := 0, len(p)+1 // ValidPrefix(p[:lo]) holds; hi is bad or past the end
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ValidPrefix(p[:mid]) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// BenchSizes are the payload sizes every kernel benchmark runs at: from a chat
// line to a file.
var BenchSizes = []int{16, 128, 1 << 10, 4 << 10, 64 << 10, 1 << 20}

// SizeName names a size for a benchmark: 16B, 4KiB, 1MiB.
func SizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
