//go:build !noasm

#include "textflag.h"

// AVX-512 kernels: the AVX2 kernels of simd_amd64.s on 16 floats per
// vector, with the exponential's constants kept in registers (Z16..Z26)
// and 2^n applied with VSCALEFPS. They use AVX512F only.

// EXP512_SETUP loads the constants of the Cephes exponential (expconst in
// simd_amd64.s, repeated here because DATA symbols are per file).
#define EXP512_SETUP \
	LEAQ exp512const<>(SB), AX; \
	VBROADCASTSS 0(AX), Z16; \
	VBROADCASTSS 4(AX), Z17; \
	VBROADCASTSS 8(AX), Z18; \
	VBROADCASTSS 40(AX), Z19; \
	VBROADCASTSS 12(AX), Z20; \
	VBROADCASTSS 16(AX), Z21; \
	VBROADCASTSS 20(AX), Z22; \
	VBROADCASTSS 24(AX), Z23; \
	VBROADCASTSS 28(AX), Z24; \
	VBROADCASTSS 32(AX), Z25; \
	VBROADCASTSS 36(AX), Z26

// EXP512 sets Z3 = exp(Z0 - Z6) (Z0..Z2 scratch), the same operations
// as EXP_SHIFTED in simd_amd64.s lane by lane.
#define EXP512 \
	VSUBPS Z6, Z0, Z0; \
	VMAXPS Z19, Z0, Z0; \
	VMULPS Z16, Z0, Z1; \
	VRNDSCALEPS $0, Z1, Z1; \
	VFNMADD231PS Z17, Z1, Z0; \
	VFNMADD231PS Z18, Z1, Z0; \
	VMULPS Z0, Z0, Z2; \
	VMOVAPS Z20, Z3; \
	VFMADD213PS Z21, Z0, Z3; \
	VFMADD213PS Z22, Z0, Z3; \
	VFMADD213PS Z23, Z0, Z3; \
	VFMADD213PS Z24, Z0, Z3; \
	VFMADD213PS Z25, Z0, Z3; \
	VFMADD213PS Z0, Z2, Z3; \
	VADDPS Z26, Z3, Z3; \
	VSCALEFPS Z1, Z3, Z3

DATA exp512const<>+0(SB)/4, $0x3fb8aa3b  // log2(e)
DATA exp512const<>+4(SB)/4, $0x3f318000  // C1 = 0.693359375
DATA exp512const<>+8(SB)/4, $0xb95e8083  // C2 = -2.12194440e-4
DATA exp512const<>+12(SB)/4, $0x39506967 // p0
DATA exp512const<>+16(SB)/4, $0x3ab743ce // p1
DATA exp512const<>+20(SB)/4, $0x3c088908 // p2
DATA exp512const<>+24(SB)/4, $0x3d2aa9c1 // p3
DATA exp512const<>+28(SB)/4, $0x3e2aaaaa // p4
DATA exp512const<>+32(SB)/4, $0x3f000000 // p5 = 0.5
DATA exp512const<>+36(SB)/4, $0x3f800000 // 1
DATA exp512const<>+40(SB)/4, $0xc2aeac50 // lowest argument, ln(smallest normal)
DATA exp512const<>+44(SB)/4, $0xff800000 // -Inf
GLOBL exp512const<>(SB), RODATA|NOPTR, $48

// HMAX512 reduces Z to its largest lane in X (Y1 scratch).
#define HMAX512(Z, Y, X) \
	VEXTRACTF64X4 $1, Z, Y1; \
	VMAXPS Y1, Y, Y; \
	VEXTRACTF128 $1, Y, X1; \
	VMAXPS X1, X, X; \
	VPERMILPS $0x4E, X, X1; \
	VMAXPS X1, X, X; \
	VPERMILPS $0xB1, X, X1; \
	VMAXPS X1, X, X

// HSUM512 sums Z's lanes into the lowest lane of X (Y1 scratch).
#define HSUM512(Z, Y, X) \
	VEXTRACTF64X4 $1, Z, Y1; \
	VADDPS Y1, Y, Y; \
	VEXTRACTF128 $1, Y, X1; \
	VADDPS X1, X, X; \
	VHADDPS X, X, X; \
	VHADDPS X, X, X

