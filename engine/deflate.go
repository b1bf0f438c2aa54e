package engine

import (
	"bytes"
	"strconv"
)

// DefaultCompressionThreshold is the size below which a message is sent
// uncompressed when Compression.Threshold is zero: under ~512 bytes deflate
// saves little and costs a compressor's turn.
const DefaultCompressionThreshold = 512

// Compression configures permessage-deflate (RFC 7692). A nil *Compression
// turns it off: a server declines every offer, a client offers nothing.
// One Compression may be shared by any number of servers and clients; it
// must not be changed once in use.
//
// Memory. Without context takeover (the default) a connection keeps no
// compression state at all: each message borrows a compressor (0.8 MiB
// at level 1, 1.4 MiB at level 9) or a decompressor (about 40 KiB) from a
// process-wide pool and returns it, so the pool holds as many as are in
// use at once (about one per event loop or per goroutine writing), not one
// per connection. With ContextTakeover a connection keeps its two windows,
// 2^bits bytes each (ServerMaxWindowBits and ClientMaxWindowBits), once it
// has sent or received a compressed message, and the compressor still
// comes from the pool.
//
// CPU. At level 1, inflating a message and compressing it again (a
// server's echo) costs about 9 to 11 µs for 1 KiB of JSON and, for 16 KiB,
// 38 µs when the records repeat and 80 µs when their values vary
// (BenchmarkDeflateCodec), where the uncompressed protocol work is well
// under a microsecond; nearly all of it is the flate library's own. With
// context takeover each compressed message also re-reads the connection's
// window (2^bits bytes) into the borrowed compressor, which dominates for
// messages much smaller than the window.
type Compression struct {
	// Level is the flate level, 1 (fastest, the default when zero) to 9
	// (smallest output). With a window smaller than 15 bits the level is
	// not used: the windowed encoder has one speed.
	Level int
	// Threshold is the size below which a message is sent uncompressed;
	// zero means DefaultCompressionThreshold, a negative value compresses
	// every message.
	Threshold int
	// ContextTakeover lets each side refer back to earlier messages
	// (better ratios for streams of similar messages), at the memory cost
	// above. Without it the server answers with server_no_context_takeover
	// and client_no_context_takeover, and a client offers both.
	ContextTakeover bool
	// ServerMaxWindowBits (8 to 15; zero means 15) is the LZ77 window of
	// the server's compressor. A server never uses more (nor more than the
	// client asks for); a client asks the server for it when below 15.
	ServerMaxWindowBits int
	// ClientMaxWindowBits (8 to 15; zero means 15) is the window of the
	// client's compressor. A server asks for it when below 15 and the
	// client offered client_max_window_bits; a client offers it (a bare
	// client_max_window_bits when zero: it can compress with any window
	// the server names).
	ClientMaxWindowBits int
}

// Deflate is what a permessage-deflate negotiation agreed for one
// connection, seen from this side: the windows it compresses and inflates
// with, and whether each may be kept across messages. Its zero value means
// compression is off. Drivers put it in Config.Deflate; it comes from
// Compression.Negotiate (server) or Compression.Accept (client).
type Deflate struct {
	c       *Compression
	outBits uint8 // this side's compression window, log2
	inBits  uint8 // the peer's, log2
	outTake bool  // this side keeps its window across messages
	inTake  bool  // the peer keeps its window: ours for inflating too
}

// Enabled reports whether compression was negotiated.
func (d Deflate) Enabled() bool { return d.c != nil }

// String describes the agreement, e.g. "permessage-deflate out=15 in=15
// no-takeover" (or "off").
func (d Deflate) String() string {
	if d.c == nil {
		return "off"
	}
	s := "permessage-deflate out=" + strconv.Itoa(int(d.outBits)) + " in=" + strconv.Itoa(int(d.inBits))
	switch {
	case d.outTake && d.inTake:
		s += " takeover"
	case d.outTake:
		s += " takeover-out"
	case d.inTake:
		s += " takeover-in"
	default:
		s += " no-takeover"
	}
	return s
}

func (c *Compression) level() int {
	if c.Level < 1 || c.Level > 9 {
		return 1
	}
	return c.Level
}

func (c *Compression) threshold() int {
	switch {
	case c.Threshold < 0:
		return 0
	case c.Threshold == 0:
		return DefaultCompressionThreshold
	}
	return c.Threshold
}

func windowBits(n int) uint8 {
	if n < 8 || n > 15 {
		return 15
	}
	return uint8(n)
}

