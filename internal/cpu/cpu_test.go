package cpu

import "testing"

func TestAvailable(t *testing.T) {
	ls := Available()
	if len(ls) == 0 || ls[len(ls)-1] != Generic {
		t.Fatalf("Available() = %v: Generic must come last", ls)
	}
	if ls[0] != detected {
		t.Fatalf("Available()[0] = %v, want the detected level %v", ls[0], detected)
	}
	if !asmEnabled && len(ls) != 1 {
		t.Fatalf("a build without assembly offers %v", ls)
	}
	for _, l := range ls {
		restore := Force(l)
		if Current != l {
			t.Fatalf("Force(%v) left Current at %v", l, Current)
		}
		restore()
	}
}

func TestForceUnavailablePanics(t *testing.T) {
	bad := NEON
	if detected == NEON {
		bad = AVX2
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("Force(%v) on a %v machine did not panic", bad, detected)
		}
	}()
	Force(bad)
}

func TestParseLevel(t *testing.T) {
	for l := Generic; l <= NEON; l++ {
		if got, ok := ParseLevel(l.String()); !ok || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), got, ok)
		}
	}
	if _, ok := ParseLevel("AVX2"); !ok {
		t.Error("ParseLevel is not case-insensitive")
	}
	if _, ok := ParseLevel("avx1024"); ok {
		t.Error("ParseLevel accepted an unknown name")
	}
}
