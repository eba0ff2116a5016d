package audio

import "testing"

func TestEstimateTuningMatchesLibrosa(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		p := goldenParamsOf(t, sig)
		e := newExtractorAt(t, p.SampleRate, MelHTK)
		fromMagnitude := tuningEstimator{sampleRate: p.SampleRate, fftSize: DefaultFFTSize}
		fromPower := fromMagnitude
		power := make([]float32, DefaultFFTSize/2+1)
		e.melSpectrogram(y, 1+len(y)/DefaultHopLength, func(magnitude []float32) {
			fromMagnitude.addFrame(magnitude)
			for i, m := range magnitude {
				power[i] = m * m
			}
			fromPower.addFrame(power)
		})
		// chroma_cqt estimates from the magnitude STFT with 36 bins per octave.
		if got := fromMagnitude.estimate(cqtBinsPerOctave); got != p.TuningCQT {
			t.Errorf("CQT tuning = %v, want %v", got, p.TuningCQT)
		}
		// chroma_stft estimates from the power STFT with 12 bins per octave.
		if got := fromPower.estimate(chromaBins); got != p.TuningSTFT {
			t.Errorf("STFT tuning = %v, want %v", got, p.TuningSTFT)
		}
	})
}

func TestPitchTuningAnalytic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		freqs []float32
		want  float64
	}{
		{"none", nil, 0},
		{"non-positive only", []float32{0, -3}, 0},
		// A440 sits on the grid: its cell is [0, 0.01).
		{"A440", []float32{440, 440, 880}, 0},
		// 25 cents sharp of A4 is a quarter semitone: the cell [0.25, 0.26)
		// or, by rounding, its left neighbour.
		{"quarter sharp majority", []float32{440 * 1.0145453, 440 * 1.0145453, 440}, 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pitchTuning(tc.freqs, 12)
			if d := got - tc.want; d > 0.0100001 || d < -0.0100001 {
				t.Errorf("pitchTuning = %v, want %v (one cell)", got, tc.want)
			}
		})
	}
}
