package utf8

// UnmaskValid XORs p in place with a WebSocket masking key and reports whether
// the unmasked p is valid UTF-8. It is mask.Apply followed by Valid, done in
// one pass where the CPU allows it: a masked text frame is unmasked and
// validated with a single load of each block, instead of the validator
// re-reading bytes the masking pass has only just stored (which, for short
// messages, costs more than the validation itself).
//
// Unmasking follows mask.Apply exactly: byte i of p is XORed with
// key[(pos+i)%4], pos being the offset of p[0] in the whole payload, and next
// is (pos+len(p))&3, the pos of the piece that follows. Validity follows Valid
// exactly (RFC 3629, as unicode/utf8.Valid). p is always fully unmasked, valid
// or not, so the caller may still deliver or log it.
//
// UnmaskValid does not allocate and does not keep p.
func UnmaskValid(p []byte, key [4]byte, pos int) (valid bool, next int) {
	return unmaskValid(p, key, pos), (pos + len(p)) & 3
}
