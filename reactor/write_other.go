//go:build !linux

package reactor

// write hands p to the socket through gnet, on the loop.
func (c *conn) write(p []byte, _ bool) { _, _ = c.gc.Write(p) }

// kernelUnacked is not known here: only gnet's backlog counts.
func kernelUnacked(int) int { return 0 }
