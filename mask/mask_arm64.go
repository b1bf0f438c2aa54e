//go:build !purego && gc

package mask

import (
	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/race"
)

// xorNEON, in mask_arm64.s, XORs every byte of b with the repeating key
// (b[i] ^= byte(key >> (8*(i%4)))), for any length including 0, and touches no
// byte outside b.
//
//go:noescape
func xorNEON(b []byte, key uint32)

// minVector is the length below which Apply skips the dispatch. No crossover
// has been measured on arm64 hardware yet, so every length runs NEON.
const minVector = 0

func xor(b []byte, key uint32) {
	race.WriteRange(b) // the race detector does not see assembly
	if cpu.Current == cpu.NEON {
		xorNEON(b, key)
		return
	}
	xorGeneric(b, key)
}
