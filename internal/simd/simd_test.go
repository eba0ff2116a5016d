package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernels compares the selected kernels (AVX2 assembly where the
// processor has it) with the portable ones on every tail length.
func TestKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	fill := normals(rng)
	for u := 1; u <= 70; u++ {
		for _, dh := range []int{1, 4, 8, 32} {
			q, kt := fill(dh), fill(dh*u)
			got, want := make([]float32, u), make([]float32, u)
			mx := ScoresRow(got, q, kt, u)
			wantMax := scoresRowGeneric(want, q, kt, u)
			if math.Abs(float64(mx-wantMax)) > 1e-5*float64(dh) {
				t.Fatalf("ScoresRow u=%d dh=%d: max %v, want %v", u, dh, mx, wantMax)
			}
			for j := range u {
				if math.Abs(float64(got[j]-want[j])) > 1e-5*float64(dh) {
					t.Fatalf("ScoresRow u=%d dh=%d: s[%d] = %v, want %v", u, dh, j, got[j], want[j])
				}
			}
		}
		for _, dh := range []int{1, 4, 8, 32} {
			q0, q1, kt := fill(dh), fill(dh), fill(dh*u)
			a0, a1 := make([]float32, u), make([]float32, u)
			b0, b1 := make([]float32, u), make([]float32, u)
			m0, m1 := ScoresRow2(a0, a1, q0, q1, kt, u)
			w0, w1 := scoresRowGeneric(b0, q0, kt, u), scoresRowGeneric(b1, q1, kt, u)
			if math.Abs(float64(m0-w0)) > 1e-5*float64(dh) || math.Abs(float64(m1-w1)) > 1e-5*float64(dh) {
				t.Fatalf("ScoresRow2 u=%d dh=%d: max %v %v, want %v %v", u, dh, m0, m1, w0, w1)
			}
			for j := range u {
				if math.Abs(float64(a0[j]-b0[j])) > 1e-5*float64(dh) || math.Abs(float64(a1[j]-b1[j])) > 1e-5*float64(dh) {
					t.Fatalf("ScoresRow2 u=%d dh=%d: s[%d] = %v %v, want %v %v", u, dh, j, a0[j], a1[j], b0[j], b1[j])
				}
			}
		}
		for _, dh := range []int{1, 4, 6, 8, 32} {
			p, vt := fill(u), fill(dh*u)
			got, want := make([]float32, dh), make([]float32, dh)
			WeightedRows(got, p, vt, u)
			for k := range dh {
				want[k] = dotGeneric(p, vt[k*u:(k+1)*u])
			}
			for k := range dh {
				if math.Abs(float64(got[k]-want[k])) > 1e-5*float64(u) {
					t.Fatalf("WeightedRows u=%d dh=%d: out[%d] = %v, want %v", u, dh, k, got[k], want[k])
				}
			}
		}
		ax, ay := fill(u), fill(u)
		want := append([]float32{}, ay...)
		axpyGeneric(0.7, ax, want)
		Axpy(0.7, ax, ay)
		for i := range u {
			if math.Abs(float64(ay[i]-want[i])) > 1e-6 {
				t.Fatalf("Axpy n=%d: y[%d] = %v, want %v", u, i, ay[i], want[i])
			}
		}
		es := fill(u)
		es2 := append([]float32{}, es...)
		esum, esum2 := ExpSub(es, 1.5), expSubGeneric(es2, 1.5)
		for i := range u {
			if math.Abs(float64(es[i]-es2[i])) > 3e-7*math.Abs(float64(es2[i])) {
				t.Fatalf("ExpSub n=%d: [%d] = %v, want %v", u, i, es[i], es2[i])
			}
		}
		if math.Abs(float64(esum-esum2)) > 1e-5*math.Abs(float64(esum2)) {
			t.Fatalf("ExpSub n=%d: sum %v, want %v", u, esum, esum2)
		}
		x, y := fill(u), fill(u)
		if got, want := Dot(x, y), dotGeneric(x, y); math.Abs(float64(got-want)) > 1e-5*float64(u) {
			t.Fatalf("dot n=%d: %v, want %v", u, got, want)
		}
		s, count := fill(u), fill(u)
		for i := range count {
			count[i] = float32(1 + rng.IntN(5))
			s[i] *= 10
		}
		s[u/2] = -200 // underflows to 0
		s2 := append([]float32{}, s...)
		mx := float32(3)
		sum, sum2 := ExpShift(s, count, mx), expShiftGeneric(s2, count, mx)
		for j := range u {
			if math.Abs(float64(s[j]-s2[j])) > 3e-7*math.Abs(float64(s2[j]))+1e-30 {
				t.Fatalf("ExpShift n=%d: [%d] = %v, want %v", u, j, s[j], s2[j])
			}
		}
		if math.Abs(float64(sum-sum2)) > 1e-5*math.Abs(float64(sum2)) {
			t.Fatalf("ExpShift n=%d: sum %v, want %v", u, sum, sum2)
		}
	}
}

func BenchmarkAttentionKernels(b *testing.B) {
	const u, dh = 500, 8
	q, kt := make([]float32, dh), make([]float32, dh*u)
	s, count := make([]float32, u), make([]float32, u)
	for i := range count {
		count[i] = 1
	}
	for range b.N {
		ScoresRow(s, q, kt, u)
		ExpShift(s, count, 0)
		for k := range dh {
			Dot(s, kt[k*u:(k+1)*u])
		}
	}
}

// BenchmarkScores compares one query at a time with two queries sharing
// the key loads, for one head of a 400-frame sequence (SIMS audio).
func BenchmarkScores(b *testing.B) {
	const u, dh = 400, 8
	q0, q1, kt := make([]float32, dh), make([]float32, dh), make([]float32, dh*u)
	s0, s1 := make([]float32, u), make([]float32, u)
	b.Run("one", func(b *testing.B) {
		for range b.N {
			ScoresRow(s0, q0, kt, u)
			ScoresRow(s1, q1, kt, u)
		}
	})
	b.Run("two", func(b *testing.B) {
		for range b.N {
			ScoresRow2(s0, s1, q0, q1, kt, u)
		}
	})
}

// normals returns a function giving n float32 draws of rng's standard
// normal distribution.
func normals(rng *rand.Rand) func(n int) []float32 {
	return func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
}
