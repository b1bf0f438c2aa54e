//go:build !purego && gc

#include "textflag.h"

// ROTATE_KEY_BY(r) rotates the key in AX right by 8*(r&3) bits, so that its
// low byte is the one that masks a byte r positions further on. Clobbers r,
// R8 and R9. (SHLX takes its count mod 32, so phase 0 leaves AX as it is.)
#define ROTATE_KEY_BY(r) \
	ANDL  $3, r     \
	SHLL  $3, r     \
	MOVL  $32, R8   \
	SUBL  r, R8     \
	SHRXL r, AX, R9 \
	SHLXL R8, AX, AX \
	ORL   R9, AX

// XOR masking kernels for amd64. Contract (shared by all three):
//
//	for i in [0, len(b)): b[i] ^= byte(key >> (8*(i%4)))
//
// Every byte of b is read and written exactly once and no byte outside
// b[0:len(b)] is touched. Every step before the final 1–3 bytes covers a
// multiple of 4 bytes, so the key phase stays at 0 until then and one
// broadcast key register serves the whole buffer.

// func xorAVX512(b []byte, key uint32)
//
// Needs AVX-512 F/BW/VL and BMI2.
//
// Registers:
//	SI     pointer to the next unprocessed byte
//	CX     bytes left
//	AX     key (rotated after the alignment head)
//	DX     head length, then tail byte mask (BZHI or shifted)
//	R8-R9  scratch for the head mask and the key rotation
//	Z0     key broadcast to 16 dwords
//	Z1-Z4  data
//	K1     byte mask of the head or of the final 0..64 bytes
//
// Up to 64 bytes (the common WebSocket case) take only the masked path: one
// masked load, XOR and masked store. Masked-off bytes are neither loaded nor
// stored, and the masked load suppresses faults on them, so the kernel never
// touches memory outside b; the window is also placed so that it never
// reaches into a page without bytes of b (see avx512_tail), where the
// suppressed fault would cost a slow microcode assist. Buffers of 1 KiB or more first XOR the bytes up
// to a 64-byte boundary (a masked operation), then run aligned.
TEXT ·xorAVX512(SB), NOSPLIT, $0-28
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	MOVL key+24(FP), AX
	VPBROADCASTD AX, Z0
	CMPQ CX, $64
	JBE  avx512_tail
	CMPQ CX, $1024
	JB   avx512_big

	// At least 1 KiB: XOR the 0..63 bytes up to the next 64-byte boundary
	// with one masked operation, so that every full-vector load and store
	// below is aligned and none splits a cache line. The head shifts the key
	// phase by DX&3 bytes: rotate the key right by 8*(DX&3) bits and
	// broadcast it again.
	MOVQ         SI, DX
	NEGQ         DX
	ANDQ         $63, DX
	JZ           avx512_loop256
	MOVQ         $-1, R8
	BZHIQ        DX, R8, R8
	KMOVQ        R8, K1
	VMOVDQU8.Z   (SI), K1, Z1
	VPXORD       Z0, Z1, Z1
	VMOVDQU8     Z1, K1, (SI)
	ADDQ         DX, SI
	SUBQ         DX, CX
	ROTATE_KEY_BY(DX)
	VPBROADCASTD AX, Z0
	JMP          avx512_loop256

avx512_big:
	CMPQ CX, $256
	JB   avx512_loop64

avx512_loop256:
	VPXORD    (SI), Z0, Z1
	VPXORD    64(SI), Z0, Z2
	VPXORD    128(SI), Z0, Z3
	VPXORD    192(SI), Z0, Z4
	VMOVDQU64 Z1, (SI)
	VMOVDQU64 Z2, 64(SI)
	VMOVDQU64 Z3, 128(SI)
	VMOVDQU64 Z4, 192(SI)
	ADDQ      $256, SI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JAE       avx512_loop256
	CMPQ      CX, $64
	JBE       avx512_tail

avx512_loop64:
	// 64 < CX < 256
	VPXORD    (SI), Z0, Z1
	VMOVDQU64 Z1, (SI)
	ADDQ      $64, SI
	SUBQ      $64, CX
	CMPQ      CX, $64
	JA        avx512_loop64

