package conformance

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// The protocol cases, sections 1-7, 9 and 10. Written from this end's point
// of view, they run against servers (this end is the raw client) and against
// the engine's client (this end is the fake server) alike.

// failFastWait is how long a fail-fast case waits for the peer's close before
// it sends the rest of the message. What is graded is whether the close
// comes with nothing more sent, not how fast: the wait is long enough for a
// peer on a busy machine, and only a peer that waits for the rest (or is
// non-strict) waits it out.
const failFastWait = 10 * time.Second

// failFastTimeout is a fail-fast case's timeout: the wait, then the rest.
const failFastTimeout = failFastWait + defaultTimeout

// mk builds a case that opens one connection and runs body on it.
func mk(id, desc, rfc string, body func(w *wire)) testCase {
	return testCase{id: id, desc: desc, rfc: rfc, run: func(cx *caseCtx) { body(cx.open()) }}
}

// mkT is mk with a timeout of its own.
func mkT(id, desc, rfc string, timeout time.Duration, body func(w *wire)) testCase {
	c := mk(id, desc, rfc, body)
	c.timeout = timeout
	return c
}

// echoed sends frames (in writes of chunk bytes, 0 for one write) carrying
// one message op/want, expects it echoed, and closes normally.
func echoed(w *wire, op byte, want []byte, chunk int, frames ...frame) {
	wait := w.sendAsync(w.encode(frames...), chunk)
	n := w.expectMessage(op, want)
	wait()
	if n > 1 {
		w.x.infof("echoed in %d frames", n)
	}
	w.closeNormally()
}

// violation sends a valid message, then bad (in one write), and expects the
// message echoed, then the connection failed with code: Autobahn's sections
// 3 and 4 check that what came before a bad frame is still answered.
func violation(w *wire, code uint16, bad ...frame) {
	violationChopped(w, code, 0, bad...)
}

// violationChopped is violation in writes of chunk bytes. The peer may fail
// the connection before the last byte is written, so a write error here is
// no fault: what the peer sent decides.
func violationChopped(w *wire, code uint16, chunk int, bad ...frame) {
	hello := []byte("Hello, world")
	_ = w.tryWrite(w.encode(append([]frame{msg(opText, hello)}, bad...)...), chunk)
	w.expectMessage(opText, hello)
	w.expectFailure(code)
}

// splitFragments cuts p into fragments of size bytes (the last may be
// shorter), as frames of a message op.
func splitFragments(op byte, p []byte, size int) []frame {
	var fs []frame
	for first := true; first || len(p) > 0; first = false {
		n := min(size, len(p))
		o := opCont
		if first {
			o = op
		}
		fs = append(fs, frag(o, p[:n], n == len(p)))
		p = p[n:]
	}
	return fs
}

