package engine

import (
	"errors"
	"strconv"
)

// ProtocolError is a violation of RFC 6455 by the peer, or a limit it
// exceeded. Code is the status the connection is failed with: 1002 for a
// protocol error, 1007 for invalid UTF-8, 1009 for a frame or message over a
// limit. The errors the engine returns are the sentinels below (compare with
// errors.Is); the type is exported so that errors.As can read the code.
type ProtocolError struct {
	Code StatusCode
	Msg  string
}

func (e *ProtocolError) Error() string { return "engine: " + e.Msg }

// Sentinels for the ways a peer can break the protocol. Each carries the close
// code the connection is failed with.
var (
	ErrUnknownOpCode          = &ProtocolError{StatusProtocolError, "frame with a reserved opcode"}
	ErrReservedBits           = &ProtocolError{StatusProtocolError, "frame with RSV bits no extension negotiated"}
	ErrFragmentedControl      = &ProtocolError{StatusProtocolError, "fragmented control frame"}
	ErrControlTooLong         = &ProtocolError{StatusProtocolError, "control frame payload over 125 bytes"}
	ErrLengthTopBit           = &ProtocolError{StatusProtocolError, "64-bit payload length with its most significant bit set"}
	ErrMaskRequired           = &ProtocolError{StatusProtocolError, "unmasked frame from a client"}
	ErrMaskUnexpected         = &ProtocolError{StatusProtocolError, "masked frame from a server"}
	ErrUnexpectedContinuation = &ProtocolError{StatusProtocolError, "continuation frame with no message to continue"}
	ErrExpectedContinuation   = &ProtocolError{StatusProtocolError, "new data frame before the previous message ended"}
	ErrCloseTooShort          = &ProtocolError{StatusProtocolError, "close frame payload of one byte"}
	ErrInvalidCloseCode       = &ProtocolError{StatusProtocolError, "close frame with a status code not allowed on the wire"}
	ErrInvalidUTF8            = &ProtocolError{StatusInvalidFramePayloadData, "text or close reason is not valid UTF-8"}
	ErrFrameTooBig            = &ProtocolError{StatusMessageTooBig, "frame payload over the frame size limit"}
	ErrMessageTooBig          = &ProtocolError{StatusMessageTooBig, "message over the message size limit"}
	// ErrTooManyPings fails a peer that keeps pinging without taking the
	// pongs: more than MaxPongsOwed queued while it took none of our bytes.
	ErrTooManyPings = &ProtocolError{StatusPolicyViolation, "too many pings"}
)

// MaxPongsOwed bounds the pongs a driver queues for a peer that takes none
// of the bytes sent to it: past it the peer is failed with ErrTooManyPings
// (1008) instead of being answered. A peer that pings and reads is held to
// it only across one round trip (bytes in flight are not taken yet): a
// client pinging on a timer owes one or two; one that sends more than 256
// pings without waiting for a byte of ours is treated as a flood.
const MaxPongsOwed = 256

// PongBatch is how many pongs Feed queues before it returns to let the
// driver write them and judge the peer (see Conn.Feed): a peer flooding
// pings without reading is given up after about MaxPongsOwed plus two
// batches.
const PongBatch = MaxPongsOwed / 4

// CloseError is how a connection ended: the close the peer sent, its code
// and reason (StatusNoStatusReceived when its close had none), or, with
// StatusAbnormalClosure, the lack of one. NetConn.Next and tachyon.Conn's
// Read return it once the peer has closed; Handler.OnClose hears the same
// code and reason. CloseStatus reads the code from any wrapped error.
//
// Its message names the code: "engine: connection closed: 1001 going
// away: restart", and for the application's own codes "engine: connection
// closed: private code 4000: game over".
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	s := "engine: connection closed: " + e.Code.String()
	if e.Code.named() {
		s = "engine: connection closed: " + strconv.Itoa(int(e.Code)) + " " + e.Code.String()
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// CloseStatus returns the close status carried by err or by any error it
// wraps: the peer's code from a CloseError, or the code a ProtocolError fails
// the connection with. It returns 0 when there is none.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}

// HandshakeError is an opening handshake that cannot go on. Status is the
// HTTP status a server answers with (400, 403, 426, 431, ...); on the client
// side it is the status the server answered with, or 0 when the response
// itself was malformed.
type HandshakeError struct {
	Status int
	Msg    string
}

func (e *HandshakeError) Error() string {
	if e.Status == 0 {
		return "engine: handshake: " + e.Msg
	}
	return "engine: handshake: " + strconv.Itoa(e.Status) + ": " + e.Msg
}

// HTTPStatus returns the HTTP status carried by err or by any error it wraps,
// and 0 when there is none.
func HTTPStatus(err error) int {
	var he *HandshakeError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}
