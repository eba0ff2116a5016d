package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// TestAudioFileCutShort checks that a WAV file cut short of its declared
// size delivers the chunks before the cut, then reports the error once,
// naming the stream, and ends, instead of failing every read forever.
func TestAudioFileCutShort(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cut.wav")
	const rate, seconds = 16000, 1
	writeWAV(t, path, make([]float32, rate*seconds), rate)
	// Keep the header (44 bytes) and half the samples.
	if err := os.Truncate(path, 44+rate*seconds); err != nil {
		t.Fatal(err)
	}
	in := newAudioFileInput(AudioSource{StreamID: "call", File: path, SampleRate: rate, Realtime: new(false)}, PrivacyConfig{}, NewStreamClock(nil, time.Hour))
	ctx := context.Background()
	if err := in.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	var samples int
	var failures []error
	for range 1000 {
		item, _, err := in.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfInput) {
			break
		}
		if err != nil {
			failures = append(failures, err)
			continue
		}
		samples += len(item.(align.Media).Samples)
	}
	if samples != rate*seconds/2 {
		t.Errorf("%d samples before the cut, want %d", samples, rate*seconds/2)
	}
	if len(failures) != 1 || !strings.Contains(failures[0].Error(), `stream "call"`) {
		t.Errorf("%d errors (the first: %v), want one naming the stream", len(failures), errors.Join(failures[:min(1, len(failures))]...))
	}
}
