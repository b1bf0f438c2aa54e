package mask

import (
	"bytes"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/tachyonws/tachyon/internal/guard"
)

// kernel is one implementation of the xor contract:
// b[i] ^= byte(key >> (8*(i%4))) for every i, touching nothing outside b.
type kernel struct {
	name string
	fn   func(b []byte, key uint32)
}

// testKernels returns the assembly kernels this CPU and build can run
// (asmKernels, per architecture) followed by the pure-Go xorGeneric.
func testKernels() []kernel {
	return append(asmKernels(), kernel{"generic", xorGeneric})
}

var testKeys = []uint32{0x00000000, 0xffffffff, 0x12345678, 0xa55a03c1}

// xorBytewise is the contract spelled out one byte at a time; it checks
// xorGeneric, which in turn is the reference for the assembly kernels.
func xorBytewise(b []byte, key uint32) {
	for i := range b {
		b[i] ^= byte(key >> (8 * (i % 4)))
	}
}

func TestGenericMatchesBytewise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for _, key := range testKeys {
		for n := 0; n <= len(buf); n++ {
			got := append([]byte(nil), buf[:n]...)
			want := append([]byte(nil), buf[:n]...)
			xorGeneric(got, key)
			xorBytewise(want, key)
			if !bytes.Equal(got, want) {
				t.Fatalf("xorGeneric(len %d, key %#08x) differs from the bytewise loop", n, key)
			}
		}
	}
}

// TestKernels compares every assembly kernel with xorGeneric for every length
// up to 1100 and a few large ones, at offsets 0..7 from a 64-byte boundary and
// with 4 keys, and checks that the bytes around the slice are untouched.
// Lengths around the sizes at which the kernels start aligning their stores
// (512 and 1024 bytes) and the large lengths up to 64 KiB are also tried at
// every offset 0..63, so every head length and key phase of the alignment step
// is covered.
func TestKernels(t *testing.T) {
	const (
		pad    = 64 // bytes checked on each side of the slice
		maxOff = 63
	)
	kernels := asmKernels()
	if len(kernels) == 0 {
		t.Skip("no assembly kernels in this build")
	}
	lengths := make([]int, 0, 1104)
	for n := 0; n <= 1100; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 4096, 65536+3, 1<<20+5)
	maxLen := lengths[len(lengths)-1]
	offsets := func(n int) int {
		if (n >= 508 && n < 520) || (n >= 1020 && n < 1032) || (n > 1100 && n <= 1<<16+3) {
			return maxOff
		}
		return 7
	}

	rng := rand.New(rand.NewPCG(3, 4))
	orig := alignedBuf(pad+maxOff+maxLen+pad, 0)
	for i := range orig {
		orig[i] = byte(rng.Uint32())
	}
	got := alignedBuf(len(orig), 0)
	want := alignedBuf(len(orig), 0)

	for _, n := range lengths {
		for off := 0; off <= offsets(n); off++ {
			for _, key := range testKeys {
				start := pad + off
				end := start + n
				lo, hi := start-pad, end+pad
				copy(want[lo:hi], orig[lo:hi])
				xorGeneric(want[start:end], key)
				for _, k := range kernels {
					copy(got[lo:hi], orig[lo:hi])
					// Cap the slice at its length, as the kernels get it.
					k.fn(got[start:end:end], key)
					if bytes.Equal(got[lo:hi], want[lo:hi]) {
						continue
					}
					for i := lo; i < hi; i++ {
						if got[i] != want[i] {
							where := "inside"
							if i < start || i >= end {
								where = "OUTSIDE"
							}
							t.Fatalf("%s(len %d, offset %d, key %#08x): byte %d (%s the slice) = %#02x, want %#02x",
								k.name, n, off, key, i-start, where, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// alignedBuf returns a zeroed n-byte slice whose first byte is 64-byte aligned
// plus off.
func alignedBuf(n, off int) []byte {
	raw := make([]byte, n+off+64)
	skip := int(-uintptr(unsafe.Pointer(&raw[0])) & 63)
	return raw[skip+off : skip+off+n : skip+off+n]
}

// TestKernelsGuardPages runs every kernel, xorGeneric included, on slices flush
// against a PROT_NONE page at their start and at their end, so that any
// over-read or over-write faults.
func TestKernelsGuardPages(t *testing.T) {
	if !guard.Supported {
		t.Skip("no guard pages on this platform")
	}
	size := 2 * os.Getpagesize()
	g, err := guard.New(size)
	if err != nil {
		t.Fatalf("guard.New: %v", err)
	}
	defer g.Free()
	lengths := []int{}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	// Flush right, these start at every offset from a 64-byte boundary, so
	// they cover every alignment head of the kernels.
	for n := 1024; n < 1024+64; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 4095, size-1, size)
	const key = 0x9e3779b9
	for _, k := range testKernels() {
		t.Run(k.name, func(t *testing.T) {
			// Touching a guard page then fails the test, with the
			// length named, instead of crashing the test binary.
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			for _, n := range lengths {
				for _, left := range []bool{true, false} {
					var b []byte
					if left {
						b = g.Head(n)
					} else {
						b = g.Tail(n)
					}
					for i := range b {
						b[i] = byte(i * 7)
					}
					want := bytes.Clone(b)
					xorGeneric(want, key)
					if fault := call(k.fn, b, key); fault != nil {
						t.Fatalf("%s(len %d, flush left %v) faulted: %v", k.name, n, left, fault)
					}
					if !bytes.Equal(b, want) {
						t.Fatalf("%s(len %d, flush left %v): wrong result", k.name, n, left)
					}
				}
			}
		})
	}
}

// call runs fn(b, key) and returns the panic it raised, such as a fault on a
// guard page.
func call(fn func([]byte, uint32), b []byte, key uint32) (fault any) {
	defer func() { fault = recover() }()
	fn(b, key)
	return nil
}
