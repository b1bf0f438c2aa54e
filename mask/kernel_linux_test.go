package mask

import (
	"bytes"
	"os"
	"syscall"
	"testing"
)

// guardedRegion maps data pages of read-write memory between two PROT_NONE
// pages and returns the read-write part. Any access just before or just after
// it faults.
func guardedRegion(t *testing.T, dataPages int) []byte {
	t.Helper()
	ps := os.Getpagesize()
	m, err := syscall.Mmap(-1, 0, (dataPages+2)*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(m) })
	if err := syscall.Mprotect(m[:ps], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	if err := syscall.Mprotect(m[len(m)-ps:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return m[ps : len(m)-ps : len(m)-ps]
}

// TestKernelsGuardPages runs every kernel on slices flush against a PROT_NONE
// page, on the left and on the right, so that any over-read or over-write
// faults.
func TestKernelsGuardPages(t *testing.T) {
	region := guardedRegion(t, 2)
	lengths := []int{}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	// Flush right, these start at every offset from a 64-byte boundary, so
	// they cover every alignment head of the kernels.
	for n := 1024; n < 1024+64; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 4095, len(region)-1, len(region))
	const key = 0x9e3779b9
	for _, k := range testKernels() {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range lengths {
				for _, left := range []bool{true, false} {
					var b []byte
					if left {
						b = region[:n:n]
					} else {
						b = region[len(region)-n:]
					}
					for i := range b {
						b[i] = byte(i * 7)
					}
					want := bytes.Clone(b)
					xorGeneric(want, key)
					k.fn(b, key)
					if !bytes.Equal(b, want) {
						t.Fatalf("%s(len %d, flush left %v): wrong result", k.name, n, left)
					}
				}
			}
		})
	}
}