// func scoresBlocksAVX512(s, q, kt *float32, blocks, u, dh, tail int) float32
// s[j] = sum_k q[k]*kt[k*u+j] for j < 16*blocks+tail (tail < 16), four
// blocks at a time; returns the largest s[j].
TEXT ·scoresBlocksAVX512(SB), NOSPLIT, $0-60
	LEAQ exp512const<>(SB), AX
	VBROADCASTSS 44(AX), Z5
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
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ SI, R11
	MOVQ DX, R12
	MOVQ R10, CX

quadk:
	VBROADCASTSS (R12), Z4
	VFMADD231PS  (R11), Z4, Z0
	VFMADD231PS  64(R11), Z4, Z1
	VFMADD231PS  128(R11), Z4, Z2
	VFMADD231PS  192(R11), Z4, Z3
	ADDQ R8, R11
	ADDQ $4, R12
	DECQ CX
	JNZ  quadk
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMAXPS Z0, Z5, Z5
	VMAXPS Z1, Z5, Z5
	VMAXPS Z2, Z5, Z5
	VMAXPS Z3, Z5, Z5
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $4, R9
	JMP  quad

single:
	TESTQ R9, R9
	JZ    stail
	VXORPS Z0, Z0, Z0
	MOVQ SI, R11
	MOVQ DX, R12
	MOVQ R10, CX

singlek:
	VBROADCASTSS (R12), Z4
	VFMADD231PS  (R11), Z4, Z0
	ADDQ R8, R11
	ADDQ $4, R12
	DECQ CX
	JNZ  singlek
	VMOVUPS Z0, (DI)
	VMAXPS Z0, Z5, Z5
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ R9
	JMP  single

stail:
	// The last tail < 16 columns under the mask K1 = (1<<tail)-1; masked
	// lanes load nothing and leave s and the maximum alone.
	MOVQ tail+48(FP), CX
	TESTQ CX, CX
	JZ    done
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VXORPS Z0, Z0, Z0
	MOVQ SI, R11
	MOVQ DX, R12
	MOVQ R10, CX

stailk:
	VBROADCASTSS (R12), Z4
	VMOVUPS.Z (R11), K1, Z1
	VFMADD231PS Z1, Z4, Z0
	ADDQ R8, R11
	ADDQ $4, R12
	DECQ CX
	JNZ  stailk
	VMOVUPS Z0, K1, (DI)
	VMAXPS Z0, Z5, K1, Z5

done:
	HMAX512(Z5, Y5, X5)
	MOVSS X5, ret+56(FP)
	VZEROUPPER
	RET

// func scores2BlocksAVX512(s0, s1, q0, q1, kt *float32, blocks, u, dh, tail int) (mx0, mx1 float32)
// Two queries at once, as scores2BlocksAVX2, for j < 16*blocks+tail
// (tail < 16, done with masked loads and stores).
TEXT ·scores2BlocksAVX512(SB), NOSPLIT, $0-80
	LEAQ exp512const<>(SB), AX
	VBROADCASTSS 44(AX), Z14
	VBROADCASTSS 44(AX), Z15
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
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	MOVQ SI, R11
	XORQ R12, R12
	MOVQ R10, CX

pquadk:
	VMOVUPS (R11), Z8
	VMOVUPS 64(R11), Z9
	VMOVUPS 128(R11), Z10
	VMOVUPS 192(R11), Z11
	VBROADCASTSS (DX)(R12*4), Z12
	VBROADCASTSS (R13)(R12*4), Z13
	VFMADD231PS Z8, Z12, Z0
	VFMADD231PS Z9, Z12, Z1
	VFMADD231PS Z10, Z12, Z2
	VFMADD231PS Z11, Z12, Z3
	VFMADD231PS Z8, Z13, Z4
	VFMADD231PS Z9, Z13, Z5
	VFMADD231PS Z10, Z13, Z6
	VFMADD231PS Z11, Z13, Z7
	ADDQ R8, R11
	INCQ R12
	DECQ CX
	JNZ  pquadk
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, (BX)
	VMOVUPS Z5, 64(BX)
	VMOVUPS Z6, 128(BX)
	VMOVUPS Z7, 192(BX)
	VMAXPS Z0, Z14, Z14
	VMAXPS Z1, Z14, Z14
	VMAXPS Z2, Z14, Z14
	VMAXPS Z3, Z14, Z14
	VMAXPS Z4, Z15, Z15
	VMAXPS Z5, Z15, Z15
	VMAXPS Z6, Z15, Z15
	VMAXPS Z7, Z15, Z15
	ADDQ $256, DI
	ADDQ $256, BX
	ADDQ $256, SI
	SUBQ $4, R9
	JMP  pquad