// deflateOffer is one permessage-deflate offer or response, parsed.
type deflateOffer struct {
	serverNoTakeover bool
	clientNoTakeover bool
	serverBits       uint8 // 0: absent
	clientBits       uint8 // 0: absent; 0xFF: present without a value
	clientBitsSeen   bool
}

const extensionDeflate = "permessage-deflate"

// parseDeflate parses the parameters of one extension element whose name
// is permessage-deflate. It reports false for anything RFC 7692 section 7
// does not allow: an unknown parameter, a duplicate, a missing, extra or
// out-of-range value. A value may be a token or a quoted string (RFC 6455
// section 9.1).
func parseDeflate(ext []byte, o *deflateOffer) bool {
	*o = deflateOffer{}
	i := bytes.IndexByte(ext, ';')
	if i < 0 {
		return true
	}
	seen := 0
	for rest := ext[i+1:]; ; {
		var param []byte
		param, rest = nextParam(rest)
		name, value, hasValue, ok := splitParam(param)
		if !ok {
			return false
		}
		var bit int
		switch {
		case equalFold(name, "server_no_context_takeover"):
			bit = 1
			o.serverNoTakeover = true
			if hasValue {
				return false
			}
		case equalFold(name, "client_no_context_takeover"):
			bit = 2
			o.clientNoTakeover = true
			if hasValue {
				return false
			}
		case equalFold(name, "server_max_window_bits"):
			bit = 4
			if o.serverBits = parseBits(value); !hasValue || o.serverBits == 0 {
				return false
			}
		case equalFold(name, "client_max_window_bits"):
			bit = 8
			o.clientBitsSeen = true
			if hasValue {
				if o.clientBits = parseBits(value); o.clientBits == 0 {
					return false
				}
			}
		default:
			return false
		}
		if seen&bit != 0 {
			return false // section 7: a duplicate parameter declines the offer
		}
		seen |= bit
		if rest == nil {
			return true
		}
	}
}

// nextParam splits a parameter list at its first ';' outside a quoted
// string; rest is nil after the last one.
func nextParam(b []byte) (param, rest []byte) { return splitUnquoted(b, ';') }

// splitParam splits "name" or "name=value" (value a token or a quoted
// string holding a token, with no escapes needed for one) into its parts.
func splitParam(p []byte) (name, value []byte, hasValue, ok bool) {
	i := bytes.IndexByte(p, '=')
	if i < 0 {
		return p, nil, false, isToken(p)
	}
	name, value = trimOWS(p[:i]), trimOWS(p[i+1:])
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return name, value, true, isToken(name) && isToken(value)
}

// parseBits reads a window size: 8 to 15, written without leading zeros
// (RFC 7692 section 7.1.2.1). It returns 0 for anything else.
func parseBits(v []byte) uint8 {
	switch {
	case len(v) == 1 && v[0] >= '8' && v[0] <= '9':
		return v[0] - '0'
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return 10 + v[1] - '0'
	}
	return 0
}

// Negotiate is the server's side of RFC 7692 section 7: it takes the
// client's Sec-WebSocket-Extensions values (Request.ExtensionOffers) and
// accepts the first permessage-deflate offer, in the client's order, whose
// parameters are all known, unique and valid; the others are declined and
// the connection goes on without compression when none is acceptable. It
// appends the response element (the value for Sec-WebSocket-Extensions)
// to dst and returns the agreement; ok is false when no offer was taken
// (dst is then unchanged). A nil Compression declines everything.
//
// The response honours the offer: server_no_context_takeover when the
// client asked for it or takeover is off, client_no_context_takeover when
// takeover is off (so the server keeps nothing per connection),
// server_max_window_bits no larger than the client allows, and
// client_max_window_bits only when the client offered it.
func (c *Compression) Negotiate(dst []byte, offers [][]byte) (resp []byte, d Deflate, ok bool) {
	if c == nil {
		return dst, Deflate{}, false
	}
	var o deflateOffer
	for _, line := range offers {
		for rest := line; len(rest) > 0; {
			var ext []byte
			ext, rest = nextExtension(rest)
			if !equalFold(extensionName(ext), extensionDeflate) || !parseDeflate(ext, &o) {
				continue
			}
			return c.answer(dst, &o)
		}
	}
	return dst, Deflate{}, false
}

