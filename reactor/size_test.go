package reactor

import (
	"testing"
	"unsafe"
)

// An idle upgraded connection costs the reactor one allocation of this size
// on 64-bit platforms (the 160-byte size class): what only some
// connections need (a subprotocol, groups, the judgement of a slow reader)
// is in connExtra, allocated by those that do.
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit platforms only")
	}
	if n := unsafe.Sizeof(conn{}); n > 160 {
		t.Errorf("reactor conn is %d bytes, budget 160", n)
	}
}
