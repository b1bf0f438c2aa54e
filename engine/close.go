package engine

import (
	"encoding/binary"
	stdutf8 "unicode/utf8"

	"github.com/tachyonws/tachyon/utf8"
)

// MaxCloseReason is the longest close reason that fits a control frame: 125
// bytes of payload less the two-byte status code.
const MaxCloseReason = MaxControlPayload - 2

// ParseClosePayload reads the payload of a received close frame (RFC 6455
// section 5.5.1). An empty payload means the peer gave no code: it returns
// StatusNoStatusReceived (1005). reason is a sub-slice of p. The errors:
//
//   - ErrCloseTooShort: a one-byte payload cannot hold the two-byte code;
//   - ErrInvalidCloseCode: a code outside those StatusCode.ValidOnWire allows
//     (section 7.4: 1005, 1006, 1015, unassigned 1xxx, 0-999 and 5000+);
//   - ErrInvalidUTF8: "the body ... MUST be ... UTF-8-encoded data" (section
//     5.5.1), close code 1007.
func ParseClosePayload(p []byte) (code StatusCode, reason []byte, err error) {
	switch len(p) {
	case 0:
		return StatusNoStatusReceived, nil, nil
	case 1:
		return 0, nil, ErrCloseTooShort
	}
	code = StatusCode(binary.BigEndian.Uint16(p))
	if !code.ValidOnWire() {
		return 0, nil, ErrInvalidCloseCode
	}
	reason = p[2:]
	if !utf8.Valid(reason) {
		return 0, nil, ErrInvalidUTF8
	}
	return code, reason, nil
}

// AppendClosePayload appends a close frame's payload to dst: the code, then
// the reason. StatusNoStatusReceived appends nothing (a close without a
// code). The caller checks its arguments with CheckClose first.
func AppendClosePayload(dst []byte, code StatusCode, reason string) []byte {
	if code == StatusNoStatusReceived {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// CheckClose validates a close the application asks to send: the code must be
// one allowed on the wire (or StatusNoStatusReceived, for a close without a
// code, which then must have no reason), and the reason valid UTF-8 of at most
// MaxCloseReason bytes.
func CheckClose(code StatusCode, reason string) error {
	if code == StatusNoStatusReceived {
		if reason != "" {
			return errCloseReasonWithoutCode
		}
		return nil
	}
	if !code.ValidOnWire() {
		return errCloseCode
	}
	if len(reason) > MaxCloseReason {
		return errCloseReasonTooLong
	}
	if !stdutf8.ValidString(reason) {
		return errCloseReasonUTF8
	}
	return nil
}

// Errors of CheckClose: the application's mistakes, not the peer's, so they
// carry no close code.
var (
	errCloseCode              = closeArgError("close code not allowed on the wire (RFC 6455 section 7.4)")
	errCloseReasonTooLong     = closeArgError("close reason over 123 bytes")
	errCloseReasonUTF8        = closeArgError("close reason is not valid UTF-8")
	errCloseReasonWithoutCode = closeArgError("close reason without a status code")
)

type closeArgError string

func (e closeArgError) Error() string { return "engine: " + string(e) }
