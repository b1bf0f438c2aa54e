package engine

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseHeaderExamples(t *testing.T) {
	// RFC 6455 section 5.7.
	tests := []struct {
		name string
		in   []byte
		want Header
		n    int
	}{
		{"unmasked text Hello", []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, Header{Fin: true, OpCode: OpText, Length: 5}, 2},
		{"masked text Hello", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
			Header{Fin: true, OpCode: OpText, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Length: 5}, 6},
		{"first fragment", []byte{0x01, 0x03, 'H', 'e', 'l'}, Header{OpCode: OpText, Length: 3}, 2},
		{"last fragment", []byte{0x80, 0x02, 'l', 'o'}, Header{Fin: true, OpCode: OpContinuation, Length: 2}, 2},
		{"ping", []byte{0x89, 0x05}, Header{Fin: true, OpCode: OpPing, Length: 5}, 2},
		{"256 bytes binary", []byte{0x82, 0x7E, 0x01, 0x00}, Header{Fin: true, OpCode: OpBinary, Length: 256}, 4},
		{"64 KiB binary", []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, Header{Fin: true, OpCode: OpBinary, Length: 65536}, 10},
		{"rsv bits", []byte{0xF2, 0x00}, Header{Fin: true, Rsv: Rsv1 | Rsv2 | Rsv3, OpCode: OpBinary}, 2},
		{"non-minimal 16-bit length", []byte{0x82, 0x7E, 0x00, 0x05}, Header{Fin: true, OpCode: OpBinary, Length: 5}, 4},
	}
	for _, tt := range tests {
		var h Header
		n, err := ParseHeader(tt.in, &h)
		if err != nil || n != tt.n || h != tt.want {
			t.Errorf("%s: ParseHeader = %+v, %d, %v; want %+v, %d", tt.name, h, n, err, tt.want, tt.n)
		}
		// Every shorter prefix asks for more.
		for k := 0; k < tt.n; k++ {
			var h Header
			if need, err := ParseHeader(tt.in[:k], &h); err != nil || need <= k || h != (Header{}) {
				t.Errorf("%s: prefix %d: need %d, err %v", tt.name, k, need, err)
			}
		}
	}
}

func TestParseHeaderLengthTopBit(t *testing.T) {
	in := []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1}
	var h Header
	if _, err := ParseHeader(in, &h); !errors.Is(err, ErrLengthTopBit) || CloseStatus(err) != StatusProtocolError {
		t.Fatalf("err = %v, want ErrLengthTopBit with 1002", err)
	}
}

