package engine

import (
	"encoding/binary"

	"github.com/tachyonws/tachyon/mask"
)

// MaxHeaderSize is the size of the longest frame header: two bytes, eight
// bytes of extended payload length and a four-byte masking key.
const MaxHeaderSize = 14

// MaxControlPayload is the largest payload a control frame may carry (RFC
// 6455 section 5.5: "All control frames MUST have a payload length of 125
// bytes or less").
const MaxControlPayload = 125

// The reserved bits of a frame header, as Header.Rsv holds them. An extension
// such as permessage-deflate (RFC 7692, RSV1) gives them a meaning; without
// one they must be zero.
const (
	Rsv1 byte = 4
	Rsv2 byte = 2
	Rsv3 byte = 1
)

// Header is a frame header (RFC 6455 section 5.2). It is a plain value: the
// payload is not part of it.
type Header struct {
	Fin    bool    // last fragment of its message
	Rsv    byte    // RSV1..RSV3 as Rsv1|Rsv2|Rsv3
	OpCode OpCode  // frame type
	Masked bool    // the payload is masked with Mask
	Mask   [4]byte // masking key; meaningful only when Masked
	Length int64   // payload length in bytes
}

// Role is the side of a connection: it decides which frames must be masked
// (RFC 6455 section 5.1: a client masks every frame it sends, a server masks
// none).
type Role uint8

// The two roles.
const (
	RoleServer Role = iota
	RoleClient
)

// String returns "server" or "client".
func (r Role) String() string {
	if r == RoleClient {
		return "client"
	}
	return "server"
}

// ParseHeader parses the frame header at the front of b into h, without
// copying or allocating. n is the header's encoded size: when n > len(b), b
// holds only part of the header, h is left as it was, and the caller comes
// back with at least n bytes (n is exact once b holds the first two bytes;
// before that it is 2). The payload starts at b[n:]. (h is a pointer so that
// the header is written in place: Header holds an array, which Go passes and
// returns through memory, and on the per-frame path that copy cost more than
// the parse itself.)
//
// ParseHeader only decodes. The one error it reports is a 64-bit length with
// its most significant bit set (section 5.2: "the most significant bit MUST
// be 0"), which no int64 can hold; CheckHeader applies every other rule. A
// length in a longer form than needed is accepted: section 5.2 tells the
// sender to use the shortest form but names no duty for the receiver, and
// common peers accept it too.
func ParseHeader(b []byte, h *Header) (n int, err error) {
	if len(b) < 2 {
		return 2, nil
	}
	b0, b1 := b[0], b[1]
	n = 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	if len(b) < n {
		return n, nil
	}
	var length int64
	i := 2
	switch l := b1 & 0x7F; l {
	case 126:
		length = int64(binary.BigEndian.Uint16(b[2:4]))
		i = 4
	case 127:
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return n, ErrLengthTopBit
		}
		length = int64(u)
		i = 10
	default:
		length = int64(l)
	}
	h.Fin = b0&0x80 != 0
	h.Rsv = (b0 >> 4) & 7
	h.OpCode = OpCode(b0 & 0x0F)
	h.Masked = b1&0x80 != 0
	h.Length = length
	if h.Masked {
		h.Mask = [4]byte(b[i : i+4])
	} else {
		h.Mask = [4]byte{}
	}
	return n, nil
}

