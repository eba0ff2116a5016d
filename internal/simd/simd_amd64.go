//go:build !noasm

package simd

import (
	"math"

	"golang.org/x/sys/cpu"
)

func init() {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return
	}
	Level = "avx2"
	scoresRow = func(s, q, kt []float32, u int) float32 { return scoresRowAVX2(s, q, kt, u, u) }
	expShift = expShiftAVX2
	expSub = expSubAVX2
	dot = dotAVX2
	axpy = axpyAVX2
	weightedRows = weightedRowsAVX2
	scoresRow2 = func(s0, s1, q0, q1, kt []float32, u int) (float32, float32) {
		return scoresRow2AVX2(s0, s1, q0, q1, kt, u, u)
	}
	// x/sys/cpu reports AVX-512 only when the OS saves the registers.
	if cpu.X86.HasAVX512F {
		Level = "avx512"
		scoresRow = scoresRowAVX512
		scoresRow2 = scoresRow2AVX512
		expWeighted = expWeightedAVX512
		expSub = expSubAVX512
		linearRows = linearRowsAVX512
		weightedRows = weightedRowsAVX512
		axpy = axpyAVX512Slices
		dropScale = dropScaleAVX512Slices
		softmaxGrad = softmaxGradAVX512
		axpy4 = axpy4AVX512Slices
		wyrandDraws = wyrandDrawsAVX512
	}
}

// Assembly in kernels_amd64.s. Each processes whole blocks of 8 floats;
// the Go wrappers finish the tails.

//go:noescape
func scoresBlocksAVX2(s, q, kt *float32, blocks, u, dh int) float32

//go:noescape
func expShiftBlocksAVX2(s, count *float32, blocks int, mx float32) float32

//go:noescape
func dotBlocksAVX2(x, y *float32, blocks int) float32

//go:noescape
func axpyBlocksAVX2(a float32, x, y *float32, blocks int)

//go:noescape
func expSubBlocksAVX2(s *float32, blocks int, mx float32) float32

//go:noescape
func dot4BlocksAVX2(out, p, vt *float32, blocks, u int)

//go:noescape
func scores2BlocksAVX2(s0, s1, q0, q1, kt *float32, blocks, u, dh int) (mx0, mx1 float32)

// scoresRowAVX2 is ScoresRow for the first n columns of kt, whose rows
// are stride floats apart.
func scoresRowAVX2(s, q, kt []float32, n, stride int) float32 {
	dh := len(q)
	blocks := n / 8
	mx := float32(math.Inf(-1))
	if blocks > 0 {
		_ = kt[(dh-1)*stride+blocks*8-1] // bounds check for the assembly
		_ = s[blocks*8-1]
		mx = scoresBlocksAVX2(&s[0], &q[0], &kt[0], blocks, stride, dh)
	}
	for j := blocks * 8; j < n; j++ {
		var v float32
		for k, qk := range q {
			v += qk * kt[k*stride+j]
		}
		s[j] = v
		mx = max(mx, v)
	}
	return mx
}

func expShiftAVX2(s, count []float32, mx float32) float32 {
	blocks := len(s) / 8
	var sum float32
	if blocks > 0 {
		_ = count[blocks*8-1]
		sum = expShiftBlocksAVX2(&s[0], &count[0], blocks, mx)
	}
	return sum + expShiftGeneric(s[blocks*8:], count[blocks*8:], mx)
}

func expSubAVX2(s []float32, mx float32) float32 {
	return expSubBlocks(s, mx, 8, expSubBlocksAVX2, expSubGeneric)
}

// expSubBlocks is ExpSub by a kernel on s's whole blocks of width floats
// and by rest on the remainder.
func expSubBlocks(s []float32, mx float32, width int, kernel func(s *float32, blocks int, mx float32) float32, rest func([]float32, float32) float32) float32 {
	blocks := len(s) / width
	var sum float32
	if blocks > 0 {
		sum = kernel(&s[0], blocks, mx)
	}
	return sum + rest(s[blocks*width:], mx)
}

func axpyAVX2(a float32, x, y []float32) {
	blocks := len(x) / 8
	if blocks > 0 {
		_ = y[blocks*8-1] // bounds check for the assembly
		axpyBlocksAVX2(a, &x[0], &y[0], blocks)
	}
	axpyGeneric(a, x[blocks*8:], y[blocks*8:len(x)])
}

func dotAVX2(x, y []float32) float32 {
	blocks := len(x) / 8
	var sum float32
	if blocks > 0 {
		_ = y[blocks*8-1]
		sum = dotBlocksAVX2(&x[0], &y[0], blocks)
	}
	for i := blocks * 8; i < len(x); i++ {
		sum += x[i] * y[i]
	}
	return sum
}

func weightedRowsAVX2(out, p, vt []float32, u int) {
	blocks := u / 8
	k := 0
	if blocks > 0 {
		for ; k+4 <= len(out); k += 4 {
			_ = vt[(k+3)*u+blocks*8-1] // bounds check for the assembly
			dot4BlocksAVX2(&out[k], &p[0], &vt[k*u], blocks, u)
			for j := blocks * 8; j < u; j++ {
				for r := range 4 {
					out[k+r] += p[j] * vt[(k+r)*u+j]
				}
			}
		}
	}
	for ; k < len(out); k++ {
		out[k] = dotAVX2(p[:u], vt[k*u:(k+1)*u])
	}
}

// scoresRow2AVX2 is ScoresRow2 for the first n columns of kt, whose rows
// are stride floats apart.
func scoresRow2AVX2(s0, s1, q0, q1, kt []float32, n, stride int) (float32, float32) {
	dh := len(q0)
	blocks := n / 8
	mx0, mx1 := float32(math.Inf(-1)), float32(math.Inf(-1))
	if blocks > 0 {
		_ = kt[(dh-1)*stride+blocks*8-1] // bounds checks for the assembly
		_, _, _ = s0[blocks*8-1], s1[blocks*8-1], q1[dh-1]
		mx0, mx1 = scores2BlocksAVX2(&s0[0], &s1[0], &q0[0], &q1[0], &kt[0], blocks, stride, dh)
	}
	for j := blocks * 8; j < n; j++ {
		var v0, v1 float32
		for k := range dh {
			v0 += q0[k] * kt[k*stride+j]
			v1 += q1[k] * kt[k*stride+j]
		}
		s0[j], s1[j] = v0, v1
		mx0, mx1 = max(mx0, v0), max(mx1, v1)
	}
	return mx0, mx1
}
