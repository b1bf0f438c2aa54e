// Package utf8 validates UTF-8 (RFC 3629) for WebSocket text messages, which
// RFC 6455 section 8.1 requires an endpoint to check and to refuse with close
// code 1007 when invalid.
//
// # Usage
//
// Valid checks a complete text. A Validator checks a text that arrives in
// pieces — the fragments of a message, or a message read in parts — and fails
// as soon as the bytes so far cannot begin a valid string, so a connection can
// be failed on the first bad fragment rather than the last.
//
// Both agree with unicode/utf8.Valid on every input: no overlong encodings, no
// surrogate halves, nothing above U+10FFFF, no sequence cut off at the end.
//
// # Paths
//
// ValidGeneric is the reference: a deterministic automaton over byte classes,
// driven by a transition table built from the grammar of RFC 3629. Valid runs,
// in order of preference, AVX-512 or AVX2 assembly on amd64 and NEON on arm64,
// after the method of Keiser and Lemire ("Validating UTF-8 in less than one
// instruction per byte", 2021), with a fast path for blocks of ASCII; without
// them (or for inputs too short for a vector) it runs the automaton behind a
// loop that skips ASCII sixteen bytes at a time. The environment variable
// TACHYON_SIMD (generic, avx2, avx512, neon) caps the choice for the whole
// process, and the build tag purego leaves the assembly out.
//
// # Performance
//
// BENCHMARKS.md in the repository has the measured throughput of each path,
// unicode/utf8.Valid and copy() on ASCII, mixed prose and CJK text at 16 B to
// 1 MiB, and the command that measured it.
package utf8