func TestCheckHeader(t *testing.T) {
	masked := func(h Header) Header { h.Masked = true; return h }
	tests := []struct {
		name     string
		h        Header
		role     Role
		rsv      byte
		maxFrame int64
		want     error
	}{
		{"server: masked text", masked(Header{Fin: true, OpCode: OpText, Length: 5}), RoleServer, 0, 0, nil},
		{"client: unmasked text", Header{Fin: true, OpCode: OpText, Length: 5}, RoleClient, 0, 0, nil},
		{"server: unmasked", Header{Fin: true, OpCode: OpText}, RoleServer, 0, 0, ErrMaskRequired},
		{"client: masked", masked(Header{Fin: true, OpCode: OpText}), RoleClient, 0, 0, ErrMaskUnexpected},
		{"opcode 3", Header{Fin: true, OpCode: 3}, RoleClient, 0, 0, ErrUnknownOpCode},
		{"opcode 7", Header{Fin: true, OpCode: 7}, RoleClient, 0, 0, ErrUnknownOpCode},
		{"opcode B", Header{Fin: true, OpCode: 0xB}, RoleClient, 0, 0, ErrUnknownOpCode},
		{"opcode F", Header{Fin: true, OpCode: 0xF}, RoleClient, 0, 0, ErrUnknownOpCode},
		{"rsv1 without extension", Header{Fin: true, Rsv: Rsv1, OpCode: OpText}, RoleClient, 0, 0, ErrReservedBits},
		{"rsv1 negotiated", Header{Fin: true, Rsv: Rsv1, OpCode: OpText}, RoleClient, Rsv1, 0, nil},
		{"rsv2 with only rsv1 negotiated", Header{Fin: true, Rsv: Rsv2, OpCode: OpText}, RoleClient, Rsv1, 0, ErrReservedBits},
		{"fragmented ping", Header{OpCode: OpPing}, RoleClient, 0, 0, ErrFragmentedControl},
		{"fragmented close", Header{OpCode: OpClose}, RoleClient, 0, 0, ErrFragmentedControl},
		{"ping of 125", Header{Fin: true, OpCode: OpPing, Length: 125}, RoleClient, 0, 0, nil},
		{"ping of 126", Header{Fin: true, OpCode: OpPing, Length: 126}, RoleClient, 0, 0, ErrControlTooLong},
		{"pong of 126", Header{Fin: true, OpCode: OpPong, Length: 126}, RoleClient, 0, 0, ErrControlTooLong},
		{"frame at the limit", Header{Fin: true, OpCode: OpBinary, Length: 1000}, RoleClient, 0, 1000, nil},
		{"frame over the limit", Header{Fin: true, OpCode: OpBinary, Length: 1001}, RoleClient, 0, 1000, ErrFrameTooBig},
		{"continuation", Header{OpCode: OpContinuation, Length: 3}, RoleClient, 0, 0, nil},
	}
	for _, tt := range tests {
		if err := CheckHeader(&tt.h, tt.role, tt.rsv, tt.maxFrame); err != tt.want {
			t.Errorf("%s: CheckHeader = %v, want %v", tt.name, err, tt.want)
		}
	}
	if CloseStatus(ErrFrameTooBig) != StatusMessageTooBig {
		t.Error("ErrFrameTooBig does not carry 1009")
	}
}

// Every header encodes in the shortest form and parses back to itself.
func TestHeaderRoundTrip(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 1 << 40, 1<<63 - 1}
	for _, l := range lengths {
		for _, m := range []bool{false, true} {
			for _, op := range []OpCode{OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong} {
				h := Header{Fin: op != OpContinuation, Rsv: Rsv1, OpCode: op, Masked: m, Length: l}
				if m {
					h.Mask = [4]byte{1, 2, 3, 4}
				}
				b := AppendHeader(nil, h)
				if len(b) != HeaderSize(h) {
					t.Fatalf("%+v: encoded %d bytes, HeaderSize %d", h, len(b), HeaderSize(h))
				}
				var got Header
				n, err := ParseHeader(b, &got)
				if err != nil || n != len(b) || got != h {
					t.Fatalf("%+v: parsed back as %+v, %d, %v", h, got, n, err)
				}
			}
		}
	}
}

func TestAppendFrameMasksACopy(t *testing.T) {
	payload := []byte("Hello")
	h := Header{Fin: true, OpCode: OpText, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}}
	got := AppendFrame(nil, h, payload)
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58} // RFC 6455 section 5.7
	if !bytes.Equal(got, want) || string(payload) != "Hello" {
		t.Fatalf("AppendFrame = % x (payload now %q), want % x", got, payload, want)
	}
}

func TestHeaderAllocs(t *testing.T) {
	in := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}
	buf := make([]byte, 0, 64)
	a := testing.AllocsPerRun(100, func() {
		var h Header
		_, _ = ParseHeader(in, &h)
		_ = CheckHeader(&h, RoleServer, 0, 1<<20)
		buf = AppendHeader(buf[:0], h)
	})
	if a != 0 {
		t.Fatalf("%v allocations", a)
	}
}

