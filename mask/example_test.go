package mask_test

import (
	"fmt"

	"github.com/tachyonws/tachyon/mask"
)

func ExampleApply() {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte("Hello") // as a client would send it...
	mask.Apply(payload, key, 0)
	fmt.Printf("masked:   % x\n", payload) // RFC 6455 section 5.7's example frame

	mask.Apply(payload, key, 0) // ...and unmasked again by the server
	fmt.Printf("unmasked: %s\n", payload)
	// Output:
	// masked:   7f 9f 4d 51 58
	// unmasked: Hello
}

// A payload read in pieces is unmasked piece by piece: each call returns the key
// offset at which the next piece starts.
func ExampleApply_pieces() {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	pos := mask.Apply(payload[:3], key, 0)
	pos = mask.Apply(payload[3:], key, pos)
	fmt.Printf("%s %d\n", payload, pos)
	// Output: Hello 1
}
