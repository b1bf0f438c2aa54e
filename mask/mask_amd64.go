//go:build !purego && gc

package mask

import (
	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/race"
)

// The assembly kernels in mask_amd64.s. Each XORs every byte of b with the
// repeating key (b[i] ^= byte(key >> (8*(i%4)))), for any length including 0,
// and touches no byte outside b.
//
//go:noescape
func xorAVX512(b []byte, key uint32)

//go:noescape
func xorAVX2(b []byte, key uint32)

//go:noescape
func xorSSE2(b []byte, key uint32)

// Below these lengths the pure-Go loop is faster than entering the assembly
// (measured with `make bench`; see BENCHMARKS.md).
const (
	minAVX512 = 0
	minAVX2   = 0
	minSSE2   = 0
)

func xor(b []byte, key uint32) {
	race.WriteRange(b) // the race detector does not see assembly
	switch cpu.Current {
	case cpu.AVX512:
		if len(b) >= minAVX512 {
			xorAVX512(b, key)
			return
		}
	case cpu.AVX2:
		if len(b) >= minAVX2 {
			xorAVX2(b, key)
			return
		}
	case cpu.SSE2:
		if len(b) >= minSSE2 {
			xorSSE2(b, key)
			return
		}
	}
	xorGeneric(b, key)
}
