//go:build !purego && gc

#include "textflag.h"

// UTF-8 validation with Advanced SIMD, after Keiser & Lemire, "Validating UTF-8
// in less than one instruction per byte" (Software: Practice and Experience,
// 2021).
//
// Every byte c is checked together with the three bytes before it (p1, p2, p3,
// nearest first); the vectors holding p1, p2 and p3 for 16 bytes are built with
// EXT from the current and the previous 16-byte vector.
//
// Errors decided by a pair of bytes (p1, c) come from three 16-entry lookups,
// on the high nibble of p1, the low nibble of p1 and the high nibble of c; each
// bit of the lookup results stands for one kind of error, and the pair is in
// error when the AND of the three lookups is non-zero. The bits:
//
//	0x01 too short:  p1 is a lead byte (C0-FF), c is not a continuation
//	0x02 too long:   p1 is ASCII, c is a continuation (80-BF)
//	0x04 overlong 2: p1 is C0 or C1, c is a continuation
//	0x08 overlong 3: p1 is E0, c is 80-9F
//	0x10 surrogate:  p1 is ED, c is A0-BF
//	0x20 overlong 4 or too large: p1 is F0 and c is 80-8F, or p1 is F5-FF and
//	     c is 80-8F
//	0x40 too large:  p1 is F4-FF, c is 90-BF
//	0x80 two continuations: p1 and c both 80-BF
//
// Bit 0x80 is not an error by itself: two continuations in a row are right
// exactly when c is the third or fourth byte of a sequence, that is when
// p2 >= E0 or p3 >= F0. That is computed with saturating subtracts
// (p2 -sat 0x60 and p3 -sat 0x70 have bit 7 set exactly then), masked to
// 0x80 and XORed into the lookup result: any bit left is an error. Errors are
// ORed into one accumulator that is tested once at the end.
//
// The input goes in 64-byte blocks of four vectors. A block with no byte >= 0x80
// skips the checks; it only takes over the "previous block ended inside a
// sequence" flag (the last vector of the previous non-ASCII block saturating-
// subtracted from FF..FF EF DF BF, non-zero when its last byte is >= C0, the
// second-to-last >= E0 or the third-to-last >= F0). The last 0-63 bytes are
// copied into a zeroed 64-byte frame buffer and checked as one more block, so no
// load ever reaches outside p; the zero padding is ASCII, and a sequence cut off
// by the end of p is caught as a lead byte not followed by enough continuations
// (there is always at least one byte of padding after the end of p).
//
// Registers:
//
//	R0        next input byte
//	R1        bytes left
//	R4        1 once the tail block has been loaded
//	R5        address of the 64-byte frame buffer
//	R6, R7    scratch
//	V0-V3     the current block
//	V4        the vector before the current block (zero at the start)
//	V5        error accumulator
//	V6        "previous block ended inside a sequence" (non-zero if so)
//	V7        lookup table on the high nibble of p1
//	V8        lookup table on the low nibble of p1
//	V9        lookup table on the high nibble of c
//	V10       0x0F in every byte
//	V11       FF x13, EF, DF, BF: limits for an incomplete end of a vector
//	V12       0x60 in every byte
//	V13       0x70 in every byte
//	V14       0x80 in every byte
//	V16-V25   scratch

// Instructions the Go assembler lacks, encoded by hand (register numbers).
// UQSUB Vd.16B, Vn.16B, Vm.16B: d = n - m, saturating at 0.
#define UQSUB16B(m, n, d) WORD $(0x6E202C00 | ((m)<<16) | ((n)<<5) | (d))
// UMAXV Bd, Vn.16B: d = largest byte of n, the rest of d zeroed.
#define UMAXV16B(n, d) WORD $(0x6E30A800 | ((n)<<5) | (d))

// CHECK16 checks the 16 bytes in cur, whose preceding 16 bytes are in prev, and
// ORs any error into V5. It uses V20-V25.
// p1, p2, p3 go to V20, V21, V22; UQSUB16B(12, 21, 21) is UQSUB V21.16B,
// V21.16B, V12.16B, and UQSUB16B(13, 22, 22) is UQSUB V22.16B, V22.16B, V13.16B.
#define CHECK16(prev, cur) \
	VEXT	$15, cur.B16, prev.B16, V20.B16; \
	VEXT	$14, cur.B16, prev.B16, V21.B16; \
	VEXT	$13, cur.B16, prev.B16, V22.B16; \
	VUSHR	$4, V20.B16, V23.B16; \
	VAND	V10.B16, V20.B16, V24.B16; \
	VUSHR	$4, cur.B16, V25.B16; \
	VTBL	V23.B16, [V7.B16], V23.B16; \
	VTBL	V24.B16, [V8.B16], V24.B16; \
	VTBL	V25.B16, [V9.B16], V25.B16; \
	VAND	V24.B16, V23.B16, V23.B16; \
	VAND	V25.B16, V23.B16, V23.B16; \
	UQSUB16B(12, 21, 21); \
	UQSUB16B(13, 22, 22); \
	VORR	V22.B16, V21.B16, V21.B16; \
	VAND	V14.B16, V21.B16, V21.B16; \
	VEOR	V21.B16, V23.B16, V23.B16; \
	VORR	V23.B16, V5.B16, V5.B16

