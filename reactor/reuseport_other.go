//go:build !linux || mips || mipsle || mips64 || mips64le

package reactor

const holdPlaceholder = false

// setReusePort does nothing where SO_REUSEPORT does not balance: gnet then
// uses one listener (see gnet's WithReusePort), so the placeholder's port
// is simply taken over after it closes.
func setReusePort(int) error { return nil }
