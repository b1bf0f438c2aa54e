package utf8_test

import (
	"fmt"

	"github.com/tachyonws/tachyon/utf8"
)

func ExampleValid() {
	fmt.Println(utf8.Valid([]byte("Καλημέρα κόσμε")))
	fmt.Println(utf8.Valid([]byte{0xed, 0xa0, 0x80})) // a surrogate half, U+D800
	// Output:
	// true
	// false
}

// A text message in fragments: the euro sign is split between the first two.
func ExampleValidator() {
	var v utf8.Validator
	fragments := [][]byte{[]byte("price: 12 \xe2"), []byte("\x82\xac"), []byte(" each")}
	for _, f := range fragments {
		if !v.Validate(f) {
			fmt.Println("invalid: close 1007")
			return
		}
	}
	fmt.Println("complete:", v.Complete())
	// Output: complete: true
}

// Validate fails on the first fragment that cannot begin valid text, without
// waiting for the end of the message.
func ExampleValidator_failFast() {
	var v utf8.Validator
	fmt.Println(v.Validate([]byte("ok so far \xe0")))
	fmt.Println(v.Validate([]byte("\x80"))) // E0 80 would be an overlong form
	// Output:
	// true
	// false
}
