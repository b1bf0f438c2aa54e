//go:build !purego && gc

#include "textflag.h"

// UTF-8 validation after the lookup method of Keiser and Lemire, "Validating
// UTF-8 in less than one instruction per byte" (2021).
//
// Every byte is judged together with the byte before it. Three 16-entry tables,
// indexed by the high nibble of the previous byte (H1), the low nibble of the
// previous byte (L1) and the high nibble of the current byte (H2), each give a
// set of error classes; a class is present at a position when all three tables
// agree, so ANDing the three lookups leaves one bit per class that applies:
//
//	bit  class        previous byte        current byte
//	0x01 too short    lead C0..FF          not a continuation (00..7F, C0..FF)
//	0x02 too long     ASCII 00..7F         continuation 80..BF
//	0x04 overlong 3   E0                   80..9F
//	0x08 too large    F4..FF               90..BF
//	0x10 surrogate    ED                   A0..BF
//	0x20 overlong 2   C0, C1               80..BF
//	0x40 overlong 4   F0 (and F5..FF)      80..8F
//	0x80 two conts    continuation         continuation
//
// Each class is a product set (high nibble x low nibble x next high nibble),
// which is what makes the AND exact. Bit 0x40 also carries "F5..FF followed by
// 80..8F", the part of "too large" that bit 0x08 cannot express.
//
// Bit 0x80 is not an error by itself: two continuations in a row are right
// exactly where the byte two back is a lead of three or four bytes (E0..FF) or
// the byte three back is a lead of four bytes (F0..FF). Those positions are
// found with saturating subtractions (x -us 0x60 has bit 7 set iff x >= E0,
// x -us 0x70 iff x >= F0), and their bit 7 is XORed into the lookup result:
// what is left at bit 7 is a continuation missing or one too many.
//
// The "previous" bytes of a vector come from the vector before it (zero, that
// is ASCII, before the start). The final check is that the input does not end
// inside a sequence: the last byte is not a lead, the one before it not a lead
// of three or four bytes, the one before that not a lead of four. A partial
// last block is zero-padded, and zero is not a continuation, so a sequence cut
// off by the real end is caught by the lookups; the end-of-block check is still
// run on the padded block and only fires when the real end is inside a
// sequence too. The padded block is built without reading outside the input:
// a masked load for AVX-512, overlapping loads inside the input shifted into
// place for AVX2.
//
// A block in which no byte has bit 7 set skips the lookups: it is valid, and
// the only error it can reveal is a sequence left open by the previous block.

// Nibble tables (16 bytes, broadcast to every 128-bit lane).
//	H1 by high nibble of the previous byte: 0-7 02, 8-B 80, C 21, D 01, E 15, F 49
//	L1 by low nibble of the previous byte:  0 E7, 1 A3, 2-3 83, 4 8B, 5-C CB, D DB, E-F CB
//	H2 by high nibble of the current byte:  0-7 01, 8 E6, 9 AE, A-B BA, C-F 01
DATA h1tbl<>+0(SB)/8, $0x0202020202020202
DATA h1tbl<>+8(SB)/8, $0x4915012180808080
GLOBL h1tbl<>(SB), RODATA|NOPTR, $16

DATA l1tbl<>+0(SB)/8, $0xCBCBCB8B8383A3E7
DATA l1tbl<>+8(SB)/8, $0xCBCBDBCBCBCBCBCB
GLOBL l1tbl<>(SB), RODATA|NOPTR, $16

DATA h2tbl<>+0(SB)/8, $0x0101010101010101
DATA h2tbl<>+8(SB)/8, $0x01010101BABAAEE6
GLOBL h2tbl<>(SB), RODATA|NOPTR, $16