func TestClosePayload(t *testing.T) {
	tests := []struct {
		in     []byte
		code   StatusCode
		reason string
		err    error
	}{
		{nil, StatusNoStatusReceived, "", nil},
		{[]byte{0x03}, 0, "", ErrCloseTooShort},
		{[]byte{0x03, 0xE8}, StatusNormalClosure, "", nil},
		{[]byte{0x03, 0xE8, 'b', 'y', 'e'}, StatusNormalClosure, "bye", nil},
		{[]byte{0x0F, 0xA0, 0xC3, 0xA9}, 4000, "é", nil},
		{[]byte{0x03, 0xE8, 0xC3}, 0, "", ErrInvalidUTF8},
		{[]byte{0x03, 0xED}, 0, "", ErrInvalidCloseCode}, // 1005
		{[]byte{0x03, 0xEE}, 0, "", ErrInvalidCloseCode}, // 1006
		{[]byte{0x03, 0xF7}, 0, "", ErrInvalidCloseCode}, // 1015
		{[]byte{0x03, 0xF8}, 0, "", ErrInvalidCloseCode}, // 1016
		{[]byte{0x00, 0x00}, 0, "", ErrInvalidCloseCode}, // 0
		{[]byte{0x03, 0xE7}, 0, "", ErrInvalidCloseCode}, // 999
		{[]byte{0x0B, 0xB7}, 0, "", ErrInvalidCloseCode}, // 2999
		{[]byte{0x0B, 0xB8}, 3000, "", nil},              // 3000
		{[]byte{0x13, 0x87}, 4999, "", nil},              // 4999
		{[]byte{0x13, 0x88}, 0, "", ErrInvalidCloseCode}, // 5000
		{[]byte{0x03, 0xF6}, StatusBadGateway, "", nil},  // 1014
		{[]byte{0x03, 0xEC}, 0, "", ErrInvalidCloseCode}, // 1004
	}
	for _, tt := range tests {
		code, reason, err := ParseClosePayload(tt.in)
		if code != tt.code || string(reason) != tt.reason || err != tt.err {
			t.Errorf("% x: got %d %q %v, want %d %q %v", tt.in, code, reason, err, tt.code, tt.reason, tt.err)
		}
	}
	if got := AppendClosePayload(nil, 1000, "bye"); !bytes.Equal(got, []byte{0x03, 0xE8, 'b', 'y', 'e'}) {
		t.Errorf("AppendClosePayload = % x", got)
	}
	if got := AppendClosePayload(nil, StatusNoStatusReceived, ""); len(got) != 0 {
		t.Errorf("AppendClosePayload(1005) = % x", got)
	}
}

func TestCheckClose(t *testing.T) {
	ok := []struct {
		code   StatusCode
		reason string
	}{{1000, ""}, {1001, "going away"}, {4000, "app"}, {StatusNoStatusReceived, ""}, {1000, string(bytes.Repeat([]byte("x"), 123))}}
	for _, c := range ok {
		if err := CheckClose(c.code, c.reason); err != nil {
			t.Errorf("CheckClose(%d, %q) = %v", c.code, c.reason, err)
		}
	}
	bad := []struct {
		code   StatusCode
		reason string
	}{{1005, "x"}, {1006, ""}, {999, ""}, {5000, ""}, {1000, "\xff"}, {1000, string(bytes.Repeat([]byte("x"), 124))}}
	for _, c := range bad {
		if err := CheckClose(c.code, c.reason); err == nil {
			t.Errorf("CheckClose(%d, %q) accepted", c.code, c.reason)
		}
	}
}

func TestCloseStatusFindsWrapped(t *testing.T) {
	err := errors.Join(errors.New("read"), &CloseError{Code: 4001, Reason: "bye"})
	if CloseStatus(err) != 4001 {
		t.Fatal("CloseStatus missed a wrapped CloseError")
	}
	if CloseStatus(ErrInvalidUTF8) != StatusInvalidFramePayloadData {
		t.Fatal("ErrInvalidUTF8 does not carry 1007")
	}
	if CloseStatus(errors.New("x")) != 0 {
		t.Fatal("CloseStatus of a plain error is not 0")
	}
	if HTTPStatus(&HandshakeError{Status: 426}) != 426 {
		t.Fatal("HTTPStatus")
	}
}
