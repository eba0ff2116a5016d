package audio

import (
	"math"
	"testing"
)

// newExtractorAt returns an extractor running at the golden signal's rate.
func newExtractorAt(t *testing.T, sampleRate int, scale MelScale) *Extractor {
	t.Helper()
	e, err := NewExtractor(Config{SampleRate: sampleRate, MelScale: scale})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMelSpectrogramMatchesLibrosa(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		// The golden melspectrogram uses librosa's default Slaney mel scale.
		e := newExtractorAt(t, goldenParamsOf(t, sig).SampleRate, MelSlaney)
		mel := e.melSpectrogram(y, 1+len(y)/DefaultHopLength, func([]float32) {})
		want := transpose(golden(t, sig, "melspectrogram"))
		if len(mel) != len(want) {
			t.Fatalf("mel has %d values, want %d", len(mel), len(want))
		}
		diff, peak := maxAbsDiff(mel, want)
		// README tolerance: 1e-5 relative to the maximum.
		if diff > 1e-5*peak {
			t.Fatalf("max |mel - librosa| = %g, %g of the peak", diff, diff/peak)
		}
	})
}

func TestMFCCMatchesLibrosa(t *testing.T) {
	t.Parallel()
	type want struct {
		scale  MelScale
		tensor string
	}
	for _, sig := range sharedSignals {
		for _, w := range []want{{MelSlaney, "mfcc"}, {MelHTK, "mmsa33"}} {
			t.Run(sig+"/"+string(w.scale), func(t *testing.T) {
				t.Parallel()
				y := golden(t, sig, "y").Data
				e := newExtractorAt(t, goldenParamsOf(t, sig).SampleRate, w.scale)
				frames := 1 + len(y)/DefaultHopLength
				mel := e.melSpectrogram(y, frames, func([]float32) {})
				got := e.mfccFromMel(mel, frames)
				var ref []float32
				if w.tensor == "mmsa33" {
					ref = columns(golden(t, sig, "mmsa33").Data, 33, 1, 21)
				} else {
					ref = transpose(golden(t, sig, "mfcc"))
				}
				if len(got) != len(ref) {
					t.Fatalf("mfcc has %d values, want %d", len(got), len(ref))
				}
				// README tolerance: 1e-3 absolute.
				if diff, _ := maxAbsDiff(got, ref); diff > 1e-3 {
					t.Fatalf("max |mfcc - librosa %s| = %g", w.tensor, diff)
				}
			})
		}
	}
}

func TestMelScaleRoundTrip(t *testing.T) {
	t.Parallel()
	for _, scale := range []MelScale{MelHTK, MelSlaney} {
		t.Run(string(scale), func(t *testing.T) {
			for _, f := range []float64{0, 100, 999, 1000, 1001, 4000, 11025} {
				if got := melToHz(hzToMel(f, scale), scale); math.Abs(got-f) > 1e-9*math.Max(1, f) {
					t.Errorf("melToHz(hzToMel(%g)) = %g", f, got)
				}
			}
		})
	}
	// Analytic anchors: HTK 1000 Hz is 2595*log10(1+10/7) mels; Slaney 1000 Hz is 15 mels.
	if got, want := hzToMel(1000, MelHTK), 2595*math.Log10(1+1000.0/700); math.Abs(got-want) > 1e-9 {
		t.Errorf("HTK mel of 1 kHz = %g, want %g", got, want)
	}
	if got := hzToMel(1000, MelSlaney); math.Abs(got-15) > 1e-12 {
		t.Errorf("Slaney mel of 1 kHz = %g, want 15", got)
	}
}