func protocolCases() []testCase {
	var cs []testCase
	cs = append(cs, framingCases()...)
	cs = append(cs, pingCases()...)
	cs = append(cs, rsvCases()...)
	cs = append(cs, opcodeCases()...)
	cs = append(cs, fragmentationCases()...)
	cs = append(cs, utf8Cases()...)
	cs = append(cs, closeCases()...)
	cs = append(cs, clientCloseCases()...)
	cs = append(cs, performanceCases()...)
	cs = append(cs, autoFragmentationCases()...)
	return cs
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func payloadFor(op byte, n int) []byte {
	if op == opText {
		return textPayload(n)
	}
	return binaryPayload(n)
}

// Section 1: framing. Every length class of section 5.2 (7-bit, 16-bit and
// 64-bit lengths at their boundaries), whole and chopped into small writes.
func framingCases() []testCase {
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536, 16 << 20}
	var cs []testCase
	for i, op := range []byte{opText, opBinary} {
		for j, n := range sizes {
			timeout := time.Duration(0)
			if n > 65536 {
				timeout = time.Minute
			}
			cs = append(cs, mkT(fmt.Sprintf("1.%d.%d", i+1, j+1), fmt.Sprintf("%s message of %s", opName(op), sizeName(n)), "5.6", timeout, func(w *wire) {
				p := payloadFor(op, n)
				echoed(w, op, p, 0, msg(op, p))
			}))
		}
	}
	for i, op := range []byte{opText, opBinary} {
		for j, n := range sizes {
			chunk, timeout := 1, 30*time.Second
			if n > 65536 {
				chunk, timeout = 64<<10, time.Minute
			}
			cs = append(cs, mkT(fmt.Sprintf("1.%d.%d", i+3, j+1), fmt.Sprintf("%s message of %s in %d-byte writes", opName(op), sizeName(n), chunk), "5.6", timeout, func(w *wire) {
				p := payloadFor(op, n)
				echoed(w, op, p, chunk, msg(op, p))
			}))
		}
	}
	cs = append(cs, mk("1.5.1", "10 messages of mixed kinds and sizes in one write: echoed in order", "5.6", func(w *wire) {
		var fs []frame
		for i := 0; i < 10; i++ {
			op := opText
			if i%2 == 1 {
				op = opBinary
			}
			fs = append(fs, msg(op, payloadFor(op, []int{0, 1, 125, 126, 300, 65535, 65536, 7, 2000, 3}[i])))
		}
		w.send(fs...)
		for _, f := range fs {
			w.expectMessage(f.op, f.payload)
		}
		w.closeNormally()
	}))
	// Section 5.1: a server MUST close the connection on an unmasked frame
	// (and MAY send 1002); a client MUST close it on a masked one.
	wrong := func(f frame) frame { f.flipMask = true; return f }
	cs = append(cs,
		mk("1.6.1", "text frame with the wrong masking for its direction: 1002", "5.1", func(w *wire) {
			violation(w, 1002, wrong(textMsg("wrong masking")))
		}),
		mk("1.6.2", "ping with the wrong masking for its direction: 1002", "5.1", func(w *wire) {
			violation(w, 1002, wrong(msg(opPing, []byte("wrong masking"))))
		}),
		mk("1.6.3", "close with the wrong masking for its direction: 1002", "5.1", func(w *wire) {
			violation(w, 1002, wrong(closeMsg(1000, "")))
		}),
		mk("1.6.4", "64-bit length with its most significant bit set: 1002 (1009 is non-strict)", "5.2", func(w *wire) {
			f := msg(opBinary, []byte("short"))
			f.length = 1<<63 | 5
			hello := []byte("Hello, world")
			_ = w.tryWrite(w.encode(msg(opText, hello), f), 0)
			w.expectMessage(opText, hello)
			c := w.readClose(0)
			if c.frame && c.hasCode && c.code == 1009 {
				w.x.nonStrictf("the %s failed with 1009 (too big): the length is malformed, not large", w.peer)
				return
			}
			checkFailure(w, c, 1002)
		}),
	)
	return cs
}

// Section 2: pings and pongs (RFC 6455 sections 5.5.2, 5.5.3).
func pingCases() []testCase {
	p125 := bytes.Repeat([]byte("*"), 125)
	bin125 := make([]byte, 125)
	for i := range bin125 {
		bin125[i] = byte(255 - i)
	}
	pong := func(id, desc string, p []byte, chunk int) testCase {
		return mk(id, desc, "5.5.2", func(w *wire) {
			w.sendChopped(chunk, msg(opPing, p))
			w.expectPong(p)
			w.closeNormally()
		})
	}
	return []testCase{
		pong("2.1", "ping without payload: pong without payload", nil, 0),
		pong("2.2", "ping with 125 bytes of text: pong with the same", p125, 0),
		pong("2.3", "ping with 125 bytes of binary: pong with the same", bin125, 0),
		pong("2.4", "ping with 125 bytes in 1-byte writes: pong", p125, 1),
		mk("2.5", "10 pings in one write: 10 pongs in order", "5.5.3", func(w *wire) {
			var fs []frame
			for i := 0; i < 10; i++ {
				fs = append(fs, msg(opPing, []byte(fmt.Sprintf("ping %d", i))))
			}
			w.send(fs...)
			for _, f := range fs {
				w.expectPong(f.payload)
			}
			w.closeNormally()
		}),
		mk("2.6", "unsolicited pong without payload: ignored", "5.5.3", func(w *wire) {
			w.send(msg(opPong, nil))
			w.expectEcho(opText, []byte("after the pong"))
			w.closeNormally()
		}),
		mk("2.7", "unsolicited pong with 125 bytes: ignored", "5.5.3", func(w *wire) {
			w.send(msg(opPong, p125))
			w.expectEcho(opText, []byte("after the pong"))
			w.closeNormally()
		}),
		mk("2.8", "text, ping, text in one write: both echoes in order, and the pong", "5.5.2", func(w *wire) {
			w.send(textMsg("one"), msg(opPing, []byte("between")), textMsg("two"))
			w.expectMixed([]frame{textMsg("one"), textMsg("two")}, []byte("between"))
			w.closeNormally()
		}),
		mk("2.9", "ping with 126 bytes of payload: fail 1002", "5.5", func(w *wire) {
			violation(w, 1002, msg(opPing, bytes.Repeat([]byte("x"), 126)))
		}),
		mk("2.10", "pong with 126 bytes of payload: fail 1002", "5.5", func(w *wire) {
			violation(w, 1002, msg(opPong, bytes.Repeat([]byte("x"), 126)))
		}),
		mk("2.11", "ping with FIN clear: fail 1002", "5.5", func(w *wire) {
			violation(w, 1002, frag(opPing, []byte("fragmented"), false))
		}),
	}
}

