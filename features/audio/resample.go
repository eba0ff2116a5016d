package audio

import (
	"fmt"
	"math"
	"sync"
)

// Parameters of the band-limited interpolation filter: those of resampy's
// "kaiser_best" filter (resampy 0.2, the resampler of librosa 0.7.1 that
// MMSA used).
const (
	// resampleZeroCrossings is the half-length of the sinc kernel in zero
	// crossings (input samples when upsampling).
	resampleZeroCrossings = 64
	// resampleTableDensity is the number of kernel samples per zero crossing
	// (2^9); values between them are interpolated linearly.
	resampleTableDensity = 512
	// resampleRolloff is the cutoff as a fraction of the lower Nyquist
	// frequency.
	resampleRolloff = 0.9475937167399596
	// resampleKaiserBeta is the Kaiser window's shape parameter.
	resampleKaiserBeta = 14.769656459379492
)

// resampleKernel returns the right half of the windowed-sinc kernel,
// rolloff*sinc(rolloff*t)*kaiser(t/64) sampled at t = i/512 for
// i = 0..64*512, plus one trailing zero so that linear interpolation may
// read one entry past the end.
var resampleKernel = sync.OnceValue(func() []float64 {
	n := resampleZeroCrossings * resampleTableDensity
	k := make([]float64, n+2)
	norm := besselI0(resampleKaiserBeta)
	for i := 0; i <= n; i++ {
		t := float64(i) / resampleTableDensity
		x := float64(i) / float64(n)
		w := besselI0(resampleKaiserBeta*math.Sqrt(1-x*x)) / norm
		k[i] = resampleRolloff * sinc(resampleRolloff*t) * w
	}
	return k
})

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind of order 0,
// summed from its power series sum_k ((x/2)^k/k!)^2.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; term > sum*1e-17; k++ {
		term *= q / float64(k*k)
		sum += term
	}
	return sum
}

// ResampledLength returns the number of samples Resample produces for n
// input samples: ceil(n*toRate/fromRate), as librosa.resample.
func ResampledLength(n, fromRate, toRate int) int {
	return int((int64(n)*int64(toRate) + int64(fromRate) - 1) / int64(fromRate))
}

// Resample converts src, sampled at fromRate Hz, to toRate Hz by
// band-limited (windowed-sinc) interpolation with a Kaiser window: 64 zero
// crossings each side, cutoff at 0.948 of the lower of the two Nyquist
// frequencies, Kaiser beta 14.77 (resampy's "kaiser_best" filter; a 10 kHz
// tone taken from 44.1 to 16 kHz comes out 150 dB down). Samples outside src
// count as zero. The result,
// ResampledLength(len(src), fromRate, toRate) samples, is written into dst's
// memory when its capacity allows and returned. When the rates are equal src
// is copied. Resample is safe for concurrent use.
func Resample(dst, src []float32, fromRate, toRate int) ([]float32, error) {
	if fromRate <= 0 || toRate <= 0 {
		return nil, fmt.Errorf("audio: resample from %d Hz to %d Hz: rates must be positive", fromRate, toRate)
	}
	n := ResampledLength(len(src), fromRate, toRate)
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	if fromRate == toRate {
		copy(dst, src)
		return dst, nil
	}
	kernel := resampleKernel()
	last := float64(resampleZeroCrossings * resampleTableDensity)
	// When downsampling the kernel widens by fromRate/toRate and its height
	// shrinks by toRate/fromRate, moving the cutoff below the new Nyquist.
	scale := math.Min(1, float64(toRate)/float64(fromRate))
	step := scale * resampleTableDensity // table entries per input sample
	from, to := int64(fromRate), int64(toRate)
	for j := range dst {
		// Output j sits at input position j*from/to = base + frac.
		pos := int64(j) * from
		base := int(pos / to)
		frac := float64(pos%to) / float64(to)
		var sum float64
		// Left wing: inputs base, base-1, ... at distances frac, frac+1, ...
		for i, x := 0, frac*step; x < last && base-i >= 0; i, x = i+1, x+step {
			if base-i < len(src) {
				sum += interpolateKernel(kernel, x) * float64(src[base-i])
			}
		}
		// Right wing: inputs base+1, base+2, ... at distances 1-frac, 2-frac, ...
		for i, x := base+1, (1-frac)*step; x < last && i < len(src); i, x = i+1, x+step {
			sum += interpolateKernel(kernel, x) * float64(src[i])
		}
		dst[j] = float32(sum * scale)
	}
	return dst, nil
}

// interpolateKernel reads the kernel table at fractional index x.
func interpolateKernel(kernel []float64, x float64) float64 {
	i := int(x)
	f := x - float64(i)
	return kernel[i] + f*(kernel[i+1]-kernel[i])
}
