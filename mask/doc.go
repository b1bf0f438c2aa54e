// Package mask applies the WebSocket masking key (RFC 6455 section 5.3): every
// payload byte a client sends is XORed with one byte of a 4-byte key, the key
// repeating every four bytes, and the server XORs again to recover it.
//
// # Usage
//
// Apply unmasks (or masks: the operation is its own inverse) a buffer in place.
// A payload that arrives in pieces is unmasked piece by piece: each call
// returns the key offset at which the next piece starts.
//
// # Paths
//
// Apply runs, in order of preference, AVX-512 (F, BW, VL), AVX2 or SSE2
// assembly on amd64 and NEON on arm64, chosen once at start-up from the CPU's
// features; inputs too short for a vector to pay off take the pure-Go loop.
// ApplyGeneric is that pure-Go loop, a 64-bit word at a time, compiled into
// every build. The environment variable TACHYON_SIMD (generic, sse2, avx2,
// avx512, neon) caps the choice for the whole process, and the build tag
// purego leaves the assembly out. Every path gives the same bytes; the fuzz
// targets in the repository's fuzz directory hold them to it.
//
// # Performance
//
// BENCHMARKS.md in the repository has the measured throughput of each path,
// copy() and gobwas/ws at 16 B to 1 MiB, and the command that measured it.
package mask