// answer builds the response to an acceptable offer.
func (c *Compression) answer(dst []byte, o *deflateOffer) ([]byte, Deflate, bool) {
	d := Deflate{c: c, outBits: windowBits(c.ServerMaxWindowBits), inBits: 15}
	if o.serverBits != 0 && o.serverBits < d.outBits {
		d.outBits = o.serverBits
	}
	d.outTake = c.ContextTakeover && !o.serverNoTakeover
	d.inTake = c.ContextTakeover && !o.clientNoTakeover
	dst = append(dst, extensionDeflate...)
	if !d.outTake {
		dst = append(dst, "; server_no_context_takeover"...)
	}
	if !d.inTake {
		// Asked for when takeover is off, echoed when the client offered
		// it: RFC 7692 section 7.1.1.2 lets the server leave it out then,
		// but some clients (Node's ws) keep their window unless the
		// response names it.
		dst = append(dst, "; client_no_context_takeover"...)
	}
	if o.serverBits != 0 || d.outBits < 15 {
		dst = append(dst, "; server_max_window_bits="...)
		dst = strconv.AppendUint(dst, uint64(d.outBits), 10)
	}
	if o.clientBitsSeen {
		bits := windowBits(c.ClientMaxWindowBits)
		if o.clientBits != 0 && o.clientBits < bits {
			bits = o.clientBits
		}
		d.inBits = bits
		if bits < 15 || o.clientBits != 0 {
			dst = append(dst, "; client_max_window_bits="...)
			dst = strconv.AppendUint(dst, uint64(bits), 10)
		}
	}
	return dst, d, true
}

// Offer returns the client's Sec-WebSocket-Extensions value: one
// permessage-deflate offer built from c ("" when c is nil).
func (c *Compression) Offer() string {
	if c == nil {
		return ""
	}
	b := []byte(extensionDeflate)
	if !c.ContextTakeover {
		b = append(b, "; server_no_context_takeover; client_no_context_takeover"...)
	}
	if bits := windowBits(c.ServerMaxWindowBits); bits < 15 {
		b = append(b, "; server_max_window_bits="...)
		b = strconv.AppendUint(b, uint64(bits), 10)
	}
	b = append(b, "; client_max_window_bits"...)
	if bits := windowBits(c.ClientMaxWindowBits); bits < 15 {
		b = append(b, '=')
		b = strconv.AppendUint(b, uint64(bits), 10)
	}
	return string(b)
}

// ErrDeflateResponse fails a client's handshake whose 101 accepts
// permessage-deflate with parameters the client's offer (Offer) does not
// allow (RFC 7692 section 7: the client "MUST _Fail the WebSocket
// Connection_").
var ErrDeflateResponse = &HandshakeError{0, "response's permessage-deflate parameters do not answer the offer"}

// Accept is the client's side of RFC 7692 section 7: it checks the
// server's Sec-WebSocket-Extensions values (Response.Extensions) against
// the offer c made (Offer) and returns the agreement. No permessage-deflate
// in the response means no compression (a zero Deflate, nil error); one
// with parameters the offer does not allow, or more than one, is
// ErrDeflateResponse.
func (c *Compression) Accept(values [][]byte) (Deflate, error) {
	var d Deflate
	found := false
	var o deflateOffer
	for _, line := range values {
		for rest := line; len(rest) > 0; {
			var ext []byte
			ext, rest = nextExtension(rest)
			if len(ext) == 0 {
				continue
			}
			if c == nil || found || !equalFold(extensionName(ext), extensionDeflate) || !parseDeflate(ext, &o) {
				return Deflate{}, ErrDeflateResponse
			}
			found = true
		}
	}
	if !found {
		return d, nil
	}
	askServerBits := windowBits(c.ServerMaxWindowBits)
	switch {
	case !c.ContextTakeover && !o.serverNoTakeover:
		return Deflate{}, ErrDeflateResponse // 7.1.1.1: asked for, so required
	case askServerBits < 15 && (o.serverBits == 0 || o.serverBits > askServerBits):
		return Deflate{}, ErrDeflateResponse // 7.1.2.1
	case o.clientBitsSeen && o.clientBits == 0:
		return Deflate{}, ErrDeflateResponse // 7.1.2.2: a response names a value
	case o.clientBits != 0 && o.clientBits > windowBits(c.ClientMaxWindowBits):
		return Deflate{}, ErrDeflateResponse
	}
	d = Deflate{c: c, outBits: windowBits(c.ClientMaxWindowBits), inBits: 15}
	if o.clientBits != 0 {
		d.outBits = o.clientBits
	}
	if o.serverBits != 0 {
		d.inBits = o.serverBits
	}
	d.outTake = c.ContextTakeover && !o.clientNoTakeover
	d.inTake = !o.serverNoTakeover
	return d, nil
}
