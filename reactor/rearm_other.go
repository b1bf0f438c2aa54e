//go:build !linux

package reactor

// kernelQueued is not known here (see rearm_linux.go).
func kernelQueued(int) int { return -1 }

// rearm is not done here (see rearm_linux.go).
func (lp *loop) rearm(*conn) bool { return false }
