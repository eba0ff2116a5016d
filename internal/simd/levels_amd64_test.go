//go:build !noasm

package simd

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// kernelSet is one instruction set's implementation of the attention
// kernels.
type kernelSet struct {
	name        string
	scoresRow   func(s, q, kt []float32, u int) float32
	scoresRow2  func(s0, s1, q0, q1, kt []float32, u int) (float32, float32)
	expWeighted func(out, s, count, vt []float32, mx float32) float32
	linearRows  func(dst, x, wt, bias, scratch []float32, rows, in, out int, mode Mode)
	axpy        func(a float32, x, y []float32)
	dropScale   func(v []float32, draws []uint16, thresh uint16, scale float32)
	softmaxGrad func(dp, s, e []float32, inv float32, draws []uint16, thresh uint16, scale float32)
	axpy4       func(y []float32, a *[4]float32, x []float32, u int)
}

// kernelSets lists the portable kernels and every assembly set this
// processor runs.
func kernelSets(t *testing.T) []kernelSet {
	sets := []kernelSet{{"generic", scoresRowGeneric, scoresRow2Generic, func(out, s, count, vt []float32, mx float32) float32 {
		sum := expShiftGeneric(s, count[:len(s)], mx)
		weightedRowsGeneric(out, s, vt, len(s))
		return sum
	}, func(dst, x, wt, bias, scratch []float32, rows, in, out int, mode Mode) {
		withKernel(&scoresRow, scoresRowGeneric, func() { linearRowsGeneric(dst, x, wt, bias, scratch, rows, in, out, mode) })
	}, axpyGeneric, dropScaleGeneric, func(dp, s, e []float32, inv float32, draws []uint16, thresh uint16, scale float32) {
		withKernel(&dot, dotGeneric, func() { softmaxGradGeneric(dp, s, e, inv, draws, thresh, scale) })
	}, axpy4Generic}}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		sets = append(sets, kernelSet{"avx2",
			func(s, q, kt []float32, u int) float32 { return scoresRowAVX2(s, q, kt, u, u) },
			func(s0, s1, q0, q1, kt []float32, u int) (float32, float32) {
				return scoresRow2AVX2(s0, s1, q0, q1, kt, u, u)
			},
			func(out, s, count, vt []float32, mx float32) float32 {
				sum := expShiftAVX2(s, count[:len(s)], mx)
				weightedRowsAVX2(out, s, vt, len(s))
				return sum
			},
			func(dst, x, wt, bias, scratch []float32, rows, in, out int, mode Mode) {
				avx2 := func(s, q, kt []float32, u int) float32 { return scoresRowAVX2(s, q, kt, u, u) }
				withKernel(&scoresRow, avx2, func() { linearRowsGeneric(dst, x, wt, bias, scratch, rows, in, out, mode) })
			}, axpyAVX2, dropScaleGeneric, func(dp, s, e []float32, inv float32, draws []uint16, thresh uint16, scale float32) {
				withKernel(&dot, dotAVX2, func() { softmaxGradGeneric(dp, s, e, inv, draws, thresh, scale) })
			}, axpy4Generic})
	} else {
		t.Log("no AVX2/FMA: assembly kernels not tested")
	}
	if cpu.X86.HasAVX512F {
		sets = append(sets, kernelSet{"avx512", scoresRowAVX512, scoresRow2AVX512,
			func(out, s, count, vt []float32, mx float32) float32 {
				if len(out) >= 8 {
					return expWeightedAVX512(out, s, count, vt, mx)
				}
				// The rows the fused kernel leaves to the AVX-512 dot products.
				sum := expShiftAVX2(s, count[:len(s)], mx)
				weightedRowsAVX512(out, s, vt, len(s))
				return sum
			}, linearRowsAVX512, axpyAVX512Slices, dropScaleAVX512Slices, softmaxGradAVX512, axpy4AVX512Slices})
	} else {
		t.Log("no AVX-512F: AVX-512 kernels not tested")
	}
	return sets
}

