// Package cpu reads, once at start-up, which SIMD level the kernels in mask and
// utf8 may use, and lets tests and the TACHYON_SIMD environment variable lower it.
//
// The level is a plain package variable read on every kernel call: reading it
// costs one load, and keeping it in one place means a single switch moves every
// kernel of the process to the same path. Force exists for tests; production
// code never writes the level after init.
package cpu

import (
	"os"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Level is a SIMD level. Levels of one architecture are ordered: a higher level
// implies the lower ones.
type Level uint8

// The levels. Generic is the pure-Go path and exists everywhere.
const (
	Generic Level = iota // pure Go, every architecture and build
	SSE2                 // amd64 baseline
	AVX2                 // amd64: AVX2 (and BMI2)
	AVX512               // amd64: AVX-512 F, BW and VL
	NEON                 // arm64: Advanced SIMD (the arm64 baseline)
)

var levelNames = [...]string{Generic: "generic", SSE2: "sse2", AVX2: "avx2", AVX512: "avx512", NEON: "neon"}

// String returns the level's lower-case name, as TACHYON_SIMD spells it.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "unknown"
}

// ParseLevel returns the level named s (case-insensitive), and false when no
// level has that name.
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), true
		}
	}
	return Generic, false
}

// Current is the level every kernel dispatches on. It is set by init to the best
// level that both the CPU and this build support, capped by TACHYON_SIMD.
// Only tests change it, through Force.
var Current Level

// detected is the best level the CPU and build support, before any cap.
var detected Level

// EnvVar names the environment variable that caps the level at start-up, for
// example TACHYON_SIMD=avx2 or TACHYON_SIMD=generic. An unknown or unsupported
// value is ignored.
const EnvVar = "TACHYON_SIMD"

func init() {
	detected = detect()
	Current = detected
	if s := os.Getenv(EnvVar); s != "" {
		if l, ok := ParseLevel(s); ok && supported(l) {
			Current = l
		}
	}
}

func detect() Level {
	if !asmEnabled {
		return Generic
	}
	switch runtime.GOARCH {
	case "amd64":
		switch {
		case cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.BMI2):
			return AVX512
		case cpuid.CPU.Supports(cpuid.AVX2, cpuid.BMI2):
			return AVX2
		default:
			return SSE2
		}
	case "arm64":
		return NEON
	}
	return Generic
}

// supported reports whether level l can run on this CPU and build.
func supported(l Level) bool {
	if l == Generic {
		return true
	}
	if l == NEON {
		return detected == NEON
	}
	return detected != NEON && l <= detected
}

// Available lists the levels this CPU and build can run, best first; Generic is
// always last. It ignores TACHYON_SIMD.
func Available() []Level {
	var ls []Level
	for l := NEON; ; l-- {
		if supported(l) {
			ls = append(ls, l)
		}
		if l == Generic {
			return ls
		}
	}
}

// Force sets Current to l for a test and returns a function that restores the
// previous level. It panics when l cannot run here. It is not safe to call while
// kernels run on other goroutines.
func Force(l Level) (restore func()) {
	if !supported(l) {
		panic("cpu.Force: level " + l.String() + " is not available on this CPU and build")
	}
	prev := Current
	Current = l
	return func() { Current = prev }
}
