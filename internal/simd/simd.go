// Package simd holds the float32 vector kernels of the CMC inference engine
// (package model) and of training (package train): the attention scores,
// the softmax exponentials, the weighted sums of values, dot products and
// axpy, the fused softmax-and-values step and the rows-times-matrix
// product. On amd64 processors with AVX2 and FMA they run as assembly
// (simd_amd64.s), and the hottest ones as AVX-512 assembly
// (simd_avx512_amd64.s) where the processor and OS support AVX-512F,
// chosen at run time (Level says which); elsewhere, or with the build tag
// noasm, as the portable Go below. The tests compare every set with the
// portable Go and with float64.
//
// The kernels do not depend on the alignment of their arguments, so the
// same inputs always give the same bits. They are safe for concurrent use.
package simd

import (
	"math"
	"math/bits"
)

// Level is the widest instruction set of the selected kernels: "avx512"
// (AVX-512F, chosen at run time), "avx2" (AVX2 and FMA) or "generic"
// (portable Go).
var Level = "generic"

// The implementations, replaced by simd_amd64.go when the processor allows.
var (
	scoresRow    = scoresRowGeneric
	scoresRow2   = scoresRow2Generic
	expShift     = expShiftGeneric
	expSub       = expSubGeneric
	dot          = dotGeneric
	axpy         = axpyGeneric
	weightedRows = weightedRowsGeneric
	expWeighted  = expWeightedGeneric
	linearRows   = linearRowsGeneric
	dropScale    = dropScaleGeneric
	softmaxGrad  = softmaxGradGeneric
	axpy4        = axpy4Generic
	wyrandDraws  = wyrandDrawsGeneric
)

// Mode says what LinearRows does with a layer's output y = x·W + b.
type Mode int

// The modes of LinearRows.
const (
	// Overwrite sets dst = y.
	Overwrite Mode = iota
	// Accumulate sets dst += y (a residual connection).
	Accumulate
	// Rectify sets dst = max(y, 0) (a ReLU).
	Rectify
)

// LinearRows passes rows input rows x [rows, in] through a linear layer
// with transposed weights wt [in, out] and bias (nil: none), y = x·wt +
// bias, and writes y to dst [rows, out] as mode says. scratch must hold
// out floats; some implementations use it.
func LinearRows(dst, x, wt, bias, scratch []float32, rows, in, out int, mode Mode) {
	linearRows(dst, x, wt, bias, scratch, rows, in, out, mode)
}

func linearRowsGeneric(dst, x, wt, bias, scratch []float32, rows, in, out int, mode Mode) {
	y := scratch[:out]
	for r := range rows {
		scoresRow(y, x[r*in:(r+1)*in], wt, out)
		if bias != nil {
			for j, b := range bias[:out] {
				y[j] += b
			}
		}
		d := dst[r*out : (r+1)*out]
		switch mode {
		case Accumulate:
			for j, v := range y {
				d[j] += v
			}
		case Rectify:
			for j, v := range y {
				d[j] = max(v, 0)
			}
		default:
			copy(d, y)
		}
	}
}

// ScoresRow sets s[j] = Σ_k q[k]·m[k·u+j] for j < u, where m holds len(q)
// rows of length u, and returns the largest s[j]: a row vector times a
// row-major matrix, such as one query against one head's transposed keys,
// or one input row through a linear layer's transposed weights.
func ScoresRow(s, q, m []float32, u int) float32 { return scoresRow(s, q, m, u) }

// ScoresRow2 is ScoresRow for two vectors at once, sharing the loads of m;
// it returns both maxima.
func ScoresRow2(s0, s1, q0, q1, m []float32, u int) (float32, float32) {
	return scoresRow2(s0, s1, q0, q1, m, u)
}

// ExpShift sets s[j] = count[j]·e^(s[j]−mx) and returns Σ_j s[j]: the
// unnormalised softmax of scores whose keys stand for count[j] positions.
func ExpShift(s, count []float32, mx float32) float32 { return expShift(s, count, mx) }

// ExpSub sets s[j] = e^(s[j]−mx) and returns Σ_j s[j].
func ExpSub(s []float32, mx float32) float32 { return expSub(s, mx) }

// Dot returns Σ_i x[i]·y[i] for len(x) = len(y).
func Dot(x, y []float32) float32 { return dot(x, y) }

// Axpy sets y[i] += a·x[i] for len(x) = len(y).
func Axpy(a float32, x, y []float32) { axpy(a, x, y) }

// WeightedRows sets out[k] = Σ_j p[j]·m[k·u+j] for k < len(out) and j < u:
// one query's attention output for one head, from the weights p and the
// head's transposed values m.
func WeightedRows(out, p, m []float32, u int) { weightedRows(out, p, m, u) }

// ExpWeighted is ExpShift followed by WeightedRows in one pass where the
// processor allows: it sets s[j] = count[j]·e^(s[j]−mx) and
// out[k] = Σ_j s[j]·vt[k·u+j] for k < len(out), u = len(s), and returns
// Σ_j s[j]: one query's unnormalised softmax and attention output, the
// weights staying in registers between the two steps.
func ExpWeighted(out, s, count, vt []float32, mx float32) float32 {
	return expWeighted(out, s, count, vt, mx)
}

// DropScale applies a dropout mask given by 16-bit random draws: it sets
// v[j] = 0 where draws[j] < thresh and v[j] *= scale elsewhere, for
// j < len(v) ≤ len(draws).
func DropScale(v []float32, draws []uint16, thresh uint16, scale float32) {
	dropScale(v, draws, thresh, scale)
}

