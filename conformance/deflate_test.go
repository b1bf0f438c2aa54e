package conformance

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tachyonws/tachyon/engine"
)

// permessage-deflate (RFC 7692) on the wire: the extension's negotiation,
// parsed and checked here to the letter of section 7, and the state of a
// connection that negotiated it.

const pmdName = "permessage-deflate"

// pmdParams is one permessage-deflate offer or response, parsed.
type pmdParams struct {
	serverNoTakeover bool
	clientNoTakeover bool
	serverBits       int  // 0: absent
	clientBits       int  // 0: absent; -1: present without a value (offers only)
	quoted           bool // String quotes the values (RFC 6455 section 9.1 allows it)
}

// String formats p as an extension element.
func (p pmdParams) String() string {
	s := pmdName
	if p.serverNoTakeover {
		s += "; server_no_context_takeover"
	}
	if p.clientNoTakeover {
		s += "; client_no_context_takeover"
	}
	q := ""
	if p.quoted {
		q = `"`
	}
	if p.serverBits > 0 {
		s += "; server_max_window_bits=" + q + strconv.Itoa(p.serverBits) + q
	}
	switch {
	case p.clientBits > 0:
		s += "; client_max_window_bits=" + q + strconv.Itoa(p.clientBits) + q
	case p.clientBits < 0:
		s += "; client_max_window_bits"
	}
	return s
}

// extElem is one element of a Sec-WebSocket-Extensions list (RFC 6455
// section 9.1): a name and its parameters.
type extElem struct {
	name   string
	params []extParam
}

type extParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions splits the values of Sec-WebSocket-Extensions lines into
// their elements, strictly: names and values are tokens, a value may be a
// quoted string holding a token.
func parseExtensions(values []string) ([]extElem, error) {
	var out []extElem
	for _, v := range values {
		for _, e := range splitQuoted(v, ',') {
			parts := splitQuoted(e, ';')
			el := extElem{name: strings.TrimSpace(parts[0])}
			if !isToken(el.name) {
				return nil, fmt.Errorf("extension name %q is not a token", el.name)
			}
			for _, p := range parts[1:] {
				name, value, has := strings.Cut(p, "=")
				prm := extParam{name: strings.TrimSpace(name), value: strings.TrimSpace(value), hasValue: has}
				if len(prm.value) >= 2 && prm.value[0] == '"' && prm.value[len(prm.value)-1] == '"' {
					prm.value = prm.value[1 : len(prm.value)-1]
				}
				if !isToken(prm.name) || has && !isToken(prm.value) {
					return nil, fmt.Errorf("parameter %q of %s is malformed", strings.TrimSpace(p), el.name)
				}
				el.params = append(el.params, prm)
			}
			out = append(out, el)
		}
	}
	return out, nil
}

