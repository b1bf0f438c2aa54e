//go:build !purego && gc

package utf8

import (
	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/race"
)

// validNEON, in utf8_arm64.s, reports whether p is entirely valid UTF-8 (RFC
// 3629: no overlong forms, no surrogates, nothing above U+10FFFF, no sequence cut
// off at the end), for any length including 0, and reads no byte outside p.
//
//go:noescape
func validNEON(p []byte) bool

// valid runs the vector code at every length. (Not yet measured on arm64
// hardware: CI runs it under qemu, which says nothing of speed.)
func valid(p []byte) bool {
	race.ReadRange(p) // the race detector does not see assembly
	if cpu.Current == cpu.NEON {
		return validNEON(p)
	}
	return validFast(p)
}