psingle:
	TESTQ R9, R9
	JZ    ptail
	VXORPS Z0, Z0, Z0
	VXORPS Z4, Z4, Z4
	MOVQ SI, R11
	XORQ R12, R12
	MOVQ R10, CX

psinglek:
	VMOVUPS (R11), Z8
	VBROADCASTSS (DX)(R12*4), Z12
	VBROADCASTSS (R13)(R12*4), Z13
	VFMADD231PS Z8, Z12, Z0
	VFMADD231PS Z8, Z13, Z4
	ADDQ R8, R11
	INCQ R12
	DECQ CX
	JNZ  psinglek
	VMOVUPS Z0, (DI)
	VMOVUPS Z4, (BX)
	VMAXPS Z0, Z14, Z14
	VMAXPS Z4, Z15, Z15
	ADDQ $64, DI
	ADDQ $64, BX
	ADDQ $64, SI
	DECQ R9
	JMP  psingle

ptail:
	MOVQ tail+64(FP), CX
	TESTQ CX, CX
	JZ    pdone
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VXORPS Z0, Z0, Z0
	VXORPS Z4, Z4, Z4
	MOVQ SI, R11
	XORQ R12, R12
	MOVQ R10, CX

ptailk:
	VMOVUPS.Z (R11), K1, Z8
	VBROADCASTSS (DX)(R12*4), Z12
	VBROADCASTSS (R13)(R12*4), Z13
	VFMADD231PS Z8, Z12, Z0
	VFMADD231PS Z8, Z13, Z4
	ADDQ R8, R11
	INCQ R12
	DECQ CX
	JNZ  ptailk
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z4, K1, (BX)
	VMAXPS Z0, Z14, K1, Z14
	VMAXPS Z4, Z15, K1, Z15

pdone:
	HMAX512(Z14, Y14, X14)
	MOVSS X14, mx0+72(FP)
	HMAX512(Z15, Y15, X15)
	MOVSS X15, mx1+76(FP)
	VZEROUPPER
	RET

// func expWeight8BlocksAVX512(out, s, count, vt *float32, blocks, u, tail int, mx float32) float32
// The fused softmax-and-values step of one query: for j < 16*blocks+tail
// (tail < 16, done with masked loads and stores), p = count[j]*exp(s[j]-mx)
// is stored to s[j], summed (the return value) and accumulated into
// out[r] = sum_j p*vt[r*u+j] for the eight rows r < 8 of vt, so the
// weights are read from registers, not memory.
TEXT ·expWeight8BlocksAVX512(SB), NOSPLIT, $0-68
	MOVQ out+0(FP), R12
	MOVQ s+8(FP), DI
	MOVQ count+16(FP), SI
	MOVQ vt+24(FP), DX
	MOVQ blocks+32(FP), CX
	MOVQ u+40(FP), R8
	SHLQ $2, R8
	VBROADCASTSS mx+56(FP), Z6
	EXP512_SETUP
	LEAQ (DX)(R8*4), BX      // row 4
	LEAQ (DX)(R8*2), R10
	ADDQ R8, R10             // row 3
	LEAQ (BX)(R8*2), R11
	ADDQ R8, R11             // row 7
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12
	VXORPS Z13, Z13, Z13
	VXORPS Z14, Z14, Z14
	VXORPS Z15, Z15, Z15
	TESTQ CX, CX
	JZ    wtail

