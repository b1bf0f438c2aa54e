package conformance

import (
	"bytes"
	"testing"
)

// TestDeflateCodec checks the suite's own codec before it judges anyone:
// compress/flate's output through both inflaters, every window, with and
// without takeover; hand-built blocks through compress/flate.
func TestDeflateCodec(t *testing.T) {
	msgs := [][]byte{textPayload(5000), binaryPayload(3000), nil, textPayload(9000), []byte("x"), textPayload(5000)}
	for _, bits := range []int{8, 12, 15} {
		for _, take := range []bool{false, true} {
			c, d := newCompressor(bits, take), newDecompressor(bits, take)
			for i, m := range msgs {
				z := c.compress(m)
				if bits == 15 {
					// inflate only cross-checks below 15 bits: check here too.
					hist := d.hist
					got, far, err := inflateDistances(append(bytes.Clone(z), deflateEnd...), map[bool][]byte{true: hist}[take], 1<<20)
					if err != nil || !bytes.Equal(got, m) || far > 1<<15 {
						t.Fatalf("bits %d takeover %v message %d: suite inflater: %v, equal %v, far %d", bits, take, i, err, bytes.Equal(got, m), far)
					}
				}
				got, err := d.inflate(z, 1<<20)
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("bits %d takeover %v message %d (%d bytes, %d compressed): %v, equal %v", bits, take, i, len(m), len(z), err, bytes.Equal(got, m))
				}
			}
		}
	}
	// A hand-built copy of the previous message, through compress/flate.
	d := newDecompressor(8, true)
	a := binaryPayload(200)
	if got, err := d.inflate(newCompressor(8, false).compress(a), 1<<20); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("first: %v", err)
	}
	z := fixedBlock(copyOf(200, 200))
	if got, err := d.inflate(z, 1<<20); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("hand-built copy: %v, equal %v", err, bytes.Equal(got, a))
	}
	if len(z) > 8 {
		t.Fatalf("a 200-byte copy takes %d bytes", len(z))
	}
	// Too far for the window: caught by the suite's inflater.
	d = newDecompressor(8, true)
	_, _ = d.inflate(newCompressor(8, false).compress(binaryPayload(300)), 1<<20)
	if _, err := d.inflate(fixedBlock(copyOf(10, 290)), 1<<20); err == nil {
		t.Fatalf("a copy from 290 bytes back passed an 8-bit window")
	}
	// The bomb.
	b := bombPayload(1 << 20)
	if _, err := newDecompressor(15, false).inflate(b, 1<<20-1); err != errTooBig {
		t.Fatalf("bomb: %v", err)
	}
	got, err := newDecompressor(15, false).inflate(b, 1<<20)
	if err != nil || len(got) != 1<<20 || bytes.Count(got, []byte{0}) != len(got) {
		t.Fatalf("bomb: %v, %d bytes", err, len(got))
	}
	t.Logf("bomb of 1 MiB: %d bytes", len(b))
}
