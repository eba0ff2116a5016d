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

// maxPolyphaseWeights bounds the precomputed filter of one Resample call
// (8 MB of float64). Rate pairs whose reduced ratio has more phases than
// that, or than output samples, compute each output's taps on the fly.
const maxPolyphaseWeights = 1 << 20

// Resample converts src, sampled at fromRate Hz, to toRate Hz by
// band-limited (windowed-sinc) interpolation with a Kaiser window: 64 zero
// crossings each side, cutoff at 0.948 of the lower of the two Nyquist
// frequencies, Kaiser beta 14.77 (resampy's "kaiser_best" filter; a 10 kHz
// tone taken from 44.1 to 16 kHz comes out 150 dB down). Output samples at
// the same phase of the reduced ratio toRate/fromRate share their taps, which
// are computed once per call. Samples outside src count as zero. The result,
// ResampledLength(len(src), fromRate, toRate) samples, is written into dst's
// memory when its capacity allows and returned. When the rates are equal src
// is copied. Resample is safe for concurrent use.
func Resample(dst, src []float32, fromRate, toRate int) ([]float32, error) {
	if fromRate <= 0 || toRate <= 0 {
		return nil, fmt.Errorf("audio: resample from %d Hz to %d Hz: rates must be positive", fromRate, toRate)
	}
	n := ResampledLength(len(src), fromRate, toRate)
	dst = resize(dst, n)
	if fromRate == toRate {
		copy(dst, src)
		return dst, nil
	}
	g := gcd(fromRate, toRate)
	from, phases := int64(fromRate/g), int64(toRate/g)
	f := newPolyphaseFilter(fromRate, toRate)
	// Tabulate every phase's taps when there are fewer phases than outputs
	// and the table stays small; otherwise compute them per output.
	var table []phaseTaps
	var weights []float64
	if phases <= int64(n) && phases*int64(f.maxTaps()) <= maxPolyphaseWeights {
		table = make([]phaseTaps, phases)
		weights = make([]float64, 0, phases*int64(f.maxTaps()))
		for p := range table {
			off := len(weights)
			var left int
			weights, left = f.taps(weights, float64(p)/float64(phases))
			table[p] = phaseTaps{taps: weights[off:len(weights):len(weights)], left: left}
		}
	}
	var scratch phaseTaps
	for j := range dst {
		// Output j sits at input position j*from/phases = base + phase/phases.
		pos := int64(j) * from
		base, phase := int(pos/phases), pos%phases
		pt := &scratch
		if table != nil {
			pt = &table[phase]
		} else {
			scratch.taps, scratch.left = f.taps(scratch.taps[:0], float64(phase)/float64(phases))
		}
		// taps[t] weights input start+t; inputs outside src are zero.
		start := base - pt.left + 1
		lo, hi := max(0, -start), min(len(pt.taps), len(src)-start)
		var sum float64
		if lo < hi {
			xs := src[start+lo : start+hi]
			ws := pt.taps[lo:hi]
			ws = ws[:len(xs)]
			for t, v := range xs {
				sum += ws[t] * float64(v)
			}
		}
		dst[j] = float32(sum)
	}
	return dst, nil
}

// phaseTaps are the kernel taps of one output phase, ordered by input:
// taps[t] weights input base-left+1+t, where base is the last input at or
// before the output and left the number of taps at or before base.
type phaseTaps struct {
	taps []float64
	left int
}

// polyphaseFilter evaluates the interpolation kernel for one rate pair.
type polyphaseFilter struct {
	kernel []float64
	// scale is min(1, to/from): when downsampling the kernel widens by
	// from/to and its height shrinks by to/from, moving the cutoff below the
	// new Nyquist.
	scale float64
	step  float64 // kernel table entries per input sample
	last  float64 // table index of the kernel's end
}

func newPolyphaseFilter(fromRate, toRate int) polyphaseFilter {
	scale := math.Min(1, float64(toRate)/float64(fromRate))
	return polyphaseFilter{
		kernel: resampleKernel(),
		scale:  scale,
		step:   scale * resampleTableDensity,
		last:   float64(resampleZeroCrossings * resampleTableDensity),
	}
}

// maxTaps is the most taps one output can have.
func (f polyphaseFilter) maxTaps() int { return 2 * (int(f.last/f.step) + 1) }

// taps appends to dst the taps for an output at fraction frac of an input
// sample past its base input, ordered by input (see phaseTaps), and returns
// them with the number of taps at or before base: inputs base-i at distance
// frac+i and base+1+i at distance 1-frac+i, while within the kernel.
func (f polyphaseFilter) taps(dst []float64, frac float64) ([]float64, int) {
	left := 0
	for (frac+float64(left))*f.step < f.last {
		left++
	}
	for i := left - 1; i >= 0; i-- {
		dst = append(dst, f.scale*interpolateKernel(f.kernel, (frac+float64(i))*f.step))
	}
	for i := 0; (1-frac+float64(i))*f.step < f.last; i++ {
		dst = append(dst, f.scale*interpolateKernel(f.kernel, (1-frac+float64(i))*f.step))
	}
	return dst, left
}

// interpolateKernel reads the kernel table at fractional index x.
func interpolateKernel(kernel []float64, x float64) float64 {
	i := int(x)
	f := x - float64(i)
	return kernel[i] + f*(kernel[i+1]-kernel[i])
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