// Byte constants, 32 bytes each so that AVX2 can use them as memory operands.
DATA nib<>+0(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA nib<>+8(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA nib<>+16(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA nib<>+24(SB)/8, $0x0F0F0F0F0F0F0F0F
GLOBL nib<>(SB), RODATA|NOPTR, $32

DATA msb<>+0(SB)/8, $0x8080808080808080
DATA msb<>+8(SB)/8, $0x8080808080808080
DATA msb<>+16(SB)/8, $0x8080808080808080
DATA msb<>+24(SB)/8, $0x8080808080808080
GLOBL msb<>(SB), RODATA|NOPTR, $32

// x -us 0x60 >= 0x80 iff x >= 0xE0 (lead of 3 or 4 bytes).
DATA sub3<>+0(SB)/8, $0x6060606060606060
DATA sub3<>+8(SB)/8, $0x6060606060606060
DATA sub3<>+16(SB)/8, $0x6060606060606060
DATA sub3<>+24(SB)/8, $0x6060606060606060
GLOBL sub3<>(SB), RODATA|NOPTR, $32

// x -us 0x70 >= 0x80 iff x >= 0xF0 (lead of 4 bytes).
DATA sub4<>+0(SB)/8, $0x7070707070707070
DATA sub4<>+8(SB)/8, $0x7070707070707070
DATA sub4<>+16(SB)/8, $0x7070707070707070
DATA sub4<>+24(SB)/8, $0x7070707070707070
GLOBL sub4<>(SB), RODATA|NOPTR, $32

// End-of-block limits for a 32-byte vector: x -us limit is non-zero iff the
// vector ends inside a sequence (last byte >= C0, second to last >= E0, third
// to last >= F0).
DATA end32<>+0(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end32<>+8(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end32<>+16(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end32<>+24(SB)/8, $0xBFDFEFFFFFFFFFFF
GLOBL end32<>(SB), RODATA|NOPTR, $32

// The same for a 64-byte vector.
DATA end64<>+0(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end64<>+8(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end64<>+16(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end64<>+24(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end64<>+32(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end64<>+40(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end64<>+48(SB)/8, $0xFFFFFFFFFFFFFFFF
DATA end64<>+56(SB)/8, $0xBFDFEFFFFFFFFFFF
GLOBL end64<>(SB), RODATA|NOPTR, $64

// VPSHUFB controls: the 16 bytes at shift16+d move a vector down by d bytes
// (1 <= d <= 16), filling with zeros.
DATA shift16<>+0(SB)/8, $0x0706050403020100
DATA shift16<>+8(SB)/8, $0x0F0E0D0C0B0A0908
DATA shift16<>+16(SB)/8, $0x8080808080808080
DATA shift16<>+24(SB)/8, $0x8080808080808080
GLOBL shift16<>(SB), RODATA|NOPTR, $32

// The words 0 to 32, for the VPERMW indexes of avx512_tail_back (a 64-byte
// load at +0 gives 0..31, at +2 gives 1..32).
DATA iota16<>+0(SB)/8, $0x0003000200010000
DATA iota16<>+8(SB)/8, $0x0007000600050004
DATA iota16<>+16(SB)/8, $0x000B000A00090008
DATA iota16<>+24(SB)/8, $0x000F000E000D000C
DATA iota16<>+32(SB)/8, $0x0013001200110010
DATA iota16<>+40(SB)/8, $0x0017001600150014
DATA iota16<>+48(SB)/8, $0x001B001A00190018
DATA iota16<>+56(SB)/8, $0x001F001E001D001C
DATA iota16<>+64(SB)/8, $0x0000000000000020
GLOBL iota16<>(SB), RODATA|NOPTR, $72

// CHECK32 ORs into Y14 the errors of the 32 bytes in cur, whose previous 32
// bytes are in prev. Needs Y4 = 0x0F bytes and Y5/Y6/Y7 = the H1/L1/H2 tables
// in both lanes; clobbers Y3, Y8-Y12.
//
//	Y8  = prev.hi128 : cur.lo128 (VPERM2I128), so that VPALIGNR can shift
//	      bytes across the lane boundary
//	Y9  = cur shifted by one byte (prev1), Y10 by two (prev2), Y11 by three
//	Y12 = H1[prev1 >> 4], Y9 = L1[prev1 & 15], Y3 = H2[cur >> 4]
//	Y9  = Y9 & Y12 & Y3: the error classes at each byte
//	Y10 = ((prev2 -us 0x60) | (prev3 -us 0x70)) & 0x80: continuation required
//	Y14 |= Y9 ^ Y10
#define CHECK32(cur, prev) \
	VPERM2I128 $0x21, cur, prev, Y8; \
	VPALIGNR   $15, Y8, cur, Y9; \
	VPALIGNR   $14, Y8, cur, Y10; \
	VPALIGNR   $13, Y8, cur, Y11; \
	VPSRLW     $4, Y9, Y12; \
	VPAND      Y4, Y12, Y12; \
	VPAND      Y4, Y9, Y9; \
	VPSRLW     $4, cur, Y3; \
	VPAND      Y4, Y3, Y3; \
	VPSHUFB    Y12, Y5, Y12; \
	VPSHUFB    Y9, Y6, Y9; \
	VPSHUFB    Y3, Y7, Y3; \
	VPAND      Y12, Y9, Y9; \
	VPAND      Y3, Y9, Y9; \
	VPSUBUSB   sub3<>(SB), Y10, Y10; \
	VPSUBUSB   sub4<>(SB), Y11, Y11; \
	VPOR       Y10, Y11, Y10; \
	VPAND      msb<>(SB), Y10, Y10; \
	VPXOR      Y10, Y9, Y9; \
	VPOR       Y9, Y14, Y14

// func validAVX2(p []byte) bool
//
// Registers:
//	SI  next input byte          CX  bytes left
//	Y0, Y1  the current 64-byte block
//	Y4  0x0F bytes  Y5 H1  Y6 L1  Y7 H2 (tables in both lanes)
//	Y13 previous 32 bytes (zero after an ASCII block)
//	Y14 error accumulator
//	Y15 end-of-block check of the last non-ASCII block
//	Y2, Y3, Y8-Y12 scratch
//	DX, BX, AX, R9, R10 the final partial block
TEXT ·validAVX2(SB), NOSPLIT, $0-25
	MOVQ p_base+0(FP), SI
	MOVQ p_len+8(FP), CX

	VMOVDQU        nib<>(SB), Y4
	VBROADCASTI128 h1tbl<>(SB), Y5
	VBROADCASTI128 l1tbl<>(SB), Y6
	VBROADCASTI128 h2tbl<>(SB), Y7
	VPXOR          Y13, Y13, Y13
	VPXOR          Y14, Y14, Y14
	VPXOR          Y15, Y15, Y15

avx2_loop:
	CMPQ    CX, $64
	JB      avx2_tail
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	ADDQ    $64, SI
	SUBQ    $64, CX

avx2_block:
	VPOR      Y0, Y1, Y2
	VPMOVMSKB Y2, AX
	TESTL     AX, AX
	JZ        avx2_ascii

	CHECK32(Y0, Y13)
	CHECK32(Y1, Y0)
	VPSUBUSB end32<>(SB), Y1, Y15
	VMOVDQA  Y1, Y13
	JMP      avx2_loop

avx2_ascii:
	// An ASCII block is valid; it only shows that a sequence left open by
	// the previous block was cut short. After it nothing is open.
	VPOR  Y15, Y14, Y14
	VPXOR Y15, Y15, Y15
	VPXOR Y13, Y13, Y13

avx2_ascii_loop:
	// 128 bytes per round while they are all ASCII. On the first byte with
	// bit 7 set, fall back to the block loop at the same position.
	CMPQ    CX, $128
	JB      avx2_loop
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VPOR    Y0, Y1, Y8
	VPOR    Y2, Y3, Y9
	VPOR    Y8, Y9, Y8
	VPTEST  msb<>(SB), Y8
	JNZ     avx2_loop
	ADDQ    $128, SI
	SUBQ    $128, CX
	JMP     avx2_ascii_loop

avx2_tail:
	// 0 <= CX < 64 bytes left. Build the last block in Y0 and Y1 from loads
	// that stay inside the input, with zeros after its end, and run it as
	// the last block: a whole vector load for the first 32 bytes when there
	// are that many, and the partial vector from avx2_partial.
	TESTQ   CX, CX
	JZ      avx2_done
	VPXOR   Y1, Y1, Y1
	MOVQ    SI, DX
	MOVQ    CX, BX
	CMPQ    CX, $32
	JB      avx2_partial
	VMOVDQU (SI), Y0
	ADDQ    $32, DX
	SUBQ    $32, BX
	JZ      avx2_last
	JMP     avx2_partial

avx2_partial_done:
	CMPQ    CX, $32
	JB      avx2_partial_low
	VMOVDQA Y2, Y1
	JMP     avx2_last

avx2_partial_low:
	VMOVDQA Y2, Y0

avx2_last:
	XORL CX, CX // nothing left: the loop ends after this block
	JMP  avx2_block

avx2_partial:
	// Y2 = the BX bytes at DX (1 <= BX <= 31) followed by zeros, read with
	// overlapping loads inside those bytes and shifted into place, so that
	// no store has to be forwarded to a vector load.
	// Clobbers AX, R9, R10, Y3, Y8.
	CMPQ BX, $16
	JAE  avx2_partial16
	CMPQ BX, $9
	JAE  avx2_partial9
	CMPQ BX, $4
	JAE  avx2_partial4

	// 1 to 3 bytes.
	MOVBLZX (DX), AX
	CMPQ    BX, $2
	JB      avx2_partial_gpr
	MOVWLZX (DX), AX
	JE      avx2_partial_gpr
	MOVBLZX 2(DX), R9
	SHLL    $16, R9
	ORL     R9, AX
	JMP     avx2_partial_gpr

avx2_partial4:
	// 4 to 8 bytes: bytes 0-3, and bytes BX-4 to BX-1 shifted up into
	// place (the overlap ORs equal bytes).
	MOVL  (DX), AX
	MOVL  -4(DX)(BX*1), R9
	LEAQ  -32(BX*8), R10
	SHLXQ R10, R9, R9
	ORQ   R9, AX

avx2_partial_gpr:
	VMOVQ AX, X2
	JMP   avx2_partial_done

avx2_partial9:
	// 9 to 15 bytes: bytes 0-7, and bytes BX-8 to BX-1 shifted down by
	// 16-BX bytes to fill bytes 8 to BX-1.
	MOVQ    (DX), AX
	MOVQ    -8(DX)(BX*1), R9
	MOVL    $16, R10
	SUBL    BX, R10
	SHLL    $3, R10
	SHRXQ   R10, R9, R9
	VMOVQ   AX, X2
	VPINSRQ $1, R9, X2, X2
	JMP     avx2_partial_done

avx2_partial16:
	// 16 to 31 bytes: bytes 0-15, and bytes BX-16 to BX-1 moved down by
	// 32-BX bytes (with VPSHUFB and a window into shift16) to fill bytes
	// 16 to BX-1.
	VMOVDQU     (DX), X2
	VMOVDQU     -16(DX)(BX*1), X3
	LEAQ        shift16<>(SB), R10
	MOVL        $32, R9
	SUBL        BX, R9
	VMOVDQU     (R10)(R9*1), X8
	VPSHUFB     X8, X3, X3
	VINSERTI128 $1, X3, Y2, Y2
	JMP         avx2_partial_done

avx2_done:
	VPOR       Y15, Y14, Y14
	VPTEST     Y14, Y14
	SETEQ      ret+24(FP)
	VZEROUPPER
	RET

// CHECK64 ORs into Z14 the errors of the 64 bytes in cur, whose previous 64
// bytes are in prev. Needs Z4 = 0x0F bytes, Z5/Z6/Z7 = the H1/L1/H2 tables in
// every lane, Z16 = 0x60 bytes, Z17 = 0x70, Z18 = 0x80; clobbers Z8-Z13.
//
//	Z8  = prev lane 3 : cur lanes 0-2 (VALIGNQ by 6 quadwords), so that
//	      VPALIGNR can shift bytes across lane boundaries
//	Z9  = cur shifted by one byte (prev1), Z10 by two (prev2), Z11 by three
//	Z12 = H1[prev1 >> 4], Z9 = L1[prev1 & 15], Z13 = H2[cur >> 4]
//	Z9  = Z9 & Z12 & Z13 (VPTERNLOGD 0x80): the error classes at each byte
//	Z10 = ((prev2 -us 0x60) | (prev3 -us 0x70)) & 0x80 (0xA8): continuation
//	      required
//	Z14 |= Z10 ^ Z9 (0xF6)
#define CHECK64(cur, prev) \
	VALIGNQ    $6, prev, cur, Z8; \
	VPALIGNR   $15, Z8, cur, Z9; \
	VPALIGNR   $14, Z8, cur, Z10; \
	VPALIGNR   $13, Z8, cur, Z11; \
	VPSRLW     $4, Z9, Z12; \
	VPANDQ     Z4, Z12, Z12; \
	VPANDQ     Z4, Z9, Z9; \
	VPSRLW     $4, cur, Z13; \
	VPANDQ     Z4, Z13, Z13; \
	VPSHUFB    Z12, Z5, Z12; \
	VPSHUFB    Z9, Z6, Z9; \
	VPSHUFB    Z13, Z7, Z13; \
	VPTERNLOGD $0x80, Z13, Z12, Z9; \
	VPSUBUSB   Z16, Z10, Z10; \
	VPSUBUSB   Z17, Z11, Z11; \
	VPTERNLOGD $0xA8, Z18, Z11, Z10; \
	VPTERNLOGD $0xF6, Z9, Z10, Z14

// func validAVX512(p []byte) bool
//
// Uses AVX-512 F and BW only (and BMI2 for the tail mask and shift).
//
// Registers:
//	SI  next input byte          CX  bytes left
//	Z0  the current 64-byte block (Z1, Z2 in the ASCII loop)
//	Z4  0x0F bytes  Z5 H1  Z6 L1  Z7 H2 (tables in every lane)
//	Z16 0x60 bytes  Z17 0x70 bytes  Z18 0x80 bytes
//	Z3  previous 64 bytes (zero after an ASCII block)
//	Z14 error accumulator
//	Z15 end-of-block check of the last non-ASCII block
//	Z8-Z13 scratch, K1 scratch, K2 tail mask
//	Z19-Z23, AX, BX, DX scratch in avx512_tail_back
TEXT ·validAVX512(SB), NOSPLIT, $0-25
	MOVQ p_base+0(FP), SI
	MOVQ p_len+8(FP), CX

	VBROADCASTI32X4 h1tbl<>(SB), Z5
	VBROADCASTI32X4 l1tbl<>(SB), Z6
	VBROADCASTI32X4 h2tbl<>(SB), Z7
	VBROADCASTI32X4 nib<>(SB), Z4
	VBROADCASTI32X4 sub3<>(SB), Z16
	VBROADCASTI32X4 sub4<>(SB), Z17
	VBROADCASTI32X4 msb<>(SB), Z18
	VPXORQ          Z3, Z3, Z3
	VPXORQ          Z14, Z14, Z14
	VPXORQ          Z15, Z15, Z15

avx512_loop:
	CMPQ      CX, $64
	JB        avx512_tail
	VMOVDQU64 (SI), Z0
	ADDQ      $64, SI
	SUBQ      $64, CX

avx512_block:
	VPMOVB2M Z0, K1
	KORTESTQ K1, K1
	JZ       avx512_ascii

	CHECK64(Z0, Z3)
	VPSUBUSB  end64<>(SB), Z0, Z15
	VMOVDQA64 Z0, Z3
	JMP       avx512_loop

avx512_ascii:
	// An ASCII block is valid; it only shows that a sequence left open by
	// the previous block was cut short. After it nothing is open.
	VPORQ  Z15, Z14, Z14
	VPXORQ Z15, Z15, Z15
	VPXORQ Z3, Z3, Z3

avx512_ascii_loop:
	// 128 bytes per round while they are all ASCII. On the first byte with
	// bit 7 set, fall back to the block loop at the same position.
	CMPQ      CX, $128
	JB        avx512_loop
	VMOVDQU64 (SI), Z1
	VPORQ     64(SI), Z1, Z2
	VPMOVB2M  Z2, K1
	KORTESTQ  K1, K1
	JNZ       avx512_loop
	ADDQ      $128, SI
	SUBQ      $128, CX
	JMP       avx512_ascii_loop

avx512_tail:
	// 0 <= CX < 64 bytes left: load just them, zeroing the rest of the
	// vector (masked-off bytes are not read and cannot fault), and run that
	// as the last block.
	//
	// A masked-off byte in a page that is not accessible does not fault,
	// but the CPU suppresses the fault in microcode, at hundreds of
	// nanoseconds per load. So the 64-byte window of the load must stay in
	// pages that hold input bytes: [SI, SI+64) does when it does not leave
	// the page of SI, which is sure when SI & 4095 < 4096-64, that is when
	// bits 6 to 11 of SI are not all set; otherwise the window that ends
	// with the input, [SI+CX-64, SI+CX), does (it starts in the page of SI
	// and ends at the last input byte), and avx512_tail_back uses it.
	TESTQ      CX, CX
	JZ         avx512_done
	MOVL       SI, AX
	NOTL       AX
	TESTL      $0xFC0, AX
	JZ         avx512_tail_back
	MOVQ       $-1, AX
	BZHIQ      CX, AX, AX
	KMOVQ      AX, K2
	VMOVDQU8.Z (SI), K2, Z0

avx512_last:
	XORL CX, CX // nothing left: the loop ends after this block
	JMP  avx512_block

avx512_tail_back:
	// Load the CX bytes into the top of Z0 (bytes s to 63, s = 64-CX,
	// 1 <= s <= 63), zeros below, and move them down by s bytes, so that
	// Z0 is what the forward load would have given: with k = s>>1,
	//
	//	A = Z0 moved down by k words, B = by k+1 words (VPERMW)
	//	s even: Z0 = A
	//	s odd:  Z0 = A>>8 | B<<8 in each word
	//
	// computed without a branch as (A >>v t) | (B <<v 16-t), t = 8*(s&1)
	// (a word shifted by 16 is zero). VPERMW takes word indexes mod 32;
	// the indexes that wrap pick words below word k+1, whose used bytes are
	// below byte s and so zero.
	MOVL         $64, BX
	SUBL         CX, BX             // BX = s
	MOVQ         $-1, AX
	SHLXQ        BX, AX, AX
	KMOVQ        AX, K2
	VMOVDQU8.Z   -64(SI)(CX*1), K2, Z0
	MOVL         BX, AX
	SHRL         $1, AX             // AX = k
	VPBROADCASTW AX, Z19
	VPADDW       iota16<>(SB), Z19, Z20
	VPADDW       iota16<>+2(SB), Z19, Z21
	VPERMW       Z0, Z20, Z20       // A
	VPERMW       Z0, Z21, Z21       // B
	ANDL         $1, BX
	SHLL         $3, BX             // BX = t
	MOVL         $16, DX
	SUBL         BX, DX             // DX = 16-t
	VPBROADCASTW BX, Z22
	VPBROADCASTW DX, Z23
	VPSRLVW      Z22, Z20, Z20
	VPSLLVW      Z23, Z21, Z21
	VPORQ        Z20, Z21, Z0
	JMP          avx512_last

avx512_done:
	VPORQ      Z15, Z14, Z14
	VPTESTMQ   Z14, Z14, K1
	KORTESTW   K1, K1
	SETEQ      ret+24(FP)
	VZEROUPPER
	RET

// func unmaskValidAVX512(p []byte, key uint32) bool
//
// validAVX512 fused with the WebSocket unmasking of mask_amd64.s: byte i of p
// is XORed in place with byte i&3 of key (the low byte of key masks p[0]), and
// the result reports whether the unmasked p is valid UTF-8. Each block is
// loaded once, XORed with the broadcast key in a register, stored back to the
// same address and validated from the register, so no vector load waits on a
// store the kernel itself has just made. p is fully unmasked whatever its
// validity; no byte outside p is read or written.
//
// Blocks and checks are those of validAVX512, with these differences:
//
//   - The 128-byte ASCII loop XORs and stores both vectors before testing
//     them; when they are not all ASCII it runs them both through CHECK64
//     (they cannot be reloaded: they are unmasked already) and goes back to
//     the block loop after them.
//   - The final partial block is stored with the same mask as its load, so
//     the window rule of validAVX512's tail applies to the store too. Its
//     key is zeroed outside the mask first, so that the bytes outside p stay
//     zero (ASCII) after the XOR. In the backward window [SI+CX-64, SI+CX) the mask leaves
//     out the bytes before SI (already done, or not p's), and the window
//     starts 64-CX bytes before SI, a key phase of CX&3: the key is rotated
//     right by 8*(CX&3) bits for it.
//
// Full blocks are loaded and stored wherever p puts them, aligned or not: on
// AMD Zen 5, starting with a masked head block up to a 64-byte boundary, so
// that no store splits a cache line, made no measurable difference from 1 to
// 64 KiB.
//
// Uses AVX-512 F and BW only, and BMI2.
//
// Registers (as validAVX512, plus):
//	R10  key | key<<32 (SI stays at a multiple of 64 bytes from p[0], at key
//	     phase 0, until the final block)
//	Z24  key broadcast to every dword
//	Z25  the key of the final block, zero outside its mask
//	DI   start of the backward window
TEXT ·unmaskValidAVX512(SB), NOSPLIT, $0-33
	MOVQ         p_base+0(FP), SI
	MOVQ         p_len+8(FP), CX
	MOVL         key+24(FP), AX
	MOVQ         AX, R10
	SHLQ         $32, R10
	ORQ          AX, R10
	VPBROADCASTD AX, Z24

	VBROADCASTI32X4 h1tbl<>(SB), Z5
	VBROADCASTI32X4 l1tbl<>(SB), Z6
	VBROADCASTI32X4 h2tbl<>(SB), Z7
	VBROADCASTI32X4 nib<>(SB), Z4
	VBROADCASTI32X4 sub3<>(SB), Z16
	VBROADCASTI32X4 sub4<>(SB), Z17
	VBROADCASTI32X4 msb<>(SB), Z18
	VPXORQ          Z3, Z3, Z3
	VPXORQ          Z14, Z14, Z14
	VPXORQ          Z15, Z15, Z15

fused_loop:
	CMPQ      CX, $64
	JB        fused_tail
	VPXORD    (SI), Z24, Z0
	VMOVDQU64 Z0, (SI)
	ADDQ      $64, SI
	SUBQ      $64, CX

fused_block:
	VPMOVB2M Z0, K1
	KORTESTQ K1, K1
	JZ       fused_ascii

	CHECK64(Z0, Z3)
	VPSUBUSB  end64<>(SB), Z0, Z15
	VMOVDQA64 Z0, Z3
	JMP       fused_loop

fused_ascii:
	// As avx512_ascii: an ASCII block only shows whether a sequence left
	// open by the previous block was cut short.
	VPORQ  Z15, Z14, Z14
	VPXORQ Z15, Z15, Z15
	VPXORQ Z3, Z3, Z3

fused_ascii_loop:
	// 128 bytes per round, unmasked and stored, while they are all ASCII.
	CMPQ      CX, $128
	JB        fused_loop
	VPXORD    (SI), Z24, Z1
	VPXORD    64(SI), Z24, Z2
	VMOVDQU64 Z1, (SI)
	VMOVDQU64 Z2, 64(SI)
	ADDQ      $128, SI
	SUBQ      $128, CX
	VPORQ     Z1, Z2, Z9
	VPMOVB2M  Z9, K1
	KORTESTQ  K1, K1
	JZ        fused_ascii_loop

	// Not all ASCII: check both blocks (Z3 is zero, as after an ASCII
	// block), then go on with the block loop.
	CHECK64(Z1, Z3)
	CHECK64(Z2, Z1)
	VPSUBUSB  end64<>(SB), Z2, Z15
	VMOVDQA64 Z2, Z3
	JMP       fused_loop

fused_tail:
	// 0 <= CX < 64 bytes left; the window rule of avx512_tail.
	TESTQ      CX, CX
	JZ         fused_done
	MOVL       SI, AX
	NOTL       AX
	TESTL      $0xFC0, AX
	JZ         fused_tail_back
	MOVQ       $-1, AX
	BZHIQ      CX, AX, AX
	KMOVQ      AX, K2
	VMOVDQU8.Z Z24, K2, Z25
	VMOVDQU8.Z (SI), K2, Z0
	VPXORD     Z25, Z0, Z0
	VMOVDQU8   Z0, K2, (SI)

fused_last:
	XORL CX, CX // nothing left: the loop ends after this block
	JMP  fused_block

fused_tail_back:
	// The window [SI+CX-64, SI+CX), bytes s = 64-CX to 63 (K2), key phase
	// CX&3; then move the bytes down by s as avx512_tail_back does.
	MOVL         $64, BX
	SUBL         CX, BX             // BX = s
	MOVQ         $-1, AX
	SHLXQ        BX, AX, AX
	KMOVQ        AX, K2
	MOVL         CX, DX
	ANDL         $3, DX
	SHLL         $3, DX
	SHRXQ        DX, R10, AX
	VPBROADCASTD AX, Z25
	VMOVDQU8.Z   Z25, K2, Z25
	LEAQ         -64(SI)(CX*1), DI
	VMOVDQU8.Z   (DI), K2, Z0
	VPXORD       Z25, Z0, Z0
	VMOVDQU8     Z0, K2, (DI)
	MOVL         BX, AX
	SHRL         $1, AX             // AX = k
	VPBROADCASTW AX, Z19
	VPADDW       iota16<>(SB), Z19, Z20
	VPADDW       iota16<>+2(SB), Z19, Z21
	VPERMW       Z0, Z20, Z20       // A
	VPERMW       Z0, Z21, Z21       // B
	ANDL         $1, BX
	SHLL         $3, BX             // BX = t
	MOVL         $16, DX
	SUBL         BX, DX             // DX = 16-t
	VPBROADCASTW BX, Z22
	VPBROADCASTW DX, Z23
	VPSRLVW      Z22, Z20, Z20
	VPSLLVW      Z23, Z21, Z21
	VPORQ        Z20, Z21, Z0
	JMP          fused_last

fused_done:
	VPORQ      Z15, Z14, Z14
	VPTESTMQ   Z14, Z14, K1
	KORTESTW   K1, K1
	SETEQ      ret+32(FP)
	VZEROUPPER
	RET
