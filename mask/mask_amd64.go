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

// Below these lengths the pure-Go loop is as fast as or faster than entering
// the assembly: the call, the key broadcast and (for AVX2 and SSE2) the scalar
// tail cost more than they save. Measured on AMD Zen 5 by masking payloads of
// 8 to 256 bytes spread over 64 buffers (BENCHMARKS.md): the pure-Go loop
// takes about 3.1 ns up to 32 bytes, AVX-512 3.4-3.6 ns from 8 to 128 bytes,
// AVX2 and SSE2 overtake only between 64 and 128 bytes.
const (
	minAVX512 = 32
	minAVX2   = 96
	minSSE2   = 96
	minVector = minAVX512 // the least of them: Apply's shortcut to xorGeneric
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
