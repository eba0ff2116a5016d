package audio

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestExtractMatchesMMSA33(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		p := goldenParamsOf(t, sig)
		e := newExtractorAt(t, p.SampleRate, "")
		f, err := e.Extract(y, p.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		mmsa := golden(t, sig, "mmsa33")
		if f.Frames != p.FramesHop512 || f.Frames != mmsa.Shape[0] {
			t.Fatalf("frames = %d, want %d", f.Frames, p.FramesHop512)
		}
		if f.Tuning != p.TuningCQT {
			t.Errorf("tuning = %v, want %v", f.Tuning, p.TuningCQT)
		}
		if want := float64(DefaultHopLength) / float64(p.SampleRate); f.HopSeconds != want {
			t.Errorf("HopSeconds = %v, want %v", f.HopSeconds, want)
		}
		cols := len(f.Columns)
		tests := []struct {
			name     string
			from, to int // columns of f and of mmsa33
			tol      float64
		}{
			{"zcr", 0, 1, 0},         // README: exact
			{"mfcc", 1, 21, 1e-3},    // README: 1e-3 absolute
			{"chroma", 21, 33, 0.05}, // README: ~0.05 against the soxr CQT
		}
		for _, tc := range tests {
			diff, _ := maxAbsDiff(columns(f.Data, cols, tc.from, tc.to), columns(mmsa.Data, 33, tc.from, tc.to))
			if diff > tc.tol {
				t.Errorf("%s: max |got - mmsa33| = %g > %g", tc.name, diff, tc.tol)
			}
		}
		diff, peak := maxAbsDiff(columns(f.Data, cols, 33, 34), golden(t, sig, "rms").Data)
		if diff > 1e-6*peak {
			t.Errorf("rms: max |got - librosa| = %g (peak %g)", diff, peak)
		}
	})
}

