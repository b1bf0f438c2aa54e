//go:build !purego && gc

package utf8

// validKernels returns the arm64 validators: NEON is the arm64 baseline.
func validKernels() []validKernel {
	return []validKernel{{"neon", validNEON}}
}
