//go:build unix

package engine

import "syscall"

// fdLimit returns the process's limit on open files (the soft
// RLIMIT_NOFILE, which the Go runtime raises to the hard limit at start),
// or 0 when it cannot tell.
func fdLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}
