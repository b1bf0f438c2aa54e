package engine

// OpCode is a frame's opcode (RFC 6455 section 5.2, registry in section 11.8).
type OpCode byte

// The opcodes RFC 6455 defines. 0x3-0x7 are reserved for further data
// frames and 0xB-0xF for further control frames; a frame with one of them
// fails the connection (section 5.2: "If an unknown opcode is received, the
// receiving endpoint MUST _Fail the WebSocket Connection_").
const (
	OpContinuation OpCode = 0x0 // section 5.4: a later fragment of a message
	OpText         OpCode = 0x1 // section 5.6: UTF-8 text
	OpBinary       OpCode = 0x2 // section 5.6: arbitrary bytes
	OpClose        OpCode = 0x8 // section 5.5.1
	OpPing         OpCode = 0x9 // section 5.5.2
	OpPong         OpCode = 0xA // section 5.5.3
)

// IsControl reports whether o is a control opcode (section 5.5: "Control
// frames are identified by opcodes where the most significant bit of the
// opcode is 1").
func (o OpCode) IsControl() bool { return o&0x8 != 0 }

// IsKnown reports whether RFC 6455 defines o.
func (o OpCode) IsKnown() bool {
	// One bit per opcode: 0x0, 0x1, 0x2, 0x8, 0x9, 0xA.
	const known = 1<<OpContinuation | 1<<OpText | 1<<OpBinary | 1<<OpClose | 1<<OpPing | 1<<OpPong
	return o < 16 && known>>o&1 != 0
}

// String returns the opcode's name, or its number for a reserved one.
func (o OpCode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(" + string("0123456789ABCDEF"[o&0xF]) + ")"
}
