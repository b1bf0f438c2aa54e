package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// Sections 12 and 13: permessage-deflate (RFC 7692). Like the protocol
// cases they are written from this end's point of view and run against
// servers (this end offers) and the engine's client (this end answers).
// This end compresses and inflates with the suite's own codec.

// zmsg is p as a compressed message (RSV1 on the first frame), its
// compressed payload cut into fragments of frag bytes (0: one frame).
func (w *wire) zmsg(op byte, p []byte, frag int) []frame {
	z := w.dfl.comp.compress(p)
	if frag <= 0 {
		frag = max(len(z), 1)
	}
	fs := splitFragments(op, z, frag)
	fs[0].rsv = rsv1
	return fs
}

// zfrags is p as a compressed message in n fragments of about the same
// size (fewer when the compressed payload is shorter than n bytes).
func (w *wire) zfrags(op byte, p []byte, n int) []frame {
	z := w.dfl.comp.compress(p)
	fs := splitFragments(op, z, max((len(z)+n-1)/n, 1))
	fs[0].rsv = rsv1
	return fs
}

// expectZ reads a message and fails unless it is op with payload want,
// compressed when the peer is known to compress a message of its size.
func (w *wire) expectZ(op byte, want []byte) {
	w.expectMessage(op, want)
	w.checkCompressed(len(want))
}

// checkCompressed fails when the last message, of n bytes, came
// uncompressed from a peer known to compress it.
func (w *wire) checkCompressed(n int) {
	if k := w.dfl.known; k != nil && n >= k.threshold && !w.last.compressed {
		w.x.failf("the %s sent a %d-byte message uncompressed; it compresses from %d bytes", w.peer, n, k.threshold)
	}
}

// manyZ sends count compressed copies of p in one write (fragmented at
// frag), expects them all echoed, and closes.
func manyZ(w *wire, op byte, p []byte, count, frag int) {
	var b []byte
	var wire int
	for i := 0; i < count; i++ {
		e := w.encode(w.zmsg(op, p, frag)...)
		wire += len(e)
		b = append(b, e...)
	}
	wait := w.sendAsync(b, 0)
	for i := 0; i < count; i++ {
		w.expectZ(op, p)
	}
	wait()
	w.closeNormally()
	if count > 1 {
		w.x.infof("%d × %s in %d bytes", count, sizeName(len(p)), wire)
	}
}

// probeOurContext checks that the peer inflates with the context this end
// keeps (when the agreement lets it): a random message of a window's size,
// then a copy of it sent as nothing but a back-reference a whole window
// long, which inflates only with the first message in the peer's window.
func probeOurContext(w *wire) {
	d := w.dfl
	if !d.outTk {
		return
	}
	n := min(1<<d.comp.bits, 1024)
	a := binaryPayload(n)
	w.send(w.zmsg(opBinary, a, 0)...)
	w.expectMessage(opBinary, a)
	b := fixedBlock(copyOf(n, n))
	d.comp.forget()
	w.send(withRsv(msg(opBinary, b), rsv1))
	w.expectMessage(opBinary, a)
	w.x.infof("inflates with this end's context (a %d-byte copy in %d bytes)", n, len(b))
}

// windowEdge checks the peer's window of this end's messages at its far
// edge: after a message longer than the window and a shorter one, a copy
// of the whole window from exactly 2^bits bytes back must inflate to the
// last 2^bits bytes of the two.
func windowEdge(w *wire) {
	d := w.dfl
	if !d.outTk {
		w.x.infof("no context takeover from this end: no window to probe")
		return
	}
	n := 1 << d.comp.bits
	m1, m2 := binaryPayload(n+n/2), textPayload(n*2/5)
	w.send(append(w.zmsg(opBinary, m1, 0), w.zmsg(opText, m2, 0)...)...)
	w.expectMessage(opBinary, m1)
	w.expectMessage(opText, m2)
	want := append(bytes.Clone(m1[len(m1)-(n-len(m2)):]), m2...)
	w.send(withRsv(msg(opBinary, fixedBlock(copyOf(n, n))), rsv1))
	d.comp.forget()
	w.expectMessage(opBinary, want)
	w.x.infof("a copy of the whole %d-byte window inflates right", n)
}

