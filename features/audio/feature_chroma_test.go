package audio

import (
	"math"
	"testing"
)

// cqtOf returns |CQT| (frames x 252) of y at the golden's tuning.
func cqtOf(t *testing.T, sig string, y []float32) []float32 {
	t.Helper()
	p := goldenParamsOf(t, sig)
	c := newConstantQ(p.SampleRate, 1)
	c.halve(y)
	return c.magnitude(nil, y, DefaultHopLength, p.TuningCQT)
}

func TestCQTTopOctaveMatchesLibrosa(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		got := cqtOf(t, sig, y)
		want := transpose(golden(t, sig, "cqt_mag"))
		if len(got) != len(want) {
			t.Fatalf("|CQT| has %d values, want %d", len(got), len(want))
		}
		// The top octave is computed before any resampling, so it matches
		// librosa's soxr-based cqt_mag closely; lower octaves do not.
		top := cqtBins - cqtBinsPerOctave
		diff, peak := maxAbsDiff(columns(got, cqtBins, top, cqtBins), columns(want, cqtBins, top, cqtBins))
		if diff > 1e-5*peak {
			t.Fatalf("top octave: max |cqt - librosa| = %g, %g of the peak", diff, diff/peak)
		}
		all, allPeak := maxAbsDiff(got, want)
		t.Logf("all octaves: max |cqt - librosa soxr| = %.3g of the peak", all/allPeak)
	})
}

func TestChromaMatchesLibrosa(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		mag := cqtOf(t, sig, y)
		got := make([]float32, len(mag)/cqtBins*chromaBins)
		cqtChroma(got, mag)
		tests := []struct {
			name string
			want []float32
			tol  float64
		}{
			// README: 1e-5 against the res_type="fft" CQT this package reproduces.
			{"chroma_cqt_resfft", transpose(golden(t, sig, "chroma_cqt_resfft")), 1e-5},
			// README: about 0.05 against librosa's soxr default.
			{"chroma_cqt", transpose(golden(t, sig, "chroma_cqt")), 0.05},
			{"mmsa33", columns(golden(t, sig, "mmsa33").Data, 33, 21, 33), 0.05},
		}
		for _, tc := range tests {
			if len(got) != len(tc.want) {
				t.Fatalf("%s: chroma has %d values, want %d", tc.name, len(got), len(tc.want))
			}
			diff, _ := maxAbsDiff(got, tc.want)
			t.Logf("%s: max |chroma - librosa| = %.3g", tc.name, diff)
			if diff > tc.tol {
				t.Errorf("%s: max |chroma - librosa| = %g > %g", tc.name, diff, tc.tol)
			}
		}
	})
}

func TestCQTFrequencies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		bin    int
		tuning float64
		want   float64
	}{
		{"C1", 0, 0, 32.70319566257483}, // librosa note_to_hz("C1")
		{"C2", 36, 0, 2 * 32.70319566257483},
		{"A4", 36*3 + 27, 0, 440},
		{"A4 half a bin sharp", 36*3 + 27, 0.5, 440 * math.Pow(2, 0.5/36)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cqtFrequency(tc.bin, tc.tuning); math.Abs(got-tc.want) > 1e-9*tc.want {
				t.Errorf("cqtFrequency(%d, %g) = %.12g, want %.12g", tc.bin, tc.tuning, got, tc.want)
			}
		})
	}
}
