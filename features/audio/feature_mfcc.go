package audio

import (
	"math"

	"gonum.org/v1/gonum/dsp/window"
)

// Constants of librosa 0.10.1's power_to_db (amin) and mel scales.
const (
	// powerFloor is the smallest power converted to dB (power_to_db amin=1e-10).
	powerFloor = 1e-10
	// Slaney mel scale (librosa hz_to_mel, htk=False): linear below 1 kHz at
	// 200/3 Hz per mel, logarithmic above with 27 mels per factor 6.4.
	slaneyHzPerMel  = 200.0 / 3
	slaneyBreakHz   = 1000.0
	slaneyBreakMel  = slaneyBreakHz / slaneyHzPerMel
	htkMelFactor    = 2595.0 // HTK: 2595*log10(1+f/700)
	htkMelCornerFHz = 700.0
)

// slaneyLogStep is the log-frequency step per mel above 1 kHz (librosa:
// log(6.4)/27).
var slaneyLogStep = math.Log(6.4) / 27

// periodicHann returns the n-point periodic ("DFT-even") Hann window of
// scipy.signal.get_window("hann", n): the first n points of the symmetric
// (n+1)-point window.
func periodicHann(n int) []float64 {
	w := make([]float64, n+1)
	for i := range w {
		w[i] = 1
	}
	return window.Hann(w)[:n]
}

func hzToMel(f float64, scale MelScale) float64 {
	if scale == MelHTK {
		return htkMelFactor * math.Log10(1+f/htkMelCornerFHz)
	}
	if f < slaneyBreakHz {
		return f / slaneyHzPerMel
	}
	return slaneyBreakMel + math.Log(f/slaneyBreakHz)/slaneyLogStep
}

func melToHz(m float64, scale MelScale) float64 {
	if scale == MelHTK {
		return htkMelCornerFHz * (math.Pow(10, m/htkMelFactor) - 1)
	}
	if m < slaneyBreakMel {
		return m * slaneyHzPerMel
	}
	return slaneyBreakHz * math.Exp(slaneyLogStep*(m-slaneyBreakMel))
}

// melFilter is one band of the filterbank: weights for FFT bins
// first, first+1, ... (zero elsewhere).
type melFilter struct {
	first   int
	weights []float64
}

// newMelFilterbank builds librosa.filters.mel(sr, n_fft, n_mels, fmin=0,
// fmax=sr/2, htk, norm="slaney"): triangles between consecutive mel-spaced
// edge frequencies, each scaled to unit area (2/(f[i+2]-f[i])). Weights are
// rounded to float32 as librosa stores them.
func newMelFilterbank(sampleRate, fftSize, bands int, scale MelScale) []melFilter {
	bins := fftSize/2 + 1
	maxMel := hzToMel(float64(sampleRate)/2, scale)
	edges := make([]float64, bands+2)
	for i := range edges {
		edges[i] = melToHz(maxMel*float64(i)/float64(bands+1), scale)
	}
	filters := make([]melFilter, bands)
	for b := range filters {
		lo, mid, hi := edges[b], edges[b+1], edges[b+2]
		area := 2 / (hi - lo)
		first, last := -1, -1
		w := make([]float64, bins)
		for k := range bins {
			f := float64(k) * float64(sampleRate) / float64(fftSize)
			v := math.Max(0, math.Min((f-lo)/(mid-lo), (hi-f)/(hi-mid)))
			if v > 0 {
				if first < 0 {
					first = k
				}
				last = k
				w[k] = float64(float32(float64(float32(v)) * area))
			}
		}
		if first >= 0 {
			filters[b] = melFilter{first: first, weights: w[first : last+1]}
		}
	}
	return filters
}

// newDCTMatrix returns the first n rows of the orthonormal DCT-II of size m
// (scipy.fftpack.dct(type=2, norm="ortho")), row-major.
func newDCTMatrix(n, m int) []float64 {
	d := make([]float64, n*m)
	for k := range n {
		scale := math.Sqrt(2 / float64(m))
		if k == 0 {
			scale = math.Sqrt(1 / float64(m))
		}
		for j := range m {
			d[k*m+j] = scale * math.Cos(math.Pi*float64(k)*float64(2*j+1)/float64(2*m))
		}
	}
	return d
}

// melSpectrogram runs the centred, zero-padded periodic-Hann STFT of y
// (librosa.stft, pad_mode="constant") and returns the frame-major mel power
// spectrum (frames x MelBands) in a buffer reused by the next call. Each
// frame's float32 magnitude spectrum (librosa stores the STFT as complex64)
// is passed to onFrame, which must not keep it.
func (e *Extractor) melSpectrogram(y []float32, frames int, onFrame func(magnitude []float32)) []float64 {
	n := e.cfg.FFTSize
	half := n / 2
	bands := e.cfg.MelBands
	e.scratch.mel = resize(e.scratch.mel, frames*bands)
	mel := e.scratch.mel
	for t := range frames {
		start := t*e.cfg.HopLength - half
		for i := range n {
			j := start + i
			if j < 0 || j >= len(y) {
				e.frame[i] = 0
				continue
			}
			e.frame[i] = e.hann[i] * float64(y[j])
		}
		e.stft.Coefficients(e.spectrum, e.frame)
		for k, c := range e.spectrum {
			re, im := float64(float32(real(c))), float64(float32(imag(c)))
			e.magnitude[k] = float32(math.Hypot(re, im))
			e.power[k] = re*re + im*im
		}
		onFrame(e.magnitude)
		row := mel[t*bands : (t+1)*bands]
		for b, f := range e.melFilters {
			var s float64
			for i, w := range f.weights {
				s += w * e.power[f.first+i]
			}
			row[b] = s
		}
	}
	return mel
}

// mfccFromMel converts a frame-major mel power spectrum to MFCCs:
// librosa.power_to_db(ref=1, amin=1e-10, top_db=80) over the whole clip (in
// place: mel holds dB afterwards), then the orthonormal DCT-II across bands,
// keeping the first MFCCs, in a buffer reused by the next call.
func (e *Extractor) mfccFromMel(mel []float64, frames int) []float32 {
	bands, nm := e.cfg.MelBands, e.cfg.MFCCs
	db := mel
	peak := math.Inf(-1)
	for i, p := range mel {
		db[i] = 10 * math.Log10(math.Max(powerFloor, p))
		peak = math.Max(peak, db[i])
	}
	floor := peak - DefaultTopDB
	for i, v := range db {
		db[i] = math.Max(v, floor)
	}
	e.scratch.mfcc = resize(e.scratch.mfcc, frames*nm)
	out := e.scratch.mfcc
	for t := range frames {
		row := db[t*bands : (t+1)*bands]
		for k := range nm {
			basis := e.dct[k*bands : (k+1)*bands]
			var s float64
			for j, v := range row {
				s += basis[j] * v
			}
			out[t*nm+k] = float32(s)
		}
	}
	return out
}
