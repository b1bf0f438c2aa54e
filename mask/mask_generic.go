package mask

import "encoding/binary"

// ApplyGeneric is Apply's pure-Go path, with the same contract. It is compiled
// into every build so that tests and benchmarks can compare the assembly with it.
func ApplyGeneric(b []byte, key [4]byte, pos int) int {
	xorGeneric(b, wordKey(key, pos))
	return (pos + len(b)) & 3
}

// xorGeneric XORs b with the repeating 4-byte key whose first byte is the low
// byte of key. It works a 64-bit word at a time (the key repeats every 4 bytes,
// so every 8-byte step starts at the same key phase), four words per iteration
// in the main loop, then finishes the tail with one 32-bit step and single bytes.
func xorGeneric(b []byte, key uint32) {
	k := uint64(key) | uint64(key)<<32
	for len(b) >= 32 {
		_ = b[31] // one bounds check for the four words
		binary.LittleEndian.PutUint64(b[0:], binary.LittleEndian.Uint64(b[0:])^k)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	if len(b) >= 4 {
		binary.LittleEndian.PutUint32(b, binary.LittleEndian.Uint32(b)^key)
		b = b[4:]
	}
	for i := range b {
		b[i] ^= byte(key)
		key >>= 8
	}
}
