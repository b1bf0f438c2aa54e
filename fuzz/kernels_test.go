package fuzz

import (
	"bytes"
	"testing"
	stdutf8 "unicode/utf8"

	"github.com/tachyonws/tachyon/internal/cpu"
	"github.com/tachyonws/tachyon/internal/kerneltest"
	"github.com/tachyonws/tachyon/mask"
	"github.com/tachyonws/tachyon/utf8"
)

// FuzzMask holds every masking path equal to ApplyGeneric: for a random
// payload, key and starting offset, placed at a random alignment inside a
// larger buffer and unmasked in two pieces split at a random point, each SIMD
// level gives the bytes and the returned offset of a one-shot ApplyGeneric, and
// leaves the bytes around the payload untouched.
func FuzzMask(f *testing.F) {
	f.Add([]byte("hello, world"), uint32(0x12345678), uint8(0), uint8(0), uint16(5))
	f.Add(bytes.Repeat([]byte{0xAA}, 200), uint32(0xFFFFFFFF), uint8(3), uint8(7), uint16(63))
	f.Add([]byte{}, uint32(1), uint8(1), uint8(1), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos, align uint8, split uint16) {
		key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		a := int(align & 63)
		s := 0
		if len(data) > 0 {
			s = int(split) % (len(data) + 1)
		}
		want := bytes.Clone(data)
		wantPos := mask.ApplyGeneric(want, key, int(pos))
		buf := make([]byte, a+len(data)+64)
		for i := range buf {
			buf[i] = 0x5C
		}
		for _, l := range cpu.Available() {
			restore := cpu.Force(l)
			b := buf[a : a+len(data)]
			copy(b, data)
			p := mask.Apply(b[:s], key, int(pos))
			p = mask.Apply(b[s:], key, p)
			restore()
			if p != wantPos || !bytes.Equal(b, want) {
				t.Fatalf("%v: len %d align %d split %d pos %d: differs from ApplyGeneric", l, len(data), a, s, pos)
			}
			for i, c := range buf {
				if (i < a || i >= a+len(data)) && c != 0x5C {
					t.Fatalf("%v: byte %d outside the payload was written", l, i-a)
				}
			}
		}
	})
}

// FuzzUTF8 holds every validation path equal to the automaton and to
// unicode/utf8.Valid, and a Validator fed the input in three pieces (split at
// two random points) equal to the one-shot answer, failing at the same piece
// as the bytes so far stop being a valid prefix.
func FuzzUTF8(f *testing.F) {
	f.Add([]byte("hello"), uint16(1), uint16(3))
	f.Add([]byte("Déjà vu 你好 👋"), uint16(2), uint16(13))
	f.Add([]byte("\xed\xa0\x80"), uint16(1), uint16(2))
	f.Add([]byte("\xf4\x90\x80\x80"), uint16(0), uint16(4))
	f.Add(kerneltest.Text("mixed", 300), uint16(64), uint16(65))
	f.Fuzz(func(t *testing.T, data []byte, s1, s2 uint16) {
		want := stdutf8.Valid(data)
		if got := utf8.ValidGeneric(data); got != want {
			t.Fatalf("ValidGeneric = %v, unicode/utf8.Valid = %v", got, want)
		}
		a, b := 0, 0
		if len(data) > 0 {
			a, b = int(s1)%(len(data)+1), int(s2)%(len(data)+1)
		}
		if a > b {
			a, b = b, a
		}
		bad := kerneltest.BadPrefix(data) // the shortest prefix that cannot begin valid text
		wantPieces := [3]bool{a < bad, b < bad, len(data) < bad}
		for _, l := range cpu.Available() {
			restore := cpu.Force(l)
			got := utf8.Valid(data)
			var v utf8.Validator
			pieces := [3]bool{v.Validate(data[:a]), v.Validate(data[a:b]), v.Validate(data[b:])}
			complete := v.Complete()
			restore()
			if got != want {
				t.Fatalf("%v: Valid = %v, unicode/utf8.Valid = %v", l, got, want)
			}
			if pieces != wantPieces || complete != want {
				t.Fatalf("%v: split at %d,%d: pieces %v complete %v, want %v %v", l, a, b, pieces, complete, wantPieces, want)
			}
		}
	})
}

// FuzzUnmaskValid holds utf8.UnmaskValid equal, at every SIMD level, to its
// definition: mask.ApplyGeneric followed by unicode/utf8.Valid. For a random
// payload (taken as the masked bytes), key and starting offset, placed at a
// random alignment inside a larger buffer, each level must give the same
// answer, the same next offset and the same unmasked bytes, and leave the
// bytes around the payload untouched.
func FuzzUnmaskValid(f *testing.F) {
	f.Add([]byte("hello, world"), uint32(0), uint8(0), uint8(0))
	f.Add(kerneltest.Text("mixed", 300), uint32(0x12345678), uint8(1), uint8(3))
	f.Add(bytes.Repeat([]byte{0x80}, 130), uint32(0x80808080), uint8(2), uint8(63))
	f.Add([]byte{}, uint32(1), uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos, align uint8) {
		key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		a := int(align & 63)
		want := bytes.Clone(data)
		wantNext := mask.ApplyGeneric(want, key, int(pos))
		wantValid := stdutf8.Valid(want)
		buf := make([]byte, a+len(data)+64)
		for i := range buf {
			buf[i] = 0xE2
		}
		for _, l := range cpu.Available() {
			restore := cpu.Force(l)
			b := buf[a : a+len(data) : a+len(data)]
			copy(b, data)
			valid, next := utf8.UnmaskValid(b, key, int(pos))
			restore()
			if valid != wantValid || next != wantNext {
				t.Fatalf("%v: len %d align %d pos %d: UnmaskValid = %v, %d; want %v, %d", l, len(data), a, pos, valid, next, wantValid, wantNext)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("%v: len %d align %d pos %d: bytes differ from ApplyGeneric", l, len(data), a, pos)
			}
			for i, c := range buf {
				if (i < a || i >= a+len(data)) && c != 0xE2 {
					t.Fatalf("%v: byte %d outside the payload was written", l, i-a)
				}
			}
		}
	})
}