// splitQuoted splits s at sep outside quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// parsePMD reads the parameters of a permessage-deflate element by the
// rules of RFC 7692 section 7: only the four parameters, none twice, the
// takeover ones without a value, window sizes 8 to 15 without leading
// zeros; client_max_window_bits may go without a value in an offer only.
func parsePMD(el extElem, response bool) (pmdParams, error) {
	var p pmdParams
	seen := map[string]bool{}
	for _, prm := range el.params {
		name := strings.ToLower(prm.name)
		if seen[name] {
			return p, fmt.Errorf("%s appears twice (section 7)", prm.name)
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if prm.hasValue {
				return p, fmt.Errorf("%s has a value (sections 7.1.1.1, 7.1.1.2: it has none)", prm.name)
			}
			if name == "server_no_context_takeover" {
				p.serverNoTakeover = true
			} else {
				p.clientNoTakeover = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			if !prm.hasValue {
				if name == "server_max_window_bits" || response {
					return p, fmt.Errorf("%s has no value (section 7.1.2)", prm.name)
				}
				p.clientBits = -1
				continue
			}
			bits := windowValue(prm.value)
			if bits == 0 {
				return p, fmt.Errorf("%s=%s is not 8 to 15 without leading zeros (section 7.1.2.1)", prm.name, prm.value)
			}
			if name == "server_max_window_bits" {
				p.serverBits = bits
			} else {
				p.clientBits = bits
			}
		default:
			return p, fmt.Errorf("unknown parameter %s (section 7)", prm.name)
		}
	}
	return p, nil
}

// windowValue is a window size 8..15 written without leading zeros, or 0.
func windowValue(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 8 || n > 15 || strconv.Itoa(n) != s {
		return 0
	}
	return n
}

// answers says why resp is not an acceptable response to offer (RFC 7692
// section 7.1), nil when it is.
func answers(offer, resp pmdParams) error {
	switch {
	case offer.serverNoTakeover && !resp.serverNoTakeover:
		return fmt.Errorf("the offer has server_no_context_takeover and the response does not (section 7.1.1.1)")
	case offer.serverBits > 0 && resp.serverBits == 0:
		return fmt.Errorf("the offer has server_max_window_bits=%d and the response has none (section 7.1.2.1)", offer.serverBits)
	case offer.serverBits > 0 && resp.serverBits > offer.serverBits:
		return fmt.Errorf("server_max_window_bits=%d answers an offer of %d (section 7.1.2.1: the same or smaller)", resp.serverBits, offer.serverBits)
	case offer.clientBits == 0 && resp.clientBits != 0:
		return fmt.Errorf("the response has client_max_window_bits, the offer did not (section 7.1.2.2)")
	case offer.clientBits > 0 && resp.clientBits > offer.clientBits:
		return fmt.Errorf("client_max_window_bits=%d answers an offer of %d (section 7.1.2.2: the same or smaller)", resp.clientBits, offer.clientBits)
	}
	return nil
}

// deflateKnown is what the suite knows of an in-tree peer's compression
// settings; nil for a server it only has the URL of.
type deflateKnown struct {
	takeover   bool // it keeps its context whenever the other side allows
	threshold  int  // it compresses every message of this size or more
	maxMessage int  // its message limit
	serverBits int  // its own window (servers), 0 for 15
}

func knownOf(c *engine.Compression, maxMessage int) *deflateKnown {
	k := &deflateKnown{takeover: c.ContextTakeover, threshold: c.Threshold, maxMessage: maxMessage, serverBits: c.ServerMaxWindowBits}
	switch {
	case k.threshold < 0:
		k.threshold = 0
	case k.threshold == 0:
		k.threshold = engine.DefaultCompressionThreshold
	}
	return k
}

// pmd is a connection's permessage-deflate agreement and codec state, from
// this end's point of view.
type pmd struct {
	resp   pmdParams
	comp   *compressor   // this end's messages
	dec    *decompressor // the peer's
	known  *deflateKnown // the peer's settings, nil when unknown
	outTk  bool          // this end may keep its context
	inTk   bool          // the peer may keep its context
	inBits int
}

// inflateLimit bounds what the suite inflates from one message.
const inflateLimit = 32 << 20

// setDeflate sets up the agreement: this end compresses with a window of
// outBits, keeping its context when outTake; the peer likewise with inBits
// and inTake.
func (w *wire) setDeflate(resp pmdParams, outBits int, outTake bool, inBits int, inTake bool, known *deflateKnown) {
	w.dfl = &pmd{
		resp: resp, comp: newCompressor(outBits, outTake), dec: newDecompressor(inBits, inTake),
		known: known, outTk: outTake, inTk: inTake, inBits: inBits,
	}
}

// deflateSpec says how a case opens a compressed connection: the offers a
// raw client sends to a server, and the parameters the fake server adds to
// its answer to the engine client's offer.
type deflateSpec struct {
	offers []string
	reply  pmdParams
}

// openDeflate opens a connection that negotiates permessage-deflate as
// spec says. A known peer must accept; an unknown server that declines
// skips the case.
func (cx *caseCtx) openDeflate(spec deflateSpec) *wire {
	if cx.fake != nil {
		return cx.fake.openDeflate(cx, spec.reply)
	}
	w, accepted := cx.tgt.openDeflate(cx, spec.offers...)
	if !accepted {
		if cx.tgt.deflate != nil {
			cx.failf("the server declined permessage-deflate (offered %q)", spec.offers)
		}
		cx.skipf("the server declined permessage-deflate (offered %q)", spec.offers)
	}
	return w
}

// openDeflate opens a connection to a server with the offers, in order,
// and checks its answer (RFC 7692 section 7). accepted is false when the
// server declined them all: the connection then goes on uncompressed.
func (tg *target) openDeflate(cx *caseCtx, offers ...string) (w *wire, accepted bool) {
	conn, br := tg.dial(cx)
	key := newKey()
	w = newWire(cx, conn, br, true)
	lines := tg.requestLines(key)
	// The offers go on one line, but for those marked with a leading
	// "\n", which start a line of their own.
	offers = append([]string(nil), offers...)
	var line []string
	for i, o := range offers {
		if strings.HasPrefix(o, "\n") {
			offers[i] = o[1:]
			lines = append(lines, "Sec-WebSocket-Extensions: "+strings.Join(line, ", "))
			line = nil
		}
		line = append(line, offers[i])
	}
	if len(line) > 0 {
		lines = append(lines, "Sec-WebSocket-Extensions: "+strings.Join(line, ", "))
	}
	w.write(joinRequest(lines), 0)
	resp := readResponse(cx, br)
	if resp == nil {
		cx.failf("the server closed the connection instead of answering the opening handshake")
	}
	exts := resp.Header.Values("Sec-WebSocket-Extensions")
	resp.Header.Del("Sec-WebSocket-Extensions")
	checkAccept(cx, resp, key)
	if len(exts) == 0 {
		return w, false
	}
	p, idx := checkDeflateResponse(cx, offers, exts)
	if k := tg.deflate; k != nil {
		first := -1
		for i, o := range offers {
			if _, err := parseOffer(o); err == nil {
				first = i
				break
			}
		}
		if idx != first {
			cx.failf("the response %q answers offer %d, not the first acceptable one (%d): extensions are offered in the client's order of preference (RFC 6455 section 9.1)", exts, idx+1, first+1)
		}
		offer, _ := parseOffer(offers[idx])
		// Section 7.1.1.2: client_no_context_takeover in an offer is the
		// client's word that it keeps no context, whatever the answer.
		switch {
		case !k.takeover && (!p.serverNoTakeover || !p.clientNoTakeover && !offer.clientNoTakeover):
			cx.failf("the response %q lacks server_no_context_takeover or client_no_context_takeover from a server without context takeover", exts)
		case k.takeover && !offer.serverNoTakeover && p.serverNoTakeover:
			cx.failf("the response %q has server_no_context_takeover from a server with context takeover, not asked to", exts)
		}
	}
	offer, _ := parseOffer(offers[idx])
	outBits := 15
	if p.clientBits > 0 {
		outBits = p.clientBits
	}
	if offer.clientBits > 0 {
		outBits = min(outBits, offer.clientBits)
	}
	inBits := 15
	if p.serverBits > 0 {
		inBits = p.serverBits
	}
	w.setDeflate(p, outBits, !p.clientNoTakeover && !offer.clientNoTakeover, inBits, !p.serverNoTakeover, tg.deflate)
	cx.infof("%s", p)
	return w, true
}

// parseOffer parses one offer the suite makes.
func parseOffer(s string) (pmdParams, error) {
	els, err := parseExtensions([]string{s})
	if err != nil {
		return pmdParams{}, err
	}
	if len(els) != 1 || !strings.EqualFold(els[0].name, pmdName) {
		return pmdParams{}, fmt.Errorf("not one permessage-deflate offer")
	}
	return parsePMD(els[0], false)
}

// checkDeflateResponse fails the case unless the server's
// Sec-WebSocket-Extensions selects permessage-deflate once, with valid
// parameters that answer one of the offers; it returns them and the first
// offer they answer.
func checkDeflateResponse(cx *caseCtx, offers, exts []string) (pmdParams, int) {
	els, err := parseExtensions(exts)
	if err != nil {
		cx.failf("Sec-WebSocket-Extensions %q: %v (RFC 6455 section 9.1)", exts, err)
	}
	if len(els) != 1 || !strings.EqualFold(els[0].name, pmdName) {
		cx.failf("Sec-WebSocket-Extensions %q: want one permessage-deflate element, the one extension offered (RFC 6455 section 9.1)", exts)
	}
	p, err := parsePMD(els[0], true)
	if err != nil {
		cx.failf("response %q: %v: the client must fail the connection", exts, err)
	}
	var why []string
	for i, o := range offers {
		offer, err := parseOffer(o)
		if err != nil {
			continue // the server must decline it
		}
		if err := answers(offer, p); err != nil {
			why = append(why, fmt.Sprintf("offer %d: %v", i+1, err))
			continue
		}
		return p, i
	}
	cx.failf("response %q answers none of the offers: %s", exts, strings.Join(why, "; "))
	return p, -1
}

// openDeflate has the engine client (with the fake server's DialOptions)
// connect, checks its offer and accepts it with the parameters it asks
// for and those of reply.
func (fs *fakeServer) openDeflate(cx *caseCtx, reply pmdParams) *wire {
	var resp pmdParams
	var offer pmdParams
	w := fs.openWith(cx, handshakeOpts{dial: fs.dialOpts, respond: func(req *http.Request, key string) []byte {
		offer = checkClientOffer(cx, req, fs.dialOpts.Compression)
		resp = replyTo(offer, reply)
		return accept101(key, "Sec-WebSocket-Extensions: "+resp.String())
	}})
	outBits := 15
	if resp.serverBits > 0 {
		outBits = resp.serverBits
	}
	inBits := 15
	if resp.clientBits > 0 {
		inBits = resp.clientBits
	}
	if offer.clientBits > 0 {
		inBits = min(inBits, offer.clientBits)
	}
	w.setDeflate(resp, outBits, !resp.serverNoTakeover, inBits, !resp.clientNoTakeover && !offer.clientNoTakeover, fs.known)
	cx.infof("%s", resp)
	return w
}

// checkClientOffer fails the case unless the client's request offers
// permessage-deflate once, valid by section 7, as its Compression says:
// without context takeover it asks for none either way.
func checkClientOffer(cx *caseCtx, req *http.Request, c *engine.Compression) pmdParams {
	vals := req.Header.Values("Sec-WebSocket-Extensions")
	els, err := parseExtensions(vals)
	if err != nil {
		cx.failf("the client's Sec-WebSocket-Extensions %q: %v", vals, err)
	}
	if len(els) != 1 || !strings.EqualFold(els[0].name, pmdName) {
		cx.failf("the client offers %q, want one permessage-deflate offer", vals)
	}
	offer, err := parsePMD(els[0], false)
	if err != nil {
		cx.failf("the client's offer %q: %v", vals, err)
	}
	switch {
	case !c.ContextTakeover && (!offer.serverNoTakeover || !offer.clientNoTakeover):
		cx.failf("the client without context takeover offers %q: want server_no_context_takeover and client_no_context_takeover", vals)
	case c.ServerMaxWindowBits >= 8 && c.ServerMaxWindowBits < 15 && offer.serverBits != c.ServerMaxWindowBits:
		cx.failf("the client with ServerMaxWindowBits %d offers %q", c.ServerMaxWindowBits, vals)
	case offer.clientBits == 0:
		cx.failf("the client offers %q without client_max_window_bits, though it can use any window", vals)
	}
	return offer
}

// replyTo is the fake server's answer to offer: what the offer requires,
// and what extra asks for where the offer allows it.
func replyTo(offer, extra pmdParams) pmdParams {
	r := pmdParams{
		serverNoTakeover: offer.serverNoTakeover || extra.serverNoTakeover,
		clientNoTakeover: extra.clientNoTakeover,
		serverBits:       offer.serverBits,
		quoted:           extra.quoted,
	}
	if extra.serverBits > 0 && (r.serverBits == 0 || extra.serverBits < r.serverBits) {
		r.serverBits = extra.serverBits
	}
	if extra.clientBits > 0 && offer.clientBits != 0 {
		r.clientBits = extra.clientBits
		if offer.clientBits > 0 {
			r.clientBits = min(r.clientBits, offer.clientBits)
		}
	}
	return r
}
