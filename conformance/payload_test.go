package conformance

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"unicode/utf8"
)

// Payloads are built once and shared: the 16 MiB ones are costly under the
// race detector. Cases must not modify them.
var (
	payloadMu    sync.Mutex
	payloadCache = map[[2]int][]byte{}
)

func cached(kind, n int, build func(n int) []byte) []byte {
	payloadMu.Lock()
	defer payloadMu.Unlock()
	k := [2]int{kind, n}
	if p, ok := payloadCache[k]; ok {
		return p
	}
	p := build(n)
	payloadCache[k] = p
	return p
}

// binaryPayload is n pseudo-random bytes, the same for the same n.
func binaryPayload(n int) []byte {
	return cached(0, n, func(n int) []byte {
		p := make([]byte, n)
		r := rand.NewChaCha8([32]byte{'t', 'a', 'c', 'h', 'y', 'o', 'n'})
		_, _ = r.Read(p)
		return p
	})
}

// textSample mixes characters of every UTF-8 length.
const textSample = "Hello-µ@ßöäüàá-UTF-8!! κόσμε € 𝄞 ÿ ߿ ࠀ \U0010FFFF; "

// textPayload is n bytes of valid UTF-8 with characters of every length.
func textPayload(n int) []byte {
	return cached(1, n, func(n int) []byte {
		p := bytes.Repeat([]byte(textSample), n/len(textSample)+1)[:n]
		// A character cut by the end becomes ASCII.
		if s := lastRuneStart(p); s >= 0 && !utf8.FullRune(p[s:]) {
			for j := s; j < len(p); j++ {
				p[j] = 'x'
			}
		}
		return p
	})
}

// lastRuneStart is the index of the start of p's last character, -1 for an
// empty p.
func lastRuneStart(p []byte) int {
	s := len(p) - 1
	for s > 0 && s > len(p)-utf8.UTFMax && !utf8.RuneStart(p[s]) {
		s--
	}
	return s
}

// everyCodePoint is U+0000..U+10FFFF, the surrogates left out, in UTF-8.
func everyCodePoint() []byte {
	return cached(2, 0, func(int) []byte {
		p := make([]byte, 0, 4<<20+512<<10)
		for r := rune(0); r <= utf8.MaxRune; r++ {
			if r >= 0xD800 && r <= 0xDFFF {
				continue
			}
			p = utf8.AppendRune(p, r)
		}
		return p
	})
}

// validTexts are valid UTF-8 texts of section 6's cases: every length of
// encoding at its boundaries, the maximum code point, a BOM.
var validTexts = []struct {
	desc string
	s    string
}{
	{"ASCII with controls and DEL", "Hello\x00\x01\x1f\x7f world"},
	{"Latin-1 and more (2-byte)", "Hello-µ@ßöäüàá-UTF-8!!"},
	{"Greek κόσμε", "κόσμε"},
	{"first and last 2-byte: U+0080 U+07FF", "\u0080\u07ff"},
	{"first 3-byte U+0800, last before surrogates U+D7FF", "\u0800\ud7ff"},
	{"first after surrogates U+E000, U+FFFD, last 3-byte U+FFFF", "\ue000\ufffd\uffff"},
	{"noncharacters U+FDD0 U+FFFE (valid UTF-8)", "\ufdd0\ufffe"},
	{"first 4-byte U+10000", "\U00010000"},
	{"maximum code point U+10FFFF", "\U0010ffff"},
	{"BOM then text", "\ufeffBOM at the start"},
	{"emoji and a musical symbol", "a😀b𝄞c"},
	{"mixed lengths", "x\u00e9\u20ac\U0001F600\u07ff\U0010FFFFz"},
}

// invalidTexts are byte sequences that are not UTF-8 (RFC 3629).
var invalidTexts = []struct {
	desc string
	b    string
}{
	{"overlong NUL C0 80", "a\xc0\x80b"},
	{"overlong '/' C0 AF", "\xc0\xaf"},
	{"overlong C1 BF", "\xc1\xbf"},
	{"overlong 3-byte E0 80 AF", "\xe0\x80\xaf"},
	{"overlong 3-byte E0 9F BF (U+07FF)", "\xe0\x9f\xbf"},
	{"overlong 4-byte F0 80 80 AF", "\xf0\x80\x80\xaf"},
	{"overlong 4-byte F0 8F BF BF (U+FFFF)", "\xf0\x8f\xbf\xbf"},
	{"5-byte form F8 88 80 80 80", "\xf8\x88\x80\x80\x80"},
	{"6-byte form FC 84 80 80 80 80", "\xfc\x84\x80\x80\x80\x80"},
	{"surrogate U+D800", "\xed\xa0\x80"},
	{"surrogate U+DB7F", "\xed\xad\xbf"},
	{"surrogate U+DBFF", "\xed\xaf\xbf"},
	{"surrogate U+DC00", "\xed\xb0\x80"},
	{"surrogate U+DFFF", "\xed\xbf\xbf"},
	{"surrogate pair U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80"},
	{"above U+10FFFF: F4 90 80 80", "\xf4\x90\x80\x80"},
	{"above U+10FFFF: F5 80 80 80", "\xf5\x80\x80\x80"},
	{"above U+10FFFF: F7 BF BF BF", "\xf7\xbf\xbf\xbf"},
	{"lone continuation 80", "\x80"},
	{"lone continuation BF inside text", "ab\xbfcd"},
	{"continuations 80 BF 80", "\x80\xbf\x80"},
	{"2-byte start then ASCII", "\xc2A"},
	{"3-byte start, 1 continuation, then ASCII", "\xe2\x82A"},
	{"truncated 2-byte at the end", "κόσμε\xce"},
	{"truncated 3-byte at the end", "abc\xe2\x82"},
	{"truncated 4-byte at the end", "abc\xf0\x9f\x98"},
	{"byte FE", "\xfe"},
	{"byte FF", "\xff"},
	{"FE FE FF FF", "\xfe\xfe\xff\xff"},
	{"κόσμε, surrogate, more text", "κόσμε\xed\xa0\x80edited"},
}