wloop:
	VMOVUPS (DI), Z0
	EXP512
	VMULPS  (SI), Z3, Z3     // * count
	VMOVUPS Z3, (DI)
	VADDPS  Z3, Z7, Z7
	VFMADD231PS (DX), Z3, Z8
	VFMADD231PS (DX)(R8*1), Z3, Z9
	VFMADD231PS (DX)(R8*2), Z3, Z10
	VFMADD231PS (R10), Z3, Z11
	VFMADD231PS (BX), Z3, Z12
	VFMADD231PS (BX)(R8*1), Z3, Z13
	VFMADD231PS (BX)(R8*2), Z3, Z14
	VFMADD231PS (R11), Z3, Z15
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, BX
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ  wloop

wtail:
	// The last tail < 16 columns under the mask K1 = (1<<tail)-1; masked
	// lanes load nothing and get weight 0 (zero-masked multiply, so an
	// overflowing exponential there cannot leak in).
	MOVQ tail+48(FP), CX
	TESTQ CX, CX
	JZ    wfold
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z0
	EXP512
	VMOVUPS.Z (SI), K1, Z4
	VMULPS.Z Z4, Z3, K1, Z3
	VMOVUPS Z3, K1, (DI)
	VADDPS  Z3, Z7, Z7
	VMOVUPS.Z (DX), K1, Z27
	VFMADD231PS Z27, Z3, Z8
	VMOVUPS.Z (DX)(R8*1), K1, Z27
	VFMADD231PS Z27, Z3, Z9
	VMOVUPS.Z (DX)(R8*2), K1, Z27
	VFMADD231PS Z27, Z3, Z10
	VMOVUPS.Z (R10), K1, Z27
	VFMADD231PS Z27, Z3, Z11
	VMOVUPS.Z (BX), K1, Z27
	VFMADD231PS Z27, Z3, Z12
	VMOVUPS.Z (BX)(R8*1), K1, Z27
	VFMADD231PS Z27, Z3, Z13
	VMOVUPS.Z (BX)(R8*2), K1, Z27
	VFMADD231PS Z27, Z3, Z14
	VMOVUPS.Z (R11), K1, Z27
	VFMADD231PS Z27, Z3, Z15

wfold:
	// Fold each accumulator to 8 lanes, then sum the eight rows across.
	VEXTRACTF64X4 $1, Z8, Y1
	VADDPS Y1, Y8, Y8
	VEXTRACTF64X4 $1, Z9, Y1
	VADDPS Y1, Y9, Y9
	VEXTRACTF64X4 $1, Z10, Y1
	VADDPS Y1, Y10, Y10
	VEXTRACTF64X4 $1, Z11, Y1
	VADDPS Y1, Y11, Y11
	VEXTRACTF64X4 $1, Z12, Y1
	VADDPS Y1, Y12, Y12
	VEXTRACTF64X4 $1, Z13, Y1
	VADDPS Y1, Y13, Y13
	VEXTRACTF64X4 $1, Z14, Y1
	VADDPS Y1, Y14, Y14
	VEXTRACTF64X4 $1, Z15, Y1
	VADDPS Y1, Y15, Y15
	VHADDPS Y9, Y8, Y8       // [r0 r0 r1 r1 | r0 r0 r1 r1] partial sums
	VHADDPS Y11, Y10, Y10
	VHADDPS Y10, Y8, Y8      // [r0 r1 r2 r3 | r0 r1 r2 r3]
	VHADDPS Y13, Y12, Y12
	VHADDPS Y15, Y14, Y14
	VHADDPS Y14, Y12, Y12    // [r4 r5 r6 r7 | r4 r5 r6 r7]
	VPERM2F128 $0x20, Y12, Y8, Y0
	VPERM2F128 $0x31, Y12, Y8, Y1
	VADDPS Y1, Y0, Y0        // [r0 .. r7]
	VMOVUPS Y0, (R12)

	HSUM512(Z7, Y7, X7)
	MOVSS X7, ret+64(FP)
	VZEROUPPER
	RET

