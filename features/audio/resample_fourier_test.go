package audio

import (
	"fmt"
	"math"
	"math/cmplx"
	"testing"
)

func TestRealDFTMatchesNaiveDFT(t *testing.T) {
	t.Parallel()
	// 2757 = 3*919 and 4099 (prime) take the Bluestein path; 1, 2, 7, 97
	// and 1000 gonum's mixed-radix FFT.
	for _, n := range []int{1, 2, 7, 97, 1000, 2757, 4099} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			x := gaussianNoise(1, n)
			twiddle := make([]complex128, n) // exp(-2*pi*i*r/n)
			for r := range twiddle {
				twiddle[r] = cmplx.Rect(1, -2*math.Pi*float64(r)/float64(n))
			}
			d := newRealDFT(n)
			if bluestein := d.chirp != nil; bluestein != (n == 2757 || n == 4099) {
				t.Fatalf("newRealDFT(%d) uses Bluestein: %v", n, bluestein)
			}
			got := d.forward(x)
			for k := range got {
				var want complex128
				for j, v := range x {
					want += complex(v, 0) * twiddle[(j*k)%n]
				}
				if cmplx.Abs(got[k]-want) > 1e-9*math.Sqrt(float64(n)) {
					t.Fatalf("X[%d] = %v, want %v", k, got[k], want)
				}
			}
			back := d.inverse(got)
			for i, v := range x {
				if math.Abs(back[i]/float64(n)-v) > 1e-12*math.Sqrt(float64(n)) {
					t.Fatalf("inverse(forward(x))[%d]/n = %v, want %v", i, back[i]/float64(n), v)
				}
			}
		})
	}
}

func TestOctavesBandLimitedCosine(t *testing.T) {
	t.Parallel()
	// A cosine with a whole number of cycles below every new Nyquist is
	// periodic and band-limited, so the Fourier method reproduces it
	// exactly at each halved rate, times sqrt(2) per halving (librosa
	// scale=True).
	for _, n := range []int{64, 65, 2757, 5513} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			const cycles = 5
			y := make([]float32, n)
			for i := range y {
				y[i] = float32(0.5 * math.Cos(2*math.Pi*cycles*float64(i)/float64(n)))
			}
			got := make([][]float32, 2)
			newHalver().octaves(got, y)
			m := n
			for level, out := range got {
				m = (m + 1) / 2
				if len(out) != m {
					t.Fatalf("halving %d: length = %d, want %d", level+1, len(out), m)
				}
				amp := 0.5 * math.Pow(math.Sqrt2, float64(level+1))
				for j, v := range out {
					// The input carries float32 rounding: 1e-6 covers it.
					want := amp * math.Cos(2*math.Pi*cycles*float64(j)/float64(m))
					if math.Abs(float64(v)-want) > 1e-6 {
						t.Fatalf("halving %d, sample %d = %v, want %v", level+1, j, v, want)
					}
				}
			}
		})
	}
}

// TestFastLength checks fastLength against its definition on every length
// of a range: the result is the largest length at most n, at least
// n-MaxFastLengthTrim, that is a multiple of fastBlock whose quotient has
// no prime factor above fastPrime, found by brute force.
func TestFastLength(t *testing.T) {
	t.Parallel()
	fast := func(m int) bool {
		if m%fastBlock != 0 {
			return false
		}
		q := m / fastBlock
		for p := 2; p <= q; p++ {
			for q%p == 0 {
				if p > fastPrime {
					return false
				}
				q /= p
			}
		}
		return true
	}
	for n := 1; n <= 30000; n += 7 {
		want := n
		for m := n; m > 0 && n-m <= MaxFastLengthTrim; m-- {
			if fast(m) {
				want = m
				break
			}
		}
		if got := fastLength(n); got != want {
			t.Fatalf("fastLength(%d) = %d, want %d", n, got, want)
		}
	}
}
