package audio

import (
	"math"
	"slices"
)

// Parameters of librosa 0.10.1 estimate_tuning / piptrack defaults.
const (
	tuningMinHz      = 150.0  // piptrack fmin
	tuningMaxHz      = 4000.0 // piptrack fmax
	tuningPeakRatio  = 0.1    // piptrack threshold, relative to the frame maximum
	tuningResolution = 0.01   // estimate_tuning resolution, in bins
	tuningA4Hz       = 440.0  // hz_to_octs reference (A440, tuning 0)
)

// tuningEstimator is librosa.estimate_tuning(S=spectrogram, sr, n_fft,
// bins_per_octave) fed one float32 spectrum frame at a time. In each frame,
// spectral peaks between 150 and 4000 Hz above a tenth of the frame's
// maximum are located by parabolic interpolation (piptrack); at the end,
// those at least as strong as the median peak vote, by their deviation from
// the nearest equal-tempered bin, in a histogram of 0.01-bin cells over
// [-0.5, 0.5], and the left edge of the fullest cell is the estimate. The
// arithmetic is float32 where librosa's is, so that deviations land in the
// same cells. Only the peaks are kept, not the spectrogram.
type tuningEstimator struct {
	sampleRate, fftSize int
	pitches, mags       []float32 // one entry per peak found
}

// reset forgets the peaks of the previous clip.
func (te *tuningEstimator) reset() {
	te.pitches, te.mags = te.pitches[:0], te.mags[:0]
}

// addFrame runs piptrack on one spectrum frame of fftSize/2+1 bins.
func (te *tuningEstimator) addFrame(s []float32) {
	binHz := float64(te.sampleRate) / float64(te.fftSize)
	maxHz := math.Min(tuningMaxHz, float64(te.sampleRate)/2)
	peak := slices.Max(s)
	ref := float32(tuningPeakRatio * float64(peak))
	gated := func(k int) float32 {
		if s[k] > ref {
			return s[k]
		}
		return 0
	}
	for k := 1; k < len(s)-1; k++ {
		f := float64(k) * binHz
		if f < tuningMinHz || f >= maxHz {
			continue
		}
		// librosa.util.localmax: strictly above the left neighbour, not
		// below the right one.
		g := gated(k)
		if !(g > gated(k-1) && g >= gated(k+1)) {
			continue
		}
		shift := parabolicShift(s[k-1], s[k], s[k+1])
		slope := (s[k+1] - s[k-1]) / 2 // numpy.gradient, interior
		te.pitches = append(te.pitches, float32((float64(k)+float64(shift))*float64(te.sampleRate)/float64(te.fftSize)))
		te.mags = append(te.mags, s[k]+0.5*slope*shift)
	}
}

// estimate returns the tuning of the frames added since the last reset, in
// fractions of a bin of binsPerOctave bins per octave.
func (te *tuningEstimator) estimate(binsPerOctave int) float64 {
	// piptrack returns zero pitch where it found no peak; estimate_tuning
	// keeps positive pitches whose magnitude reaches the median.
	var voted []float32
	var threshold float32
	if len(te.mags) > 0 {
		threshold = median32(slices.Clone(te.mags))
	}
	for i, p := range te.pitches {
		if p > 0 && te.mags[i] >= threshold {
			voted = append(voted, p)
		}
	}
	return pitchTuning(voted, binsPerOctave)
}

// parabolicShift is the offset of the vertex of the parabola through three
// neighbouring values, or 0 when it lies a bin or more away (librosa
// _parabolic_interpolation), in float32.
func parabolicShift(left, centre, right float32) float32 {
	a := right + left - 2*centre
	b := (right - left) / 2
	if float32(math.Abs(float64(b))) >= float32(math.Abs(float64(a))) {
		return 0
	}
	return -b / a
}

// median32 is numpy.median of float32 values (the mean of the two middle
// values for an even count, in float32). It sorts v.
func median32(v []float32) float32 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// pitchTuning is librosa.pitch_tuning(frequencies, resolution=0.01,
// bins_per_octave): the most common deviation, in bins, of the frequencies
// from the equal-tempered grid anchored at A440, or 0 when there are none.
func pitchTuning(frequencies []float32, binsPerOctave int) float64 {
	cells := int(math.Ceil(1 / tuningResolution))
	counts := make([]int, cells)
	edge := func(i int) float64 { return float64(i)*tuningResolution - 0.5 } // numpy.linspace(-0.5, 0.5, cells+1)
	found := false
	for _, f := range frequencies {
		if f <= 0 {
			continue
		}
		found = true
		// hz_to_octs in float32: log2(f / (440/16)).
		octs := float32(math.Log2(float64(f / float32(tuningA4Hz/16))))
		x := float32(binsPerOctave) * octs
		residual := float32(math.Mod(float64(x), 1))
		if residual < 0 {
			residual++
		}
		if residual >= 0.5 {
			residual -= 1
		}
		r := float64(residual)
		// numpy.histogram: cell i holds edge(i) <= r < edge(i+1); the last
		// cell also holds its right edge.
		i := int(math.Floor((r + 0.5) / tuningResolution))
		i = min(max(i, 0), cells-1)
		for i > 0 && r < edge(i) {
			i--
		}
		for i < cells-1 && r >= edge(i+1) {
			i++
		}
		if r >= edge(0) && r <= edge(cells) {
			counts[i]++
		}
	}
	if !found {
		return 0
	}
	best := 0
	for i, c := range counts {
		if c > counts[best] {
			best = i
		}
	}
	return edge(best)
}
