//go:build !linux

package reactor

// write hands p to the socket through gnet, on the loop.
func (c *conn) write(p []byte, _ bool) { _, _ = c.gc.Write(p) }

// writev hands bs to the socket through gnet, on the loop; bs is left as
// it was (gnet's Writev moves through the slice it is given: it gets a
// copy).
func (c *conn) writev(bs [][]byte, _ int, _ bool) {
	c.lp.vec = append(c.lp.vec[:0], bs...)
	_, _ = c.gc.Writev(c.lp.vec)
	clear(c.lp.vec)
}

// kernelUnacked is not known here: a peer counts as taking what it is
// sent, and only the hard cap (MaxOutbound plus the largest message) and
// the pongs owed against gnet's backlog judge it.
func kernelUnacked(int) int { return 0 }
