package mask

import (
	"encoding/binary"
	"math/bits"
)

// Apply XORs b in place with the masking key, as RFC 6455 section 5.3 defines it:
// byte i of b is XORed with key[(pos+i)%4]. pos is the offset of b[0] in the
// whole payload, so a payload that arrives in pieces is unmasked piece by piece
// by passing each call's result as the next call's pos. Apply returns
// (pos+len(b))&3. Only pos&3 matters; a negative pos is taken modulo 4 the same
// way.
//
// Apply runs the fastest path the CPU offers (see the package documentation). It
// does not allocate and does not keep b.
func Apply(b []byte, key [4]byte, pos int) int {
	k := wordKey(key, pos)
	if len(b) < minVector {
		// Short payloads, most WebSocket traffic, go straight to the pure-Go
		// loop: no vector path is faster for them, and skipping the dispatch
		// saves a call.
		xorGeneric(b, k)
	} else {
		xor(b, k)
	}
	return (pos + len(b)) & 3
}

// wordKey returns the key as a little-endian 32-bit word rotated so that its low
// byte is key[pos&3]: the byte that masks b[0].
func wordKey(key [4]byte, pos int) uint32 {
	return bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
}