// probePeerContext checks that the peer compresses with its context when it
// may and is known to: a random message, then the same again, whose echo
// must be far smaller than the message. Peers not known to keep their
// context only get a remark.
func probePeerContext(w *wire) {
	d := w.dfl
	if !d.inTk {
		return
	}
	n := min(1<<d.inBits*3/4, 1024)
	k := d.known
	if k != nil && n < k.threshold {
		w.x.infof("no probe of the %s's context: its %d-bit window is below its threshold (%d bytes)", w.peer, d.inBits, k.threshold)
		return
	}
	a := binaryPayload(n)
	w.send(w.zmsg(opBinary, a, 0)...)
	w.expectMessage(opBinary, a)
	if !w.last.compressed {
		w.x.infof("no probe of the %s's context: it sent a %d-byte message uncompressed", w.peer, n)
		return
	}
	w.send(w.zmsg(opBinary, a, 0)...)
	w.expectMessage(opBinary, a)
	switch {
	case w.last.compressed && w.last.wireLen < n/4:
		w.x.infof("the %s refers back to its context (a repeated %d-byte message in %d bytes)", w.peer, n, w.last.wireLen)
	case k != nil && k.takeover:
		w.x.failf("the %s keeps its context but sent a repeated %d-byte random message in %d bytes (compressed %v)", w.peer, n, w.last.wireLen, w.last.compressed)
	default:
		w.x.infof("the %s does not refer back to its context", w.peer)
	}
}

// exchange runs the context probes both ways on a fresh compressed
// connection, then the messages of a section 13 case, and closes. The
// probes come first: a window full of incompressible bytes is one a fast
// compressor may not index densely enough to find the probe in.
func exchange(w *wire) {
	probePeerContext(w)
	probeOurContext(w)
	type m struct {
		op         byte
		size, frag int
	}
	ms := []m{{opText, 64, 0}, {opText, 1000, 0}, {opBinary, 4096, 0}, {opText, 16 << 10, 1000}, {opText, 64 << 10, 0}, {opBinary, 16 << 10, 4096}}
	var b []byte
	for _, x := range ms {
		b = append(b, w.encode(w.zmsg(x.op, payloadFor(x.op, x.size), x.frag)...)...)
	}
	wait := w.sendAsync(b, 0)
	for _, x := range ms {
		w.expectZ(x.op, payloadFor(x.op, x.size))
	}
	wait()
	w.send(w.zmsg(opText, textPayload(3000), 0)...)
	w.expectZ(opText, textPayload(3000))
	w.closeNormally()
}

// plainOffer is the offer of section 12: permessage-deflate, bare.
var plainOffer = deflateSpec{offers: []string{pmdName}}

func mkZ(id, desc string, body func(w *wire)) testCase {
	return testCase{id: id, desc: desc, rfc: "7.2", deflate: true, run: func(cx *caseCtx) { body(cx.openDeflate(plainOffer)) }}
}

func deflateCases() []testCase {
	var cs []testCase
	cs = append(cs, deflateMessageCases()...)
	cs = append(cs, deflateViolationCases()...)
	cs = append(cs, deflateParamCases()...)
	return cs
}

