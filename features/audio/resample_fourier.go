package audio

import (
	"math"
	"math/bits"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// maxCachedDFTPlans and maxCachedDFTLength bound the transforms a halver
// keeps: clips of a few distinct lengths up to 65536 samples (3 s at
// 22050 Hz; a streaming window, say) reuse their plans, while longer clips
// or a stream of ever-new lengths cannot grow the retained memory without
// limit (a plan holds about 40 bytes per sample).
const (
	maxCachedDFTPlans  = 32
	maxCachedDFTLength = 1 << 16
)

// halver halves the sample rate of signals repeatedly, caching its DFT
// plans by length. It is not safe for concurrent use.
type halver struct {
	plans map[int]*realDFT
	x     []float64
	kept  []complex128
}

func newHalver() *halver { return &halver{plans: make(map[int]*realDFT)} }

func (h *halver) plan(n int) *realDFT {
	if p, ok := h.plans[n]; ok {
		return p
	}
	p := newRealDFT(n)
	if n <= maxCachedDFTLength {
		if len(h.plans) >= maxCachedDFTPlans {
			clear(h.plans)
		}
		h.plans[n] = p
	}
	return p
}

// octaves writes into dst[i-1], for i = 1..len(dst), the signal y halved
// in rate i times, as librosa's CQT obtains it by applying librosa.resample(
// orig_sr=2, target_sr=1, res_type="fft", scale=True) i times. One halving
// is the Fourier method of scipy.signal.resample: keep the lowest
// ceil(n/2)/2+1 bins of the length-n real DFT, doubling the kept Nyquist
// bin of an even output length, inverse-transform to ceil(n/2) samples and
// scale by ceil(n/2)/n; librosa then multiplies by sqrt(2). Because the DFT
// of a halved signal is the truncated DFT of its input, the i-th halving
// equals one truncation of y's own spectrum, scaled by sqrt(2)^i/len(y):
// a single forward transform serves every octave. (librosa rounds to
// float32 between halvings; skipping that changes the result by about 1e-7
// relative.) The slices in dst are reused when their capacity allows.
func (h *halver) octaves(dst [][]float32, y []float32) {
	n := len(y)
	h.x = resize(h.x, n)
	for i, v := range y {
		h.x[i] = float64(v)
	}
	spectrum := h.plan(n).forward(h.x)
	h.kept = resize(h.kept, len(spectrum))
	gain := 1 / float64(n)
	prev := n
	for i := range dst {
		m := (prev + 1) / 2
		kept := h.kept[:m/2+1]
		copy(kept, spectrum)
		if m%2 == 0 && m < prev {
			kept[m/2] *= 2
		}
		gain *= math.Sqrt2
		out := h.plan(m).inverse(kept)
		dst[i] = resize(dst[i], m)
		for j, v := range out {
			dst[i][j] = float32(v * gain)
		}
		prev = m
	}
}

// realDFT is an unnormalised discrete Fourier transform of real sequences
// of any length: gonum's mixed-radix FFT unless the length has a large
// prime factor, else Bluestein's chirp-z algorithm (Bluestein 1970) over
// the radix-2 FFT. Its results live in buffers reused by the next
// call of the same method.
type realDFT struct {
	n      int
	direct *fourier.FFT
	chirp  *bluestein
	coef   []complex128 // forward result, n/2+1
	seq    []float64    // inverse result, n
	z      []complex128 // Bluestein input, n
	full   []complex128 // Bluestein output, n
}

func newRealDFT(n int) *realDFT {
	d := &realDFT{n: n, coef: make([]complex128, n/2+1), seq: make([]float64, n)}
	// fftpack handles a prime factor p in about n*p operations; Bluestein
	// costs two radix-2 FFTs of m >= 2n-1 points. The factor 6 is the
	// measured break-even (5513 = 37*149 is faster in fftpack, 2757 = 3*919
	// with Bluestein).
	m := 1 << bits.Len(uint(2*n-2))
	if sum, _ := primeFactors(n); n*sum <= 6*m*bits.Len(uint(m)) {
		d.direct = fourier.NewFFT(n)
		return d
	}
	d.chirp = newBluestein(n)
	d.z, d.full = make([]complex128, n), make([]complex128, n)
	return d
}

// forward returns the n/2+1 non-negative-frequency coefficients of x.
func (d *realDFT) forward(x []float64) []complex128 {
	if d.direct != nil {
		return d.direct.Coefficients(d.coef, x)
	}
	for i, v := range x {
		d.z[i] = complex(v, 0)
	}
	d.chirp.transform(d.full, d.z)
	copy(d.coef, d.full)
	return d.coef
}

// inverse returns the real sequence whose non-negative-frequency
// coefficients are c (n/2+1 of them), unnormalised: forward then inverse
// multiplies by n. The imaginary parts of the zero and (even n) Nyquist
// coefficients are ignored.
func (d *realDFT) inverse(c []complex128) []float64 {
	if d.direct != nil {
		return d.direct.Sequence(d.seq, c)
	}
	// x = Re(DFT(conj(Z))) for the Hermitian extension Z of c.
	n, z := d.n, d.z
	z[0] = complex(real(c[0]), 0)
	for k := 1; k < len(c); k++ {
		z[k] = cmplx.Conj(c[k])
		z[n-k] = c[k]
	}
	if n%2 == 0 {
		z[n/2] = complex(real(c[n/2]), 0)
	}
	d.chirp.transform(d.full, z)
	for i, v := range d.full {
		d.seq[i] = real(v)
	}
	return d.seq
}

// bluestein computes a length-n DFT as a circular convolution of length m,
// a power of two of at least 2n-1, using jk = (j^2 + k^2 - (k-j)^2)/2.
type bluestein struct {
	n      int
	fft    *radix2
	chirp  []complex128 // exp(-i*pi*j^2/n), j < n
	kernel []complex128 // DFT of the conjugate chirp wrapped onto m points, over m
	work   []complex128
	spec   []complex128
}

func newBluestein(n int) *bluestein {
	m := 1 << bits.Len(uint(2*n-2))
	b := &bluestein{
		n: n, fft: newRadix2(m), chirp: make([]complex128, n),
		kernel: make([]complex128, m), work: make([]complex128, m), spec: make([]complex128, m),
	}
	for j := range n {
		// j^2 mod 2n keeps the angle exact for large j.
		r := (int64(j) * int64(j)) % int64(2*n)
		b.chirp[j] = cmplx.Rect(1, -math.Pi*float64(r)/float64(n))
	}
	k := b.work
	clear(k)
	k[0] = cmplx.Conj(b.chirp[0])
	for j := 1; j < n; j++ {
		k[j] = cmplx.Conj(b.chirp[j])
		k[m-j] = k[j]
	}
	b.fft.coefficients(b.kernel, k)
	scale := complex(1/float64(m), 0) // the inverse transform's normalisation
	for i := range b.kernel {
		b.kernel[i] *= scale
	}
	return b
}

// transform writes into dst (len n) the DFT of z (len n),
// X[k] = sum_j z[j]*exp(-2*pi*i*j*k/n).
func (b *bluestein) transform(dst, z []complex128) {
	clear(b.work)
	for j, v := range z {
		b.work[j] = v * b.chirp[j]
	}
	b.fft.coefficients(b.spec, b.work)
	// Inverse DFT of spec*kernel as conj(DFT(conj(...))).
	for i, v := range b.spec {
		b.spec[i] = cmplx.Conj(v * b.kernel[i])
	}
	b.fft.coefficients(b.work, b.spec)
	for k := range dst {
		dst[k] = cmplx.Conj(b.work[k]) * b.chirp[k]
	}
}

// primeFactors returns the sum of the prime factors of n with multiplicity
// (n itself when n is prime; 0 for n = 1) and the largest of them (1 for
// n = 1).
func primeFactors(n int) (sum, largest int) {
	largest = 1
	for p := 2; p*p <= n; p++ {
		for n%p == 0 {
			sum, largest, n = sum+p, p, n/p
		}
	}
	if n > 1 {
		sum, largest = sum+n, max(largest, n)
	}
	return sum, largest
}

// MaxFastLengthTrim bounds the samples Config.FastLength drops: 11.6 ms
// at 22050 Hz.
const MaxFastLengthTrim = 256

// fastBlock and fastPrime define the lengths the octave halving transforms
// quickly: multiples of 8, so that the first three halvings (the long
// transforms) divide exactly, whose quotient by 8 has no prime factor above
// 97 (gonum's FFTPACK port handles a factor p in about n*p operations).
// Over lengths from 20,000 to 200,000 samples, such a length lies at most
// 204 samples below (median 18).
const (
	fastBlock = 8
	fastPrime = 97
)

// fastLength returns the largest fast length (see fastBlock) that is at
// most n and at least n-MaxFastLengthTrim, or n when there is none.
func fastLength(n int) int {
	for m := n - n%fastBlock; m > 0 && n-m <= MaxFastLengthTrim; m -= fastBlock {
		if _, largest := primeFactors(m / fastBlock); largest <= fastPrime {
			return m
		}
	}
	return n
}
