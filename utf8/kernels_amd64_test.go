//go:build !purego && gc

package utf8

import (
	"slices"
	"testing"

	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/guard"
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

// needAVX512Guard skips a test that calls an AVX-512 kernel directly on
// guard-page buffers when the CPU or the platform cannot run it.
func needAVX512Guard(tb testing.TB) {
	tb.Helper()
	if !slices.Contains(cpu.Available(), cpu.AVX512) {
		tb.Skip("no AVX-512 on this CPU")
	}
	if !guard.Supported {
		tb.Skip("no guard pages on this platform")
	}
}