avx512_tail:
	// 0 <= CX <= 64 bytes left at SI. Skip the masked operation when none
	// are left: even with an empty mask it can cost a microcode assist.
	TESTQ CX, CX
	JZ    avx512_done

	// A masked load or store whose 64-byte window reaches into an
	// inaccessible page (the input ending just before an unmapped or
	// read-only page) does not fault, but costs a fault-suppression assist
	// of hundreds of nanoseconds on every call. So the window must stay in
	// pages that hold bytes of b: [SI, SI+64) when it does not leave SI's
	// page; otherwise [SI+CX-64, SI+CX), which ends with b and starts after
	// the beginning of the page before b's last byte (all of it b's pages).
	MOVL SI, DX
	ANDL $4095, DX
	CMPL DX, $(4096-64)
	JA   avx512_tail_back

	// Forward window: K1 = low CX bits.
	MOVQ       $-1, DX
	BZHIQ      CX, DX, DX
	KMOVQ      DX, K1
	VMOVDQU8.Z (SI), K1, Z1
	VPXORD     Z0, Z1, Z1
	VMOVDQU8   Z1, K1, (SI)
	JMP        avx512_done

avx512_tail_back:
	// Backward window: K1 = high CX bits; the window starts 64-CX bytes
	// before SI, so its first byte has key phase (CX-64)&3 = CX&3 relative
	// to SI: rotate the key right by 8*(CX&3) bits.
	MOVL         CX, DX
	ROTATE_KEY_BY(DX)
	VPBROADCASTD AX, Z0
	MOVQ         $64, R8
	SUBQ         CX, R8
	MOVQ         $-1, DX
	SHLXQ        R8, DX, DX
	KMOVQ        DX, K1
	LEAQ         -64(SI)(CX*1), SI
	VMOVDQU8.Z   (SI), K1, Z1
	VPXORD       Z0, Z1, Z1
	VMOVDQU8     Z1, K1, (SI)

avx512_done:
	VZEROUPPER
	RET

// func xorAVX2(b []byte, key uint32)
//
// Needs AVX2.
//
// Registers:
//	SI     pointer to the next unprocessed byte
//	CX     bytes left
//	AX     key; rotated by the alignment head, shifted right during the
//	       final 1–3 bytes
//	DX     key | key<<32 for the 8-byte steps
//	Y0     key broadcast to 8 dwords (X0: its low 4 dwords)
//	Y1-Y4  data
//
// Buffers of 512 bytes or more first step up to a 32-byte boundary.
TEXT ·xorAVX2(SB), NOSPLIT, $0-28
	MOVQ         b_base+0(FP), SI
	MOVQ         b_len+8(FP), CX
	MOVL         key+24(FP), AX
	CMPQ         CX, $512
	JAE          avx2_head
	MOVQ         AX, DX
	SHLQ         $32, DX
	ORQ          AX, DX
	MOVQ         DX, X0
	VPBROADCASTQ X0, Y0
	CMPQ         CX, $128
	JB           avx2_loop32

avx2_loop128:
	VPXOR   (SI), Y0, Y1
	VPXOR   32(SI), Y0, Y2
	VPXOR   64(SI), Y0, Y3
	VPXOR   96(SI), Y0, Y4
	VMOVDQU Y1, (SI)
	VMOVDQU Y2, 32(SI)
	VMOVDQU Y3, 64(SI)
	VMOVDQU Y4, 96(SI)
	ADDQ    $128, SI
	SUBQ    $128, CX
	CMPQ    CX, $128
	JAE     avx2_loop128

avx2_loop32:
	CMPQ    CX, $32
	JB      avx2_tail16
	VPXOR   (SI), Y0, Y1
	VMOVDQU Y1, (SI)
	ADDQ    $32, SI
	SUBQ    $32, CX
	JMP     avx2_loop32

avx2_tail16:
	// CX < 32: one step for each set bit of CX, largest first.
	TESTQ   $16, CX
	JZ      avx2_tail8
	VPXOR   (SI), X0, X1
	VMOVDQU X1, (SI)
	ADDQ    $16, SI

avx2_tail8:
	TESTQ $8, CX
	JZ    avx2_tail4
	XORQ  DX, (SI)
	ADDQ  $8, SI

avx2_tail4:
	TESTQ $4, CX
	JZ    avx2_tail2
	XORL  AX, (SI)
	ADDQ  $4, SI

avx2_tail2:
	TESTQ $2, CX
	JZ    avx2_tail1
	XORW  AX, (SI)
	SHRL  $16, AX
	ADDQ  $2, SI

avx2_tail1:
	TESTQ $1, CX
	JZ    avx2_done
	XORB  AX, (SI)

avx2_done:
	VZEROUPPER
	RET

avx2_head:
	// At least 512 bytes: step 1, 2, 4, 8 and 16 bytes, as the low bits of
	// SI ask, up to a 32-byte boundary, so that the vector loads and stores
	// do not split cache lines. The 1- and 2-byte steps rotate the key.
	TESTQ        $1, SI
	JZ           avx2_head2
	XORB         AX, (SI)
	INCQ         SI
	DECQ         CX
	RORL         $8, AX