// Section 3: reserved bits (RFC 6455 section 5.2: no extension is negotiated,
// so any RSV bit fails the connection).
func rsvCases() []testCase {
	type kind struct {
		name string
		f    frame
	}
	kinds := []kind{
		{"text", textMsg("reserved")},
		{"binary", msg(opBinary, []byte{0, 1, 2, 3})},
		{"ping", msg(opPing, []byte("reserved"))},
		{"close", closeMsg(1000, "")},
	}
	bits := []struct {
		name string
		rsv  byte
	}{{"RSV1", rsv1}, {"RSV2", rsv2}, {"RSV3", rsv3}, {"RSV1-3", rsv1 | rsv2 | rsv3}}
	var cs []testCase
	n := 0
	for _, k := range kinds {
		for _, b := range bits {
			n++
			cs = append(cs, mk(fmt.Sprintf("3.%d", n), fmt.Sprintf("%s frame with %s set after a valid message: echo, then 1002", k.name, b.name), "5.2", func(w *wire) {
				violation(w, 1002, withRsv(k.f, b.rsv))
			}))
		}
	}
	cs = append(cs,
		mk(fmt.Sprintf("3.%d", n+1), "continuation frame with RSV1 set: 1002", "5.2", func(w *wire) {
			violation(w, 1002, frag(opText, []byte("frag"), false), withRsv(frag(opCont, []byte("ment"), true), rsv1))
		}),
		mk(fmt.Sprintf("3.%d", n+2), "text frame with RSV2 set, in 1-byte writes: 1002", "5.2", func(w *wire) {
			violationChopped(w, 1002, 1, withRsv(textMsg("reserved"), rsv2))
		}),
	)
	return cs
}

// Section 4: reserved opcodes (RFC 6455 section 5.2: "If an unknown opcode is
// received, the receiving endpoint MUST _Fail the WebSocket Connection_").
func opcodeCases() []testCase {
	var cs []testCase
	for i, op := range []byte{3, 4, 5, 6, 7} {
		p := []byte(nil)
		if i%2 == 1 {
			p = []byte("reserved payload")
		}
		cs = append(cs, mk(fmt.Sprintf("4.1.%d", i+1), fmt.Sprintf("reserved data opcode %d, %d-byte payload: 1002", op, len(p)), "5.2", func(w *wire) {
			violation(w, 1002, msg(op, p))
		}))
	}
	for i, op := range []byte{11, 12, 13, 14, 15} {
		p := []byte(nil)
		if i%2 == 1 {
			p = []byte("reserved payload")
		}
		cs = append(cs, mk(fmt.Sprintf("4.2.%d", i+1), fmt.Sprintf("reserved control opcode %d, %d-byte payload: 1002", op, len(p)), "5.2", func(w *wire) {
			violation(w, 1002, msg(op, p))
		}))
	}
	cs = append(cs, mk("4.3.1", "reserved opcode 3 between the fragments of a message: 1002", "5.2", func(w *wire) {
		violation(w, 1002, frag(opText, []byte("frag"), false), msg(3, nil), frag(opCont, []byte("ment"), true))
	}))
	return cs
}

