//go:build !purego && gc

package utf8

import (
	"slices"

	"github.com/tachyonws/tachyon/internal/cpu"
)

// validKernels returns the amd64 validators this CPU can run. It asks
// cpu.Available rather than cpu.Current, so that a TACHYON_SIMD cap or a
// cpu.Force in another test does not hide a kernel from these tests.
func validKernels() []validKernel {
	avail := cpu.Available()
	var ks []validKernel
	if slices.Contains(avail, cpu.AVX512) {
		ks = append(ks, validKernel{"avx512", validAVX512})
	}
	if slices.Contains(avail, cpu.AVX2) {
		ks = append(ks, validKernel{"avx2", validAVX2})
	}
	return ks
}
