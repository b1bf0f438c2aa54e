//go:build !purego && gc

#include "textflag.h"

// func xorNEON(b []byte, key uint32)
//
// for i in [0, len(b)): b[i] ^= byte(key >> (8*(i%4)))
//
// Every byte of b is read and written exactly once and no byte outside
// b[0:len(b)] is touched. Every step before the final 1–3 bytes covers a
// multiple of 4 bytes, so the key phase stays at 0 until then.
//
// Registers:
//	R0      pointer to the next unprocessed byte
//	R1      bytes left
//	R2      key (32 bits); shifted right during the final 1–3 bytes
//	R3      key | key<<32 for the 8-byte step
//	R4      scalar data
//	V0      key broadcast to 4 words
//	V1-V4   data
TEXT ·xorNEON(SB), NOSPLIT, $0-28
	MOVD  b_base+0(FP), R0
	MOVD  b_len+8(FP), R1
	MOVWU key+24(FP), R2
	ORR   R2<<32, R2, R3
	VDUP  R2, V0.S4
	CMP   $64, R1
	BLT   loop16

loop64:
	VLD1   (R0), [V1.B16, V2.B16, V3.B16, V4.B16]
	VEOR   V0.B16, V1.B16, V1.B16
	VEOR   V0.B16, V2.B16, V2.B16
	VEOR   V0.B16, V3.B16, V3.B16
	VEOR   V0.B16, V4.B16, V4.B16
	VST1.P [V1.B16, V2.B16, V3.B16, V4.B16], 64(R0)
	SUB    $64, R1, R1
	CMP    $64, R1
	BGE    loop64

loop16:
	CMP    $16, R1
	BLT    tail8
	VLD1   (R0), [V1.B16]
	VEOR   V0.B16, V1.B16, V1.B16
	VST1.P [V1.B16], 16(R0)
	SUB    $16, R1, R1
	B      loop16

tail8:
	// R1 < 16: one step for each set bit of R1, largest first.
	TBZ    $3, R1, tail4
	MOVD   (R0), R4
	EOR    R3, R4, R4
	MOVD.P R4, 8(R0)

tail4:
	TBZ    $2, R1, tail2
	MOVWU  (R0), R4
	EORW   R2, R4, R4
	MOVW.P R4, 4(R0)

tail2:
	TBZ    $1, R1, tail1
	MOVHU  (R0), R4
	EORW   R2, R4, R4
	MOVH.P R4, 2(R0)
	LSRW   $16, R2, R2

tail1:
	TBZ   $0, R1, done
	MOVBU (R0), R4
	EORW  R2, R4, R4
	MOVB  R4, (R0)

done:
	RET
