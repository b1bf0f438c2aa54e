//go:build !purego && gc

package mask

import (
	"slices"

	"github.com/tachyonws/tachyon/internal/cpu"
)

// asmKernels returns the amd64 kernels this CPU can run. It asks
// cpu.Available rather than cpu.Current, so that a TACHYON_SIMD cap or a
// cpu.Force in another test does not hide a kernel from the tests.
func asmKernels() []kernel {
	avail := cpu.Available()
	var ks []kernel
	if slices.Contains(avail, cpu.AVX512) {
		ks = append(ks, kernel{"avx512", xorAVX512})
	}
	if slices.Contains(avail, cpu.AVX2) {
		ks = append(ks, kernel{"avx2", xorAVX2})
	}
	return append(ks, kernel{"sse2", xorSSE2})
}
