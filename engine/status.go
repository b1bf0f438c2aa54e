package engine

import "strconv"

// StatusCode is a close status code (RFC 6455 section 7.4, registry in
// section 11.7).
type StatusCode uint16

// The status codes RFC 6455 and the IANA registry define. 1005, 1006 and
// 1015 are never sent on the wire (section 7.4.1: they are "designated for
// use in applications expecting a status code to indicate" what happened).
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusReceived        StatusCode = 1005 // local only: the peer's close had no code
	StatusAbnormalClosure         StatusCode = 1006 // local only: the connection dropped without a close
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalError           StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
	StatusTLSHandshake            StatusCode = 1015 // local only
)

// ValidOnWire reports whether c may appear in a close frame: 1000-1003,
// 1007-1014 (the codes defined for sending), and 3000-4999 (registered
// libraries and frameworks, and private use: section 7.4.2). Every other
// code in a received close frame is a protocol error.
func (c StatusCode) ValidOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// String returns the code's name from the registry ("normal closure"), or
// what its range is for: "private code 4000" (4000-4999, the
// application's own), "registered code 3000" (3000-3999), or "status N".
func (c StatusCode) String() string {
	switch c {
	case StatusNormalClosure:
		return "normal closure"
	case StatusGoingAway:
		return "going away"
	case StatusProtocolError:
		return "protocol error"
	case StatusUnsupportedData:
		return "unsupported data"
	case StatusNoStatusReceived:
		return "no status received"
	case StatusAbnormalClosure:
		return "abnormal closure"
	case StatusInvalidFramePayloadData:
		return "invalid frame payload data"
	case StatusPolicyViolation:
		return "policy violation"
	case StatusMessageTooBig:
		return "message too big"
	case StatusMandatoryExtension:
		return "mandatory extension"
	case StatusInternalError:
		return "internal error"
	case StatusServiceRestart:
		return "service restart"
	case StatusTryAgainLater:
		return "try again later"
	case StatusBadGateway:
		return "bad gateway"
	case StatusTLSHandshake:
		return "TLS handshake"
	}
	switch {
	case c >= 4000 && c <= 4999:
		return "private code " + strconv.Itoa(int(c))
	case c >= 3000 && c <= 3999:
		return "registered code " + strconv.Itoa(int(c))
	}
	return "status " + strconv.Itoa(int(c))
}

// named reports whether c has a name in the registry (String gives it).
func (c StatusCode) named() bool {
	return c >= 1000 && c <= 1015 && c != 1004
}