// CheckHeader applies RFC 6455's rules to a received header, so that a bad
// frame is refused before any of its payload is read or buffered. role is the
// receiving side; rsv holds the reserved bits the negotiated extensions
// define (0 without extensions); maxFrame is the largest payload accepted in
// one frame (0 or less: no limit). It returns one of the sentinel
// *ProtocolError values:
//
//   - ErrUnknownOpCode: "If an unknown opcode is received, the receiving
//     endpoint MUST _Fail the WebSocket Connection_" (section 5.2);
//   - ErrReservedBits: "If a nonzero value is received and none of the
//     negotiated extensions defines the meaning of such a nonzero value, the
//     receiving endpoint MUST _Fail the WebSocket Connection_" (section 5.2);
//   - ErrFragmentedControl, ErrControlTooLong: "All control frames MUST have
//     a payload length of 125 bytes or less and MUST NOT be fragmented"
//     (section 5.5);
//   - ErrMaskRequired: "The server MUST close the connection upon receiving a
//     frame that is not masked" (section 5.1);
//   - ErrMaskUnexpected: "A client MUST close a connection if it detects a
//     masked frame" (section 5.1);
//   - ErrFrameTooBig (close code 1009) when the payload exceeds maxFrame.
func CheckHeader(h *Header, role Role, rsv byte, maxFrame int64) error {
	if !h.OpCode.IsKnown() {
		return ErrUnknownOpCode
	}
	if h.Rsv&^rsv != 0 {
		return ErrReservedBits
	}
	if h.OpCode.IsControl() {
		if !h.Fin {
			return ErrFragmentedControl
		}
		if h.Length > MaxControlPayload {
			return ErrControlTooLong
		}
	}
	if role == RoleServer && !h.Masked {
		return ErrMaskRequired
	}
	if role == RoleClient && h.Masked {
		return ErrMaskUnexpected
	}
	if maxFrame > 0 && h.Length > maxFrame {
		return ErrFrameTooBig
	}
	return nil
}

// HeaderSize returns the encoded size of h.
func HeaderSize(h Header) int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// PutHeader encodes h at the front of b, in the shortest form, and returns
// the number of bytes written, HeaderSize(h). b must hold that many bytes
// (MaxHeaderSize always suffices). It panics if h.Length is negative.
func PutHeader(b []byte, h Header) int {
	if h.Length < 0 {
		panic("engine.PutHeader: negative payload length")
	}
	b0 := h.byte0()
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	n := 2
	switch {
	case h.Length > 0xFFFF:
		_ = b[9]
		b1 |= 127
		binary.BigEndian.PutUint64(b[2:10], uint64(h.Length))
		n = 10
	case h.Length > 125:
		_ = b[3]
		b1 |= 126
		binary.BigEndian.PutUint16(b[2:4], uint16(h.Length))
		n = 4
	default:
		_ = b[1]
		b1 |= byte(h.Length)
	}
	b[0], b[1] = b0, b1
	if h.Masked {
		n += copy(b[n:n+4], h.Mask[:])
	}
	return n
}

// byte0 is the first byte of h's encoding: FIN, the RSV bits, the opcode.
func (h *Header) byte0() byte {
	b0 := byte(h.OpCode&0x0F) | (h.Rsv&7)<<4
	if h.Fin {
		b0 |= 0x80
	}
	return b0
}

// AppendHeader appends the encoding of h to dst and returns the extended
// slice.
func AppendHeader(dst []byte, h Header) []byte {
	if !h.Masked && h.Length >= 0 && h.Length <= 125 {
		// The common short header (a server's pong, a small message):
		// two bytes, appended directly.
		return append(dst, h.byte0(), byte(h.Length))
	}
	var buf [MaxHeaderSize]byte
	return append(dst, buf[:PutHeader(buf[:], h)]...)
}

// AppendFrame appends a whole frame to dst: the header h, with its Length set
// to len(payload), and the payload, masked with h.Mask when h.Masked (the
// caller's payload is left as it is). It returns the extended slice; it
// allocates only when dst must grow.
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	if !h.Masked && len(payload) <= 125 {
		// A short unmasked frame (a server's pong, a small message): its
		// two header bytes and the payload, appended directly.
		return append(append(dst, h.byte0(), byte(len(payload))), payload...)
	}
	h.Length = int64(len(payload))
	dst = AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		mask.Apply(dst[start:], h.Mask, 0)
	}
	return dst
}
