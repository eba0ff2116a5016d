package audio

import (
	"math"
	"testing"
)

func TestZeroCrossingRateMatchesLibrosa(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		want := golden(t, sig, "zero_crossing_rate").Data
		mmsa := golden(t, sig, "mmsa33")
		got := make([]float32, 1+len(y)/DefaultHopLength)
		ZeroCrossingRate(got, y, DefaultFFTSize, DefaultHopLength)
		if len(got) != len(want) {
			t.Fatalf("frames = %d, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] || got[i] != mmsa.Data[i*33] {
				t.Fatalf("frame %d: zcr = %v, want %v (mmsa33 %v)", i, got[i], want[i], mmsa.Data[i*33])
			}
		}
	})
}

func TestRMSMatchesLibrosa(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		want := golden(t, sig, "rms").Data
		got := make([]float32, 1+len(y)/DefaultHopLength)
		RMS(got, y, DefaultFFTSize, DefaultHopLength)
		diff, peak := maxAbsDiff(got, want)
		// librosa averages float32 squares; 1e-6 of the peak covers its rounding.
		if diff > 1e-6*peak {
			t.Fatalf("max |rms - librosa| = %g (peak %g)", diff, peak)
		}
	})
}

func TestZeroCrossingRateAnalytic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		y    []float32
		want float32
	}{
		// Alternating signs cross between every pair of neighbours.
		{"alternating", []float32{1, -1, 1, -1, 1, -1, 1, -1}, 3.0 / 4},
		// Values within 1e-10 of zero count as positive, even -0.
		{"tiny negatives are zero", []float32{1, -1e-11, 1, float32(math.Copysign(0, -1)), 1, 1, 1, 1}, 0},
		{"constant", []float32{-2, -2, -2, -2, -2, -2, -2, -2}, 0},
		{"empty", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One frame of 4 samples centred on sample 4 (samples 2..5).
			got := make([]float32, 3)
			ZeroCrossingRate(got, tc.y, 4, 4)
			if got[1] != tc.want {
				t.Errorf("zcr = %v, want %v", got[1], tc.want)
			}
		})
	}
}
