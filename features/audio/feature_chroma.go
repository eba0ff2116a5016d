package audio

import (
	"fmt"
	"math"
	"math/bits"
	"math/cmplx"
	"slices"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Parameters of librosa 0.10.1 chroma_cqt / cqt defaults.
const (
	cqtBinsPerOctave = 36 // chroma_cqt bins_per_octave
	cqtOctaves       = 7  // chroma_cqt n_octaves
	cqtBins          = cqtBinsPerOctave * cqtOctaves
	chromaBins       = 12 // chroma_cqt n_chroma
	// cqtHopMultiple: the hop is halved once per octave below the top one.
	cqtHopMultiple = 1 << (cqtOctaves - 1)
	// cqtSparsity is the fraction of each filter's spectral mass dropped
	// (cqt sparsity=0.01).
	cqtSparsity = 0.01
	// hannBandwidth is the equivalent noise bandwidth of the Hann window in
	// bins (librosa.filters.WINDOW_BANDWIDTHS["hann"]).
	hannBandwidth = 1.50018310546875
)

// smallestNormalFloat32 is numpy.finfo(float32).tiny, the norm below which
// librosa.util.normalize leaves a vector alone.
const smallestNormalFloat32 = 0x1p-126

// cqtMinHz is C1, the lowest CQT bin before tuning (librosa
// note_to_hz("C1") = 440*2^((24-69)/12)).
var cqtMinHz = 440 * math.Pow(2, (24.0-69.0)/12)

// cqtRelativeBandwidth is the relative bandwidth alpha of a bin of an
// equal-tempered CQT with 36 bins per octave (librosa
// filters._relative_bandwidth): (r^2-1)/(r^2+1) with r = 2^(1/36). The
// filter quality factor is Q = 1/alpha (filter_scale 1).
var cqtRelativeBandwidth = func() float64 {
	r2 := math.Pow(2, 2.0/cqtBinsPerOctave)
	return (r2 - 1) / (r2 + 1)
}()

// cqtFrequency returns the centre frequency in Hz of CQT bin k (0 = C1) for
// a tuning in fractions of a bin (librosa interval_frequencies: octave
// factor times the within-octave ratio times the tuned fmin).
func cqtFrequency(k int, tuning float64) float64 {
	fmin := cqtMinHz * math.Pow(2, tuning/cqtBinsPerOctave)
	oct, j := k/cqtBinsPerOctave, k%cqtBinsPerOctave
	return math.Exp2(float64(oct)) * math.Pow(2, float64(j)/cqtBinsPerOctave) * fmin
}

// cqtFilterLength returns the length in samples of the filter of a bin at
// frequency f Hz (librosa filters.wavelet_lengths with gamma 0).
func cqtFilterLength(f float64, sampleRate int) float64 {
	return float64(sampleRate) / (cqtRelativeBandwidth * f)
}

// checkCQTRate verifies that the CQT of librosa's chroma_cqt runs at
// sampleRate without early downsampling, for any tuning in [-0.5, 0.5] bins:
// the top filter's upper cutoff must stay below Nyquist, and Nyquist must
// not exceed 4 cutoffs (librosa __early_downsample_count would then
// decimate first, which this package does not implement).
func checkCQTRate(sampleRate, hopLength int) error {
	cutoff := func(tuning float64) float64 {
		f := cqtFrequency(cqtBins-1, tuning)
		return f * (1 + 0.5*hannBandwidth*cqtRelativeBandwidth)
	}
	nyquist := float64(sampleRate) / 2
	if hi := cutoff(0.5); hi >= nyquist {
		return fmt.Errorf("audio: config: SampleRate %d Hz is too low for the CQT: its top filter reaches %.0f Hz", sampleRate, hi)
	}
	if lo := cutoff(-0.5); nyquist > 4*lo && bits.TrailingZeros(uint(hopLength)) > cqtOctaves-1 {
		return fmt.Errorf("audio: config: SampleRate %d Hz is too high for the CQT (above %.0f Hz librosa downsamples before it)", sampleRate, 8*lo)
	}
	return nil
}

// sparseRow is one CQT filter's frequency response: coefficients at the
// listed FFT bins, zero elsewhere.
type sparseRow struct {
	bins  []int
	coefs []complex128
}

// cqtBasis holds the top octave's filters for one tuning, and the length
// normalisation of every bin.
type cqtBasis struct {
	fftSize int
	rows    [cqtBinsPerOctave]sparseRow
	// invSqrtLength[k] is 1/sqrt(filter length of bin k) (cqt scale=True).
	invSqrtLength [cqtBins]float64
}

// newCQTBasis builds librosa's __vqt_filter_fft for the top octave: each
// filter is a periodic-Hann-windowed complex exponential sampled at the
// integer offsets from floor(-length/2) up to floor(length/2), L1-normalised, centred in an FFT frame of the next power of two
// above the longest filter, scaled by length/fftSize, transformed, and
// sparsified by dropping its smallest coefficients up to 1% of the row's
// magnitude sum. Every lower octave applies the same filters to a signal at
// half the rate (the normalised frequencies repeat exactly). Values are
// rounded to complex64 where librosa stores them so.
func newCQTBasis(sampleRate int, tuning float64) *cqtBasis {
	b := &cqtBasis{}
	for k := range cqtBins {
		b.invSqrtLength[k] = 1 / math.Sqrt(cqtFilterLength(cqtFrequency(k, tuning), sampleRate))
	}
	top := cqtBins - cqtBinsPerOctave
	maxLength := cqtFilterLength(cqtFrequency(top, tuning), sampleRate)
	b.fftSize = 1 << int(math.Ceil(math.Log2(maxLength)))
	fft := fourier.NewCmplxFFT(b.fftSize)
	frame := make([]complex128, b.fftSize)
	spectrum := make([]complex128, b.fftSize)
	mags := make([]float64, b.fftSize/2+1)
	for j := range b.rows {
		f := cqtFrequency(top+j, tuning)
		length := cqtFilterLength(f, sampleRate)
		start, stop := math.Floor(-length/2), math.Floor(length/2)
		n := int(stop - start)
		win := periodicHann(n)
		var norm float64
		filter := make([]complex128, n)
		for m := range filter {
			phase := (start + float64(m)) * 2 * math.Pi * f / float64(sampleRate)
			filter[m] = cmplx.Rect(win[m], phase)
			norm += cmplx.Abs(filter[m])
		}
		clear(frame)
		pad := (b.fftSize - n) / 2
		gain := length / float64(b.fftSize)
		for m, v := range filter {
			frame[pad+m] = roundComplex64(roundComplex64(v/complex(norm, 0)) * complex(gain, 0))
		}
		fft.Coefficients(spectrum, frame)
		b.rows[j] = sparsify(spectrum[:len(mags)], mags)
	}
	return b
}

// sparsify is librosa.util.sparsify_rows(quantile=0.01) for one row: it
// keeps the coefficients whose magnitude reaches that of the smallest one
// needed to exceed 1% of the sorted cumulative magnitude. mags is scratch of
// len(row).
func sparsify(row []complex128, mags []float64) sparseRow {
	var total float64
	for i, c := range row {
		mags[i] = cmplx.Abs(c)
		total += mags[i]
	}
	sorted := slices.Clone(mags)
	slices.Sort(sorted)
	threshold := sorted[len(sorted)-1]
	var cum float64
	for _, m := range sorted {
		cum += m / total
		if cum >= cqtSparsity {
			threshold = m
			break
		}
	}
	var s sparseRow
	for i, m := range mags {
		if m >= threshold {
			s.bins = append(s.bins, i)
			s.coefs = append(s.coefs, roundComplex64(row[i]))
		}
	}
	return s
}

// resize returns s with length n, reusing its memory when the capacity
// allows; the contents are unspecified.
func resize[T any](s []T, n int) []T { return slices.Grow(s[:0], n)[:n] }

func roundComplex64(c complex128) complex128 {
	return complex128(complex64(c))
}

// constantQ computes librosa's CQT magnitude and chroma_cqt at one sample
// rate, caching the filter basis of each tuning it meets (at most 101: the
// tuning estimate lives on a 0.01-bin grid in [-0.5, 0.5]). Its octaves
// can be computed by several goroutines, one lane each.
type constantQ struct {
	sampleRate int
	bases      map[int]*cqtBasis
	halver     *halver
	octaves    [cqtOctaves - 1][]float32 // the signal halved 1..6 times
	lanes      []cqtLane
	fftSize    int
}

// cqtLane holds one goroutine's frame buffers.
type cqtLane struct {
	fft      realFFT // frame transform of fftSize points
	frame    []float64
	spectrum []complex128
}

// newConstantQ returns a CQT computed by lanes goroutines (at least one).
func newConstantQ(sampleRate, lanes int) *constantQ {
	return &constantQ{sampleRate: sampleRate, bases: make(map[int]*cqtBasis), halver: newHalver(), lanes: make([]cqtLane, max(lanes, 1))}
}

// halve computes the signal y halved once to six times, the input of the
// lower octaves of the next call to magnitude with the same y.
func (c *constantQ) halve(y []float32) { c.halver.octaves(c.octaves[:], y) }

func (c *constantQ) basis(tuning float64) *cqtBasis {
	key := int(math.Round(tuning / tuningResolution))
	b, ok := c.bases[key]
	if !ok {
		b = newCQTBasis(c.sampleRate, tuning)
		c.bases[key] = b
	}
	return b
}

// magnitude returns, after halve(y), |CQT| of y (frame-major, frames x 252 bins from C1
// upwards, frames = 1 + len(y)/hop) as librosa.cqt(y, sr, hop, n_bins=252,
// bins_per_octave=36, tuning, res_type="fft") computes it: the top octave
// from y, then each lower octave from the signal halved once more (see
// halver.octaves) with the hop halved, each frame a centred, zero-padded,
// rectangular-window FFT multiplied by the sparse filters. The lanes share
// out the octaves, each writing its own bins. The result is written into
// dst's memory when its capacity allows.
func (c *constantQ) magnitude(dst, y []float32, hop int, tuning float64) []float32 {
	b := c.basis(tuning)
	frames := 1 + len(y)/hop
	out := resize(dst, frames*cqtBins)
	n := b.fftSize
	if c.fftSize != n {
		c.fftSize = n
		for i := range c.lanes {
			c.lanes[i] = cqtLane{fft: newRealFFT(n), frame: make([]float64, n), spectrum: make([]complex128, n/2+1)}
		}
	}
	octave := func(l *cqtLane, oct int) {
		signal := y
		if oct > 0 {
			signal = c.octaves[oct-1]
		}
		// Downsampling by 2^oct is compensated by sqrt(2^oct) (librosa
		// rescales each octave's basis by sqrt(sr/my_sr)).
		gain := math.Sqrt(math.Exp2(float64(oct)))
		h := hop >> oct
		first := cqtBins - cqtBinsPerOctave*(oct+1)
		for t := range frames {
			start := t*h - n/2
			for i := range l.frame {
				if j := start + i; j >= 0 && j < len(signal) {
					l.frame[i] = float64(signal[j])
				} else {
					l.frame[i] = 0
				}
			}
			l.fft.Coefficients(l.spectrum, l.frame)
			row := out[t*cqtBins : (t+1)*cqtBins]
			for r := range b.rows {
				f := &b.rows[r]
				var v complex128
				for i, bin := range f.bins {
					v += f.coefs[i] * l.spectrum[bin]
				}
				k := first + r
				row[k] = float32(cmplx.Abs(v) * gain * b.invSqrtLength[k])
			}
		}
	}
	var wg sync.WaitGroup
	for i := range c.lanes {
		lane := func() {
			for oct := i; oct < cqtOctaves; oct += len(c.lanes) {
				octave(&c.lanes[i], oct)
			}
		}
		if i == len(c.lanes)-1 {
			lane() // the calling goroutine takes the last lane
		} else {
			wg.Go(lane)
		}
	}
	wg.Wait()
	return out
}

// cqtChroma folds a frame-major |CQT| (frames x 252) onto 12 pitch classes
// and scales each frame to a maximum of 1 (librosa chroma_cqt, norm=inf):
// pitch class p sums bins 3p-1, 3p and 3p+1 of every octave (cq_to_chroma
// centres each class on its bin, C1 being class C). Frames whose maximum is
// below the smallest normal float32 are left unscaled (librosa
// util.normalize). dst must hold frames*12 values.
func cqtChroma(dst, magnitude []float32) {
	frames := len(magnitude) / cqtBins
	const perClass = cqtBinsPerOctave / chromaBins
	for t := range frames {
		row := dst[t*chromaBins : (t+1)*chromaBins]
		clear(row)
		for k, v := range magnitude[t*cqtBins : (t+1)*cqtBins] {
			p := ((k + 1) % cqtBinsPerOctave) / perClass
			row[p] += v
		}
		peak := slices.Max(row)
		if peak < smallestNormalFloat32 {
			continue
		}
		for i := range row {
			row[i] /= peak
		}
	}
}