// func linearRows4AVX512(dst, x, wt, bias *float32, in, out, pairs, flags int)
// Four rows through a linear layer: y[r*out+j] = bias[j] +
// sum_k x[r*in+k]*wt[k*out+j] for r < 4 and j < 32*pairs, then (flags)
// 1: y += dst, 2: y = max(y, 0); 4: bias is present (else 0). dst = y.
// Each loaded pair of weight vectors serves the four rows: eight
// independent accumulators.
TEXT ·linearRows4AVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ wt+16(FP), DX
	MOVQ bias+24(FP), BX
	MOVQ in+32(FP), R13
	MOVQ out+40(FP), R8
	MOVQ pairs+48(FP), R9
	SHLQ $2, R8
	SHLQ $2, R13
	VXORPS Z14, Z14, Z14     // zero, for ReLU

pair:
	MOVQ  flags+56(FP), AX
	TESTQ $4, AX
	JZ    nobias
	VMOVUPS (BX), Z0
	VMOVUPS 64(BX), Z1
	ADDQ $128, BX
	JMP   init

nobias:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1

init:
	VMOVAPS Z0, Z2
	VMOVAPS Z1, Z3
	VMOVAPS Z0, Z4
	VMOVAPS Z1, Z5
	VMOVAPS Z0, Z6
	VMOVAPS Z1, Z7
	MOVQ DX, R11             // weights of this column pair, row k
	MOVQ SI, R12             // x row 0, element k
	LEAQ (SI)(R13*2), R10
	ADDQ R13, R10            // x row 3, element k
	MOVQ in+32(FP), CX

mk:
	VMOVUPS (R11), Z8
	VMOVUPS 64(R11), Z9
	VBROADCASTSS (R12), Z10
	VBROADCASTSS (R12)(R13*1), Z11
	VBROADCASTSS (R12)(R13*2), Z12
	VBROADCASTSS (R10), Z13
	VFMADD231PS Z8, Z10, Z0
	VFMADD231PS Z9, Z10, Z1
	VFMADD231PS Z8, Z11, Z2
	VFMADD231PS Z9, Z11, Z3
	VFMADD231PS Z8, Z12, Z4
	VFMADD231PS Z9, Z12, Z5
	VFMADD231PS Z8, Z13, Z6
	VFMADD231PS Z9, Z13, Z7
	ADDQ R8, R11
	ADDQ $4, R12
	ADDQ $4, R10
	DECQ CX
	JNZ  mk

	MOVQ  flags+56(FP), R10
	LEAQ (DI)(R8*2), AX
	ADDQ R8, AX              // dst row 3
	TESTQ $1, R10
	JZ    noadd
	VADDPS (DI), Z0, Z0
	VADDPS 64(DI), Z1, Z1
	VADDPS (DI)(R8*1), Z2, Z2
	VADDPS 64(DI)(R8*1), Z3, Z3
	VADDPS (DI)(R8*2), Z4, Z4
	VADDPS 64(DI)(R8*2), Z5, Z5
	VADDPS (AX), Z6, Z6
	VADDPS 64(AX), Z7, Z7

noadd:
	TESTQ $2, R10
	JZ    store
	VMAXPS Z14, Z0, Z0
	VMAXPS Z14, Z1, Z1
	VMAXPS Z14, Z2, Z2
	VMAXPS Z14, Z3, Z3
	VMAXPS Z14, Z4, Z4
	VMAXPS Z14, Z5, Z5
	VMAXPS Z14, Z6, Z6
	VMAXPS Z14, Z7, Z7

store:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, (DI)(R8*1)
	VMOVUPS Z3, 64(DI)(R8*1)
	VMOVUPS Z4, (DI)(R8*2)
	VMOVUPS Z5, 64(DI)(R8*2)
	VMOVUPS Z6, (AX)
	VMOVUPS Z7, 64(AX)
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ R9
	JNZ  pair
	VZEROUPPER
	RET