// TestKernelSetsAgainstFloat64 runs every kernel set on random inputs of
// every tail length up to 70 and a few long rows, and compares each with
// a float64 computation (so the sets are also checked against each
// other): scores and maxima to 1e-6 of Σ|q·k|, the fused softmax weights
// to Expf's error plus the float32 rounding of s−mx, sums and weighted
// outputs to the float32 summation bound of their float64 magnitude.
func TestKernelSetsAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4))
	fill := normals(rng)
	lengths := []int{375, 500, 1000}
	for u := 1; u <= 70; u++ {
		lengths = append(lengths, u)
	}
	for _, set := range kernelSets(t) {
		for _, u := range lengths {
			for _, dh := range []int{1, 4, 8, 16, 32} {
				q0, q1, kt := fill(dh), fill(dh), fill(dh*u)
				// float64 scores and their magnitudes.
				want := func(q []float32) (s []float64, mag []float64, mx float64) {
					s, mag, mx = make([]float64, u), make([]float64, u), math.Inf(-1)
					for j := range u {
						for k := range dh {
							p := float64(q[k]) * float64(kt[k*u+j])
							s[j] += p
							mag[j] += math.Abs(p)
						}
						mx = math.Max(mx, s[j])
					}
					return s, mag, mx
				}
				w0, mag0, wmx0 := want(q0)
				w1, mag1, wmx1 := want(q1)
				s := make([]float32, u)
				mx := set.scoresRow(s, q0, kt, u)
				for j := range u {
					if math.Abs(float64(s[j])-w0[j]) > 1e-6*mag0[j]+1e-30 {
						t.Fatalf("%s ScoresRow u=%d dh=%d: s[%d] = %v, float64 %v", set.name, u, dh, j, s[j], w0[j])
					}
				}
				if float64(mx) != float64(maxOf(s)) || math.Abs(float64(mx)-wmx0) > 1e-5 {
					t.Fatalf("%s ScoresRow u=%d dh=%d: max %v, float64 %v", set.name, u, dh, mx, wmx0)
				}
				a, b := make([]float32, u), make([]float32, u)
				m0, m1 := set.scoresRow2(a, b, q0, q1, kt, u)
				for j := range u {
					if math.Abs(float64(a[j])-w0[j]) > 1e-6*mag0[j]+1e-30 || math.Abs(float64(b[j])-w1[j]) > 1e-6*mag1[j]+1e-30 {
						t.Fatalf("%s ScoresRow2 u=%d dh=%d: s[%d] = %v %v, float64 %v %v", set.name, u, dh, j, a[j], b[j], w0[j], w1[j])
					}
				}
				if m0 != maxOf(a) || m1 != maxOf(b) || math.Abs(float64(m1)-wmx1) > 1e-5 {
					t.Fatalf("%s ScoresRow2 u=%d dh=%d: max %v %v, float64 %v %v", set.name, u, dh, m0, m1, wmx0, wmx1)
				}

				// Fused softmax and values on the scores, with counts.
				count := make([]float32, u)
				for j := range count {
					count[j] = float32(1 + rng.IntN(3))
				}
				vt := fill(dh * u)
				out := make([]float32, dh)
				scores := append([]float32{}, s...)
				sum := set.expWeighted(out, s, count, vt, mx)
				var wsum float64
				wout, wmag := make([]float64, dh), make([]float64, dh)
				for j := range u {
					x := float64(scores[j]) - float64(mx)
					p := float64(count[j]) * math.Exp(x)
					// Expf's 2e-7 plus the rounding of s-mx in float32.
					if math.Abs(float64(s[j])-p) > (2e-7+1.2e-7*math.Abs(x))*p {
						t.Fatalf("%s ExpWeighted u=%d dh=%d: p[%d] = %v, float64 %v", set.name, u, dh, j, s[j], p)
					}
					wsum += p
					for k := range dh {
						wout[k] += p * float64(vt[k*u+j])
						wmag[k] += math.Abs(p * float64(vt[k*u+j]))
					}
				}
				// Float32 sums of u terms: within u·2⁻²⁴ of the magnitudes,
				// plus the weights' own error.
				tol := float64(u)/(1<<24) + 4e-7
				if math.Abs(float64(sum)-wsum) > tol*wsum {
					t.Fatalf("%s ExpWeighted u=%d dh=%d: sum %v, float64 %v", set.name, u, dh, sum, wsum)
				}
				for k := range dh {
					if math.Abs(float64(out[k])-wout[k]) > tol*wmag[k] {
						t.Fatalf("%s ExpWeighted u=%d dh=%d: out[%d] = %v, float64 %v", set.name, u, dh, k, out[k], wout[k])
					}
				}
			}
		}
	}
}