// Section 12: compressed messages of many sizes, many of each, whole and
// auto-fragmented, with the plain offer.
func deflateMessageCases() []testCase {
	var cs []testCase
	// Text compresses well, random binary not at all: the costly kind gets
	// fewer sizes. Many messages of the small sizes, a few of the large.
	sizes := map[byte][]int{
		opText:   {16, 64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 128 << 10, 256<<10 + 3},
		opBinary: {16, 256, 4 << 10, 64 << 10, 128<<10 + 3},
	}
	count := func(n int) int { return min(max(64<<10/n, 2), 50) }
	for i, op := range []byte{opText, opBinary} {
		for j, n := range sizes[op] {
			c := mkZ(fmt.Sprintf("12.%d.%d", i+1, j+1), fmt.Sprintf("%d compressed %s messages of %s", count(n), opName(op), sizeName(n)), func(w *wire) {
				manyZ(w, op, payloadFor(op, n), count(n), 0)
			})
			c.timeout = 30 * time.Second
			cs = append(cs, c)
		}
	}
	frags := []struct{ size, frag int }{{4 << 10, 1}, {16 << 10, 256}, {64 << 10, 1300}, {128 << 10, 4 << 10}}
	for i, op := range []byte{opText, opBinary} {
		for j, f := range frags {
			c := mkZ(fmt.Sprintf("12.%d.%d", i+3, j+1), fmt.Sprintf("%d compressed %s messages of %s in %d-byte fragments", min(count(f.size), 4), opName(op), sizeName(f.size), f.frag), func(w *wire) {
				manyZ(w, op, payloadFor(op, f.size), min(count(f.size), 4), f.frag)
			})
			c.timeout = 30 * time.Second
			cs = append(cs, c)
		}
	}
	cs = append(cs,
		mkZ("12.5.1", "uncompressed messages between compressed ones: echoed", func(w *wire) {
			p := textPayload(2000)
			w.send(append(append(w.zmsg(opText, p, 0), msg(opText, []byte("plain"))), w.zmsg(opText, p, 0)...)...)
			w.expectZ(opText, p)
			w.expectMessage(opText, []byte("plain"))
			w.expectZ(opText, p)
			w.closeNormally()
		}),
		mkZ("12.5.2", "empty compressed message (one 00 byte, section 7.2.3.6): empty echo", func(w *wire) {
			w.send(w.zmsg(opText, nil, 0)...)
			w.expectMessage(opText, []byte{})
			w.closeNormally()
		}),
		mkZ("12.5.3", "compressed message whose first fragment is empty (section 7.2.3.6)", func(w *wire) {
			p := textPayload(3000)
			fs := w.zfrags(opText, p, 2)
			fs[0].rsv = 0
			fs = append([]frame{withRsv(frag(opText, nil, false), rsv1)}, fs...)
			fs[1].op = opCont
			echoed(w, opText, p, 0, fs...)
		}),
		mkZ("12.5.4", "compressed message in 1-byte writes", func(w *wire) {
			p := textPayload(3000)
			echoed(w, opText, p, 1, w.zmsg(opText, p, 0)...)
		}),
		mkZ("12.5.5", "compressed message with a ping between its fragments", func(w *wire) {
			p := textPayload(5000)
			fs := w.zfrags(opText, p, 4)
			fs = append(fs[:2:2], append([]frame{msg(opPing, []byte("between"))}, fs[2:]...)...)
			w.send(fs...)
			w.expectMixed([]frame{msg(opText, p)}, []byte("between"))
			w.closeNormally()
		}),
		mkZ("12.5.6", "a stored block, a fixed block and a dynamic block in one message", func(w *wire) {
			// A stored block holding "abc", then a fixed block copying it.
			stored := []byte{0, 3, 0, 0xfc, 0xff, 'a', 'b', 'c'}
			p := append(stored, fixedBlock(copyOf(6, 3))...)
			w.send(withRsv(msg(opText, p), rsv1))
			w.expectMessage(opText, []byte("abcabcabc"))
			w.dfl.comp.forget()
			probeOurContext(w)
			w.closeNormally()
		}),
		mkZ("12.5.7", "message of a final (BFINAL) stored block (section 7.2.3.4), then a copy of it", func(w *wire) {
			a := binaryPayload(300)
			p := append([]byte{0x01, byte(len(a)), byte(len(a) >> 8), ^byte(len(a)), ^byte(len(a) >> 8)}, a...)
			w.send(withRsv(msg(opBinary, p), rsv1))
			w.expectMessage(opBinary, a)
			w.dfl.comp.forget()
			if w.dfl.outTk {
				w.send(withRsv(msg(opBinary, fixedBlock(copyOf(len(a), len(a)))), rsv1))
				w.expectMessage(opBinary, a)
			}
			w.closeNormally()
		}),
		mkZ("12.5.9", "uncompressed messages and pings stay out of the LZ77 windows", func(w *wire) {
			d := w.dfl
			a, u := binaryPayload(200), []byte("plain, short and not in any window")
			// This end's window: A, then a plain message and a ping, then a
			// copy of A from 200 bytes back, which is A only if the peer
			// left the plain message out.
			w.send(w.zmsg(opBinary, a, 0)...)
			w.expectMessage(opBinary, a)
			w.send(msg(opBinary, u), msg(opPing, u))
			w.expectMessage(opBinary, u)
			w.expectPong(u)
			if d.outTk {
				w.send(withRsv(msg(opBinary, fixedBlock(copyOf(len(a), len(a)))), rsv1))
				d.comp.forget()
				w.expectMessage(opBinary, a)
			}
			// The peer's window: its echo of A again refers back to its echo
			// of A; were the plain echo and the pong in its window, this
			// end (which leaves them out) would inflate something else.
			w.send(w.zmsg(opBinary, a, 0)...)
			w.expectMessage(opBinary, a)
			w.closeNormally()
		}),
		mkZ("12.5.10", "messages around the thresholds of the in-tree peers (63-65, 511-513 bytes)", func(w *wire) {
			sizes := []int{63, 64, 65, 511, 512, 513}
			var fs []frame
			for _, n := range sizes {
				fs = append(fs, w.zmsg(opText, textPayload(n), 0)...)
			}
			w.send(fs...)
			var got []string
			for _, n := range sizes {
				w.expectZ(opText, textPayload(n))
				got = append(got, fmt.Sprintf("%d:%v", n, w.last.compressed))
			}
			w.closeNormally()
			w.x.infof("compressed: %s", strings.Join(got, " "))
		}),
		mkZ("12.5.11", "unfinished compressed message, then close: close echoed, no message", func(w *wire) {
			fs := w.zfrags(opText, textPayload(3000), 2)
			w.send(fs[0], closeMsg(1000, ""))
			checkNormal(w, w.readClose(0), 1000)
		}),
		mkZ("12.5.8", "100 JSON-like messages of about 1 KiB in one write", func(w *wire) {
			var b []byte
			var ps [][]byte
			for i := 0; i < 100; i++ {
				p := jsonLike(i)
				ps = append(ps, p)
				b = append(b, w.encode(w.zmsg(opText, p, 0)...)...)
			}
			wait := w.sendAsync(b, 0)
			total := 0
			for _, p := range ps {
				w.expectZ(opText, p)
				total += w.last.wireLen
			}
			wait()
			w.closeNormally()
			w.x.infof("sent in %d bytes, echoed in %d", len(b), total)
		}),
	)
	return cs
}

