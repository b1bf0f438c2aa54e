//go:build !purego && gc

package utf8

import (
	"encoding/binary"
	"math/bits"

	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/race"
	"github.com/tachyonws/tachyon/mask"
)

// unmaskValidAVX512, in utf8_amd64.s, XORs p in place with the repeating key
// (p[i] ^= byte(key >> (8*(i%4)))) and reports whether the result is valid
// UTF-8, for any length including 0, touching no byte outside p.
//
//go:noescape
func unmaskValidAVX512(p []byte, key uint32) bool

// unmaskValid runs the fused kernel at every length where AVX-512 is on:
// measured on AMD Zen 5 (BenchmarkUnmaskValid), it beats mask.Apply then Valid
// from 16 bytes up. Other levels have no fused kernel and run the two calls.
func unmaskValid(p []byte, key [4]byte, pos int) bool {
	if cpu.Current == cpu.AVX512 {
		race.WriteRange(p) // the race detector does not see assembly
		return unmaskValidAVX512(p, wordKey(key, pos))
	}
	mask.Apply(p, key, pos)
	return valid(p)
}

// wordKey returns the key as a little-endian 32-bit word rotated so that its low
// byte is key[pos&3], the byte that masks p[0] (as package mask does).
func wordKey(key [4]byte, pos int) uint32 {
	return bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
}
