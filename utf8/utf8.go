package utf8

// Valid reports whether p is entirely valid UTF-8 as RFC 3629 defines it: no
// overlong forms, no surrogate halves (U+D800–U+DFFF), nothing above U+10FFFF,
// and no sequence cut off at the end. It agrees with unicode/utf8.Valid on every
// input.
//
// Valid runs the fastest path the CPU offers (see the package documentation). It
// does not allocate and does not keep p.
func Valid(p []byte) bool { return valid(p) }

// Validator validates UTF-8 text that arrives in pieces split at arbitrary
// points, such as the fragments of a WebSocket text message. The zero value is
// ready to use; a Validator is a few bytes, never allocates, and is not safe for
// concurrent use.
//
// Validate fails fast: it returns false as soon as the bytes seen so far cannot
// be the beginning of any valid string, which RFC 6455 section 8.1 asks of an
// endpoint ("MUST _Fail the WebSocket Connection_") without waiting for the
// final fragment. Complete then tells, at the end of the message, whether the
// text also ends on a code-point boundary.
//
// Each piece is checked by the same vector code as Valid; only a code point
// split across two pieces (at most three bytes on either side) goes through the
// byte-at-a-time automaton.
type Validator struct {
	state uint8 // automaton state after the bytes seen so far; reject is sticky
}

// Validate feeds the next piece of text. It returns false when the bytes seen so
// far, this piece included, are not a prefix of valid UTF-8; once it has
// returned false it returns false until Reset. A piece may end in the middle of
// a code point: the unfinished sequence is remembered, not copied.
func (v *Validator) Validate(p []byte) bool {
	// The common case, kept small enough to inline: nothing open from the
	// previous piece and nothing left open at the end of this one (its last
	// byte is ASCII), so the piece is valid exactly when it is valid alone.
	if v.state == accept && len(p) > 0 && p[len(p)-1] < 0x80 {
		if valid(p) {
			return true
		}
		v.state = reject
		return false
	}
	return v.validate(p)
}

// validate is Validate for a piece that continues or leaves open a code point
// (or follows a failure).
func (v *Validator) validate(p []byte) bool {
	s := v.state
	if s == reject {
		return false
	}
	// Finish the code point left open by the previous piece.
	for s != accept && len(p) > 0 {
		s = step(s, p[0])
		p = p[1:]
		if s == reject {
			v.state = reject
			return false
		}
	}
	if len(p) == 0 {
		v.state = s
		return true
	}
	// p now starts on a code-point boundary. Validate all of it but a trailing
	// unfinished sequence with the vector code, then walk that tail.
	cut := openTail(p)
	if !valid(p[:cut]) {
		v.state = reject
		return false
	}
	for _, b := range p[cut:] {
		s = step(s, b)
		if s == reject {
			v.state = reject
			return false
		}
	}
	v.state = s
	return true
}

// Complete reports whether all bytes fed since the last Reset are valid UTF-8
// that ends on a code-point boundary: the check to make when the last fragment
// of a text message has arrived. It is true for a Validator that has seen no
// bytes.
func (v *Validator) Complete() bool { return v.state == accept }

// Reset forgets everything fed so far, making v ready for a new text.
func (v *Validator) Reset() { v.state = accept }

// openTail returns the index where a multi-byte sequence that begins within the
// last three bytes of p, and is longer than what is left of p, starts; len(p)
// when there is none. Everything before that index must be valid on its own for
// p to be a valid prefix; the bytes from it on are left to the automaton, which
// rejects them at once if they cannot begin a sequence.
func openTail(p []byte) int {
	n := len(p)
	for k := 1; k <= 3 && k <= n; k++ {
		c := p[n-k]
		switch {
		case c < 0x80:
			return n // ASCII: nothing open
		case c < 0xC0:
			continue // a tail byte: look further back for its lead
		case c < 0xE0:
			if k < 2 {
				return n - k
			}
		case c < 0xF0:
			if k < 3 {
				return n - k
			}
		default:
			return n - k // a four-byte lead (or an invalid byte) within the last three
		}
		return n
	}
	return n
}