// jsonLike is the i-th message of a stream of similar JSON objects.
func jsonLike(i int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"seq":%d,"type":"update","user":{"id":%d,"name":"user-%d","roles":["reader","writer"]},"items":[`, i, 1000+i%17, i%17)
	for j := 0; j < 12; j++ {
		if j > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"price":%d.%02d,"label":"item %d of order %d","tags":["κόσμε","€"]}`, i*12+j, (i*7+j)%500, (i+j)%100, j, i)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// Section 12.6-12.8: frames and payloads a compressed connection must
// refuse.
func deflateViolationCases() []testCase {
	bad := func(id, desc string, code uint16, build func(w *wire) []frame) testCase {
		return mkZ(id, desc, func(w *wire) { violation(w, code, build(w)...) })
	}
	cs := []testCase{
		bad("12.6.1", "RSV1 on the continuation of a compressed message: 1002", 1002, func(w *wire) []frame {
			fs := w.zfrags(opText, textPayload(2000), 3)
			fs[1].rsv = rsv1
			return fs
		}),
		bad("12.6.2", "RSV1 on the continuation of an uncompressed message: 1002", 1002, func(w *wire) []frame {
			return []frame{frag(opText, []byte("frag"), false), withRsv(frag(opCont, []byte("ment"), true), rsv1)}
		}),
		bad("12.6.3", "RSV1 on a ping: 1002", 1002, func(w *wire) []frame {
			return []frame{withRsv(msg(opPing, []byte("compressed?")), rsv1)}
		}),
		bad("12.6.4", "RSV1 on a pong: 1002", 1002, func(w *wire) []frame {
			return []frame{withRsv(msg(opPong, []byte("compressed?")), rsv1)}
		}),
		bad("12.6.5", "RSV1 on a close: 1002", 1002, func(w *wire) []frame {
			return []frame{withRsv(closeMsg(1000, ""), rsv1)}
		}),
		bad("12.6.6", "RSV1 on a ping between the fragments of a compressed message: 1002", 1002, func(w *wire) []frame {
			fs := w.zfrags(opText, textPayload(2000), 3)
			return append([]frame{fs[0], withRsv(msg(opPing, nil), rsv1)}, fs[1:]...)
		}),
		bad("12.6.7", "RSV2 on a compressed text message: 1002", 1002, func(w *wire) []frame {
			fs := w.zmsg(opText, textPayload(2000), 0)
			fs[0].rsv |= rsv2
			return fs
		}),
		bad("12.6.8", "RSV3 on an uncompressed binary message: 1002", 1002, func(w *wire) []frame {
			return []frame{withRsv(msg(opBinary, []byte{1, 2, 3}), rsv3)}
		}),
		bad("12.7.1", "compressed message with the reserved block type 11: 1007", 1007, func(w *wire) []frame {
			return []frame{withRsv(msg(opBinary, []byte{0x07, 0x00}), rsv1)}
		}),
		bad("12.7.2", "compressed message with a stored block whose NLEN is wrong: 1007", 1007, func(w *wire) []frame {
			return []frame{withRsv(msg(opBinary, []byte{0x00, 0x05, 0x00, 0x00, 0x00, 'a', 'b', 'c', 'd', 'e'}), rsv1)}
		}),
		bad("12.7.3", "compressed first message copying from before its start: 1007", 1007, func(w *wire) []frame {
			return []frame{withRsv(msg(opBinary, fixedBlock(append([]token{{lit: 'x'}}, copyTok(10, 100)))), rsv1)}
		}),
		bad("12.7.4", "compressed text that inflates to invalid UTF-8: 1007", 1007, func(w *wire) []frame {
			return w.zmsg(opText, []byte("κόσμε\xed\xa0\x80edited"), 0)
		}),
		bad("12.7.5", "compressed text in 2 fragments that inflates to invalid UTF-8: 1007", 1007, func(w *wire) []frame {
			return w.zfrags(opText, append(bytes.Clone(textPayload(3000)), 0xff), 2)
		}),
		mkZ("12.7.6", "RSV1 on an empty message (00 00 ff ff alone does not inflate): 1007; an empty echo is non-strict", func(w *wire) {
			hello := []byte("Hello, world")
			w.send(msg(opText, hello), withRsv(msg(opBinary, nil), rsv1))
			w.expectMessage(opText, hello)
			f := w.next("the answer to an empty compressed message")
			if f.op == opBinary {
				w.pushed = &f
				w.expectMessage(opBinary, []byte{})
				w.x.nonStrictf("the %s took an empty payload with RSV1 for an empty message: the tail it appends does not inflate on its own (section 7.2.2)", w.peer)
				w.closeNormally()
				return
			}
			w.pushed = &f
			w.expectFailure(1007)
		}),
	}
	// A bomb: a message that inflates past the peer's message limit
	// (Config.MaxMessageSize; 16 MiB by default, for a peer not known).
	bombSize := func(w *wire) int {
		if k := w.dfl.known; k != nil {
			return 2*k.maxMessage + 4096
		}
		return 24 << 20
	}
	// The limit's edge: a message that inflates to exactly the limit is
	// taken, one byte more is not.
	edge := func(id, desc string, over int, code uint16) testCase {
		return testCase{id: id, desc: desc, rfc: "7.2.2", deflate: true, timeout: 30 * time.Second, run: func(cx *caseCtx) {
			w := cx.openDeflate(plainOffer)
			k := w.dfl.known
			if k == nil {
				cx.skipf("the peer's message limit is not known")
			}
			z := bombPayload(k.maxMessage + over)
			if code == 0 {
				w.send(withRsv(msg(opBinary, z), rsv1))
				w.expectZ(opBinary, make([]byte, k.maxMessage))
				w.closeNormally()
				return
			}
			violation(w, code, withRsv(msg(opBinary, z), rsv1))
		}}
	}
	cs = append(cs,
		edge("12.8.3", "compressed message inflating to exactly the message limit: echoed", 0, 0),
		edge("12.8.4", "compressed message inflating to one byte over the message limit: 1009", 1, 1009),
		// Deflate adds a few bytes to incompressible data (5 per stored
		// block): a message within the limit may be a little longer on the
		// wire. engine.Config says MaxMessageSize "counts the inflated
		// bytes", so the compressed length must not be held against it.
		testCase{id: "12.8.5", desc: "incompressible message of exactly the message limit, compressed (a few bytes longer): echoed", rfc: "7.2.2", deflate: true, timeout: 30 * time.Second, run: func(cx *caseCtx) {
			w := cx.openDeflate(plainOffer)
			k := w.dfl.known
			if k == nil {
				cx.skipf("the peer's message limit is not known")
			}
			p := binaryPayload(k.maxMessage)
			fs := w.zmsg(opBinary, p, 0)
			w.x.infof("%d bytes compressed to %d", len(p), len(fs[0].payload))
			echoed(w, opBinary, p, 0, fs...)
		}},
		testCase{id: "12.8.6", desc: "the same in 64 KiB fragments: echoed", rfc: "7.2.2", deflate: true, timeout: 30 * time.Second, run: func(cx *caseCtx) {
			w := cx.openDeflate(plainOffer)
			k := w.dfl.known
			if k == nil {
				cx.skipf("the peer's message limit is not known")
			}
			p := binaryPayload(k.maxMessage)
			echoed(w, opBinary, p, 0, w.zmsg(opBinary, p, 64<<10)...)
		}},
	)
	cs = append(cs,
		testCase{id: "12.8.1", desc: "compressed message (one frame) inflating past the message limit: 1009", rfc: "7.2.2", deflate: true, timeout: 30 * time.Second, run: func(cx *caseCtx) {
			w := cx.openDeflate(plainOffer)
			violation(w, 1009, withRsv(msg(opBinary, bombPayload(bombSize(w))), rsv1))
		}},
		testCase{id: "12.8.2", desc: "compressed message in fragments inflating past the limit: 1009 before the last (at the last is non-strict)", rfc: "7.2.2", deflate: true, timeout: 30 * time.Second, run: func(cx *caseCtx) {
			w := cx.openDeflate(plainOffer)
			z := bombPayload(bombSize(w))
			fs := splitFragments(opBinary, z, len(z)/4+1)
			fs[0].rsv = rsv1
			// Everything but the last fragment, then a ping: a peer that
			// answers the ping has read those fragments without failing.
			wait := w.sendAsync(w.encode(append(fs[:len(fs)-1:len(fs)-1], msg(opPing, []byte("limit?")))...), 0)
			f, err := w.readFrame(w.x.deadline)
			if err != nil {
				w.x.nonStrictf("the %s dropped the TCP connection without a close frame (want close 1009): %v", w.peer, err)
				return
			}
			if f.op != opPong {
				// Failed in time. The writer may be blocked on the rest for
				// a peer that stopped reading: the case's end closes the
				// connection under it.
				w.pushed = &f
				w.expectFailure(1009)
				return
			}
			wait()
			_ = w.tryWrite(w.encode(fs[len(fs)-1]), 0)
			w.expectFailure(1009)
			w.x.nonStrictf("the %s answered a ping sent after %d of the message's %d fragments (%s inflated, over its limit) and failed only at the last", w.peer, len(fs)-1, len(fs), sizeName(bombSize(w)*(len(fs)-1)/len(fs)))
		}},
	)
	return cs
}

// Section 13: the parameters of the offer (servers) or of the answer (the
// client), each with messages, the context probes both ways, and the
// negotiation's refusals.
func deflateParamCases() []testCase {
	type pc struct {
		id, desc string
		offers   []string  // servers
		reply    pmdParams // the client
		only     side
	}
	o := func(params ...string) string { return strings.Join(append([]string{pmdName}, params...), "; ") }
	const (
		cnct = "client_no_context_takeover"
		snct = "server_no_context_takeover"
	)
	params := []pc{
		{"13.1", "plain offer", []string{o()}, pmdParams{}, both},
		{"13.2", "client_no_context_takeover", []string{o(cnct)}, pmdParams{clientNoTakeover: true}, both},
		{"13.3", "client_max_window_bits=8", []string{o("client_max_window_bits=8")}, pmdParams{clientBits: 8}, both},
		{"13.4", "client_max_window_bits=15", []string{o("client_max_window_bits=15")}, pmdParams{clientBits: 15}, both},
		{"13.5", "client_no_context_takeover, client_max_window_bits=8", []string{o(cnct, "client_max_window_bits=8")}, pmdParams{clientNoTakeover: true, clientBits: 8}, both},
		{"13.6", "client_no_context_takeover, client_max_window_bits=15", []string{o(cnct, "client_max_window_bits=15")}, pmdParams{clientNoTakeover: true, clientBits: 15}, both},
		{"13.7.1", "3 offers: server_max_window_bits=10 with client_max_window_bits=8 first: the first taken", []string{o("server_max_window_bits=10", "client_max_window_bits=8"), o(cnct), o()}, pmdParams{}, serverOnly},
		{"13.7.2", "3 offers, the first with an unknown parameter: the second taken", []string{o("x_tachyon_unknown"), o("server_max_window_bits=9"), o()}, pmdParams{}, serverOnly},
		{"13.7.3", "3 offers, the first with server_max_window_bits=16: the second taken", []string{o("server_max_window_bits=16"), o(snct, "server_max_window_bits=12"), o()}, pmdParams{}, serverOnly},
		{"13.7.1", "answer with server_no_context_takeover the client did not ask for", nil, pmdParams{serverNoTakeover: true}, clientOnly},
		{"13.7.2", "answer with server_max_window_bits=9 the client did not ask for", nil, pmdParams{serverBits: 9}, clientOnly},
		{"13.8.1", "server_no_context_takeover", []string{o(snct)}, pmdParams{serverNoTakeover: true}, both},
		{"13.8.2", "server_max_window_bits=8", []string{o("server_max_window_bits=8")}, pmdParams{serverBits: 8}, both},
		{"13.8.3", "server_max_window_bits=15", []string{o("server_max_window_bits=15")}, pmdParams{serverBits: 15}, both},
		{"13.8.4", "server_no_context_takeover, server_max_window_bits=8", []string{o(snct, "server_max_window_bits=8")}, pmdParams{serverNoTakeover: true, serverBits: 8}, both},
		{"13.8.5", "all four: no takeover either way, windows of 9 bits", []string{o(snct, cnct, "server_max_window_bits=9", "client_max_window_bits=9")}, pmdParams{serverNoTakeover: true, clientNoTakeover: true, serverBits: 9, clientBits: 9}, both},
		{"13.8.6", "bare client_max_window_bits (Chromium's offer)", []string{o("client_max_window_bits")}, pmdParams{serverBits: 12, clientBits: 12}, both},
		{"13.8.8", "no spaces: permessage-deflate;client_max_window_bits=10;server_no_context_takeover", []string{"permessage-deflate;client_max_window_bits=10;server_no_context_takeover"}, pmdParams{}, serverOnly},
		{"13.8.9", "an unknown extension on one header line, permessage-deflate on the next", []string{"x-tachyon-unknown; p=1", "\n" + o("server_max_window_bits=11")}, pmdParams{}, serverOnly},
		{"13.8.7", `a quoted value and spaces: permessage-deflate ;server_max_window_bits="10" ; client_max_window_bits`, []string{`permessage-deflate ;server_max_window_bits="10" ; client_max_window_bits`}, pmdParams{}, serverOnly},
		{"13.8.7", `answer with quoted values: server_max_window_bits="10"; client_max_window_bits="9"`, nil, pmdParams{serverBits: 10, clientBits: 9, quoted: true}, clientOnly},
	}
	var cs []testCase
	for _, p := range params {
		desc := "offer: " + p.desc
		switch p.only {
		case clientOnly:
			desc = p.desc
		case both:
			desc = "offer/answer: " + p.desc
		}
		spec := deflateSpec{offers: p.offers, reply: p.reply}
		cs = append(cs, testCase{id: p.id, desc: desc + "; messages, context both ways", rfc: "7.1", only: p.only, deflate: true, timeout: 20 * time.Second, run: func(cx *caseCtx) {
			exchange(cx.openDeflate(spec))
		}})
	}
	cs = append(cs, testCase{id: "13.7.3", desc: "client asking for server_max_window_bits=9, offering client_max_window_bits=8; messages, context both ways", rfc: "7.1", only: clientOnly, deflate: true, timeout: 20 * time.Second, run: func(cx *caseCtx) {
		fs := cx.fake
		comp := *fs.dialOpts.Compression
		comp.ServerMaxWindowBits, comp.ClientMaxWindowBits = 9, 8
		opts := *fs.dialOpts
		opts.Compression = &comp
		fs.dialOpts, fs.known = &opts, knownOf(&comp, fs.known.maxMessage)
		exchange(fs.openDeflate(cx, pmdParams{}))
	}})
	for i, bits := range []int{8, 11, 15} {
		spec := deflateSpec{offers: []string{o(fmt.Sprintf("client_max_window_bits=%d", bits))}, reply: pmdParams{serverBits: bits}}
		cs = append(cs, testCase{id: fmt.Sprintf("13.10.%d", i+1), desc: fmt.Sprintf("this end's %d-bit window (client_max_window_bits=%[1]d offered, server_max_window_bits=%[1]d answered): a copy of all of it, from its far edge", bits), rfc: "7.1.2", deflate: true, timeout: 20 * time.Second, run: func(cx *caseCtx) {
			w := cx.openDeflate(spec)
			windowEdge(w)
			w.closeNormally()
		}})
	}
	// Offers a server must decline (section 7: "A server MUST decline an
	// extension negotiation offer for this extension if" a parameter is
	// unknown, has an invalid value or appears twice): the connection goes
	// on uncompressed.
	declined := []struct{ desc, offer string }{
		{"server_max_window_bits=7", o("server_max_window_bits=7")},
		{"server_max_window_bits=16", o("server_max_window_bits=16")},
		{"server_max_window_bits=08 (leading zero)", o("server_max_window_bits=08")},
		{"server_max_window_bits without a value", o("server_max_window_bits")},
		{"client_max_window_bits=7", o("client_max_window_bits=7")},
		{"client_max_window_bits=1e1", o("client_max_window_bits=1e1")},
		{"client_no_context_takeover twice", o(cnct, cnct)},
		{"server_no_context_takeover=1", o(snct + "=1")},
		{"an unknown parameter", o("x_tachyon_unknown=1")},
		{"client_max_window_bits twice, bare and with a value", o("client_max_window_bits", "client_max_window_bits=10")},
		{"200 parameters", o(strings.Repeat("x_tachyon; ", 199) + "x_tachyon")},
		{"server_max_window_bits=99999999999999999999", o("server_max_window_bits=99999999999999999999")},
		{"client_max_window_bits= (an empty value)", o("client_max_window_bits=")},
		{`server_max_window_bits="1 0" (a quoted value that is not a number)`, o(`server_max_window_bits="1 0"`)},
	}
	for i, d := range declined {
		cs = append(cs, testCase{id: fmt.Sprintf("13.9.%d", i+1), desc: "offer with " + d.desc + ": declined, uncompressed echo", rfc: "7", only: serverOnly, deflate: true, run: func(cx *caseCtx) {
			w, accepted := cx.tgt.openDeflate(cx, d.offer)
			if accepted {
				cx.failf("the server accepted the offer %.80q (response %s)", d.offer, w.dfl.resp)
			}
			w.expectEcho(opText, []byte("Hello, uncompressed world"))
			w.closeNormally()
		}})
	}
	cs = append(cs, clientResponseCases()...)
	return cs
}

// clientResponseCases are answers the engine client must refuse (RFC 7692
// section 7: the client "MUST _Fail the WebSocket Connection_"): Dial fails
// with engine.ErrDeflateResponse and closes the connection.
func clientResponseCases() []testCase {
	type rc struct {
		desc string
		comp engine.Compression // the client's; Threshold -1 added
		resp string             // the answer's Sec-WebSocket-Extensions
		or   error              // another error Dial may fail with
	}
	const pmd = pmdName
	rcs := []rc{
		{"an unknown parameter", engine.Compression{ContextTakeover: true}, pmd + "; x_tachyon_unknown", nil},
		{"server_no_context_takeover twice", engine.Compression{}, pmd + "; server_no_context_takeover; server_no_context_takeover", nil},
		{"server_no_context_takeover=1", engine.Compression{ContextTakeover: true}, pmd + "; server_no_context_takeover=1", nil},
		{"client_max_window_bits without a value", engine.Compression{ContextTakeover: true}, pmd + "; client_max_window_bits", nil},
		{"client_max_window_bits=10, the offer's 8", engine.Compression{ContextTakeover: true, ClientMaxWindowBits: 8}, pmd + "; client_max_window_bits=10", nil},
		{"server_max_window_bits=16", engine.Compression{ContextTakeover: true}, pmd + "; server_max_window_bits=16", nil},
		{"server_max_window_bits=7", engine.Compression{ContextTakeover: true}, pmd + "; server_max_window_bits=7", nil},
		{"server_max_window_bits=012", engine.Compression{ContextTakeover: true}, pmd + "; server_max_window_bits=012", nil},
		{"server_max_window_bits=12, the offer's 10", engine.Compression{ContextTakeover: true, ServerMaxWindowBits: 10}, pmd + "; server_max_window_bits=12", nil},
		{"no server_max_window_bits, the offer's 10", engine.Compression{ContextTakeover: true, ServerMaxWindowBits: 10}, pmd, nil},
		{"no server_no_context_takeover, which the offer has", engine.Compression{}, pmd + "; client_no_context_takeover", nil},
		{"permessage-deflate twice", engine.Compression{ContextTakeover: true}, pmd + ", " + pmd, nil},
		{"permessage-deflate and an extension not offered", engine.Compression{ContextTakeover: true}, pmd + ", x-tachyon-unknown", engine.ErrUnexpectedExtension},
	}
	var cs []testCase
	for i, r := range rcs {
		cs = append(cs, testCase{id: fmt.Sprintf("13.9.%d", i+1), desc: "answer with " + r.desc + ": Dial fails (ErrDeflateResponse)", rfc: "7", only: clientOnly, deflate: true, run: func(cx *caseCtx) {
			comp := r.comp
			comp.Threshold = -1
			var offered []string
			conn, br, _, _, err := cx.fake.dial(cx, handshakeOpts{
				dial: &engine.DialOptions{Compression: &comp},
				respond: func(req *http.Request, key string) []byte {
					offered = req.Header.Values("Sec-WebSocket-Extensions")
					return accept101(key, "Sec-WebSocket-Extensions: "+r.resp)
				},
			})
			switch {
			case err == nil:
				cx.failf("Dial accepted %q in answer to %q", r.resp, offered)
			case !errors.Is(err, engine.ErrDeflateResponse) && (r.or == nil || !errors.Is(err, r.or)):
				cx.failf("Dial failed with %v, want ErrDeflateResponse (offer %q)", err, offered)
			}
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := br.ReadByte(); err == nil || isTimeout(err) {
				cx.failf("the client kept the connection open after refusing the answer (err %v)", err)
			}
		}})
	}
	return cs
}
