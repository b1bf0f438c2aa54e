//go:build purego || !gc || !(amd64 || arm64)

package utf8

func valid(p []byte) bool { return validFast(p) }