// TestAxpyAgainstFloat64 runs every kernel set's axpy on every length up
// to 70 and a long one against float64, to 1e-6 of |a·x| + |y|.
func TestAxpyAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, set := range kernelSets(t) {
		for _, n := range append([]int{375, 1000}, seq(0, 70)...) {
			x, y := make([]float32, n+1), make([]float32, n+1)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			old := append([]float32{}, y...)
			set.axpy(0.3, x[:n], y[:n])
			for i := range n {
				want := float64(old[i]) + 0.3*float64(x[i])
				if math.Abs(float64(y[i])-want) > 1e-6*(math.Abs(0.3*float64(x[i]))+math.Abs(float64(old[i]))) {
					t.Fatalf("%s Axpy n=%d: y[%d] = %v, float64 %v", set.name, n, i, y[i], want)
				}
			}
			if y[n] != old[n] {
				t.Fatalf("%s Axpy n=%d wrote past the end", set.name, n)
			}
		}
	}
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

// TestExpWeightedLowScores gives every kernel set scores far below zero
// (the largest -150), where e^(0−mx) overflows: lanes past the end of a
// row must still get weight 0, not Inf·0 = NaN.
func TestExpWeightedLowScores(t *testing.T) {
	for _, set := range kernelSets(t) {
		for _, u := range []int{16, 17, 23, 31, 375} {
			s, count, vt := make([]float32, u), make([]float32, u), make([]float32, 8*u)
			for j := range s {
				s[j], count[j] = -150-float32(j%5), 1
			}
			for i := range vt {
				vt[i] = 1
			}
			out := make([]float32, 8)
			sum := set.expWeighted(out, s, count, vt, -150)
			var want float64
			for j := range u {
				want += math.Exp(-float64(j % 5))
			}
			if math.Abs(float64(sum)-want) > 1e-5*want {
				t.Errorf("%s u=%d: sum %v, want %v", set.name, u, sum, want)
			}
			for k, v := range out {
				if math.Abs(float64(v)-want) > 1e-5*want {
					t.Errorf("%s u=%d: out[%d] = %v, want %v", set.name, u, k, v, want)
				}
			}
		}
	}
}

// withKernel runs fn with the kernel variable *slot (scoresRow, the kernel
// of linearRowsGeneric; dot, that of softmaxGradGeneric) set to k, then
// restores it.
func withKernel[F any](slot *F, k F, fn func()) {
	saved := *slot
	*slot = k
	defer func() { *slot = saved }()
	fn()
}

