package train

import (
	"math"

	"github.com/cmc-stream/cmc-stream/internal/simd"
	"github.com/cmc-stream/cmc-stream/model"
	"gonum.org/v1/gonum/blas/blas32"
)

// grow returns s resized to n, reallocating when its capacity is short.
// New buffers hold at least 8 values: Go places allocations of 32 bytes or
// more on 16-byte boundaries, and gonum's SSE dot product starts with
// scalar steps until its second operand is 16-byte aligned, so the
// summation order, and with it every result bit, depends on that
// alignment. Allocations of 8 to 24 bytes may land on 8-byte boundaries
// and make results vary from run to run.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n, max(n, 8))
	}
	return s[:n]
}

// linearScratch holds the buffers of one caller's linear layers: the
// transposed weights and a block of transposed output gradients.
type linearScratch struct {
	wt, dyt, row []float32
}

// gradBlock is the number of rows whose output gradients are transposed
// at a time for a weight gradient: a [Out, gradBlock] block and the
// matching input rows stay in the L2 cache.
const gradBlock = 256

// forward computes dst[r,Out] = x[r,In]·Wᵀ + b with simd.LinearRows on
// the transposed weights (the AVX-512 four-row kernel where it runs).
func (s *linearScratch) forward(dst, x []float32, r int, l *model.Linear) {
	s.wt = grow(s.wt, l.In*l.Out)
	for o := range l.Out {
		for i, v := range l.Weight[o*l.In : (o+1)*l.In] {
			s.wt[i*l.Out+o] = v
		}
	}
	s.row = grow(s.row, max(l.In, l.Out))
	simd.LinearRows(dst, x, s.wt, l.Bias, s.row, r, l.In, l.Out, simd.Overwrite)
}

// backward accumulates the parameter gradients of y = x·Wᵀ + b into g
// from dy[r,Out] and the layer input x[r,In], and writes dx = dy·W when dx
// is not nil (accumulating into it when accumulate is set). The weight
// gradient dW += dyᵀ·x is summed over blocks of gradBlock rows, each a
// simd.LinearRows product of the block's transposed gradients with its
// input rows; dx is one simd.LinearRows product with W itself, whose
// [Out,In] layout is the kernel's transposed weights for dy·W.
func (s *linearScratch) backward(dx, dy, x []float32, r int, l, g *model.Linear, accumulate bool) {
	s.row = grow(s.row, max(l.In, l.Out))
	for lo := 0; lo < r; lo += gradBlock {
		n := min(gradBlock, r-lo)
		s.dyt = grow(s.dyt, l.Out*n)
		for i := range n {
			for o, v := range dy[(lo+i)*l.Out : (lo+i+1)*l.Out] {
				s.dyt[o*n+i] = v
			}
		}
		simd.LinearRows(g.Weight, s.dyt, x[lo*l.In:(lo+n)*l.In], nil, s.row, l.Out, n, l.In, simd.Accumulate)
	}
	if g.Bias != nil {
		for i := range r {
			for j, v := range dy[i*l.Out : (i+1)*l.Out] {
				g.Bias[j] += v
			}
		}
	}
	if dx == nil {
		return
	}
	mode := simd.Overwrite
	if accumulate {
		mode = simd.Accumulate
	}
	simd.LinearRows(dx, dy, l.Weight, nil, s.row, r, l.Out, l.In, mode)
}

// rowMoments returns the mean and 1/√(var+eps) of one row, with the
// biased variance as LayerNorm uses.
func rowMoments(row []float32) (mean, rstd float32) {
	n := float32(len(row))
	for _, v := range row {
		mean += v
	}
	mean /= n
	var ss float32
	for _, v := range row {
		ss += (v - mean) * (v - mean)
	}
	return mean, float32(1 / math.Sqrt(float64(ss/n)+layerNormEps))
}

// layerNormForward writes LN(x) to dst for r rows of width e and stores
// each row's mean and reciprocal standard deviation.
func layerNormForward(dst, x, mean, rstd []float32, r, e int, ln *model.LayerNorm) {
	for i := range r {
		mu, inv := rowMoments(x[i*e : (i+1)*e])
		mean[i], rstd[i] = mu, inv
		for j, v := range x[i*e : (i+1)*e] {
			dst[i*e+j] = (v-mu)*inv*ln.Weight[j] + ln.Bias[j]
		}
	}
}

// layerNormBackward accumulates dγ, dβ into g and adds the input gradient
// to dx, from dy and the forward input x with its saved statistics.
func layerNormBackward(dx, dy, x, mean, rstd []float32, r, e int, ln, g *model.LayerNorm) {
	for i := range r {
		row, d, out := x[i*e:(i+1)*e], dy[i*e:(i+1)*e], dx[i*e:(i+1)*e]
		mu, inv := mean[i], rstd[i]
		var sumD, sumDX float32
		for j, v := range row {
			xh := (v - mu) * inv
			g.Weight[j] += d[j] * xh
			g.Bias[j] += d[j]
			dxh := d[j] * ln.Weight[j]
			sumD += dxh
			sumDX += dxh * xh
		}
		sumD /= float32(e)
		sumDX /= float32(e)
		for j, v := range row {
			xh := (v - mu) * inv
			out[j] += inv * (d[j]*ln.Weight[j] - sumD - xh*sumDX)
		}
	}
}

func axpy(a float32, x, y []float32) {
	blas32.Axpy(a, blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(y), Inc: 1, Data: y})
}

func dot(x, y []float32) float32 {
	return blas32.Dot(blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(y), Inc: 1, Data: y})
}

// mix is the splitmix64 finaliser (S. Vigna), a bijective 64-bit hash.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// streamKey derives the key of one dropout stream from its coordinates.
func streamKey(parts ...uint64) uint64 {
	k := uint64(0x243f6a8885a308d3)
	for _, p := range parts {
		k = mix(k ^ (p + 0x9e3779b97f4a7c15))
	}
	return k
}

// dropout describes one dropout site: drop probability p, the inverse keep
// scale 1/(1−p) and the 16-bit threshold below which a draw drops (p is
// resolved to 1/65536; 0.1 becomes 6554/65536 = 0.100006). The draws of a
// stream are simd.WyrandDraws from the stream's key.
type dropout struct {
	scale  float32
	thresh uint16
}

func newDropout(p float64) dropout {
	if p <= 0 {
		return dropout{scale: 1}
	}
	return dropout{scale: float32(1 / (1 - p)), thresh: uint16(math.Round(p * (1 << 16)))}
}

// active reports whether the site drops anything.
func (d dropout) active() bool { return d.thresh > 0 }

// dropChunk is the number of draws apply generates at a time.
const dropChunk = 512

// draws writes the first len(u) 16-bit draws of stream key to u.
func (d dropout) draws(u []uint16, key uint64) { simd.WyrandDraws(u, key) }

// apply multiplies v in place by the dropout multipliers of stream key,
// generating the draws dropChunk at a time into *scratch (allocated on
// first use; a buffer that stays in the cache, where fresh memory for
// every call cost more than generating the draws).
func (d dropout) apply(v []float32, key uint64, scratch *[]uint16) {
	if cap(*scratch) < dropChunk {
		*scratch = make([]uint16, dropChunk)
	}
	buf := (*scratch)[:dropChunk]
	state := key
	for len(v) > 0 {
		n := min(len(v), dropChunk)
		state = simd.WyrandDraws(buf[:n], state)
		simd.DropScale(v[:n], buf[:n], d.thresh, d.scale)
		v = v[n:]
	}
}
