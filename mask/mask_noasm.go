//go:build purego || !gc || !(amd64 || arm64)

package mask

func xor(b []byte, key uint32) { xorGeneric(b, key) }
