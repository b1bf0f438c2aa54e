//go:build purego || !gc || !(amd64 || arm64)

package mask

// minVector is the length below which Apply skips the dispatch; without
// assembly there is nothing to dispatch to.
const minVector = 0

func xor(b []byte, key uint32) { xorGeneric(b, key) }
