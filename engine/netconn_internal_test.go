package engine

import (
	"io"
	"net"
	"testing"
)

// Writing a message through the blocking driver allocates nothing: the
// frame is encoded into the connection's output buffer and written out
// under the lock.
func TestNetConnWriteAllocs(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.Copy(io.Discard, b)
	for _, role := range []Role{RoleServer, RoleClient} {
		c := newNetConn(a, role, BaseHandler{}, Config{}, "", nil)
		payload := []byte("a message of a typical chat size, some sixty bytes or so")
		if allocs := testing.AllocsPerRun(200, func() {
			if err := c.WriteMessage(OpText, payload); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%v: %v allocations per WriteMessage", role, allocs)
		}
	}
}
