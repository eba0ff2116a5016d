//go:build !noasm

#include "textflag.h"

// Constants of the Cephes single-precision exponential (see expf.go).
DATA expconst<>+0(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expconst<>+4(SB)/4, $0x3f318000  // C1 = 0.693359375
DATA expconst<>+8(SB)/4, $0xb95e8083  // C2 = -2.12194440e-4
DATA expconst<>+12(SB)/4, $0x39506967 // p0
DATA expconst<>+16(SB)/4, $0x3ab743ce // p1
DATA expconst<>+20(SB)/4, $0x3c088908 // p2
DATA expconst<>+24(SB)/4, $0x3d2aa9c1 // p3
DATA expconst<>+28(SB)/4, $0x3e2aaaaa // p4
DATA expconst<>+32(SB)/4, $0x3f000000 // p5 = 0.5
DATA expconst<>+36(SB)/4, $0x3f800000 // 1
DATA expconst<>+40(SB)/4, $0xc2aeac50 // lowest argument, ln(smallest normal)
DATA expconst<>+44(SB)/4, $127        // exponent bias
DATA expconst<>+48(SB)/4, $0xff800000 // -Inf
GLOBL expconst<>(SB), RODATA|NOPTR, $52

// The exponential of both kernels below, as macros so that they share one
// copy. EXP_SETUP loads the constants (AX = expconst, Y10..Y14) and clears
// the sum Y9. EXP_SHIFTED sets Y3 = exp(Y0 - Y15) with x = Y0 - Y15 clamped
// below, n = round(x*log2e), r = x - n*C1 - n*C2, y = poly(r)*r*r + r + 1,
// times 2^n (Y0..Y5 are scratch).
#define EXP_SETUP \
	LEAQ expconst<>(SB), AX; \
	VBROADCASTSS 0(AX), Y14; \
	VBROADCASTSS 4(AX), Y13; \
	VBROADCASTSS 8(AX), Y12; \
	VBROADCASTSS 40(AX), Y11; \
	VPBROADCASTD 44(AX), Y10; \
	VXORPS Y9, Y9, Y9

#define EXP_SHIFTED \
	VSUBPS Y15, Y0, Y0; \
	VMAXPS Y11, Y0, Y0; \
	VMULPS Y14, Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VFNMADD231PS Y13, Y1, Y0; \
	VFNMADD231PS Y12, Y1, Y0; \
	VMULPS Y0, Y0, Y2; \
	VBROADCASTSS 12(AX), Y3; \
	VBROADCASTSS 16(AX), Y4; \
	VFMADD213PS Y4, Y0, Y3; \
	VBROADCASTSS 20(AX), Y4; \
	VFMADD213PS Y4, Y0, Y3; \
	VBROADCASTSS 24(AX), Y4; \
	VFMADD213PS Y4, Y0, Y3; \
	VBROADCASTSS 28(AX), Y4; \
	VFMADD213PS Y4, Y0, Y3; \
	VBROADCASTSS 32(AX), Y4; \
	VFMADD213PS Y4, Y0, Y3; \
	VFMADD213PS Y0, Y2, Y3; \
	VBROADCASTSS 36(AX), Y4; \
	VADDPS Y4, Y3, Y3; \
	VCVTPS2DQ Y1, Y5; \
	VPADDD Y10, Y5, Y5; \
	VPSLLD $23, Y5, Y5; \
	VMULPS Y5, Y3, Y3

// func scoresBlocksAVX2(s, q, kt *float32, blocks, u, dh int) float32
// s[j] = sum_k q[k]*kt[k*u+j] for j < 8*blocks, four blocks at a time;
// returns the largest s[j].
TEXT ·scoresBlocksAVX2(SB), NOSPLIT, $0-52
	LEAQ expconst<>(SB), AX
	VBROADCASTSS 48(AX), Y5
	MOVQ s+0(FP), DI
	MOVQ q+8(FP), DX
	MOVQ kt+16(FP), SI
	MOVQ blocks+24(FP), R9
	MOVQ u+32(FP), R8
	SHLQ $2, R8
	MOVQ dh+40(FP), R10

quad:
	CMPQ R9, $4
	JLT  single
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R11
	MOVQ DX, R12
	MOVQ R10, CX

quadk:
	VBROADCASTSS (R12), Y4
	VFMADD231PS  (R11), Y4, Y0
	VFMADD231PS  32(R11), Y4, Y1
	VFMADD231PS  64(R11), Y4, Y2
	VFMADD231PS  96(R11), Y4, Y3
	ADDQ R8, R11
	ADDQ $4, R12
	DECQ CX
	JNZ  quadk
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMAXPS Y0, Y5, Y5
	VMAXPS Y1, Y5, Y5
	VMAXPS Y2, Y5, Y5
	VMAXPS Y3, Y5, Y5
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $4, R9
	JMP  quad

single:
	TESTQ R9, R9
	JZ    done
	VXORPS Y0, Y0, Y0
	MOVQ SI, R11
	MOVQ DX, R12
	MOVQ R10, CX

singlek:
	VBROADCASTSS (R12), Y4
	VFMADD231PS  (R11), Y4, Y0
	ADDQ R8, R11
	ADDQ $4, R12
	DECQ CX
	JNZ  singlek
	VMOVUPS Y0, (DI)
	VMAXPS Y0, Y5, Y5
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ R9
	JMP  single

done:
	VEXTRACTF128 $1, Y5, X1
	VMAXPS X1, X5, X5
	VPERMILPS $0x4E, X5, X1
	VMAXPS X1, X5, X5
	VPERMILPS $0xB1, X5, X1
	VMAXPS X1, X5, X5
	MOVSS X5, ret+48(FP)
	VZEROUPPER
	RET

// func expShiftBlocksAVX2(s, count *float32, blocks int, mx float32) float32
// s[j] = count[j]*exp(s[j]-mx) for j < 8*blocks; returns the sum.
TEXT ·expShiftBlocksAVX2(SB), NOSPLIT, $0-36
	MOVQ s+0(FP), DI
	MOVQ count+8(FP), SI
	MOVQ blocks+16(FP), CX
	VBROADCASTSS mx+24(FP), Y15
	EXP_SETUP

loop:
	VMOVUPS (DI), Y0
	EXP_SHIFTED
	VMULPS  (SI), Y3, Y3     // * count
	VMOVUPS Y3, (DI)
	VADDPS  Y3, Y9, Y9
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JNZ  loop

	VEXTRACTF128 $1, Y9, X1
	VADDPS X1, X9, X9
	VHADDPS X9, X9, X9
	VHADDPS X9, X9, X9
	MOVSS X9, ret+32(FP)
	VZEROUPPER
	RET

// func dotBlocksAVX2(x, y *float32, blocks int) float32
TEXT ·dotBlocksAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ blocks+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dquad:
	CMPQ CX, $4
	JLT  dsingle
	VMOVUPS (DI), Y4
	VMOVUPS 32(DI), Y5
	VMOVUPS 64(DI), Y6
	VMOVUPS 96(DI), Y7
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	VFMADD231PS 64(SI), Y6, Y2
	VFMADD231PS 96(SI), Y7, Y3
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $4, CX
	JMP  dquad

dsingle:
	TESTQ CX, CX
	JZ    dsum
	VMOVUPS (DI), Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JMP  dsingle

dsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dot4BlocksAVX2(out, p, vt *float32, blocks, u int)
// out[r] = sum_{j < 8*blocks} p[j]*vt[r*u+j] for r < 4: four dot products
// that share the vector p, loaded once per block.
TEXT ·dot4BlocksAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ vt+16(FP), DX
	MOVQ blocks+24(FP), CX
	MOVQ u+32(FP), R8
	SHLQ $2, R8
	LEAQ (DX)(R8*1), R9      // row 1
	LEAQ (R9)(R8*1), R10     // row 2
	LEAQ (R10)(R8*1), R11    // row 3
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

d4loop:
	VMOVUPS (SI), Y4
	VFMADD231PS (DX), Y4, Y0
	VFMADD231PS (R9), Y4, Y1
	VFMADD231PS (R10), Y4, Y2
	VFMADD231PS (R11), Y4, Y3
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNZ  d4loop

	// Horizontal sums: reduce each accumulator to one float.
	VHADDPS Y1, Y0, Y0       // [a01 a23 b01 b23 | a45 a67 b45 b67]
	VHADDPS Y3, Y2, Y2       // same for rows 2, 3
	VHADDPS Y2, Y0, Y0       // [a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7]
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0        // [a b c d]
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func scores2BlocksAVX2(s0, s1, q0, q1, kt *float32, blocks, u, dh int) (mx0, mx1 float32)
// Two queries at once: s0[j] = sum_k q0[k]*kt[k*u+j] and likewise s1 with
// q1, for j < 8*blocks, so each loaded key vector serves both queries.
// Returns the largest s0[j] and the largest s1[j].
TEXT ·scores2BlocksAVX2(SB), NOSPLIT, $0-72
	LEAQ expconst<>(SB), AX
	VBROADCASTSS 48(AX), Y14
	VBROADCASTSS 48(AX), Y15
	MOVQ s0+0(FP), DI
	MOVQ s1+8(FP), BX
	MOVQ q0+16(FP), DX
	MOVQ q1+24(FP), R13
	MOVQ kt+32(FP), SI
	MOVQ blocks+40(FP), R9
	MOVQ u+48(FP), R8
	SHLQ $2, R8
	MOVQ dh+56(FP), R10

pquad:
	CMPQ R9, $4
	JLT  psingle
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, R11
	XORQ R12, R12
	MOVQ R10, CX

pquadk:
	VMOVUPS (R11), Y8
	VMOVUPS 32(R11), Y9
	VMOVUPS 64(R11), Y10
	VMOVUPS 96(R11), Y11
	VBROADCASTSS (DX)(R12*4), Y12
	VBROADCASTSS (R13)(R12*4), Y13
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y11, Y12, Y3
	VFMADD231PS Y8, Y13, Y4
	VFMADD231PS Y9, Y13, Y5
	VFMADD231PS Y10, Y13, Y6
	VFMADD231PS Y11, Y13, Y7
	ADDQ R8, R11
	INCQ R12
	DECQ CX
	JNZ  pquadk
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, (BX)
	VMOVUPS Y5, 32(BX)
	VMOVUPS Y6, 64(BX)
	VMOVUPS Y7, 96(BX)
	VMAXPS Y0, Y14, Y14
	VMAXPS Y1, Y14, Y14
	VMAXPS Y2, Y14, Y14
	VMAXPS Y3, Y14, Y14
	VMAXPS Y4, Y15, Y15
	VMAXPS Y5, Y15, Y15
	VMAXPS Y6, Y15, Y15
	VMAXPS Y7, Y15, Y15
	ADDQ $128, DI
	ADDQ $128, BX
	ADDQ $128, SI
	SUBQ $4, R9
	JMP  pquad

psingle:
	TESTQ R9, R9
	JZ    pdone
	VXORPS Y0, Y0, Y0
	VXORPS Y4, Y4, Y4
	MOVQ SI, R11
	XORQ R12, R12
	MOVQ R10, CX

psinglek:
	VMOVUPS (R11), Y8
	VBROADCASTSS (DX)(R12*4), Y12
	VBROADCASTSS (R13)(R12*4), Y13
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y8, Y13, Y4
	ADDQ R8, R11
	INCQ R12
	DECQ CX
	JNZ  psinglek
	VMOVUPS Y0, (DI)
	VMOVUPS Y4, (BX)
	VMAXPS Y0, Y14, Y14
	VMAXPS Y4, Y15, Y15
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $32, SI
	DECQ R9
	JMP  psingle

pdone:
	VEXTRACTF128 $1, Y14, X1
	VMAXPS X1, X14, X14
	VPERMILPS $0x4E, X14, X1
	VMAXPS X1, X14, X14
	VPERMILPS $0xB1, X14, X1
	VMAXPS X1, X14, X14
	MOVSS X14, mx0+64(FP)
	VEXTRACTF128 $1, Y15, X1
	VMAXPS X1, X15, X15
	VPERMILPS $0x4E, X15, X1
	VMAXPS X1, X15, X15
	VPERMILPS $0xB1, X15, X1
	VMAXPS X1, X15, X15
	MOVSS X15, mx1+68(FP)
	VZEROUPPER
	RET

// func axpyBlocksAVX2(a float32, x, y *float32, blocks int)
// y[i] += a*x[i] for i < 8*blocks.
TEXT ·axpyBlocksAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y15
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ blocks+24(FP), CX

aquad:
	CMPQ CX, $4
	JLT  asingle
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VFMADD231PS (SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 64(SI), Y15, Y2
	VFMADD231PS 96(SI), Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $4, CX
	JMP  aquad

asingle:
	TESTQ CX, CX
	JZ    adone
	VMOVUPS (DI), Y0
	VFMADD231PS (SI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JMP  asingle

adone:
	VZEROUPPER
	RET

// func expSubBlocksAVX2(s *float32, blocks int, mx float32) float32
// s[j] = exp(s[j]-mx) for j < 8*blocks; returns the sum. The same
// polynomial as expShiftBlocksAVX2, without the counts.
TEXT ·expSubBlocksAVX2(SB), NOSPLIT, $0-28
	MOVQ s+0(FP), DI
	MOVQ blocks+8(FP), CX
	VBROADCASTSS mx+16(FP), Y15
	EXP_SETUP

eloop:
	VMOVUPS (DI), Y0
	EXP_SHIFTED
	VMOVUPS Y3, (DI)
	VADDPS  Y3, Y9, Y9
	ADDQ $32, DI
	DECQ CX
	JNZ  eloop

	VEXTRACTF128 $1, Y9, X1
	VADDPS X1, X9, X9
	VHADDPS X9, X9, X9
	VHADDPS X9, X9, X9
	MOVSS X9, ret+24(FP)
	VZEROUPPER
	RET