// Section 5: fragmentation (RFC 6455 section 5.4).
func fragmentationCases() []testCase {
	two := func(op byte, a, b string) []frame {
		return []frame{frag(op, []byte(a), false), frag(opCont, []byte(b), true)}
	}
	return []testCase{
		mk("5.1", "ping in 2 fragments: 1002", "5.5", func(w *wire) {
			violation(w, 1002, two(opPing, "frag", "ment")...)
		}),
		mk("5.2", "pong in 2 fragments: 1002", "5.5", func(w *wire) {
			violation(w, 1002, two(opPong, "frag", "ment")...)
		}),
		mk("5.3", "text in 2 fragments", "5.4", func(w *wire) {
			echoed(w, opText, []byte("fragment1fragment2"), 0, two(opText, "fragment1", "fragment2")...)
		}),
		mk("5.4", "text in 2 fragments, 1-byte writes", "5.4", func(w *wire) {
			echoed(w, opText, []byte("fragment1fragment2"), 1, two(opText, "fragment1", "fragment2")...)
		}),
		mk("5.5", "binary in 2 fragments", "5.4", func(w *wire) {
			echoed(w, opBinary, []byte("\x00\x01\xff\x00\x02\xfe"), 0, two(opBinary, "\x00\x01\xff", "\x00\x02\xfe")...)
		}),
		mk("5.6", "text in 2 fragments, ping between: pong and the message", "5.4", func(w *wire) {
			w.send(frag(opText, []byte("fragment1"), false), msg(opPing, []byte("between")), frag(opCont, []byte("fragment2"), true))
			w.expectMixed([]frame{textMsg("fragment1fragment2")}, []byte("between"))
			w.closeNormally()
		}),
		mk("5.7", "text in 2 fragments, ping between, 1-byte writes", "5.4", func(w *wire) {
			w.sendChopped(1, frag(opText, []byte("fragment1"), false), msg(opPing, []byte("between")), frag(opCont, []byte("fragment2"), true))
			w.expectMixed([]frame{textMsg("fragment1fragment2")}, []byte("between"))
			w.closeNormally()
		}),
		mk("5.8", "text in 2 fragments, unsolicited pong between: ignored", "5.4", func(w *wire) {
			echoed(w, opText, []byte("fragment1fragment2"), 0,
				frag(opText, []byte("fragment1"), false), msg(opPong, []byte("between")), frag(opCont, []byte("fragment2"), true))
		}),
		mk("5.9", "text in 3 fragments with a ping before each continuation", "5.4", func(w *wire) {
			w.send(frag(opText, []byte("a"), false), msg(opPing, []byte("1")), frag(opCont, []byte("b"), false),
				msg(opPing, []byte("2")), frag(opCont, []byte("c"), true))
			w.expectMixed([]frame{textMsg("abc")}, []byte("1"), []byte("2"))
			w.closeNormally()
		}),
		mk("5.10", "continuation with FIN set and no message: 1002", "5.4", func(w *wire) {
			violation(w, 1002, frag(opCont, []byte("orphan"), true))
		}),
		mk("5.11", "continuation with FIN clear and no message: 1002", "5.4", func(w *wire) {
			violation(w, 1002, frag(opCont, []byte("orphan"), false))
		}),
		mk("5.12", "continuation after a finished fragmented message: echo, then 1002", "5.4", func(w *wire) {
			w.send(two(opText, "frag", "ment")...)
			w.expectMessage(opText, []byte("fragment"))
			w.send(frag(opCont, []byte("late"), true))
			w.expectFailure(1002)
		}),
		mk("5.13", "new text frame inside a fragmented text message: 1002", "5.4", func(w *wire) {
			violation(w, 1002, frag(opText, []byte("frag"), false), textMsg("intruder"))
		}),
		mk("5.14", "new binary frame inside a fragmented text message: 1002", "5.4", func(w *wire) {
			violation(w, 1002, frag(opText, []byte("frag"), false), msg(opBinary, []byte("intruder")))
		}),
		mk("5.15", "text frame with FIN clear starting inside a fragmented message: 1002", "5.4", func(w *wire) {
			violation(w, 1002, frag(opBinary, []byte("frag"), false), frag(opText, []byte("intruder"), false))
		}),
		mk("5.16", "text of 3 empty fragments: empty echo", "5.4", func(w *wire) {
			echoed(w, opText, []byte{}, 0, frag(opText, nil, false), frag(opCont, nil, false), frag(opCont, nil, true))
		}),
		mk("5.17", "text of empty, \"middle\", empty fragments", "5.4", func(w *wire) {
			echoed(w, opText, []byte("middle"), 0, frag(opText, nil, false), frag(opCont, []byte("middle"), false), frag(opCont, nil, true))
		}),
		mk("5.18", "binary in 100 1-byte fragments", "5.4", func(w *wire) {
			p := binaryPayload(100)
			echoed(w, opBinary, p, 0, splitFragments(opBinary, p, 1)...)
		}),
		mk("5.19", "text in 100 1-byte fragments, 1-byte writes", "5.4", func(w *wire) {
			p := textPayload(100)
			echoed(w, opText, p, 1, splitFragments(opText, p, 1)...)
		}),
		mk("5.20", "close in 2 fragments: 1002", "5.5", func(w *wire) {
			violation(w, 1002, frag(opClose, []byte{0x03}, false), frag(opCont, []byte{0xe8}, true))
		}),
		mk("5.21", "ping with FIN clear inside a fragmented message: 1002", "5.5", func(w *wire) {
			violation(w, 1002, frag(opText, []byte("frag"), false), frag(opPing, []byte("ping"), false), frag(opCont, []byte("ment"), true))
		}),
		mk("5.22", "two fragmented messages back to back, text then binary", "5.4", func(w *wire) {
			w.send(append(two(opText, "first ", "message"), two(opBinary, "\x01\x02", "\x03")...)...)
			w.expectMessage(opText, []byte("first message"))
			w.expectMessage(opBinary, []byte{1, 2, 3})
			w.closeNormally()
		}),
	}
}

