package engine

import (
	"testing"
	"unsafe"
)

// An idle connection's protocol state is one allocation of this size on
// 64-bit platforms (the 192-byte size class): new fields take the place
// of padding or go behind a pointer that idle connections leave nil.
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit platforms only")
	}
	if n := unsafe.Sizeof(Conn{}); n > 192 {
		t.Errorf("engine.Conn is %d bytes, budget 192", n)
	}
}
