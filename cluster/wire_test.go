package cluster

import (
	"bytes"
	"testing"
)

func TestRoomSubject(t *testing.T) {
	for _, tc := range []struct{ room, want string }{
		{"chat", "p.room.chat"},
		{"Room_1-x", "p.room.Room_1-x"},
		{"a.b", "p.room.a~2Eb"},
		{"a b*>", "p.room.a~20b~2A~3E"},
		{"~", "p.room.~7E"},
		{"é", "p.room.~C3~A9"},
	} {
		if got := roomSubject("p", tc.room); got != tc.want {
			t.Errorf("roomSubject(%q) = %q, want %q", tc.room, got, tc.want)
		}
	}
}

func TestWire(t *testing.T) {
	b := appendData(nil, 2, 0x0102030405060708, 300, []byte("hello"))
	op, origin, seq, p, err := parseData(b)
	if err != nil || op != 2 || origin != 0x0102030405060708 || seq != 300 || !bytes.Equal(p, []byte("hello")) {
		t.Fatalf("parseData: %v %v %v %q %v", op, origin, seq, p, err)
	}
	for i := range 11 {
		if _, _, _, _, err := parseData(b[:i]); err == nil {
			t.Errorf("parseData accepted %d bytes", i)
		}
	}

	pb := appendPresence(nil, kindAlive, 7, 3000, "node-a", []roomCount{{"chat", 3}, {"x", 1}})
	pr, err := parsePresence(pb)
	if err != nil || pr.kind != kindAlive || pr.id != 7 || pr.ttlMS != 3000 || pr.name != "node-a" || len(pr.rooms) != 2 || pr.rooms["chat"] != 3 || pr.rooms["x"] != 1 {
		t.Fatalf("parsePresence: %+v %v", pr, err)
	}
	for i := range len(pb) {
		if _, err := parsePresence(pb[:i]); err == nil {
			t.Errorf("parsePresence accepted %d of %d bytes", i, len(pb))
		}
	}
}
