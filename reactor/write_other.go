//go:build !linux

package reactor

// write hands p to the socket through gnet, on the loop.
func (c *conn) write(p []byte, _ bool) { _, _ = c.gc.Write(p) }

// kernelUnacked is not known here: a peer counts as taking what it is
// sent, and only the hard cap (MaxOutbound plus the largest message) and
// the pongs owed against gnet's backlog judge it.
func kernelUnacked(int) int { return 0 }
