package audio

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

func TestRadix2MatchesGonum(t *testing.T) {
	t.Parallel()
	for _, n := range []int{4, 8, 16, 1024, 2048, 4096} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			x := gaussianNoise(7, n)
			want := fourier.NewFFT(n).Coefficients(nil, x)
			f := newRealFFT(n)
			if _, ok := f.(*radix2RealFFT); !ok {
				t.Fatalf("newRealFFT(%d) is %T, want the radix-2 transform", n, f)
			}
			got := f.Coefficients(make([]complex128, n/2+1), x)
			// Both are float64 FFTs: they differ by rounding, about
			// sqrt(n)*log2(n) ulps of the input norm.
			tol := 1e-12 * math.Sqrt(float64(n)) * math.Log2(float64(n))
			for k := range want {
				if d := cmplx.Abs(got[k] - want[k]); d > tol {
					t.Fatalf("X[%d] = %v, gonum %v (|diff| %g)", k, got[k], want[k], d)
				}
			}
		})
	}
	if _, ok := newRealFFT(1000).(*fourier.FFT); !ok {
		t.Error("newRealFFT(1000) is not gonum's mixed-radix FFT")
	}
}

// gaussianNoise returns n standard normal values from a PCG seeded with
// (seed, n).
func gaussianNoise(seed uint64, n int) []float64 {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func BenchmarkRealFFT1024(b *testing.B) {
	x := make([]float64, 1024)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	dst := make([]complex128, 513)
	for _, impl := range []struct {
		name string
		fft  realFFT
	}{{"radix2", newRadix2RealFFT(1024)}, {"gonum", fourier.NewFFT(1024)}} {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.fft.Coefficients(dst, x)
			}
		})
	}
}
