package audio

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/alloctest"
	"github.com/cmc-stream/cmc-stream/internal/wav"
	"github.com/cmc-stream/cmc-stream/internal/wav/wavtest"
)

// hostileRate is a WAV of n silent 16-bit frames declaring rate Hz.
func hostileRate(rate, n int) []byte {
	return wavtest.Encode(wavtest.Layout{Tag: wav.FormatPCM, Bits: 16, Channels: 1, Rate: rate}, make([][]float64, n))
}

// TestHostileSampleRate decodes WAVs declaring rates outside 8 to 192 kHz:
// each is refused with an error naming the sample rate, before any
// resampling (a 40 KB file at 1 Hz made features audio grow to 15.7 GB).
func TestHostileSampleRate(t *testing.T) {
	ex, err := NewExtractor(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rate := range []int{1, wav.MinSampleRate - 1, wav.MaxSampleRate + 1} {
		_, _, err := DecodeWAV(bytes.NewReader(hostileRate(rate, 200)))
		if !errors.Is(err, ErrMalformedWAV) || !strings.Contains(err.Error(), "sample rate") {
			t.Errorf("%d Hz: DecodeWAV = %v, want a malformed WAV naming the sample rate", rate, err)
		}
		if _, err := ex.Extract(make([]float32, 200), rate); err == nil || !strings.Contains(err.Error(), "sample rate") {
			t.Errorf("%d Hz: Extract = %v, want an error naming the sample rate", rate, err)
		}
	}
}

// FuzzExtractWAV decodes a WAV and extracts its features, as features
// audio does, and checks that it allocates at most 32 MiB plus 512 bytes per
// input byte (the extractor needs about 2 MB per second of audio, 16 KB of
// 8 kHz PCM16), whatever the header declares.
func FuzzExtractWAV(f *testing.F) {
	f.Add(hostileRate(1, 200))
	f.Add(hostileRate(wav.MinSampleRate, 800))
	f.Add(hostileRate(wav.MaxSampleRate, 800))
	ex, err := NewExtractor(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		alloctest.Bound(t, 32<<20+512*uint64(len(b)), func() {
			samples, rate, err := DecodeWAV(bytes.NewReader(b))
			if err != nil {
				return
			}
			_, _ = ex.Extract(samples, rate)
		})
	})
}