// SoftmaxGrad is the backward step of one attention row's softmax
// followed by dropout. e holds the unnormalised weights e^(s_j − max) and
// inv = 1/Σ e_j, so p_j = e_j·inv; dp holds on entry the gradient with
// respect to the dropped weights p_j·m_j, where the multiplier m_j is 0
// where draws[j] < thresh and scale elsewhere (m_j = 1 for all j when
// draws is nil). SoftmaxGrad sets dp[j] = p_j·(dp[j]·m_j − c) with
// c = Σ_l p_l·dp[l]·m_l, the gradient with respect to the scores, and
// s[j] = p_j·m_j, the dropped weights. All slices hold len(e) values; s
// may be e.
func SoftmaxGrad(dp, s, e []float32, inv float32, draws []uint16, thresh uint16, scale float32) {
	softmaxGrad(dp, s, e, inv, draws, thresh, scale)
}

// Axpy4 sets y[j] += a[0]·x[j] + a[1]·x[u+j] + a[2]·x[2u+j] + a[3]·x[3u+j]
// for j < len(y), adding the four terms to y in that order: four
// rank-one updates of one row at the cost of about one.
func Axpy4(y []float32, a *[4]float32, x []float32, u int) { axpy4(y, a, x, u) }

// WyrandDraws writes the next len(u) 16-bit draws of the wyrand stream
// whose state is state to u and returns the new state; a length that is
// not a multiple of 4 ends the stream (the rest of its last output is
// discarded). Wyrand is Wang Yi's generator: the state advances by
// 0xa0761d6478bd642f, and each output is hi ^ lo of the 128-bit product
// state · (state ^ 0xe7037ed1a0b428db); each output gives four draws,
// low bits first.
func WyrandDraws(u []uint16, state uint64) uint64 { return wyrandDraws(u, state) }

// The constants of wyrand.
const (
	wyrandInc = 0xa0761d6478bd642f
	wyrandMix = 0xe7037ed1a0b428db
)

func wyrandDrawsGeneric(u []uint16, state uint64) uint64 {
	i := 0
	for ; i+4 <= len(u); i += 4 {
		state += wyrandInc
		hi, lo := bits.Mul64(state, state^wyrandMix)
		r := hi ^ lo
		w := u[i : i+4 : i+4]
		w[0], w[1], w[2], w[3] = uint16(r), uint16(r>>16), uint16(r>>32), uint16(r>>48)
	}
	if i < len(u) {
		state += wyrandInc
		hi, lo := bits.Mul64(state, state^wyrandMix)
		r := hi ^ lo
		for ; i < len(u); i++ {
			u[i] = uint16(r)
			r >>= 16
		}
	}
	return state
}

func dropScaleGeneric(v []float32, draws []uint16, thresh uint16, scale float32) {
	for j, d := range draws[:len(v)] {
		if d < thresh {
			v[j] = 0
		} else {
			v[j] *= scale
		}
	}
}

func softmaxGradGeneric(dp, s, e []float32, inv float32, draws []uint16, thresh uint16, scale float32) {
	n := len(e)
	dp, s = dp[:n], s[:n]
	if draws != nil {
		dropScaleGeneric(dp, draws, thresh, scale)
	}
	c := dot(dp, e) * inv
	for j, ej := range e {
		p := ej * inv
		dp[j] = p * (dp[j] - c)
		s[j] = p
	}
	if draws != nil {
		dropScaleGeneric(s, draws, thresh, scale)
	}
}

func axpy4Generic(y []float32, a *[4]float32, x []float32, u int) {
	n := len(y)
	x0, x1, x2, x3 := x[:n], x[u:u+n], x[2*u:2*u+n], x[3*u:3*u+n]
	for j := range y {
		v := y[j] + a[0]*x0[j]
		v += a[1] * x1[j]
		v += a[2] * x2[j]
		y[j] = v + a[3]*x3[j]
	}
}

func expWeightedGeneric(out, s, count, vt []float32, mx float32) float32 {
	sum := expShift(s, count[:len(s)], mx)
	weightedRows(out, s, vt, len(s))
	return sum
}

func scoresRowGeneric(s, q, m []float32, u int) float32 {
	clear(s[:u])
	for k, qk := range q {
		row := m[k*u : (k+1)*u]
		for j, v := range row {
			s[j] += qk * v
		}
	}
	mx := float32(math.Inf(-1))
	for _, v := range s[:u] {
		mx = max(mx, v)
	}
	return mx
}

func scoresRow2Generic(s0, s1, q0, q1, m []float32, u int) (float32, float32) {
	return scoresRow(s0, q0, m, u), scoresRow(s1, q1, m, u)
}

func expShiftGeneric(s, count []float32, mx float32) float32 {
	var sum float32
	for j := range s {
		s[j] = count[j] * Expf(s[j]-mx)
		sum += s[j]
	}
	return sum
}

func expSubGeneric(s []float32, mx float32) float32 {
	var sum float32
	for j := range s {
		s[j] = Expf(s[j] - mx)
		sum += s[j]
	}
	return sum
}

func dotGeneric(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(a float32, x, y []float32) {
	for i, v := range x {
		y[i] += a * v
	}
}

func weightedRowsGeneric(out, p, m []float32, u int) {
	for k := range out {
		out[k] = dot(p[:u], m[k*u:(k+1)*u])
	}
}