// func validNEON(p []byte) bool
TEXT ·validNEON(SB), NOSPLIT, $64-25
	MOVD	p_base+0(FP), R0
	MOVD	p_len+8(FP), R1
	MOVD	$0, R4
	MOVD	$buf-64(SP), R5

	VMOVQ	$0x0202020202020202, $0x6119010580808080, V7
	VMOVQ	$0xe3e3e3c3838387af, $0xe3e3f3e3e3e3e3e3, V8
	VMOVQ	$0x0101010101010101, $0x01010101d6d6ceae, V9
	VMOVI	$0x0f, V10.B16
	VMOVQ	$0xffffffffffffffff, $0xbfdfefffffffffff, V11
	VMOVI	$0x60, V12.B16
	VMOVI	$0x70, V13.B16
	VMOVI	$0x80, V14.B16
	VEOR	V4.B16, V4.B16, V4.B16
	VEOR	V5.B16, V5.B16, V5.B16
	VEOR	V6.B16, V6.B16, V6.B16

	CMP	$64, R1
	BLT	tail

loop:
	VLD1.P	64(R0), [V0.B16, V1.B16, V2.B16, V3.B16]
	SUB	$64, R1, R1

block:
	// ASCII block? Then only a sequence left open by the block before is wrong.
	VORR	V0.B16, V1.B16, V16.B16
	VORR	V2.B16, V3.B16, V17.B16
	VORR	V16.B16, V17.B16, V16.B16
	UMAXV16B(16, 16)           // UMAXV B16, V16.16B
	VMOV	V16.S[0], R7
	TBNZ	$7, R7, full
	VORR	V6.B16, V5.B16, V5.B16
	VMOV	V3.B16, V4.B16
	VEOR	V6.B16, V6.B16, V6.B16
	B	next

full:
	CHECK16(V4, V0)
	CHECK16(V0, V1)
	CHECK16(V1, V2)
	CHECK16(V2, V3)
	VMOV	V3.B16, V4.B16
	UQSUB16B(11, 3, 6)         // UQSUB V6.16B, V3.16B, V11.16B

next:
	CMP	$64, R1
	BGE	loop

tail:
	// The last R1 < 64 bytes, copied into the zeroed frame buffer.
	CBNZ	R4, finish
	MOVD	$1, R4
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V18.B16, V18.B16, V18.B16
	VEOR	V19.B16, V19.B16, V19.B16
	VST1	[V16.B16, V17.B16, V18.B16, V19.B16], (R5)
	MOVD	R5, R6
	TBZ	$5, R1, tail16
	VLD1.P	32(R0), [V16.B16, V17.B16]
	VST1.P	[V16.B16, V17.B16], 32(R6)

tail16:
	TBZ	$4, R1, tail8
	VLD1.P	16(R0), [V16.B16]
	VST1.P	[V16.B16], 16(R6)

tail8:
	TBZ	$3, R1, tail4
	MOVD.P	8(R0), R7
	MOVD.P	R7, 8(R6)

tail4:
	TBZ	$2, R1, tail2
	MOVWU.P	4(R0), R7
	MOVW.P	R7, 4(R6)

tail2:
	TBZ	$1, R1, tail1
	MOVHU.P	2(R0), R7
	MOVH.P	R7, 2(R6)

tail1:
	TBZ	$0, R1, tailload
	MOVBU	(R0), R7
	MOVB	R7, (R6)

tailload:
	VLD1	(R5), [V0.B16, V1.B16, V2.B16, V3.B16]
	MOVD	$0, R1
	B	block

finish:
	VMOV	V5.D[0], R6
	VMOV	V5.D[1], R7
	ORR	R6, R7, R6
	CMP	$0, R6
	CSET	EQ, R6
	MOVB	R6, ret+24(FP)
	RET