// TestLinearRowsAgainstFloat64 runs every kernel set's linear layer on the
// encoder's layer shapes and odd ones (row counts not a multiple of 4,
// widths not a multiple of 32), in every mode, with and without a bias,
// against float64, to 1e-6 of Σ|x·w| + |b| + |dst|.
func TestLinearRowsAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	fill := normals(rng)
	for _, set := range kernelSets(t) {
		for _, shape := range [][3]int{{1, 32, 96}, {7, 32, 96}, {9, 32, 128}, {13, 128, 32}, {5, 768, 32}, {6, 20, 32}, {4, 33, 48}, {3, 5, 7}} {
			for _, mode := range []Mode{Overwrite, Accumulate, Rectify} {
				for _, withBias := range []bool{false, true} {
					rows, in, out := shape[0], shape[1], shape[2]
					x, wt, dst := fill(rows*in), fill(in*out), fill(rows*out)
					var bias []float32
					if withBias {
						bias = fill(out)
					}
					old := append([]float32{}, dst...)
					set.linearRows(dst, x, wt, bias, make([]float32, out), rows, in, out, mode)
					for r := range rows {
						for j := range out {
							var want, mag float64
							for k := range in {
								p := float64(x[r*in+k]) * float64(wt[k*out+j])
								want += p
								mag += math.Abs(p)
							}
							if bias != nil {
								want += float64(bias[j])
								mag += math.Abs(float64(bias[j]))
							}
							switch mode {
							case Accumulate:
								want += float64(old[r*out+j])
								mag += math.Abs(float64(old[r*out+j]))
							case Rectify:
								want = math.Max(want, 0)
							}
							if got := float64(dst[r*out+j]); math.Abs(got-want) > 1e-6*mag {
								t.Fatalf("%s LinearRows %v mode %d bias %v: dst[%d,%d] = %v, float64 %v", set.name, shape, mode, withBias, r, j, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestDropoutKernelsAgainstFloat64 runs every kernel set's DropScale,
// SoftmaxGrad and Axpy4 on every length up to 70 and a few long rows,
// with dropout thresholds 0 (keep all), 6554 (p ≈ 0.1) and 32768 (p =
// 0.5) and without a mask: DropScale exactly (one float32 product per
// kept value, 0 for dropped ones), SoftmaxGrad against float64 to the
// float32 summation bound of c = Σ p·dp·m, Axpy4 to 1e-6 of the terms'
// magnitudes.
// Nothing may be written past len(v).
func TestDropoutKernelsAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	fill := normals(rng)
	for _, set := range kernelSets(t) {
		for _, n := range append([]int{375, 500, 1000}, seq(0, 70)...) {
			for _, thresh := range []uint16{0, 6554, 32768} {
				scale := float32(1 / (1 - float64(thresh)/65536))
				draws := make([]uint16, n)
				for j := range draws {
					draws[j] = uint16(rng.Uint32())
				}
				mult := func(j int) float64 {
					if draws[j] < thresh {
						return 0
					}
					return float64(scale)
				}
				// DropScale.
				v := fill(n + 1)
				old := append([]float32{}, v...)
				set.dropScale(v[:n], draws, thresh, scale)
				for j := range n {
					want := float32(0)
					if draws[j] >= thresh {
						want = old[j] * scale
					}
					if v[j] != want {
						t.Fatalf("%s DropScale n=%d thresh=%d: v[%d] = %v, want %v", set.name, n, thresh, j, v[j], want)
					}
				}
				if v[n] != old[n] {
					t.Fatalf("%s DropScale n=%d wrote past the end", set.name, n)
				}

				// SoftmaxGrad, with and without the mask.
				for _, masked := range []bool{true, false} {
					e, dp := fill(n+1), fill(n+1)
					for j := range e {
						e[j] = float32(math.Exp(float64(e[j])))
					}
					var sum float64
					for _, v := range e[:n] {
						sum += float64(v)
					}
					inv := float32(1 / max(sum, 1))
					m := mult
					d := draws
					if !masked {
						m, d = func(int) float64 { return 1 }, nil
					}
					var c, cmag float64
					for j := range n {
						p := float64(e[j]) * float64(inv)
						c += p * float64(dp[j]) * m(j)
						cmag += math.Abs(p * float64(dp[j]) * m(j))
					}
					olddp := append([]float32{}, dp...)
					s := fill(n + 1)
					olds := s[n]
					set.softmaxGrad(dp[:n], s[:n], e[:n], inv, d, thresh, scale)
					ctol := (float64(n)/(1<<24) + 4e-7) * cmag
					for j := range n {
						p := float64(e[j]) * float64(inv)
						dpm := float64(olddp[j]) * m(j)
						want := p * (dpm - c)
						if tol := p*(ctol+4e-7*(math.Abs(dpm)+math.Abs(c))) + 1e-30; math.Abs(float64(dp[j])-want) > tol {
							t.Fatalf("%s SoftmaxGrad n=%d thresh=%d masked=%v: dp[%d] = %v, float64 %v", set.name, n, thresh, masked, j, dp[j], want)
						}
						if ws := p * m(j); math.Abs(float64(s[j])-ws) > 2.5e-7*ws {
							t.Fatalf("%s SoftmaxGrad n=%d thresh=%d masked=%v: s[%d] = %v, float64 %v", set.name, n, thresh, masked, j, s[j], ws)
						}
					}
					if dp[n] != olddp[n] || s[n] != olds {
						t.Fatalf("%s SoftmaxGrad n=%d wrote past the end", set.name, n)
					}
				}
			}

			// Axpy4 on rows of stride u > n.
			u := n + 3
			x, y := fill(4*u), fill(n+1)
			a := [4]float32{0.3, -1.7, 0.01, 2.5}
			old := append([]float32{}, y...)
			set.axpy4(y[:n], &a, x, u)
			for j := range n {
				want, mag := float64(old[j]), math.Abs(float64(old[j]))
				for k := range 4 {
					want += float64(a[k]) * float64(x[k*u+j])
					mag += math.Abs(float64(a[k]) * float64(x[k*u+j]))
				}
				if math.Abs(float64(y[j])-want) > 1e-6*mag {
					t.Fatalf("%s Axpy4 n=%d: y[%d] = %v, float64 %v", set.name, n, j, y[j], want)
				}
			}
			if y[n] != old[n] {
				t.Fatalf("%s Axpy4 n=%d wrote past the end", set.name, n)
			}
		}
	}
}

// TestWyrandDraws checks each implementation of WyrandDraws against the
// definition computed with math/big (the full 128-bit product), for every
// length up to 100 and long ones, states near wrap-around, the returned
// state, and a stream generated in chunks of multiples of 4.
func TestWyrandDraws(t *testing.T) {
	impls := map[string]func([]uint16, uint64) uint64{"generic": wyrandDrawsGeneric}
	if cpu.X86.HasAVX512F {
		impls["avx512"] = wyrandDrawsAVX512
	}
	mask64 := new(big.Int).SetUint64(math.MaxUint64)
	reference := func(n int, state uint64) ([]uint16, uint64) {
		u := make([]uint16, 0, n+3)
		for len(u) < n {
			state += wyrandInc
			p := new(big.Int).Mul(new(big.Int).SetUint64(state), new(big.Int).SetUint64(state^wyrandMix))
			lo := new(big.Int).And(p, mask64).Uint64()
			r := p.Rsh(p, 64).Uint64() ^ lo
			for k := range 4 {
				u = append(u, uint16(r>>(16*k)))
			}
		}
		return u[:n], state
	}
	lengths := append(seq(0, 100), 1000, 4097)
	for name, draws := range impls {
		for _, state := range []uint64{0, 42, math.MaxUint64 - 3, 0x123456789abcdef, 1 << 63} {
			for _, n := range lengths {
				want, wantState := reference(n, state)
				got := make([]uint16, n+1)
				got[n] = 0xbeef
				if gotState := draws(got[:n], state); gotState != wantState {
					t.Fatalf("%s n=%d state %#x: returned state %#x, want %#x", name, n, state, gotState, wantState)
				}
				for j := range n {
					if got[j] != want[j] {
						t.Fatalf("%s n=%d state %#x: draw %d = %#x, want %#x", name, n, state, j, got[j], want[j])
					}
				}
				if got[n] != 0xbeef {
					t.Fatalf("%s n=%d wrote past the end", name, n)
				}
			}
			// Chunks of 36 and 4 continue the stream.
			want, _ := reference(1000, state)
			got := make([]uint16, 1000)
			st := state
			for lo := 0; lo < len(got); lo += 40 {
				st = draws(got[lo:lo+36], st)
				st = draws(got[lo+36:lo+40], st)
			}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("%s chunked, state %#x: draw %d = %#x, want %#x", name, state, j, got[j], want[j])
				}
			}
		}
	}
}

func maxOf(s []float32) float32 {
	mx := float32(math.Inf(-1))
	for _, v := range s {
		mx = max(mx, v)
	}
	return mx
}

// TestExpSubLevels checks every ExpSub kernel this processor runs against
// float64 exp, on every length up to 69 (whole blocks of 16 and 8 and
// every tail) with arguments from 0 down into the underflow range, as in
// a softmax row (mx is the row's largest value).
func TestExpSubLevels(t *testing.T) {
	impls := map[string]func([]float32, float32) float32{"generic": expSubGeneric}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls["avx2"] = expSubAVX2
	}
	if cpu.X86.HasAVX512F {
		impls["avx512"] = expSubAVX512
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for name, f := range impls {
		for n := range 70 {
			s := make([]float32, n)
			mx := float32(math.Inf(-1))
			for i := range s {
				s[i] = float32(rng.NormFloat64() * 40)
				mx = max(mx, s[i])
			}
			var wsum float64
			got := append([]float32(nil), s...)
			sum := f(got, mx)
			for i, v := range s {
				want := math.Exp(float64(v - mx)) // the float32 difference, as the kernels take it
				wsum += want
				if math.Abs(float64(got[i])-want) > 3e-7*want+1.2e-38 {
					t.Fatalf("%s n=%d: exp(%v-%v) = %v, want %v", name, n, v, mx, got[i], want)
				}
			}
			if math.Abs(float64(sum)-wsum) > 1e-6*wsum {
				t.Fatalf("%s n=%d: sum %v, want %v", name, n, sum, wsum)
			}
		}
	}
}
