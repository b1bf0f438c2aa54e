//go:build !purego && gc && (amd64 || arm64)

package cpu

// asmEnabled reports whether this build contains the assembly kernels.
const asmEnabled = true
