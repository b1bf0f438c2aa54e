//go:build purego || !gc || !(amd64 || arm64)

package mask

// asmKernels returns nothing: this build has no assembly kernels.
func asmKernels() []kernel { return nil }