func TestColumns(t *testing.T) {
	t.Parallel()
	e, err := NewExtractor(Config{})
	if err != nil {
		t.Fatal(err)
	}
	spec := e.Spec()
	want := "zcr mfcc_1 mfcc_2 mfcc_3 mfcc_4 mfcc_5 mfcc_6 mfcc_7 mfcc_8 mfcc_9 mfcc_10 mfcc_11 mfcc_12 mfcc_13 mfcc_14 mfcc_15 mfcc_16 mfcc_17 mfcc_18 mfcc_19 mfcc_20 " +
		"chroma_C chroma_Cs chroma_D chroma_Ds chroma_E chroma_F chroma_Fs chroma_G chroma_Gs chroma_A chroma_As chroma_B rms"
	if got := strings.Join(spec.Columns, " "); got != want {
		t.Errorf("columns = %s\nwant %s", got, want)
	}
	if spec.Dims() != 34 || spec.SampleRate != 22050 || spec.HopLength != 512 || spec.MelScale != MelHTK {
		t.Errorf("spec = %+v", spec)
	}
	if err := spec.Check(e.Spec()); err != nil {
		t.Errorf("spec does not match itself: %v", err)
	}
	slaney, err := NewExtractor(Config{MelScale: MelSlaney})
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Check(slaney.Spec()); err == nil || !strings.Contains(err.Error(), "mel_scale is slaney, want htk") {
		t.Errorf("Check against a Slaney spec = %v", err)
	}
	fewer, err := NewExtractor(Config{MFCCs: 13})
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Check(fewer.Spec()); err == nil || !strings.Contains(err.Error(), "n_mfcc") {
		t.Errorf("Check against 13 MFCCs = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; empty for a valid config
	}{
		{"defaults", Config{}, ""},
		{"16 kHz", Config{SampleRate: 16000}, ""},
		{"slaney", Config{MelScale: MelSlaney}, ""},
		{"negative rate", Config{SampleRate: -1}, "SampleRate"},
		{"rate too low for the CQT", Config{SampleRate: 8000}, "too low"},
		{"rate too high for the CQT", Config{SampleRate: 44100}, "too high"},
		{"hop not a multiple of 64", Config{HopLength: 500}, "HopLength"},
		{"odd FFT", Config{FFTSize: 2047}, "FFTSize"},
		{"negative mel bands", Config{MelBands: -3}, "MelBands"},
		{"more MFCCs than bands", Config{MelBands: 10, MFCCs: 20}, "MFCCs"},
		{"unknown mel scale", Config{MelScale: "bark"}, "MelScale"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			_, errNew := NewExtractor(tc.cfg)
			switch {
			case tc.wantErr == "" && (err != nil || errNew != nil):
				t.Fatalf("Validate() = %v, NewExtractor error %v", err, errNew)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || errNew == nil):
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tc.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "audio: "):
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestExtractRejectsBadInput(t *testing.T) {
	t.Parallel()
	e, err := NewExtractor(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		samples []float32
		rate    int
		wantErr string
	}{
		{"empty", nil, 22050, "no samples"},
		{"zero rate", []float32{0, 1}, 0, "sample rate"},
		{"NaN", []float32{0, float32(math.NaN())}, 22050, "sample 1"},
		{"infinity", []float32{float32(math.Inf(-1))}, 22050, "sample 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Extract(tc.samples, tc.rate)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Extract error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
	if _, err := e.Extract(nil, 22050); !errors.Is(err, ErrNoSamples) {
		t.Errorf("empty input error = %v, want ErrNoSamples", err)
	}
}

func TestExtractShortAndSilentClips(t *testing.T) {
	t.Parallel()
	e, err := NewExtractor(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 100, 511, 512, 3000} {
		t.Run(fmt.Sprint(n, " silent samples"), func(t *testing.T) {
			f, err := e.Extract(make([]float32, n), DefaultSampleRate)
			if err != nil {
				t.Fatal(err)
			}
			if f.Frames != 1+n/DefaultHopLength || len(f.Data) != f.Frames*34 {
				t.Fatalf("frames = %d, data = %d", f.Frames, len(f.Data))
			}
			for i, v := range f.Data {
				// Silence: zcr, chroma and rms are 0; power_to_db floors every
				// band at -100 dB, so mfcc_1 = -100*sqrt(128) and the rest are 0.
				want := 0.0
				if i%34 == 1 {
					want = -100 * math.Sqrt(DefaultMelBands)
				}
				if math.Abs(float64(v)-want) > 1e-3 {
					t.Fatalf("value %d (%s) = %v, want %v", i, f.Columns[i%34], v, want)
				}
			}
		})
	}
}

func ExampleExtractor_Extract() {
	e, err := NewExtractor(Config{}) // the CH-SIMS recipe at 22050 Hz
	if err != nil {
		panic(err)
	}
	// One second of A440 recorded at 16 kHz; Extract resamples it.
	y := make([]float32, 16000)
	for i := range y {
		y[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	f, err := e.Extract(y, 16000)
	if err != nil {
		panic(err)
	}
	row := f.Row(f.Frames / 2)
	fmt.Printf("%d frames of %d columns, every %.1f ms\n", f.Frames, len(f.Columns), 1000*f.HopSeconds)
	fmt.Printf("%s = %.2f, %s = %.2f\n", f.Columns[30], row[30], f.Columns[33], row[33])
	// Output:
	// 44 frames of 34 columns, every 23.2 ms
	// chroma_A = 1.00, rms = 0.35
}

func BenchmarkExtract1s(b *testing.B) {
	y := golden(b, "speech0880_sr22050", "y").Data[:DefaultSampleRate]
	e, err := NewExtractor(Config{})
	if err != nil {
		b.Fatal(err)
	}
	var f Features
	b.ReportAllocs()
	for b.Loop() {
		if err := e.ExtractTo(&f, y, DefaultSampleRate); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractUtterance is the live scorer's case: a 3 s utterance
// captured at 16 kHz, resampled to 22050 Hz (65930 samples, whose prime
// factor 347 makes the octave halving's transforms slow), with one and two
// threads, and with FastLength (65928 samples: 8*3*41*67).
func BenchmarkExtractUtterance(b *testing.B) {
	y := golden(b, "speech0880_sr16000", "y").Data
	for _, cfg := range []Config{{Threads: 1}, {Threads: 2}, {Threads: 2, FastLength: true}} {
		b.Run(fmt.Sprintf("threads=%d/fast=%v", cfg.Threads, cfg.FastLength), func(b *testing.B) {
			e, err := NewExtractor(cfg)
			if err != nil {
				b.Fatal(err)
			}
			var f Features
			b.ReportAllocs()
			for b.Loop() {
				if err := e.ExtractTo(&f, y, 16000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestExtractorReuse checks that the buffers an Extractor keeps between calls
// do not leak one clip into the next: a reused extractor gives the same
// numbers as a fresh one, across lengths, rates and tunings.
func TestExtractorReuse(t *testing.T) {
	t.Parallel()
	reused, err := NewExtractor(Config{})
	if err != nil {
		t.Fatal(err)
	}
	clips := []struct {
		signal string
		rate   int
	}{
		{"speech0880_sr22050", 22050},
		{"chirp_sr16000", 16000},
		{"sine440_sr22050", 22050},
		{"speech0880_sr16000", 16000},
	}
	var into Features
	for _, c := range clips {
		y := golden(t, c.signal, "y").Data
		if err := reused.ExtractTo(&into, y, c.rate); err != nil {
			t.Fatal(err)
		}
		fresh, err := NewExtractor(Config{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.Extract(y, c.rate)
		if err != nil {
			t.Fatal(err)
		}
		if into.Frames != want.Frames || into.Tuning != want.Tuning || len(into.Data) != len(want.Data) {
			t.Fatalf("%s: reused extractor gives %d frames, tuning %v; fresh %d, %v", c.signal, into.Frames, into.Tuning, want.Frames, want.Tuning)
		}
		for i := range want.Data {
			if into.Data[i] != want.Data[i] {
				t.Fatalf("%s: value %d = %v reused, %v fresh", c.signal, i, into.Data[i], want.Data[i])
			}
		}
	}
}

// TestExtractorThreads checks that sharing a call among goroutines changes no
// number: 2 and 3 threads (3 leaves the octaves unevenly shared) give the
// bytes of 1 thread, on every golden signal.
func TestExtractorThreads(t *testing.T) {
	forEachSignal(t, func(t *testing.T, sig string, y []float32) {
		rate := goldenParamsOf(t, sig).SampleRate
		one, err := NewExtractor(Config{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := one.Extract(y, rate)
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{2, 3} {
			e, err := NewExtractor(Config{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Extract(y, rate)
			if err != nil {
				t.Fatal(err)
			}
			if got.Frames != want.Frames || got.Tuning != want.Tuning || !slices.Equal(got.Data, want.Data) {
				t.Fatalf("%d threads: %d frames, tuning %v; 1 thread %d, %v, or the values differ", threads, got.Frames, got.Tuning, want.Frames, want.Tuning)
			}
		}
	})
}

// TestExtractorFastLength checks that FastLength gives exactly the features
// of the signal trimmed to fastLength, at the analysis rate, and trims at
// most MaxFastLengthTrim samples.
func TestExtractorFastLength(t *testing.T) {
	t.Parallel()
	y := golden(t, "speech0880_sr22050", "y").Data
	for _, n := range []int{len(y), len(y) - 3, 40009} {
		fast, err := NewExtractor(Config{FastLength: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := fast.Extract(y[:n], DefaultSampleRate)
		if err != nil {
			t.Fatal(err)
		}
		m := fastLength(n)
		if m > n || n-m > MaxFastLengthTrim {
			t.Fatalf("fastLength(%d) = %d", n, m)
		}
		plain, err := NewExtractor(Config{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.Extract(y[:m], DefaultSampleRate)
		if err != nil {
			t.Fatal(err)
		}
		if got.Frames != want.Frames || !slices.Equal(got.Data, want.Data) {
			t.Fatalf("%d samples: FastLength gives %d frames, the first %d samples %d, or the values differ", n, got.Frames, m, want.Frames)
		}
	}
}