// Section 6: UTF-8 handling (RFC 6455 sections 5.6 and 8.1: a text message
// that is not UTF-8 fails the connection with 1007).
func utf8Cases() []testCase {
	var cs []testCase
	for i, v := range validTexts {
		p := []byte(v.s)
		cs = append(cs, mk(fmt.Sprintf("6.1.%d", i+1), "valid: "+v.desc, "8.1", func(w *wire) {
			echoed(w, opText, p, 0, msg(opText, p))
		}))
	}
	cs = append(cs, mkT(fmt.Sprintf("6.1.%d", len(validTexts)+1), "valid: every code point U+0000..U+10FFFF but the surrogates, one message", "8.1", time.Minute, func(w *wire) {
		p := everyCodePoint()
		echoed(w, opText, p, 0, msg(opText, p))
	}))
	for i, v := range validTexts {
		p := []byte(v.s)
		cs = append(cs, mk(fmt.Sprintf("6.2.%d", i+1), "valid, split in 2 fragments at every byte: "+v.desc, "8.1", func(w *wire) {
			var fs []frame
			for k := 1; k < len(p); k++ {
				fs = append(fs, frag(opText, p[:k], false), frag(opCont, p[k:], true))
			}
			w.send(fs...)
			for k := 1; k < len(p); k++ {
				w.expectMessage(opText, p)
			}
			w.closeNormally()
		}))
	}
	for i, v := range validTexts {
		p := []byte(v.s)
		cs = append(cs, mk(fmt.Sprintf("6.3.%d", i+1), "valid, in 1-byte fragments: "+v.desc, "8.1", func(w *wire) {
			echoed(w, opText, p, 0, splitFragments(opText, p, 1)...)
		}))
	}
	for i, v := range invalidTexts {
		p := []byte(v.b)
		cs = append(cs, mk(fmt.Sprintf("6.4.%d", i+1), "invalid: "+v.desc+": 1007", "8.1", func(w *wire) {
			violation(w, 1007, msg(opText, p))
		}))
	}
	for i, v := range invalidTexts {
		p := []byte(v.b)
		cs = append(cs, mk(fmt.Sprintf("6.5.%d", i+1), "invalid, in 2 fragments: "+v.desc+": 1007", "8.1", func(w *wire) {
			k := len(p) / 2
			if k == 0 {
				k = 1
			}
			violation(w, 1007, frag(opText, p[:k], false), frag(opCont, p[k:], true))
		}))
	}
	// Fail-fast (section 8.1: "When an endpoint is to interpret a byte stream
	// as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8
	// stream, that endpoint MUST _Fail the WebSocket Connection_"): a prefix
	// that no suffix can make valid must fail before the rest is sent.
	type ff struct {
		desc        string
		first, rest []frame
	}
	fast := []ff{
		{"surrogate in the first fragment", []frame{frag(opText, []byte("κόσμε\xed\xa0\x80edited"), false)}, []frame{frag(opCont, []byte("end"), true)}},
		{"byte FF in the first fragment", []frame{frag(opText, []byte("abc\xff"), false)}, []frame{frag(opCont, []byte("def"), true)}},
		{"F4 90 (above U+10FFFF) ending the first fragment", []frame{frag(opText, []byte("abc\xf4\x90"), false)}, []frame{frag(opCont, []byte("\x80\x80"), true)}},
		{"lone continuation ending the first fragment", []frame{frag(opText, []byte("abc\x80"), false)}, []frame{frag(opCont, []byte("def"), true)}},
		{"valid first fragment, invalid second, third withheld", []frame{frag(opText, []byte("κόσμε"), false), frag(opCont, []byte("\xf4\x90\x80\x80"), false)}, []frame{frag(opCont, []byte("edited"), true)}},
		{"overlong E0 80 in the first fragment", []frame{frag(opText, []byte("\xe0\x80"), false)}, []frame{frag(opCont, []byte("\xaf"), true)}},
	}
	for i, f := range fast {
		cs = append(cs, mkT(fmt.Sprintf("6.6.%d", i+1), "fail-fast: "+f.desc+": 1007 before the last fragment", "8.1", failFastTimeout, func(w *wire) {
			failFast(w, w.encode(f.first...), w.encode(f.rest...), 1007, fail)
		}))
	}
	// Within one frame (Autobahn 6.4.3/6.4.4): failing before the frame's end
	// is strict; failing once it is whole is non-strict.
	cs = append(cs,
		mkT("6.7.1", "fail-fast inside one short frame: 1007 (late is non-strict)", "8.1", failFastTimeout, func(w *wire) {
			b := w.encode(textMsg("κόσμε\xf4\x90\x80\x80edited and more text to come"))
			failFast(w, b[:len(b)-20], b[len(b)-20:], 1007, nonStrict)
		}),
		mkT("6.7.2", "fail-fast inside one 64 KiB frame: 1007 (late is non-strict)", "8.1", failFastTimeout, func(w *wire) {
			p := append([]byte("κόσμε\xed\xa0\x80"), textPayload(64<<10-10)...)
			b := w.encode(msg(opText, p))
			failFast(w, b[:1000], b[1000:], 1007, nonStrict)
		}),
	)
	return cs
}