// func dot4AVX512(out, p, vt *float32, u, blocks, tail int)
// out[r] = sum_{j < u} p[j]*vt[r*u+j] for r < 4: four dot products that
// share p, 16 columns at a time and the last tail < 16 under a mask.
TEXT ·dot4AVX512(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ vt+16(FP), DX
	MOVQ u+24(FP), R8
	MOVQ blocks+32(FP), CX
	SHLQ $2, R8
	LEAQ (DX)(R8*1), R9      // row 1
	LEAQ (R9)(R8*1), R10     // row 2
	LEAQ (R10)(R8*1), R11    // row 3
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	TESTQ CX, CX
	JZ    d4tail

d4loop:
	VMOVUPS (SI), Z4
	VFMADD231PS (DX), Z4, Z0
	VFMADD231PS (R9), Z4, Z1
	VFMADD231PS (R10), Z4, Z2
	VFMADD231PS (R11), Z4, Z3
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ  d4loop

d4tail:
	MOVQ tail+40(FP), CX
	TESTQ CX, CX
	JZ    d4sum
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DX), K1, Z5
	VFMADD231PS Z5, Z4, Z0
	VMOVUPS.Z (R9), K1, Z5
	VFMADD231PS Z5, Z4, Z1
	VMOVUPS.Z (R10), K1, Z5
	VFMADD231PS Z5, Z4, Z2
	VMOVUPS.Z (R11), K1, Z5
	VFMADD231PS Z5, Z4, Z3

d4sum:
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y4
	VADDPS Y4, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y4
	VADDPS Y4, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y4
	VADDPS Y4, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func axpyAVX512(a float32, x, y *float32, blocks, tail int)
// y[i] += a*x[i] for i < 16*blocks+tail, the tail under a mask.
TEXT ·axpyAVX512(SB), NOSPLIT, $0-40
	VBROADCASTSS a+0(FP), Z15
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ blocks+24(FP), CX

xquad:
	CMPQ CX, $4
	JLT  xsingle
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VFMADD231PS (SI), Z15, Z0
	VFMADD231PS 64(SI), Z15, Z1
	VFMADD231PS 128(SI), Z15, Z2
	VFMADD231PS 192(SI), Z15, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $4, CX
	JMP  xquad

xsingle:
	TESTQ CX, CX
	JZ    xtail
	VMOVUPS (DI), Z0
	VFMADD231PS (SI), Z15, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JMP  xsingle

xtail:
	MOVQ tail+32(FP), CX
	TESTQ CX, CX
	JZ    xdone
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VFMADD231PS Z1, Z15, Z0
	VMOVUPS Z0, K1, (DI)

xdone:
	VZEROUPPER
	RET

// DROPMASK sets K2 to the lanes of the 16 draws at (SI) that keep their
// value (draw >= thresh in Z15), Z1 scratch.
#define DROPMASK \
	VPMOVZXWD (SI), Z1; \
	VPCMPUD $5, Z15, Z1, K2

// func dropScaleAVX512(v *float32, draws *uint16, blocks int, thresh uint32, scale float32)
// v[j] = draws[j] < thresh ? 0 : v[j]*scale for j < 16*blocks.
TEXT ·dropScaleAVX512(SB), NOSPLIT, $0-32
	MOVQ v+0(FP), DI
	MOVQ draws+8(FP), SI
	MOVQ blocks+16(FP), CX
	MOVL thresh+24(FP), AX
	VPBROADCASTD AX, Z15
	VBROADCASTSS scale+28(FP), Z14
	TESTQ CX, CX
	JZ    dsdone

dsloop:
	DROPMASK
	VMULPS.Z (DI), Z14, K2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $32, SI
	DECQ CX
	JNZ  dsloop

dsdone:
	VZEROUPPER
	RET

// func softmaxGradDotAVX512(dp, e *float32, draws *uint16, blocks int, thresh uint32, scale float32) float32
// For j < 16*blocks: dp[j] *= m_j (the dropout multiplier of draws[j],
// 1 when draws is nil); returns sum_j dp[j]*e[j].
TEXT ·softmaxGradDotAVX512(SB), NOSPLIT, $0-44
	MOVQ dp+0(FP), DI
	MOVQ e+8(FP), DX
	MOVQ draws+16(FP), SI
	MOVQ blocks+24(FP), CX
	MOVL thresh+32(FP), AX
	VPBROADCASTD AX, Z15
	VBROADCASTSS scale+36(FP), Z14
	VXORPS Z8, Z8, Z8
	TESTQ SI, SI
	JZ    sgplain