avx2_head2:
	TESTQ        $2, SI
	JZ           avx2_head4
	XORW         AX, (SI)
	ADDQ         $2, SI
	SUBQ         $2, CX
	RORL         $16, AX

avx2_head4:
	TESTQ        $4, SI
	JZ           avx2_head8
	XORL         AX, (SI)
	ADDQ         $4, SI
	SUBQ         $4, CX

avx2_head8:
	MOVQ         AX, DX
	SHLQ         $32, DX
	ORQ          AX, DX
	MOVQ         DX, X0
	VPBROADCASTQ X0, Y0
	TESTQ        $8, SI
	JZ           avx2_head16
	XORQ         DX, (SI)
	ADDQ         $8, SI
	SUBQ         $8, CX

avx2_head16:
	TESTQ        $16, SI
	JZ           avx2_loop128
	VPXOR        (SI), X0, X1
	VMOVDQU      X1, (SI)
	ADDQ         $16, SI
	SUBQ         $16, CX
	JMP          avx2_loop128

// func xorSSE2(b []byte, key uint32)
//
// Needs only the amd64 baseline (SSE2).
//
// Registers:
//	SI     pointer to the next unprocessed byte
//	CX     bytes left
//	AX     key; rotated by the alignment head, shifted right during the
//	       final 1–3 bytes
//	DX     key | key<<32 for the 8-byte steps
//	X0     key broadcast to 4 dwords
//	X1-X4  data
//
// Buffers of 512 bytes or more first step up to a 16-byte boundary.
TEXT ·xorSSE2(SB), NOSPLIT, $0-28
	MOVQ   b_base+0(FP), SI
	MOVQ   b_len+8(FP), CX
	MOVL       key+24(FP), AX
	CMPQ       CX, $512
	JAE        sse2_head
	MOVQ       AX, DX
	SHLQ       $32, DX
	ORQ        AX, DX
	MOVQ       DX, X0
	PUNPCKLQDQ X0, X0
	CMPQ       CX, $64
	JB         sse2_loop16

sse2_loop64:
	MOVOU (SI), X1
	MOVOU 16(SI), X2
	MOVOU 32(SI), X3
	MOVOU 48(SI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, (SI)
	MOVOU X2, 16(SI)
	MOVOU X3, 32(SI)
	MOVOU X4, 48(SI)
	ADDQ  $64, SI
	SUBQ  $64, CX
	CMPQ  CX, $64
	JAE   sse2_loop64

sse2_loop16:
	CMPQ  CX, $16
	JB    sse2_tail8
	MOVOU (SI), X1
	PXOR  X0, X1
	MOVOU X1, (SI)
	ADDQ  $16, SI
	SUBQ  $16, CX
	JMP   sse2_loop16

sse2_tail8:
	// CX < 16: one step for each set bit of CX, largest first.
	TESTQ $8, CX
	JZ    sse2_tail4
	XORQ  DX, (SI)
	ADDQ  $8, SI

sse2_tail4:
	TESTQ $4, CX
	JZ    sse2_tail2
	XORL  AX, (SI)
	ADDQ  $4, SI

sse2_tail2:
	TESTQ $2, CX
	JZ    sse2_tail1
	XORW  AX, (SI)
	SHRL  $16, AX
	ADDQ  $2, SI

sse2_tail1:
	TESTQ $1, CX
	JZ    sse2_done
	XORB  AX, (SI)

sse2_done:
	RET

sse2_head:
	// At least 512 bytes: step 1, 2, 4 and 8 bytes, as the low bits of SI
	// ask, up to a 16-byte boundary. The 1- and 2-byte steps rotate the key.
	TESTQ      $1, SI
	JZ         sse2_head2
	XORB       AX, (SI)
	INCQ       SI
	DECQ       CX
	RORL       $8, AX

sse2_head2:
	TESTQ      $2, SI
	JZ         sse2_head4
	XORW       AX, (SI)
	ADDQ       $2, SI
	SUBQ       $2, CX
	RORL       $16, AX

sse2_head4:
	TESTQ      $4, SI
	JZ         sse2_head8
	XORL       AX, (SI)
	ADDQ       $4, SI
	SUBQ       $4, CX

sse2_head8:
	MOVQ       AX, DX
	SHLQ       $32, DX
	ORQ        AX, DX
	MOVQ       DX, X0
	PUNPCKLQDQ X0, X0
	TESTQ      $8, SI
	JZ         sse2_loop64
	XORQ       DX, (SI)
	ADDQ       $8, SI
	SUBQ       $8, CX
	JMP        sse2_loop64