// failFast sends first and expects the peer to fail the connection with code
// before rest is sent. When no close comes within failFastWait it sends rest
// and grades a failure that comes then as late.
func failFast(w *wire, first, rest []byte, code uint16, late outcome) {
	w.write(first, 0)
	f, err := w.readFrame(time.Now().Add(failFastWait))
	switch {
	case err == nil:
		w.pushed = &f
		checkFailure(w, w.readClose(0), code)
		return
	case !isTimeout(err):
		w.x.nonStrictf("the %s dropped the TCP connection without a close frame (want close %d)", w.peer, code)
		return
	}
	if err := w.tryWrite(rest, 0); err != nil {
		w.x.failf("no close within %s and writing the rest failed: %v", failFastWait, err)
	}
	checkFailure(w, w.readClose(0), code)
	why := fmt.Sprintf("the %s failed the connection with %d only once the rest was sent, not within %s of the invalid bytes", w.peer, code, failFastWait)
	if late == fail {
		w.x.failf("%s", why)
	}
	w.x.nonStrictf("%s", why)
}

// Section 7: the closing handshake (RFC 6455 sections 5.5.1, 7).
func closeCases() []testCase {
	cs := []testCase{
		mk("7.1.1", "message, then close 1000: echo, close 1000, TCP closed", "7.1.2", func(w *wire) {
			w.expectEcho(opText, []byte("Hello, world"))
			w.closeNormally()
		}),
		mk("7.1.2", "close without payload: close echoed", "5.5.1", func(w *wire) {
			w.send(msg(opClose, nil))
			c := w.readClose(0)
			switch {
			case !c.frame:
				w.x.nonStrictf("the %s dropped the TCP connection instead of answering the close", w.peer)
			case c.hasCode && c.code != 1000:
				w.x.failf("the %s answered a close without a code with %s (want no code or 1000)", w.peer, c)
			}
		}),
		mk("7.1.3", "close, then ping: no pong", "5.5.1", func(w *wire) {
			w.send(closeMsg(1000, ""), msg(opPing, []byte("too late")))
			checkNormal(w, w.readClose(0), 1000)
		}),
		mk("7.1.4", "close, then text: not echoed", "5.5.1", func(w *wire) {
			w.send(closeMsg(1000, ""), textMsg("too late"))
			checkNormal(w, w.readClose(0), 1000)
		}),
		mk("7.1.5", "unfinished fragmented message, then close: close echoed, no message", "5.5.1", func(w *wire) {
			w.send(frag(opText, []byte("never finished"), false), closeMsg(1000, ""))
			checkNormal(w, w.readClose(0), 1000)
		}),
		mkT("7.1.6", "256 KiB message, close, ping in one write: message whole or not at all, then close", "5.5.1", 30*time.Second, func(w *wire) {
			p := binaryPayload(256 << 10)
			wait := w.sendAsync(w.encode(msg(opBinary, p), closeMsg(1000, ""), msg(opPing, []byte("too late"))), 0)
			f, err := w.readFrame(w.x.deadline)
			if err == nil && f.op != opClose {
				w.pushed = &f
				w.expectMessage(opBinary, p)
				w.x.infof("message echoed before the close")
			} else if err == nil {
				w.pushed = &f
			}
			checkNormal(w, w.readClose(0), 1000)
			wait()
		}),
		mk("7.2.1", "close with a 1-byte payload: 1002", "5.5.1", func(w *wire) {
			w.send(msg(opClose, []byte{0x03}))
			w.expectFailure(1002)
		}),
		mk("7.2.2", "close 1000 with a reason: echoed", "5.5.1", func(w *wire) {
			w.send(closeMsg(1000, "Hello World!"))
			checkNormal(w, w.readClose(0), 1000)
		}),
		mk("7.2.3", "close 1000 with a 123-byte reason: echoed", "5.5.1", func(w *wire) {
			w.send(closeMsg(1000, strings.Repeat("*", 123)))
			checkNormal(w, w.readClose(0), 1000)
		}),
		mk("7.2.4", "close 1000 with a multi-byte UTF-8 reason: echoed", "5.5.1", func(w *wire) {
			w.send(closeMsg(1000, "κόσμε 𝄞 \U0010FFFF"))
			checkNormal(w, w.readClose(0), 1000)
		}),
		mk("7.2.5", "close with a 124-byte reason (126-byte payload): 1002", "5.5", func(w *wire) {
			w.send(closeMsg(1000, strings.Repeat("*", 124)))
			w.expectFailure(1002)
		}),
		mk("7.2.6", "close with a reason that is not UTF-8: 1007", "5.5.1", func(w *wire) {
			w.send(closeMsg(1000, "κόσμε\xed\xa0\x80edited"))
			w.expectFailure(1007)
		}),
		mk("7.2.7", "close with a reason cut inside a character: 1007", "5.5.1", func(w *wire) {
			w.send(closeMsg(1000, "abc\xe2\x82"))
			w.expectFailure(1007)
		}),
	}
	for i, code := range []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, mk(fmt.Sprintf("7.3.%d", i+1), fmt.Sprintf("close %d: echoed with %d or 1000", code, code), "7.4.1", func(w *wire) {
			w.send(closeMsg(code, ""))
			checkNormal(w, w.readClose(0), code)
		}))
	}
	// 1012-1014 were registered with IANA after RFC 6455 (section 11.7's
	// registry): valid, but a server of the RFC's own list may refuse them.
	for i, code := range []uint16{1012, 1013, 1014} {
		cs = append(cs, mk(fmt.Sprintf("7.4.%d", i+1), fmt.Sprintf("close %d (IANA-registered): echoed; 1002 is non-strict", code), "7.4.2", func(w *wire) {
			w.send(closeMsg(code, ""))
			c := w.readClose(0)
			if c.frame && c.hasCode && c.code == 1002 {
				w.x.nonStrictf("the %s refused registered code %d with 1002", w.peer, code)
				return
			}
			checkNormal(w, c, code)
		}))
	}
	// Codes that may not appear in a close frame (section 7.4.1: 1004 is
	// reserved, 1005 and 1006 "MUST NOT be set as a status code in a Close
	// control frame", 1015 likewise; 0-999 are not used; 1016-2999 are
	// reserved for future RFCs). Autobahn's 7.9 list, plus 1015.
	for i, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999} {
		cs = append(cs, mk(fmt.Sprintf("7.5.%d", i+1), fmt.Sprintf("close %d (not allowed on the wire): 1002", code), "7.4.1", func(w *wire) {
			w.send(closeMsg(code, ""))
			w.expectFailure(1002)
		}))
	}
	cs = append(cs,
		mk("7.6.1", "close from this end, no more bytes: the peer answers and the connection ends", "7.1.1", func(w *wire) {
			start := time.Now()
			w.closeNormally()
			w.x.infof("closing handshake and TCP close in %s", fmtDuration(time.Since(start)))
		}),
		mk("7.6.2", "message and close in one write: echo, then close", "7.1.2", func(w *wire) {
			w.send(textMsg("last words"), closeMsg(1000, "bye"))
			w.expectMessage(opText, []byte("last words"))
			checkNormal(w, w.readClose(0), 1000)
		}),
		testCase{id: "7.8.1", desc: "TCP closed right after the handshake; a new connection works", rfc: "7.1.1", only: serverOnly, run: func(cx *caseCtx) {
			w := cx.open()
			_ = w.conn.Close()
			w = cx.open()
			w.expectEcho(opText, []byte("still here"))
			w.closeNormally()
		}},
		testCase{id: "7.8.2", desc: "TCP closed in the middle of a frame; a new connection works", rfc: "7.1.1", only: serverOnly, run: func(cx *caseCtx) {
			w := cx.open()
			b := w.encode(msg(opBinary, make([]byte, 300)))
			w.write(b[:100], 0)
			_ = w.conn.Close()
			w = cx.open()
			w.expectEcho(opBinary, []byte("still here"))
			w.closeNormally()
		}},
	)
	return cs
}