sgdrop:
	DROPMASK
	VMULPS.Z (DI), Z14, K2, Z0
	VMOVUPS Z0, (DI)
	VFMADD231PS (DX), Z0, Z8
	ADDQ $64, DI
	ADDQ $64, DX
	ADDQ $32, SI
	DECQ CX
	JNZ  sgdrop
	JMP  sgsum

sgplain:
	VMOVUPS (DI), Z0
	VFMADD231PS (DX), Z0, Z8
	ADDQ $64, DI
	ADDQ $64, DX
	DECQ CX
	JNZ  sgplain

sgsum:
	VEXTRACTF64X4 $1, Z8, Y1
	VADDPS Y1, Y8, Y8
	VEXTRACTF128 $1, Y8, X1
	VADDPS X1, X8, X8
	VHADDPS X8, X8, X8
	VHADDPS X8, X8, X8
	MOVSS X8, ret+40(FP)
	VZEROUPPER
	RET

// func softmaxGradUpdateAVX512(dp, s, e *float32, draws *uint16, blocks int, thresh uint32, scale, inv, c float32)
// For j < 16*blocks, with p = e[j]*inv: dp[j] = p*(dp[j]-c) and
// s[j] = p*m_j (m_j as in softmaxGradDotAVX512).
TEXT ·softmaxGradUpdateAVX512(SB), NOSPLIT, $0-56
	MOVQ dp+0(FP), DI
	MOVQ s+8(FP), BX
	MOVQ e+16(FP), DX
	MOVQ draws+24(FP), SI
	MOVQ blocks+32(FP), CX
	MOVL thresh+40(FP), AX
	VPBROADCASTD AX, Z15
	VBROADCASTSS scale+44(FP), Z14
	VBROADCASTSS inv+48(FP), Z13
	VBROADCASTSS c+52(FP), Z12
	TESTQ SI, SI
	JZ    suplain

sudrop:
	VMULPS (DX), Z13, Z2
	VMOVUPS (DI), Z0
	VSUBPS Z12, Z0, Z0
	VMULPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	DROPMASK
	VMULPS.Z Z14, Z2, K2, Z3
	VMOVUPS Z3, (BX)
	ADDQ $64, DI
	ADDQ $64, BX
	ADDQ $64, DX
	ADDQ $32, SI
	DECQ CX
	JNZ  sudrop
	JMP  sudone

suplain:
	VMULPS (DX), Z13, Z2
	VMOVUPS (DI), Z0
	VSUBPS Z12, Z0, Z0
	VMULPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	VMOVUPS Z2, (BX)
	ADDQ $64, DI
	ADDQ $64, BX
	ADDQ $64, DX
	DECQ CX
	JNZ  suplain

sudone:
	VZEROUPPER
	RET

// func axpy4AVX512(y, a, x *float32, u, blocks, tail int)
// y[j] += a[0]*x[j] + a[1]*x[u+j] + a[2]*x[2u+j] + a[3]*x[3u+j], one
// fused multiply-add per term in that order, for j < 16*blocks+tail, the
// tail under a mask.
TEXT ·axpy4AVX512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), AX
	MOVQ x+16(FP), SI
	MOVQ u+24(FP), R8
	MOVQ blocks+32(FP), CX
	VBROADCASTSS 0(AX), Z10
	VBROADCASTSS 4(AX), Z11
	VBROADCASTSS 8(AX), Z12
	VBROADCASTSS 12(AX), Z13
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9      // row 1
	LEAQ (R9)(R8*1), R10     // row 2
	LEAQ (R10)(R8*1), R11    // row 3
	TESTQ CX, CX
	JZ    a4tail

a4loop:
	VMOVUPS (DI), Z0
	VFMADD231PS (SI), Z10, Z0
	VFMADD231PS (R9), Z11, Z0
	VFMADD231PS (R10), Z12, Z0
	VFMADD231PS (R11), Z13, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ  a4loop

