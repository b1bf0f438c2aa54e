//go:build !purego && gc

package utf8

import (
	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/race"
)

// The assembly validators in utf8_amd64.s. Each reports whether p is entirely
// valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF, no sequence cut off at the end), for any length including 0, and
// reads no byte outside p.
//
//go:noescape
func validAVX512(p []byte) bool

//go:noescape
func validAVX2(p []byte) bool

// valid runs the vector code at every length: measured on AMD Zen 5, it beats
// the pure-Go path even at 16 bytes (BENCHMARKS.md).
func valid(p []byte) bool {
	race.ReadRange(p) // the race detector does not see assembly
	switch cpu.Current {
	case cpu.AVX512:
		return validAVX512(p)
	case cpu.AVX2:
		return validAVX2(p)
	}
	return validFast(p)
}