// checkNormal checks the peer's answer to a close with code: a close with
// the same code or 1000 passes.
func checkNormal(w *wire, c closeSeen, code uint16) {
	switch {
	case !c.frame:
		w.x.nonStrictf("the %s dropped the TCP connection instead of answering the close (section 5.5.1)", w.peer)
	case !c.hasCode:
		w.x.nonStrictf("the %s answered close %d with a close without a code (section 5.5.1: it typically echoes the code)", w.peer, code)
	case c.code != code && c.code != 1000:
		w.x.failf("the %s answered close %d with %s (want %d or 1000)", w.peer, code, c, code)
	}
}

// Section 9: performance. Times are reported, not asserted; wrong data fails.
func performanceCases() []testCase {
	var cs []testCase
	n := 0
	for _, op := range []byte{opText, opBinary} {
		for _, size := range []int{1 << 20, 4 << 20} {
			n++
			cs = append(cs, mkT(fmt.Sprintf("9.1.%d", n), fmt.Sprintf("%s message of %s", opName(op), sizeName(size)), "5.6", time.Minute, func(w *wire) {
				p := payloadFor(op, size)
				start := time.Now()
				echoed(w, op, p, 0, msg(op, p))
				w.x.infof("%s", rate(2*size, time.Since(start)))
			}))
		}
	}
	frags := []struct {
		op         byte
		size, frag int
	}{{opText, 4 << 20, 64 << 10}, {opBinary, 4 << 20, 4 << 10}}
	for i, f := range frags {
		cs = append(cs, mkT(fmt.Sprintf("9.2.%d", i+1), fmt.Sprintf("%s message of %s in %s fragments", opName(f.op), sizeName(f.size), sizeName(f.frag)), "5.4", time.Minute, func(w *wire) {
			p := payloadFor(f.op, f.size)
			start := time.Now()
			echoed(w, f.op, p, 0, splitFragments(f.op, p, f.frag)...)
			w.x.infof("%s", rate(2*f.size, time.Since(start)))
		}))
	}
	for i, op := range []byte{opText, opBinary} {
		cs = append(cs, mkT(fmt.Sprintf("9.3.%d", i+1), fmt.Sprintf("10000 %s messages of 64 bytes, 100 in flight", opName(op)), "5.6", time.Minute, func(w *wire) {
			const total, batch = 10000, 100
			p := payloadFor(op, 64)
			b := w.encode(func() []frame {
				fs := make([]frame, batch)
				for i := range fs {
					fs[i] = msg(op, p)
				}
				return fs
			}()...)
			start := time.Now()
			for sent := 0; sent < total; sent += batch {
				w.write(b, 0)
				for i := 0; i < batch; i++ {
					w.expectMessage(op, p)
				}
			}
			took := time.Since(start)
			w.x.infof("%.0f round trips/s", total/took.Seconds())
			w.closeNormally()
		}))
	}
	cs = append(cs, mkT("9.4.1", "binary message of 4 MiB in 1 KiB writes", "5.6", time.Minute, func(w *wire) {
		p := binaryPayload(4 << 20)
		start := time.Now()
		echoed(w, opBinary, p, 1<<10, msg(opBinary, p))
		w.x.infof("%s", rate(2*len(p), time.Since(start)))
	}))
	return cs
}

