//go:build purego || !gc || !amd64

package utf8

import "github.com/tachyonws/tachyon/mask"

// unmaskValid is the definition of UnmaskValid: without a fused kernel, it
// runs the two calls it stands for.
func unmaskValid(p []byte, key [4]byte, pos int) bool {
	mask.Apply(p, key, pos)
	return valid(p)
}
