//go:build !purego && gc

package mask

// asmKernels returns the arm64 kernels: NEON is the arm64 baseline.
func asmKernels() []kernel {
	return []kernel{{"neon", xorNEON}}
}