func rate(n int, d time.Duration) string {
	return fmt.Sprintf("%.1f MB/s both ways", float64(n)/1e6/d.Seconds())
}

// Section 10: auto-fragmentation. Messages sent as many fragments come back
// whole, however the peer fragments its echo.
func autoFragmentationCases() []testCase {
	return []testCase{
		mk("10.1.1", "text of 64 KiB in 1300-byte fragments", "5.4", func(w *wire) {
			p := textPayload(64 << 10)
			echoed(w, opText, p, 0, splitFragments(opText, p, 1300)...)
		}),
		mk("10.1.2", "binary of 64 KiB in 1300-byte fragments", "5.4", func(w *wire) {
			p := binaryPayload(64 << 10)
			echoed(w, opBinary, p, 0, splitFragments(opBinary, p, 1300)...)
		}),
		mkT("10.1.3", "text of 1 MiB in 4093-byte fragments that cut characters", "5.4", 30*time.Second, func(w *wire) {
			p := textPayload(1 << 20)
			echoed(w, opText, p, 0, splitFragments(opText, p, 4093)...)
		}),
		mkT("10.1.4", "binary of 1 MiB in 4 KiB fragments, 997-byte writes", "5.4", 30*time.Second, func(w *wire) {
			p := binaryPayload(1 << 20)
			echoed(w, opBinary, p, 997, splitFragments(opBinary, p, 4<<10)...)
		}),
		mk("10.1.5", "text of 64 KiB in fragments of 1 to 64 bytes, pings between", "5.4", func(w *wire) {
			p := textPayload(64 << 10)
			var fs []frame
			for i, rest, size := 0, p, 1; len(rest) > 0 || i == 0; i++ {
				n := min(size, len(rest))
				op := opCont
				if i == 0 {
					op = opText
				}
				fs = append(fs, frag(op, rest[:n], n == len(rest)))
				rest = rest[n:]
				size = size%64 + 1
				if i%100 == 99 && len(rest) > 0 {
					fs = append(fs, msg(opPing, []byte(fmt.Sprint(i))))
				}
			}
			var pongs [][]byte
			for _, f := range fs {
				if f.op == opPing {
					pongs = append(pongs, f.payload)
				}
			}
			wait := w.sendAsync(w.encode(fs...), 0)
			w.expectMixed([]frame{msg(opText, p)}, pongs...)
			wait()
			w.closeNormally()
		}),
	}
}
