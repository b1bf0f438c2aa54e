package utf8

import stdutf8 "unicode/utf8"

// The validating automaton: a deterministic finite automaton over byte classes,
// built from the grammar of RFC 3629 section 4:
//
//	UTF8-1 = %x00-7F
//	UTF8-2 = %xC2-DF UTF8-tail
//	UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//	         %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//	UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//	         %xF4 %x80-8F 2( UTF8-tail )
//	UTF8-tail = %x80-BF
//
// Every byte is first mapped to one of twelve classes (bytes that the grammar
// never tells apart share a class); the state and the class then index the
// transition table. States are stored premultiplied by the number of classes,
// so a step is one addition and two loads. The reject state is absorbing: once
// the bytes seen cannot begin a valid string, no suffix makes them valid.

// Byte classes.
const (
	cASCII   = iota // 00-7F
	cTailLo         // 80-8F
	cTailMid        // 90-9F
	cTailHi         // A0-BF
	cBad            // C0-C1, F5-FF: never valid
	cLead2          // C2-DF
	cE0             // E0: second byte A0-BF (no overlong 3-byte forms)
	cLead3          // E1-EC, EE-EF
	cED             // ED: second byte 80-9F (no surrogates)
	cF0             // F0: second byte 90-BF (no overlong 4-byte forms)
	cLead4          // F1-F3
	cF4             // F4: second byte 80-8F (nothing above U+10FFFF)
	nClasses
)

// States, premultiplied by nClasses. accept must be zero so that the zero
// Validator is ready.
const (
	accept  = iota * nClasses // on a code-point boundary
	reject                    // invalid; absorbing
	tail1                     // one UTF8-tail to go
	tail2                     // two UTF8-tails to go
	afterE0                   // E0 seen: A0-BF, then one tail
	afterED                   // ED seen: 80-9F, then one tail
	tail3                     // F1-F3 seen: three tails
	afterF0                   // F0 seen: 90-BF, then two tails
	afterF4                   // F4 seen: 80-8F, then two tails
	nStates
)

// class maps a byte to its class.
var class = func() (t [256]uint8) {
	for b := range 256 {
		var c uint8
		switch {
		case b <= 0x7F:
			c = cASCII
		case b <= 0x8F:
			c = cTailLo
		case b <= 0x9F:
			c = cTailMid
		case b <= 0xBF:
			c = cTailHi
		case b <= 0xC1:
			c = cBad
		case b <= 0xDF:
			c = cLead2
		case b == 0xE0:
			c = cE0
		case b == 0xED:
			c = cED
		case b <= 0xEF:
			c = cLead3
		case b == 0xF0:
			c = cF0
		case b <= 0xF3:
			c = cLead4
		case b == 0xF4:
			c = cF4
		default:
			c = cBad
		}
		t[b] = c
	}
	return t
}()

// transition maps state+class to the next state. Every entry not set below is
// reject.
var transition = func() (t [nStates]uint8) {
	for i := range t {
		t[i] = reject
	}
	set := func(from int, to int, classes ...int) {
		for _, c := range classes {
			t[from+c] = uint8(to)
		}
	}
	set(accept, accept, cASCII)
	set(accept, tail1, cLead2)
	set(accept, afterE0, cE0)
	set(accept, tail2, cLead3)
	set(accept, afterED, cED)
	set(accept, afterF0, cF0)
	set(accept, tail3, cLead4)
	set(accept, afterF4, cF4)
	set(tail1, accept, cTailLo, cTailMid, cTailHi)
	set(tail2, tail1, cTailLo, cTailMid, cTailHi)
	set(tail3, tail2, cTailLo, cTailMid, cTailHi)
	set(afterE0, tail1, cTailHi)
	set(afterED, tail1, cTailLo, cTailMid)
	set(afterF0, tail2, cTailMid, cTailHi)
	set(afterF4, tail2, cTailLo)
	return t
}()

// step advances the automaton by one byte.
func step(s uint8, b byte) uint8 { return transition[int(s)+int(class[b])] }

// ValidGeneric reports whether p is valid UTF-8, by running the automaton over
// every byte. It is the reference the other paths are tested against: short,
// table-driven and obviously the grammar of RFC 3629. It is compiled into every
// build.
func ValidGeneric(p []byte) bool {
	s := uint8(accept)
	for _, b := range p {
		s = step(s, b)
		if s == reject {
			return false
		}
	}
	return s == accept
}

// validFast is the pure-Go path of Valid, used without assembly (and by the
// dispatcher when no vector level is available). It is unicode/utf8.Valid: on
// Go 1.26 it skips ASCII at about 48 GB/s and checks other text at 1.2-1.6
// GB/s on this project's benchmark machine, which neither the automaton
// (0.6 GB/s) nor a lead-byte table loop we wrote (0.5-0.7 GB/s) matched. The
// automaton stays the reference that every path, this one included, is held
// to.
func validFast(p []byte) bool { return stdutf8.Valid(p) }