a4tail:
	MOVQ tail+40(FP), CX
	TESTQ CX, CX
	JZ    a4done
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VFMADD231PS Z1, Z10, Z0
	VMOVUPS.Z (R9), K1, Z1
	VFMADD231PS Z1, Z11, Z0
	VMOVUPS.Z (R10), K1, Z1
	VFMADD231PS Z1, Z12, Z0
	VMOVUPS.Z (R11), K1, Z1
	VFMADD231PS Z1, Z13, Z0
	VMOVUPS Z0, K1, (DI)

a4done:
	VZEROUPPER
	RET

// func wyrandBlocksAVX512(u *uint16, state uint64, blocks int, offsets *uint64)
// Writes 8 wyrand outputs (32 draws) per block: lane k of a block uses
// the state advanced k+1 times (offsets[k] = (k+1)*inc, offsets[8] =
// 8*inc). The 128-bit product is assembled from four 32x32-bit products.
TEXT ·wyrandBlocksAVX512(SB), NOSPLIT, $0-32
	MOVQ u+0(FP), DI
	MOVQ state+8(FP), AX
	MOVQ blocks+16(FP), CX
	MOVQ offsets+24(FP), DX
	VPBROADCASTQ AX, Z0
	VPADDQ (DX), Z0, Z0          // the block's eight states
	VPBROADCASTQ 64(DX), Z11     // 8*inc
	MOVQ $0xe7037ed1a0b428db, AX
	VPBROADCASTQ AX, Z12
	MOVQ $0xffffffff, AX
	VPBROADCASTQ AX, Z13
	TESTQ CX, CX
	JZ    wydone

wyloop:
	VPXORQ Z12, Z0, Z1           // b = state ^ mix
	VPSRLQ $32, Z0, Z2           // a1
	VPSRLQ $32, Z1, Z3           // b1
	VPMULUDQ Z1, Z0, Z4          // p00 = a0*b0
	VPMULUDQ Z3, Z0, Z5          // p01 = a0*b1
	VPMULUDQ Z1, Z2, Z6          // p10 = a1*b0
	VPMULUDQ Z3, Z2, Z7          // p11 = a1*b1
	VPSRLQ $32, Z4, Z8           // mid = p00>>32 + low(p01) + low(p10)
	VPANDQ Z13, Z5, Z9
	VPADDQ Z9, Z8, Z8
	VPANDQ Z13, Z6, Z9
	VPADDQ Z9, Z8, Z8
	VPSRLQ $32, Z5, Z9           // hi = p11 + p01>>32 + p10>>32 + mid>>32
	VPADDQ Z9, Z7, Z7
	VPSRLQ $32, Z6, Z9
	VPADDQ Z9, Z7, Z7
	VPSRLQ $32, Z8, Z9
	VPADDQ Z9, Z7, Z7
	VPADDQ Z6, Z5, Z5            // lo = p00 + (p01+p10)<<32
	VPSLLQ $32, Z5, Z5
	VPADDQ Z5, Z4, Z4
	VPXORQ Z7, Z4, Z4
	VMOVDQU64 Z4, (DI)
	VPADDQ Z11, Z0, Z0
	ADDQ $64, DI
	DECQ CX
	JNZ  wyloop

wydone:
	VZEROUPPER
	RET

// func expSubBlocksAVX512(s *float32, blocks int, mx float32) float32
// s[j] = exp(s[j]-mx) for j < 16*blocks (blocks > 0); returns the sum.
// EXP512 is expSubBlocksAVX2's EXP_SHIFTED lane by lane.
TEXT ·expSubBlocksAVX512(SB), NOSPLIT, $0-28
	MOVQ s+0(FP), DI
	MOVQ blocks+8(FP), CX
	VBROADCASTSS mx+16(FP), Z6
	EXP512_SETUP
	VXORPS Z7, Z7, Z7

sloop:
	VMOVUPS (DI), Z0
	EXP512
	VMOVUPS Z3, (DI)
	VADDPS  Z3, Z7, Z7
	ADDQ $64, DI
	DECQ CX
	JNZ  sloop

	HSUM512(Z7, Y7, X7)
	MOVSS X7, ret+24(FP)
	VZEROUPPER
	RET
